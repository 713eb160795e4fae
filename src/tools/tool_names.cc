// Tool names that every API accepts (docs/tools.md, "Names"): OpenAI and Anthropic both take
// ^[a-zA-Z0-9_-]{1,64}$, MCP takes more, so that pattern is the one rule.
#include <algorithm>
#include <map>

#include "skillrt/tools.h"
#include "tools/tool_internal.h"
#include "skillrt/sha256.h"

namespace skillrt {
namespace {

constexpr size_t kMaxToolName = 64;
// A name too long (or colliding) keeps this much of its text, then '-' and 8 hex digits.
constexpr size_t kHashedPrefix = 55;

bool IsToolNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '-';
}

std::string Sanitize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) out += IsToolNameChar(c) ? c : '_';
  return out;
}

// `prefix` cut to kHashedPrefix, '-', and 8 hex digits of the selector's SHA-256: stable for
// one selector, and distinct for distinct selectors but with negligible odds.
std::string Hashed(std::string_view prefix, std::string_view selector) {
  std::string head(prefix.substr(0, std::min(prefix.size(), kHashedPrefix)));
  return head + "-" + Sha256Hex(selector).substr(0, 8);
}

}  // namespace

bool IsValidToolName(std::string_view name) {
  return !name.empty() && name.size() <= kMaxToolName &&
         std::all_of(name.begin(), name.end(), IsToolNameChar);
}

std::string ToolEntry::Selector() const { return instance ? skill + "@" + *instance : skill; }

std::string BaseToolName(std::string_view skill, const std::optional<std::string>& instance) {
  std::string name = Sanitize(skill);
  if (instance) name += "__" + Sanitize(*instance);
  if (name.empty()) name = "_";
  if (name.size() <= kMaxToolName) return name;
  std::string selector(skill);
  if (instance) selector += "@" + *instance;
  return Hashed(name, selector);
}

namespace tools_internal {

std::vector<ToolNameCollision> AssignToolNames(std::vector<ToolEntry>& tools) {
  // Group by base name; within a group the first selector (byte order) keeps the name, so the
  // result does not depend on the order the skills were found in.
  std::map<std::string, std::vector<ToolEntry*>> groups;
  for (ToolEntry& tool : tools) groups[BaseToolName(tool.skill, tool.instance)].push_back(&tool);
  std::vector<ToolNameCollision> collisions;
  for (auto& [base, members] : groups) {
    std::sort(members.begin(), members.end(), [](const ToolEntry* a, const ToolEntry* b) {
      return a->Selector() < b->Selector();
    });
    members[0]->name = base;
    if (members.size() == 1) continue;
    ToolNameCollision collision{.base_name = base};
    for (size_t i = 0; i < members.size(); ++i) {
      if (i > 0) members[i]->name = Hashed(base, members[i]->Selector());
      collision.selectors.push_back(members[i]->Selector());
      collision.names.push_back(members[i]->name);
    }
    collisions.push_back(std::move(collision));
  }
  std::sort(tools.begin(), tools.end(),
            [](const ToolEntry& a, const ToolEntry& b) { return a.name < b.name; });
  return collisions;
}

}  // namespace tools_internal
}  // namespace skillrt
