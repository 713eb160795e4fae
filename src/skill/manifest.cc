// skill.toml: the capability manifest. Schema: docs/manifest.md.
#include "skillrt/manifest.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "container/launch_policy.h"
#include "net/egress_policy.h"
#include "skillrt/grants.h"
#include "skill/frontmatter.h"
#include "skill/manifest_internal.h"
#include "skill/limit_fields.h"
#include "runtime/path_pin.h"
#include "util/toml_type.h"

namespace skillrt {
namespace manifest_internal {
namespace {

namespace fs = std::filesystem;

int LineOf(const toml::node& node) { return static_cast<int>(node.source().begin.line); }

std::string Join(std::string_view prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : std::string(prefix) + "." + std::string(key);
}

bool IsEnvName(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    if (!(alpha || (digit && i > 0))) return false;
  }
  return true;
}

// Returns why `path` cannot be granted, or nothing. On success `*normal` holds the normalized
// form (no ".", no repeated or trailing "/").
std::optional<std::string> CheckHostPath(std::string_view path, std::string* normal) {
  if (path.empty()) return "empty path";
  if (path.find('\0') != std::string_view::npos) return "path contains a NUL character";
  if (path.front() != '/') return "'" + std::string(path) + "' is not an absolute path";
  for (const auto& part : fs::path(path)) {
    if (part == "..") {
      return "'" + std::string(path) + "' is not normalized (contains a '..' component)";
    }
  }
  std::string norm = fs::path(path).lexically_normal().string();
  while (norm.size() > 1 && norm.back() == '/') norm.pop_back();
  // The declared form is checked here, the resolved one again when a plan is made
  // (runtime/path_pin.h): a declared path may be a symbolic link into one of these.
  if (std::optional<std::string_view> reserved = ReservedHostPath(norm)) {
    return "'" + norm + "' is or lies under '" + std::string(*reserved) +
           "', a reserved or system path that cannot be granted (reserved: " +
           std::string(ReservedHostPathList()) + ")";
  }
  *normal = std::move(norm);
  return std::nullopt;
}

std::optional<std::string> CheckCommand(std::string_view cmd) {
  if (cmd.empty()) return "empty command";
  if (cmd.find('\0') != std::string_view::npos) return "command contains a NUL character";
  if (cmd.find_first_of(" \t\n\r") != std::string_view::npos) {
    return "'" + std::string(cmd) + "' contains whitespace; name one executable";
  }
  if (cmd.front() == '/') {
    for (const auto& part : fs::path(cmd)) {
      if (part == ".." || part == ".") {
        return "'" + std::string(cmd) + "' is not a normalized absolute path";
      }
    }
    if (cmd.back() == '/') return "'" + std::string(cmd) + "' names a directory";
    return std::nullopt;
  }
  if (cmd.find('/') != std::string_view::npos) {
    return "'" + std::string(cmd) + "' must be a command name without '/' or an absolute path";
  }
  if (cmd == "." || cmd == "..") return "'" + std::string(cmd) + "' is not a command name";
  return std::nullopt;
}

nlohmann::json TomlToJson(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& [key, value] : *node.as_table()) {
        out[std::string(key.str())] = TomlToJson(value);
      }
      return out;
    }
    case toml::node_type::array: {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& value : *node.as_array()) out.push_back(TomlToJson(value));
      return out;
    }
    case toml::node_type::string: return node.as_string()->get();
    case toml::node_type::integer: return node.as_integer()->get();
    case toml::node_type::floating_point: return node.as_floating_point()->get();
    case toml::node_type::boolean: return node.as_boolean()->get();
    default: {
      std::ostringstream text;
      if (const auto* d = node.as_date()) text << d->get();
      if (const auto* t = node.as_time()) text << t->get();
      if (const auto* dt = node.as_date_time()) text << dt->get();
      return text.str();
    }
  }
}

// Why `file` cannot be the source module of a [wasm] skill, or nothing.
std::optional<std::string> CheckWasmSource(const std::string& file, WasmLanguage language) {
  if (file.empty()) return "must not be empty";
  if (file.find('\0') != std::string::npos) return "contains a NUL character";
  const fs::path path(file);
  if (path.is_absolute()) return "'" + file + "' must be a path relative to the skill directory";
  for (const auto& part : path) {
    if (part == "..") return "'" + file + "' leaves the skill directory (contains '..')";
  }
  const std::string ext = path.extension().string();
  switch (language) {
    case WasmLanguage::kPython:
      if (ext != ".py") return "'" + file + "' is not a Python module (expected a .py file)";
      break;
    case WasmLanguage::kJavaScript:
      if (ext != ".js" && ext != ".mjs") {
        return "'" + file + "' is not a JavaScript module (expected a .js or .mjs file)";
      }
      break;
    case WasmLanguage::kTypeScript:
      if (ext != ".ts" && ext != ".mts") {
        return "'" + file + "' is not a TypeScript module (expected a .ts or .mts file)";
      }
      break;
  }
  return std::nullopt;
}

