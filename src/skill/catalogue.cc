// Walking the skill roots once and keeping the result until they change.
#include "skill/catalogue.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <unordered_set>
#include <utility>

#include "skillrt/fd.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;

// Deepest directory level below a root that is searched for skills.
constexpr int kMaxDepth = 16;

// A load is kept only if its files' newest timestamp is older than this when the load ends:
// an edit within one timestamp tick of the read could otherwise leave the stamp unchanged.
// Two seconds covers a coarse kernel clock (one tick: 1-10 ms) and the 2 s timestamps of FAT.
constexpr std::chrono::nanoseconds kRacyWindow = std::chrono::seconds(2);

bool HasSkillFile(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "SKILL.md", ec);
}

// Walks one root depth-first, following symlinked directories but never entering the same
// directory (st_dev, st_ino) twice, so symlink loops end. Watches each directory before
// looking for its SKILL.md and listing it, so that what changes after the look is queued.
class Walker {
 public:
  Walker(std::vector<SkillRef>* out, DirWatch* watch, bool* watched)
      : out_(out), watch_(watch), watched_(watched) {}

  void Root(const fs::path& root) {
    root_ = root;
    if (!Enter(root)) return;
    int wd = -1;
    if (!Watch(root, &wd)) return;
    if (HasSkillFile(root)) {
      MarkSkill(wd);
      Add(root, root.filename().string(), fs::path());
      return;
    }
    std::error_code ec;
    fs::path canonical = fs::canonical(root, ec);
    Walk(root, ec ? fs::path() : canonical, 1);
  }

 private:
  // Marks `dir` visited; false when it was visited already or cannot be stat'ed.
  bool Enter(const fs::path& dir) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return false;
    return visited_.insert({st.st_dev, st.st_ino}).second;
  }

  // Watches `dir` and sets `*wd` (-1 when not watched); false when it vanished (its parent's
  // watch has queued that), so the caller skips it. Any other failure leaves the walk
  // unwatched and the caller goes on.
  bool Watch(const fs::path& dir, int* wd) {
    *wd = -1;
    if (watch_ == nullptr) return true;
    auto added = watch_->Add(dir);
    if (added) {
      *wd = *added;
      return true;
    }
    if (added.error().code == ErrorCode::kNotFound) return false;
    *watched_ = false;
    return true;
  }

  // Marks the directory watched as `wd` a skill directory, whose other entries do not matter.
  void MarkSkill(int wd) {
    if (wd >= 0) watch_->SetKind(wd, DirWatch::Kind::kSkill);
  }

  // `canonical` is dir's canonical path when the caller knows it (empty: compute it).
  void Add(const fs::path& dir, std::string name, fs::path canonical) {
    if (canonical.empty()) {
      std::error_code ec;
      canonical = fs::canonical(dir, ec);
      if (ec) return;
    }
    if (name.empty()) name = canonical.filename().string();
    // "PDF_Tools/" is the skill pdf-tools, as its SKILL.md would be read leniently.
    if (std::optional<std::string> normal = NormalizeSkillName(name)) name = std::move(*normal);
    out_->push_back(SkillRef{.name = std::move(name), .dir = std::move(canonical), .root = root_});
  }

  // `canonical` is dir's canonical path, or empty when unknown. A child that is not a
  // symlink has the canonical path canonical/name, which saves realpath(3) per skill.
  void Walk(const fs::path& dir, const fs::path& canonical, int depth) {
    if (depth > kMaxDepth) return;
    std::error_code ec;
    fs::directory_iterator it(dir, ec);  // Unreadable directories are skipped.
    struct Child {
      fs::path path;
      fs::path canonical;  // Empty for symlinks and when the parent's is unknown.
    };
    std::vector<Child> children;
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
      std::string name = it->path().filename().string();
      if (name.starts_with(".")) continue;
      std::error_code type_ec;
      if (!it->is_directory(type_ec)) continue;  // Follows symlinks.
      bool link = it->is_symlink(type_ec) || type_ec;
      children.push_back(Child{.path = it->path(),
                               .canonical = link || canonical.empty() ? fs::path()
                                                                      : canonical / name});
    }
    // A stable order for the results.
    std::sort(children.begin(), children.end(),
              [](const Child& a, const Child& b) { return a.path < b.path; });
    for (const Child& child : children) {
      if (!Enter(child.path)) continue;
      int wd = -1;
      if (!Watch(child.path, &wd)) continue;
      if (HasSkillFile(child.path)) {
        MarkSkill(wd);
        Add(child.path, child.path.filename().string(), child.canonical);
      } else {
        fs::path child_canonical = child.canonical;
        if (child_canonical.empty()) {
          std::error_code canonical_ec;
          child_canonical = fs::canonical(child.path, canonical_ec);
          if (canonical_ec) child_canonical.clear();
        }
        Walk(child.path, child_canonical, depth + 1);
      }
    }
  }

  std::vector<SkillRef>* out_;
  DirWatch* watch_;  // Borrowed for the walk; may be null.
  bool* watched_;
  std::set<std::pair<dev_t, ino_t>> visited_;
  fs::path root_;  // The root being walked, as given.
};

}  // namespace

