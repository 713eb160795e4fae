// The registry over 10,000 skills: building its catalogue (the first call) and resolving a
// name afterwards, against the walk of every root that each call made before the catalogue
// (kept below as it was, in namespace legacy), in the same run on the same tree.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench_util.h"
#include "skill/catalogue.h"
#include "skillrt/registry.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using bench::ReportLatency;
using bench::ScratchDir;
using Clock = std::chrono::steady_clock;

constexpr int kSkills = 10'000;
constexpr int kGroups = 100;  // root/gNN/skill-NNNNN: 100 directories of 100 skills.

std::string SkillName(int i) {
  std::string n = std::to_string(i);
  return "skill-" + std::string(5 - n.size(), '0') + n;
}

void Write(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// The generated root, made once per process (about 30,000 files) and removed at exit.
const fs::path& Root() {
  static ScratchDir scratch("skillrt-registry-bench");
  static const bool made = [] {
    if (!scratch.ok()) return false;
    for (int i = 0; i < kSkills; ++i) {
      const std::string name = SkillName(i);
      const fs::path dir = scratch.path() / ("g" + std::to_string(i % kGroups)) / name;
      fs::create_directories(dir / "scripts");
      Write(dir / "SKILL.md", "---\nname: " + name + "\ndescription: Generated skill " +
                                  std::to_string(i) + " for the registry benchmark.\n---\n" +
                                  "Run scripts/run.py with the input.\n");
      Write(dir / "skill.toml",
            "runtime = \"native\"\n\n[entry]\nargv = [\"python3\", \"scripts/run.py\"]\n\n"
            "[capabilities]\ncommands = [\"python3\"]\n\n[limits]\nwall_time_ms = 5000\n");
      Write(dir / "scripts/run.py", "print('ok')\n");
    }
    return true;
  }();
  static const fs::path empty;
  return made ? scratch.path() : empty;
}

namespace legacy {

// The walk every Registry call made before the catalogue, as it was in src/skill/registry.cc
// (Walker, FindAll and the by-name part of Resolve, unchanged but for names).
constexpr int kMaxDepth = 16;

struct Found {
  std::string name;
  fs::path dir;
};

bool HasSkillFile(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "SKILL.md", ec);
}

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
    fs::directory_iterator it(dir, ec);
    std::vector<fs::path> children;
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
      std::string name = it->path().filename().string();
      if (name.starts_with(".")) continue;
      std::error_code type_ec;
      if (it->is_directory(type_ec)) children.push_back(it->path());
    }
    std::sort(children.begin(), children.end());
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

// Resolve(name) as it was: a full walk, then the match. Returns whether exactly one matched.
bool ResolveByName(const std::vector<fs::path>& roots, const std::string& name) {
  std::vector<Found> found = FindAll(roots);
  int matches = 0;
  for (const Found& f : found) matches += f.name == name ? 1 : 0;
  return matches == 1;
}

}  // namespace legacy

// Times `call` once per iteration; `call` returns false on a wrong answer.
template <typename Call>
void Measure(benchmark::State& state, Call call) {
  if (Root().empty()) return state.SkipWithError("cannot generate the skills");
  std::vector<double> samples_us;
  std::mt19937 rng(12);
  std::uniform_int_distribution<int> pick(0, kSkills - 1);
  for (auto _ : state) {
    const std::string name = SkillName(pick(rng));
    const auto start = Clock::now();
    const bool ok = call(name);
    const std::chrono::duration<double> elapsed = Clock::now() - start;
    if (!ok) return state.SkipWithError(("wrong answer for " + name).c_str());
    state.SetIterationTime(elapsed.count());
    samples_us.push_back(elapsed.count() * 1e6);
  }
  ReportLatency(state, std::move(samples_us));
  state.counters["skills"] = kSkills;
}

// The first call of a new Registry: walks the roots, watching each directory, and resolves.
void BM_CatalogueFirstScan(benchmark::State& state) {
  Measure(state, [](const std::string& name) {
    Registry registry({Root()});
    return registry.Resolve(name).has_value();
  });
}