// Why `dep` cannot be a [wasm] dependency, or nothing: "name==version" for Python (PyPI),
// "name@version" or "@scope/name@version" for JavaScript (npm), pinned to one version.
std::optional<std::string> CheckWasmDependency(const std::string& dep, bool python) {
  auto name_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.';
  };
  auto version_ok = [](std::string_view v) {
    if (v.empty() || !(v.front() >= '0' && v.front() <= '9')) return false;
    return std::all_of(v.begin(), v.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '+' || c == '-' || c == '!';
    });
  };
  if (python) {
    const size_t eq = dep.find("==");
    const std::string name = dep.substr(0, eq);
    if (eq == std::string::npos || name.empty() ||
        !std::all_of(name.begin(), name.end(), name_char) || !version_ok(dep.substr(eq + 2))) {
      return "'" + dep + "' is not a pinned PyPI requirement: write name==version, e.g. "
             "\"humanize==4.9.0\" (the component is cached by what it was built from)";
    }
    return std::nullopt;
  }
  const size_t at = dep.rfind('@');
  std::string name = at == std::string::npos || at == 0 ? std::string() : dep.substr(0, at);
  std::string_view bare = name;
  if (bare.starts_with("@")) {
    const size_t slash = bare.find('/');
    if (slash == std::string_view::npos || slash == 1) {
      bare = {};
    } else {
      std::string_view scope = bare.substr(1, slash - 1);
      bare = std::all_of(scope.begin(), scope.end(), name_char) ? bare.substr(slash + 1)
                                                                  : std::string_view();
    }
  }
  if (bare.empty() || bare.front() == '.' || bare.front() == '_' ||
      !std::all_of(bare.begin(), bare.end(), name_char) || !version_ok(dep.substr(at + 1))) {
    return "'" + dep + "' is not a pinned npm package: write name@version, e.g. "
           "\"papaparse@5.4.1\" (the component is cached by what it was built from)";
  }
  return std::nullopt;
}

class Parser {
 public:
  explicit Parser(const fs::path& skill_dir) : skill_dir_(skill_dir) {}

  ParseOutput Run(std::string_view text) {
    toml::table root;
    try {
      root = toml::parse(text);
    } catch (const toml::parse_error& e) {
      out_.issues.push_back(Issue{.code = ErrorCode::kParse,
                                  .line = static_cast<int>(e.source().begin.line),
                                  .column = static_cast<int>(e.source().begin.column),
                                  .message = std::string(e.description())});
      return std::move(out_);
    } catch (const std::exception& e) {
      out_.issues.push_back(Issue{.code = ErrorCode::kParse, .message = e.what()});
      return std::move(out_);
    }
    Unknown(root, "",
            {"runtime", "entry", "capabilities", "limits", "secrets", "container", "dependencies",
             "wasm"});
    if (const toml::node* n = root.get("runtime")) Runtime(*n);
    if (const toml::node* n = root.get("wasm")) {
      if (const toml::table* t = Table(*n, "wasm")) WasmTable(*t);
    }
    const toml::node* container = root.get("container");
    if (out_.manifest.runtime == RuntimeKind::kContainer) {
      if (container == nullptr) {
        Add(LineOf(root), "container",
            "required with runtime = \"container\": a [container] table with at least "
            "image = \"...\"");
      } else if (const toml::table* t = Table(*container, "container")) {
        ContainerTable(*t);
      }
    } else if (container != nullptr) {
      Add(LineOf(*container), "container", "only valid with runtime = \"container\"");
    }
    if (const toml::node* n = root.get("entry")) {
      if (const toml::table* t = Table(*n, "entry")) Entry(*t);
    }
    if (out_.manifest.wasm) WasmEntry(root);
    if (!container_command_.empty()) {
      if (out_.manifest.entry && !out_.manifest.entry->argv.empty()) {
        Add(container_command_line_, "container.command",
            "entry.argv is also set; give the command once");
      } else {
        if (!out_.manifest.entry) out_.manifest.entry = EntryPoint{};
        out_.manifest.entry->argv = container_command_;
      }
    }
    if (const toml::node* n = root.get("capabilities")) {
      if (const toml::table* t = Table(*n, "capabilities")) {
        Caps(*t);
        const toml::node* commands = t->get("commands");
        if (commands != nullptr && out_.manifest.runtime == RuntimeKind::kContainer) {
          Add(LineOf(*commands), "capabilities.commands",
              "not used by the container runtime: every program in the image may run "
              "(choose the image accordingly); remove the key");
        }
      }
    }
    if (const toml::node* n = root.get("limits")) {
      if (const toml::table* t = Table(*n, "limits")) LimitsTable(*t);
    }
    if (const toml::node* n = root.get("secrets")) {
      if (const toml::table* t = Table(*n, "secrets")) Secrets(*t);
    }
    if (const toml::node* n = root.get("dependencies")) {
      if (const toml::table* t = Table(*n, "dependencies")) DependenciesTable(*t);
    }
    return std::move(out_);
  }

