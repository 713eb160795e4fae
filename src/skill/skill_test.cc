#include "skillrt/skill.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "test_util.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using ::skillrt::testing::TempDir;
using ::skillrt::testing::WriteFile;

// Writes <root>/<dir>/SKILL.md with `frontmatter` between the `---` lines and returns the dir.
fs::path MakeSkill(const fs::path& root, const std::string& dir, const std::string& frontmatter,
                   const std::string& body = "# Instructions\nDo the thing.\n") {
  fs::path path = root / dir;
  WriteFile(path / "SKILL.md", "---\n" + frontmatter + "---\n" + body);
  return path;
}

std::string Basic(const std::string& name) {
  return "name: " + name + "\ndescription: Adds two numbers.\n";
}

// The diagnostics of `dir` that are errors, as "line field" strings, for compact checks.
std::vector<std::string> ErrorKeys(const std::vector<Diagnostic>& diags) {
  std::vector<std::string> out;
  for (const Diagnostic& d : diags) {
    if (d.severity == Diagnostic::Severity::kError) {
      out.push_back(std::to_string(d.line) + " " + d.field);
    }
  }
  return out;
}

TEST(SkillNameTest, FollowsTheSpecification) {
  EXPECT_TRUE(IsValidSkillName("pdf"));
  EXPECT_TRUE(IsValidSkillName("data-analysis-2"));
  EXPECT_TRUE(IsValidSkillName(std::string(64, 'a')));
  EXPECT_FALSE(IsValidSkillName(std::string(65, 'a')));
  EXPECT_FALSE(IsValidSkillName(""));
  EXPECT_FALSE(IsValidSkillName("PDF"));
  EXPECT_FALSE(IsValidSkillName("-pdf"));
  EXPECT_FALSE(IsValidSkillName("pdf-"));
  EXPECT_FALSE(IsValidSkillName("pdf--tools"));
  EXPECT_FALSE(IsValidSkillName("pdf_tools"));
  EXPECT_FALSE(IsValidSkillName("pdf tools"));
  EXPECT_FALSE(IsValidSkillName("caf\xC3\xA9"));
}

TEST(DiagnosticTest, ToStringOmitsAbsentParts) {
  Diagnostic d{.severity = Diagnostic::Severity::kError, .file = "/s/SKILL.md", .line = 3,
               .field = "name", .message = "bad"};
  EXPECT_EQ(d.ToString(), "/s/SKILL.md:3: error: name: bad");
  d.line = 0;
  d.field = "";
  d.severity = Diagnostic::Severity::kWarning;
  EXPECT_EQ(d.ToString(), "/s/SKILL.md: warning: bad");
}

TEST(LoadSkillTest, LoadsAValidSkill) {
  TempDir tmp;
  fs::path dir = MakeSkill(tmp.path(), "calc",
                           Basic("calc") +
                               "license: MIT\ncompatibility: Needs python3\n"
                               "metadata:\n  author: me\n  version: 1.0\n"
                               "allowed-tools: Bash(python3:*) Read\n");
  auto skill = LoadSkill(dir / "." / "");
  ASSERT_TRUE(skill.has_value()) << skill.error().ToString();
  EXPECT_EQ(skill->dir, fs::canonical(dir));
  EXPECT_EQ(skill->meta.name, "calc");
  EXPECT_EQ(skill->meta.description, "Adds two numbers.");
  EXPECT_EQ(skill->meta.license, "MIT");
  EXPECT_EQ(skill->meta.compatibility, "Needs python3");
  EXPECT_EQ(skill->meta.metadata.at("version"), "1.0");
  EXPECT_EQ(skill->meta.allowed_tools, (std::vector<std::string>{"Bash(python3:*)", "Read"}));
  EXPECT_EQ(skill->meta.body, "# Instructions\nDo the thing.\n");
  EXPECT_TRUE(skill->warnings.empty());
  EXPECT_TRUE(skill->manifest.inferred);
  EXPECT_FALSE(skill->manifest.entry.has_value());
  EXPECT_EQ(skill->manifest.capabilities.commands, (std::vector<std::string>{"python3"}));
  EXPECT_EQ(skill->tree_sha256, HashSkillTree(dir).value());
  EXPECT_EQ(skill->tree_sha256.size(), 64u);
  EXPECT_TRUE(ValidateSkill(dir).empty());
}

