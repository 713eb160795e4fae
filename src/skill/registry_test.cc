#include "skillrt/registry.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "test_util.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using ::skillrt::testing::TempDir;
using ::skillrt::testing::WriteFile;

fs::path MakeSkill(const fs::path& dir) {
  WriteFile(dir / "SKILL.md", "---\nname: " + dir.filename().string() +
                                  "\ndescription: A test skill.\n---\nUse it.\n");
  return dir;
}

std::vector<std::string> Names(const std::vector<SkillRef>& refs) {
  std::vector<std::string> out;
  for (const SkillRef& r : refs) out.push_back(r.name);
  return out;
}

// Sets an environment variable for one test and restores it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old;
    if (value) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(RegistryTest, DefaultRootsOrder) {
  ScopedEnv env("SKILLRT_PATH", "/a::/b:");
  auto roots = Registry::DefaultRoots({"/x", "/y"}, "/home/h");
  EXPECT_EQ(roots, (std::vector<fs::path>{"/x", "/y", "/a", "/b", "/home/h/skills"}));
  ScopedEnv unset("SKILLRT_PATH", nullptr);
  EXPECT_EQ(Registry::DefaultRoots({}, "/h"), (std::vector<fs::path>{"/h/skills"}));
}

TEST(RegistryTest, ListFindsNestedSkillsSortedByName) {
  TempDir tmp;
  const fs::path& r = tmp.path();
  MakeSkill(r / "zeta");
  MakeSkill(r / "group/alpha");
  MakeSkill(r / "group/deeper/still/mid");
  MakeSkill(r / "zeta/scripts/inner");     // Inside a skill: not searched.
  MakeSkill(r / ".hidden/secret");         // Hidden directories are skipped.
  MakeSkill(r / "group/.cache/cached");
  fs::create_directories(r / "empty/dir");
  Registry registry({r, tmp.path() / "missing-root"});
  auto list = registry.List();
  ASSERT_TRUE(list.has_value()) << list.error().ToString();
  EXPECT_EQ(Names(*list), (std::vector<std::string>{"alpha", "mid", "zeta"}));
  EXPECT_EQ((*list)[0].dir, fs::canonical(r / "group/alpha"));
}

TEST(RegistryTest, RootThatIsASkill) {
  TempDir tmp;
  MakeSkill(tmp.path() / "solo");
  auto list = Registry({tmp.path() / "solo"}).List();
  ASSERT_TRUE(list.has_value());
  EXPECT_EQ(Names(*list), (std::vector<std::string>{"solo"}));
}

TEST(RegistryTest, FollowsSymlinksAndStopsAtLoops) {
  TempDir tmp, elsewhere;
  MakeSkill(elsewhere.path() / "linked");
  fs::create_directories(tmp.path() / "a/b");
  fs::create_directory_symlink(elsewhere.path(), tmp.path() / "a/ext");
  fs::create_directory_symlink(tmp.path() / "a", tmp.path() / "a/b/loop");  // a/b/loop -> a
  fs::create_directory_symlink(tmp.path(), tmp.path() / "a/b/up");          // a/b/up -> root
  Registry registry({tmp.path()});
  auto list = registry.List();
  ASSERT_TRUE(list.has_value()) << list.error().ToString();
  EXPECT_EQ(Names(*list), (std::vector<std::string>{"linked"}));
  EXPECT_EQ((*list)[0].dir, fs::canonical(elsewhere.path() / "linked"));
}

TEST(RegistryTest, DepthIsBounded) {
  TempDir tmp;
  fs::path deep = tmp.path();
  for (int i = 0; i < 20; ++i) deep /= "d";
  MakeSkill(deep / "toodeep");
  MakeSkill(tmp.path() / "d/d/d/shallow");
  auto list = Registry({tmp.path()}).List();
  ASSERT_TRUE(list.has_value());
  EXPECT_EQ(Names(*list), (std::vector<std::string>{"shallow"}));
}