 private:
  void Add(int line, std::string key_path, std::string message) {
    out_.issues.push_back(Issue{.code = ErrorCode::kValidation,
                                .line = line,
                                .key_path = std::move(key_path),
                                .message = std::move(message)});
  }

  void Expected(const toml::node& node, const std::string& path, std::string_view what) {
    Add(LineOf(node), path, "expected " + std::string(what) + ", got " + TomlTypeName(node));
  }

  void Unknown(const toml::table& table, std::string_view prefix,
               std::initializer_list<std::string_view> known) {
    for (const auto& [key, value] : table) {
      if (std::find(known.begin(), known.end(), key.str()) == known.end()) {
        Add(static_cast<int>(key.source().begin.line), Join(prefix, key.str()), "unknown key");
      }
    }
  }

  const toml::table* Table(const toml::node& node, const std::string& path) {
    if (const toml::table* t = node.as_table()) return t;
    Expected(node, path, "a table");
    return nullptr;
  }

  const std::string* String(const toml::node& node, const std::string& path) {
    if (const auto* s = node.as_string()) return &s->get();
    Expected(node, path, "a string");
    return nullptr;
  }

  // Calls `each(element, element_path)` for each string of an array at `path`.
  template <typename F>
  void Strings(const toml::node& node, const std::string& path, F each) {
    const toml::array* array = node.as_array();
    if (array == nullptr) {
      Expected(node, path, "an array of strings");
      return;
    }
    for (std::size_t i = 0; i < array->size(); ++i) {
      const toml::node& element = *array->get(i);
      std::string element_path = path + "[" + std::to_string(i) + "]";
      if (const auto* s = element.as_string()) {
        each(s->get(), element, element_path);
      } else {
        Expected(element, element_path, "a string");
      }
    }
  }

  void Runtime(const toml::node& node) {
    const std::string* s = String(node, "runtime");
    if (s == nullptr) return;
    if (*s == "native") {
      out_.manifest.runtime = RuntimeKind::kNative;
    } else if (*s == "wasm") {
      out_.manifest.runtime = RuntimeKind::kWasm;
    } else if (*s == "container") {
      out_.manifest.runtime = RuntimeKind::kContainer;
    } else {
      Add(LineOf(node), "runtime",
          "unknown runtime '" + *s + "' (expected \"native\", \"wasm\" or \"container\")");
    }
  }

  void Entry(const toml::table& table) {
    Unknown(table, "entry", {"argv", "input", "output", "input_schema"});
    EntryPoint entry;
    const toml::node* argv = table.get("argv");
    if (argv == nullptr && !container_command_.empty()) {
      // The command comes from container.command.
    } else if (argv == nullptr && wasm_table_) {
      // The command is the [wasm] table's built component (WasmEntry).
    } else if (argv == nullptr) {
      Add(LineOf(table), "entry.argv", "required: the command to run, e.g. [\"python3\", "
                                        "\"scripts/run.py\"]");
    } else {
      Strings(*argv, "entry.argv",
              [&](const std::string& arg, const toml::node& element, const std::string& path) {
                if (arg.find('\0') != std::string::npos) {
                  Add(LineOf(element), path, "contains a NUL character");
                }
                entry.argv.push_back(arg);
              });
      if (argv->is_array() && argv->as_array()->empty()) {
        Add(LineOf(*argv), "entry.argv", "must not be empty");
      } else if (!entry.argv.empty() && entry.argv.front().empty()) {
        Add(LineOf(*argv), "entry.argv[0]", "must not be empty");
      }
    }
    if (const toml::node* n = table.get("input")) {
      if (const std::string* s = String(*n, "entry.input")) {
        if (*s == "stdin") {
          entry.input = InputMode::kStdin;
        } else if (*s == "none") {
          entry.input = InputMode::kNone;
        } else {
          Add(LineOf(*n), "entry.input",
              "unknown input mode '" + *s + "' (expected \"stdin\" or \"none\")");
        }
      }
    }
    if (const toml::node* n = table.get("output")) {
      if (const std::string* s = String(*n, "entry.output")) {
        if (*s == "json") {
          entry.output = OutputMode::kJson;
        } else if (*s == "text") {
          entry.output = OutputMode::kText;
        } else {
          Add(LineOf(*n), "entry.output",
              "unknown output mode '" + *s + "' (expected \"json\" or \"text\")");
        }
      }
    }
    if (const toml::node* n = table.get("input_schema")) InputSchema(*n);
    out_.manifest.entry = std::move(entry);
  }

