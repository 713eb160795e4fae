#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gate/shell_parse.h"
#include "skillrt/risk.h"

namespace skillrt {
namespace {

using Argvs = std::vector<std::vector<std::string>>;

// Every simple command's argv, in output order (bare redirections and assignments skipped).
Argvs Commands(std::string_view script) {
  auto parsed = ParseShell(script);
  EXPECT_TRUE(parsed.has_value()) << script << ": " << parsed.error().message;
  Argvs out;
  if (!parsed) return out;
  for (const SimpleCommand& c : parsed->commands) {
    if (!c.argv.empty()) out.push_back(c.argv);
  }
  return out;
}

struct Case {
  std::string script;
  Argvs commands;
};

TEST(ShellParseTest, FindsEverySimpleCommand) {
  const std::vector<Case> cases = {
      {"pytest", {{"pytest"}}},
      {"pytest -x tests/", {{"pytest", "-x", "tests/"}}},
      {"pytest && rm -rf /", {{"pytest"}, {"rm", "-rf", "/"}}},
      {"pytest&&rm -rf /", {{"pytest"}, {"rm", "-rf", "/"}}},
      {"pytest;rm -rf /", {{"pytest"}, {"rm", "-rf", "/"}}},
      {"a||b|c&d", {{"a"}, {"b"}, {"c"}, {"d"}}},
      {"a |& b", {{"a"}, {"b"}}},
      {"a\nb\n\nc", {{"a"}, {"b"}, {"c"}}},
      {"pytest $(rm -rf /)", {{"rm", "-rf", "/"}, {"pytest", "$(rm -rf /)"}}},
      {"pytest $(echo $(rm x))", {{"rm", "x"}, {"echo", "$(rm x)"}, {"pytest", "$(echo $(rm x))"}}},
      {"pytest `rm -rf /`", {{"rm", "-rf", "/"}, {"pytest", "`rm -rf /`"}}},
      {"echo \"`rm a`\"", {{"rm", "a"}, {"echo", "`rm a`"}}},
      {"echo \"$(rm a)\"", {{"rm", "a"}, {"echo", "$(rm a)"}}},
      {"echo '$(rm a)'", {{"echo", "$(rm a)"}}},
      {"'r'\"m\" -rf /", {{"rm", "-rf", "/"}}},
      {"r\\m -rf /", {{"rm", "-rf", "/"}}},
      {"$'\\x72\\x6d' -rf /", {{"rm", "-rf", "/"}}},
      {"FOO=1 BAR=\"x y\" pytest", {{"pytest"}}},
      {"(cd /tmp && rm -rf x)", {{"cd", "/tmp"}, {"rm", "-rf", "x"}}},
      {"{ a; b; }", {{"a"}, {"b"}}},
      {"! a | b", {{"a"}, {"b"}}},
      {"a # comment; rm -rf /", {{"a"}}},
      {"a#b", {{"a#b"}}},
      {"a 2>&1 >/dev/null", {{"a"}}},
      {"a &>log; b >>log 2>err", {{"a"}, {"b"}}},
      {"cat <<EOF\nrm -rf /\nEOF\nb", {{"cat"}, {"b"}}},
      {"cat <<EOF\n$(rm -rf /)\nEOF", {{"cat"}, {"rm", "-rf", "/"}}},
      {"cat <<'EOF'\n$(rm -rf /)\nEOF", {{"cat"}}},
      {"cat <<-EOF\n\t$(rm x)\n\tEOF\nb", {{"cat"}, {"rm", "x"}, {"b"}}},
      {"sh <<EOF\nrm -rf /\nEOF", {{"sh"}, {"rm", "-rf", "/"}}},
      {"bash <<< 'rm -rf /'", {{"bash"}, {"rm", "-rf", "/"}}},
      {"sh -c 'a && b'", {{"sh", "-c", "a && b"}, {"a"}, {"b"}}},
      {"bash -lc \"a;b\"", {{"bash", "-lc", "a;b"}, {"a"}, {"b"}}},
      {"bash -o pipefail -ec 'a|b'", {{"bash", "-o", "pipefail", "-ec", "a|b"}, {"a"}, {"b"}}},
      {"sh -c \"sh -c 'rm x'\"", {{"sh", "-c", "sh -c 'rm x'"}, {"sh", "-c", "rm x"}, {"rm", "x"}}},
      {"env -i FOO=1 rm x", {{"env", "-i", "FOO=1", "rm", "x"}, {"rm", "x"}}},
      {"/usr/bin/env rm x", {{"/usr/bin/env", "rm", "x"}, {"rm", "x"}}},
      {"xargs -0 -n1 rm", {{"xargs", "-0", "-n1", "rm"}, {"rm"}}},
      {"xargs", {{"xargs"}, {"echo"}}},
      {"find . -name x -exec rm -rf {} \\;", {{"find", ".", "-name", "x", "-exec", "rm", "-rf",
                                               "{}", ";"},
                                              {"rm", "-rf", "{}"}}},
      {"find . -execdir sh -c 'rm y' \\; -ok b {} +",
       {{"find", ".", "-execdir", "sh", "-c", "rm y", ";", "-ok", "b", "{}", "+"},
        {"sh", "-c", "rm y"},
        {"rm", "y"},
        {"b", "{}"}}},
      {"nice -n 5 nohup timeout -s KILL 10 rm x",
       {{"nice", "-n", "5", "nohup", "timeout", "-s", "KILL", "10", "rm", "x"},
        {"nohup", "timeout", "-s", "KILL", "10", "rm", "x"},
        {"timeout", "-s", "KILL", "10", "rm", "x"},
        {"rm", "x"}}},
      {"sudo -u root rm x", {{"sudo", "-u", "root", "rm", "x"}, {"rm", "x"}}},
      {"command rm x", {{"command", "rm", "x"}, {"rm", "x"}}},
      {"exec rm x", {{"exec", "rm", "x"}, {"rm", "x"}}},
      {"time rm x", {{"time", "rm", "x"}, {"rm", "x"}}},
      {"su -c 'rm x' root", {{"su", "-c", "rm x", "root"}, {"rm", "x"}}},
      {"a \\\n && b", {{"a"}, {"b"}}},
      {"echo $((1 + 2 * 0x10))", {{"echo", "$((1 + 2 * 0x10))"}}},
      {"echo ${HOME:-$(rm x)}", {{"rm", "x"}, {"echo", "${HOME:-$(rm x)}"}}},
      {"rm -rf \"$HOME\"/x", {{"rm", "-rf", "$HOME/x"}}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Commands(c.script), c.commands) << c.script;
  }
}

TEST(ShellParseTest, RecordsOperatorsPipelinesAndContext) {
  auto parsed = ParseShell("curl -s x | sudo bash; a && b || c &");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  const auto& cmds = parsed->commands;
  ASSERT_EQ(cmds.size(), 6u);
  EXPECT_EQ(cmds[0].next, Connector::kPipe);
  EXPECT_EQ(cmds[0].pipeline, cmds[2].pipeline);
  EXPECT_EQ(cmds[0].stage, 0);
  EXPECT_EQ(cmds[1].argv[0], "sudo");
  EXPECT_EQ(cmds[2].argv[0], "bash");
  EXPECT_EQ(cmds[2].stage, 1);
  EXPECT_EQ(cmds[2].context, "sudo");
  EXPECT_EQ(cmds[2].depth, 1);
  EXPECT_EQ(cmds[3].next, Connector::kAnd);
  EXPECT_EQ(cmds[4].next, Connector::kOr);
  EXPECT_EQ(cmds[5].next, Connector::kBackground);
  EXPECT_EQ(cmds[3].pipeline, -1);

  parsed = ParseShell("echo $(sh -c 'rm x')");
  ASSERT_TRUE(parsed.has_value());
  ASSERT_EQ(parsed->commands.size(), 3u);
  EXPECT_EQ(parsed->commands[1].argv[0], "rm");
  EXPECT_EQ(parsed->commands[1].context, "$(...) > sh -c");
  EXPECT_EQ(parsed->commands[1].depth, 2);
}

TEST(ShellParseTest, RecordsRedirectionsAndHereDocuments) {
  auto parsed = ParseShell("a 2>&1 >>out <in &>all; cat <<-'E' >f\n\tbody $x\n\tE\n");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  ASSERT_EQ(parsed->commands.size(), 2u);
  const auto& r = parsed->commands[0].redirections;
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].fd, 2);
  EXPECT_EQ(r[0].op, ">&");
  EXPECT_EQ(r[0].target, "1");
  EXPECT_EQ(r[1].op, ">>");
  EXPECT_EQ(r[1].target, "out");
  EXPECT_EQ(r[2].op, "<");
  EXPECT_EQ(r[3].op, "&>");
  const auto& h = parsed->commands[1].redirections;
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].op, "<<-");
  EXPECT_EQ(h[0].target, "body $x\n");
  EXPECT_EQ(h[1].target, "f");
}

