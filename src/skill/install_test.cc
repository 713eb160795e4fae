#include "skillrt/install.h"

#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "skillrt/skill.h"
#include "test_util.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using ::skillrt::testing::ReadFile;
using ::skillrt::testing::TempDir;
using ::skillrt::testing::WriteFile;

class InstallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    src_ = tmp_.path() / "src/tool";
    skills_ = tmp_.path() / "home/skills";
    WriteFile(src_ / "SKILL.md", "---\nname: tool\ndescription: A tool.\n---\n# Tool\n");
    WriteFile(src_ / "skill.toml", "[entry]\nargv = [\"bash\", \"scripts/run.sh\"]\n");
    WriteFile(src_ / "scripts/run.sh", "echo '{}'\n");
    fs::permissions(src_ / "scripts/run.sh", fs::perms::owner_exec, fs::perm_options::add);
    WriteFile(src_ / "data/a.txt", "a");
  }

  // Names in the skills directory, hidden ones included.
  std::vector<std::string> SkillsDirEntries() {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(skills_, ec)) {
      names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  TempDir tmp_;
  fs::path src_;
  fs::path skills_;
};

TEST_F(InstallTest, ValidSkillIsCopiedWithItsTreeHash) {
  auto installed = InstallSkill(src_, skills_);
  ASSERT_TRUE(installed.has_value()) << installed.error().ToString();
  EXPECT_EQ(installed->name, "tool");
  EXPECT_EQ(installed->dir, fs::canonical(skills_) / "tool");
  EXPECT_FALSE(installed->replaced);
  EXPECT_EQ(installed->tree_sha256, HashSkillTree(src_).value());
  EXPECT_EQ(ReadFile(skills_ / "tool/data/a.txt"), "a");
  struct stat st {};
  ASSERT_EQ(::stat((skills_ / "tool/scripts/run.sh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  ASSERT_EQ(::stat((skills_ / "tool/data/a.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  EXPECT_EQ(SkillsDirEntries(), std::vector<std::string>{"tool"});  // No staging left.
  EXPECT_TRUE(LoadSkill(skills_ / "tool").has_value());
}

TEST_F(InstallTest, InvalidSkillIsRefusedAndNothingIsLeft) {
  WriteFile(src_ / "skill.toml", "[limits]\nmemory_mb = \"lots\"\n");
  auto installed = InstallSkill(src_, skills_);
  ASSERT_FALSE(installed.has_value());
  EXPECT_EQ(installed.error().code, ErrorCode::kValidation);
  EXPECT_NE(installed.error().message.find("skill.toml:2: error: limits.memory_mb"),
            std::string::npos)
      << installed.error().message;
  EXPECT_TRUE(SkillsDirEntries().empty());

  WriteFile(src_ / "skill.toml", "");
  WriteFile(src_ / "SKILL.md", "---\nname: other\ndescription: x\n---\n# T\n");
  installed = InstallSkill(src_, skills_);
  ASSERT_FALSE(installed.has_value());
  EXPECT_NE(installed.error().message.find("does not match the directory name"),
            std::string::npos)
      << installed.error().message;
}

TEST_F(InstallTest, SymlinksMustStayInsideTheTree) {
  fs::create_symlink("data/a.txt", src_ / "inside");
  auto installed = InstallSkill(src_, skills_);
  ASSERT_TRUE(installed.has_value()) << installed.error().ToString();
  EXPECT_EQ(fs::read_symlink(skills_ / "tool/inside"), "data/a.txt");

  fs::create_symlink("../../../../../../../etc/passwd", src_ / "data/escape");
  installed = InstallSkill(src_, skills_, {.force = true});
  ASSERT_FALSE(installed.has_value());
  EXPECT_EQ(installed.error().code, ErrorCode::kDenied);
  EXPECT_NE(installed.error().message.find("data/escape: symlink to "), std::string::npos)
      << installed.error().message;
  EXPECT_NE(installed.error().message.find("leaves the skill directory"), std::string::npos);
  fs::remove(src_ / "data/escape");

  // Through a second link, and by absolute path into the tree itself.
  fs::create_symlink("..", src_ / "data/up");
  fs::create_symlink("up/../..", src_ / "data/upup");
  EXPECT_FALSE(InstallSkill(src_, skills_, {.force = true}).has_value());
  fs::remove(src_ / "data/upup");
  fs::remove(src_ / "data/up");
  fs::create_symlink(src_ / "data/a.txt", src_ / "abs");
  installed = InstallSkill(src_, skills_, {.force = true});
  ASSERT_FALSE(installed.has_value());
  EXPECT_NE(installed.error().message.find("absolute path"), std::string::npos);
  fs::remove(src_ / "abs");
  fs::create_symlink("nowhere", src_ / "dangling");
  EXPECT_FALSE(InstallSkill(src_, skills_, {.force = true}).has_value());
  EXPECT_EQ(SkillsDirEntries(), std::vector<std::string>{"tool"});
}

TEST_F(InstallTest, SpecialFilesAndOversizeTreesAreRefused) {
  ASSERT_EQ(::mkfifo((src_ / "data/fifo").c_str(), 0600), 0);
  auto installed = InstallSkill(src_, skills_);
  ASSERT_FALSE(installed.has_value());
  EXPECT_EQ(installed.error().code, ErrorCode::kDenied);
  EXPECT_NE(installed.error().message.find("data/fifo: special file"), std::string::npos);
  fs::remove(src_ / "data/fifo");

  WriteFile(src_ / "data/big.bin", std::string(2 << 20, 'x'));
  installed = InstallSkill(src_, skills_, {.max_bytes = 1 << 20});
  ASSERT_FALSE(installed.has_value());
  EXPECT_EQ(installed.error().code, ErrorCode::kValidation);
  installed = InstallSkill(src_, skills_, {.max_entries = 3});
  ASSERT_FALSE(installed.has_value());
  EXPECT_NE(installed.error().message.find("more than 3 entries"), std::string::npos);
  EXPECT_TRUE(SkillsDirEntries().empty());
}

TEST_F(InstallTest, ReplacingNeedsForceAndSwapsTheTree) {
  ASSERT_TRUE(InstallSkill(src_, skills_).has_value());
  WriteFile(src_ / "data/a.txt", "new");
  fs::remove(src_ / "scripts/run.sh");
  WriteFile(src_ / "scripts/run.sh", "echo new\n");
  auto again = InstallSkill(src_, skills_);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  EXPECT_NE(again.error().message.find("--force"), std::string::npos);
  EXPECT_EQ(ReadFile(skills_ / "tool/data/a.txt"), "a");

  auto forced = InstallSkill(src_, skills_, {.force = true});
  ASSERT_TRUE(forced.has_value()) << forced.error().ToString();
  EXPECT_TRUE(forced->replaced);
  EXPECT_EQ(ReadFile(skills_ / "tool/data/a.txt"), "new");
  EXPECT_EQ(forced->tree_sha256, HashSkillTree(skills_ / "tool").value());
  EXPECT_EQ(SkillsDirEntries(), std::vector<std::string>{"tool"});
}

}  // namespace
}  // namespace skillrt
