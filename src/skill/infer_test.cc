// Inference for skills without skill.toml: which interpreters the skill's files and SKILL.md
// need, which commands SKILL.md only mentions, and where each was found.
#include "skill/infer.h"

#include <sys/stat.h>

#include <algorithm>
#include <string>

#include <gtest/gtest.h>

#include "skill/interpreters.h"
#include "skillrt/skill.h"
#include "test_util.h"

namespace skillrt::infer {
namespace {

namespace fs = std::filesystem;
using ::skillrt::testing::TempDir;
using ::skillrt::testing::WriteFile;

std::vector<std::string> Names(const std::vector<InferredCommand>& commands) {
  std::vector<std::string> out;
  for (const InferredCommand& c : commands) out.push_back(c.command);
  return out;
}

const InferredCommand* Find(const std::vector<InferredCommand>& commands, std::string_view name) {
  auto it = std::find_if(commands.begin(), commands.end(),
                         [&](const InferredCommand& c) { return c.command == name; });
  return it == commands.end() ? nullptr : &*it;
}

void MakeExecutable(const fs::path& path) { ::chmod(path.c_str(), 0755); }

using V = std::vector<std::string>;

TEST(InferTest, FilesGrantTheirInterpreterFamilyWithTheFileAsSource) {
  TempDir tmp;
  WriteFile(tmp.path() / "scripts/fill.py", "print(1)\n");
  WriteFile(tmp.path() / "scripts/lib/util.sh", "echo\n");
  WriteFile(tmp.path() / "tools/run", "#!/usr/bin/env node\nconsole.log(1)\n");
  MakeExecutable(tmp.path() / "tools/run");
  // Not executable: its shebang is not how it runs.
  WriteFile(tmp.path() / "tools/plain", "#!/usr/bin/ruby\n");
  // Not the skill's own code, or not a standard interpreter.
  WriteFile(tmp.path() / "node_modules/x/index.js", "");
  WriteFile(tmp.path() / ".hidden/a.pl", "");
  WriteFile(tmp.path() / "tools/weird", "#!/opt/python3\n");
  MakeExecutable(tmp.path() / "tools/weird");
  fs::create_directories(tmp.path() / "elsewhere");
  WriteFile(tmp.path() / "elsewhere/x.rb", "");
  fs::create_symlink(tmp.path() / "elsewhere/x.rb", tmp.path() / "link.rb");
  fs::remove_all(tmp.path() / "elsewhere");

  Commands found = InferCommands(tmp.path(), "", 5);
  EXPECT_EQ(Names(found.script_commands), (V{"python3", "python", "bash", "sh", "node"}));
  EXPECT_TRUE(found.mentioned_commands.empty());
  const InferredCommand* python = Find(found.script_commands, "python");
  ASSERT_NE(python, nullptr);
  ASSERT_EQ(python->sources.size(), 1u);
  EXPECT_EQ(python->sources[0],
            (CommandSource{.file = "scripts/fill.py", .line = 0, .text = "extension .py"}));
  const InferredCommand* node = Find(found.script_commands, "node");
  ASSERT_NE(node, nullptr);
  EXPECT_EQ(node->sources[0],
            (CommandSource{.file = "tools/run", .line = 0, .text = "#!/usr/bin/env node"}));
}

TEST(InferTest, SkillMdCommandsThatRunTheSkillsFilesAreGranted) {
  TempDir tmp;
  WriteFile(tmp.path() / "scripts/extract.py", "");
  WriteFile(tmp.path() / "scripts/pkg/__main__.py", "");
  WriteFile(tmp.path() / "build.js", "");
  const std::string body =
      "# PDF\n"                                                    // 10
      "Run `python scripts/extract.py in.pdf` to extract.\n"       // 11
      "\n"                                                         // 12
      "```bash\n"                                                  // 13
      "cd work && python3 -u ~/.claude/skills/pdf/scripts/extract.py \\\n"  // 14
      "    --out x.txt | head -5\n"                                // 15
      "curl -s https://example.com/api\n"                         // 16
      "python3 -m scripts.pkg --fast\n"                            // 17
      "python3 -c 'import os'\n"                                   // 18
      "```\n"                                                      // 19
      "```\n"                                                      // 20
      "node {baseDir}/build.js\n"                                  // 21
      "rm -rf /\n"                                                 // 22
      "```\n"                                                      // 23
      "```python\n"                                                // 24
      "import subprocess; subprocess.run(['wget', 'x'])\n"         // 25
      "```\n"                                                      // 26
      "```console\n"                                               // 27
      "$ jq . data.json\n"                                         // 28
      "{\"output\": true}\n"                                      // 29
      "```\n";                                                     // 30
  Commands found = InferCommands(tmp.path(), body, 10);
  // In scan order: build.js, then scripts/.
  EXPECT_EQ(Names(found.script_commands), (V{"node", "python3", "python"}));
  const InferredCommand* python3 = Find(found.script_commands, "python3");
  ASSERT_NE(python3, nullptr);
  std::vector<int> lines;
  for (const CommandSource& s : python3->sources) lines.push_back(s.line);
  // The two files, then SKILL.md lines 11, 14 (continued on 15) and 17.
  EXPECT_EQ(lines, (std::vector<int>{0, 0, 11, 14, 17}));
  EXPECT_EQ(python3->sources[2].file, "SKILL.md");
  EXPECT_EQ(python3->sources[2].text, "python scripts/extract.py in.pdf");
  EXPECT_EQ(python3->sources[3].text,
            "cd work && python3 -u ~/.claude/skills/pdf/scripts/extract.py      --out x.txt | "
            "head -5");
  const InferredCommand* node = Find(found.script_commands, "node");
  ASSERT_NE(node, nullptr);
  EXPECT_EQ(node->sources.back().line, 21);

  // Everything else SKILL.md runs is only mentioned: in shell blocks every command, in
  // unmarked blocks and inline code only interpreters; nothing from a python block.
  EXPECT_EQ(Names(found.mentioned_commands), (V{"head", "curl", "python3", "jq"}));
  const InferredCommand* curl = Find(found.mentioned_commands, "curl");
  ASSERT_NE(curl, nullptr);
  EXPECT_EQ(curl->sources[0],
            (CommandSource{.file = "SKILL.md", .line = 16,
                           .text = "curl -s https://example.com/api"}));
  EXPECT_EQ(Find(found.mentioned_commands, "python3")->sources[0].line, 18);
  EXPECT_EQ(Find(found.mentioned_commands, "jq")->sources[0].line, 28);
}

TEST(InferTest, NothingIsGrantedForScriptsThatAreNotTheSkills) {
  TempDir tmp;
  WriteFile(tmp.path() / "SKILL.md", "");
  const std::string body =
      "Run `python3 /tmp/x.py` or `python3 missing.py` or `bash -c 'ls'`.\n"
      "```sh\n"
      "sudo python3 ../outside.py\n"
      "```\n";
  Commands found = InferCommands(tmp.path(), body, 4);
  EXPECT_TRUE(found.script_commands.empty());
  EXPECT_EQ(Names(found.mentioned_commands), (V{"python3", "bash", "sudo"}));
}

TEST(InferTest, ListsAreBounded) {
  TempDir tmp;
  std::string body = "```bash\n";
  for (int i = 0; i < 100; ++i) body += "tool" + std::to_string(i) + " x\n";
  for (int i = 0; i < 20; ++i) body += "tool0 again" + std::to_string(i) + "\n";
  body += "```\n";
  Commands found = InferCommands(tmp.path(), body, 1);
  EXPECT_EQ(found.mentioned_commands.size(), kMaxCommands);
  EXPECT_EQ(found.mentioned_commands[0].sources.size(), kMaxCommandSources);
}

TEST(InterpretersTest, OperandsAndShebangs) {
  using interpreters::FindOperand;
  using interpreters::Operand;
  const interpreters::Family& python = *interpreters::FamilyOfCommand("python3");
  EXPECT_EQ(interpreters::FamilyOfCommand("python"), &python);
  EXPECT_EQ(interpreters::FamilyOfCommand("/usr/bin/python3"), nullptr);
  EXPECT_EQ(interpreters::FamilyOfFile("a/b.py"), &python);
  EXPECT_EQ(interpreters::FamilyOfFile(".py"), nullptr);

  Operand file = FindOperand(python, {"python3", "-uB", "--", "x.py", "-c"});
  EXPECT_EQ(file.kind, Operand::Kind::kFile);
  EXPECT_EQ(file.index, 3u);
  Operand module = FindOperand(python, {"python", "-m", "pkg.tool", "x"});
  EXPECT_EQ(module.kind, Operand::Kind::kModule);
  EXPECT_EQ(module.index, 2u);
  EXPECT_EQ(FindOperand(python, {"python3", "-c", "1"}).kind, Operand::Kind::kRefused);
  EXPECT_EQ(FindOperand(python, {"python3", "-uc", "1"}).kind, Operand::Kind::kRefused);
  EXPECT_EQ(FindOperand(python, {"python3", "-W", "x", "a.py"}).kind, Operand::Kind::kRefused);
  EXPECT_EQ(FindOperand(python, {"python3", "-I", "-m", "json.tool"}).kind,
            Operand::Kind::kRefused);
  EXPECT_EQ(FindOperand(python, {"python3"}).kind, Operand::Kind::kRefused);
  EXPECT_EQ(FindOperand(python, {"python3", "-"}).kind, Operand::Kind::kRefused);
  const interpreters::Family& node = *interpreters::FamilyOfCommand("node");
  EXPECT_EQ(FindOperand(node, {"node", "--require", "x", "a.js"}).kind, Operand::Kind::kRefused);
  EXPECT_EQ(FindOperand(node, {"node", "-e", "1"}).kind, Operand::Kind::kRefused);

  EXPECT_EQ(interpreters::ModuleFiles("pkg.tool"), (V{"pkg/tool.py", "pkg/tool/__main__.py"}));
  EXPECT_TRUE(interpreters::ModuleFiles("../x").empty());
  EXPECT_TRUE(interpreters::ModuleFiles("a..b").empty());
  EXPECT_TRUE(interpreters::ModuleFiles("9a").empty());

  std::string command;
  EXPECT_EQ(interpreters::FamilyOfShebang("#!/usr/bin/env -S python3 -u", &command), &python);
  EXPECT_EQ(command, "python3");
  EXPECT_NE(interpreters::FamilyOfShebang("#! /bin/bash -e", &command), nullptr);
  EXPECT_EQ(command, "bash");
  EXPECT_EQ(interpreters::FamilyOfShebang("#!/home/me/bin/python3", &command), nullptr);
  EXPECT_EQ(interpreters::FamilyOfShebang("#!/usr/bin/env ./python3", &command), nullptr);
  EXPECT_EQ(interpreters::FamilyOfShebang("#!/usr/bin/zsh", &command), nullptr);
  EXPECT_EQ(interpreters::FamilyOfShebang("# not a shebang", &command), nullptr);
}

TEST(InferTest, LoadSkillInfersOnlyWithoutSkillToml) {
  TempDir tmp;
  fs::path dir = tmp.path() / "pdf";
  WriteFile(dir / "SKILL.md",
            "---\nname: pdf\ndescription: d\n---\nRun `python scripts/x.py`.\n");
  WriteFile(dir / "scripts/x.py", "");
  auto inferred = LoadSkill(dir);
  ASSERT_TRUE(inferred.has_value()) << inferred.error().ToString();
  EXPECT_EQ(Names(inferred->manifest.script_commands), (V{"python3", "python"}));
  EXPECT_EQ(inferred->manifest.script_commands[0].sources.back(),
            (CommandSource{.file = "SKILL.md", .line = 5, .text = "python scripts/x.py"}));
  EXPECT_TRUE(inferred->manifest.capabilities.commands.empty());

  WriteFile(dir / "skill.toml", "[entry]\nargv = [\"python3\", \"scripts/x.py\"]\n");
  auto declared = LoadSkill(dir);
  ASSERT_TRUE(declared.has_value()) << declared.error().ToString();
  EXPECT_TRUE(declared->manifest.script_commands.empty());
  EXPECT_TRUE(declared->manifest.mentioned_commands.empty());
}

}  // namespace
}  // namespace skillrt::infer