CatalogueSnapshot WalkRoots(const std::vector<fs::path>& roots, DirWatch* watch) {
  CatalogueSnapshot snap;
  snap.watched = watch != nullptr;
  std::vector<SkillRef> all;
  for (const fs::path& root : roots) {
    Walker walker(&all, watch, &snap.watched);
    walker.Root(root);
  }
  // Each canonical directory once per name (a root listed twice, a symlink into another
  // root). The first directory of a name wins; later ones are shadowed by it. `all` is in
  // root order, and within a root in walk order (sorted path order), so the rule is the
  // documented precedence.
  std::set<std::pair<std::string, std::string>> seen;
  for (SkillRef& ref : all) {
    if (!seen.insert({ref.name, ref.dir.string()}).second) continue;
    auto [it, first] = snap.by_name.try_emplace(ref.name, snap.found.size());
    if (first) {
      snap.found.push_back(std::move(ref));
    } else {
      snap.found[it->second].shadowed.push_back(
          ShadowedSkill{.dir = std::move(ref.dir), .root = std::move(ref.root)});
    }
  }
  snap.sorted = snap.found;
  std::stable_sort(snap.sorted.begin(), snap.sorted.end(),
                   [](const SkillRef& a, const SkillRef& b) { return a.name < b.name; });
  return snap;
}

// The stamp of one file as stat(2) or lstat(2) gives it; all zero when there is none.
struct FileStamp {
  bool exists = false;
  dev_t dev = 0;
  ino_t ino = 0;
  mode_t mode = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  bool operator==(const FileStamp&) const = default;

  static FileStamp Of(const fs::path& path, bool follow) {
    struct stat st {};
    int rc = follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st);
    if (rc != 0) return FileStamp{};
    return Of(st);
  }

  static FileStamp Of(const struct stat& st) {
    auto ns = [](const struct timespec& ts) {
      return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
    };
    return FileStamp{.exists = true,
                     .dev = st.st_dev,
                     .ino = st.st_ino,
                     .mode = st.st_mode,
                     .size = st.st_size,
                     .mtime_ns = ns(st.st_mtim),
                     .ctime_ns = ns(st.st_ctim)};
  }
};

// What LoadSkillUnhashed reads: SKILL.md and skill.toml (each as a link and as what it
// points to) and scripts/, whose entries decide an inferred manifest.
struct SkillStamps {
  FileStamp skill_md, skill_md_link, toml, toml_link, scripts;
  bool operator==(const SkillStamps&) const = default;

  static SkillStamps Of(const fs::path& dir) {
    return SkillStamps{.skill_md = FileStamp::Of(dir / "SKILL.md", true),
                       .skill_md_link = FileStamp::Of(dir / "SKILL.md", false),
                       .toml = FileStamp::Of(dir / "skill.toml", true),
                       .toml_link = FileStamp::Of(dir / "skill.toml", false),
                       .scripts = FileStamp::Of(dir / "scripts", true)};
  }

  // The newest timestamp of any of the files, in nanoseconds since the epoch.
  int64_t Newest() const {
    int64_t newest = 0;
    for (const FileStamp* f : {&skill_md, &skill_md_link, &toml, &toml_link, &scripts}) {
      newest = std::max({newest, f->mtime_ns, f->ctime_ns});
    }
    return newest;
  }
};

