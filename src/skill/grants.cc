// User grants: checking, merging and comparing them (include/skillrt/grants.h,
// docs/grants.md). The grants file itself is read and written in grant_file.cc.
#include "skillrt/grants.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "skill/manifest_internal.h"
#include "skill/limit_fields.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

template <typename T>
void AppendNew(std::vector<T>& to, const std::vector<T>& from) {
  for (const T& item : from) {
    if (std::find(to.begin(), to.end(), item) == to.end()) to.push_back(item);
  }
}

template <typename T>
std::vector<T> Without(const std::vector<T>& from, const std::vector<T>& drop) {
  std::vector<T> out;
  for (const T& item : from) {
    if (std::find(drop.begin(), drop.end(), item) == drop.end()) out.push_back(item);
  }
  return out;
}

// True when `path` is `base` or lies below it, by whole components.
bool Covers(const fs::path& base, const fs::path& path) {
  const std::string b = base.string(), p = path.string();
  return p == b || (p.size() > b.size() && p.starts_with(b) && (b == "/" || p[b.size()] == '/'));
}

bool CoveredByAny(const std::vector<fs::path>& bases, const fs::path& path) {
  return std::any_of(bases.begin(), bases.end(),
                     [&](const fs::path& base) { return Covers(base, path); });
}

Json StringList(const std::vector<std::string>& items) { return items; }

Json PathList(const std::vector<fs::path>& items) {
  Json out = Json::array();
  for (const fs::path& p : items) out.push_back(p.string());
  return out;
}

// PEP 508 distribution name: letters and digits, with '.', '_' and '-' inside.
size_t NameLength(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) ||
                             text[i] == '.' || text[i] == '_' || text[i] == '-')) {
    ++i;
  }
  while (i > 0 && !std::isalnum(static_cast<unsigned char>(text[i - 1]))) --i;
  return i;
}

}  // namespace

bool Grants::empty() const {
  return commands.empty() && read_paths.empty() && write_paths.empty() && python.empty() &&
         limits.empty();
}

std::optional<std::string> CheckPythonRequirement(std::string_view requirement) {
  const std::string quoted = "'" + std::string(requirement) + "'";
  if (requirement.empty()) return "empty requirement";
  if (requirement.size() > 200) return "requirement longer than 200 characters";
  if (requirement.front() == '-') {
    return quoted + " is an installer option; a requirement names a package (the index is the "
                    "user's choice: docs/dependencies.md)";
  }
  const size_t name = NameLength(requirement);
  if (name == 0 || !std::isalnum(static_cast<unsigned char>(requirement.front()))) {
    return quoted + " does not start with a package name";
  }
  const std::string_view rest = requirement.substr(name);
  if (rest.find("://") != std::string_view::npos || rest.find('@') != std::string_view::npos) {
    return quoted + " is a direct reference (URL or path); only package names from the "
                    "user's index are installed";
  }
  if (requirement.find('/') != std::string_view::npos ||
      requirement.find('\\') != std::string_view::npos) {
    return quoted + " names a path; only package names from the user's index are installed";
  }
  // Extras, version specifiers and markers use only these characters (PEP 508 grammar).
  constexpr std::string_view kAllowed = "[]<>=!~.,*;:'\"()_- \t+";
  for (char c : rest) {
    if (!std::isalnum(static_cast<unsigned char>(c)) &&
        kAllowed.find(c) == std::string_view::npos) {
      return quoted + ": unexpected character '" + std::string(1, c) + "'";
    }
  }
  return std::nullopt;
}

Result<Grants> CheckGrants(const Grants& grants, std::string_view source) {
  const std::string where(source);
  Grants out;
  for (const std::string& command : grants.commands) {
    if (auto problem = manifest_internal::CheckCommandName(command)) {
      return Fail(ErrorCode::kInvalidArgument, where + ": " + *problem);
    }
    AppendNew(out.commands, {command});
  }
  auto paths = [&](const std::vector<fs::path>& in,
                   std::vector<fs::path>* to) -> Result<void> {
    for (const fs::path& path : in) {
      std::string normal;
      if (auto problem = manifest_internal::CheckGrantPath(path.string(), &normal)) {
        return Fail(ErrorCode::kInvalidArgument, where + ": " + *problem);
      }
      AppendNew(*to, {fs::path(normal)});
    }
    return {};
  };
  if (auto ok = paths(grants.read_paths, &out.read_paths); !ok) return std::unexpected(ok.error());
  if (auto ok = paths(grants.write_paths, &out.write_paths); !ok) {
    return std::unexpected(ok.error());
  }
  for (const std::string& requirement : grants.python) {
    if (auto problem = CheckPythonRequirement(requirement)) {
      return Fail(ErrorCode::kInvalidArgument, where + ": " + *problem);
    }
    AppendNew(out.python, {requirement});
  }
  for (const auto& [key, value] : grants.limits) {
    const LimitField* field = nullptr;
    for (const LimitField& f : LimitFields()) {
      if (f.key == key) field = &f;
    }
    if (field == nullptr) {
      std::string known;
      for (const LimitField& f : LimitFields()) {
        known += (known.empty() ? "" : ", ") + std::string(f.key);
      }
      return Fail(ErrorCode::kInvalidArgument,
                  where + ": unknown limit '" + key + "' (expected " + known + ")");
    }
    if (value == 0 || value > static_cast<uint64_t>(field->max)) {
      return Fail(ErrorCode::kInvalidArgument,
                  where + ": limit " + key + " must be between 1 and " +
                      std::to_string(field->max) + ", got " + std::to_string(value));
    }
    out.limits[key] = value;
  }
  return out;
}

