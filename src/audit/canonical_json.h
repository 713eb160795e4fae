// The JSON Canonicalization Scheme (RFC 8785): one byte string per JSON value, so that a
// hash over it identifies the value rather than one of its many spellings.
#ifndef SKILLRT_AUDIT_CANONICAL_JSON_H_
#define SKILLRT_AUDIT_CANONICAL_JSON_H_

#include <string>

#include <nlohmann/json.hpp>

#include "skillrt/error.h"

namespace skillrt {

/// Serializes `value` by RFC 8785 (JCS): no whitespace; object members sorted by the UTF-16
/// code units of their names (section 3.2.3); strings with only `"`, `\` and the control
/// characters U+0000..U+001F escaped, the six short forms (\b \t \n \f \r plus \" \\) where
/// they exist and lower-case \u00xx otherwise, everything else as raw UTF-8 (3.2.2.2);
/// floating-point numbers as ECMAScript's Number.prototype.toString prints them: shortest
/// round-trip digits, plain notation for exponents -7 < e < 21, else `d.ddde+N` (3.2.2.3).
///
/// Two deliberate deviations keep distinct values distinct and the function total:
/// - integers stored as integers (int64/uint64) are printed exactly, even beyond 2^53 where
///   JCS would first round them to a double (for |n| <= 2^53 the output is identical);
/// - bytes that are not valid UTF-8 become U+FFFD and non-finite doubles become `null`,
///   as nlohmann::json's dump(error_handler_t::replace) stores them, so the canonical form of
///   a value equals that of the value read back from its stored text.
/// Use CanonicalJsonStrict where such inputs must be refused instead.
///
/// Pure function; thread-safe; never throws except std::bad_alloc.
std::string CanonicalJson(const nlohmann::json& value);

/// As CanonicalJson, but refuses what RFC 8785 cannot represent exactly: kInvalidArgument
/// naming the JSON pointer of the first string (or member name) that is not valid UTF-8, the
/// first non-finite number, or the first integer beyond +-2^53 (section 3.2.2.3 asks for such
/// values to be sent as strings).
Result<std::string> CanonicalJsonStrict(const nlohmann::json& value);

/// The ECMAScript Number.prototype.toString form of `value` (ECMA-262, Number::toString),
/// which RFC 8785 section 3.2.2.3 uses for numbers; -0 prints as "0".
/// REQUIRES: `value` is finite.
std::string EcmaScriptNumber(double value);

}  // namespace skillrt

#endif  // SKILLRT_AUDIT_CANONICAL_JSON_H_