// The most entries a tree may have for its load to be kept: checking a kept load stats each.
constexpr std::size_t kMaxStampedEntries = 256;

// What LoadSkill reads of a skill directory: every entry of its tree (the directory itself
// first, as ""), each as lstat(2) gives it, in walk order. A tree with a symbolic link has
// none (nullopt): what a link points to, which loading may read, is outside these stamps.
// Adding, removing or renaming an entry changes its directory's mtime and ctime, and any
// change to a file its ctime, so equal stamps mean the same tree, within the timestamp
// granularity that kRacyWindow covers.
struct TreeStamps {
  std::vector<std::pair<std::string, FileStamp>> entries;
  bool operator==(const TreeStamps&) const = default;

  // Lists the tree under `dir` (opened as `root`). nullopt for a link, an entry that cannot
  // be listed or stat'ed, or more than kMaxStampedEntries entries.
  static std::optional<TreeStamps> List(int root) {
    TreeStamps out;
    struct stat st {};
    if (::fstat(root, &st) != 0 || !S_ISDIR(st.st_mode)) return std::nullopt;
    out.entries.emplace_back("", FileStamp::Of(st));
    std::vector<std::string> pending = {""};
    while (!pending.empty()) {
      const std::string rel_dir = std::move(pending.back());
      pending.pop_back();
      const int fd = ::openat(root, rel_dir.empty() ? "." : rel_dir.c_str(),
                              O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return std::nullopt;
      DIR* listing = ::fdopendir(fd);
      if (listing == nullptr) {
        ::close(fd);
        return std::nullopt;
      }
      std::unique_ptr<DIR, int (*)(DIR*)> closer(listing, ::closedir);
      while (const dirent* entry = ::readdir(listing)) {
        const std::string_view name = entry->d_name;
        if (name == "." || name == "..") continue;
        std::string rel = rel_dir.empty() ? std::string(name) : rel_dir + "/" + std::string(name);
        if (::fstatat(root, rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return std::nullopt;
        if (S_ISLNK(st.st_mode)) return std::nullopt;
        if (S_ISDIR(st.st_mode)) pending.push_back(rel);
        out.entries.emplace_back(std::move(rel), FileStamp::Of(st));
        if (out.entries.size() > kMaxStampedEntries) return std::nullopt;
      }
    }
    return out;
  }

  // True when every entry of `this` still has its stamp under `root`.
  bool StillAt(int root) const {
    struct stat st {};
    for (const auto& [rel, stamp] : entries) {
      const int rc = rel.empty() ? ::fstat(root, &st)
                                 : ::fstatat(root, rel.c_str(), &st, AT_SYMLINK_NOFOLLOW);
      if (rc != 0 || !(FileStamp::Of(st) == stamp)) return false;
    }
    return true;
  }

  // The newest timestamp of any entry, in nanoseconds since the epoch.
  int64_t Newest() const {
    int64_t newest = 0;
    for (const auto& [rel, stamp] : entries) {
      newest = std::max({newest, stamp.mtime_ns, stamp.ctime_ns});
    }
    return newest;
  }
};

int64_t NowNanoseconds() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Catalogue::Described {
  SkillStamps stamps;
  Skill skill;
};

struct Catalogue::Loaded {
  TreeStamps stamps;
  Skill skill;
};

Catalogue::Catalogue(std::vector<fs::path> roots, bool watch)
    : roots_(std::move(roots)), watch_enabled_(watch) {}

std::vector<Catalogue::RootId> Catalogue::IdentifyRoots() const {
  std::vector<RootId> ids;
  ids.reserve(roots_.size());
  for (const fs::path& root : roots_) {
    struct stat st {};
    if (::stat(root.c_str(), &st) != 0) {
      ids.push_back(RootId{});
    } else {
      ids.push_back(RootId{.exists = true, .dev = st.st_dev, .ino = st.st_ino});
    }
  }
  return ids;
}

std::shared_ptr<const CatalogueSnapshot> Catalogue::Current() {
  std::lock_guard<std::mutex> lock(mu_);
  // The order matters: roots are identified before the queue is drained, and both before a
  // walk, so that a change racing with this call is seen by this call or queued for the next.
  if (snapshot_ != nullptr && snapshot_->watched && watch_.has_value()) {
    bool same_roots = IdentifyRoots() == root_ids_;
    bool changed = watch_->Changed();
    if (same_roots && !changed) return snapshot_;
  }
  watch_.reset();  // Its watches go with its descriptor.
  root_ids_ = IdentifyRoots();
  std::optional<DirWatch> watch;
  if (watch_enabled_) {
    if (auto opened = DirWatch::Open()) watch.emplace(std::move(*opened));
  }
  auto snapshot = std::make_shared<CatalogueSnapshot>(
      WalkRoots(roots_, watch.has_value() ? &*watch : nullptr));
  if (snapshot->watched) watch_ = std::move(*watch);
  snapshot_ = std::move(snapshot);
  {
    // Forget what was read about skills that are gone.
    std::lock_guard<std::mutex> meta_lock(meta_mu_);
    if (!described_.empty()) {
      std::unordered_set<std::string> dirs;
      for (const SkillRef& ref : snapshot_->found) dirs.insert(ref.dir.string());
      std::erase_if(described_, [&](const auto& entry) { return !dirs.contains(entry.first); });
    }
    if (!loaded_.empty()) {
      std::unordered_set<std::string> dirs;
      for (const SkillRef& ref : snapshot_->found) dirs.insert(ref.dir.string());
      std::erase_if(loaded_, [&](const auto& entry) { return !dirs.contains(entry.first); });
    }
  }
  return snapshot_;
}

Result<Skill> Catalogue::Describe(const fs::path& dir) {
  const SkillStamps before = SkillStamps::Of(dir);
  std::shared_ptr<const Described> kept;
  {
    std::lock_guard<std::mutex> lock(meta_mu_);
    if (auto it = described_.find(dir.string()); it != described_.end()) kept = it->second;
  }
  if (kept != nullptr && kept->stamps == before) return kept->skill;  // Copied unlocked.
  auto skill = LoadSkillUnhashed(dir);
  if (!skill) return skill;
  // Kept only if no file changed within kRacyWindow of the read, and none changed during it.
  const int64_t now_ns = NowNanoseconds();
  if (before.Newest() + kRacyWindow.count() < now_ns && SkillStamps::Of(dir) == before) {
    auto fresh = std::make_shared<const Described>(Described{.stamps = before, .skill = *skill});
    std::lock_guard<std::mutex> lock(meta_mu_);
    described_[dir.string()] = std::move(fresh);
  }
  return skill;
}

Result<Skill> Catalogue::Load(const fs::path& dir) {
  auto read = [&] {
    trees_read_.fetch_add(1, std::memory_order_relaxed);
    return LoadSkill(dir);
  };
  if (!watch_enabled_) return read();
  UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return read();  // Its error, as an unkept load reports it.
  {
    std::unique_lock<std::mutex> lock(meta_mu_);
    if (auto it = loaded_.find(dir.string()); it != loaded_.end()) {
      std::shared_ptr<const Loaded> kept = it->second;
      lock.unlock();
      if (kept->stamps.StillAt(root.get())) return kept->skill;  // Copied unlocked.
      lock.lock();
      auto again = loaded_.find(dir.string());
      if (again != loaded_.end() && again->second == kept) {
        loaded_.erase(again);  // Stale: read below, kept again if it may be.
      }
    }
  }
  // Stamped before the load and checked after it, so that a change during the load (an entry
  // added is one to its directory) keeps it from being kept.
  const std::optional<TreeStamps> before = TreeStamps::List(root.get());
  auto skill = read();
  if (!skill || !before) return skill;
  if (before->Newest() + kRacyWindow.count() < NowNanoseconds() && before->StillAt(root.get())) {
    auto fresh = std::make_shared<const Loaded>(Loaded{.stamps = *before, .skill = *skill});
    std::lock_guard<std::mutex> lock(meta_mu_);
    loaded_[dir.string()] = std::move(fresh);
  }
  return skill;
}

}  // namespace skillrt
