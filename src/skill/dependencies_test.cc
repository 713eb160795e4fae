#include "skillrt/dependencies.h"

#include <gtest/gtest.h>

#include "skillrt/grants.h"
#include "skillrt/manifest.h"
#include "skillrt/skill.h"
#include "test_util.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using skillrt::testing::TempDir;
using skillrt::testing::WriteFile;

class DependenciesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path() / "tool";
    WriteFile(dir_ / "SKILL.md", "---\nname: tool\ndescription: A tool.\n---\nUse it.\n");
  }

  Result<PythonRequirements> Find(const GrantFile* grants = nullptr,
                                  std::optional<std::string> instance = std::nullopt) {
    auto skill = LoadSkill(dir_);
    if (!skill) return std::unexpected(skill.error());
    return FindPythonRequirements(*skill, grants, instance);
  }

  TempDir tmp_;
  fs::path dir_;
};

TEST_F(DependenciesTest, ManifestDeclarationComesFirst) {
  WriteFile(dir_ / "skill.toml",
            "[dependencies]\npython = [\"pypdf>=4\", \"openpyxl\"]\n");
  WriteFile(dir_ / "requirements.txt", "requests\n");
  auto found = Find();
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(found->requirements, (std::vector<std::string>{"openpyxl", "pypdf>=4"}));
  EXPECT_EQ(found->source, "skill.toml");
}

TEST_F(DependenciesTest, ManifestRefusesBadRequirementsAndOtherRuntimes) {
  auto bad = ParseManifest("[dependencies]\npython = [\"x @ https://evil.example/x.whl\"]\n",
                           "skill.toml", dir_);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("dependencies.python[0]: 'x @ https://"), std::string::npos)
      << bad.error().message;
  auto wasm = ParseManifest(
      "runtime = \"wasm\"\n[entry]\nargv = [\"m.wasm\"]\n[dependencies]\npython = [\"six\"]\n",
      "skill.toml", dir_);
  ASSERT_FALSE(wasm);
  EXPECT_NE(wasm.error().message.find("only the native runtime"), std::string::npos)
      << wasm.error().message;
  auto unknown = ParseManifest("[dependencies]\nnode = [\"left-pad\"]\n", "skill.toml", dir_);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("dependencies.node: unknown key"), std::string::npos);
}

TEST_F(DependenciesTest, RequirementsFileWithCommentsAndRefusedOptions) {
  WriteFile(dir_ / "requirements.txt",
            "# PDF work\npypdf>=4  # the reader\n\nopenpyxl\npypdf>=4\n");
  auto found = Find();
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(found->requirements, (std::vector<std::string>{"openpyxl", "pypdf>=4"}));
  EXPECT_EQ(found->source, "requirements.txt");

  WriteFile(dir_ / "requirements.txt", "pypdf\n--index-url https://evil.example/simple\n");
  auto refused = Find();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kValidation);
  EXPECT_NE(refused.error().message.find("requirements.txt:2: "), std::string::npos)
      << refused.error().message;
}

TEST_F(DependenciesTest, InlineScriptMetadata) {
  WriteFile(dir_ / "scripts/a.py",
            "#!/usr/bin/env python3\n"
            "# /// script\n"
            "# requires-python = \">=3.9\"\n"
            "# dependencies = [\n"
            "#   \"pypdf\",\n"
            "# ]\n"
            "# ///\n"
            "import pypdf\n");
  WriteFile(dir_ / "scripts/b.py", "# /// script\n# dependencies = [\"openpyxl<4\"]\n# ///\n");
  WriteFile(dir_ / "scripts/c.py", "print('no metadata')\n");
  // Not a block: a line without '#' ends it.
  WriteFile(dir_ / "scripts/d.py", "# /// script\nx = 1\n# dependencies = [\"evil\"]\n# ///\n");
  auto found = Find();
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(found->requirements, (std::vector<std::string>{"openpyxl<4", "pypdf"}));
  EXPECT_EQ(found->source, "script metadata (scripts/a.py, scripts/b.py)");

  WriteFile(dir_ / "scripts/b.py", "# /// script\n# dependencies = [\"-e .\"]\n# ///\n");
  auto refused = Find();
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("scripts/b.py:2: '-e .' is an installer option"),
            std::string::npos)
      << refused.error().message;
}

TEST_F(DependenciesTest, GrantsFileNamesThemOnlyWhenTheAuthorDidNot) {
  GrantFile grants;
  grants.entries["tool"].python = {"six"};
  grants.entries["tool@work"].python = {"attrs"};
  auto found = Find(&grants, "work");
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(found->requirements, (std::vector<std::string>{"attrs", "six"}));
  EXPECT_EQ(found->source, "grants file");
  EXPECT_FALSE(found->grants_ignored);

  WriteFile(dir_ / "requirements.txt", "pypdf\n");
  auto declared = Find(&grants, std::nullopt);
  ASSERT_TRUE(declared);
  EXPECT_EQ(declared->requirements, (std::vector<std::string>{"pypdf"}));
  EXPECT_TRUE(declared->grants_ignored);
}

TEST(PythonEnvironmentIdTest, DependsOnTheSetAndTheVersionOnly) {
  const std::string a = PythonEnvironmentId({"pypdf", "openpyxl"}, "3.11");
  EXPECT_EQ(a.size(), 64u);
  EXPECT_EQ(a, PythonEnvironmentId({"openpyxl", "pypdf", "pypdf"}, "3.11"));
  EXPECT_NE(a, PythonEnvironmentId({"openpyxl", "pypdf"}, "3.12"));
  EXPECT_NE(a, PythonEnvironmentId({"openpyxl"}, "3.11"));
}

TEST(PythonEnvironmentTest, UnpreparedIsNoEnvironment) {
  TempDir home;
  auto none = FindPythonEnvironment(home.path(), {});
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  auto python = FindSandboxPython();
  if (!python) GTEST_SKIP() << "no python3 for the sandbox: " << python.error().message;
  EXPECT_TRUE(python->version.starts_with("3.")) << python->version;
  auto missing = FindPythonEnvironment(home.path(), {"pypdf"});
  ASSERT_TRUE(missing) << missing.error().message;
  EXPECT_FALSE(*missing);
  auto empty = PreparePython(home.path(), {}, {});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace skillrt
