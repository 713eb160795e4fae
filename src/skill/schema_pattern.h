// The `pattern` keyword of an input schema (JSON Schema 2020-12, validation section 6.3.3): an
// ECMA-262 regular expression (ECMA-262 section 22.2, with the "u" flag as JSON Schema core
// section 6.4 recommends), matched as an unanchored search. Patterns are translated into RE2's
// syntax and run by RE2, whose matching time is linear in the length of the string: a
// manifest's pattern cannot make validation backtrack for hours before any limit applies.
// What RE2 cannot express (backreferences, lookaround) is refused, never approximated; the
// dialect is documented in docs/manifest.md.
#ifndef SKILLRT_SKILL_SCHEMA_PATTERN_H_
#define SKILLRT_SKILL_SCHEMA_PATTERN_H_

#include <memory>
#include <string>
#include <string_view>

#include "skillrt/error.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace skillrt {

/// Translates the ECMA-262 pattern `ecma` (UTF-8) into RE2 syntax with the same meaning for a
/// search in well-formed UTF-8 text: `.` excludes the four ECMA-262 line terminators, `\s` is
/// ECMA-262's white space and line terminators, `\uXXXX`, `\u{X}`, `\cX`, `\0` and `[\b]` become
/// code points, `[]` matches nothing and `[^]` any character, and a `[` inside a class is a
/// literal (not a POSIX class). Errors (kValidation, the message naming the construct and its
/// character offset in the pattern): backreferences (`\1`, `\k<name>`), lookahead and lookbehind,
/// modifiers (`(?i)`), escapes ECMA-262 does not define with the u flag (`\q`, `\-` outside a
/// class), a lone `{`, `}` or `]`, a quantifier with nothing to repeat, Unicode properties RE2
/// does not name the same way, lone surrogates, and text that is not well-formed UTF-8.
/// Pure; thread-safe.
Result<std::string> TranslateEcmaPattern(std::string_view ecma);

/// A compiled schema pattern. Copies share the compiled program; immutable and thread-safe.
class SchemaPattern {
 public:
  /// Translates (TranslateEcmaPattern) and compiles `ecma`. kValidation for a pattern the
  /// translation refuses, or that RE2 refuses (a repetition count above 1000, a program over
  /// RE2's memory budget, an unknown Unicode property), with RE2's reason.
  static Result<SchemaPattern> Compile(std::string_view ecma);

  /// True when the pattern matches somewhere in `subject` (an unanchored search, ECMA-262
  /// RegExp.prototype.test). Time linear in subject.size() for a given pattern.
  bool Search(std::string_view subject) const;

  /// The RE2 syntax the pattern was translated to.
  const std::string& translated() const { return translated_; }

 private:
  SchemaPattern() = default;
  std::shared_ptr<const re2::RE2> re_;
  std::string translated_;
};

}  // namespace skillrt

#endif  // SKILLRT_SKILL_SCHEMA_PATTERN_H_