TEST(LoadSkillTest, LenientDeviationsBecomeWarnings) {
  TempDir tmp;
  fs::path dir = MakeSkill(tmp.path(), "calc",
                           Basic("calc") +
                               "version: 2\nallowed-tools:\n  - Read\n  - Bash(jq:*)\n");
  auto skill = LoadSkill(dir);
  ASSERT_TRUE(skill.has_value()) << skill.error().ToString();
  ASSERT_EQ(skill->warnings.size(), 2u);
  EXPECT_EQ(skill->warnings[0].field, "version");
  EXPECT_EQ(skill->warnings[0].line, 4);
  EXPECT_EQ(skill->warnings[0].severity, Diagnostic::Severity::kWarning);
  EXPECT_EQ(skill->warnings[1].field, "allowed-tools");
  EXPECT_EQ(skill->meta.allowed_tools, (std::vector<std::string>{"Read", "Bash(jq:*)"}));
  EXPECT_EQ(skill->manifest.capabilities.commands, (std::vector<std::string>{"jq"}));
  // The same deviations are errors when validating strictly.
  EXPECT_EQ(ErrorKeys(ValidateSkill(dir)), (std::vector<std::string>{"4 version",
                                                                     "5 allowed-tools"}));
}

TEST(LoadSkillTest, NameAndDescriptionProblemsAreErrors) {
  TempDir tmp;
  struct Case {
    std::string frontmatter;
    std::string expected;  // Suffix of the message after the file.
  };
  std::vector<Case> cases = {
      {"name: s\n", ":1: description: required key is missing"},
      {"name: caf\xC3\xA9\ndescription: d\n",
       ":2: name: 'caf\xC3\xA9' may only contain lower-case letters"},
      {"name: a/b\ndescription: d\n", ":2: name: 'a/b' may only contain lower-case letters"},
      {"name: " + std::string(65, 'a') + "\ndescription: d\n",
       ":2: name: is 65 characters long, at most 64 are allowed"},
      {"name:\ndescription: d\n", ":2: name: must not be empty"},
      {"name: [s]\ndescription: d\n", ":2: name: expected a string, got list"},
      {"name: s\ndescription: \"  \"\n", ":3: description: must not be empty"},
      {"name: s\ndescription: {a: b}\n", ":3: description: expected a string, got map"},
  };
  for (const Case& c : cases) {
    fs::path dir = MakeSkill(tmp.path(), "s", c.frontmatter);
    auto skill = LoadSkill(dir);
    ASSERT_FALSE(skill.has_value()) << c.frontmatter;
    EXPECT_EQ(skill.error().code, ErrorCode::kValidation);
    std::string expected_prefix = (fs::canonical(dir) / "SKILL.md").string() + c.expected;
    EXPECT_TRUE(skill.error().message.starts_with(expected_prefix))
        << skill.error().message << "\nwanted: " << expected_prefix;
  }
  fs::path ok = MakeSkill(tmp.path(), "s", "name: s\ndescription: " + std::string(1024, 'x') +
                                               "\n");
  EXPECT_TRUE(LoadSkill(ok).has_value());
  // A directory name that has no spec form cannot stand in for a missing name.
  fs::path unnamed = MakeSkill(tmp.path(), "caf\xC3\xA9", "description: d\n");
  auto skill = LoadSkill(unnamed);
  ASSERT_FALSE(skill.has_value());
  EXPECT_NE(skill.error().message.find(":1: name: required key is missing"), std::string::npos);
}

TEST(LoadSkillTest, LenientLoadingNormalisesNamesAndKeepsTheOriginal) {
  TempDir tmp;
  struct Case {
    std::string dir, written, normal;
  };
  std::vector<Case> cases = {
      {"pdf-tools", "PDF Tools", "pdf-tools"},
      {"PDF_Tools", "PDF_Tools", "pdf-tools"},
      {"x", "My__Great  Skill_", "my-great-skill"},
      {"data-2", "Data-2", "data-2"},
  };
  for (const Case& c : cases) {
    fs::path dir = MakeSkill(tmp.path(), c.dir, "name: " + c.written + "\ndescription: d\n");
    auto skill = LoadSkill(dir);
    ASSERT_TRUE(skill.has_value()) << c.written << ": " << skill.error().ToString();
    EXPECT_EQ(skill->meta.name, c.normal);
    EXPECT_EQ(skill->meta.display_name, c.written);
    ASSERT_FALSE(skill->warnings.empty()) << c.written;
    EXPECT_EQ(skill->warnings[0].field, "name");
    EXPECT_EQ(skill->warnings[0].line, 2);
    EXPECT_NE(skill->warnings[0].message.find("normalised to '" + c.normal + "'"),
              std::string::npos)
        << skill->warnings[0].message;
    // Only the case with a directory that does not normalise to the name warns twice.
    EXPECT_EQ(skill->warnings.size(), c.dir == "x" ? 2u : 1u) << c.written;
    // Strictly, the name is an error.
    EXPECT_EQ(ErrorKeys(ValidateSkill(dir)).front(), "2 name") << c.written;
  }
  fs::path plain = MakeSkill(tmp.path(), "plain", Basic("plain"));
  EXPECT_EQ(LoadSkill(plain)->meta.display_name, "plain");
}

