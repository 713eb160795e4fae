// Finding skills by name under an ordered list of roots, through the catalogue.
#include "skillrt/registry.h"

#include <stdlib.h>

#include <utility>

#include "skill/catalogue.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;

bool HasSkillFile(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "SKILL.md", ec);
}

// A SkillRef for a path argument (one with '/', ".", "..", or an existing directory holding
// SKILL.md), or nullopt when `arg` is to be looked up by name.
std::optional<Result<SkillRef>> ResolvePath(const std::string& arg) {
  bool is_path = arg.find('/') != std::string::npos || arg == "." || arg == "..";
  std::error_code ec;
  if (!is_path && fs::is_directory(arg, ec) && HasSkillFile(arg)) is_path = true;
  if (!is_path) return std::nullopt;
  fs::path canonical = fs::canonical(arg, ec);
  if (ec || !fs::is_directory(canonical, ec)) {
    return Fail(ErrorCode::kNotFound, "no skill directory at " + arg);
  }
  if (!HasSkillFile(canonical)) {
    return Fail(ErrorCode::kNotFound, "no SKILL.md in " + canonical.string());
  }
  std::string name = canonical.filename().string();
  return SkillRef{.name = NormalizeSkillName(name).value_or(name), .dir = canonical};
}

// The skill named `name` in `snap` (as given, then normalised): the directory that wins by
// precedence. kNotFound, naming the roots searched, if none has the name.
Result<SkillRef> Lookup(const CatalogueSnapshot& snap, const std::string& name,
                        const std::vector<fs::path>& roots) {
  auto it = snap.by_name.find(name);
  if (it == snap.by_name.end()) {
    if (std::optional<std::string> normal = NormalizeSkillName(name)) {
      it = snap.by_name.find(*normal);
    }
  }
  if (it == snap.by_name.end()) {
    std::string searched;
    for (const fs::path& root : roots) {
      searched += (searched.empty() ? "" : ", ") + root.string();
    }
    return Fail(ErrorCode::kNotFound,
                "unknown skill '" + name + "' (searched: " +
                    (searched.empty() ? std::string("no roots") : searched) + ")");
  }
  return snap.found[it->second];
}

}  // namespace

Registry::Registry(std::vector<std::filesystem::path> roots, bool watch)
    : roots_(std::move(roots)), catalogue_(std::make_shared<Catalogue>(roots_, watch)) {}

std::vector<std::filesystem::path> Registry::DefaultRoots(
    const std::vector<std::filesystem::path>& extra, const std::filesystem::path& home) {
  std::vector<fs::path> roots = extra;
  if (const char* env = ::getenv("SKILLRT_PATH"); env != nullptr) {
    std::string_view rest(env);
    while (true) {
      std::size_t colon = rest.find(':');
      std::string_view entry = rest.substr(0, colon);
      if (!entry.empty()) roots.emplace_back(entry);
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  roots.push_back(home / "skills");
  return roots;
}

Result<std::vector<SkillRef>> Registry::List() const {
  return catalogue_->Current()->sorted;
}

Result<SkillRef> Registry::Resolve(std::string_view name_or_path) const {
  std::string arg(name_or_path);
  if (arg.empty()) return Fail(ErrorCode::kInvalidArgument, "empty skill name");
  if (auto by_path = ResolvePath(arg)) return std::move(*by_path);
  return Lookup(*catalogue_->Current(), arg, roots_);
}

namespace {

// A skill named by its path loaded by `unkept(dir)` (the catalogue keeps named skills only);
// one named by its name, by `kept(dir)` of the directory it resolves to.
template <typename Unkept, typename Kept>
Result<Skill> LoadNamed(std::string_view name_or_path, Catalogue& catalogue,
                        const std::vector<fs::path>& roots, Unkept unkept, Kept kept) {
  std::string arg(name_or_path);
  if (arg.empty()) return Fail(ErrorCode::kInvalidArgument, "empty skill name");
  if (auto by_path = ResolvePath(arg)) {
    if (!*by_path) return std::unexpected(by_path->error());
    return unkept((*by_path)->dir);
  }
  auto ref = Lookup(*catalogue.Current(), arg, roots);
  if (!ref) return std::unexpected(ref.error());
  return kept(ref->dir);
}

}  // namespace

Result<Skill> Registry::Load(std::string_view name_or_path) const {
  return LoadNamed(
      name_or_path, *catalogue_, roots_, [](const fs::path& dir) { return LoadSkill(dir); },
      [this](const fs::path& dir) { return catalogue_->Load(dir); });
}

Result<Skill> Registry::Describe(std::string_view name_or_path) const {
  return LoadNamed(
      name_or_path, *catalogue_, roots_,
      [](const fs::path& dir) { return LoadSkillUnhashed(dir); },
      [this](const fs::path& dir) { return catalogue_->Describe(dir); });
}

Registry KeptRegistries::For(const std::vector<std::filesystem::path>& roots) {
  std::lock_guard lock(mu_);
  for (auto it = kept_.begin(); it != kept_.end(); ++it) {
    if (it->roots() != roots) continue;
    kept_.splice(kept_.begin(), kept_, it);
    return kept_.front();
  }
  kept_.emplace_front(roots, /*watch=*/true);
  if (kept_.size() > capacity_) kept_.pop_back();
  return kept_.front();
}

}  // namespace skillrt
