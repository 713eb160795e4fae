#include <sys/stat.h>
#include <utime.h>

#include <string>

#include <gtest/gtest.h>

#include "skill/frontmatter.h"
#include "skill/tree_hash.h"
#include "skillrt/skill.h"
#include "test_util.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using ::skillrt::testing::TempDir;
using ::skillrt::testing::WriteFile;

std::string Hash(const fs::path& dir) {
  auto h = HashSkillTree(dir);
  EXPECT_TRUE(h.has_value()) << h.error().ToString();
  return h.value_or("");
}

void MakeTree(const fs::path& root, bool reverse) {
  std::vector<std::pair<std::string, std::string>> files = {
      {"SKILL.md", "---\nname: s\n---\n"}, {"scripts/a.py", "print(1)\n"},
      {"scripts/b.py", "print(2)\n"},      {".hidden", "h"},
      {"data/x/y.txt", "deep"}};
  if (reverse) std::reverse(files.begin(), files.end());
  for (const auto& [path, content] : files) WriteFile(root / path, content);
}

TEST(TreeHashTest, DeterministicAndIndependentOfCreationOrderAndLocation) {
  TempDir a, b;
  MakeTree(a.path(), false);
  MakeTree(b.path(), true);
  std::string h = Hash(a.path());
  EXPECT_EQ(h.size(), 64u);
  EXPECT_EQ(h.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(h, Hash(a.path()));
  EXPECT_EQ(h, Hash(b.path()));
}

TEST(TreeHashTest, EveryRelevantChangeChangesIt) {
  TempDir tmp;
  const fs::path& d = tmp.path();
  MakeTree(d, false);
  std::string base = Hash(d);

  WriteFile(d / "scripts/a.py", "print(7)\n");  // Edit one byte.
  std::string edited = Hash(d);
  EXPECT_NE(edited, base);
  WriteFile(d / "scripts/a.py", "print(1)\n");
  EXPECT_EQ(Hash(d), base);

  fs::rename(d / "scripts/b.py", d / "scripts/c.py");  // Rename.
  EXPECT_NE(Hash(d), base);
  fs::rename(d / "scripts/c.py", d / "scripts/b.py");
  EXPECT_EQ(Hash(d), base);

  fs::permissions(d / "scripts/a.py", fs::perms::owner_exec, fs::perm_options::add);  // chmod +x
  EXPECT_NE(Hash(d), base);
  fs::permissions(d / "scripts/a.py", fs::perms::owner_exec, fs::perm_options::remove);
  EXPECT_EQ(Hash(d), base);

  WriteFile(d / "new.txt", "");  // Add an (empty) file.
  EXPECT_NE(Hash(d), base);
  fs::remove(d / "new.txt");
  EXPECT_EQ(Hash(d), base);

  fs::create_directory(d / "emptydir");  // Add an empty directory.
  EXPECT_NE(Hash(d), base);
  fs::remove(d / "emptydir");

  WriteFile(d / ".hidden", "H");  // Hidden files count.
  EXPECT_NE(Hash(d), base);
  WriteFile(d / ".hidden", "h");
  EXPECT_EQ(Hash(d), base);
}

TEST(TreeHashTest, MtimeAndGroupOtherBitsDoNotMatter) {
  TempDir tmp;
  MakeTree(tmp.path(), false);
  std::string base = Hash(tmp.path());
  struct utimbuf times {.actime = 1000, .modtime = 1000};
  ASSERT_EQ(::utime((tmp.path() / "scripts/a.py").c_str(), &times), 0);
  ASSERT_EQ(::utime((tmp.path() / "scripts").c_str(), &times), 0);
  EXPECT_EQ(Hash(tmp.path()), base);
  fs::permissions(tmp.path() / "scripts/b.py", fs::perms::group_write | fs::perms::others_read,
                  fs::perm_options::add);
  EXPECT_EQ(Hash(tmp.path()), base);
}

TEST(TreeHashTest, SymlinksAreHashedByTargetNotFollowed) {
  TempDir tmp, outside;
  fs::path d = tmp.path() / "skill";
  MakeTree(d, false);
  WriteFile(outside.path() / "secret", "one");
  fs::create_symlink(outside.path() / "secret", d / "link");
  fs::create_directory_symlink(outside.path(), d / "dirlink");
  std::string base = Hash(d);
  WriteFile(outside.path() / "secret", "two");  // The target's content is not part of it.
  WriteFile(outside.path() / "more", "x");
  EXPECT_EQ(Hash(d), base);
  fs::remove(d / "link");
  fs::create_symlink(outside.path() / "other", d / "link");  // A new target is.
  EXPECT_NE(Hash(d), base);
}

TEST(TreeHashTest, FileAndSymlinkWithSameTextDiffer) {
  TempDir a, b;
  WriteFile(a.path() / "x", "target");
  fs::create_symlink("target", b.path() / "x");
  EXPECT_NE(Hash(a.path()), Hash(b.path()));
}

TEST(TreeHashTest, ContentBoundariesAreUnambiguous) {
  TempDir a, b;
  WriteFile(a.path() / "a", "xy");
  WriteFile(a.path() / "b", "");
  WriteFile(b.path() / "a", "x");
  WriteFile(b.path() / "b", "y");
  EXPECT_NE(Hash(a.path()), Hash(b.path()));
}

TEST(TreeHashTest, LargeFilesAreStreamed) {
  TempDir tmp;
  WriteFile(tmp.path() / "big", std::string(3 << 20, 'z'));
  std::string h = Hash(tmp.path());
  WriteFile(tmp.path() / "big", std::string(3 << 20, 'z') + "!");
  EXPECT_NE(Hash(tmp.path()), h);
}

TEST(TreeHashTest, Errors) {
  TempDir tmp;
  auto missing = HashSkillTree(tmp.path() / "nope");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  if (::geteuid() != 0) {  // root reads through permission bits.
    fs::create_directories(tmp.path() / "locked");
    fs::permissions(tmp.path() / "locked", fs::perms::none);
    auto locked = HashSkillTree(tmp.path());
    EXPECT_FALSE(locked.has_value());
    fs::permissions(tmp.path() / "locked", fs::perms::owner_all);
  }
}

// A loaded skill's hash covers SKILL.md and skill.toml as they were read for loading, and is
// the tree hash of the directory as it is.
TEST(TreeHashTest, ALoadedSkillCarriesItsTreeHash) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "s";
  WriteFile(dir / "SKILL.md", "---\nname: s\ndescription: Says hi.\n---\n# s\n");
  WriteFile(dir / "skill.toml", "[capabilities]\ncommands = [\"echo\"]\n");
  WriteFile(dir / "scripts/run.sh", "echo hi\n");
  ::chmod((dir / "scripts/run.sh").c_str(), 0755);
  auto skill = LoadSkill(dir);
  ASSERT_TRUE(skill.has_value()) << skill.error().ToString();
  EXPECT_EQ(skill->tree_sha256, Hash(dir));
}