TEST(LoadSkillTest, LenientLoadingNamesASkillWithoutNameAfterItsDirectory) {
  TempDir tmp;
  fs::path dir = MakeSkill(tmp.path(), "Web_Fetch", "description: Fetches pages.\n");
  auto skill = LoadSkill(dir);
  ASSERT_TRUE(skill.has_value()) << skill.error().ToString();
  EXPECT_EQ(skill->meta.name, "web-fetch");
  EXPECT_EQ(skill->meta.display_name, "Web_Fetch");
  ASSERT_EQ(skill->warnings.size(), 1u);
  EXPECT_EQ(skill->warnings[0].message,
            "required key is missing; the directory name 'web-fetch' is used");
  EXPECT_EQ(ErrorKeys(ValidateSkill(dir)), (std::vector<std::string>{"1 name"}));
}

TEST(LoadSkillTest, LenientLoadingKeepsALongDescriptionWhole) {
  TempDir tmp;
  // 1068 characters, some of them two bytes: the limit counts characters.
  std::string accents;
  for (int i = 0; i < 34; ++i) accents += "\xC3\xA9";
  std::string description = std::string(1000, 'x') + std::string(34, ' ') + accents;
  fs::path dir = MakeSkill(tmp.path(), "s", "name: s\ndescription: \"" + description + "\"\n");
  auto skill = LoadSkill(dir);
  ASSERT_TRUE(skill.has_value()) << skill.error().ToString();
  EXPECT_EQ(skill->meta.description, description);
  ASSERT_EQ(skill->warnings.size(), 1u);
  EXPECT_EQ(skill->warnings[0].field, "description");
  EXPECT_EQ(skill->warnings[0].message,
            "is 1068 characters long, at most 1024 are allowed (kept whole)");
  EXPECT_EQ(ErrorKeys(ValidateSkill(dir)), (std::vector<std::string>{"3 description"}));
}

TEST(LoadSkillTest, LenientLoadingKeepsNonStringMetadataAsText) {
  TempDir tmp;
  fs::path dir = MakeSkill(tmp.path(), "s",
                           Basic("s") +
                               "metadata:\n"                    // 4
                               "  version: 2\n"                 // 5
                               "  tags: [pdf, \"forms\"]\n"     // 6
                               "  owner: {team: docs, id: 7}\n" // 7
                               "  empty:\n");                   // 8
  auto skill = LoadSkill(dir);
  ASSERT_TRUE(skill.has_value()) << skill.error().ToString();
  EXPECT_EQ(skill->meta.metadata.at("version"), "2");
  EXPECT_EQ(skill->meta.metadata.at("tags"), "[\"pdf\",\"forms\"]");
  EXPECT_EQ(skill->meta.metadata.at("owner"), "{\"id\":\"7\",\"team\":\"docs\"}");
  EXPECT_EQ(skill->meta.metadata.at("empty"), "");
  ASSERT_EQ(skill->warnings.size(), 3u);
  EXPECT_EQ(skill->warnings[0].field, "metadata.tags");
  EXPECT_EQ(skill->warnings[0].line, 6);
  EXPECT_EQ(skill->warnings[0].message,
            "expected a string, got list; kept as the text [\"pdf\",\"forms\"]");
  EXPECT_EQ(skill->warnings[2].message, "expected a string, got null; kept as the text \"\"");
  EXPECT_EQ(ErrorKeys(ValidateSkill(dir)),
            (std::vector<std::string>{"6 metadata.tags", "7 metadata.owner", "8 metadata.empty"}));
}

