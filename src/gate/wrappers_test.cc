#include "gate/wrappers.h"

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gate/shell_parse.h"

namespace skillrt::shell {
namespace {

// The argv of every simple command `script` runs.
std::vector<std::vector<std::string>> Commands(std::string_view script) {
  auto parsed = ParseShell(script);
  EXPECT_TRUE(parsed.has_value()) << script << ": " << parsed.error().message;
  std::vector<std::vector<std::string>> out;
  if (parsed) {
    for (const SimpleCommand& c : parsed->commands) out.push_back(c.argv);
  }
  return out;
}

bool Runs(std::string_view script, const std::vector<std::string>& argv) {
  for (const auto& c : Commands(script)) {
    if (c == argv) return true;
  }
  return false;
}

TEST(WrappersTest, EveryRowHasANameAndAReason) {
  std::set<std::string_view> names;
  for (const Wrapper& w : Wrappers()) {
    EXPECT_FALSE(w.name.empty());
    EXPECT_FALSE(w.reason.empty()) << w.name;
    EXPECT_TRUE(names.insert(w.name).second) << "duplicate row " << w.name;
    EXPECT_EQ(FindWrapper("/usr/bin/" + std::string(w.name)), &w);
  }
  EXPECT_EQ(FindWrapper("rm"), nullptr);
  EXPECT_TRUE(IsShell("/bin/dash"));
  EXPECT_FALSE(IsShell("env"));
}

// Each wrapper, spelled the ways its own option parser accepts, runs `rm -rf /srv/x`.
TEST(WrappersTest, TheWrappedCommandIsFoundWhateverTheOptions) {
  const std::vector<std::string> rm = {"rm", "-rf", "/srv/x"};
  for (std::string line : {
           "env rm -rf /srv/x",
           "env -i rm -rf /srv/x",
           "env -i A=1 B=2 rm -rf /srv/x",
           "env - rm -rf /srv/x",
           "env -- rm -rf /srv/x",
           "env -iu HOME rm -rf /srv/x",
           "env -u HOME -C / rm -rf /srv/x",
           "env --ignore-env --unset=HOME rm -rf /srv/x",
           "env --ch=/ rm -rf /srv/x",
           "env -0v rm -rf /srv/x",
           "nice rm -rf /srv/x",
           "nice -n 5 rm -rf /srv/x",
           "nice -n5 rm -rf /srv/x",
           "nice --adj=5 rm -rf /srv/x",
           "nice -5 rm -rf /srv/x",
           "nohup rm -rf /srv/x",
           "nohup -- rm -rf /srv/x",
           "timeout 5 rm -rf /srv/x",
           "timeout -s KILL -k 1 5 rm -rf /srv/x",
           "timeout --sig=KILL --foreground 5 rm -rf /srv/x",
           "stdbuf -oL -e 0 rm -rf /srv/x",
           "setsid -fw rm -rf /srv/x",
           "ionice -c 3 rm -rf /srv/x",
           "ionice -c3 -t rm -rf /srv/x",
           "taskset 0x1 rm -rf /srv/x",
           "taskset -c 0-1 rm -rf /srv/x",
           "sudo rm -rf /srv/x",
           "sudo -u root -H rm -rf /srv/x",
           "sudo -nE A=1 rm -rf /srv/x",
           "sudo --user=root --chdir / rm -rf /srv/x",
           "doas -u root rm -rf /srv/x",
           "command rm -rf /srv/x",
           "command -p rm -rf /srv/x",
           "exec rm -rf /srv/x",
           "exec -a name rm -rf /srv/x",
           "time rm -rf /srv/x",
           "time -p rm -rf /srv/x",
           "busybox rm -rf /srv/x",
           "watch -x rm -rf /srv/x",
           "watch -n 1 -- rm -rf /srv/x",
           "xargs rm -rf /srv/x",
           "xargs -0 -n 1 -P4 rm -rf /srv/x",
           "xargs --null --max-args=1 rm -rf /srv/x",
           "find . -exec rm -rf /srv/x \\;",
           "find -P . -execdir rm -rf /srv/x +",
           "sh -c 'rm -rf /srv/x'",
           "bash -euo pipefail -c 'rm -rf /srv/x'",
           "su -c 'rm -rf /srv/x' root",
           "su root --command='rm -rf /srv/x'",
           "nice -n 1 env -i timeout 9 sudo -u x rm -rf /srv/x",
       }) {
    EXPECT_TRUE(Runs(line, rm)) << line;
  }
}

TEST(WrappersTest, NoCommandWhenAnOptionSaysSo) {
  EXPECT_EQ(Commands("command -v rm").size(), 1u);
  EXPECT_EQ(Commands("sudo -e /etc/hosts").size(), 1u);
  EXPECT_EQ(Commands("sudo -l rm").size(), 1u);
  EXPECT_EQ(Commands("ionice -p 1234").size(), 1u);
  EXPECT_EQ(Commands("taskset -p 1 1234").size(), 1u);
  EXPECT_EQ(Commands("busybox --list").size(), 1u);
}

TEST(WrappersTest, OptionsTheGuardCannotFollowAreUnparsable) {
  for (std::string line : {
           "env -S 'rm -rf /'", "env -iS'rm -rf /'", "env --split-s='rm -rf /'",
           "env --bogus rm",
           "env --i rm",      // Ambiguous: --ignore-environment or --ignore-signal.
           "xargs --max rm",  // Ambiguous: --max-args, --max-chars, --max-lines, ...
           "nice --bogus rm", "sudo --bogus rm", "timeout -z 5 rm"}) {
    EXPECT_FALSE(ParseShell(line).has_value()) << line;
  }
}

TEST(WrappersTest, FindStartingPointsAndExpression) {
  FindArgs f = ReadFind({"find", "-H", "-L", "-P", "-D", "tree", "-O3", "/a", "b", "-name", "x"});
  EXPECT_EQ(f.roots, (std::vector<std::string>{"/a", "b"}));
  EXPECT_EQ(f.expression, 9u);
  f = ReadFind({"find", "-delete"});
  EXPECT_EQ(f.roots, std::vector<std::string>{"."});
  f = ReadFind({"find", "--", "/a", "(", "-name", "x", ")"});
  EXPECT_EQ(f.roots, std::vector<std::string>{"/a"});
  f = ReadFind({"find", "-files0-from", "list", "-delete"});
  EXPECT_TRUE(f.roots_from_file);
  EXPECT_TRUE(f.roots.empty());
}

TEST(WrappersTest, RunTimeOperandsAreRecorded) {
  auto parsed = ParseShell("find /srv -maxdepth 1 -execdir env rm -rf {} +");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  const SimpleCommand& rm = parsed->commands.back();
  ASSERT_EQ(rm.argv[0], "rm");
  ASSERT_TRUE(rm.run_time_operands.has_value());
  EXPECT_EQ(rm.run_time_operands->placeholder, "{}");
  EXPECT_EQ(rm.run_time_operands->roots, std::vector<std::string>{"/srv"});
  EXPECT_TRUE(rm.run_time_operands->in_found_directory);

  parsed = ParseShell("ls | xargs -I F rm -rf F");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  ASSERT_TRUE(parsed->commands.back().run_time_operands.has_value());
  EXPECT_EQ(parsed->commands.back().run_time_operands->placeholder, "F");

  parsed = ParseShell("ls | xargs rm -rf");
  ASSERT_TRUE(parsed.has_value());
  ASSERT_TRUE(parsed->commands.back().run_time_operands.has_value());
  EXPECT_TRUE(parsed->commands.back().run_time_operands->placeholder.empty());
  EXPECT_FALSE(parsed->commands.front().run_time_operands.has_value());
}

TEST(WrappersTest, FindNameFilterIsTheNameEveryFileReachingTheActionHas) {
  auto filter = [](std::vector<std::string> argv) -> std::optional<std::string> {
    argv.insert(argv.begin(), "find");
    const FindArgs find = ReadFind(argv);
    size_t action = find.expression;
    while (action < argv.size() && argv[action] != "-delete") ++action;
    auto name = FindNameFilter(argv, find.expression, action);
    if (!name) return std::nullopt;
    return (name->ignore_case ? "i:" : "") + name->pattern;
  };
  EXPECT_EQ(filter({"/d", "-name", "*.pyc", "-delete"}), "*.pyc");
  EXPECT_EQ(filter({"/d", "-iname", "*.PYC", "-delete"}), "i:*.PYC");
  EXPECT_EQ(filter({"/d", "-type", "f", "-a", "-name", "x", "-delete"}), "x");
  EXPECT_EQ(filter({"/d", "-name", "*", "-name", "x", "-delete"}), "x");
  EXPECT_EQ(filter({"/d", "-newer", "-o", "-name", "x", "-delete"}), "x");  // "-o" is a file.
  EXPECT_EQ(filter({"/d", "-exec", "t", "-o", ";", "-name", "x", "-delete"}), "x");
  EXPECT_EQ(filter({"/d", "-name", "x", "-delete", "-o", "-print"}), "x");
  for (std::vector<std::string> argv : std::vector<std::vector<std::string>>{
           {"/d", "-delete"},
           {"/d", "-type", "f", "-delete"},
           {"/d", "-path", "*.pyc", "-delete"},
           {"/d", "-name", "*", "-delete"},
           {"/d", "-name", ".*", "-delete"},
           {"/d", "-name", "[!.]*", "-delete"},
           {"/d", "-name", "$P", "-delete"},
           {"/d", "!", "-name", "x", "-delete"},
           {"/d", "-not", "-name", "x", "-delete"},
           {"/d", "-name", "x", "-o", "-delete"},
           {"/d", "-name", "x", "-or", "-delete"},
           {"/d", "-name", "x", ",", "-delete"},
           {"/d", "(", "-name", "x", ")", "-delete"},
           {"/d", "-delete", "-name", "x"},
           {"/d", "-newer", "-name", "x", "-delete"},  // "-name" is -newer's file.
       }) {
    EXPECT_EQ(filter(argv), std::nullopt) << argv[1] << " " << argv[2];
  }

  auto parsed = ParseShell("find /d -type d -name __pycache__ -exec rm -rf {} + -o -iname X "
                           "-exec rm {} +");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  ASSERT_EQ(parsed->commands.size(), 3u);
  EXPECT_EQ(parsed->commands[1].run_time_operands->name_pattern, "__pycache__");
  EXPECT_FALSE(parsed->commands[1].run_time_operands->name_ignores_case);
  EXPECT_TRUE(parsed->commands[2].run_time_operands->name_pattern.empty());  // After "-o".
}

TEST(WrappersTest, DirectoryChanges) {
  auto change = [](std::string_view script) -> std::optional<std::string> {
    auto parsed = ParseShell(script);
    EXPECT_TRUE(parsed.has_value()) << script;
    if (!parsed) return std::nullopt;
    return DirectoryChangeOf(parsed->commands.front());
  };
  EXPECT_EQ(change("cd /srv"), "/srv");
  EXPECT_EQ(change("cd -P -- /srv"), "/srv");
  EXPECT_EQ(change("cd"), "~");
  EXPECT_EQ(change("cd -"), "-");
  EXPECT_EQ(change("pushd /srv"), "/srv");
  EXPECT_EQ(change("pushd +1"), std::nullopt);
  EXPECT_EQ(change("popd"), std::nullopt);
  EXPECT_EQ(change("env -C /srv rm x"), "/srv");
  EXPECT_EQ(change("env --chdir=/srv rm x"), "/srv");
  EXPECT_EQ(change("sudo -D /srv rm x"), "/srv");
  EXPECT_EQ(change("ls /srv"), std::nullopt);
}

}  // namespace
}  // namespace skillrt::shell
