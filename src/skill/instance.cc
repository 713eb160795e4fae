// instances.toml: parsing, selecting and applying instances (include/skillrt/instance.h,
// docs/instances.md).
#include "skillrt/instance.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "gate/script_rule.h"
#include "skill/manifest_internal.h"
#include "skillrt/skill.h"
#include "skill/limit_fields.h"
#include "skillrt/fd.h"
#include "util/toml_type.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr size_t kMaxInstanceFileBytes = 1 << 20;

Json TomlToJson(const toml::node& node) {
  if (const auto* t = node.as_table()) {
    Json out = Json::object();
    for (const auto& [key, value] : *t) out[std::string(key.str())] = TomlToJson(value);
    return out;
  }
  if (const auto* a = node.as_array()) {
    Json out = Json::array();
    for (const auto& value : *a) out.push_back(TomlToJson(value));
    return out;
  }
  if (const auto* s = node.as_string()) return s->get();
  if (const auto* i = node.as_integer()) return i->get();
  if (const auto* f = node.as_floating_point()) return f->get();
  if (const auto* b = node.as_boolean()) return b->get();
  std::ostringstream text;
  if (const auto* d = node.as_date()) text << d->get();
  if (const auto* t = node.as_time()) text << t->get();
  if (const auto* dt = node.as_date_time()) text << dt->get();
  return text.str();
}

int LineOf(const toml::node& node) { return static_cast<int>(node.source().begin.line); }

// Parses one file; the first problem stops it (the message names the key path).
class Parser {
 public:
  explicit Parser(std::string source) : source_(std::move(source)) {}

  Result<InstanceFile> Run(std::string_view text) {
    toml::table root;
    try {
      root = toml::parse(text);
    } catch (const toml::parse_error& e) {
      return Fail(ErrorCode::kParse, source_ + ":" + std::to_string(e.source().begin.line) +
                                         ":" + std::to_string(e.source().begin.column) + ": " +
                                         std::string(e.description()));
    }
    InstanceFile out;
    for (const auto& [skill_key, skill_node] : root) {
      const std::string skill(skill_key.str());
      if (!IsValidSkillName(skill)) {
        return Bad(skill, "'" + skill + "' is not a skill name");
      }
      const toml::table* table = skill_node.as_table();
      if (table == nullptr) return Expected(skill_node, skill, "a table of instances");
      auto& instances = out.skills[skill];
      for (const auto& [key, node] : *table) {
        const std::string name(key.str());
        const std::string path = skill + "." + name;
        if (name == "default") {
          const auto* s = node.as_string();
          if (s == nullptr) return Expected(node, path, "an instance name");
          out.defaults[skill] = s->get();
          continue;
        }
        if (!IsValidInstanceName(name)) {
          return Bad(path, "'" + name + "' is not an instance name (1-64 of a-z, 0-9, _ and -)");
        }
        const toml::table* t = node.as_table();
        if (t == nullptr) return Expected(node, path, "a table");
        auto instance = ParseInstance(*t, skill, name, path);
        if (!instance) return std::unexpected(instance.error());
        instances[name] = std::move(*instance);
      }
      if (auto it = out.defaults.find(skill);
          it != out.defaults.end() && !instances.contains(it->second)) {
        return Bad(skill + ".default", "names '" + it->second + "', which is not defined");
      }
    }
    return out;
  }

 private:
  std::unexpected<Error> Bad(const std::string& path, const std::string& message) {
    return Fail(ErrorCode::kValidation, source_ + ": " + path + ": " + message);
  }
  std::unexpected<Error> Expected(const toml::node& node, const std::string& path,
                                  std::string_view what) {
    return Bad(path, "expected " + std::string(what) + ", got " + TomlTypeName(node) + " (line " +
                         std::to_string(LineOf(node)) + ")");
  }

  Result<std::vector<std::string>> Strings(const toml::node& node, const std::string& path) {
    const toml::array* array = node.as_array();
    if (array == nullptr) return Expected(node, path, "an array of strings");
    std::vector<std::string> out;
    for (size_t i = 0; i < array->size(); ++i) {
      const auto* s = array->get(i)->as_string();
      if (s == nullptr) {
        return Expected(*array->get(i), path + "[" + std::to_string(i) + "]", "a string");
      }
      out.push_back(s->get());
    }
    return out;
  }