  // [wasm]: a Python or JavaScript skill built into a component (docs/wasm-languages.md).
  void WasmTable(const toml::table& table) {
    wasm_table_ = true;
    Unknown(table, "wasm", {"language", "source", "dependencies"});
    if (out_.manifest.runtime != RuntimeKind::kWasm) {
      Add(LineOf(table), "wasm", "only valid with runtime = \"wasm\"");
      return;
    }
    WasmSource wasm;
    const toml::node* language = table.get("language");
    if (language == nullptr) {
      Add(LineOf(table), "wasm.language",
          "required: \"python\", \"javascript\" or \"typescript\"");
      return;
    }
    if (const std::string* s = String(*language, "wasm.language")) {
      if (*s == "python") {
        wasm.language = WasmLanguage::kPython;
      } else if (*s == "javascript") {
        wasm.language = WasmLanguage::kJavaScript;
      } else if (*s == "typescript") {
        wasm.language = WasmLanguage::kTypeScript;
      } else {
        Add(LineOf(*language), "wasm.language",
            "unknown language '" + *s +
                "' (expected \"python\", \"javascript\" or \"typescript\")");
        return;
      }
    } else {
      return;
    }
    const bool python = wasm.language == WasmLanguage::kPython;
    const toml::node* source = table.get("source");
    if (source == nullptr) {
      Add(LineOf(table), "wasm.source",
          std::string("required: the module that defines run, e.g. ") +
              (python                                            ? "\"main.py\""
               : wasm.language == WasmLanguage::kTypeScript ? "\"main.ts\""
                                                            : "\"main.js\""));
      return;
    }
    const std::string* file = String(*source, "wasm.source");
    if (file == nullptr) return;
    if (auto problem = CheckWasmSource(*file, wasm.language)) {
      Add(LineOf(*source), "wasm.source", *problem);
      return;
    }
    wasm.source = *file;
    if (const toml::node* n = table.get("dependencies")) {
      std::set<std::string> seen;
      Strings(*n, "wasm.dependencies",
              [&](const std::string& dep, const toml::node& element, const std::string& path) {
                if (auto problem = CheckWasmDependency(dep, python)) {
                  Add(LineOf(element), path, *problem);
                } else if (!seen.insert(dep).second) {
                  Add(LineOf(element), path, "duplicate entry '" + dep + "'");
                } else {
                  wasm.dependencies.push_back(dep);
                }
              });
    }
    out_.manifest.wasm = std::move(wasm);
  }

  // With [wasm], the entry point is the built component: `entry` may set only the input
  // schema, and argv becomes [source] (the runtime loads the component built from it).
  void WasmEntry(const toml::table& root) {
    EntryPoint entry = out_.manifest.entry.value_or(EntryPoint{});
    if (const toml::node* n = root.get("entry")) {
      if (const toml::table* t = n->as_table()) {
        for (std::string_view key : {"argv", "input", "output"}) {
          if (const toml::node* k = t->get(key)) {
            Add(LineOf(*k), "entry." + std::string(key),
                "not used with [wasm]: the built component is the entry point (it takes the "
                "input as its argument and returns the output); remove the key");
          }
        }
      }
    }
    entry.argv = {out_.manifest.wasm->source};
    entry.input = InputMode::kStdin;
    entry.output = OutputMode::kJson;
    out_.manifest.entry = std::move(entry);
  }

