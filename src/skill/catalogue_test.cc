// The registry's catalogue: changes after the first call are seen by the next one, and
// readers on several threads see whole catalogues while a root changes.
#include "skill/catalogue.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "skillrt/registry.h"
#include "test_util.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using ::skillrt::testing::TempDir;
using ::skillrt::testing::WriteFile;

fs::path MakeSkill(const fs::path& dir, const std::string& description = "A test skill.") {
  WriteFile(dir / "SKILL.md", "---\nname: " + dir.filename().string() +
                                  "\ndescription: " + description + "\n---\nUse it.\n");
  return dir;
}

std::vector<std::string> Names(const Registry& registry) {
  auto list = registry.List();
  EXPECT_TRUE(list.has_value()) << list.error().ToString();
  std::vector<std::string> out;
  if (list) {
    for (const SkillRef& r : *list) out.push_back(r.name);
  }
  return out;
}

using V = std::vector<std::string>;

TEST(CatalogueTest, SeesSkillsAddedRemovedAndRenamed) {
  TempDir tmp;
  const fs::path& r = tmp.path();
  MakeSkill(r / "alpha");
  fs::create_directories(r / "group/empty");
  Registry registry({r});
  EXPECT_EQ(Names(registry), V({"alpha"}));

  MakeSkill(r / "group/deep/beta");  // New directories below a watched one.
  EXPECT_EQ(Names(registry), V({"alpha", "beta"}));
  MakeSkill(r / "group/empty");  // SKILL.md appears in a directory already searched.
  EXPECT_EQ(Names(registry), V({"alpha", "beta", "empty"}));
  ASSERT_TRUE(registry.Resolve("empty").has_value());

  fs::rename(r / "group/deep/beta", r / "group/deep/gamma");
  EXPECT_EQ(Names(registry), V({"alpha", "empty", "gamma"}));
  EXPECT_EQ(registry.Resolve("beta").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(registry.Resolve("gamma")->dir, fs::canonical(r / "group/deep/gamma"));

  fs::remove(r / "alpha/SKILL.md");  // No longer a skill, but still a directory.
  EXPECT_EQ(Names(registry), V({"empty", "gamma"}));
  fs::remove_all(r / "group");
  EXPECT_EQ(Names(registry), V({}));
  EXPECT_EQ(registry.Resolve("gamma").error().code, ErrorCode::kNotFound);
}

TEST(CatalogueTest, SeesInstallStyleRenameFromHiddenDirectory) {
  TempDir tmp;
  Registry registry({tmp.path()});
  EXPECT_EQ(Names(registry), V({}));
  MakeSkill(tmp.path() / ".staging-calc");  // Hidden: not a skill yet.
  EXPECT_EQ(Names(registry), V({}));
  fs::rename(tmp.path() / ".staging-calc", tmp.path() / "calc");
  EXPECT_EQ(Names(registry), V({"calc"}));
}

TEST(CatalogueTest, SeesRootsCreatedRemovedAndRetargeted) {
  TempDir tmp;
  const fs::path root = tmp.path() / "root";
  Registry registry({root});
  EXPECT_EQ(Names(registry), V({}));
  MakeSkill(root / "late");
  EXPECT_EQ(Names(registry), V({"late"}));

  // A symlinked root pointed elsewhere: the link's parent is not watched.
  MakeSkill(tmp.path() / "a/one");
  MakeSkill(tmp.path() / "b/two");
  const fs::path link = tmp.path() / "link";
  fs::create_directory_symlink(tmp.path() / "a", link);
  Registry linked({link});
  EXPECT_EQ(Names(linked), V({"one"}));
  fs::remove(link);
  fs::create_directory_symlink(tmp.path() / "b", link);
  EXPECT_EQ(Names(linked), V({"two"}));
  fs::remove(link);
  EXPECT_EQ(Names(linked), V({}));
}

TEST(CatalogueTest, ShadowAppearsAndGoes) {
  TempDir a, b;
  MakeSkill(a.path() / "pdf");
  Registry registry({a.path(), b.path()});
  ASSERT_TRUE(registry.Resolve("pdf").has_value());
  MakeSkill(b.path() / "nested/pdf");
  auto list = registry.List();
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->size(), 1u);
  ASSERT_EQ((*list)[0].shadowed.size(), 1u);
  EXPECT_EQ((*list)[0].shadowed[0].dir, fs::canonical(b.path() / "nested/pdf"));
  EXPECT_EQ(registry.Resolve("pdf")->dir, fs::canonical(a.path() / "pdf"));
  fs::remove_all(a.path() / "pdf");
  EXPECT_EQ(registry.Resolve("pdf")->dir, fs::canonical(b.path() / "nested/pdf"));
  EXPECT_TRUE(registry.List()->front().shadowed.empty());
}

