// `skillrt list`, `info` and `validate`.
#include <algorithm>
#include <array>
#include <system_error>

#include "cli/cli.h"
#include "skillrt/dependencies.h"
#include "skillrt/grants.h"
#include "skillrt/instance.h"
#include "skillrt/lock.h"
#include "skillrt/registry.h"
#include "skillrt/skill.h"

namespace skillrt::cli {
namespace {

std::string FirstLine(std::string_view text) {
  size_t end = text.find('\n');
  return std::string(text.substr(0, end));
}

// At most `width` characters (counted as bytes of ASCII, whole UTF-8 sequences kept).
std::string Truncate(const std::string& text, size_t width) {
  if (text.size() <= width) return text;
  size_t cut = width - 3;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "...";
}

std::string Pad(const std::string& text, size_t width) {
  return text.size() >= width ? text : text + std::string(width - text.size(), ' ');
}

std::string Join(const std::vector<std::string>& items, std::string_view sep = ", ") {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out.empty() ? "-" : out;
}

// The allowlist as `info --json` shows it: one {"host", "port" (null for any), "addresses",
// "tls"} per entry.
nlohmann::json EgressJson(const std::vector<EgressRule>& rules) {
  nlohmann::json out = nlohmann::json::array();
  for (const EgressRule& rule : rules) {
    out.push_back({{"host", rule.host},
                   {"port", rule.port == 0 ? nlohmann::json(nullptr) : nlohmann::json(rule.port)},
                   {"addresses", rule.addresses},
                   {"tls", rule.tls}});
  }
  return out;
}

std::vector<std::string> PathStrings(const std::vector<std::filesystem::path>& paths) {
  std::vector<std::string> out;
  for (const auto& path : paths) out.push_back(path.string());
  return out;
}

std::string_view SeverityName(Diagnostic::Severity severity) {
  return severity == Diagnostic::Severity::kError ? "error" : "warning";
}

nlohmann::json DiagnosticJson(const Diagnostic& d) {
  return {{"severity", SeverityName(d.severity)}, {"file", d.file.string()}, {"line", d.line},
          {"field", d.field},                     {"message", d.message}};
}

// Inferred commands with where each was found (docs/inference.md).
nlohmann::json InferredJson(const std::vector<InferredCommand>& commands) {
  nlohmann::json out = nlohmann::json::array();
  for (const InferredCommand& c : commands) {
    nlohmann::json sources = nlohmann::json::array();
    for (const CommandSource& source : c.sources) {
      sources.push_back(
          {{"file", source.file.string()}, {"line", source.line}, {"text", source.text}});
    }
    out.push_back({{"command", c.command}, {"sources", sources}});
  }
  return out;
}

// "SKILL.md:12: python scripts/x.py" or "scripts/x.py: extension .py".
std::string SourceText(const CommandSource& source) {
  std::string out = source.file.string();
  if (source.line > 0) out += ":" + std::to_string(source.line);
  return out + ": " + source.text;
}

// One line per inferred command: "  python3 <- scripts/x.py: extension .py; SKILL.md:4: ...".
std::string InferredLines(const std::vector<InferredCommand>& commands) {
  std::string out;
  for (const InferredCommand& c : commands) {
    std::vector<std::string> sources;
    for (const CommandSource& source : c.sources) sources.push_back(SourceText(source));
    out += "  " + c.command + " <- " + Join(sources, "; ") + "\n";
  }
  return out;
}

std::vector<std::string> CommandNames(const std::vector<InferredCommand>& commands) {
  std::vector<std::string> out;
  for (const InferredCommand& c : commands) out.push_back(c.command);
  return out;
}

// Secret declarations: names and how they are handled, never values.
nlohmann::json SecretsJson(const Manifest& m) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, spec] : m.secrets) {
    out[name] = {{"description", spec.description},
                 {"required", spec.required},
                 {"redact", spec.redact}};
  }
  return out;
}

// Limits under the manifest's own key names and units (docs/manifest.md).
nlohmann::json ManifestLimitsJson(const Limits& l) {
  return {{"wall_time_ms", l.wall_time.count()},     {"cpu_time_ms", l.cpu_time.count()},
          {"memory_mb", l.memory_max_bytes >> 20},   {"processes", l.pids_max},
          {"output_kb", l.output_max_bytes >> 10},   {"file_size_mb", l.file_size_max_bytes >> 20},
          {"scratch_mb", l.scratch_max_bytes >> 20}, {"open_files", l.open_files_max}};
}

