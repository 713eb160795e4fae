#include "skill/schema_pattern.h"

#include <cstdio>
#include <optional>
#include <vector>

#include <re2/re2.h>

#include "util/utf8.h"

namespace skillrt {
namespace {

constexpr char32_t kMaxCodePoint = 0x10FFFF;

// ECMA-262 WhiteSpace and LineTerminator (sections 12.2 and 12.3; space separators Zs as of
// Unicode 15): what \s matches. Sorted, disjoint.
constexpr char32_t kSpaceRanges[][2] = {
    {0x09, 0x0D},      // TAB, LF, VT, FF, CR
    {0x20, 0x20},      // SPACE
    {0xA0, 0xA0},      // NO-BREAK SPACE
    {0x1680, 0x1680},  // OGHAM SPACE MARK
    {0x2000, 0x200A},  // EN QUAD .. HAIR SPACE
    {0x2028, 0x2029},  // LINE SEPARATOR, PARAGRAPH SEPARATOR
    {0x202F, 0x202F},  // NARROW NO-BREAK SPACE
    {0x205F, 0x205F},  // MEDIUM MATHEMATICAL SPACE
    {0x3000, 0x3000},  // IDEOGRAPHIC SPACE
    {0xFEFF, 0xFEFF},  // ZERO WIDTH NO-BREAK SPACE
};

// ECMA-262 general category values (Unicode PropertyValueAliases.txt) by long name, with the
// short name RE2 knows them by.
constexpr std::pair<std::string_view, std::string_view> kCategories[] = {
    {"Other", "C"},
    {"Control", "Cc"},
    {"Format", "Cf"},
    {"Unassigned", "Cn"},
    {"Private_Use", "Co"},
    {"Surrogate", "Cs"},
    {"Letter", "L"},
    {"Cased_Letter", "LC"},
    {"Lowercase_Letter", "Ll"},
    {"Modifier_Letter", "Lm"},
    {"Other_Letter", "Lo"},
    {"Titlecase_Letter", "Lt"},
    {"Uppercase_Letter", "Lu"},
    {"Mark", "M"},
    {"Spacing_Mark", "Mc"},
    {"Enclosing_Mark", "Me"},
    {"Nonspacing_Mark", "Mn"},
    {"Number", "N"},
    {"Decimal_Number", "Nd"},
    {"Letter_Number", "Nl"},
    {"Other_Number", "No"},
    {"Punctuation", "P"},
    {"Connector_Punctuation", "Pc"},
    {"Dash_Punctuation", "Pd"},
    {"Close_Punctuation", "Pe"},
    {"Final_Punctuation", "Pf"},
    {"Initial_Punctuation", "Pi"},
    {"Other_Punctuation", "Po"},
    {"Open_Punctuation", "Ps"},
    {"Symbol", "S"},
    {"Currency_Symbol", "Sc"},
    {"Modifier_Symbol", "Sk"},
    {"Math_Symbol", "Sm"},
    {"Other_Symbol", "So"},
    {"Separator", "Z"},
    {"Line_Separator", "Zl"},
    {"Paragraph_Separator", "Zp"},
    {"Space_Separator", "Zs"},
};

// "\x{41}": one code point in RE2 syntax, valid inside and outside a class.
std::string CodePoint(char32_t c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "\\x{%X}", static_cast<unsigned>(c));
  return buf;
}

std::string Range(char32_t lo, char32_t hi) {
  return lo == hi ? CodePoint(lo) : CodePoint(lo) + "-" + CodePoint(hi);
}

// The members (text inside brackets) of \s, or of \S when `negated`: explicit ranges, since
// RE2's own \s lacks VT and every non-ASCII space, and a negated set inside a class has no
// RE2 spelling but its complement.
std::string SpaceMembers(bool negated) {
  std::string out;
  if (!negated) {
    for (const auto& r : kSpaceRanges) out += Range(r[0], r[1]);
    return out;
  }
  char32_t next = 0;
  for (const auto& r : kSpaceRanges) {
    if (r[0] > next) out += Range(next, r[0] - 1);
    next = r[1] + 1;
  }
  out += Range(next, kMaxCodePoint);
  return out;
}

// A literal code point outside a class: letters and digits as they are, anything else as
// \x{...} so that no character means something else to RE2.
std::string Literal(char32_t c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_') {
    return std::string(1, static_cast<char>(c));
  }
  return CodePoint(c);
}