  // [container]: how a container skill is launched. Types and forms are checked here; the
  // launch policy (src/container/launch_policy.h) then refuses whatever would weaken
  // isolation, each refusal reported at its key's line so that `validate` shows it.
  void ContainerTable(const toml::table& table) {
    Unknown(table, "container",
            {"image", "entrypoint", "command", "workdir", "user", "read_only_root", "cpus",
             "privileged", "network", "pid", "ipc", "uts", "cap_add", "devices"});
    ContainerSpec spec;
    auto string_key = [&](std::string_view key, std::string* out) {
      const toml::node* n = table.get(key);
      if (n == nullptr) return;
      if (const std::string* s = String(*n, "container." + std::string(key))) *out = *s;
    };
    auto bool_key = [&](std::string_view key, bool* out) {
      const toml::node* n = table.get(key);
      if (n == nullptr) return;
      if (const auto* b = n->as_boolean()) {
        *out = b->get();
      } else {
        Expected(*n, "container." + std::string(key), "a boolean");
      }
    };
    auto strings_key = [&](std::string_view key, std::vector<std::string>* out) {
      const toml::node* n = table.get(key);
      if (n == nullptr) return;
      const std::string path = "container." + std::string(key);
      Strings(*n, path,
              [&](const std::string& value, const toml::node& element, const std::string& at) {
                if (value.find('\0') != std::string::npos) {
                  Add(LineOf(element), at, "contains a NUL character");
                }
                out->push_back(value);
              });
    };
    string_key("image", &spec.image);
    strings_key("entrypoint", &spec.entrypoint);
    strings_key("command", &container_command_);
    string_key("workdir", &spec.workdir);
    string_key("user", &spec.user);
    bool_key("read_only_root", &spec.read_only_root);
    string_key("network", &spec.network);
    string_key("pid", &spec.pid);
    string_key("ipc", &spec.ipc);
    string_key("uts", &spec.uts);
    bool_key("privileged", &spec.privileged);
    strings_key("cap_add", &spec.cap_add);
    strings_key("devices", &spec.devices);
    if (const toml::node* n = table.get("cpus")) {
      if (const auto* i = n->as_integer()) {
        spec.cpus = static_cast<double>(i->get());
      } else if (const auto* f = n->as_floating_point()) {
        spec.cpus = f->get();
      } else {
        Expected(*n, "container.cpus", "a number");
      }
    }
    if (const toml::node* n = table.get("entrypoint"); n != nullptr && n->is_array()) {
      if (n->as_array()->empty()) Add(LineOf(*n), "container.entrypoint", "must not be empty");
    }
    if (const toml::node* n = table.get("command")) {
      container_command_line_ = LineOf(*n);
      if (n->is_array() && n->as_array()->empty()) {
        Add(LineOf(*n), "container.command", "must not be empty");
      } else if (!container_command_.empty() && container_command_.front().empty()) {
        Add(LineOf(*n), "container.command[0]", "must not be empty");
      }
    }
    if (table.get("image") == nullptr) {
      Add(LineOf(table), "container.image",
          "required: the image to run, e.g. \"localhost/skillrt-busybox:1\"");
    }
    for (const container::Refusal& refusal : container::CheckSpec(spec)) {
      if (refusal.key == "container.image" && spec.image.empty()) continue;  // Reported above.
      // The key's line: "container.cap_add[1]" is reported at cap_add's line.
      std::string key = refusal.key.substr(std::string_view("container.").size());
      key = key.substr(0, key.find('['));
      const toml::node* n = table.get(key);
      Add(n != nullptr ? LineOf(*n) : LineOf(table), refusal.key,
          "refused by the container launch policy: " + refusal.message);
    }
    out_.manifest.container = std::move(spec);
  }

  void InputSchema(const toml::node& node) {
    const std::string key = "entry.input_schema";
    nlohmann::json schema;
    if (const toml::table* t = node.as_table()) {
      schema = TomlToJson(*t);
    } else if (const auto* s = node.as_string()) {
      auto loaded = LoadSchemaFile(s->get(), LineOf(node));
      if (!loaded) return;
      schema = std::move(*loaded);
    } else {
      Expected(node, key, "a path (string) or an inline table");
      return;
    }
    if (auto problem = CheckSchema(schema)) {
      Add(LineOf(node), key, "invalid schema: " + *problem);
      return;
    }
    out_.manifest.input_schema = std::move(schema);
  }

  std::optional<nlohmann::json> LoadSchemaFile(const std::string& rel, int line) {
    const std::string key = "entry.input_schema";
    if (rel.empty() || rel.find('\0') != std::string::npos) {
      Add(line, key, "expected a relative path to a JSON file");
      return std::nullopt;
    }
    fs::path p(rel);
    if (p.is_absolute()) {
      Add(line, key, "'" + rel + "' must be a path relative to the skill directory");
      return std::nullopt;
    }
    for (const auto& part : p) {
      if (part == "..") {
        Add(line, key, "'" + rel + "' must stay inside the skill directory (no '..')");
        return std::nullopt;
      }
    }
    std::error_code ec;
    fs::path base = fs::canonical(skill_dir_, ec);
    if (ec) {
      Add(line, key, "cannot resolve the skill directory '" + skill_dir_.string() + "'");
      return std::nullopt;
    }
    fs::path full = fs::weakly_canonical(base / p, ec);
    auto [base_end, full_it] = std::mismatch(base.begin(), base.end(), full.begin(), full.end());
    if (ec || base_end != base.end()) {
      Add(line, key, "'" + rel + "' resolves outside the skill directory");
      return std::nullopt;
    }
    auto text = frontmatter::ReadBoundedFile(full, kMaxManifestBytes);
    if (!text) {
      Add(line, key, text.error().message);
      return std::nullopt;
    }
    try {
      return nlohmann::json::parse(*text);
    } catch (const nlohmann::json::exception& e) {
      Add(line, key, "'" + rel + "' is not valid JSON: " + e.what());
      return std::nullopt;
    }
  }