std::string HumanLimits(const Limits& l) {
  return "wall time " + HumanDuration(l.wall_time) + ", cpu time " + HumanDuration(l.cpu_time) +
         ", memory " + HumanBytes(l.memory_max_bytes) + ", processes " +
         std::to_string(l.pids_max) + ", output " + HumanBytes(l.output_max_bytes) +
         ", file size " + HumanBytes(l.file_size_max_bytes) + ", scratch " +
         HumanBytes(l.scratch_max_bytes) + ", open files " + std::to_string(l.open_files_max);
}

nlohmann::json InfoJson(const Skill& skill) {
  const Manifest& m = skill.manifest;
  nlohmann::json entry = nullptr;
  if (m.entry) {
    entry = {{"argv", m.entry->argv},
             {"input", m.entry->input == InputMode::kStdin ? "stdin" : "none"},
             {"output", m.entry->output == OutputMode::kJson ? "json" : "text"}};
  }
  nlohmann::json container = nullptr;
  if (m.container) {
    container = {{"image", m.container->image},
                 {"entrypoint", m.container->entrypoint},
                 {"workdir", m.container->workdir},
                 {"user", m.container->user},
                 {"read_only_root", m.container->read_only_root},
                 {"cpus", m.container->cpus}};
  }
  nlohmann::json warnings = nlohmann::json::array();
  for (const Diagnostic& d : skill.warnings) warnings.push_back(DiagnosticJson(d));
  return {
      {"name", skill.meta.name},
      {"display_name",
       skill.meta.display_name.empty() ? skill.meta.name : skill.meta.display_name},
      {"description", skill.meta.description},
      {"path", skill.dir.string()},
      {"license", skill.meta.license ? nlohmann::json(*skill.meta.license) : nullptr},
      {"compatibility",
       skill.meta.compatibility ? nlohmann::json(*skill.meta.compatibility) : nullptr},
      {"metadata", skill.meta.metadata},
      {"allowed_tools", skill.meta.allowed_tools},
      {"tree_sha256", skill.tree_sha256},
      {"manifest",
       {{"inferred", m.inferred},
        {"runtime", RuntimeKindName(m.runtime)},
        {"entry", entry},
        {"container", container},
        {"input_schema", m.input_schema ? *m.input_schema : nlohmann::json(nullptr)},
        {"capabilities",
         {{"read", PathStrings(m.capabilities.read_paths)},
          {"write", PathStrings(m.capabilities.write_paths)},
          {"network", m.capabilities.network},
          {"egress", EgressJson(m.capabilities.egress)},
          {"commands", m.capabilities.commands},
          {"env", {{"pass", m.capabilities.env.pass}, {"set", m.capabilities.env.set}}}}},
        {"script_commands", InferredJson(m.script_commands)},
        {"mentioned_commands", InferredJson(m.mentioned_commands)},
        {"limits", ManifestLimitsJson(m.limits)},
        {"secrets", SecretsJson(m)}}},
      {"warnings", warnings},
  };
}

// What `info` adds about the user's configuration of a skill: its lock state and instances.
struct UserView {
  std::string lock;  // "locked", "unlocked", or the drift message.
  std::vector<std::string> instances;
  std::optional<std::string> default_instance;
  std::optional<Instance> instance;  // The selected one (explicit or default).
  Grants grants;  // The grants file's entries for the skill (and the instance).
  PythonRequirements python;  // Its Python requirements and where they are declared.
  std::optional<PythonEnvironment> environment;  // Their prepared environment, if any.
};

nlohmann::json UserViewJson(const UserView& view) {
  nlohmann::json instance = nullptr;
  if (view.instance) {
    nlohmann::json refs = nlohmann::json::object();
    for (const auto& [name, ref] : view.instance->secrets) refs[name] = ref.ToString();
    instance = {{"name", view.instance->name},
                {"config", view.instance->config},
                {"env", view.instance->env},
                {"secrets", refs}};
  }
  return {{"lock", view.lock},
          {"instances", view.instances},
          {"default_instance",
           view.default_instance ? nlohmann::json(*view.default_instance) : nullptr},
          {"instance", instance},
          {"grants", GrantsToJson(view.grants)},
          {"python",
           view.python.requirements.empty()
               ? nlohmann::json(nullptr)
               : nlohmann::json{{"requirements", view.python.requirements},
                                {"source", view.python.source},
                                {"environment", view.environment
                                                    ? nlohmann::json(view.environment->dir)
                                                    : nlohmann::json(nullptr)}}}};
}

