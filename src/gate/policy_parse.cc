// Policy files: strict TOML parsing and loading of the user, explicit and project layers
// (include/skillrt/policy.h, docs/policy.md "File format").
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <system_error>

#include <toml++/toml.h>

#include "skillrt/policy.h"
#include "skill/limit_fields.h"
#include "util/toml_type.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;

constexpr uintmax_t kMaxPolicyBytes = 1 << 20;
// Glob matching costs pattern length times text length; PATH_MAX bounds useful patterns.
constexpr size_t kMaxPatternBytes = 4096;

int LineOf(const toml::node& node) { return static_cast<int>(node.source().begin.line); }

// Reports the first problem found; parsing stops there. Every message names the file, the
// line and the key path.
class Parser {
 public:
  Parser(const fs::path& source, PolicyLayer layer, const PolicyVariables& vars)
      : source_(source), layer_(layer), vars_(vars) {}

  Result<Policy> Run(std::string_view text) {
    toml::table root;
    try {
      root = toml::parse(text, source_.string());
    } catch (const toml::parse_error& e) {
      return Fail(ErrorCode::kParse, source_.string() + ":" +
                                         std::to_string(e.source().begin.line) + ":" +
                                         std::to_string(e.source().begin.column) + ": " +
                                         std::string(e.description()));
    } catch (const std::exception& e) {
      return Fail(ErrorCode::kParse, source_.string() + ": " + e.what());
    }
    Policy policy;
    policy.files.push_back(source_);
    for (const auto& [key, value] : root) {
      const std::string k(key.str());
      const int line = static_cast<int>(key.source().begin.line);
      if (k == "version") {
        const auto* v = value.as_integer();
        if (v == nullptr) return Bad(value, k, "expected the integer 1, got " + TomlTypeName(value));
        if (v->get() != 1) return Bad(value, k, "unsupported version " +
                                                    std::to_string(v->get()) + " (expected 1)");
      } else if (k == "trust_project") {
        if (layer_ == PolicyLayer::kProject) {
          return BadLine(line, k, "only the user policy may trust project policies");
        }
        const auto* b = value.as_boolean();
        if (b == nullptr) return Bad(value, k, "expected a boolean, got " + TomlTypeName(value));
        policy.trust_project = b->get();
      } else if (k == "ceilings") {
        const toml::table* table = value.as_table();
        if (table == nullptr) return Bad(value, k, "expected a table, got " + TomlTypeName(value));
        if (auto ok = Ceilings(*table, &policy); !ok) return std::unexpected(ok.error());
      } else if (k == "rule") {
        const toml::array* rules = value.as_array();
        if (rules == nullptr || !rules->is_array_of_tables()) {
          return Bad(value, k, "expected [[rule]] tables, got " + TomlTypeName(value));
        }
        for (size_t i = 0; i < rules->size(); ++i) {
          auto rule = Rule(*rules->get(i)->as_table(), static_cast<int>(i) + 1);
          if (!rule) return std::unexpected(rule.error());
          policy.rules.push_back(std::move(*rule));
        }
      } else {
        return BadLine(line, k,
                       "unknown key (expected version, trust_project, [ceilings] or [[rule]])");
      }
    }
    return policy;
  }

 private:
  std::unexpected<Error> BadLine(int line, const std::string& key, const std::string& what) {
    return Fail(ErrorCode::kValidation,
                source_.string() + ":" + std::to_string(line) + ": " + key + ": " + what);
  }
  std::unexpected<Error> Bad(const toml::node& node, const std::string& key,
                             const std::string& what) {
    return BadLine(LineOf(node), key, what);
  }

  // The strings of the array `node` at `key`; each non-empty.
  Result<std::vector<std::string>> Strings(const toml::node& node, const std::string& key) {
    const toml::array* array = node.as_array();
    if (array == nullptr) return Bad(node, key, "expected an array of strings, got " +
                                                    TomlTypeName(node));
    if (array->empty()) return Bad(node, key, "must not be empty (omit the key instead)");
    std::vector<std::string> out;
    for (size_t i = 0; i < array->size(); ++i) {
      const toml::node& element = *array->get(i);
      const std::string path = key + "[" + std::to_string(i) + "]";
      const auto* s = element.as_string();
      if (s == nullptr) return Bad(element, path, "expected a string, got " + TomlTypeName(element));
      if (s->get().empty()) return Bad(element, path, "must not be empty");
      if (s->get().size() > kMaxPatternBytes) {
        return Bad(element, path, "longer than " + std::to_string(kMaxPatternBytes) + " bytes");
      }
      if (s->get().find('\0') != std::string::npos) {
        return Bad(element, path, "contains a NUL character");
      }
      out.push_back(s->get());
    }
    return out;
  }

