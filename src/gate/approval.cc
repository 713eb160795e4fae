// Approval keys, the prompt text and the persistent store (include/skillrt/approval.h).
#include "skillrt/approval.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <ctime>
#include <string>

#include "audit/canonical_json.h"
#include "skillrt/fd.h"
#include "skillrt/sha256.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;

// `text` with control characters and DEL written as \xNN, so a value cannot move the cursor,
// clear the screen or fake a prompt line on the approver's terminal.
std::string Visible(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// An argv as a shell would need it quoted, each word made visible.
std::string ShowArgv(const nlohmann::json& argv) {
  std::string out;
  for (const auto& word : argv) {
    std::string w = word.is_string() ? word.get<std::string>() : word.dump();
    bool plain = !w.empty() && w.find_first_of(" \t\n'\"\\$`;&|<>(){}*?[]#~") == std::string::npos;
    if (!out.empty()) out += ' ';
    if (plain) {
      out += Visible(w);
    } else {
      std::string quoted = "'";
      for (char c : w) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
      out += Visible(quoted + "'");
    }
  }
  return out;
}

std::string JoinJson(const nlohmann::json& list) {
  if (!list.is_array() || list.empty()) return "none";
  std::string out;
  for (const auto& item : list) {
    std::string text;
    if (item.is_string()) {
      text = item.get<std::string>();
    } else if (item.is_object() && item.contains("path") && item.contains("resolved")) {
      // A host path that resolved elsewhere: the person approves the target, so show it.
      text = item.value("path", "") + " -> " + item.value("resolved", "");
    } else {
      text = item.dump();
    }
    out += (out.empty() ? "" : ", ") + Visible(text);
  }
  return out;
}

std::string NowRfc3339() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// An exclusive or shared flock(2) on <home>/approvals.lock, released on destruction.
Result<UniqueFd> LockStore(const fs::path& home, int operation) {
  const fs::path lock = home / "approvals.lock";
  UniqueFd fd(::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return FailErrno(ErrorCode::kIo, "open(" + lock.string() + ")", errno);
  while (::flock(fd.get(), operation) != 0) {
    if (errno != EINTR) return FailErrno(ErrorCode::kIo, "flock(" + lock.string() + ")", errno);
  }
  return fd;
}

// The store's document; an empty one when the file does not exist.
Result<nlohmann::json> ReadStore(const fs::path& file) {
  nlohmann::json empty = {{"version", 1}, {"approvals", nlohmann::json::array()}};
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    if (errno == ENOENT) return empty;
    return FailErrno(ErrorCode::kIo, "open(" + file.string() + ")", errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return FailErrno(ErrorCode::kIo, "fstat(" + file.string() + ")", errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return Fail(ErrorCode::kValidation, file.string() + ": not a regular file");
  }
  if (st.st_uid != ::geteuid() || (st.st_mode & 022) != 0) {
    return Fail(ErrorCode::kValidation,
                file.string() + ": owned by another user or writable by group or others; "
                                "refusing to trust its approvals (expected mode 0600)");
  }
  std::string text;
  char buf[16 * 1024];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FailErrno(ErrorCode::kIo, "read(" + file.string() + ")", errno);
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Fail(ErrorCode::kValidation, file.string() + ": not JSON");
  if (!doc.is_object()) return Fail(ErrorCode::kValidation, file.string() + ": /: not an object");
  if (doc.value("version", nlohmann::json()) != 1) {
    return Fail(ErrorCode::kValidation, file.string() + ": /version: expected 1");
  }
  if (!doc.contains("approvals") || !doc["approvals"].is_array()) {
    return Fail(ErrorCode::kValidation, file.string() + ": /approvals: expected an array");
  }
  const nlohmann::json& list = doc["approvals"];
  for (size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_object() || !list[i].contains("key") || !list[i]["key"].is_string()) {
      return Fail(ErrorCode::kValidation, file.string() + ": /approvals/" + std::to_string(i) +
                                              "/key: expected a string");
    }
  }
  return doc;
}

Result<void> WriteAll(int fd, std::string_view data, const fs::path& file) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FailErrno(ErrorCode::kIo, "write(" + file.string() + ")", errno);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

// Replaces `file` with `text`: a new 0600 file beside it, fsync'd, renamed over it, and the
// directory fsync'd. On failure the temporary file is removed and `file` is untouched.
Result<void> ReplaceFile(const fs::path& file, const std::string& text) {
  static std::atomic<uint64_t> counter{0};
  const fs::path tmp = file.string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                       std::to_string(counter.fetch_add(1));
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return FailErrno(ErrorCode::kIo, "open(" + tmp.string() + ")", errno);
  auto fail = [&](Error error) {
    ::unlink(tmp.c_str());
    return std::unexpected(std::move(error));
  };
  if (auto ok = WriteAll(fd.get(), text, tmp); !ok) return fail(ok.error());
  if (::fsync(fd.get()) != 0) {
    return fail(Error::FromErrno(ErrorCode::kIo, "fsync(" + tmp.string() + ")", errno));
  }
  fd.Reset();
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    return fail(Error::FromErrno(ErrorCode::kIo, "rename(" + tmp.string() + ")", errno));
  }
  UniqueFd dir(::open(file.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir) ::fsync(dir.get());  // Durability of the rename; the data is already in place.
  return {};
}

}  // namespace

std::string_view ApprovalDecisionName(ApprovalDecision decision) {
  switch (decision) {
    case ApprovalDecision::kApproveOnce: return "approved";
    case ApprovalDecision::kApproveSession: return "approved_session";
    case ApprovalDecision::kApproveAlways: return "approved_always";
    case ApprovalDecision::kDeny: return "denied";
    case ApprovalDecision::kAbort: return "aborted";
  }
  return "denied";
}

bool IsApproved(ApprovalDecision decision) {
  return decision == ApprovalDecision::kApproveOnce ||
         decision == ApprovalDecision::kApproveSession ||
         decision == ApprovalDecision::kApproveAlways;
}

Result<std::string> ApprovalKey(std::string_view skill, std::string_view tree_sha256,
                                const nlohmann::json& invocation, const nlohmann::json& request) {
  nlohmann::json doc = {
      {"skill", skill},
      {"tree_sha256", tree_sha256},
      {"invocation", invocation},
      {"request", request},
  };
  auto canonical = CanonicalJsonStrict(doc);
  if (!canonical) {
    return Fail(ErrorCode::kInvalidArgument, "approval key: " + canonical.error().message);
  }
  return Sha256Hex(*canonical);
}

std::string ArgvSha256(const std::vector<std::string>& argv) {
  Sha256 hash;
  for (const std::string& arg : argv) {
    hash.Update(std::to_string(arg.size()) + ":");
    hash.Update(arg);
  }
  return hash.HexDigest();
}

std::string FormatApprovalPrompt(const ApprovalRequest& r) {
  std::string out;
  out += "skillrt: approval needed\n";
  out += "  skill:        " + Visible(r.skill) + " (" + Visible(r.skill_dir.string()) + ")\n";
  out += "  tree sha256:  " + Visible(r.tree_sha256) + "\n";
  if (r.invocation.contains("instance") && r.invocation["instance"].is_string()) {
    out += "  instance:     " + Visible(r.invocation["instance"].get<std::string>()) + "\n";
  }
  const std::string kind = r.invocation.value("kind", "run");
  out += "  " + kind + ":" + std::string(kind == "run" ? 10 : 9, ' ') +
         ShowArgv(r.invocation.value("argv", nlohmann::json::array())) + "\n";
  const nlohmann::json caps = r.request.value("capabilities", nlohmann::json::object());
  out += "  asks for:\n";
  out += "    read:       " + JoinJson(caps.value("read", nlohmann::json::array())) + "\n";
  out += "    write:      " + JoinJson(caps.value("write", nlohmann::json::array())) + "\n";
  out += "    network:    " + std::string(caps.value("network", false) ? "yes" : "no") + "\n";
  out += "    host env:   " + JoinJson(caps.value("env_pass", nlohmann::json::array())) + "\n";
  out += "    commands:   " + JoinJson(caps.value("commands", nlohmann::json::array())) + "\n";
  out += "    secrets:    " + JoinJson(caps.value("secrets", nlohmann::json::array())) + "\n";
  out += "    sandbox:    " + Visible(r.request.value("sandbox_level", "strict")) + "\n";
  // What the user's grants add beyond the manifest (docs/grants.md): shown apart, since
  // whoever makes the call may have added them.
  if (r.request.contains("grants") && r.request["grants"].is_object()) {
    const nlohmann::json& grants = r.request["grants"];
    out += "  granted beyond the manifest:\n";
    for (const char* key : {"commands", "read", "write"}) {
      if (!grants.contains(key)) continue;
      out += "    " + std::string(key) + ":" + std::string(11 - std::string(key).size(), ' ') +
             JoinJson(grants[key]) + "\n";
    }
  }
  out += "  risk:         " + std::string(RiskLevelName(r.risk.level)) + "\n";
  for (const RiskReason& reason : r.risk.reasons) {
    out += "    " + std::string(RiskLevelName(reason.level)) + " " + Visible(reason.rule) + ": " +
           Visible(reason.reason) + " (" + Visible(reason.command) + ")\n";
  }
  out += "  asked by:\n";
  for (const PolicyMatch& m : r.policy.Deciding()) {
    out += "    " + Visible(m.name) + " (" + Visible(m.source);
    if (m.index > 0) out += " rule " + std::to_string(m.index);
    out += "): " + Visible(m.subject);
    if (!m.reason.empty()) out += ": " + Visible(m.reason);
    out += "\n";
  }
  if (r.previous_denials > 0) {
    out += "  denied before: " + std::to_string(r.previous_denials) + " time(s); denial " +
           std::to_string(kDenialsBeforeAbort) + " aborts the session\n";
  }
  out += "  approval key: " + r.key + "\n";
  return out;
}

ApprovalStore::ApprovalStore(fs::path home) : home_(std::move(home)) {}

Result<bool> ApprovalStore::Contains(std::string_view key) const {
  auto lock = LockStore(home_, LOCK_SH);
  if (!lock) return std::unexpected(lock.error());
  auto doc = ReadStore(path());
  if (!doc) return std::unexpected(doc.error());
  for (const auto& entry : (*doc)["approvals"]) {
    if (entry["key"] == key) return true;
  }
  return false;
}

Result<void> ApprovalStore::Add(const ApprovalRequest& request, std::string_view via) {
  auto lock = LockStore(home_, LOCK_EX);
  if (!lock) return std::unexpected(lock.error());
  auto doc = ReadStore(path());
  if (!doc) return std::unexpected(doc.error());
  for (const auto& entry : (*doc)["approvals"]) {
    if (entry["key"] == request.key) return {};
  }
  (*doc)["approvals"].push_back({
      {"key", request.key},
      {"skill", request.skill},
      {"tree_sha256", request.tree_sha256},
      {"kind", request.invocation.value("kind", "run")},
      {"argv", request.invocation.value("argv", nlohmann::json::array())},
      {"via", via},
      {"time", NowRfc3339()},
  });
  return ReplaceFile(path(),
                     doc->dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

}  // namespace skillrt