void PrintInfo(const Skill& skill, const UserView& view) {
  const Manifest& m = skill.manifest;
  std::string out;
  auto line = [&out](std::string_view key, const std::string& value) {
    out += Pad(std::string(key) + ":", 14) + value + "\n";
  };
  const std::string& written = skill.meta.display_name;
  line("name", skill.meta.name +
                   (written.empty() || written == skill.meta.name ? ""
                                                                  : " (written '" + written + "')"));
  line("description", skill.meta.description);
  line("path", skill.dir.string());
  if (skill.meta.license) line("license", *skill.meta.license);
  if (skill.meta.compatibility) line("compatibility", *skill.meta.compatibility);
  line("tree sha256", skill.tree_sha256);
  line("manifest", m.inferred ? "inferred (no skill.toml)" : (skill.dir / "skill.toml").string());
  line("runtime", std::string(RuntimeKindName(m.runtime)));
  if (m.entry) {
    line("entry", Join(m.entry->argv, " ") + " (input: " +
                      (m.entry->input == InputMode::kStdin ? "stdin" : "none") + ", output: " +
                      (m.entry->output == OutputMode::kJson ? "json" : "text") + ")");
  } else {
    line("entry", "none (exec only)");
  }
  if (m.container) {
    line("image", m.container->image + " (user " + m.container->user + ", workdir " +
                      m.container->workdir + ")");
  }
  line("input schema", m.input_schema ? "declared" : "none");
  line("commands", Join(m.capabilities.commands));
  if (m.inferred) {
    line("inferred", m.script_commands.empty()
                         ? "-"
                         : Join(CommandNames(m.script_commands)) +
                               " (only to run a file of the skill; docs/inference.md)");
    out += InferredLines(m.script_commands);
    line("mentioned", m.mentioned_commands.empty()
                          ? "-"
                          : Join(CommandNames(m.mentioned_commands)) +
                                " (in SKILL.md; not granted: a grant from the user allows them)");
    out += InferredLines(m.mentioned_commands);
  }
  line("read", Join(PathStrings(m.capabilities.read_paths)));
  line("write", Join(PathStrings(m.capabilities.write_paths)));
  std::vector<std::string> hosts;
  for (const EgressRule& rule : m.capabilities.egress) {
    std::string text = EgressRuleText(rule);
    if (!rule.addresses.empty()) text += " (addresses " + Join(rule.addresses) + ")";
    if (rule.tls) text += " (TLS only)";
    hosts.push_back(std::move(text));
  }
  line("network", m.capabilities.network ? "through the egress proxy to " + Join(hosts) : "no");
  line("env pass", Join(m.capabilities.env.pass));
  std::vector<std::string> set;
  for (const auto& [name, value] : m.capabilities.env.set) set.push_back(name + "=" + value);
  line("env set", Join(set));
  line("limits", HumanLimits(m.limits));
  std::vector<std::string> secrets;
  for (const auto& [name, spec] : m.secrets) {
    std::string text = name + (spec.required ? "" : " (optional)") +
                       (spec.redact ? "" : " (not redacted)");
    if (!spec.description.empty()) text += ": " + spec.description;
    secrets.push_back(std::move(text));
  }
  line("secrets", Join(secrets, "; "));
  line("lock", view.lock);
  std::string instances = Join(view.instances);
  if (view.default_instance) instances += " (default: " + *view.default_instance + ")";
  line("instances", instances);
  if (view.instance) {
    line("instance", view.instance->name);
    std::vector<std::string> env;
    for (const auto& [name, value] : view.instance->env) env.push_back(name + "=" + value);
    line("instance env", Join(env));
    line("config", Dump(view.instance->config));
    std::vector<std::string> refs;
    for (const auto& [name, ref] : view.instance->secrets) {
      refs.push_back(name + " <- " + ref.ToString());
    }
    line("secret refs", Join(refs));
  }
  // What the user added (docs/grants.md) and the packages it needs (docs/dependencies.md).
  std::vector<std::string> grants;
  for (const auto& c : view.grants.commands) grants.push_back("command " + c);
  for (const auto& p : view.grants.read_paths) grants.push_back("read " + p.string());
  for (const auto& p : view.grants.write_paths) grants.push_back("write " + p.string());
  for (const auto& [key, value] : view.grants.limits) {
    grants.push_back("limit " + key + "=" + std::to_string(value));
  }
  line("user grants", Join(grants));
  if (!view.python.requirements.empty()) {
    line("python", Join(view.python.requirements) + " (from " + view.python.source + "; " +
                       (view.environment ? "prepared" : "not prepared: run `skillrt prepare " +
                                                            skill.meta.name + "`") +
                       ")");
  } else if (!view.python.source.empty()) {
    line("python", view.python.source);  // Why the requirements cannot be read.
  }
  for (const Diagnostic& d : skill.warnings) out += d.ToString() + "\n";
  WriteOut(out);
}

