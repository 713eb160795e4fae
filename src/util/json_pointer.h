// JSON Pointer (RFC 6901) helpers shared by the schema checker and the canonical JSON writer.
#ifndef SKILLRT_UTIL_JSON_POINTER_H_
#define SKILLRT_UTIL_JSON_POINTER_H_

#include <string>
#include <string_view>

namespace skillrt {

/// `token` escaped as one reference token of a JSON Pointer: "~" becomes "~0" and "/" becomes
/// "~1" (RFC 6901, section 3). Pure; thread-safe.
inline std::string JsonPointerToken(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace skillrt

#endif  // SKILLRT_UTIL_JSON_POINTER_H_
