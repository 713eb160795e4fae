// The skill name rule of the specification and the normalisation of names that break it in
// the ways published skills commonly do (docs/skill-format.md, "Names").
#include "skill/skill_name.h"

#include "skillrt/skill.h"

namespace skillrt {
namespace skill_name {

std::string Problem(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (name.size() > kMaxChars) {
    return "is " + std::to_string(name.size()) + " characters long, at most 64 are allowed";
  }
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return "'" + std::string(name) +
             "' may only contain lower-case letters, digits and hyphens (a-z, 0-9, -)";
    }
  }
  if (name.front() == '-' || name.back() == '-') {
    return "'" + std::string(name) + "' must not start or end with a hyphen";
  }
  if (name.find("--") != std::string_view::npos) {
    return "'" + std::string(name) + "' must not contain consecutive hyphens";
  }
  return "";
}

}  // namespace skill_name

bool IsValidSkillName(std::string_view name) { return skill_name::Problem(name).empty(); }

std::optional<std::string> NormalizeSkillName(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (c >= 'A' && c <= 'Z') {
      out += static_cast<char>(c - 'A' + 'a');
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      out += c;
    } else if (c == '-' || c == '_' || c == ' ' || c == '\t') {
      // Separators become one hyphen; runs collapse and the ends are trimmed below.
      if (!out.empty() && out.back() != '-') out += '-';
    } else {
      return std::nullopt;  // Anything else has no spec form that keeps its meaning.
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  if (!IsValidSkillName(out)) return std::nullopt;
  return out;
}

}  // namespace skillrt
