#include "skillrt/grants.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "test_util.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using skillrt::testing::TempDir;
using skillrt::testing::WriteFile;

TEST(GrantsTest, CheckGrantsNormalizesAndDropsDuplicates) {
  auto checked = CheckGrants(Grants{.commands = {"git", "git", "/usr/bin/sort"},
                                    .read_paths = {"/srv/data/", "/srv/./data"},
                                    .write_paths = {"/home/u/repo"}},
                             "--test");
  ASSERT_TRUE(checked) << checked.error().message;
  EXPECT_EQ(checked->commands, (std::vector<std::string>{"git", "/usr/bin/sort"}));
  EXPECT_EQ(checked->read_paths, (std::vector<fs::path>{"/srv/data"}));
  EXPECT_EQ(checked->write_paths, (std::vector<fs::path>{"/home/u/repo"}));
}

TEST(GrantsTest, CheckGrantsRefusesWhatTheManifestWouldRefuse) {
  struct Case {
    Grants grants;
    std::string_view expect;
  };
  const Case cases[] = {
      {{.commands = {"git status"}}, "whitespace"},
      {{.commands = {"./tool"}}, "without '/'"},
      {{.read_paths = {"data"}}, "not an absolute path"},
      {{.write_paths = {"/home/u/../../etc"}}, "'..'"},
      {{.write_paths = {"/etc/ssh"}}, "reserved"},
      {{.read_paths = {"/"}}, "reserved"},
      {{.write_paths = {"/proc/1"}}, "reserved"},
      {{.python = {"--index-url=https://evil.example/simple"}}, "installer option"},
      {{.limits = {{"memory", 1}}}, "unknown limit 'memory' (expected wall_time_ms"},
      {{.limits = {{"memory_mb", 0}}}, "between 1 and 65536, got 0"},
      {{.limits = {{"wall_time_ms", 86'400'001}}}, "between 1 and 86400000"},
  };
  for (const Case& c : cases) {
    auto checked = CheckGrants(c.grants, "--flag");
    ASSERT_FALSE(checked) << c.expect;
    EXPECT_EQ(checked.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(checked.error().message.find(c.expect), std::string::npos)
        << checked.error().message;
    EXPECT_TRUE(checked.error().message.starts_with("--flag: ")) << checked.error().message;
  }
}

TEST(GrantsTest, PythonRequirementsNamePackagesOnly) {
  for (const char* ok : {"pypdf", "pypdf>=4,<6", "requests[socks]~=2.31",
                         "openpyxl ; python_version >= \"3.8\"", "zope.interface==6.*",
                         "typing_extensions"}) {
    EXPECT_EQ(CheckPythonRequirement(ok), std::nullopt) << ok;
  }
  for (const char* bad : {"", "-r other.txt", "--extra-index-url https://x", "-e .",
                          "pkg @ https://evil.example/pkg.whl", "git+https://x/y.git",
                          "./local/pkg", "/abs/pkg.whl", "pkg$(id)", ">=1.0"}) {
    EXPECT_NE(CheckPythonRequirement(bad), std::nullopt) << bad;
  }
}

TEST(GrantsTest, MergeRemoveAndWiden) {
  Grants a{.commands = {"git"}, .write_paths = {"/home/u/repo"}};
  Grants b{.commands = {"git", "make"}, .read_paths = {"/home/u/repo/docs", "/srv"}};
  Grants merged = MergeGrants(a, b);
  EXPECT_EQ(merged.commands, (std::vector<std::string>{"git", "make"}));
  EXPECT_EQ(merged.read_paths.size(), 2u);
  EXPECT_EQ(RemoveGrants(merged, b), (Grants{.write_paths = {"/home/u/repo"}}));
  // A read under a granted write path is no widening; /srv and make are.
  EXPECT_EQ(WidenedGrants(a, merged), (std::vector<std::string>{"command make", "read /srv"}));
  EXPECT_TRUE(WidenedGrants(merged, a).empty());
  // Limits: the larger wins a merge; only a raise is a widening; revoking is by key.
  Grants low{.limits = {{"memory_mb", 512}}}, high{.limits = {{"memory_mb", 1024}}};
  EXPECT_EQ(MergeGrants(high, low).limits.at("memory_mb"), 1024u);
  EXPECT_EQ(WidenedGrants(low, high), (std::vector<std::string>{"limit memory_mb 1024"}));
  EXPECT_TRUE(WidenedGrants(high, low).empty());
  EXPECT_TRUE(RemoveGrants(high, low).empty());
  // A write where only a read was granted is a widening.
  EXPECT_EQ(WidenedGrants(Grants{.read_paths = {"/x"}}, Grants{.write_paths = {"/x"}}),
            (std::vector<std::string>{"write /x"}));
}

TEST(GrantsTest, GrantsJsonRoundTrips) {
  Grants g{.commands = {"git"},
           .read_paths = {"/a"},
           .write_paths = {"/b"},
           .python = {"six"},
           .limits = {{"wall_time_ms", 600000}}};
  auto back = GrantsFromJson(GrantsToJson(g), "x");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, g);
  EXPECT_EQ(GrantsToJson(Grants{}), nlohmann::json::object());
  EXPECT_FALSE(GrantsFromJson(nlohmann::json{{"exec", {"x"}}}, "x"));
}

constexpr std::string_view kFile = R"(
version = 1

[python]
index_url = "https://pypi.example/simple"