  // [dependencies]: packages installed outside the sandbox (docs/dependencies.md).
  void DependenciesTable(const toml::table& table) {
    Unknown(table, "dependencies", {"python"});
    if (out_.manifest.runtime != RuntimeKind::kNative) {
      Add(LineOf(table), "dependencies",
          "only the native runtime mounts a dependency environment");
      return;
    }
    if (const toml::node* n = table.get("python")) {
      std::set<std::string> seen;
      Strings(*n, "dependencies.python",
              [&](const std::string& req, const toml::node& element, const std::string& path) {
                if (auto problem = CheckPythonRequirement(req)) {
                  Add(LineOf(element), path, *problem);
                } else if (!seen.insert(req).second) {
                  Add(LineOf(element), path, "duplicate entry '" + req + "'");
                } else {
                  out_.manifest.dependencies.python.push_back(req);
                }
              });
    }
  }

  void Caps(const toml::table& table) {
    Unknown(table, "capabilities", {"read", "write", "network", "commands", "env"});
    Capabilities& caps = out_.manifest.capabilities;
    std::set<std::string> read_seen;
    if (const toml::node* n = table.get("read")) {
      Paths(*n, "capabilities.read", &caps.read_paths, &read_seen, nullptr);
    }
    if (const toml::node* n = table.get("write")) {
      std::set<std::string> write_seen;
      Paths(*n, "capabilities.write", &caps.write_paths, &write_seen, &read_seen);
    }
    if (const toml::node* n = table.get("network")) {
      if (const auto* b = n->as_boolean()) {
        if (b->get()) {
          Add(LineOf(*n), "capabilities.network",
              "true does not say where to: declare the hosts instead, e.g. "
              "[capabilities.network] allow = [\"api.example.com\"]");
        }
      } else if (const toml::table* t = n->as_table()) {
        Network(*t);
      } else {
        Expected(*n, "capabilities.network", "false or a table with 'allow'");
      }
    }
    if (const toml::node* n = table.get("commands")) {
      std::set<std::string> seen;
      Strings(*n, "capabilities.commands",
              [&](const std::string& cmd, const toml::node& element, const std::string& path) {
                if (auto problem = CheckCommand(cmd)) {
                  Add(LineOf(element), path, *problem);
                } else if (!seen.insert(cmd).second) {
                  Add(LineOf(element), path, "duplicate entry '" + cmd + "'");
                } else {
                  caps.commands.push_back(cmd);
                }
              });
    }
    if (const toml::node* n = table.get("env")) {
      if (const toml::table* t = Table(*n, "capabilities.env")) Env(*t);
    }
  }