  // `{workspace}` and `{home}` replaced; the result, without a leading '!', must be absolute.
  Result<std::string> PathPattern(const std::string& raw, const toml::node& node,
                                  const std::string& key) {
    std::string out;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '{') {
        out += raw[i];
        continue;
      }
      size_t close = raw.find('}', i);
      if (close == std::string::npos) return Bad(node, key, "unterminated '{' in '" + raw + "'");
      std::string name = raw.substr(i + 1, close - i - 1);
      if (name == "workspace") {
        out += vars_.workspace.string();
      } else if (name == "home") {
        if (vars_.home.empty()) return Bad(node, key, "{home} is unknown: HOME is not set");
        out += vars_.home.string();
      } else {
        return Bad(node, key, "unknown variable {" + name + "} (known: {workspace}, {home})");
      }
      i = close;
    }
    const bool negate = !out.empty() && out.front() == '!';
    std::string body = negate ? out.substr(1) : out;
    if (body.empty() || body.front() != '/') {
      return Bad(node, key, "'" + raw + "' is not an absolute path pattern (start it with /, "
                            "{workspace} or {home})");
    }
    // Stored normalized, as paths are compared (PathGlobMatch).
    body = fs::path(body).lexically_normal().string();
    while (body.size() > 1 && body.back() == '/') body.pop_back();
    return (negate ? "!" : "") + body;
  }

  Result<std::vector<std::string>> PathPatterns(const toml::node& node, const std::string& key) {
    auto raw = Strings(node, key);
    if (!raw) return std::unexpected(raw.error());
    const toml::array& array = *node.as_array();
    std::vector<std::string> out;
    for (size_t i = 0; i < raw->size(); ++i) {
      auto pattern =
          PathPattern((*raw)[i], *array.get(i), key + "[" + std::to_string(i) + "]");
      if (!pattern) return std::unexpected(pattern.error());
      out.push_back(std::move(*pattern));
    }
    return out;
  }

  // Maps each string of `key`'s array through `convert`, which returns nullopt for a value it
  // does not know; `expected` lists the known values for the message.
  template <typename T, typename F>
  Result<std::vector<T>> Enums(const toml::node& node, const std::string& key, F convert,
                               std::string_view expected) {
    auto raw = Strings(node, key);
    if (!raw) return std::unexpected(raw.error());
    std::vector<T> out;
    for (size_t i = 0; i < raw->size(); ++i) {
      std::optional<T> value = convert((*raw)[i]);
      if (!value) {
        return Bad(*node.as_array()->get(i), key + "[" + std::to_string(i) + "]",
                   "expected " + std::string(expected) + ", got \"" + (*raw)[i] + "\"");
      }
      out.push_back(*value);
    }
    return out;
  }

  // `[ceilings]`: the manifest's limit keys, each a positive integer in the manifest's unit.
  Result<void> Ceilings(const toml::table& table, Policy* policy) {
    for (const auto& [key, node] : table) {
      const std::string k(key.str());
      const LimitField* field = nullptr;
      for (const LimitField& f : LimitFields()) {
        if (f.key == k) field = &f;
      }
      if (field == nullptr) {
        return Bad(node, "ceilings." + k, "unknown limit (expected a [limits] key of skill.toml)");
      }
      const auto* i = node.as_integer();
      if (i == nullptr || i->get() <= 0 || i->get() > field->max) {
        return Bad(node, "ceilings." + k,
                   "expected an integer from 1 to " + std::to_string(field->max));
      }
      field->set(policy->ceilings, static_cast<uint64_t>(i->get()));
      policy->ceilings_set.emplace_back(k, static_cast<uint64_t>(i->get()));
    }
    return {};
  }

  Result<PolicyRule> Rule(const toml::table& table, int index) {
    const std::string prefix = "rule[" + std::to_string(index) + "]";
    PolicyRule rule;
    rule.file = source_;
    rule.layer = layer_;
    rule.index = index;
    rule.line = LineOf(table);
    rule.name = "rule " + std::to_string(index);
    bool has_effect = false;
    for (const auto& [key, value] : table) {
      const std::string k(key.str());
      const std::string path = prefix + "." + k;
      if (k == "name" || k == "reason") {
        const auto* s = value.as_string();
        if (s == nullptr) return Bad(value, path, "expected a string, got " + TomlTypeName(value));
        if (s->get().empty()) return Bad(value, path, "must not be empty");
        (k == "name" ? rule.name : rule.reason) = s->get();
      } else if (k == "effect") {
        const auto* s = value.as_string();
        std::string got = s ? "\"" + s->get() + "\"" : TomlTypeName(value);
        if (s != nullptr && s->get() == "allow") {
          rule.effect = PolicyEffect::kAllow;
        } else if (s != nullptr && s->get() == "ask") {
          rule.effect = PolicyEffect::kAsk;
        } else if (s != nullptr && s->get() == "deny") {
          rule.effect = PolicyEffect::kDeny;
        } else {
          return Bad(value, path, "expected \"allow\", \"ask\" or \"deny\", got " + got);
        }
        has_effect = true;
      } else if (k == "skills" || k == "env" || k == "commands" || k == "exec") {
        auto globs = Strings(value, path);
        if (!globs) return std::unexpected(globs.error());
        (k == "skills" ? rule.skills : k == "env" ? rule.env : k == "commands" ? rule.commands
                                                                               : rule.exec) =
            std::move(*globs);
      } else if (k == "read" || k == "write") {
        auto globs = PathPatterns(value, path);
        if (!globs) return std::unexpected(globs.error());
        (k == "read" ? rule.read : rule.write) = std::move(*globs);
      } else if (k == "runtimes") {
        auto runtimes = Enums<RuntimeKind>(
            value, path,
            [](const std::string& s) -> std::optional<RuntimeKind> {
              if (s == "native") return RuntimeKind::kNative;
              if (s == "wasm") return RuntimeKind::kWasm;
              if (s == "container") return RuntimeKind::kContainer;
              return std::nullopt;
            },
            "\"native\", \"wasm\" or \"container\"");
        if (!runtimes) return std::unexpected(runtimes.error());
        rule.runtimes = std::move(*runtimes);
      } else if (k == "kinds") {
        auto kinds = Enums<std::string>(
            value, path,
            [](const std::string& s) -> std::optional<std::string> {
              if (s == "run" || s == "exec") return s;
              return std::nullopt;
            },
            "\"run\" or \"exec\"");
        if (!kinds) return std::unexpected(kinds.error());
        rule.kinds = std::move(*kinds);
      } else if (k == "network") {
        const auto* b = value.as_boolean();
        if (b == nullptr) return Bad(value, path, "expected true, got " + TomlTypeName(value));
        if (!b->get()) {
          return Bad(value, path, "false matches nothing; use true to match calls that ask for "
                                  "the network, or omit the key");
        }
        rule.network = true;
      } else if (k == "grants") {
        const auto* b = value.as_boolean();
        if (b == nullptr) return Bad(value, path, "expected true, got " + TomlTypeName(value));
        if (!b->get()) {
          return Bad(value, path, "false matches nothing; use true to match what user grants "
                                  "add to a call, or omit the key");
        }
        rule.grants = true;
      } else if (k == "risk") {
        const auto* s = value.as_string();
        std::optional<RiskLevel> level;
        for (RiskLevel l : {RiskLevel::kLow, RiskLevel::kMedium, RiskLevel::kHigh,
                            RiskLevel::kCritical}) {
          if (s != nullptr && s->get() == RiskLevelName(l)) level = l;
        }
        if (!level) {
          return Bad(value, path, "expected \"low\", \"medium\", \"high\" or \"critical\", got " +
                                      (s ? "\"" + s->get() + "\"" : TomlTypeName(value)));
        }
        rule.risk = level;
      } else if (k == "sandbox") {
        const auto* s = value.as_string();
        if (s == nullptr || s->get() != "best-effort") {
          return Bad(value, path, "expected \"best-effort\" (strict is the least privilege and "
                                  "needs no rule), got " +
                                      (s ? "\"" + s->get() + "\"" : TomlTypeName(value)));
        }
        rule.best_effort = true;
      } else {
        return BadLine(static_cast<int>(key.source().begin.line), path,
                       "unknown key (expected name, effect, reason, skills, runtimes, kinds, "
                       "network, read, write, env, commands, exec, risk, sandbox or grants)");
      }
    }
    if (!has_effect) {
      return BadLine(rule.line, prefix + ".effect", "required: \"allow\", \"ask\" or \"deny\"");
    }
    return rule;
  }

  fs::path source_;
  PolicyLayer layer_;
  const PolicyVariables& vars_;
};

