// Skill names: the specification's rule and the normalisation applied to names found in the
// wild (https://agentskills.io/specification, "name" field).
#ifndef SKILLRT_SKILL_SKILL_NAME_H_
#define SKILLRT_SKILL_SKILL_NAME_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace skillrt::skill_name {

/// Longest name the specification allows, in characters.
inline constexpr std::size_t kMaxChars = 64;

/// Why `name` is not a valid skill name, in one line starting with the quoted name where it
/// helps ("'PDF' may only contain ..."), or an empty string when it is valid. Pure.
std::string Problem(std::string_view name);

}  // namespace skillrt::skill_name

#endif  // SKILLRT_SKILL_SKILL_NAME_H_