  // [capabilities.network]: allow = ["host[:port]", { host = "...", addresses = [...] }, ...].
  void Network(const toml::table& table) {
    Unknown(table, "capabilities.network", {"allow"});
    const toml::node* allow = table.get("allow");
    if (allow == nullptr) return;
    const toml::array* array = allow->as_array();
    if (array == nullptr) {
      Expected(*allow, "capabilities.network.allow", "an array");
      return;
    }
    Capabilities& caps = out_.manifest.capabilities;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < array->size(); ++i) {
      const toml::node& element = *array->get(i);
      const std::string path = "capabilities.network.allow[" + std::to_string(i) + "]";
      std::string host;
      std::vector<std::string> addresses;
      bool tls = false;
      if (const auto* s = element.as_string()) {
        host = s->get();
      } else if (const toml::table* t = element.as_table()) {
        Unknown(*t, path, {"host", "addresses", "tls"});
        const toml::node* h = t->get("host");
        if (h == nullptr) {
          Add(LineOf(element), path + ".host", "required: \"host[:port]\"");
          continue;
        }
        const std::string* text = String(*h, path + ".host");
        if (text == nullptr) continue;
        host = *text;
        if (const toml::node* a = t->get("addresses")) {
          const size_t issues = out_.issues.size();
          Strings(*a, path + ".addresses",
                  [&](const std::string& text, const toml::node&, const std::string&) {
                    addresses.push_back(text);
                  });
          if (out_.issues.size() != issues) continue;
        }
        if (const toml::node* flag = t->get("tls")) {
          if (!flag->is_boolean()) {
            Expected(*flag, path + ".tls", "a boolean");
            continue;
          }
          tls = flag->as_boolean()->get();
        }
      } else {
        Expected(element, path, "a string \"host[:port]\" or a table { host, addresses, tls }");
        continue;
      }
      Result<EgressRule> rule = net::ParseEgressRule(host, addresses);
      if (!rule) {
        Add(LineOf(element), path, rule.error().message);
        continue;
      }
      if (!seen.insert(EgressRuleText(*rule)).second) {
        Add(LineOf(element), path, "duplicate entry '" + EgressRuleText(*rule) + "'");
        continue;
      }
      rule->tls = tls;
      caps.egress.push_back(std::move(*rule));
    }
    caps.network = !caps.egress.empty();
  }

  void Paths(const toml::node& node, const std::string& key, std::vector<fs::path>* out,
             std::set<std::string>* seen, const std::set<std::string>* other) {
    Strings(node, key,
            [&](const std::string& raw, const toml::node& element, const std::string& path) {
              std::string norm;
              if (auto problem = CheckHostPath(raw, &norm)) {
                Add(LineOf(element), path, *problem);
              } else if (!seen->insert(norm).second) {
                Add(LineOf(element), path, "duplicate entry '" + norm + "'");
              } else if (other != nullptr && other->contains(norm)) {
                Add(LineOf(element), path,
                    "'" + norm + "' is also listed in capabilities.read; list it once");
              } else {
                out->push_back(norm);
              }
            });
  }

  void Env(const toml::table& table) {
    Unknown(table, "capabilities.env", {"pass", "set"});
    EnvCapability& env = out_.manifest.capabilities.env;
    if (const toml::node* n = table.get("pass")) {
      std::set<std::string> seen;
      Strings(*n, "capabilities.env.pass",
              [&](const std::string& name, const toml::node& element, const std::string& path) {
                if (!IsEnvName(name)) {
                  Add(LineOf(element), path,
                      "'" + name + "' is not a variable name ([A-Za-z_][A-Za-z0-9_]*)");
                } else if (EnvNameOwnerOf(name) == EnvNameOwner::kSkillrt) {
                  Add(LineOf(element), path, name + " is reserved by skillrt");
                } else if (!seen.insert(name).second) {
                  Add(LineOf(element), path, "duplicate entry '" + name + "'");
                } else {
                  env.pass.push_back(name);
                }
              });
    }
    if (const toml::node* n = table.get("set")) {
      const toml::table* set = Table(*n, "capabilities.env.set");
      if (set == nullptr) return;
      for (const auto& [key, value] : *set) {
        std::string path = "capabilities.env.set." + std::string(key.str());
        if (!IsEnvName(key.str())) {
          Add(static_cast<int>(key.source().begin.line), path,
              "'" + std::string(key.str()) + "' is not a variable name ([A-Za-z_][A-Za-z0-9_]*)");
          continue;
        }
        if (EnvNameOwnerOf(key.str()) == EnvNameOwner::kSkillrt) {
          Add(static_cast<int>(key.source().begin.line), path,
              std::string(key.str()) + " is reserved by skillrt");
          continue;
        }
        const auto* s = value.as_string();
        if (s == nullptr) {
          Expected(value, path, "a string");
        } else if (s->get().find('\0') != std::string::npos) {
          Add(LineOf(value), path, "contains a NUL character");
        } else {
          env.set[std::string(key.str())] = s->get();
        }
      }
    }
  }

  // `[secrets]`: NAME = { description = "...", required = true, redact = true }. Runs after
  // [capabilities] so that a name also used there can be reported.
  void Secrets(const toml::table& table) {
    const EnvCapability& env = out_.manifest.capabilities.env;
    for (const auto& [key, value] : table) {
      const std::string name(key.str());
      const std::string path = "secrets." + name;
      const int key_line = static_cast<int>(key.source().begin.line);
      if (!IsEnvName(name)) {
        Add(key_line, path, "'" + name + "' is not a variable name ([A-Za-z_][A-Za-z0-9_]*)");
        continue;
      }
      if (IsReservedVariable(name)) {
        Add(key_line, path, name + " is reserved by skillrt");
        continue;
      }
      if (std::find(env.pass.begin(), env.pass.end(), name) != env.pass.end() ||
          env.set.contains(name)) {
        Add(key_line, path,
            name + " is also named in capabilities.env; a secret's variable comes only from "
                   "its reference");
        continue;
      }
      const toml::table* spec_table = Table(value, path);
      if (spec_table == nullptr) continue;
      Unknown(*spec_table, path, {"description", "required", "redact"});
      SecretSpec spec;
      if (const toml::node* n = spec_table->get("description")) {
        if (const std::string* s = String(*n, path + ".description")) spec.description = *s;
      }
      for (auto [field, target] : {std::pair{"required", &spec.required},
                                   std::pair{"redact", &spec.redact}}) {
        const toml::node* n = spec_table->get(field);
        if (n == nullptr) continue;
        if (const auto* b = n->as_boolean()) {
          *target = b->get();
        } else {
          Expected(*n, path + "." + field, "a boolean");
        }
      }
      out_.manifest.secrets[name] = std::move(spec);
    }
  }

  void LimitsTable(const toml::table& table) {
    Unknown(table, "limits",
            {"wall_time_ms", "cpu_time_ms", "memory_mb", "processes", "output_kb",
             "file_size_mb", "scratch_mb", "open_files"});
    Limits& limits = out_.manifest.limits;
    for (const LimitField& spec : LimitFields()) {
      const toml::node* n = table.get(spec.key);
      if (n == nullptr) continue;
      std::string path = "limits." + std::string(spec.key);
      const auto* i = n->as_integer();
      if (i == nullptr) {
        Expected(*n, path, "a positive integer");
        continue;
      }
      int64_t v = i->get();
      if (v <= 0) {
        Add(LineOf(*n), path, "expected a positive integer, got " + std::to_string(v));
        continue;
      }
      if (v > spec.max) {
        Add(LineOf(*n), path,
            std::to_string(v) + " is above the maximum of " + std::to_string(spec.max) +
                (spec.unit.empty() ? "" : " " + std::string(spec.unit)));
        continue;
      }
      spec.set(limits, static_cast<uint64_t>(v));
    }
  }

  fs::path skill_dir_;
  bool wasm_table_ = false;  // The manifest has a [wasm] table.
  ParseOutput out_;
  std::vector<std::string> container_command_;  // container.command, if given.
  int container_command_line_ = 0;
};

}  // namespace

