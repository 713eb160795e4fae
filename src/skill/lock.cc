// skills.lock: reading, writing and comparing against it (include/skillrt/lock.h,
// docs/install-lock.md).
#include "skillrt/lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <utility>

#include "skillrt/atomic_file.h"
#include "skillrt/fd.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr int kLockVersion = 1;
// Largest lock file read, in bytes; a lock is a few KiB per skill.
constexpr std::uintmax_t kMaxLockBytes = 64ull << 20;

std::string NowRfc3339() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  struct tm utc {};
  ::gmtime_r(&ts.tv_sec, &utc);
  char buf[64];
  ::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

Json SortedStrings(std::vector<std::string> items) {
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  return items;
}

Json LimitsOf(const Limits& l) {
  return {{"wall_time_ms", l.wall_time.count()},
          {"cpu_time_ms", l.cpu_time.count()},
          {"memory_bytes", l.memory_max_bytes},
          {"pids", l.pids_max},
          {"output_bytes", l.output_max_bytes},
          {"file_size_bytes", l.file_size_max_bytes},
          {"scratch_bytes", l.scratch_max_bytes},
          {"open_files", l.open_files_max}};
}

// True when `path` is `base` or lies below it, by whole components.
bool Covers(const std::string& base, const std::string& path) {
  return path == base || (path.size() > base.size() && path.starts_with(base) &&
                          (base.back() == '/' || path[base.size()] == '/'));
}

bool CoveredByAny(const Json& bases, const std::string& path) {
  for (const Json& base : bases) {
    if (base.is_string() && Covers(base.get<std::string>(), path)) return true;
  }
  return false;
}