TEST(RegistryTest, EarlierRootShadowsLaterOnes) {
  TempDir a, b, c;
  MakeSkill(a.path() / "pdf");
  MakeSkill(b.path() / "nested/pdf");
  MakeSkill(b.path() / "other");
  MakeSkill(c.path() / "pdf");
  Registry registry({a.path(), b.path(), c.path()});
  auto list = registry.List();
  ASSERT_TRUE(list.has_value()) << list.error().ToString();
  EXPECT_EQ(Names(*list), (std::vector<std::string>{"other", "pdf"}));
  const SkillRef& pdf = (*list)[1];
  EXPECT_EQ(pdf.dir, fs::canonical(a.path() / "pdf"));
  EXPECT_EQ(pdf.root, a.path());
  ASSERT_EQ(pdf.shadowed.size(), 2u);
  EXPECT_EQ(pdf.shadowed[0].dir, fs::canonical(b.path() / "nested/pdf"));
  EXPECT_EQ(pdf.shadowed[0].root, b.path());
  EXPECT_EQ(pdf.shadowed[1].dir, fs::canonical(c.path() / "pdf"));
  EXPECT_TRUE((*list)[0].shadowed.empty());
  // The name resolves to the winner; a shadowed skill is still reachable by its path.
  EXPECT_EQ(registry.Resolve("pdf")->dir, fs::canonical(a.path() / "pdf"));
  auto hidden = registry.Resolve((b.path() / "nested/pdf").string());
  ASSERT_TRUE(hidden.has_value()) << hidden.error().ToString();
  EXPECT_EQ(hidden->dir, fs::canonical(b.path() / "nested/pdf"));
  EXPECT_EQ(registry.Load((c.path() / "pdf").string())->dir, fs::canonical(c.path() / "pdf"));
  // The order of the roots is the precedence.
  Registry reversed({c.path(), b.path(), a.path()});
  EXPECT_EQ(reversed.Resolve("pdf")->dir, fs::canonical(c.path() / "pdf"));
}

TEST(RegistryTest, WithinARootTheFirstPathInSortedOrderWins) {
  TempDir tmp;
  // One normalised name, three spellings; "B/pdf-tools" < "a/PDF_Tools" < "a/pdf-tools".
  MakeSkill(tmp.path() / "a/pdf-tools");
  MakeSkill(tmp.path() / "a/PDF_Tools");
  MakeSkill(tmp.path() / "B/pdf-tools");
  Registry registry({tmp.path()});
  auto list = registry.List();
  ASSERT_TRUE(list.has_value()) << list.error().ToString();
  ASSERT_EQ(Names(*list), (std::vector<std::string>{"pdf-tools"}));
  EXPECT_EQ((*list)[0].dir, fs::canonical(tmp.path() / "B/pdf-tools"));
  ASSERT_EQ((*list)[0].shadowed.size(), 2u);
  EXPECT_EQ((*list)[0].shadowed[0].dir, fs::canonical(tmp.path() / "a/PDF_Tools"));
  EXPECT_EQ((*list)[0].shadowed[1].dir, fs::canonical(tmp.path() / "a/pdf-tools"));
  // A name as written loosely finds the normalised one.
  EXPECT_EQ(registry.Resolve("PDF Tools")->dir, fs::canonical(tmp.path() / "B/pdf-tools"));
  EXPECT_EQ(registry.Resolve("pdf_tools")->dir, fs::canonical(tmp.path() / "B/pdf-tools"));
}

TEST(RegistryTest, SameDirectoryTwiceIsListedOnce) {
  TempDir tmp, store;
  MakeSkill(store.path() / "calc");
  fs::create_directories(tmp.path() / "x");
  fs::create_directory_symlink(store.path() / "calc", tmp.path() / "x/calc");
  Registry registry({store.path(), tmp.path(), store.path()});
  auto list = registry.List();
  ASSERT_TRUE(list.has_value()) << list.error().ToString();
  EXPECT_EQ(Names(*list), (std::vector<std::string>{"calc"}));
  EXPECT_TRUE((*list)[0].shadowed.empty());
}