TEST(LoadSkillTest, NameMustMatchDirectoryStrictly) {
  TempDir tmp;
  fs::path dir = MakeSkill(tmp.path(), "calc-dir", Basic("calc"));
  auto skill = LoadSkill(dir);
  ASSERT_TRUE(skill.has_value()) << skill.error().ToString();
  ASSERT_EQ(skill->warnings.size(), 1u);
  EXPECT_NE(skill->warnings[0].message.find("does not match the directory name 'calc-dir'"),
            std::string::npos);
  auto diags = ValidateSkill(dir);
  EXPECT_EQ(ErrorKeys(diags), (std::vector<std::string>{"2 name"}));
}

TEST(ValidateSkillTest, ReportsEveryViolationWithLines) {
  TempDir tmp;
  fs::path dir = MakeSkill(tmp.path(), "s",
                           "name: Bad--Name\n"                              // 2
                           "description: \"\"\n"                            // 3
                           "license: [MIT]\n"                               // 4
                           "compatibility: " + std::string(501, 'c') + "\n"  // 5
                           "metadata:\n  a: b\n  c: [1]\n"                  // 6-8
                           "allowed-tools: [Read]\n"                        // 9
                           "extra: 1\n",                                    // 10
                           "\n  \n");
  WriteFile(dir / "skill.toml", "runtime = \"jvm\"\n[limits]\nmemroy_mb = 1\n");
  auto diags = ValidateSkill(dir);
  EXPECT_EQ(ErrorKeys(diags),
            (std::vector<std::string>{"2 name", "3 description", "4 license", "5 compatibility",
                                      "8 metadata.c", "9 allowed-tools", "10 extra", "1 runtime",
                                      "3 limits.memroy_mb"}));
  int warnings = 0;
  for (const Diagnostic& d : diags) {
    if (d.severity == Diagnostic::Severity::kWarning) {
      ++warnings;
      EXPECT_NE(d.message.find("body"), std::string::npos);
    }
    if (d.field == "runtime") {
      EXPECT_EQ(d.file, fs::canonical(dir) / "skill.toml");
    }
    if (d.field == "name") {
      EXPECT_EQ(d.file, fs::canonical(dir) / "SKILL.md");
    }
  }
  EXPECT_EQ(warnings, 1);
}

TEST(ValidateSkillTest, MissingSkillMdAndDirectory) {
  TempDir tmp;
  fs::create_directories(tmp.path() / "empty");
  auto diags = ValidateSkill(tmp.path() / "empty");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "missing SKILL.md");
  auto none = ValidateSkill(tmp.path() / "nope");
  ASSERT_EQ(none.size(), 1u);
  EXPECT_EQ(none[0].severity, Diagnostic::Severity::kError);

  auto load = LoadSkill(tmp.path() / "empty");
  ASSERT_FALSE(load.has_value());
  EXPECT_EQ(load.error().code, ErrorCode::kNotFound);
  EXPECT_NE(load.error().message.find("no SKILL.md in"), std::string::npos);
  EXPECT_EQ(LoadSkill(tmp.path() / "nope").error().code, ErrorCode::kNotFound);
}

TEST(ValidateSkillTest, ManifestSyntaxErrorHasLine) {
  TempDir tmp;
  fs::path dir = MakeSkill(tmp.path(), "s", Basic("s"));
  WriteFile(dir / "skill.toml", "[limits]\nmemory_mb = \n");
  auto diags = ValidateSkill(dir);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].line, 2);
  EXPECT_EQ(diags[0].file.filename(), "skill.toml");
  EXPECT_NE(diags[0].message.find("column"), std::string::npos);
}

TEST(LoadSkillTest, UsesSkillToml) {
  TempDir tmp;
  fs::path dir = MakeSkill(tmp.path(), "s",
                           Basic("s") + "allowed-tools: Bash(git status)\n");
  WriteFile(dir / "scripts/a.py", "print(1)\n");
  WriteFile(dir / "skill.toml", "[entry]\nargv = [\"python3\", \"scripts/a.py\"]\n"
                                "[capabilities]\ncommands = [\"sort\"]\n");
  auto skill = LoadSkill(dir);
  ASSERT_TRUE(skill.has_value()) << skill.error().ToString();
  EXPECT_FALSE(skill->manifest.inferred);
  EXPECT_EQ(skill->manifest.entry->argv[1], "scripts/a.py");
  // An explicit commands list is not extended from allowed-tools.
  EXPECT_EQ(skill->manifest.capabilities.commands, (std::vector<std::string>{"sort"}));

  WriteFile(dir / "skill.toml", "[limits]\nmemory_mb = \"big\"\n");
  auto bad = LoadSkill(dir);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kValidation);
  EXPECT_NE(bad.error().message.find("skill.toml: limits.memory_mb: expected a positive integer"),
            std::string::npos);
}

