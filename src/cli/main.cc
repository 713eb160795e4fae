// skillrt: run AI-agent skills in a sandbox. Parses the command line (CLI11) and dispatches to
// the commands in this directory; docs/cli.md is the reference.
#include <cstdio>
#include <deque>
#include <exception>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/agent_commands.h"
#include "cli/cli.h"
#include "cli/daemon.h"
#include "cli/service_commands.h"
#include "cli/build_command.h"
#include "cli/search_commands.h"

namespace skillrt::cli {
namespace {

// The global flags as given to one App (the top level or one command).
struct GlobalFlags {
  std::vector<std::string> skill_roots;
  std::string home;
  bool quiet = false;
  std::string policy;
};

void AddGlobalFlags(CLI::App* app, GlobalFlags* flags) {
  app->add_option("--skills", flags->skill_roots,
                  "Directory to search for skills (repeatable); searched before $SKILLRT_PATH "
                  "and $SKILLRT_HOME/skills")
      // One directory per flag, so that `run --skills A x` does not swallow `x`.
      ->allow_extra_args(false);
  app->add_option("--home", flags->home,
                  "State directory (default: $SKILLRT_HOME, else ~/.skillrt)");
  app->add_flag("-q,--quiet", flags->quiet, "Print only results and errors");
  app->add_option("--policy", flags->policy,
                  "Policy file read instead of ./.skillrt/policy.toml (after "
                  "$SKILLRT_HOME/policy.toml); see docs/policy.md");
}

void AddRunFlags(CLI::App* command, RunFlags* flags) {
  command->add_option("SKILL", flags->skill,
                      "Skill name or path to a skill directory, optionally @INSTANCE")
      ->required();
  command->add_flag("--json", flags->json, "Print one JSON object describing the outcome");
  command->add_option("--timeout", flags->timeout_seconds,
                      "Wall-clock limit in seconds (decimals allowed); may only lower the "
                      "manifest's limits.wall_time_ms");
  command->add_option("--memory", flags->memory_mb,
                      "Memory limit in MB; may only lower the manifest's limits.memory_mb");
  command->add_option("--sandbox", flags->sandbox,
                      "strict (default): every isolation layer or nothing runs; best-effort: "
                      "skip optional layers (Landlock, cgroups) the host lacks");
  AddGrantFlags(command, &flags->grants, /*with_python=*/false);
  command->add_option("--workspace", flags->workspace,
                      "Directory the skill may read and write, at its own path, as its working "
                      "directory; its new files belong to the directory's owner (native "
                      "skills; docs/sandbox.md)");
}

CLI::App* AddRunCommand(CLI::App* app, RunCommand* run) {
  CLI::App* cmd = app->add_subcommand("run", "Run a skill's entry point with a JSON input");
  AddRunFlags(cmd, &run->flags);
  cmd->add_option("--input", run->input,
                  "Input JSON: literal text, @FILE to read a file, or - for stdin "
                  "(default: {})");
  return cmd;
}

CLI::App* AddExecCommand(CLI::App* app, ExecCommand* exec) {
  CLI::App* cmd =
      app->add_subcommand("exec", "Run a command allowed by the skill's manifest in its sandbox");
  AddRunFlags(cmd, &exec->flags);
  cmd->add_option("ARGV", exec->argv, "The command and its arguments, after --");
  return cmd;
}

// Parses the command line into `app`; nullopt when the parse succeeded, else the exit code
// (help printed, or the error).
std::optional<int> Parse(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    PrintError(e.what());
    return kExitUsage;
  }
  return std::nullopt;
}

// The global flags of every App, merged: the top level first, then the command's.
GlobalOptions MergeGlobals(const std::deque<GlobalFlags>& flag_sets) {
  GlobalOptions global;
  for (const GlobalFlags& set : flag_sets) {
    for (const std::string& root : set.skill_roots) global.skill_roots.emplace_back(root);
    if (!set.home.empty()) global.home = set.home;
    global.quiet = global.quiet || set.quiet;
    if (!set.policy.empty()) global.policy_file = set.policy;
  }
  return global;
}

// `run` or `exec` when the command line names one of them, before any other word that is not
// a global flag (or its value); empty otherwise. These two, which agents call on every turn,
// are parsed by an App that holds only them: building every command's options costs about a
// millisecond, as much as the rest of skillrt's start.
std::string_view HotCommand(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view word = argv[i];
    if (word == "-q" || word == "--quiet") continue;
    if (word == "--skills" || word == "--home" || word == "--policy") {
      ++i;  // Its value, whatever it looks like.
      continue;
    }
    if (word.starts_with("--skills=") || word.starts_with("--home=") ||
        word.starts_with("--policy=")) {
      continue;
    }
    if (word == "run" || word == "exec") return word;
    return {};  // Another command, a flag of none of these, help: the whole command line.
  }
  return {};
}