[skills.pdf-tools]
commands = ["git"]
read = ["/srv/papers"]
python = ["pypdf>=4"]

[skills."pdf-tools@work"]
write = ["/home/u/work"]

[skills."pdf-tools@work".limits]
wall_time_ms = 600000
)";

TEST(GrantFileTest, ParsesSelectsAndRoundTrips) {
  auto file = ParseGrantFile(kFile, "/h/grants.toml");
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ(file->index_url, "https://pypi.example/simple");
  ASSERT_EQ(file->entries.size(), 2u);
  Grants plain = FileGrantsFor(*file, "pdf-tools", std::nullopt);
  EXPECT_EQ(plain.commands, (std::vector<std::string>{"git"}));
  EXPECT_TRUE(plain.write_paths.empty());
  Grants work = FileGrantsFor(*file, "pdf-tools", "work");
  EXPECT_EQ(work.write_paths, (std::vector<fs::path>{"/home/u/work"}));
  EXPECT_EQ(work.commands, (std::vector<std::string>{"git"}));
  EXPECT_EQ(work.limits, (std::map<std::string, uint64_t>{{"wall_time_ms", 600000}}));
  EXPECT_TRUE(plain.limits.empty());
  EXPECT_TRUE(FileGrantsFor(*file, "other", std::nullopt).empty());

  auto again = ParseGrantFile(GrantFileToToml(*file), "again");
  ASSERT_TRUE(again) << again.error().message << "\n" << GrantFileToToml(*file);
  EXPECT_EQ(again->entries, file->entries);
  EXPECT_EQ(again->index_url, file->index_url);
}

TEST(GrantFileTest, ErrorsNameFileLineAndKey) {
  struct Case {
    std::string_view text;
    std::string_view expect;
  };
  const Case cases[] = {
      {"[skills.x]\nexec = [\"rm\"]\n", "/h/grants.toml:2: skills.x.exec: unknown key"},
      {"[skills.\"Bad Name\"]\n", "skills.Bad Name: 'Bad Name' is not a skill name"},
      {"[skills.x]\nwrite = [\"relative\"]\n", "/h/grants.toml:2: skills.x.write[0]: "},
      {"[skills.x]\ncommands = \"git\"\n", "expected an array of strings, got string"},
      {"version = 2\n", "version: expected 1"},
      {"[python]\nindex = \"x\"\n", "python.index: unknown key"},
      {"extra = 1\n", "extra: unknown key"},
      {"[skills.x\n", "/h/grants.toml:1:"},
      {"[skills.x.limits]\nmemory_mb = -1\n", "skills.x.limits.memory_mb: expected a positive"},
      {"[skills.x.limits]\ncpu = 5\n", "/h/grants.toml:2: skills.x.limits.cpu: unknown limit"},
  };
  for (const Case& c : cases) {
    auto file = ParseGrantFile(c.text, "/h/grants.toml");
    ASSERT_FALSE(file) << c.text;
    EXPECT_NE(file.error().message.find(c.expect), std::string::npos)
        << file.error().message << " / wanted " << c.expect;
  }
}

TEST(GrantFileTest, ReadRefusesAFileOthersCanChangeAndUpdateWritesPrivately) {
  TempDir tmp;
  const fs::path path = GrantFilePath(tmp.path());
  auto missing = ReadGrantFile(path);
  ASSERT_TRUE(missing) << missing.error().message;
  EXPECT_TRUE(missing->entries.empty());

  auto updated = UpdateGrantFile(path, [](GrantFile& file) -> Result<void> {
    file.entries["calc"].commands.push_back("bc");
    return {};
  });
  ASSERT_TRUE(updated) << updated.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto read = ReadGrantFile(path);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read->entries["calc"].commands, (std::vector<std::string>{"bc"}));

  // A failing edit writes nothing.
  auto failed = UpdateGrantFile(path, [](GrantFile& file) -> Result<void> {
    file.entries.clear();
    return Fail(ErrorCode::kInvalidArgument, "no");
  });
  EXPECT_FALSE(failed);
  EXPECT_EQ(ReadGrantFile(path)->entries.size(), 1u);

  ASSERT_EQ(::chmod(path.c_str(), 0620), 0);
  auto refused = ReadGrantFile(path);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kValidation);
  EXPECT_NE(refused.error().message.find("writable by group or others"), std::string::npos);
}

TEST(GrantFileTest, WidenedSinceLockComparesBySelector) {
  auto file = ParseGrantFile(kFile, "g");
  ASSERT_TRUE(file);
  const nlohmann::json locked = FileGrantsJson(*file, "pdf-tools");
  EXPECT_TRUE(locked.contains("pdf-tools@work"));
  EXPECT_TRUE(GrantsWidenedSinceLock(locked, *file, "pdf-tools").empty());

  GrantFile wider = *file;
  wider.entries["pdf-tools@work"].commands.push_back("make");
  EXPECT_EQ(GrantsWidenedSinceLock(locked, wider, "pdf-tools"),
            (std::vector<std::string>{"pdf-tools@work: command make"}));
  // Narrower is fine; everything is wider than an empty lock record.
  GrantFile narrower = *file;
  narrower.entries.erase("pdf-tools@work");
  EXPECT_TRUE(GrantsWidenedSinceLock(locked, narrower, "pdf-tools").empty());
  EXPECT_EQ(GrantsWidenedSinceLock(nlohmann::json::object(), *file, "pdf-tools").size(), 5u);
}

}  // namespace
}  // namespace skillrt