TEST(LoadSkillTest, InfersEntryFromOneScript) {
  TempDir tmp;
  fs::path py = MakeSkill(tmp.path(), "py", Basic("py"));
  WriteFile(py / "scripts/calc.py", "");
  WriteFile(py / "scripts/README.md", "");
  WriteFile(py / "scripts/.hidden.py", "");
  auto a = LoadSkill(py);
  ASSERT_TRUE(a.has_value()) << a.error().ToString();
  ASSERT_TRUE(a->manifest.entry.has_value());
  EXPECT_EQ(a->manifest.entry->argv, (std::vector<std::string>{"python3", "scripts/calc.py"}));
  EXPECT_EQ(a->manifest.entry->input, InputMode::kStdin);
  EXPECT_EQ(a->manifest.entry->output, OutputMode::kJson);
  EXPECT_EQ(a->manifest.limits.memory_max_bytes, Limits{}.memory_max_bytes);
  EXPECT_TRUE(a->manifest.capabilities.read_paths.empty());

  fs::path sh = MakeSkill(tmp.path(), "sh", Basic("sh"));
  WriteFile(sh / "scripts/run.sh", "");
  EXPECT_EQ(LoadSkill(sh)->manifest.entry->argv,
            (std::vector<std::string>{"bash", "scripts/run.sh"}));

  fs::path two = MakeSkill(tmp.path(), "two", Basic("two"));
  WriteFile(two / "scripts/a.py", "");
  WriteFile(two / "scripts/b.sh", "");
  EXPECT_FALSE(LoadSkill(two)->manifest.entry.has_value());

  fs::path wasm = MakeSkill(tmp.path(), "wasm", Basic("wasm"));
  WriteFile(wasm / "scripts/mod.wasm", "\0asm");
  auto w = LoadSkill(wasm);
  ASSERT_TRUE(w.has_value()) << w.error().ToString();
  ASSERT_TRUE(w->manifest.entry.has_value());
  EXPECT_EQ(w->manifest.runtime, RuntimeKind::kWasm);
  EXPECT_EQ(w->manifest.entry->argv, (std::vector<std::string>{"scripts/mod.wasm"}));

  fs::path mixed = MakeSkill(tmp.path(), "mixed", Basic("mixed"));
  WriteFile(mixed / "scripts/mod.wasm", "\0asm");
  WriteFile(mixed / "scripts/run.py", "");
  EXPECT_FALSE(LoadSkill(mixed)->manifest.entry.has_value());

  fs::path none = MakeSkill(tmp.path(), "none", Basic("none"));
  EXPECT_FALSE(LoadSkill(none)->manifest.entry.has_value());
}

TEST(LoadSkillTest, SeedsCommandsFromAllowedTools) {
  TempDir tmp;
  fs::path dir = MakeSkill(tmp.path(), "s",
                           Basic("s") +
                               "allowed-tools: Bash(python3:*) Bash(python3 scripts/run.py:*) "
                               "Bash(git status) Read Grep Bash(*) Bash(../x:*) "
                               "Bash(/usr/bin/jq:*)\n");
  auto skill = LoadSkill(dir);
  ASSERT_TRUE(skill.has_value()) << skill.error().ToString();
  EXPECT_EQ(skill->meta.allowed_tools.size(), 8u);
  EXPECT_EQ(skill->manifest.capabilities.commands,
            (std::vector<std::string>{"python3", "git", "/usr/bin/jq"}));
}

TEST(LoadSkillTest, EmptyBodyIsAWarning) {
  TempDir tmp;
  fs::path dir = MakeSkill(tmp.path(), "s", Basic("s"), "");
  auto skill = LoadSkill(dir);
  ASSERT_TRUE(skill.has_value());
  ASSERT_EQ(skill->warnings.size(), 1u);
  EXPECT_NE(skill->warnings[0].message.find("body"), std::string::npos);
  auto diags = ValidateSkill(dir);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].severity, Diagnostic::Severity::kWarning);
}