Result<std::optional<Policy>> ReadLayer(const fs::path& file, PolicyLayer layer,
                                        const PolicyVariables& vars, bool required) {
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    if (required) return Fail(ErrorCode::kNotFound, file.string() + ": no such policy file");
    return std::optional<Policy>();
  }
  if (!fs::is_regular_file(file, ec)) {
    return Fail(ErrorCode::kValidation, file.string() + ": not a regular file");
  }
  // A policy someone else can edit could allow anything: such a file is refused, not read.
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    return FailErrno(ErrorCode::kIo, "stat(" + file.string() + ")", errno);
  }
  if ((st.st_uid != ::geteuid() && st.st_uid != 0) || (st.st_mode & 022) != 0) {
    return Fail(ErrorCode::kValidation,
                file.string() + ": writable by group or others, or owned by another user; "
                                "refusing to read a policy others can change");
  }
  uintmax_t size = fs::file_size(file, ec);
  if (ec) return FailErrno(ErrorCode::kIo, "stat(" + file.string() + ")", ec.value());
  if (size > kMaxPolicyBytes) {
    return Fail(ErrorCode::kValidation, file.string() + ": larger than 1 MiB");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return FailErrno(ErrorCode::kIo, "open(" + file.string() + ")", errno);
  std::string text(std::istreambuf_iterator<char>(in), {});
  auto policy = ParsePolicy(text, file, layer, vars);
  if (!policy) return std::unexpected(policy.error());
  return std::optional<Policy>(std::move(*policy));
}

}  // namespace