  Result<Instance> ParseInstance(const toml::table& table, const std::string& skill,
                                 const std::string& name, const std::string& path) {
    Instance instance;
    instance.skill = skill;
    instance.name = name;
    instance.line = LineOf(table);
    for (const auto& [key, node] : table) {
      const std::string k(key.str());
      const std::string key_path = path + "." + k;
      if (k == "config") {
        if (!node.is_table()) return Expected(node, key_path, "a table");
        instance.config = TomlToJson(node);
      } else if (k == "env") {
        const toml::table* env = node.as_table();
        if (env == nullptr) return Expected(node, key_path, "a table of strings");
        for (const auto& [var, value] : *env) {
          const std::string v(var.str());
          const std::string var_path = key_path + "." + v;
          if (!manifest_internal::IsVariableName(v)) {
            return Bad(var_path, "'" + v + "' is not a variable name ([A-Za-z_][A-Za-z0-9_]*)");
          }
          if (EnvNameOwnerOf(v) == EnvNameOwner::kSkillrt) {
            return Bad(var_path, v + " is reserved by skillrt");
          }
          const auto* s = value.as_string();
          if (s == nullptr) return Expected(value, var_path, "a string");
          if (s->get().find('\0') != std::string::npos) {
            return Bad(var_path, "contains a NUL character");
          }
          instance.env[v] = s->get();
        }
      } else if (k == "secrets") {
        const toml::table* secrets = node.as_table();
        if (secrets == nullptr) return Expected(node, key_path, "a table of references");
        for (const auto& [var, value] : *secrets) {
          const std::string v(var.str());
          const std::string var_path = key_path + "." + v;
          const auto* s = value.as_string();
          if (s == nullptr) return Expected(value, var_path, "a reference string");
          auto ref = ParseRef(s->get(), var_path);
          if (!ref) return std::unexpected(ref.error());
          instance.secrets[v] = std::move(*ref);
        }
      } else if (k == "capabilities") {
        const toml::table* caps = node.as_table();
        if (caps == nullptr) return Expected(node, key_path, "a table");
        if (auto ok = ParseCaps(*caps, key_path, &instance.capabilities); !ok) {
          return std::unexpected(ok.error());
        }
      } else if (k == "limits") {
        const toml::table* limits = node.as_table();
        if (limits == nullptr) return Expected(node, key_path, "a table");
        for (const auto& [lk, value] : *limits) {
          const std::string l(lk.str());
          const std::string limit_path = key_path + "." + l;
          bool known = std::any_of(LimitFields().begin(), LimitFields().end(),
                                   [&](const LimitField& spec) { return spec.key == l; });
          if (!known) return Bad(limit_path, "unknown key");
          const auto* i = value.as_integer();
          if (i == nullptr || i->get() <= 0) {
            return Bad(limit_path, "expected a positive integer, got " +
                                       (i ? std::to_string(i->get()) : TomlTypeName(value)));
          }
          instance.limits.values[l] = i->get();
        }
      } else {
        return Bad(key_path, "unknown key (allowed: config, env, secrets, capabilities, limits)");
      }
    }
    for (const auto& [var, ref] : instance.secrets) {
      if (instance.env.contains(var)) {
        return Bad(path + ".env." + var, var + " is also a secret; set it in one place");
      }
    }
    return instance;
  }

  Result<SecretRef> ParseRef(const std::string& text, const std::string& path) {
    SecretRef ref;
    if (text.starts_with("env:")) {
      ref.kind = SecretRef::Kind::kEnv;
      ref.target = text.substr(4);
      if (!manifest_internal::IsVariableName(ref.target)) {
        return Bad(path, "env: reference needs a variable name, e.g. \"env:API_TOKEN\"");
      }
    } else if (text.starts_with("file:")) {
      ref.kind = SecretRef::Kind::kFile;
      ref.target = text.substr(5);
      if (ref.target.empty() || ref.target.front() != '/' ||
          ref.target.find('\0') != std::string::npos) {
        return Bad(path, "file: reference needs an absolute path, e.g. \"file:/home/me/.token\"");
      }
    } else {
      return Bad(path, "expected a reference \"env:NAME\" or \"file:/absolute/path\"");
    }
    return ref;
  }

  Result<void> ParseCaps(const toml::table& table, const std::string& path,
                         InstanceCapabilities* caps) {
    for (const auto& [key, node] : table) {
      const std::string k(key.str());
      const std::string key_path = path + "." + k;
      if (k == "read" || k == "write") {
        auto list = Strings(node, key_path);
        if (!list) return std::unexpected(list.error());
        std::vector<fs::path> paths;
        for (size_t i = 0; i < list->size(); ++i) {
          std::string normal;
          if (auto problem = manifest_internal::CheckGrantPath((*list)[i], &normal)) {
            return Bad(key_path + "[" + std::to_string(i) + "]", *problem);
          }
          paths.emplace_back(normal);
        }
        (k == "read" ? caps->read_paths : caps->write_paths) = std::move(paths);
      } else if (k == "commands") {
        auto list = Strings(node, key_path);
        if (!list) return std::unexpected(list.error());
        caps->commands = std::move(*list);
      } else if (k == "env") {
        const toml::table* env = node.as_table();
        if (env == nullptr) return Expected(node, key_path, "a table");
        for (const auto& [ek, value] : *env) {
          if (ek.str() != "pass") return Bad(key_path + "." + std::string(ek.str()), "unknown key");
          auto list = Strings(value, key_path + ".pass");
          if (!list) return std::unexpected(list.error());
          caps->env_pass = std::move(*list);
        }
      } else if (k == "network") {
        const auto* b = node.as_boolean();
        if (b == nullptr) return Expected(node, key_path, "a boolean");
        caps->network = b->get();
      } else {
        return Bad(key_path, "unknown key (allowed: read, write, commands, env, network)");
      }
    }
    return {};
  }