// What one escape sequence (ECMA-262 AtomEscape or ClassEscape) stands for.
struct Escape {
  enum class Kind {
    kChar,       // One code point (`c`).
    kSet,        // A set of code points (`members`, usable inside brackets).
    kAssertion,  // \b or \B outside a class (`members` is the RE2 text).
  } kind = Kind::kChar;
  char32_t c = 0;
  std::string members;
};

int HexValue(char32_t c) {
  if (c >= '0' && c <= '9') return static_cast<int>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<int>(c - 'a' + 10);
  if (c >= 'A' && c <= 'F') return static_cast<int>(c - 'A' + 10);
  return -1;
}

// Walks an ECMA-262 pattern (as code points) once and writes its RE2 translation.
class Translator {
 public:
  explicit Translator(std::vector<char32_t> pattern) : in_(std::move(pattern)) {}

  Result<std::string> Run() {
    bool can_quantify = false;  // The last thing written is an atom a quantifier may follow.
    int depth = 0;
    while (!AtEnd()) {
      const size_t at = i_;
      const char32_t c = in_[i_++];
      switch (c) {
        case '\\': {
          auto escape = ParseEscape(/*in_class=*/false, at);
          if (!escape) return std::unexpected(escape.error());
          if (escape->kind == Escape::Kind::kAssertion) {
            out_ += escape->members;
            can_quantify = false;
          } else {
            out_ += escape->kind == Escape::Kind::kChar ? Literal(escape->c)
                                                        : "[" + escape->members + "]";
            can_quantify = true;
          }
          break;
        }
        case '[':
          if (auto cls = ParseClass(at); !cls) return std::unexpected(cls.error());
          can_quantify = true;
          break;
        case '(':
          if (auto group = ParseGroupOpen(at); !group) return std::unexpected(group.error());
          ++depth;
          can_quantify = false;
          break;
        case ')':
          if (depth == 0) return Bad(at, "')' without a matching '('");
          --depth;
          out_ += ')';
          can_quantify = true;
          break;
        case '|':
        case '^':
        case '$':
          out_ += static_cast<char>(c);
          can_quantify = false;
          break;
        case '.':
          // ECMA-262 section 22.2.2.7: any character but a LineTerminator (RE2's '.' excludes
          // only LF).
          out_ += "[^\\x{A}\\x{D}\\x{2028}\\x{2029}]";
          can_quantify = true;
          break;
        case '*':
        case '+':
        case '?':
          if (!can_quantify)
            return Bad(at, std::string("'") + static_cast<char>(c) + "' has nothing to repeat");
          out_ += static_cast<char>(c);
          Lazy();
          can_quantify = false;
          break;
        case '{': {
          auto braces = ParseBraces(at);
          if (!braces) return std::unexpected(braces.error());
          if (!can_quantify) return Bad(at, "'{' has nothing to repeat");
          out_ += *braces;
          Lazy();
          can_quantify = false;
          break;
        }
        case '}':
        case ']':
          return Bad(at, std::string("a lone '") + static_cast<char>(c) + "' (write \\" +
                             static_cast<char>(c) + " for the character)");
        default:
          out_ += Literal(c);
          can_quantify = true;
      }
    }
    if (depth > 0) return Bad(in_.size(), "a group is not closed");
    return std::move(out_);
  }

 private:
  bool AtEnd() const { return i_ >= in_.size(); }
  bool PeekIs(char32_t c, size_t ahead = 0) const {
    return i_ + ahead < in_.size() && in_[i_ + ahead] == c;
  }

  // A refusal naming the character (1-based) where the construct starts.
  static std::unexpected<Error> Bad(size_t at, const std::string& what) {
    return std::unexpected(Error::Make(
        ErrorCode::kValidation,
        "invalid regular expression: " + what + " at character " + std::to_string(at + 1)));
  }
  // A construct ECMA-262 has and RE2 does not: refused, never approximated.
  static std::unexpected<Error> Unsupported(size_t at, const std::string& what) {
    return std::unexpected(
        Error::Make(ErrorCode::kValidation,
                    what + " at character " + std::to_string(at + 1) +
                        " is not supported: patterns are matched in linear time (RE2), without "
                        "backreferences or lookaround"));
  }

  void Lazy() {
    if (PeekIs('?')) {
      ++i_;
      out_ += '?';
    }
  }