// Resolving a name when nothing changed since the catalogue was built.
void BM_CatalogueResolve(benchmark::State& state) {
  if (Root().empty()) return state.SkipWithError("cannot generate the skills");
  Registry registry({Root()});
  if (!registry.List()) return state.SkipWithError("List failed");
  Measure(state, [&](const std::string& name) { return registry.Resolve(name).has_value(); });
}

// Describe (frontmatter and manifest) once what was read is kept: a stat(2) of each file.
void BM_CatalogueDescribe(benchmark::State& state) {
  if (Root().empty()) return state.SkipWithError("cannot generate the skills");
  // Files younger than the catalogue's racy window (2 s) are read again on every call.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  Registry registry({Root()});
  for (int i = 0; i < kSkills; ++i) (void)registry.Describe(SkillName(i));
  Measure(state, [&](const std::string& name) { return registry.Describe(name).has_value(); });
}

// Load (frontmatter, manifest and tree hash) once the skill's load is kept: an lstat(2) of
// each entry of its tree (Catalogue::Load), the name resolved as every call resolves it.
void BM_CatalogueLoad(benchmark::State& state) {
  if (Root().empty()) return state.SkipWithError("cannot generate the skills");
  // Files younger than the catalogue's racy window (2 s) are read again on every call.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  Registry registry({Root()});
  for (int i = 0; i < kSkills; ++i) (void)registry.Load(SkillName(i));
  Measure(state, [&](const std::string& name) {
    auto skill = registry.Load(name);
    return skill.has_value() && !skill->tree_sha256.empty();
  });
}

// The baseline of the row above, in the same run: the name resolved the same way, then the
// skill read afresh (LoadSkill: both files read and parsed, the tree listed and hashed), as
// every Load did before loads were kept and as a one-shot process still does.
void BM_LoadSkillRead(benchmark::State& state) {
  if (Root().empty()) return state.SkipWithError("cannot generate the skills");
  Registry registry({Root()});
  if (!registry.List()) return state.SkipWithError("List failed");
  Measure(state, [&](const std::string& name) {
    auto ref = registry.Resolve(name);
    if (!ref) return false;
    auto skill = LoadSkill(ref->dir);
    return skill.has_value() && !skill->tree_sha256.empty();
  });
}

// A call after a change somewhere under the root: the cost of a rebuild (one new walk).
void BM_CatalogueResolveAfterChange(benchmark::State& state) {
  if (Root().empty()) return state.SkipWithError("cannot generate the skills");
  Registry registry({Root()});
  if (!registry.List()) return state.SkipWithError("List failed");
  const fs::path touched = Root() / "g7" / "new-dir";
  Measure(state, [&](const std::string& name) {
    std::error_code ec;
    if (!fs::create_directory(touched, ec)) fs::remove(touched, ec);
    return registry.Resolve(name).has_value();
  });
  std::error_code ec;
  fs::remove(touched, ec);
}

// The catalogue's walk without inotify: what each call costs where inotify is unavailable.
void BM_WalkUnwatched(benchmark::State& state) {
  Measure(state, [](const std::string& name) {
    CatalogueSnapshot snap = WalkRoots({Root()}, nullptr);
    auto it = snap.by_name.find(name);
    return it != snap.by_name.end() && snap.found[it->second].shadowed.empty();
  });
}

// Today's baseline: every Resolve by name walked every root.
void BM_LegacyWalkResolve(benchmark::State& state) {
  Measure(state, [](const std::string& name) { return legacy::ResolveByName({Root()}, name); });
}

BENCHMARK(BM_CatalogueFirstScan)->Iterations(10)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LegacyWalkResolve)->Iterations(10)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WalkUnwatched)->Iterations(10)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CatalogueResolveAfterChange)
    ->Iterations(10)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CatalogueResolve)->Iterations(20000)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CatalogueDescribe)->Iterations(20000)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LoadSkillRead)->Iterations(20000)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CatalogueLoad)->Iterations(20000)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace skillrt