// Bytes already read are used for the file they were read from (same device and inode), and
// only for it: the digest is then that of the bytes read, whatever the file holds now; for an
// entry that is another file than the one read, the file on disk is hashed.
TEST(TreeHashTest, KnownBytesAreUsedOnlyForTheFileTheyWereReadFrom) {
  TempDir tmp;
  const fs::path& d = tmp.path();
  MakeTree(d, false);
  const std::string on_disk = Hash(d);
  auto read = frontmatter::ReadBoundedFileWithStat(d / "SKILL.md", 1 << 20);
  ASSERT_TRUE(read.has_value()) << read.error().ToString();
  const tree_hash::KnownFile known[] = {{.rel = "SKILL.md", .file = &*read}};
  auto same = tree_hash::Hash(d, known);
  ASSERT_TRUE(same.has_value()) << same.error().ToString();
  EXPECT_EQ(*same, on_disk);

  // Rewritten in place after it was read: the same inode, so the bytes read are hashed.
  WriteFile(d / "SKILL.md", "---\nname: t\n---\n");
  const std::string rewritten = Hash(d);
  ASSERT_NE(rewritten, on_disk);
  EXPECT_EQ(tree_hash::Hash(d, known).value_or(""), on_disk);

  // Replaced by another file (renamed over it: made while the old one existed, so another
  // inode) or by a link: what is on disk is hashed.
  WriteFile(d / "SKILL.md.new", "---\nname: u\n---\n");
  fs::rename(d / "SKILL.md.new", d / "SKILL.md");
  EXPECT_EQ(tree_hash::Hash(d, known).value_or(""), Hash(d));
  EXPECT_NE(Hash(d), on_disk);
  fs::remove(d / "SKILL.md");
  fs::create_symlink("scripts/a.py", d / "SKILL.md");
  EXPECT_EQ(tree_hash::Hash(d, known).value_or(""), Hash(d));
}

}  // namespace
}  // namespace skillrt