TEST(ShellParseTest, FunctionDefinitionsAreRecorded) {
  auto parsed = ParseShell(":(){ :|:& };:");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->functions, std::vector<std::string>{":"});
  ASSERT_GE(parsed->commands.size(), 3u);
  EXPECT_EQ(parsed->commands[0].context, "function : > {...}");
}

TEST(ShellParseTest, UnparsableInputsAreErrors) {
  const std::vector<std::string> cases = {
      "echo 'unterminated",
      "echo \"unterminated",
      "echo $(unterminated",
      "echo `unterminated",
      "echo ${unterminated",
      "(a",
      "a)",
      "{ a; ",
      "a &&",
      "| a",
      "a ;; b",
      "eval 'rm -rf /'",
      "x=rm; $x -rf /",
      "$CMD",
      "${CMD} x",
      "$(echo rm) -rf /",
      "`echo rm` -rf /",
      "/bin/r? -rf /",
      "cat <(curl x)",
      "diff >(a) b",
      "echo $((x + 1))",
      "echo $((a[$(rm x)]))",
      "((x++))",
      "if true; then rm x; fi",
      "for f in *; do rm $f; done",
      "while true; do a; done",
      "case x in a) b;; esac",
      "[[ -f x ]]",
      "echo ${!ref}",
      "echo ${x/a/b}",
      "echo ${x@P}",
      "{rm,-rf,/}",
      "rm -rf {/,x}",
      "sh -c \"$SCRIPT\"",
      "bash -c \"pytest && $(curl x)\"",
      "env -S 'rm -rf /'",
      "xargs sh -c",
      "xargs -I{} sh -c '{}'",
      "xargs env",
      "xargs sh",
      "find . -exec rm {}",
      "find . -exec {} \\;",
      "cat <<EOF\nno end",
      "cat <<EOF",
      "sh <<EOF\n$X\nEOF",
      "bash <<< \"$X\"",
      "trap 'rm x' EXIT",
      "source ./x.sh",
      ". ./x.sh",
      "a=(1 2)",
      "echo \\$(rm a)",
      "$'\\u0072m' x",
      "sh -c 'sh -c \"eval x\"'",
      std::string(kMaxShellBytes + 1, 'a'),
  };
  for (const std::string& script : cases) {
    auto parsed = ParseShell(script);
    EXPECT_FALSE(parsed.has_value()) << "parsed: " << script.substr(0, 80);
    if (!parsed) {
      EXPECT_EQ(parsed.error().code, ErrorCode::kParse);
      EXPECT_TRUE(parsed.error().message.starts_with("unparsable: ")) << parsed.error().message;
    }
  }
  std::string with_nul("echo a\0b", 8);
  EXPECT_FALSE(ParseShell(with_nul).has_value());
}