std::vector<std::string> Strings(const Json& value) {
  std::vector<std::string> out;
  if (!value.is_array()) return out;
  for (const Json& item : value) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

// Compares two grants (GrantOf); fills drift->widened and drift->narrowed.
void CompareGrants(const Json& locked, const Json& now, Drift* drift) {
  const Json empty = Json::object();
  const Json& lc = locked.contains("capabilities") ? locked["capabilities"] : empty;
  const Json& nc = now.contains("capabilities") ? now["capabilities"] : empty;
  auto widen = [drift](std::string what) { drift->widened.push_back(std::move(what)); };
  auto narrow = [drift](std::string what) { drift->narrowed.push_back(std::move(what)); };

  // A read path is covered by a locked read or write path; a write path by a write path.
  Json locked_readable = Json::array();
  for (const char* key : {"read", "write"}) {
    for (const std::string& p : Strings(lc.value(key, Json::array()))) locked_readable.push_back(p);
  }
  for (const std::string& p : Strings(nc.value("read", Json::array()))) {
    if (!CoveredByAny(locked_readable, p)) widen("capabilities.read: +" + p);
  }
  for (const std::string& p : Strings(nc.value("write", Json::array()))) {
    if (!CoveredByAny(lc.value("write", Json::array()), p)) widen("capabilities.write: +" + p);
  }
  for (const char* key : {"read", "write"}) {
    for (const std::string& p : Strings(lc.value(key, Json::array()))) {
      auto now_list = Strings(nc.value(key, Json::array()));
      if (std::find(now_list.begin(), now_list.end(), p) == now_list.end()) {
        narrow(std::string("capabilities.") + key + ": -" + p);
      }
    }
  }
  for (const char* key : {"commands", "script_commands", "env_pass", "egress"}) {
    std::vector<std::string> before = Strings(lc.value(key, Json::array()));
    std::vector<std::string> after = Strings(nc.value(key, Json::array()));
    const std::string name = std::string("capabilities.") + key;
    auto had = [&before](std::string_view item) {
      return std::find(before.begin(), before.end(), item) != before.end();
    };
    for (const std::string& item : after) {
      if (had(item)) continue;
      // The same egress entry made TLS-only allows less than before.
      if (item.ends_with(" tls") && had(std::string_view(item).substr(0, item.size() - 4))) {
        narrow(name + ": +" + item);
      } else {
        widen(name + ": +" + item);
      }
    }
    for (const std::string& item : before) {
      if (std::find(after.begin(), after.end(), item) == after.end()) narrow(name + ": -" + item);
    }
  }
  const bool net_before = lc.value("network", false), net_after = nc.value("network", false);
  if (net_after && !net_before) widen("capabilities.network: false -> true");
  if (!net_after && net_before) narrow("capabilities.network: true -> false");

  const Json& ll = locked.contains("limits") ? locked["limits"] : empty;
  const Json& nl = now.contains("limits") ? now["limits"] : empty;
  for (const auto& [key, value] : nl.items()) {
    if (!value.is_number_unsigned() && !value.is_number_integer()) continue;
    const Json* old = ll.contains(key) ? &ll[key] : nullptr;
    if (old == nullptr || !old->is_number()) {
      widen("limits." + key + ": (unset) -> " + value.dump());
      continue;
    }
    const int64_t a = old->get<int64_t>(), b = value.get<int64_t>();
    if (b > a) widen("limits." + key + ": " + std::to_string(a) + " -> " + std::to_string(b));
    if (b < a) narrow("limits." + key + ": " + std::to_string(a) + " -> " + std::to_string(b));
  }

  const Json& ls = locked.contains("secrets") ? locked["secrets"] : empty;
  const Json& ns = now.contains("secrets") ? now["secrets"] : empty;
  for (const auto& [name, spec] : ns.items()) {
    if (!ls.contains(name)) {
      widen("secrets: +" + name);
    } else if (ls[name].value("redact", true) && !spec.value("redact", true)) {
      widen("secrets." + name + ".redact: true -> false");
    }
  }
  for (const auto& [name, spec] : ls.items()) {
    if (!ns.contains(name)) narrow("secrets: -" + name);
  }
}

Json EntryToJson(const LockedSkill& entry) {
  Json out = {{"dir", entry.dir.string()},
              {"tree_sha256", entry.tree_sha256},
              {"files", entry.files},
              {"grant", entry.grant},
              {"behaviour", entry.behaviour},
              {"locked_at", entry.locked_at}};
  // Only when there are any, so that entries of skills without user grants are unchanged.
  if (entry.user_grants.is_object() && !entry.user_grants.empty()) {
    out["user_grants"] = entry.user_grants;
  }
  return out;
}

Result<LockedSkill> EntryFromJson(const std::string& name, const Json& value,
                                  const std::string& where) {
  const std::string key = where + ": skills." + name;
  if (!value.is_object()) return Fail(ErrorCode::kValidation, key + ": expected an object");
  LockedSkill entry;
  entry.name = name;
  for (const char* field : {"dir", "tree_sha256", "locked_at"}) {
    if (!value.contains(field) || !value[field].is_string()) {
      return Fail(ErrorCode::kValidation, key + "." + field + ": expected a string");
    }
  }
  entry.dir = value["dir"].get<std::string>();
  entry.tree_sha256 = value["tree_sha256"].get<std::string>();
  entry.locked_at = value["locked_at"].get<std::string>();
  if (!value.contains("files") || !value["files"].is_object()) {
    return Fail(ErrorCode::kValidation, key + ".files: expected an object");
  }
  for (const auto& [path, digest] : value["files"].items()) {
    if (!digest.is_string()) {
      return Fail(ErrorCode::kValidation, key + ".files." + path + ": expected a string");
    }
    entry.files[path] = digest.get<std::string>();
  }
  for (const char* field : {"grant", "behaviour"}) {
    if (!value.contains(field) || !value[field].is_object()) {
      return Fail(ErrorCode::kValidation, key + "." + field + ": expected an object");
    }
  }
  entry.grant = value["grant"];
  entry.behaviour = value["behaviour"];
  if (value.contains("user_grants")) {
    if (!value["user_grants"].is_object()) {
      return Fail(ErrorCode::kValidation, key + ".user_grants: expected an object");
    }
    entry.user_grants = value["user_grants"];
  }
  return entry;
}

std::string JoinList(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace

fs::path LockFilePath(const fs::path& home) { return home / "skills.lock"; }

Result<LockFile> ReadLockFile(const fs::path& file) {
  LockFile lock;
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    if (errno == ENOENT) return lock;
    return FailErrno(ErrorCode::kIo, "open(" + file.string() + ")", errno);
  }
  std::string text;
  char buf[64 << 10];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FailErrno(ErrorCode::kIo, "read(" + file.string() + ")", errno);
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxLockBytes) {
      return Fail(ErrorCode::kValidation, file.string() + ": larger than 64 MiB");
    }
  }
  Json root = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) {
    return Fail(ErrorCode::kParse, file.string() + ": not a JSON object");
  }
  if (root.value("version", 0) != kLockVersion) {
    return Fail(ErrorCode::kValidation,
                file.string() + ": version: expected " + std::to_string(kLockVersion));
  }
  if (root.contains("require")) {
    if (!root["require"].is_boolean()) {
      return Fail(ErrorCode::kValidation, file.string() + ": require: expected a boolean");
    }
    lock.require = root["require"].get<bool>();
  }
  if (root.contains("skills")) {
    if (!root["skills"].is_object()) {
      return Fail(ErrorCode::kValidation, file.string() + ": skills: expected an object");
    }
    for (const auto& [name, value] : root["skills"].items()) {
      auto entry = EntryFromJson(name, value, file.string());
      if (!entry) return std::unexpected(entry.error());
      lock.skills[name] = std::move(*entry);
    }
  }
  return lock;
}