// The skill directories `path` stands for: itself when it holds SKILL.md or is not a
// directory, else every skill beneath it (if there is none, itself, so that ValidateSkill
// reports the missing SKILL.md).
Result<std::vector<std::filesystem::path>> ExpandValidatePath(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec) ||
      std::filesystem::exists(std::filesystem::path(path) / "SKILL.md", ec)) {
    return std::vector<std::filesystem::path>{path};
  }
  auto refs = Registry({path}).List();
  if (!refs) return std::unexpected(refs.error());
  if (refs->empty()) return std::vector<std::filesystem::path>{path};
  std::vector<std::filesystem::path> dirs;
  for (const SkillRef& ref : *refs) {
    dirs.push_back(ref.dir);
    // Validation checks every skill, the shadowed ones included.
    for (const ShadowedSkill& hidden : ref.shadowed) dirs.push_back(hidden.dir);
  }
  return dirs;
}

}  // namespace

int ListSkills(const GlobalOptions& global, bool json) {
  int exit_code = 0;
  std::unique_ptr<Engine> engine = OpenEngine(global, &exit_code);
  if (!engine) return exit_code;
  auto refs = engine->registry().List();
  if (!refs) {
    PrintError(refs.error().message);
    return ExitCodeFor(refs.error());
  }
  nlohmann::json array = nlohmann::json::array();
  std::vector<std::array<std::string, 3>> rows;
  for (const SkillRef& ref : *refs) {
    nlohmann::json item = {{"name", ref.name}, {"path", ref.dir.string()}};
    auto skill = LoadSkillUnhashed(ref.dir);  // Nothing is run or locked: no tree hash.
    std::string description;
    if (skill) {
      description = FirstLine(skill->meta.description);
      item["description"] = skill->meta.description;
      item["runtime"] = RuntimeKindName(skill->manifest.runtime);
      item["has_entry"] = skill->manifest.entry.has_value();
      nlohmann::json warnings = nlohmann::json::array();
      for (const Diagnostic& d : skill->warnings) warnings.push_back(DiagnosticJson(d));
      item["warnings"] = std::move(warnings);
    } else {
      description = "(invalid: " + FirstLine(skill.error().message) + ")";
      item["description"] = nullptr;
      item["runtime"] = nullptr;
      item["has_entry"] = false;
      item["error"] = skill.error().message;
      item["warnings"] = nlohmann::json::array();
    }
    nlohmann::json shadowed = nlohmann::json::array();
    for (const ShadowedSkill& hidden : ref.shadowed) {
      shadowed.push_back({{"path", hidden.dir.string()}, {"root", hidden.root.string()}});
    }
    item["root"] = ref.root.string();
    item["shadowed"] = std::move(shadowed);
    array.push_back(std::move(item));
    rows.push_back({ref.name, description, ref.dir.string()});
    for (const ShadowedSkill& hidden : ref.shadowed) {
      rows.push_back({ref.name, "(shadowed by " + ref.dir.string() + ")", hidden.dir.string()});
    }
  }
  if (json) {
    WriteOut(Dump(array, 2) + "\n");
    return kExitOk;
  }
  if (rows.empty()) {
    if (!global.quiet) {
      std::string roots;
      for (const auto& root : engine->registry().roots()) {
        roots += (roots.empty() ? "" : ", ") + root.string();
      }
      PrintError("no skills found (searched: " + (roots.empty() ? "-" : roots) + ")");
    }
    return kExitOk;
  }
  size_t name_width = 4;
  for (const auto& row : rows) name_width = std::max(name_width, row[0].size());
  std::string out = Pad("NAME", name_width + 2) + Pad("DESCRIPTION", 62) + "PATH\n";
  for (const auto& row : rows) {
    out += Pad(row[0], name_width + 2) + Pad(Truncate(row[1], 60), 62) + row[2] + "\n";
  }
  WriteOut(out);
  return kExitOk;
}

