// UTF-8 well-formedness (The Unicode Standard 15.0, section 3.9, table 3-7): no overlong
// forms, no surrogates, nothing beyond U+10FFFF.
#ifndef SKILLRT_UTIL_UTF8_H_
#define SKILLRT_UTIL_UTF8_H_

#include <string>
#include <string_view>

namespace skillrt {

/// The length of the well-formed UTF-8 sequence at the start of `s` (1 to 4), or, when there
/// is none, -(the length of its maximal ill-formed prefix, at least 1): the bytes that one
/// U+FFFD replaces. `s` must not be empty. Pure; thread-safe.
int Utf8SequenceLength(std::string_view s);

/// True when all of `s` is well-formed UTF-8 (the empty string is). Pure; thread-safe.
bool IsWellFormedUtf8(std::string_view s);

/// `text` with every byte sequence that is not well-formed UTF-8 (RFC 3629: no overlongs, no
/// surrogates, nothing above U+10FFFF) replaced by U+FFFD, so that JSON built from a skill's
/// raw bytes can always be serialised. Pure.
std::string ToValidUtf8(std::string_view text);

}  // namespace skillrt

#endif  // SKILLRT_UTIL_UTF8_H_
