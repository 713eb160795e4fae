// `skillrt grant`, `skillrt revoke` and `skillrt prepare` (docs/grants.md,
// docs/dependencies.md), and the grant flags of `run`, `exec` and `policy check`.
#include <chrono>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/cli.h"
#include "skillrt/dependencies.h"
#include "skillrt/grants.h"
#include "skillrt/instance.h"
#include "skillrt/lock.h"

namespace skillrt::cli {
namespace {

namespace fs = std::filesystem;

std::string JoinList(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// "skill" or "skill@instance" with the skill named as the registry knows it (a path becomes
// its name). kNotFound for an unknown skill.
Result<std::string> CanonicalSelector(const Engine& engine, const std::string& text) {
  auto selector = ParseSkillSelector(text);
  if (!selector) return std::unexpected(selector.error());
  auto skill = engine.registry().Load(selector->skill);
  if (!skill) return std::unexpected(skill.error());
  return skill->meta.name + (selector->instance ? "@" + *selector->instance : "");
}

// One line per grant: "pdf-tools@work: command git; write /home/u/repo".
std::string DescribeGrants(const std::string& selector, const Grants& grants) {
  std::vector<std::string> parts;
  for (const std::string& c : grants.commands) parts.push_back("command " + c);
  for (const fs::path& p : grants.read_paths) parts.push_back("read " + p.string());
  for (const fs::path& p : grants.write_paths) parts.push_back("write " + p.string());
  for (const std::string& r : grants.python) parts.push_back("python " + r);
  for (const auto& [key, value] : grants.limits) {
    parts.push_back("limit " + key + "=" + std::to_string(value));
  }
  std::string text = selector + ":";
  for (size_t i = 0; i < parts.size(); ++i) text += (i ? "; " : " ") + parts[i];
  return text;
}

int Failed(const Error& error) {
  PrintError(error.message);
  return ExitCodeFor(error);
}

}  // namespace

void AddGrantFlags(CLI::App* command, GrantFlags* flags, bool with_python) {
  command->add_option("--allow-command", flags->commands,
                      "Also allow this command (a name or an absolute path; repeatable)")
      ->allow_extra_args(false);
  command->add_option("--read", flags->read,
                      "Also make this host path readable, at the same path (repeatable)")
      ->allow_extra_args(false);
  command->add_option("--write", flags->write,
                      "Also make this host path readable and writable, at the same path "
                      "(repeatable)")
      ->allow_extra_args(false);
  command->add_option("--limit", flags->limits,
                      "Raise a limit above the manifest's: KEY=VALUE in the manifest's keys and "
                      "units, e.g. wall_time_ms=600000 (repeatable)")
      ->allow_extra_args(false);
  if (with_python) {
    command->add_option("--python", flags->python,
                        "A Python requirement to prepare when the skill declares none "
                        "(repeatable)")
        ->allow_extra_args(false);
  }
}

Result<Grants> GrantsFromFlags(const GrantFlags& flags) {
  Grants grants;
  grants.commands = flags.commands;
  grants.python = flags.python;
  // Paths on the command line are the user's: relative ones are taken from where they stand.
  auto absolute = [](const std::string& text) -> Result<fs::path> {
    if (text.empty()) return Fail(ErrorCode::kInvalidArgument, "empty path");
    std::error_code ec;
    fs::path path = fs::absolute(text, ec);
    if (ec) return FailErrno(ErrorCode::kIo, "absolute(" + text + ")", ec.value());
    std::string normal = path.lexically_normal().string();
    while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
    return fs::path(normal);
  };
  for (const std::string& text : flags.limits) {
    const size_t eq = text.find('=');
    const std::string value = eq == std::string::npos ? "" : text.substr(eq + 1);
    if (eq == std::string::npos || value.empty() ||
        value.find_first_not_of("0123456789") != std::string::npos || value.size() > 19) {
      return Fail(ErrorCode::kInvalidArgument,
                  "--limit: expected KEY=VALUE with a positive integer VALUE, got '" + text + "'");
    }
    grants.limits[text.substr(0, eq)] = std::stoull(value);
  }
  for (const std::string& p : flags.read) {
    auto path = absolute(p);
    if (!path) return Fail(ErrorCode::kInvalidArgument, "--read: " + path.error().message);
    grants.read_paths.push_back(*path);
  }
  for (const std::string& p : flags.write) {
    auto path = absolute(p);
    if (!path) return Fail(ErrorCode::kInvalidArgument, "--write: " + path.error().message);
    grants.write_paths.push_back(*path);
  }
  return CheckGrants(grants, "grant");
}

int GrantCommand(const GlobalOptions& global, const GrantCommandFlags& command) {
  int exit_code = 0;
  std::unique_ptr<Engine> engine = OpenEngine(global, &exit_code);
  if (!engine) return exit_code;
  const fs::path file = GrantFilePath(engine->home());

  if (command.list || command.selector.empty()) {
    if (!command.list) {
      PrintError("grant: name a skill (SKILL or SKILL@INSTANCE), or --list");
      return kExitUsage;
    }
    auto grants = ReadGrantFile(file);
    if (!grants) return Failed(grants.error());
    std::string name_filter;
    if (!command.selector.empty()) {
      auto selector = CanonicalSelector(*engine, command.selector);
      if (!selector) return Failed(selector.error());
      name_filter = selector->substr(0, selector->find('@'));
    }
    nlohmann::json report = nlohmann::json::object();
    std::string text;
    for (const auto& [selector, entry] : grants->entries) {
      if (!name_filter.empty() && selector != name_filter &&
          !selector.starts_with(name_filter + "@")) {
        continue;
      }
      report[selector] = GrantsToJson(entry);
      text += DescribeGrants(selector, entry) + "\n";
    }
    if (command.json) {
      nlohmann::json out = {{"file", file.string()}, {"skills", report}};
      if (!grants->index_url.empty()) out["index_url"] = grants->index_url;
      WriteOut(Dump(out, 2) + "\n");
    } else {
      WriteOut(text.empty() ? "no grants in " + file.string() + "\n" : text);
    }
    return kExitOk;
  }

  auto selector = CanonicalSelector(*engine, command.selector);
  if (!selector) return Failed(selector.error());
  auto given = GrantsFromFlags(command.grants);
  if (!given) return Failed(given.error());
  if (given->empty() && !command.all) {
    PrintError(std::string(command.revoke ? "revoke" : "grant") +
               ": nothing given (--allow-command, --read, --write, --limit, --python" +
               (command.revoke ? ", or --all)" : ")"));
    return kExitUsage;
  }
  Grants result;
  auto updated = UpdateGrantFile(file, [&](GrantFile& grants) -> Result<void> {
    Grants& entry = grants.entries[*selector];
    if (command.revoke) {
      entry = command.all ? Grants{} : RemoveGrants(entry, *given);
    } else {
      entry = MergeGrants(entry, *given);
    }
    result = entry;
    if (entry.empty()) grants.entries.erase(*selector);
    return {};
  });
  if (!updated) return Failed(updated.error());
  if (command.json) {
    WriteOut(Dump({{"skill", *selector}, {"grants", GrantsToJson(result)}}, 2) + "\n");
  } else if (!global.quiet) {
    WriteOut(result.empty() ? *selector + ": no grants\n"
                            : DescribeGrants(*selector, result) + "\n");
    // A locked skill keeps what the lock recorded until the user approves the change.
    const std::string name = selector->substr(0, selector->find('@'));
    auto lock = ReadLockFile(LockFilePath(engine->home()));
    if (lock && lock->skills.contains(name) && !command.revoke) {
      WriteErr("skillrt: " + name + " is locked: runs are refused until `skillrt lock " + name +
               "` approves the widened grants\n");
    }
  }
  return kExitOk;
}

int PrepareCommand(const GlobalOptions& global, const PrepareFlags& flags) {
  int exit_code = 0;
  std::unique_ptr<Engine> engine = OpenEngine(global, &exit_code);
  if (!engine) return exit_code;
  auto selector = ParseSkillSelector(flags.skill);
  if (!selector) return Failed(selector.error());
  auto skill = engine->registry().Load(selector->skill);
  if (!skill) return Failed(skill.error());
  auto grants = ReadGrantFile(GrantFilePath(engine->home()));
  if (!grants) return Failed(grants.error());
  auto found = FindPythonRequirements(*skill, &*grants, selector->instance);
  if (!found) return Failed(found.error());
  if (found->requirements.empty()) {
    if (flags.json) {
      WriteOut(Dump({{"skill", skill->meta.name}, {"python", nullptr}}, 2) + "\n");
    } else if (!global.quiet) {
      WriteOut(skill->meta.name + ": no Python dependencies to prepare\n");
    }
    return kExitOk;
  }
  if (found->grants_ignored && !global.quiet) {
    WriteErr("skillrt: " + skill->meta.name + ": the grants file's python entry is not used: "
             "the skill declares its own (" + found->source + ")\n");
  }
  PrepareOptions options;
  options.force = flags.force;
  options.index_url = !flags.index_url.empty() ? flags.index_url : grants->index_url;
  auto prepared = PreparePython(engine->home(), found->requirements, options);
  nlohmann::json record = {
      {"event", "prepare"},
      {"skill", skill->meta.name},
      {"skill_dir", skill->dir.string()},
      {"tree_sha256", skill->tree_sha256},
      {"python", {{"requirements", found->requirements}, {"source", found->source}}},
      {"index_url", options.index_url.empty() ? nlohmann::json(nullptr)
                                              : nlohmann::json(options.index_url)},
  };
  if (prepared) {
    record["status"] = "ok";
    record["environment"] = prepared->environment.id;
    record["created"] = prepared->created;
    record["installer"] = prepared->installer;
    record["packages"] = prepared->packages;
    record["duration_ms"] = prepared->duration.count();
    record["message"] = std::string(prepared->created ? "prepared" : "already prepared") + " " +
                        JoinList(found->requirements);
  } else {
    record["status"] = "error";
    record["error_code"] = ErrorCodeName(prepared.error().code);
    record["message"] = prepared.error().message;
  }
  // Installing is an explicit step with the host's network: it is in the audit log either way.
  if (auto audited = engine->audit().Append(record); !audited) {
    return Failed(Error::Make(audited.error().code, "audit log: " + audited.error().message));
  }
  if (!prepared) return Failed(prepared.error());
  if (flags.json) {
    WriteOut(Dump({{"skill", skill->meta.name},
                   {"python",
                    {{"environment", prepared->environment.dir.string()},
                     {"id", prepared->environment.id},
                     {"created", prepared->created},
                     {"requirements", found->requirements},
                     {"source", found->source},
                     {"installer", prepared->installer},
                     {"interpreter", prepared->python},
                     {"packages", prepared->packages},
                     {"duration_ms", prepared->duration.count()}}}},
                  2) +
             "\n");
  } else if (!global.quiet) {
    WriteOut(skill->meta.name + ": " + (prepared->created ? "prepared " : "already prepared ") +
             JoinList(found->requirements) + " (from " + found->source + ") for " +
             prepared->python + " in " + prepared->environment.dir.string() +
             (prepared->created ? " with " + prepared->installer + ", " +
                                      HumanDuration(prepared->duration)
                                : std::string()) +
             "; packages: " + JoinList(prepared->packages) + "\n");
  }
  return kExitOk;
}

}  // namespace skillrt::cli