Result<Policy> ParsePolicy(std::string_view toml_text, const fs::path& source, PolicyLayer layer,
                           const PolicyVariables& vars) {
  return Parser(source, layer, vars).Run(toml_text);
}

Result<Policy> LoadPolicy(const fs::path& home, const PolicyOptions& options) {
  std::error_code ec;
  PolicyVariables vars;
  vars.workspace = options.workspace.empty() ? fs::current_path(ec) : options.workspace;
  if (ec) return FailErrno(ErrorCode::kIo, "getcwd", ec.value());
  vars.workspace = fs::weakly_canonical(fs::absolute(vars.workspace, ec), ec);
  if (ec) {
    return FailErrno(ErrorCode::kIo, "realpath(" + options.workspace.string() + ")",
                     ec.value());
  }
  if (const char* h = ::getenv("HOME"); h != nullptr && *h == '/') vars.home = h;

  Policy merged;
  auto add = [&](const fs::path& file, PolicyLayer layer, bool required) -> Result<void> {
    auto layer_policy = ReadLayer(file, layer, vars, required);
    if (!layer_policy) return std::unexpected(layer_policy.error());
    if (!*layer_policy) return {};
    Policy& p = **layer_policy;
    merged.trust_project = merged.trust_project || p.trust_project;
    // Ceilings: the user's and an explicit file's stand; a project's may only lower them.
    for (const auto& [key, value] : p.ceilings_set) {
      for (const LimitField& field : LimitFields()) {
        if (field.key != key) continue;
        if (layer != PolicyLayer::kProject || value < field.get(merged.ceilings)) {
          field.set(merged.ceilings, value);
        }
      }
    }
    merged.files.push_back(file);
    for (PolicyRule& rule : p.rules) merged.rules.push_back(std::move(rule));
    return {};
  };
  if (options.user && !home.empty()) {
    if (auto ok = add(home / "policy.toml", PolicyLayer::kUser, false); !ok) {
      return std::unexpected(ok.error());
    }
  }
  if (options.file) {
    fs::path file = fs::absolute(*options.file, ec);
    if (auto ok = add(file, PolicyLayer::kExplicit, true); !ok) {
      return std::unexpected(ok.error());
    }
  } else if (options.project) {
    if (auto ok = add(vars.workspace / ".skillrt" / "policy.toml", PolicyLayer::kProject, false);
        !ok) {
      return std::unexpected(ok.error());
    }
  }
  return merged;
}

}  // namespace skillrt