TEST(CatalogueTest, DescribeAndLoadSeeEditedFiles) {
  TempDir tmp;
  const fs::path dir = MakeSkill(tmp.path() / "calc", "First.");
  Registry registry({tmp.path()});
  auto first = registry.Describe("calc");
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  EXPECT_EQ(first->meta.description, "First.");
  EXPECT_TRUE(first->tree_sha256.empty());
  auto loaded = registry.Load("calc");
  ASSERT_TRUE(loaded.has_value());

  MakeSkill(dir, "Other.");  // Same size, within the same timestamp tick.
  EXPECT_EQ(registry.Describe("calc")->meta.description, "Other.");
  auto reloaded = registry.Load("calc");
  ASSERT_TRUE(reloaded.has_value());
  EXPECT_EQ(reloaded->meta.description, "Other.");
  EXPECT_NE(reloaded->tree_sha256, loaded->tree_sha256);

  EXPECT_EQ(registry.Describe("calc")->manifest.runtime, RuntimeKind::kNative);
  WriteFile(dir / "skill.toml", "runtime = \"wasm\"\n");
  auto described = registry.Describe("calc");
  ASSERT_TRUE(described.has_value()) << described.error().ToString();
  EXPECT_EQ(described->manifest.runtime, RuntimeKind::kWasm);
  WriteFile(dir / "skill.toml", "runtime = 7\n");
  EXPECT_FALSE(registry.Describe("calc").has_value());
  fs::remove(dir / "skill.toml");
  EXPECT_TRUE(registry.Describe("calc").has_value());
  EXPECT_EQ(registry.Describe("nope").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(registry.Describe(dir.string())->meta.name, "calc");
}

TEST(CatalogueTest, WalkWithoutWatchIsNotKept) {
  TempDir tmp;
  MakeSkill(tmp.path() / "x/calc");
  CatalogueSnapshot unwatched = WalkRoots({tmp.path()}, nullptr);
  EXPECT_FALSE(unwatched.watched);
  ASSERT_EQ(unwatched.found.size(), 1u);
  auto watch = DirWatch::Open();
  ASSERT_TRUE(watch.has_value()) << watch.error().ToString();
  CatalogueSnapshot watched = WalkRoots({tmp.path()}, &*watch);
  EXPECT_TRUE(watched.watched);
  EXPECT_EQ(watch->size(), 3u);  // The root, x and calc.
  EXPECT_FALSE(watch->Changed());
}

TEST(CatalogueTest, WatchIgnoresWhatAWalkCannotSee) {
  TempDir tmp;
  const fs::path skill = MakeSkill(tmp.path() / "calc");
  auto watch = DirWatch::Open();
  ASSERT_TRUE(watch.has_value());
  WalkRoots({tmp.path()}, &*watch);
  ASSERT_FALSE(watch->Changed());
  fs::create_directories(tmp.path() / ".hidden");
  WriteFile(skill / "notes.txt", "x");  // A skill's other files: not searched.
  fs::create_directories(skill / "scripts");
  EXPECT_FALSE(watch->Changed());
  WriteFile(tmp.path() / "README", "x");  // A visible entry of a searched directory.
  EXPECT_TRUE(watch->Changed());
  EXPECT_FALSE(watch->Changed());
  fs::remove(skill / "SKILL.md");
  EXPECT_TRUE(watch->Changed());
}

// Readers on four threads while the main thread adds, renames and removes skills: every
// result is a whole catalogue (the fixed skills always there, the moving one at most once).
TEST(CatalogueTest, ConcurrentReadersWhileARootChanges) {
  TempDir tmp;
  const fs::path& r = tmp.path();
  for (int i = 0; i < 20; ++i) MakeSkill(r / ("fixed/s" + std::to_string(i)));
  Registry registry({r});
  std::atomic<bool> stop{false};
  std::atomic<int> calls{0}, bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      while (!stop.load()) {
        if (t % 2 == 0) {
          auto list = registry.List();
          if (!list) {
            ++bad;
            continue;
          }
          int fixed = 0, moving = 0;
          for (const SkillRef& ref : *list) {
            if (ref.name.starts_with("s")) ++fixed;
            if (ref.name == "moving" || ref.name == "moved") ++moving;
          }
          if (fixed != 20 || moving > 1) ++bad;
        } else {
          auto ref = registry.Resolve("s7");
          auto moving = registry.Resolve("moving");
          if (!ref || ref->dir != fs::canonical(r / "fixed/s7")) ++bad;
          if (!moving && moving.error().code != ErrorCode::kNotFound) ++bad;
          if (auto d = registry.Describe("s3"); !d || d->meta.name != "s3") ++bad;
        }
        ++calls;
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    MakeSkill(r / "m/moving");
    fs::rename(r / "m/moving", r / "m/moved");
    fs::remove_all(r / "m");
  }
  stop = true;
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(calls.load(), 0);
  EXPECT_EQ(Names(registry).size(), 20u);
}

TEST(CatalogueTest, CopiesShareTheCatalogue) {
  TempDir tmp;
  Registry registry({tmp.path()});
  Registry copy = registry;
  EXPECT_EQ(Names(registry), V({}));
  MakeSkill(tmp.path() / "calc");
  EXPECT_EQ(Names(copy), V({"calc"}));
  EXPECT_EQ(Names(registry), V({"calc"}));
}

TEST(CatalogueTest, ALoadIsKeptUntilAnyEntryOfItsTreeChanges) {
  // One skill per change, all settled (older than the racy window) before the first load.
  TempDir tmp;
  const std::vector<std::string> changes = {"content", "mode",   "added",   "renamed",
                                            "removed", "toml",   "subdir",  "hardlink",
                                            "replaced"};
  for (const std::string& change : changes) {
    const fs::path dir = MakeSkill(tmp.path() / ("s-" + change));
    WriteFile(dir / "skill.toml", "[limits]\nwall_time_ms = 1000\n");
    WriteFile(dir / "scripts" / "run.sh", "echo one\n");
    WriteFile(dir / "data" / "deep" / "a.txt", "aaaa");
  }
  ::link((tmp.path() / "s-hardlink" / "data" / "deep" / "a.txt").c_str(),
         (tmp.path() / "outside.txt").c_str());
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));

  Catalogue catalogue({tmp.path()});
  std::map<std::string, std::string> hashes;
  for (const std::string& change : changes) {
    auto loaded = catalogue.Load(tmp.path() / ("s-" + change));
    ASSERT_TRUE(loaded.has_value()) << loaded.error().ToString();
    hashes[change] = loaded->tree_sha256;
  }
  EXPECT_EQ(catalogue.trees_read(), changes.size());
  for (const std::string& change : changes) {  // Kept: nothing read again.
    EXPECT_EQ(catalogue.Load(tmp.path() / ("s-" + change))->tree_sha256, hashes[change]);
  }
  EXPECT_EQ(catalogue.trees_read(), changes.size());

  auto at = [&](const std::string& change) { return tmp.path() / ("s-" + change); };
  WriteFile(at("content") / "data" / "deep" / "a.txt", "bbbb");  // Same size.
  fs::permissions(at("mode") / "scripts" / "run.sh", fs::perms::owner_exec, fs::perm_options::add);
  WriteFile(at("added") / "data" / "deep" / "b.txt", "");
  fs::rename(at("renamed") / "data" / "deep" / "a.txt", at("renamed") / "data" / "deep" / "z.txt");
  fs::remove(at("removed") / "data" / "deep" / "a.txt");
  WriteFile(at("toml") / "skill.toml", "[limits]\nwall_time_ms = 2000\n");
  fs::create_directory(at("subdir") / "data" / "deep" / "more");
  WriteFile(tmp.path() / "outside.txt", "cccc");  // The tree's file, through another name.
  WriteFile(tmp.path() / "new.txt", "dddd");
  fs::rename(tmp.path() / "new.txt", at("replaced") / "data" / "deep" / "a.txt");
  for (const std::string& change : changes) {
    auto reloaded = catalogue.Load(at(change));
    ASSERT_TRUE(reloaded.has_value()) << change << ": " << reloaded.error().ToString();
    EXPECT_NE(reloaded->tree_sha256, hashes[change]) << change;
    EXPECT_EQ(reloaded->tree_sha256, HashSkillTree(at(change)).value()) << change;
  }
  EXPECT_EQ(catalogue.trees_read(), 2 * changes.size());
  EXPECT_EQ(catalogue.Load(at("toml"))->manifest.limits.wall_time, std::chrono::milliseconds(2000));
}

TEST(CatalogueTest, ALoadIsNotKeptWithALinkInTheTreeOrWithoutAWatch) {
  TempDir tmp;
  const fs::path linked = MakeSkill(tmp.path() / "linked");
  fs::create_symlink("SKILL.md", linked / "ALIAS.md");
  const fs::path plain = MakeSkill(tmp.path() / "plain");
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  Catalogue watching({tmp.path()});
  Catalogue unwatched({tmp.path()}, /*watch=*/false);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(watching.Load(linked).has_value());
    ASSERT_TRUE(unwatched.Load(plain).has_value());
  }
  EXPECT_EQ(watching.trees_read(), 3u);
  EXPECT_EQ(unwatched.trees_read(), 3u);
  // A load within the racy window of a change is not kept either.
  WriteFile(plain / "fresh.txt", "x");
  ASSERT_TRUE(watching.Load(plain).has_value());
  ASSERT_TRUE(watching.Load(plain).has_value());
  EXPECT_EQ(watching.trees_read(), 5u);
}

}  // namespace
}  // namespace skillrt