// `run` and `exec`, parsed by an App that has only the one named (HotCommand) and the global
// flags: the same flags, help and errors as in the whole command line.
int MainHot(std::string_view command, int argc, char** argv) {
  CLI::App app{"skillrt: a secure runtime for AI-agent skills", "skillrt"};
  app.require_subcommand(1);
  std::deque<GlobalFlags> flag_sets;
  AddGlobalFlags(&app, &flag_sets.emplace_back());
  RunCommand run;
  ExecCommand exec;
  CLI::App* cmd = command == "run" ? AddRunCommand(&app, &run) : AddExecCommand(&app, &exec);
  AddGlobalFlags(cmd, &flag_sets.emplace_back());
  if (auto code = Parse(app, argc, argv)) return *code;
  const GlobalOptions global = MergeGlobals(flag_sets);
  return command == "run" ? RunSkill(global, run) : ExecInSkill(global, exec);
}

int Main(int argc, char** argv) {
  if (const std::string_view hot = HotCommand(argc, argv); !hot.empty()) {
    return MainHot(hot, argc, argv);
  }
  CLI::App app{"skillrt: a secure runtime for AI-agent skills", "skillrt"};
  app.require_subcommand(1);

  // The global flags are accepted before the command and after it (on every command), so
  // that `skillrt run --skills DIR x` works too. Each App gets its own copy; they are merged
  // after parsing.
  std::deque<GlobalFlags> flag_sets;
  AddGlobalFlags(&app, &flag_sets.emplace_back());

  RunCommand run;
  CLI::App* run_cmd = AddRunCommand(&app, &run);
  ExecCommand exec;
  CLI::App* exec_cmd = AddExecCommand(&app, &exec);

  bool list_json = false;
  CLI::App* list_cmd = app.add_subcommand("list", "List the skills found in the skill roots");
  list_cmd->add_flag("--json", list_json, "Print a JSON array");

  std::string info_skill;
  bool info_json = false;
  CLI::App* info_cmd = app.add_subcommand("info", "Show a skill's metadata and manifest");
  info_cmd->add_option("SKILL", info_skill, "Skill name or path, optionally @INSTANCE")
      ->required();
  info_cmd->add_flag("--json", info_json, "Print a JSON object");

  std::vector<std::string> validate_paths;
  bool validate_json = false;
  CLI::App* validate_cmd =
      app.add_subcommand("validate", "Check skills against the Agent Skills specification "
                                     "and the manifest schema");
  validate_cmd->add_option("PATH", validate_paths, "Skill directories, or directories of skills")
      ->required();
  validate_cmd->add_flag("--json", validate_json, "Print a JSON array");

  InstallFlags install;
  CLI::App* install_cmd = app.add_subcommand(
      "install", "Validate a skill and copy it into $SKILLRT_HOME/skills");
  install_cmd->add_option("PATH", install.path, "The skill directory to install")->required();
  install_cmd->add_flag("--force", install.force, "Replace an installed skill of the same name");
  install_cmd->add_flag("--lock", install.lock, "Also lock the installed skill");
  install_cmd->add_flag("!--no-prepare", install.prepare,
                        "Do not install the skill's Python dependencies");
  install_cmd->add_flag("--json", install.json, "Print a JSON object");

  LockFlags lock;
  CLI::App* lock_cmd = app.add_subcommand(
      "lock", "Record skills' tree hashes and grants in $SKILLRT_HOME/skills.lock (approve)");
  lock_cmd->add_option("SKILL", lock.skills,
                       "Skill names or paths (default: every skill found; with --check, every "
                       "locked skill)");
  lock_cmd->add_flag("--check", lock.check, "Report drift against the lock; change nothing");
  lock_cmd->add_flag("--remove", lock.remove, "Remove the named skills from the lock");
  lock_cmd->add_flag("--require", lock.require, "Refuse every skill that is not locked");
  lock_cmd->add_flag("--no-require", lock.no_require, "Let unlocked skills run again");
  lock_cmd->add_flag("--json", lock.json, "Print JSON");

  GrantCommandFlags grant;
  CLI::App* grant_cmd = app.add_subcommand(
      "grant", "Let a skill do more than its manifest declares, kept in $SKILLRT_HOME/grants.toml");
  grant_cmd->add_option("SKILL", grant.selector, "Skill name or path, optionally @INSTANCE");
  AddGrantFlags(grant_cmd, &grant.grants, /*with_python=*/true);
  grant_cmd->add_flag("--list", grant.list, "Show the grants (of SKILL, or all)");
  grant_cmd->add_flag("--json", grant.json, "Print JSON");

  GrantCommandFlags revoke;
  revoke.revoke = true;
  CLI::App* revoke_cmd = app.add_subcommand("revoke", "Take back grants given with `grant`");
  revoke_cmd->add_option("SKILL", revoke.selector, "Skill name or path, optionally @INSTANCE")
      ->required();
  AddGrantFlags(revoke_cmd, &revoke.grants, /*with_python=*/true);
  revoke_cmd->add_flag("--all", revoke.all, "Take back every grant of SKILL[@INSTANCE]");
  revoke_cmd->add_flag("--json", revoke.json, "Print JSON");

  PrepareFlags prepare;
  CLI::App* prepare_cmd = app.add_subcommand(
      "prepare", "Install a skill's Python dependencies into $SKILLRT_HOME/envs (outside the "
                 "sandbox, from your package index)");
  prepare_cmd->add_option("SKILL", prepare.skill, "Skill name or path, optionally @INSTANCE")
      ->required();
  prepare_cmd->add_option("--index-url", prepare.index_url,
                          "Package index to install from (default: grants.toml [python] "
                          "index_url, else the installer's configuration)");
  prepare_cmd->add_flag("--force", prepare.force, "Install again, replacing the environment");
  prepare_cmd->add_flag("--json", prepare.json, "Print a JSON object");

  BuildFlags build;
  CLI::App* build_cmd = app.add_subcommand(
      "build", "Build a Python or JavaScript skill into a WebAssembly component, compiled "
               "ahead of time (docs/wasm-languages.md)");
  AddBuildCommand(build_cmd, &build);

  ToolsFlags tools;
  CLI::App* tools_cmd = app.add_subcommand(
      "tools", "Print the skills as tool definitions for an LLM API or MCP (docs/tools.md)");
  tools_cmd->add_option("SKILL", tools.skills, "Only these skills (name or name@instance)");
  tools_cmd->add_option("--format", tools.format, "openai (default), responses, anthropic or mcp");
  tools_cmd->add_flag("--json", tools.json, "Print the definitions as a JSON array");

  McpFlags mcp;
  CLI::App* mcp_cmd = app.add_subcommand(
      "mcp", "Serve the skills to an MCP client over stdio, or Streamable HTTP (docs/mcp.md)");
  mcp_cmd->add_flag("--http", mcp.http, "Serve Streamable HTTP instead of stdio");
  mcp_cmd->add_option("--listen", mcp.listen,
                      "ADDR:PORT for --http (default 127.0.0.1:8765); a non-loopback address "
                      "requires a bearer token");
  mcp_cmd->add_option("--token-ref", mcp.token_ref,
                      "Bearer token for --http: env:NAME or file:PATH (default for a non-loopback "
                      "listen: one made under $SKILLRT_HOME and printed once)");
  mcp_cmd->add_option("--allow-origin", mcp.allowed_origins,
                      "An Origin allowed besides the loopback ones (repeatable)");
  mcp_cmd->add_option("--expose", mcp.expose,
                      "Offer this skill as a tool of its own (repeatable): SKILL (name or "
                      "name@instance) or TOOL=SKILL to choose the tool's name");
  mcp_cmd->add_option("--expose-all-max", mcp.expose_all_max,
                      "Offer every skill as a tool of its own when there are at most N (default "
                      "16; 0: never)");
  mcp_cmd->add_option("--page-size", mcp.page_size, "Tools per tools/list page (default 100)");
  mcp_cmd->add_option("--focus", mcp.focus,
                      "What the agents served are for: when not every skill fits the "
                      "instructions, name the best search matches for it first");
  mcp_cmd->add_flag("--elicit-approvals", mcp.elicit_approvals,
                    "Count the client's elicitation answers as approvals (recorded as "
                    "mcp-elicitation); off: asked calls are refused with their approval key");
  mcp_cmd->add_option("--prepared-sandboxes", mcp.prepared_sandboxes,
                      "Sandboxes kept prepared for native skills run before, a Python "
                      "script's with its interpreter initialised (default 4; 0: none; "
                      "docs/sandbox.md)")
      ->check(CLI::Range(size_t{0}, skillrt::kMaxPreparedSandboxes));

  DaemonFlags daemon;
  CLI::App* daemon_cmd = app.add_subcommand(
      "daemon", "Stay resident and run this user's `skillrt exec` calls made in this "
                "environment and directory, with sandboxes prepared ahead (docs/daemon.md)");
  daemon_cmd->add_option("--prepared-sandboxes", daemon.prepared_sandboxes,
                         "Sandboxes kept prepared for native skills run before (default 4; "
                         "0: none)")
      ->check(CLI::Range(size_t{0}, skillrt::kMaxPreparedSandboxes));
  daemon_cmd->add_option("--idle-exit", daemon.idle_exit_seconds,
                         "Stop after this many seconds without a call (default 0: stay until "
                         "signalled)")
      ->check(CLI::Range(0u, 31u * 24 * 3600));
  daemon_cmd->add_option("--log", daemon.log,
                         "Write the daemon's lines to FILE (made mode 600, emptied) instead of "
                         "stderr");

  AuditCommands audit(app.add_subcommand("audit", "Read, query and verify the audit log"));
  ServiceCommands service(&app);
  AgentCommands agent(&app);

  CLI::App* policy_cmd = app.add_subcommand("policy", "Inspect the policy");
  policy_cmd->require_subcommand(1);
  PolicyCheckCommand check;
  CLI::App* check_cmd = policy_cmd->add_subcommand(
      "check", "Print the policy's decision on a run (or, after --, an exec) and every rule "
               "that led to it; exit 0 allow, 6 ask, 3 deny");
  check_cmd->add_option("SKILL", check.skill, "Skill name, or path to a skill directory")
      ->required();
  check_cmd->add_option("ARGV", check.argv, "The exec command and its arguments, after --");
  check_cmd->add_flag("--json", check.json, "Print one JSON object");
  check_cmd->add_option("--sandbox", check.sandbox, "strict (default) or best-effort");
  AddGrantFlags(check_cmd, &check.grants, /*with_python=*/false);

  SearchFlags search;
  CLI::App* search_cmd =
      app.add_subcommand("search", "Find the skills that best match a task (docs/search.md)");
  AddSearchCommand(search_cmd, &search);
  IndexFlags index;
  CLI::App* index_cmd = app.add_subcommand(
      "index", "Bring the search index in $SKILLRT_HOME/index up to date with the skills");
  AddIndexCommand(index_cmd, &index);

  std::vector<CLI::App*> commands = {run_cmd,     exec_cmd,   list_cmd,    info_cmd,
                                     validate_cmd, install_cmd, lock_cmd,  check_cmd,
                                     grant_cmd,   revoke_cmd, prepare_cmd, tools_cmd, mcp_cmd,
                                     daemon_cmd};
  for (CLI::App* audit_sub : audit.subcommands()) commands.push_back(audit_sub);
  for (CLI::App* service_sub : service.subcommands()) commands.push_back(service_sub);
  for (CLI::App* agent_sub : agent.subcommands()) commands.push_back(agent_sub);
  commands.push_back(search_cmd);
  commands.push_back(index_cmd);
  commands.push_back(build_cmd);
  for (CLI::App* command : commands) AddGlobalFlags(command, &flag_sets.emplace_back());

  if (auto code = Parse(app, argc, argv)) return *code;
  const GlobalOptions global = MergeGlobals(flag_sets);

  if (*run_cmd) return RunSkill(global, run);
  if (*exec_cmd) return ExecInSkill(global, exec);
  if (*list_cmd) return ListSkills(global, list_json);
  if (*info_cmd) return ShowInfo(global, info_skill, info_json);
  if (*validate_cmd) return ValidatePaths(global, validate_paths, validate_json);
  if (*install_cmd) return InstallCommand(global, install);
  if (*lock_cmd) return LockCommand(global, lock);
  if (*check_cmd) return CheckPolicyCommand(global, check);
  if (*grant_cmd) return GrantCommand(global, grant);
  if (*revoke_cmd) return GrantCommand(global, revoke);
  if (*prepare_cmd) return PrepareCommand(global, prepare);
  if (*build_cmd) return BuildCommand(global, build);
  if (*tools_cmd) return ToolsCommand(global, tools);
  if (*mcp_cmd) return McpCommand(global, mcp);
  if (*daemon_cmd) return DaemonCommand(global, daemon);
  if (*search_cmd) return SearchCommand(global, search);
  if (*index_cmd) return IndexCommand(global, index);
  if (auto code = audit.Run(global)) return *code;
  if (auto code = service.Run(global)) return *code;
  if (auto code = agent.Run(global)) return *code;
  PrintError("no command given; see skillrt --help");
  return kExitUsage;
}

}  // namespace
}  // namespace skillrt::cli

int main(int argc, char** argv) {
  // Before anything else: the daemon checks this process while it parses its arguments.
  skillrt::cli::ConnectToDaemonEarly(argc, argv);
  try {
    return skillrt::cli::Main(argc, argv);
  } catch (const std::exception& e) {
    // Libraries below are wrapped; reaching here is a bug, reported as an internal error.
    skillrt::cli::PrintError(std::string("internal error: ") + e.what());
    return skillrt::cli::kExitInternal;
  }
}