bool IsVariableName(std::string_view name) { return IsEnvName(name); }

bool IsReservedVariable(std::string_view name) {
  return EnvNameOwnerOf(name) != EnvNameOwner::kAnyone;
}

std::optional<std::string> CheckGrantPath(std::string_view path, std::string* normal) {
  return CheckHostPath(path, normal);
}

std::optional<std::string> CheckCommandName(std::string_view command) {
  return CheckCommand(command);
}

ParseOutput ParseAll(std::string_view toml_text, const fs::path& skill_dir) {
  try {
    return Parser(skill_dir).Run(toml_text);
  } catch (const std::exception& e) {  // e.g. std::bad_alloc; nothing else is expected.
    ParseOutput out;
    out.issues.push_back(Issue{.code = ErrorCode::kInternal, .message = e.what()});
    return out;
  }
}

std::string FormatIssue(std::string_view source, const Issue& issue) {
  std::string out(source);
  if (issue.key_path.empty()) {
    if (issue.line > 0) {
      out += ":" + std::to_string(issue.line);
      if (issue.column > 0) out += ":" + std::to_string(issue.column);
    }
  } else {
    out += ": " + issue.key_path;
  }
  out += ": " + issue.message;
  return out;
}

}  // namespace manifest_internal

std::string_view WasmLanguageName(WasmLanguage language) {
  switch (language) {
    case WasmLanguage::kPython:
      return "python";
    case WasmLanguage::kJavaScript:
      return "javascript";
    case WasmLanguage::kTypeScript:
      return "typescript";
  }
  return "python";
}

std::string_view RuntimeKindName(RuntimeKind kind) {
  switch (kind) {
    case RuntimeKind::kNative: return "native";
    case RuntimeKind::kWasm: return "wasm";
    case RuntimeKind::kContainer: return "container";
  }
  return "unknown";
}

Limits NarrowLimits(const Limits& a, const Limits& b) {
  return Limits{
      .wall_time = std::min(a.wall_time, b.wall_time),
      .cpu_time = std::min(a.cpu_time, b.cpu_time),
      .memory_max_bytes = std::min(a.memory_max_bytes, b.memory_max_bytes),
      .pids_max = std::min(a.pids_max, b.pids_max),
      .output_max_bytes = std::min(a.output_max_bytes, b.output_max_bytes),
      .file_size_max_bytes = std::min(a.file_size_max_bytes, b.file_size_max_bytes),
      .scratch_max_bytes = std::min(a.scratch_max_bytes, b.scratch_max_bytes),
      .open_files_max = std::min(a.open_files_max, b.open_files_max),
  };
}

Result<Manifest> ParseManifest(std::string_view toml_text, std::string_view source,
                               const std::filesystem::path& skill_dir) {
  manifest_internal::ParseOutput out = manifest_internal::ParseAll(toml_text, skill_dir);
  if (!out.issues.empty()) {
    const manifest_internal::Issue& first = out.issues.front();
    std::string message = manifest_internal::FormatIssue(source, first);
    if (out.issues.size() > 1) {
      message += " (and " + std::to_string(out.issues.size() - 1) + " more)";
    }
    return Fail(first.code, std::move(message));
  }
  return std::move(out.manifest);
}

Result<Manifest> ParseManifestFile(const std::filesystem::path& file,
                                   const std::filesystem::path& skill_dir) {
  auto text = frontmatter::ReadBoundedFile(file, manifest_internal::kMaxManifestBytes);
  if (!text) return std::unexpected(text.error());
  return ParseManifest(*text, file.string(), skill_dir);
}

EnvNameOwner EnvNameOwnerOf(std::string_view name) {
  if (name == "SKILL_DIR" || name.starts_with("SKILLRT_")) return EnvNameOwner::kSkillrt;
  if (name == "PATH" || name == "HOME" || name == "TMPDIR" || name == "LANG") {
    return EnvNameOwner::kBase;
  }
  return EnvNameOwner::kAnyone;
}

std::string EgressRuleText(const EgressRule& rule) {
  std::string host = rule.host.find(':') != std::string::npos ? "[" + rule.host + "]" : rule.host;
  return host + ":" + (rule.port == 0 ? std::string("*") : std::to_string(rule.port));
}

}  // namespace skillrt
