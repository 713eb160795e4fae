// Tokens and the Host/Origin checks (auth.h).
#include "service/auth.h"

#include <sys/random.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "skillrt/atomic_file.h"
#include "skillrt/sha256.h"

namespace skillrt::service {
namespace {

// One name table for the scopes.
struct ScopeRow {
  Scope scope;
  std::string_view name;
};
constexpr std::array<ScopeRow, 4> kScopes = {{
    {Scope::kRead, "read"},
    {Scope::kRun, "run"},
    {Scope::kApprove, "approve"},
    {Scope::kAdmin, "admin"},
}};

std::string Hex(const unsigned char* bytes, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 0xf]);
  }
  return out;
}

int64_t ToSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

nlohmann::json RecordToJson(const TokenRecord& r) {
  return {{"id", r.id},
          {"name", r.name},
          {"scope", ScopeName(r.scope)},
          {"sha256", r.sha256},
          {"created", ToSeconds(r.created)}};
}

Result<TokenRecord> RecordFromJson(const nlohmann::json& j, size_t index) {
  const std::string where = "token " + std::to_string(index + 1);
  if (!j.is_object() || !j.contains("sha256") || !j["sha256"].is_string() ||
      !j.contains("scope") || !j["scope"].is_string()) {
    return Fail(ErrorCode::kParse, where + ": not an object with sha256 and scope");
  }
  auto scope = ParseScope(j["scope"].get<std::string>());
  if (!scope) return Fail(ErrorCode::kParse, where + ": " + scope.error().message);
  TokenRecord r;
  r.sha256 = j["sha256"].get<std::string>();
  if (r.sha256.size() != 64) return Fail(ErrorCode::kParse, where + ": sha256 is not 64 hex digits");
  r.id = j.value("id", r.sha256.substr(0, 12));
  r.name = j.value("name", "");
  r.scope = *scope;
  r.created = std::chrono::system_clock::time_point(std::chrono::seconds(j.value("created", 0)));
  return r;
}

// Host names the service answers to by default: the loopback under its usual names.
bool IsLoopbackName(std::string_view name) {
  return name == "localhost" || name == "127.0.0.1" || name == "[::1]";
}

// "name:port" -> "name"; "[::1]:8080" -> "[::1]".
std::string_view StripPort(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  size_t colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

}  // namespace

std::string_view ScopeName(Scope scope) {
  for (const ScopeRow& row : kScopes) {
    if (row.scope == scope) return row.name;
  }
  return "read";
}

Result<Scope> ParseScope(std::string_view name) {
  for (const ScopeRow& row : kScopes) {
    if (row.name == name) return row.scope;
  }
  return Fail(ErrorCode::kInvalidArgument,
              "unknown scope '" + std::string(name) + "' (read, run, approve or admin)");
}

bool ScopeAllows(Scope held, Scope needed) {
  if (held == Scope::kAdmin || held == needed) return true;
  return needed == Scope::kRead;  // Every scope reads.
}

TokenStore::TokenStore(std::filesystem::path home) : file_(std::move(home) / "tokens.json") {}

Result<void> TokenStore::Reload() const {
  struct stat st {};
  if (::stat(file_.c_str(), &st) != 0) {
    if (errno != ENOENT) return FailErrno(ErrorCode::kIo, "stat(" + file_.string() + ")", errno);
    cache_.clear();
    cached_stat_ = {};
    cached_ = true;
    return {};
  }
  if (cached_ && st.st_ino == cached_stat_.st_ino && st.st_size == cached_stat_.st_size &&
      st.st_mtim.tv_sec == cached_stat_.st_mtim.tv_sec &&
      st.st_mtim.tv_nsec == cached_stat_.st_mtim.tv_nsec) {
    return {};
  }
  std::ifstream in(file_);
  if (!in) return FailErrno(ErrorCode::kIo, "open(" + file_.string() + ")", errno);
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json doc = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("tokens") || !doc["tokens"].is_array()) {
    return Fail(ErrorCode::kParse, file_.string() + ": not an object with a tokens array");
  }
  std::vector<TokenRecord> records;
  for (size_t i = 0; i < doc["tokens"].size(); ++i) {
    auto r = RecordFromJson(doc["tokens"][i], i);
    if (!r) return Fail(ErrorCode::kParse, file_.string() + ": " + r.error().message);
    records.push_back(std::move(*r));
  }
  cache_ = std::move(records);
  cached_stat_ = st;
  cached_ = true;
  return {};
}

Result<void> TokenStore::Save(const std::vector<TokenRecord>& records) const {
  std::error_code ec;
  std::filesystem::create_directories(file_.parent_path(), ec);
  if (ec) return Fail(ErrorCode::kIo, "create " + file_.parent_path().string() + ": " + ec.message());
  nlohmann::json doc = {{"version", 1}, {"tokens", nlohmann::json::array()}};
  for (const TokenRecord& r : records) doc["tokens"].push_back(RecordToJson(r));
  // 0600: the hashes cannot be turned back into tokens, but who holds which scope is the
  // owner's business.
  return WriteFileAtomic(file_, doc.dump(2) + "\n", 0600);
}

