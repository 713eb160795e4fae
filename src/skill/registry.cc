// Finding skills by name under an ordered list of roots.
#include "skillrt/registry.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <set>
#include <utility>

namespace skillrt {
namespace {

namespace fs = std::filesystem;

// Deepest directory level below a root that is searched for skills.
constexpr int kMaxDepth = 16;

struct Found {
  std::string name;
  fs::path dir;  // Canonical.
};

bool HasSkillFile(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "SKILL.md", ec);
}

// Walks one root depth-first, following symlinked directories but never entering the same
// directory (st_dev, st_ino) twice, so symlink loops end.
class Walker {
 public:
  explicit Walker(std::vector<Found>* out) : out_(out) {}

  void Root(const fs::path& root) {
    if (!Enter(root)) return;
    if (HasSkillFile(root)) {
      Add(root, root.filename().string());
      return;
    }
    Walk(root, 1);
  }

 private:
  // Marks `dir` visited; false when it was visited already or cannot be stat'ed.
  bool Enter(const fs::path& dir) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return false;
    return visited_.insert({st.st_dev, st.st_ino}).second;
  }

  void Add(const fs::path& dir, std::string name) {
    std::error_code ec;
    fs::path canonical = fs::canonical(dir, ec);
    if (ec) return;
    if (name.empty()) name = canonical.filename().string();
    out_->push_back(Found{.name = std::move(name), .dir = std::move(canonical)});
  }

  void Walk(const fs::path& dir, int depth) {
    if (depth > kMaxDepth) return;
    std::error_code ec;
    fs::directory_iterator it(dir, ec);  // Unreadable directories are skipped.
    std::vector<fs::path> children;
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
      std::string name = it->path().filename().string();
      if (name.starts_with(".")) continue;
      std::error_code type_ec;
      if (it->is_directory(type_ec)) children.push_back(it->path());  // Follows symlinks.
    }
    std::sort(children.begin(), children.end());  // A stable order for the results.
    for (const fs::path& child : children) {
      if (!Enter(child)) continue;
      if (HasSkillFile(child)) {
        Add(child, child.filename().string());
      } else {
        Walk(child, depth + 1);
      }
    }
  }

  std::vector<Found>* out_;
  std::set<std::pair<dev_t, ino_t>> visited_;
};

// Every skill under `roots`, each canonical directory once per name, in root order.
std::vector<Found> FindAll(const std::vector<fs::path>& roots) {
  std::vector<Found> all;
  for (const fs::path& root : roots) {
    Walker walker(&all);
    walker.Root(root);
  }
  std::vector<Found> unique;
  for (Found& f : all) {
    bool seen = std::any_of(unique.begin(), unique.end(), [&](const Found& u) {
      return u.name == f.name && u.dir == f.dir;
    });
    if (!seen) unique.push_back(std::move(f));
  }
  return unique;
}

std::unexpected<Error> Conflict(const std::string& name, const fs::path& a, const fs::path& b) {
  return Fail(ErrorCode::kConflict, "two skills are named '" + name + "': " + a.string() +
                                        " and " + b.string());
}

}  // namespace

Registry::Registry(std::vector<std::filesystem::path> roots) : roots_(std::move(roots)) {}

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
  std::vector<Found> found = FindAll(roots_);
  std::vector<SkillRef> refs;
  for (Found& f : found) {
    for (const SkillRef& r : refs) {
      if (r.name == f.name) return Conflict(f.name, r.dir, f.dir);
    }
    refs.push_back(SkillRef{.name = std::move(f.name), .dir = std::move(f.dir)});
  }
  std::sort(refs.begin(), refs.end(),
            [](const SkillRef& a, const SkillRef& b) { return a.name < b.name; });
  return refs;
}

Result<SkillRef> Registry::Resolve(std::string_view name_or_path) const {
  std::string arg(name_or_path);
  if (arg.empty()) return Fail(ErrorCode::kInvalidArgument, "empty skill name");
  bool is_path = arg.find('/') != std::string::npos || arg == "." || arg == "..";
  std::error_code ec;
  if (!is_path && fs::is_directory(arg, ec) && HasSkillFile(arg)) is_path = true;
  if (is_path) {
    fs::path canonical = fs::canonical(arg, ec);
    if (ec || !fs::is_directory(canonical, ec)) {
      return Fail(ErrorCode::kNotFound, "no skill directory at " + arg);
    }
    if (!HasSkillFile(canonical)) {
      return Fail(ErrorCode::kNotFound, "no SKILL.md in " + canonical.string());
    }
    return SkillRef{.name = canonical.filename().string(), .dir = canonical};
  }
  std::vector<Found> found = FindAll(roots_);
  const Found* match = nullptr;
  for (const Found& f : found) {
    if (f.name != arg) continue;
    if (match != nullptr) return Conflict(arg, match->dir, f.dir);
    match = &f;
  }
  if (match == nullptr) {
    std::string searched;
    for (const fs::path& root : roots_) {
      searched += (searched.empty() ? "" : ", ") + root.string();
    }
    return Fail(ErrorCode::kNotFound,
                "unknown skill '" + arg + "' (searched: " +
                    (searched.empty() ? std::string("no roots") : searched) + ")");
  }
  return SkillRef{.name = match->name, .dir = match->dir};
}

Result<Skill> Registry::Load(std::string_view name_or_path) const {
  auto ref = Resolve(name_or_path);
  if (!ref) return std::unexpected(ref.error());
  return LoadSkill(ref->dir);
}

}  // namespace skillrt