TEST(ShellParseTest, NestingIsBounded) {
  std::string deep = "a";
  for (int i = 0; i < kMaxShellDepth + 2; ++i) deep = "$(echo " + deep + ")";
  EXPECT_FALSE(ParseShell("echo " + deep).has_value());
  std::string shallow = "a";
  for (int i = 0; i < 8; ++i) shallow = "$(echo " + shallow + ")";
  EXPECT_TRUE(ParseShell("echo " + shallow).has_value());

  std::string subshells = "a";
  for (int i = 0; i < kMaxShellDepth + 2; ++i) subshells = "( " + subshells + " )";
  EXPECT_FALSE(ParseShell(subshells).has_value());
}

TEST(ShellParseTest, ArgvIsUnwrappedWithoutShellInterpretation) {
  auto parsed = ParseArgv({"bash", "-c", "pytest && rm -rf /"});
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  ASSERT_EQ(parsed->commands.size(), 3u);
  EXPECT_EQ(parsed->commands[2].argv, (std::vector<std::string>{"rm", "-rf", "/"}));

  // Literal argv words are not shell syntax: "$(x)" is an argument, not a substitution.
  parsed = ParseArgv({"python3", "-c", "print('$(rm x)'); import os"});
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->commands.size(), 1u);

  parsed = ParseArgv({"env", "FOO=1", "rm", "-rf", "/"});
  ASSERT_TRUE(parsed.has_value());
  ASSERT_EQ(parsed->commands.size(), 2u);
  EXPECT_EQ(parsed->commands[1].assignments, std::vector<std::string>{"FOO=1"});
  EXPECT_EQ(parsed->commands[1].argv[0], "rm");

  EXPECT_FALSE(ParseArgv({"sh", "-c", "eval x"}).has_value());
  EXPECT_FALSE(ParseArgv({}).has_value());
}

TEST(ShellParseTest, LooksLikeShell) {
  EXPECT_FALSE(LooksLikeShell("pytest"));
  EXPECT_FALSE(LooksLikeShell("/usr/bin/python3"));
  EXPECT_TRUE(LooksLikeShell("pytest && rm -rf /"));
  EXPECT_TRUE(LooksLikeShell("pytest;rm"));
  EXPECT_TRUE(LooksLikeShell("pytest$(x)"));
  EXPECT_TRUE(LooksLikeShell("a|b"));
  EXPECT_TRUE(LooksLikeShell("a`b`"));
}

TEST(ShellParseTest, ShellSourceIsClassified) {
  auto source = [](std::string_view script) {
    auto parsed = ParseShell(script);
    EXPECT_TRUE(parsed.has_value()) << script;
    if (!parsed) return shell::ScriptSource::kNotAShell;
    for (const SimpleCommand& c : parsed->commands) {
      if (shell::IsShell(c.argv[0])) return shell::SourceOf(c);
    }
    return shell::SourceOf(parsed->commands.front());
  };
  EXPECT_EQ(source("bash -lc 'x'"), shell::ScriptSource::kString);
  EXPECT_EQ(source("sh script.sh"), shell::ScriptSource::kFile);
  EXPECT_EQ(source("sh < script.sh"), shell::ScriptSource::kFile);
  EXPECT_EQ(source("a | sh"), shell::ScriptSource::kStdin);
  EXPECT_EQ(source("a | sh -s"), shell::ScriptSource::kStdin);
  EXPECT_EQ(source("pytest"), shell::ScriptSource::kNotAShell);
}

}  // namespace
}  // namespace skillrt