  std::string source_;
};

bool Covers(const fs::path& base, const fs::path& path) {
  const std::string b = base.string(), p = path.string();
  return p == b || (p.size() > b.size() && p.starts_with(b) && p[b.size()] == '/');
}

std::string ListText(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out.empty() ? "none" : out;
}

}  // namespace

std::string_view SecretRef::KindName() const { return kind == Kind::kEnv ? "env" : "file"; }

std::string SecretRef::ToString() const { return std::string(KindName()) + ":" + target; }

bool IsValidInstanceName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name == "default") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

Result<SkillSelector> ParseSkillSelector(std::string_view text) {
  SkillSelector selector{.skill = std::string(text), .instance = std::nullopt};
  const size_t at = text.rfind('@');
  if (at == std::string_view::npos) return selector;
  std::string_view rest = text.substr(at + 1);
  if (rest.find('/') != std::string_view::npos) return selector;  // A path holding '@'.
  if (at == 0 || rest.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "'" + std::string(text) + "': expected SKILL or SKILL@INSTANCE");
  }
  if (!IsValidInstanceName(rest)) {
    return Fail(ErrorCode::kInvalidArgument,
                "'" + std::string(rest) + "' is not an instance name (1-64 of a-z, 0-9, _ and -)");
  }
  selector.skill = std::string(text.substr(0, at));
  selector.instance = std::string(rest);
  return selector;
}

fs::path InstanceFilePath(const fs::path& home) { return home / "instances.toml"; }