Result<void> UpdateLockFile(const fs::path& file,
                            const std::function<Result<void>(LockFile&)>& edit) {
  const fs::path guard_path = file.string() + ".flock";
  UniqueFd guard(::open(guard_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!guard) return FailErrno(ErrorCode::kIo, "open(" + guard_path.string() + ")", errno);
  while (::flock(guard.get(), LOCK_EX) != 0) {
    if (errno != EINTR) {
      return FailErrno(ErrorCode::kIo, "flock(" + guard_path.string() + ")", errno);
    }
  }
  auto lock = ReadLockFile(file);
  if (!lock) return std::unexpected(lock.error());
  if (auto edited = edit(*lock); !edited) return edited;
  Json skills = Json::object();
  for (const auto& [name, entry] : lock->skills) skills[name] = EntryToJson(entry);
  Json root = {{"version", kLockVersion}, {"require", lock->require}, {"skills", skills}};
  std::string text = root.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  return WriteFileAtomic(file, text, 0600);
}

Json GrantOf(const Manifest& manifest) {
  const Capabilities& caps = manifest.capabilities;
  std::vector<std::string> read, write;
  for (const auto& p : caps.read_paths) read.push_back(p.string());
  for (const auto& p : caps.write_paths) write.push_back(p.string());
  std::vector<std::string> commands = caps.commands;
  if (manifest.entry && !manifest.entry->argv.empty()) commands.push_back(manifest.entry->argv[0]);
  Json secrets = Json::object();
  for (const auto& [name, spec] : manifest.secrets) secrets[name] = {{"redact", spec.redact}};
  Json grant = {{"capabilities",
                 {{"read", SortedStrings(read)},
                  {"write", SortedStrings(write)},
                  {"network", caps.network},
                  {"commands", SortedStrings(commands)},
                  {"env_pass", SortedStrings(caps.env.pass)}}},
                {"limits", LimitsOf(manifest.limits)},
                {"secrets", secrets}};
  // Inferred interpreters under the script rule (docs/inference.md); absent when there are
  // none, so that locks of skills with skill.toml are unchanged.
  if (!manifest.script_commands.empty()) {
    std::vector<std::string> scripts;
    for (const InferredCommand& c : manifest.script_commands) scripts.push_back(c.command);
    grant["capabilities"]["script_commands"] = SortedStrings(scripts);
  }
  // The egress allowlist, one string per entry with the addresses it may resolve to and " tls"
  // when it is TLS-only (so that dropping the flag is drift too); absent
  // without network, so that locks of skills without it are unchanged.
  if (caps.network && !caps.egress.empty()) {
    std::vector<std::string> egress;
    for (const EgressRule& rule : caps.egress) {
      std::string text = EgressRuleText(rule);
      std::vector<std::string> addresses = rule.addresses;
      std::sort(addresses.begin(), addresses.end());
      for (size_t i = 0; i < addresses.size(); ++i) {
        text += (i == 0 ? " via " : ",") + addresses[i];
      }
      if (rule.tls) text += " tls";
      egress.push_back(std::move(text));
    }
    grant["capabilities"]["egress"] = SortedStrings(egress);
  }
  return grant;
}

Json BehaviourOf(const Manifest& manifest) {
  Json entry = nullptr;
  if (manifest.entry) {
    entry = {{"argv", manifest.entry->argv},
             {"input", manifest.entry->input == InputMode::kStdin ? "stdin" : "none"},
             {"output", manifest.entry->output == OutputMode::kJson ? "json" : "text"}};
  }
  return {{"runtime", RuntimeKindName(manifest.runtime)},
          {"entry", entry},
          {"input_schema", manifest.input_schema.value_or(Json(nullptr))},
          {"env_set", manifest.capabilities.env.set}};
}

Result<LockedSkill> LockSkill(const Skill& skill) {
  auto files = HashSkillFiles(skill.dir);
  if (!files) return std::unexpected(files.error());
  auto tree = HashSkillTree(skill.dir);
  if (!tree) return std::unexpected(tree.error());
  return LockedSkill{.name = skill.meta.name,
                     .dir = skill.dir,
                     .tree_sha256 = std::move(*tree),
                     .files = std::move(*files),
                     .grant = GrantOf(skill.manifest),
                     .behaviour = BehaviourOf(skill.manifest),
                     .locked_at = NowRfc3339()};
}

Result<Drift> CompareWithLock(const Skill& skill, const LockedSkill& locked) {
  Drift drift;
  drift.tree_changed = skill.tree_sha256 != locked.tree_sha256;
  if (drift.tree_changed) {
    auto files = HashSkillFiles(skill.dir);
    if (!files) return std::unexpected(files.error());
    for (const auto& [path, digest] : *files) {
      auto it = locked.files.find(path);
      if (it == locked.files.end()) {
        drift.added.push_back(path);
      } else if (it->second != digest) {
        drift.changed.push_back(path);
      }
    }
    for (const auto& [path, digest] : locked.files) {
      if (!files->contains(path)) drift.removed.push_back(path);
    }
  }
  CompareGrants(locked.grant, GrantOf(skill.manifest), &drift);
  const Json behaviour = BehaviourOf(skill.manifest);
  for (const auto& [key, value] : behaviour.items()) {
    if (!locked.behaviour.contains(key) || locked.behaviour[key] != value) {
      drift.behaviour.push_back(key);
    }
  }
  const bool only_manifest =
      drift.added.empty() && drift.removed.empty() &&
      std::all_of(drift.changed.begin(), drift.changed.end(),
                  [](const std::string& p) { return p == "skill.toml"; });
  // A tree that changed without any listed file changing (hash collision aside, only a
  // damaged lock entry) is not "only the manifest": refuse.
  const bool files_explain = !drift.tree_changed || !drift.changed.empty() ||
                             !drift.added.empty() || !drift.removed.empty();
  drift.allowed = drift.widened.empty() && drift.behaviour.empty() && only_manifest &&
                  files_explain;
  return drift;
}

Result<Drift> CheckLock(const Skill& skill, const LockFile& lock, const fs::path& lock_file,
                        bool require) {
  auto it = lock.skills.find(skill.meta.name);
  if (it == lock.skills.end()) {
    if (require || lock.require) {
      return Fail(ErrorCode::kDenied,
                  "skill '" + skill.meta.name + "' is not locked and " + lock_file.string() +
                      " requires a lock for every skill; review it, then run `skillrt lock " +
                      skill.meta.name + "`");
    }
    return Drift{};
  }
  auto drift = CompareWithLock(skill, it->second);
  if (!drift) return std::unexpected(drift.error());
  if (drift->allowed) return drift;
  std::string message = "skill '" + skill.meta.name + "' drifted from its lock (" +
                        lock_file.string() + ", locked " + it->second.locked_at + ")";
  if (it->second.dir != skill.dir) message += "; locked from " + it->second.dir.string();
  if (!drift->changed.empty()) message += "; changed: " + JoinList(drift->changed);
  if (!drift->added.empty()) message += "; added: " + JoinList(drift->added);
  if (!drift->removed.empty()) message += "; removed: " + JoinList(drift->removed);
  if (!drift->widened.empty()) message += "; widened: " + JoinList(drift->widened);
  if (!drift->behaviour.empty()) {
    message += "; skill.toml changes what runs: " + JoinList(drift->behaviour);
  }
  message += "; review the changes, then run `skillrt lock " + skill.meta.name +
             "` to approve them";
  return Fail(ErrorCode::kDenied, std::move(message));
}

}  // namespace skillrt