// Hostile SKILL.md files: each must give a clear error quickly, without crashing.
class HostileSkillTest : public ::testing::Test {
 protected:
  // Loads and validates `content` as s/SKILL.md; returns the LoadSkill error message.
  std::string Reject(const std::string& content, ErrorCode code) {
    fs::path dir = tmp_.path() / "s";
    WriteFile(dir / "SKILL.md", content);
    auto start = std::chrono::steady_clock::now();
    auto skill = LoadSkill(dir);
    auto diags = ValidateSkill(dir);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
    EXPECT_FALSE(skill.has_value());
    EXPECT_FALSE(ErrorKeys(diags).empty());
    if (skill.has_value()) return "";
    EXPECT_EQ(skill.error().code, code) << skill.error().message;
    return skill.error().message;
  }
  TempDir tmp_;
};

TEST_F(HostileSkillTest, HugeFile) {
  std::string big = "---\n" + Basic("s") + "---\n" + std::string(2 << 20, 'x');
  EXPECT_NE(Reject(big, ErrorCode::kValidation).find("too large"), std::string::npos);
}

TEST_F(HostileSkillTest, HugeFrontmatter) {
  std::string fm = "---\n" + Basic("s");
  for (int i = 0; fm.size() < 70000; ++i) fm += "k" + std::to_string(i) + ": v\n";
  EXPECT_NE(Reject(fm + "---\nbody\n", ErrorCode::kParse).find("frontmatter is too large"),
            std::string::npos);
}

TEST_F(HostileSkillTest, BinaryContent) {
  std::string text = "---\n" + Basic("s") + "---\n";
  text += std::string("\x7f" "ELF\0\0\0", 7);
  EXPECT_NE(Reject(text, ErrorCode::kParse).find(":5: binary content"), std::string::npos);
}

TEST_F(HostileSkillTest, InvalidUtf8) {
  std::string text = "---\nname: s\ndescription: \xFF\xFE\n---\nbody\n";
  EXPECT_NE(Reject(text, ErrorCode::kParse).find("SKILL.md:3: invalid UTF-8"), std::string::npos);
}

TEST_F(HostileSkillTest, DeepNesting) {
  std::string text = "---\n" + Basic("s") + "x: " + std::string(10000, '[') + "\n---\n";
  EXPECT_NE(Reject(text, ErrorCode::kParse).find("nests deeper than 64"), std::string::npos);
}

TEST_F(HostileSkillTest, BillionLaughs) {
  std::string text = "---\n" + Basic("s") + "a0: &a0 [lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i < 10; ++i) {
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) text += (k ? ", *a" : "*a") + std::to_string(i - 1);
    text += "]\n";
  }
  text += "---\nbody\n";
  EXPECT_NE(Reject(text, ErrorCode::kParse).find("anchors and aliases are not allowed"),
            std::string::npos);
}

TEST_F(HostileSkillTest, DuplicateKeys) {
  std::string text = "---\nname: s\ndescription: a\ndescription: b\n---\nbody\n";
  EXPECT_NE(Reject(text, ErrorCode::kParse).find("SKILL.md:4: description: duplicate key"),
            std::string::npos);
}

TEST_F(HostileSkillTest, NonMappingAndUnclosed) {
  EXPECT_NE(Reject("---\n- a\n---\n", ErrorCode::kParse).find("must be a map"),
            std::string::npos);
  EXPECT_NE(Reject("---\nname: s\ndescription: d\n", ErrorCode::kParse).find("missing closing"),
            std::string::npos);
  EXPECT_NE(Reject("no frontmatter\n", ErrorCode::kParse).find("must start with"),
            std::string::npos);
  EXPECT_NE(Reject("", ErrorCode::kParse).find("must start with"), std::string::npos);
}

TEST_F(HostileSkillTest, SkillMdThatIsNotARegularFile) {
  fs::create_directories(tmp_.path() / "s");
  ASSERT_EQ(::mkfifo((tmp_.path() / "s/SKILL.md").c_str(), 0600), 0);
  auto skill = LoadSkill(tmp_.path() / "s");
  ASSERT_FALSE(skill.has_value());
  EXPECT_NE(skill.error().message.find("not a regular file"), std::string::npos);
  EXPECT_EQ(ValidateSkill(tmp_.path() / "s").size(), 1u);
}

}  // namespace
}  // namespace skillrt