Result<InstanceFile> ReadInstanceFile(const fs::path& file) {
  InstanceFile out;
  out.path = file;
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd) {
    if (errno == ENOENT) return out;
    if (errno == ELOOP) {
      return Fail(ErrorCode::kDenied,
                  file.string() + ": a symbolic link; refused (keep it a regular file)");
    }
    return FailErrno(ErrorCode::kIo, "open(" + file.string() + ")", errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return FailErrno(ErrorCode::kIo, "fstat(" + file.string() + ")", errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return Fail(ErrorCode::kDenied, file.string() + ": not a regular file");
  }
  // Whoever can write this file decides which host files and variables become secrets.
  if (st.st_uid != ::geteuid()) {
    return Fail(ErrorCode::kDenied, file.string() + ": owned by uid " + std::to_string(st.st_uid) +
                                        ", not by the user running skillrt; refused");
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return Fail(ErrorCode::kDenied, file.string() +
                                        ": writable by group or others; refused (chmod 600 it)");
  }
  if (static_cast<size_t>(st.st_size) > kMaxInstanceFileBytes) {
    return Fail(ErrorCode::kValidation, file.string() + ": larger than 1 MiB");
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FailErrno(ErrorCode::kIo, "read(" + file.string() + ")", errno);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  try {
    auto parsed = Parser(file.string()).Run(text);
    if (!parsed) return std::unexpected(parsed.error());
    parsed->path = file;
    return parsed;
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInternal, file.string() + ": " + e.what());
  }
}

Result<std::optional<Instance>> SelectInstance(const InstanceFile& file, std::string_view skill,
                                               const std::optional<std::string>& requested) {
  auto it = file.skills.find(std::string(skill));
  std::string name;
  if (requested) {
    name = *requested;
  } else if (auto d = file.defaults.find(std::string(skill)); d != file.defaults.end()) {
    name = d->second;
  } else {
    return std::optional<Instance>();
  }
  if (it == file.skills.end() || !it->second.contains(name)) {
    std::vector<std::string> defined;
    if (it != file.skills.end()) {
      for (const auto& [n, ignored] : it->second) defined.push_back(n);
    }
    return Fail(ErrorCode::kNotFound, "unknown instance '" + name + "' of skill '" +
                                          std::string(skill) + "' (" + file.path.string() +
                                          " defines: " + ListText(defined) + ")");
  }
  return std::optional<Instance>(it->second.at(name));
}

Result<Manifest> ApplyInstance(const Manifest& manifest, const Instance& instance,
                               const fs::path& file) {
  const std::string prefix = file.string() + ": " + instance.skill + "." + instance.name;
  auto widen = [&](const std::string& key, const std::string& what) {
    return Fail(ErrorCode::kValidation, prefix + "." + key + ": " + what);
  };
  Manifest out = manifest;
  const Capabilities& caps = manifest.capabilities;
  const InstanceCapabilities& narrow = instance.capabilities;
  if (narrow.read_paths) {
    for (size_t i = 0; i < narrow.read_paths->size(); ++i) {
      const fs::path& p = (*narrow.read_paths)[i];
      bool ok = std::any_of(caps.read_paths.begin(), caps.read_paths.end(),
                            [&](const fs::path& b) { return Covers(b, p); }) ||
                std::any_of(caps.write_paths.begin(), caps.write_paths.end(),
                            [&](const fs::path& b) { return Covers(b, p); });
      if (!ok) {
        return widen("capabilities.read[" + std::to_string(i) + "]",
                     "'" + p.string() + "' is not granted by the manifest's capabilities.read "
                     "or capabilities.write");
      }
    }
    out.capabilities.read_paths = *narrow.read_paths;
  }
  if (narrow.write_paths) {
    for (size_t i = 0; i < narrow.write_paths->size(); ++i) {
      const fs::path& p = (*narrow.write_paths)[i];
      if (!std::any_of(caps.write_paths.begin(), caps.write_paths.end(),
                       [&](const fs::path& b) { return Covers(b, p); })) {
        return widen("capabilities.write[" + std::to_string(i) + "]",
                     "'" + p.string() + "' is not granted by the manifest's capabilities.write");
      }
    }
    out.capabilities.write_paths = *narrow.write_paths;
  }
  if (narrow.commands) {
    std::vector<std::string> allowed = caps.commands;
    if (manifest.entry && !manifest.entry->argv.empty()) allowed.push_back(manifest.entry->argv[0]);
    for (const InferredCommand& c : manifest.script_commands) allowed.push_back(c.command);
    for (size_t i = 0; i < narrow.commands->size(); ++i) {
      const std::string& c = (*narrow.commands)[i];
      if (std::find(allowed.begin(), allowed.end(), c) == allowed.end()) {
        return widen("capabilities.commands[" + std::to_string(i) + "]",
                     "'" + c + "' is not granted by the manifest (allowed: " + ListText(allowed) +
                         ")");
      }
    }
    // A command the manifest allows only under the script rule stays under it; inferred
    // interpreters the instance does not name are dropped.
    const std::vector<std::string> script_only = ScriptOnlyCommands(manifest);
    auto named = [](const std::vector<std::string>& list, const std::string& c) {
      return std::find(list.begin(), list.end(), c) != list.end();
    };
    out.capabilities.commands.clear();
    for (const std::string& c : *narrow.commands) {
      if (!named(script_only, c)) out.capabilities.commands.push_back(c);
    }
    std::erase_if(out.script_commands,
                  [&](const InferredCommand& c) { return !named(*narrow.commands, c.command); });
  }
  if (narrow.env_pass) {
    for (size_t i = 0; i < narrow.env_pass->size(); ++i) {
      const std::string& v = (*narrow.env_pass)[i];
      if (std::find(caps.env.pass.begin(), caps.env.pass.end(), v) == caps.env.pass.end()) {
        return widen("capabilities.env.pass[" + std::to_string(i) + "]",
                     "'" + v + "' is not granted by the manifest's capabilities.env.pass");
      }
    }
    out.capabilities.env.pass = *narrow.env_pass;
  }
  if (narrow.network) {
    if (*narrow.network && !caps.network) {
      return widen("capabilities.network", "true, but the manifest does not grant network");
    }
    out.capabilities.network = *narrow.network;
    // No network means no allowlist: nothing downstream may read the manifest's hosts.
    if (!out.capabilities.network) out.capabilities.egress.clear();
  }
  for (const auto& [key, value] : instance.limits.values) {
    for (const LimitField& spec : LimitFields()) {
      if (spec.key != key) continue;
      const int64_t granted = static_cast<int64_t>(spec.get(manifest.limits));
      if (value > granted) {
        return widen("limits." + key, std::to_string(value) + " exceeds the manifest's " +
                                          std::to_string(granted));
      }
      spec.set(out.limits, static_cast<uint64_t>(value));
    }
  }
  for (const auto& [name, ref] : instance.secrets) {
    if (!manifest.secrets.contains(name)) {
      return widen("secrets." + name,
                   "the skill's manifest declares no secret " + name + " (see [secrets])");
    }
  }
  for (const auto& [name, value] : instance.env) {
    if (manifest.secrets.contains(name)) {
      return widen("env." + name, name + " is a secret of the skill; give it under secrets");
    }
  }
  return out;
}

}  // namespace skillrt