  // After '{': "{n}", "{n,}" or "{n,m}" (ECMA-262 QuantifierPrefix), returned in RE2 syntax.
  // With the u flag a '{' that starts no quantifier is an error.
  Result<std::string> ParseBraces(size_t at) {
    auto number = [this]() -> std::optional<uint64_t> {
      uint64_t value = 0;
      size_t digits = 0;
      while (!AtEnd() && in_[i_] >= '0' && in_[i_] <= '9') {
        value = std::min<uint64_t>(value * 10 + (in_[i_] - '0'), 1u << 30);
        ++i_;
        ++digits;
      }
      return digits ? std::optional<uint64_t>(value) : std::nullopt;
    };
    const std::optional<uint64_t> min = number();
    std::optional<uint64_t> max = min;
    bool open = false;
    if (min && PeekIs(',')) {
      ++i_;
      max = number();
      open = !max;
    }
    if (!min || !PeekIs('}')) {
      return Bad(at,
                 "'{' that does not start a quantifier such as {2} or {1,3} (write \\{ for "
                 "the character)");
    }
    ++i_;
    if (!open && *max < *min) return Bad(at, "a quantifier {n,m} with m below n");
    return "{" + std::to_string(*min) +
           (open           ? ","
            : *max == *min ? ""
                           : "," + std::to_string(*max)) +
           "}";
  }

  // After '(' at `at`: a capturing group, (?:, or a named group (written as a plain group: a
  // name changes nothing in a search). Lookaround and modifiers are refused.
  Result<void> ParseGroupOpen(size_t at) {
    if (!PeekIs('?')) {
      out_ += '(';
      return {};
    }
    ++i_;
    if (PeekIs(':')) {
      ++i_;
      out_ += "(?:";
      return {};
    }
    if (PeekIs('=') || PeekIs('!')) return Unsupported(at, "a lookahead (?= or (?!");
    if (PeekIs('<') && (PeekIs('=', 1) || PeekIs('!', 1))) {
      return Unsupported(at, "a lookbehind (?<= or (?<!");
    }
    if (PeekIs('<')) {
      ++i_;
      size_t length = 0;
      while (!AtEnd() && in_[i_] != '>') {
        const char32_t c = in_[i_];
        const bool ok = c == '$' || c == '_' || c >= 0x80 || (c >= 'a' && c <= 'z') ||
                        (c >= 'A' && c <= 'Z') || (length > 0 && c >= '0' && c <= '9');
        if (!ok) return Bad(at, "a malformed group name");
        ++i_;
        ++length;
      }
      if (AtEnd() || length == 0) return Bad(at, "a malformed group name");
      ++i_;
      out_ += '(';
      return {};
    }
    return Bad(at,
               "'(?' that starts no group ECMA-262 defines (modifiers such as (?i) are not "
               "supported)");
  }

  // After '[' at `at`: a class (ECMA-262 CharacterClass, u flag), written with every member
  // as a code point or a set so that nothing in it is RE2 syntax ('[' included: no POSIX
  // classes).
  Result<void> ParseClass(size_t at) {
    const bool negated = PeekIs('^');
    if (negated) ++i_;
    std::string members;
    bool empty = true;
    for (;;) {
      if (AtEnd()) return Bad(at, "a character class is not closed");
      if (PeekIs(']')) {
        ++i_;
        break;
      }
      const size_t first_at = i_;
      auto first = ParseClassAtom();
      if (!first) return std::unexpected(first.error());
      empty = false;
      if (PeekIs('-') && i_ + 1 < in_.size() && in_[i_ + 1] != ']') {
        ++i_;
        auto last = ParseClassAtom();
        if (!last) return std::unexpected(last.error());
        if (first->kind != Escape::Kind::kChar || last->kind != Escape::Kind::kChar) {
          return Bad(first_at, "a class range with a class escape (such as \\d) as an end");
        }
        if (first->c > last->c) return Bad(first_at, "a class range out of order");
        members += Range(first->c, last->c);
        continue;
      }
      members += first->kind == Escape::Kind::kChar ? CodePoint(first->c) : first->members;
    }
    // ECMA-262: [] matches nothing, [^] any character; RE2 would read the ']' as a member.
    const std::string all = Range(0, kMaxCodePoint);
    if (empty) {
      out_ += negated ? "[" + all + "]" : "[^" + all + "]";
    } else {
      out_ += (negated ? "[^" : "[") + members + "]";
    }
    return {};
  }

  Result<Escape> ParseClassAtom() {
    const size_t at = i_;
    const char32_t c = in_[i_++];
    if (c != '\\') return Escape{.kind = Escape::Kind::kChar, .c = c};
    return ParseEscape(/*in_class=*/true, at);
  }

