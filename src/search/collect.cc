// Reading the catalogue into what the search index stores.
#include <string>

#include "skillrt/manifest.h"
#include "skillrt/registry.h"
#include "skillrt/search.h"
#include "skillrt/skill.h"

namespace skillrt {
namespace {

// One line naming what the manifest lets the skill do, in words a task might use:
// "runtime native; commands python3 curl; network; reads /data; writes /out".
std::string CapabilitySummary(const Manifest& m) {
  std::string out = "runtime " + std::string(RuntimeKindName(m.runtime));
  const Capabilities& c = m.capabilities;
  if (!c.commands.empty()) {
    out += "; commands";
    for (const std::string& command : c.commands) out += " " + command;
  }
  if (c.network || !c.egress.empty()) {
    out += "; network";
    for (const EgressRule& rule : c.egress) {
      if (!rule.host.empty()) out += " " + rule.host;
    }
  }
  for (const auto& p : c.read_paths) out += "; reads " + p.string();
  for (const auto& p : c.write_paths) out += "; writes " + p.string();
  for (const auto& [name, secret] : m.secrets) out += "; secret " + name;
  return out;
}

}  // namespace

Result<std::vector<IndexedSkill>> CollectSkills(const Registry& registry,
                                                std::vector<std::string>* skipped) {
  auto refs = registry.List();
  if (!refs) return std::unexpected(refs.error());
  std::vector<IndexedSkill> out;
  out.reserve(refs->size());
  for (const SkillRef& ref : *refs) {
    auto skill = LoadSkill(ref.dir);
    if (!skill) {
      if (skipped != nullptr) skipped->push_back(ref.name + ": " + skill.error().message);
      continue;
    }
    out.push_back({.name = ref.name,
                   .dir = ref.dir,
                   .tree_sha256 = skill->tree_sha256,
                   .description = skill->meta.description,
                   .body = skill->meta.body,
                   .capabilities = CapabilitySummary(skill->manifest)});
  }
  return out;
}

}  // namespace skillrt