Grants MergeGrants(const Grants& a, const Grants& b) {
  Grants out = a;
  AppendNew(out.commands, b.commands);
  AppendNew(out.read_paths, b.read_paths);
  AppendNew(out.write_paths, b.write_paths);
  AppendNew(out.python, b.python);
  for (const auto& [key, value] : b.limits) out.limits[key] = std::max(out.limits[key], value);
  return out;
}

Grants RemoveGrants(const Grants& a, const Grants& b) {
  Grants out{.commands = Without(a.commands, b.commands),
             .read_paths = Without(a.read_paths, b.read_paths),
             .write_paths = Without(a.write_paths, b.write_paths),
             .python = Without(a.python, b.python),
             .limits = a.limits};
  for (const auto& [key, value] : b.limits) out.limits.erase(key);
  return out;
}

std::vector<std::string> WidenedGrants(const Grants& before, const Grants& now) {
  std::vector<std::string> out;
  for (const std::string& command : now.commands) {
    if (std::find(before.commands.begin(), before.commands.end(), command) ==
        before.commands.end()) {
      out.push_back("command " + command);
    }
  }
  std::vector<fs::path> readable = before.read_paths;
  AppendNew(readable, before.write_paths);
  for (const fs::path& path : now.read_paths) {
    if (!CoveredByAny(readable, path)) out.push_back("read " + path.string());
  }
  for (const fs::path& path : now.write_paths) {
    if (!CoveredByAny(before.write_paths, path)) out.push_back("write " + path.string());
  }
  for (const std::string& requirement : now.python) {
    if (std::find(before.python.begin(), before.python.end(), requirement) ==
        before.python.end()) {
      out.push_back("python " + requirement);
    }
  }
  for (const auto& [key, value] : now.limits) {
    auto it = before.limits.find(key);
    if (it == before.limits.end() || it->second < value) {
      out.push_back("limit " + key + " " + std::to_string(value));
    }
  }
  return out;
}

Json GrantsToJson(const Grants& grants) {
  Json out = Json::object();
  if (!grants.commands.empty()) out["commands"] = StringList(grants.commands);
  if (!grants.read_paths.empty()) out["read"] = PathList(grants.read_paths);
  if (!grants.write_paths.empty()) out["write"] = PathList(grants.write_paths);
  if (!grants.python.empty()) out["python"] = StringList(grants.python);
  if (!grants.limits.empty()) out["limits"] = grants.limits;
  return out;
}

Result<Grants> GrantsFromJson(const Json& value, std::string_view where) {
  const std::string at(where);
  if (!value.is_object()) return Fail(ErrorCode::kValidation, at + ": expected an object");
  Grants out;
  for (const auto& [key, list] : value.items()) {
    if (key == "limits") {
      if (!list.is_object()) {
        return Fail(ErrorCode::kValidation, at + ".limits: expected an object");
      }
      for (const auto& [name, limit] : list.items()) {
        if (!limit.is_number_unsigned()) {
          return Fail(ErrorCode::kValidation,
                      at + ".limits." + name + ": expected a positive integer");
        }
        out.limits[name] = limit.get<uint64_t>();
      }
      continue;
    }
    if (!list.is_array()) {
      return Fail(ErrorCode::kValidation, at + "." + key + ": expected an array of strings");
    }
    std::vector<std::string> items;
    for (const Json& item : list) {
      if (!item.is_string()) {
        return Fail(ErrorCode::kValidation, at + "." + key + ": expected an array of strings");
      }
      items.push_back(item.get<std::string>());
    }
    if (key == "commands") {
      out.commands = std::move(items);
    } else if (key == "read") {
      out.read_paths.assign(items.begin(), items.end());
    } else if (key == "write") {
      out.write_paths.assign(items.begin(), items.end());
    } else if (key == "python") {
      out.python = std::move(items);
    } else {
      return Fail(ErrorCode::kValidation, at + "." + key + ": unknown key");
    }
  }
  return out;
}

Grants FileGrantsFor(const GrantFile& file, std::string_view skill,
                     const std::optional<std::string>& instance) {
  Grants out;
  if (auto it = file.entries.find(std::string(skill)); it != file.entries.end()) {
    out = it->second;
  }
  if (instance) {
    if (auto it = file.entries.find(std::string(skill) + "@" + *instance);
        it != file.entries.end()) {
      out = MergeGrants(out, it->second);
    }
  }
  return out;
}

Json FileGrantsJson(const GrantFile& file, std::string_view skill) {
  Json out = Json::object();
  const std::string prefix = std::string(skill) + "@";
  for (const auto& [selector, grants] : file.entries) {
    if ((selector == skill || selector.starts_with(prefix)) && !grants.empty()) {
      out[selector] = GrantsToJson(grants);
    }
  }
  return out;
}

std::vector<std::string> GrantsWidenedSinceLock(const Json& locked, const GrantFile& file,
                                                std::string_view skill) {
  std::vector<std::string> out;
  const Json now = FileGrantsJson(file, skill);
  for (const auto& [selector, value] : now.items()) {
    Grants before;
    if (locked.is_object() && locked.contains(selector)) {
      // A lock entry that does not parse grants nothing: everything now is wider.
      before = GrantsFromJson(locked[selector], "user_grants").value_or(Grants{});
    }
    Grants after = GrantsFromJson(value, "user_grants").value_or(Grants{});
    for (std::string& widened : WidenedGrants(before, after)) {
      out.push_back(selector + ": " + widened);
    }
  }
  return out;
}

}  // namespace skillrt