  // After '\' at `at` (ECMA-262 AtomEscape, or ClassEscape when `in_class`).
  Result<Escape> ParseEscape(bool in_class, size_t at) {
    if (AtEnd()) return Bad(at, "a '\\' at the end of the pattern");
    const char32_t c = in_[i_++];
    auto one = [](char32_t v) { return Escape{.kind = Escape::Kind::kChar, .c = v}; };
    auto set = [](std::string members) {
      return Escape{.kind = Escape::Kind::kSet, .members = std::move(members)};
    };
    switch (c) {
      case 'b':
        if (in_class) return one(0x08);  // [\b] is BACKSPACE.
        return Escape{.kind = Escape::Kind::kAssertion, .members = "\\b"};
      case 'B':
        if (in_class) return Bad(at, "\\B inside a character class");
        return Escape{.kind = Escape::Kind::kAssertion, .members = "\\B"};
      case 'd':
      case 'D':
      case 'w':
      case 'W':
        // ASCII digits and word characters in both ECMA-262 (without the i flag) and RE2.
        return set(std::string("\\") + static_cast<char>(c));
      case 's':
        return set(SpaceMembers(false));
      case 'S':
        return set(SpaceMembers(true));
      case 'f':
        return one(0x0C);
      case 'n':
        return one(0x0A);
      case 'r':
        return one(0x0D);
      case 't':
        return one(0x09);
      case 'v':
        return one(0x0B);
      case '0':
        if (!AtEnd() && in_[i_] >= '0' && in_[i_] <= '9') {
          return Bad(at, "a legacy octal escape (\\0 followed by a digit)");
        }
        return one(0);
      case 'k':
        return Unsupported(at, "a named backreference \\k<...>");
      case 'c': {
        if (AtEnd() ||
            !((in_[i_] >= 'a' && in_[i_] <= 'z') || (in_[i_] >= 'A' && in_[i_] <= 'Z'))) {
          return Bad(at, "\\c not followed by a letter");
        }
        return one(in_[i_++] % 32);
      }
      case 'x': {
        const int hi = AtEnd() ? -1 : HexValue(in_[i_]);
        const int lo = i_ + 1 < in_.size() ? HexValue(in_[i_ + 1]) : -1;
        if (hi < 0 || lo < 0) return Bad(at, "\\x not followed by two hex digits");
        i_ += 2;
        return one(static_cast<char32_t>(hi * 16 + lo));
      }
      case 'u': {
        auto unit = ParseUnicodeEscape(at);
        if (!unit) return std::unexpected(unit.error());
        return one(*unit);
      }
      case 'p':
      case 'P': {
        auto members = ParseProperty(c == 'P', at);
        if (!members) return std::unexpected(members.error());
        return set(std::move(*members));
      }
      case '-':
        if (in_class) return one('-');
        break;
      case '^':
      case '$':
      case '\\':
      case '.':
      case '*':
      case '+':
      case '?':
      case '(':
      case ')':
      case '[':
      case ']':
      case '{':
      case '}':
      case '|':
      case '/':
        return one(c);
      default:
        if (c >= '1' && c <= '9')
          return Unsupported(at, "a backreference \\" + std::string(1, static_cast<char>(c)));
        break;
    }
    std::string shown = c < 0x80 && c > 0x20 ? std::string(1, static_cast<char>(c)) : CodePoint(c);
    return Bad(at, "\\" + shown + ", which is not an escape ECMA-262 defines with the u flag");
  }

  // After "\u": "XXXX" (a surrogate pair "\uD83D\uDE00" is one code point) or "{X...}".
  Result<char32_t> ParseUnicodeEscape(size_t at) {
    auto hex4 = [this](size_t from) -> std::optional<char32_t> {
      if (from + 4 > in_.size()) return std::nullopt;
      char32_t v = 0;
      for (size_t k = 0; k < 4; ++k) {
        const int d = HexValue(in_[from + k]);
        if (d < 0) return std::nullopt;
        v = v * 16 + static_cast<char32_t>(d);
      }
      return v;
    };
    if (PeekIs('{')) {
      ++i_;
      char32_t v = 0;
      size_t digits = 0;
      while (!AtEnd() && HexValue(in_[i_]) >= 0) {
        v = v * 16 + static_cast<char32_t>(HexValue(in_[i_++]));
        if (v > kMaxCodePoint) return Bad(at, "\\u{...} beyond U+10FFFF");
        ++digits;
      }
      if (digits == 0 || !PeekIs('}')) return Bad(at, "a malformed \\u{...} escape");
      ++i_;
      if (v >= 0xD800 && v <= 0xDFFF) return Unsupported(at, "a lone surrogate");
      return v;
    }
    const std::optional<char32_t> unit = hex4(i_);
    if (!unit) return Bad(at, "\\u not followed by four hex digits or {...}");
    i_ += 4;
    if (*unit >= 0xD800 && *unit <= 0xDBFF && PeekIs('\\') && PeekIs('u', 1)) {
      if (const std::optional<char32_t> low = hex4(i_ + 2);
          low && *low >= 0xDC00 && *low <= 0xDFFF) {
        i_ += 6;
        return 0x10000 + ((*unit - 0xD800) << 10) + (*low - 0xDC00);
      }
    }
    if (*unit >= 0xD800 && *unit <= 0xDFFF) {
      // Text here is well-formed UTF-8: a lone surrogate can never match it.
      return Unsupported(at, "a lone surrogate");
    }
    return *unit;
  }