int ShowInfo(const GlobalOptions& global, const std::string& name, bool json) {
  int exit_code = 0;
  std::unique_ptr<Engine> engine = OpenEngine(global, &exit_code);
  if (!engine) return exit_code;
  auto fail = [](const Error& error) {
    PrintError(error.message);
    return ExitCodeFor(error);
  };
  auto selector = ParseSkillSelector(name);
  if (!selector) return fail(selector.error());
  auto skill = engine->registry().Load(selector->skill);
  if (!skill) return fail(skill.error());

  UserView view;
  const std::filesystem::path lock_file = LockFilePath(engine->home());
  auto lock = ReadLockFile(lock_file);
  if (!lock) return fail(lock.error());
  if (lock->skills.contains(skill->meta.name)) {
    auto checked = CheckLock(*skill, *lock, lock_file, false);
    view.lock = checked ? (checked->tree_changed ? "locked (skill.toml narrowed)" : "locked")
                        : checked.error().message;
  } else {
    view.lock = lock->require ? "unlocked (refused: the lock file requires a lock)" : "unlocked";
  }
  const std::filesystem::path instances_file = InstanceFilePath(engine->home());
  auto instances = ReadInstanceFile(instances_file);
  if (!instances) return fail(instances.error());
  if (auto it = instances->skills.find(skill->meta.name); it != instances->skills.end()) {
    for (const auto& [instance_name, ignored] : it->second) view.instances.push_back(instance_name);
  }
  if (auto it = instances->defaults.find(skill->meta.name); it != instances->defaults.end()) {
    view.default_instance = it->second;
  }
  auto instance = SelectInstance(*instances, skill->meta.name, selector->instance);
  if (!instance) return fail(instance.error());
  view.instance = *instance;
  auto grants = ReadGrantFile(GrantFilePath(engine->home()));
  if (!grants) return fail(grants.error());
  const std::optional<std::string> instance_name =
      view.instance ? std::optional<std::string>(view.instance->name) : std::nullopt;
  view.grants = FileGrantsFor(*grants, skill->meta.name, instance_name);
  if (auto it = lock->skills.find(skill->meta.name); it != lock->skills.end()) {
    const std::vector<std::string> widened =
        GrantsWidenedSinceLock(it->second.user_grants, *grants, skill->meta.name);
    if (!widened.empty()) view.lock += "; user grants widened since: " + Join(widened);
  }
  if (auto python = FindPythonRequirements(*skill, &*grants, instance_name)) {
    view.python = std::move(*python);
    if (auto environment = FindPythonEnvironment(engine->home(), view.python.requirements)) {
      view.environment = std::move(*environment);
    }
  } else {
    view.python.source = python.error().message;
  }
  Skill shown = *skill;
  if (view.instance) {
    // The manifest as the instance narrows it: what a run of this instance may do.
    auto narrowed = ApplyInstance(skill->manifest, *view.instance, instances_file);
    if (!narrowed) return fail(narrowed.error());
    shown.manifest = std::move(*narrowed);
  }
  if (json) {
    nlohmann::json info = InfoJson(shown);
    info["user"] = UserViewJson(view);
    WriteOut(Dump(info, 2) + "\n");
  } else {
    PrintInfo(shown, view);
  }
  return kExitOk;
}

int ValidatePaths(const GlobalOptions& global, const std::vector<std::string>& paths, bool json) {
  bool any_error = false;
  nlohmann::json results = nlohmann::json::array();
  std::string text;
  for (const std::string& path : paths) {
    auto dirs = ExpandValidatePath(path);
    if (!dirs) {
      any_error = true;
      Diagnostic d{.severity = Diagnostic::Severity::kError, .file = path, .line = 0, .field = "",
                   .message = dirs.error().message};
      results.push_back({{"path", path}, {"valid", false}, {"diagnostics", {DiagnosticJson(d)}}});
      text += d.ToString() + "\n";
      continue;
    }
    for (const std::filesystem::path& dir : *dirs) {
      std::vector<Diagnostic> diagnostics = ValidateSkill(dir);
      bool valid = true;
      nlohmann::json list = nlohmann::json::array();
      for (const Diagnostic& d : diagnostics) {
        if (d.severity == Diagnostic::Severity::kError) valid = false;
        list.push_back(DiagnosticJson(d));
        text += d.ToString() + "\n";
      }
      if (valid && !global.quiet) {
        text += dir.string() + ": valid" +
                (diagnostics.empty() ? "" : " (" + std::to_string(diagnostics.size()) +
                                                " warning" + (diagnostics.size() > 1 ? "s" : "") +
                                                ")") +
                "\n";
      }
      any_error = any_error || !valid;
      results.push_back({{"path", dir.string()}, {"valid", valid}, {"diagnostics", list}});
    }
  }
  WriteOut(json ? Dump(results, 2) + "\n" : text);
  return any_error ? kExitFailed : kExitOk;
}

}  // namespace skillrt::cli