TEST(RegistryTest, ResolveByNameAndPath) {
  TempDir tmp;
  fs::path calc = MakeSkill(tmp.path() / "root/calc");
  fs::create_directories(tmp.path() / "nodoc");
  Registry registry({tmp.path() / "root", tmp.path() / "other"});

  auto by_name = registry.Resolve("calc");
  ASSERT_TRUE(by_name.has_value()) << by_name.error().ToString();
  EXPECT_EQ(by_name->dir, fs::canonical(calc));
  EXPECT_EQ(by_name->name, "calc");

  auto by_path = registry.Resolve((tmp.path() / "root/calc/").string());
  ASSERT_TRUE(by_path.has_value());
  EXPECT_EQ(by_path->dir, fs::canonical(calc));

  auto no_doc = registry.Resolve((tmp.path() / "nodoc").string());
  ASSERT_FALSE(no_doc.has_value());
  EXPECT_EQ(no_doc.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(no_doc.error().message,
            "no SKILL.md in " + fs::canonical(tmp.path() / "nodoc").string());

  auto unknown = registry.Resolve("nope");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(unknown.error().message,
            "unknown skill 'nope' (searched: " + (tmp.path() / "root").string() + ", " +
                (tmp.path() / "other").string() + ")");
}

TEST(RegistryTest, ResolveRelativeToWorkingDirectory) {
  TempDir tmp;
  MakeSkill(tmp.path() / "here");
  fs::path old = fs::current_path();
  fs::current_path(tmp.path() / "here");
  Registry registry({});
  auto dot = registry.Resolve(".");
  auto up = registry.Resolve("..");
  fs::current_path(tmp.path());
  auto bare = registry.Resolve("here");  // An existing directory with SKILL.md.
  fs::current_path(old);
  ASSERT_TRUE(dot.has_value()) << dot.error().ToString();
  EXPECT_EQ(dot->dir, fs::canonical(tmp.path() / "here"));
  ASSERT_FALSE(up.has_value());
  EXPECT_NE(up.error().message.find("no SKILL.md in"), std::string::npos);
  ASSERT_TRUE(bare.has_value()) << bare.error().ToString();
  EXPECT_EQ(bare->name, "here");
}

TEST(RegistryTest, LoadResolvesThenLoads) {
  TempDir tmp;
  MakeSkill(tmp.path() / "calc");
  Registry registry({tmp.path()});
  auto skill = registry.Load("calc");
  ASSERT_TRUE(skill.has_value()) << skill.error().ToString();
  EXPECT_EQ(skill->meta.name, "calc");
  EXPECT_EQ(skill->meta.description, "A test skill.");
  EXPECT_EQ(registry.Load("missing").error().code, ErrorCode::kNotFound);
}

// The inotify instances this process holds: one per registry whose catalogue is watched.
int InotifyInstances() {
  int count = 0;
  for (const auto& fd : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    if (fs::read_symlink(fd.path(), ec).string() == "anon_inode:inotify") ++count;
  }
  return count;
}

TEST(KeptRegistriesTest, CallsWithTheSameRootsShareOneWatchedCatalogue) {
  TempDir a, b;
  MakeSkill(a.path() / "alpha");
  MakeSkill(b.path() / "beta");
  const int before = InotifyInstances();
  KeptRegistries kept(/*capacity=*/2);
  {
    Registry first = kept.For({a.path()});
    ASSERT_TRUE(first.Load("alpha").has_value());
  }
  EXPECT_EQ(InotifyInstances(), before + 1);  // Kept after the registry handed out is gone.
  {
    Registry again = kept.For({a.path()});
    ASSERT_TRUE(again.Load("alpha").has_value());
    EXPECT_EQ(InotifyInstances(), before + 1);  // The same catalogue: no second walk's watch.
    // A skill added after the catalogue was built is found by the next call through it.
    MakeSkill(a.path() / "gamma");
    EXPECT_TRUE(kept.For({a.path()}).Load("gamma").has_value());
  }
  // Other roots (or the same in another order) are another registry.
  ASSERT_TRUE(kept.For({b.path()}).Load("beta").has_value());
  EXPECT_EQ(InotifyInstances(), before + 2);
  EXPECT_FALSE(kept.For({b.path()}).Load("alpha").has_value());
  // A third list of roots pushes out the least recently used (a's), and its watch with it.
  ASSERT_TRUE(kept.For({b.path(), a.path()}).Load("alpha").has_value());
  EXPECT_EQ(InotifyInstances(), before + 2);
}

}  // namespace
}  // namespace skillrt
