// `skillrt install` and `skillrt lock` (docs/install-lock.md).
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "cli/build_command.h"
#include "cli/cli.h"
#include "skillrt/dependencies.h"
#include "skillrt/grants.h"
#include "skillrt/install.h"
#include "skillrt/lock.h"
#include "skillrt/registry.h"

namespace skillrt::cli {
namespace {

std::string Short(const std::string& hash) { return hash.substr(0, 12); }

// Locks each skill of `names` (every skill under the roots when empty) in the lock file.
Result<std::vector<LockedSkill>> LockNamed(const Engine& engine,
                                           const std::vector<std::string>& names) {
  std::vector<std::string> targets = names;
  if (targets.empty()) {
    auto refs = engine.registry().List();
    if (!refs) return std::unexpected(refs.error());
    for (const SkillRef& ref : *refs) targets.push_back(ref.dir.string());
  }
  auto grants = ReadGrantFile(GrantFilePath(engine.home()));
  if (!grants) return std::unexpected(grants.error());
  std::vector<LockedSkill> entries;
  for (const std::string& target : targets) {
    auto skill = engine.registry().Load(target);
    if (!skill) return std::unexpected(skill.error());
    auto entry = LockSkill(*skill);
    if (!entry) return std::unexpected(entry.error());
    // The user's grants are approved with the skill, and recorded apart from its files.
    entry->user_grants = FileGrantsJson(*grants, entry->name);
    entries.push_back(std::move(*entry));
  }
  std::set<std::string> seen;
  for (const LockedSkill& entry : entries) {
    if (!seen.insert(entry.name).second) {
      return Fail(ErrorCode::kConflict, "two skills named '" + entry.name + "' given to lock");
    }
  }
  return entries;
}

}  // namespace

int InstallCommand(const GlobalOptions& global, const InstallFlags& flags) {
  int exit_code = 0;
  std::unique_ptr<Engine> engine = OpenEngine(global, &exit_code);
  if (!engine) return exit_code;
  InstallOptions options;
  options.force = flags.force;
  auto installed = InstallSkill(flags.path, engine->home() / "skills", options);
  if (!installed) {
    PrintError(installed.error().message);
    return ExitCodeFor(installed.error());
  }
  nlohmann::json result = {{"name", installed->name},
                           {"path", installed->dir.string()},
                           {"tree_sha256", installed->tree_sha256},
                           {"replaced", installed->replaced},
                           {"locked", false}};
  if (flags.lock) {
    auto skill = LoadSkill(installed->dir);
    if (!skill) {
      PrintError(skill.error().message);
      return ExitCodeFor(skill.error());
    }
    auto entry = LockSkill(*skill);
    if (!entry) {
      PrintError(entry.error().message);
      return ExitCodeFor(entry.error());
    }
    auto grants = ReadGrantFile(GrantFilePath(engine->home()));
    if (!grants) {
      PrintError(grants.error().message);
      return ExitCodeFor(grants.error());
    }
    entry->user_grants = FileGrantsJson(*grants, entry->name);
    auto add = [&](LockFile& lock) -> Result<void> {
      lock.skills[entry->name] = *entry;
      return {};
    };
    auto updated = UpdateLockFile(LockFilePath(engine->home()), add);
    if (!updated) {
      PrintError(updated.error().message);
      return ExitCodeFor(updated.error());
    }
    result["locked"] = true;
  }
  if (flags.json) {
    WriteOut(Dump(result) + "\n");
  } else if (!global.quiet) {
    WriteOut(std::string(installed->replaced ? "replaced " : "installed ") + installed->name +
             " at " + installed->dir.string() + " (tree sha256 " + Short(installed->tree_sha256) +
             (flags.lock ? ", locked" : "") + ")\n");
  }
  // A Python or JavaScript skill is built now, so that its first run finds its component.
  if (auto built_skill = LoadSkill(installed->dir); built_skill && built_skill->manifest.wasm) {
    GlobalOptions build_global = global;
    build_global.quiet = global.quiet || flags.json;
    if (int code = BuildCommand(build_global, BuildFlags{.skill = installed->dir.string()});
        code != kExitOk) {
      PrintError("installed " + installed->name + ", but it is not built; run `skillrt build " +
                 installed->name + "` to try again");
      return code;
    }
  }
  if (!flags.prepare) return kExitOk;
  // Its dependencies, as `skillrt prepare` would: a skill that needs none prints nothing.
  auto skill = LoadSkill(installed->dir);
  auto grants = ReadGrantFile(GrantFilePath(engine->home()));
  if (!skill || !grants) {
    PrintError(!skill ? skill.error().message : grants.error().message);
    return kExitFailed;
  }
  auto found = FindPythonRequirements(*skill, &*grants, std::nullopt);
  if (!found) {
    PrintError("installed, but its dependencies cannot be prepared: " + found.error().message);
    return kExitFailed;
  }
  if (found->requirements.empty()) return kExitOk;
  PrepareFlags prepare;
  prepare.skill = installed->dir.string();
  GlobalOptions quiet_global = global;
  quiet_global.quiet = global.quiet || flags.json;
  if (int code = PrepareCommand(quiet_global, prepare); code != kExitOk) {
    PrintError("installed " + installed->name + ", but its dependencies are not prepared; run "
               "`skillrt prepare " + installed->name + "` to try again");
    return code;
  }
  return kExitOk;
}

int LockCommand(const GlobalOptions& global, const LockFlags& flags) {
  int exit_code = 0;
  std::unique_ptr<Engine> engine = OpenEngine(global, &exit_code);
  if (!engine) return exit_code;
  const std::filesystem::path file = LockFilePath(engine->home());
  if (flags.require && flags.no_require) {
    PrintError("lock: --require and --no-require exclude each other");
    return kExitUsage;
  }

  if (flags.check) {
    auto lock = ReadLockFile(file);
    if (!lock) {
      PrintError(lock.error().message);
      return ExitCodeFor(lock.error());
    }
    std::vector<std::string> targets = flags.skills;
    if (targets.empty()) {
      for (const auto& [name, entry] : lock->skills) targets.push_back(name);
    }
    bool all_ok = true;
    nlohmann::json report = nlohmann::json::array();
    std::string text;
    for (const std::string& target : targets) {
      auto skill = engine->registry().Load(target);
      if (!skill) {
        all_ok = false;
        report.push_back({{"skill", target}, {"ok", false}, {"message", skill.error().message}});
        text += target + ": " + skill.error().message + "\n";
        continue;
      }
      auto checked = CheckLock(*skill, *lock, file, /*require=*/true);
      std::string message = checked ? (checked->tree_changed ? "ok (narrowed)" : "ok")
                                    : checked.error().message;
      // The user's grants are compared apart from the skill's files (docs/grants.md).
      std::vector<std::string> grants_widened;
      if (auto it = lock->skills.find(skill->meta.name); it != lock->skills.end()) {
        auto grants = ReadGrantFile(GrantFilePath(engine->home()));
        if (!grants) {
          PrintError(grants.error().message);
          return ExitCodeFor(grants.error());
        }
        grants_widened = GrantsWidenedSinceLock(it->second.user_grants, *grants,
                                                skill->meta.name);
      }
      if (!grants_widened.empty()) {
        std::string widened;
        for (const std::string& g : grants_widened) widened += (widened.empty() ? "" : ", ") + g;
        message = (checked ? "" : message + "; ") + "user grants widened since the lock: " +
                  widened;
      }
      const bool ok = checked.has_value() && grants_widened.empty();
      all_ok = all_ok && ok;
      nlohmann::json item = {{"skill", skill->meta.name}, {"ok", ok}, {"message", message},
                             {"grants_widened", grants_widened}};
      if (auto it = lock->skills.find(skill->meta.name); it != lock->skills.end()) {
        // The drift itself, for tools: which files and which grants.
        if (auto drift = CompareWithLock(*skill, it->second)) {
          item["drift"] = {{"tree_changed", drift->tree_changed}, {"changed", drift->changed},
                           {"added", drift->added},               {"removed", drift->removed},
                           {"widened", drift->widened},           {"narrowed", drift->narrowed},
                           {"behaviour", drift->behaviour}};
        }
      }
      report.push_back(std::move(item));
      text += skill->meta.name + ": " + message + "\n";
    }
    WriteOut(flags.json ? Dump(report, 2) + "\n" : text);
    return all_ok ? kExitOk : kExitFailed;
  }

  if (flags.remove) {
    if (flags.skills.empty()) {
      PrintError("lock --remove: name the skills to remove from " + file.string());
      return kExitUsage;
    }
    auto updated = UpdateLockFile(file, [&](LockFile& lock) -> Result<void> {
      for (const std::string& name : flags.skills) {
        if (lock.skills.erase(name) == 0) {
          return Fail(ErrorCode::kNotFound, file.string() + ": no entry for '" + name + "'");
        }
      }
      return {};
    });
    if (!updated) {
      PrintError(updated.error().message);
      return ExitCodeFor(updated.error());
    }
    if (!global.quiet) {
      for (const std::string& name : flags.skills) WriteOut("unlocked " + name + "\n");
    }
    return kExitOk;
  }

  // Only the flag changes when --require/--no-require is given without skills.
  const bool flag_only = (flags.require || flags.no_require) && flags.skills.empty();
  std::vector<LockedSkill> entries;
  if (!flag_only) {
    auto locked = LockNamed(*engine, flags.skills);
    if (!locked) {
      PrintError(locked.error().message);
      return ExitCodeFor(locked.error());
    }
    entries = std::move(*locked);
  }
  auto updated = UpdateLockFile(file, [&](LockFile& lock) -> Result<void> {
    for (const LockedSkill& entry : entries) lock.skills[entry.name] = entry;
    if (flags.require) lock.require = true;
    if (flags.no_require) lock.require = false;
    return {};
  });
  if (!updated) {
    PrintError(updated.error().message);
    return ExitCodeFor(updated.error());
  }
  nlohmann::json report = nlohmann::json::array();
  std::string text;
  for (const LockedSkill& entry : entries) {
    report.push_back({{"skill", entry.name},
                      {"path", entry.dir.string()},
                      {"tree_sha256", entry.tree_sha256},
                      {"files", entry.files.size()}});
    text += "locked " + entry.name + " (tree sha256 " + Short(entry.tree_sha256) + ", " +
            std::to_string(entry.files.size()) + " entries) in " + file.string() + "\n";
  }
  if (flags.require) text += file.string() + ": every skill must now be locked to run\n";
  if (flags.no_require) text += file.string() + ": unlocked skills may run\n";
  if (flags.json) {
    WriteOut(Dump(report, 2) + "\n");
  } else if (!global.quiet) {
    WriteOut(text);
  }
  return kExitOk;
}

}  // namespace skillrt::cli
