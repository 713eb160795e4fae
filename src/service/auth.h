// Who may call the HTTP service: bearer tokens with a scope, kept hashed under the state
// directory, and the Host and Origin checks that keep a browser page from reaching a service
// on the loopback (docs/service.md, "Tokens and scopes"). Shared by every HTTP front end.
#ifndef SKILLRT_SERVICE_AUTH_H_
#define SKILLRT_SERVICE_AUTH_H_

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "skillrt/error.h"

namespace skillrt::service {

/// What a token may do. Not a ladder: `run` cannot approve and `approve` cannot run, so an
/// agent holding a run token cannot approve its own calls. `admin` may do everything.
enum class Scope {
  kRead,     ///< Read skills, runs, jobs, events, approvals pending, metrics.
  kRun,      ///< kRead, and start and cancel runs and jobs.
  kApprove,  ///< kRead, and answer approval requests.
  kAdmin,    ///< Everything, including the audit log.
};

/// "read", "run", "approve", "admin".
std::string_view ScopeName(Scope scope);

/// The inverse of ScopeName; kInvalidArgument naming the accepted values.
Result<Scope> ParseScope(std::string_view name);

/// True when a token of scope `held` may do what needs `needed`.
bool ScopeAllows(Scope held, Scope needed);

/// One stored token: never the token itself, only its SHA-256.
struct TokenRecord {
  std::string id;      ///< 12 hex digits, the start of the hash: names the token in lists.
  std::string name;    ///< Given at creation; "" when none was.
  Scope scope = Scope::kRead;
  std::string sha256;  ///< Lower-case hex of SHA-256 of the token text.
  std::chrono::system_clock::time_point created;
};

/// A newly made token: the text, shown once, and its record.
struct NewToken {
  std::string token;  ///< "skrt_" followed by 64 hex digits (256 random bits).
  TokenRecord record;
};

/// The tokens file, `<home>/tokens.json` (mode 0600, replaced atomically on every change).
/// Verify re-reads the file when its modification time, size or inode changed, so a token
/// created or revoked by another process takes effect on the next request. Thread-safe.
class TokenStore {
 public:
  /// A store for `<home>/tokens.json`. Does no I/O.
  explicit TokenStore(std::filesystem::path home);

  /// Makes a token of `scope` from 32 bytes of getrandom(2) and stores its hash. Errors:
  /// kIo (no randomness, the file cannot be written), kParse (the file is corrupt),
  /// kInvalidArgument (a name longer than 64 characters or with control characters).
  Result<NewToken> Create(Scope scope, std::string name);

  /// Every stored token, oldest first. A missing file holds none. kParse, kIo.
  Result<std::vector<TokenRecord>> List() const;

  /// Removes the token whose id (or name, when exactly one token has it) is `id_or_name`.
  /// kNotFound when none matches, kConflict when a name matches several.
  Result<TokenRecord> Revoke(std::string_view id_or_name);

  /// The record of `token`, or nullopt when it is not a stored token. Errors only when the
  /// file cannot be read (kIo, kParse): a caller refuses the request then (fail closed).
  Result<std::optional<TokenRecord>> Verify(std::string_view token) const;

  const std::filesystem::path& file() const { return file_; }

 private:
  Result<void> Reload() const;  // REQUIRES: mu_ held.
  Result<void> Save(const std::vector<TokenRecord>& records) const;

  std::filesystem::path file_;
  mutable std::mutex mu_;
  mutable std::vector<TokenRecord> cache_;
  mutable struct stat cached_stat_ {};
  mutable bool cached_ = false;
};

/// The token of an `Authorization: Bearer <token>` header value; nullopt when the header is
/// missing or of another scheme (RFC 6750, section 2.1).
std::optional<std::string_view> BearerToken(std::string_view authorization);

/// Checks a request's Host header against the names the service answers to (DNS rebinding:
/// a hostile page that resolves its own name to 127.0.0.1 sends its own name as Host). An
/// empty `allowed` accepts "localhost", "127.0.0.1" and "[::1]" with any port. Returns the
/// reason for a refusal, or nullopt.
std::optional<std::string> CheckHost(std::string_view host,
                                     const std::vector<std::string>& allowed);

/// Refuses any request that carries an Origin header not in `allowed` (a browser page of
/// another site; CLI clients and agents send none), unless it is the request's own origin:
/// "http://" or "https://" followed by exactly `host` (the Host header, port included),
/// which is a page this service served (the studio; browsers send Origin on its POSTs).
/// Sound only after CheckHost accepted `host`: a DNS-rebinding page sends its own name.
/// Returns the reason, or nullopt (RFC 6454, section 7).
std::optional<std::string> CheckOrigin(std::string_view origin, std::string_view host,
                                       const std::vector<std::string>& allowed);

}  // namespace skillrt::service

#endif  // SKILLRT_SERVICE_AUTH_H_