Result<NewToken> TokenStore::Create(Scope scope, std::string name) {
  if (name.size() > 64 ||
      std::any_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
    return Fail(ErrorCode::kInvalidArgument,
                "token name: at most 64 characters, no control characters");
  }
  std::array<unsigned char, 32> secret{};
  size_t got = 0;
  while (got < secret.size()) {
    ssize_t n = ::getrandom(secret.data() + got, secret.size() - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return FailErrno(ErrorCode::kIo, "getrandom", errno);
    }
    got += static_cast<size_t>(n);
  }
  NewToken made;
  made.token = "skrt_" + Hex(secret.data(), secret.size());
  made.record.sha256 = Sha256Hex(made.token);
  made.record.id = made.record.sha256.substr(0, 12);
  made.record.name = std::move(name);
  made.record.scope = scope;
  made.record.created = std::chrono::system_clock::now();

  std::lock_guard lock(mu_);
  if (auto ok = Reload(); !ok) return std::unexpected(ok.error());
  std::vector<TokenRecord> records = cache_;
  records.push_back(made.record);
  if (auto ok = Save(records); !ok) return std::unexpected(ok.error());
  cached_ = false;
  return made;
}

Result<std::vector<TokenRecord>> TokenStore::List() const {
  std::lock_guard lock(mu_);
  if (auto ok = Reload(); !ok) return std::unexpected(ok.error());
  return cache_;
}

Result<TokenRecord> TokenStore::Revoke(std::string_view id_or_name) {
  std::lock_guard lock(mu_);
  if (auto ok = Reload(); !ok) return std::unexpected(ok.error());
  std::vector<TokenRecord> records = cache_;
  auto by_id = std::find_if(records.begin(), records.end(),
                            [&](const TokenRecord& r) { return r.id == id_or_name; });
  if (by_id == records.end()) {
    size_t named = std::count_if(records.begin(), records.end(),
                                 [&](const TokenRecord& r) { return r.name == id_or_name; });
    if (named > 1) {
      return Fail(ErrorCode::kConflict, "several tokens are named '" + std::string(id_or_name) +
                                            "': revoke one by its id");
    }
    by_id = std::find_if(records.begin(), records.end(),
                         [&](const TokenRecord& r) { return r.name == id_or_name; });
  }
  if (by_id == records.end() || id_or_name.empty()) {
    return Fail(ErrorCode::kNotFound, "no token with id or name '" + std::string(id_or_name) + "'");
  }
  TokenRecord removed = *by_id;
  records.erase(by_id);
  if (auto ok = Save(records); !ok) return std::unexpected(ok.error());
  cached_ = false;
  return removed;
}

Result<std::optional<TokenRecord>> TokenStore::Verify(std::string_view token) const {
  // Only hashes are compared: the token's SHA-256 is as unguessable as the token, so a
  // comparison that returns early tells an attacker nothing about a stored token.
  const std::string hash = Sha256Hex(token);
  std::lock_guard lock(mu_);
  if (auto ok = Reload(); !ok) return std::unexpected(ok.error());
  for (const TokenRecord& r : cache_) {
    if (r.sha256 == hash) return std::optional<TokenRecord>(r);
  }
  return std::optional<TokenRecord>();
}

std::optional<std::string_view> BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.size() <= kScheme.size()) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {  // The scheme is case-insensitive (RFC 7235).
    if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
        std::tolower(static_cast<unsigned char>(kScheme[i]))) {
      return std::nullopt;
    }
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty()) return std::nullopt;
  return token;
}

std::optional<std::string> CheckHost(std::string_view host,
                                     const std::vector<std::string>& allowed) {
  if (host.empty()) return "the request has no Host header";
  const std::string_view name = StripPort(host);
  if (allowed.empty()) {
    if (IsLoopbackName(name)) return std::nullopt;
  } else if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) {
    return std::nullopt;
  }
  return "Host '" + std::string(host) + "' is not a name this service answers to";
}

std::optional<std::string> CheckOrigin(std::string_view origin, std::string_view host,
                                       const std::vector<std::string>& allowed) {
  if (origin.empty()) return std::nullopt;
  if (!host.empty()) {
    for (std::string_view scheme : {"http://", "https://"}) {
      if (origin.starts_with(scheme) && origin.substr(scheme.size()) == host) return std::nullopt;
    }
  }
  if (std::find(allowed.begin(), allowed.end(), origin) != allowed.end()) return std::nullopt;
  return "Origin '" + std::string(origin) + "' may not call this service";
}

}  // namespace skillrt::service