  // After "\p" or "\P": "{Name}" or "{Name=Value}" (ECMA-262 UnicodePropertyValueExpression).
  // General categories, Script=..., Any and ASCII are written for RE2; anything else is refused.
  Result<std::string> ParseProperty(bool negated, size_t at) {
    if (!PeekIs('{')) return Bad(at, "\\p or \\P not followed by {...}");
    ++i_;
    std::string name, value;
    bool has_value = false;
    while (!AtEnd() && in_[i_] != '}') {
      const char32_t c = in_[i_++];
      const bool word =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
      if (c == '=' && !has_value) {
        has_value = true;
      } else if (word) {
        (has_value ? value : name) += static_cast<char>(c);
      } else {
        return Bad(at, "a malformed Unicode property escape");
      }
    }
    if (AtEnd() || name.empty() || (has_value && value.empty())) {
      return Bad(at, "a malformed Unicode property escape");
    }
    ++i_;
    const std::string p = negated ? "\\P" : "\\p";
    auto category = [](std::string_view text) -> std::optional<std::string> {
      for (const auto& [long_name, short_name] : kCategories) {
        if (text == long_name || text == short_name) return std::string(short_name);
      }
      return std::nullopt;
    };
    if (has_value) {
      if (name == "General_Category" || name == "gc") {
        if (auto short_name = category(value)) return p + "{" + *short_name + "}";
      } else if (name == "Script" || name == "sc") {
        return p + "{" + value + "}";  // RE2 knows scripts by their long names.
      }
      return Unsupported(at, "the Unicode property " + name + "=" + value);
    }
    if (auto short_name = category(name)) return p + "{" + *short_name + "}";
    if (name == "Any") return negated ? "\\P{Any}" : "\\p{Any}";
    if (name == "ASCII") return negated ? Range(0x80, kMaxCodePoint) : Range(0, 0x7F);
    return Unsupported(at, "the Unicode property " + name);
  }

  std::vector<char32_t> in_;
  size_t i_ = 0;
  std::string out_;
};

}  // namespace

Result<std::string> TranslateEcmaPattern(std::string_view ecma) {
  if (!IsWellFormedUtf8(ecma)) {
    return Fail(ErrorCode::kValidation, "invalid regular expression: not well-formed UTF-8");
  }
  std::vector<char32_t> points;
  for (size_t i = 0; i < ecma.size();) {
    const auto* s = reinterpret_cast<const unsigned char*>(ecma.data() + i);
    const int length = Utf8SequenceLength(ecma.substr(i));
    char32_t c = length == 1 ? s[0] : s[0] & (0xFF >> (length + 1));
    for (int k = 1; k < length; ++k) c = (c << 6) | (s[k] & 0x3F);
    points.push_back(c);
    i += static_cast<size_t>(length);
  }
  return Translator(std::move(points)).Run();
}

Result<SchemaPattern> SchemaPattern::Compile(std::string_view ecma) {
  auto translated = TranslateEcmaPattern(ecma);
  if (!translated) return std::unexpected(translated.error());
  re2::RE2::Options options;
  options.set_encoding(re2::RE2::Options::EncodingUTF8);
  options.set_log_errors(false);
  // The default memory budget (8 MiB) bounds the compiled program; beyond it, compilation
  // fails and the pattern is refused. Matching then takes time linear in the subject.
  auto re = std::make_shared<const re2::RE2>(*translated, options);
  if (!re->ok()) {
    return Fail(ErrorCode::kValidation, "RE2 cannot compile the pattern: " + re->error() +
                                            (re->error_code() == re2::RE2::ErrorRepeatSize
                                                 ? " (repetition counts go up to 1000)"
                                                 : ""));
  }
  SchemaPattern pattern;
  pattern.re_ = std::move(re);
  pattern.translated_ = std::move(*translated);
  return pattern;
}

bool SchemaPattern::Search(std::string_view subject) const {
  return re2::RE2::PartialMatch(re2::StringPiece(subject.data(), subject.size()), *re_);
}

}  // namespace skillrt
