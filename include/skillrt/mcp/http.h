// The Streamable HTTP transport (MCP 2025-11-25 "Transports", and the stateless rules of
// 2026-07-28): one endpoint, POST for messages (a JSON or an SSE response), GET for a stream
// of server notifications, DELETE to end a session.
//
// Safety rules, each for a reason: the default listen address is the loopback (nothing on the
// network can reach it); Host and Origin are checked on every request (403 otherwise), so a web
// page cannot reach a local server through DNS rebinding; a non-loopback listen requires a
// bearer token; requests, sessions, connections and SSE streams are bounded, and reads and
// writes time out, so one slow or hostile client cannot hold the server.
#ifndef SKILLRT_MCP_HTTP_H_
#define SKILLRT_MCP_HTTP_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "skillrt/mcp/server.h"
#include "skillrt/error.h"

namespace skillrt::mcp {

/// Decides whether a request's bearer token is good. The HTTP service's token store (with
/// scopes) implements it too; the server only asks this one question.
class TokenCheck {
 public:
  virtual ~TokenCheck() = default;
  /// True when `token` (the text after "Bearer ") may use the server.
  virtual bool Allows(std::string_view token) const = 0;
};

/// One fixed token, compared in constant time.
class FixedToken : public TokenCheck {
 public:
  explicit FixedToken(std::string token) : token_(std::move(token)) {}
  bool Allows(std::string_view token) const override;

 private:
  std::string token_;
};

/// Reads a token reference: "env:NAME" (the variable's value) or "file:PATH" (the file's
/// first line; the file must not be readable by group or others). kInvalidArgument for
/// another form, kNotFound when unset or missing, kDenied for a file others can read.
Result<std::string> ReadTokenRef(std::string_view ref);

/// <home>/mcp-token: read when present; else made (32 random bytes, hex), written 0600, and
/// `*created` set so that the caller shows it once. kDenied when the file is readable by
/// group or others.
Result<std::string> HomeToken(const std::filesystem::path& home, bool* created);

struct HttpOptions {
  std::string host = "127.0.0.1";  ///< Address to bind.
  uint16_t port = 8765;            ///< 0: any free port (see `on_listening`).
  std::string path = "/mcp";       ///< The endpoint.
  /// Required for every request when set; ServeHttp refuses a non-loopback `host` without one.
  std::shared_ptr<const TokenCheck> token = nullptr;
  /// Origins allowed besides http(s)://localhost, 127.0.0.1 and [::1] on any port.
  std::vector<std::string> allowed_origins = {};
  size_t max_body_bytes = 4u << 20;   ///< Larger requests get 413.
  /// Connections served at once; at least max_streams + max_listeners + 4, so that open
  /// streams never take every thread.
  size_t threads = 32;
  /// Sessions at once. At the limit the least recently used one idle for `session_idle`
  /// gives way to a new one; if none is that idle, initialize gets 503.
  size_t max_sessions = 256;
  std::chrono::seconds session_idle{600};
  size_t max_streams = 16;            ///< POST responses on SSE at once; beyond it, 503.
  size_t max_listeners = 8;           ///< GET streams at once; beyond it, 503.
  /// A GET stream ends after this long (the client opens another if it wants one).
  std::chrono::seconds listener_lifetime{60};
  std::chrono::seconds io_timeout{30};  ///< Read and write timeout of a connection.
  /// Called with the bound port once listening.
  std::function<void(uint16_t)> on_listening = nullptr;
  /// Stops the server when requested (an embedder's or a benchmark's way out; the CLI stops
  /// on SIGINT and SIGTERM).
  std::stop_token stop = {};
};

/// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(std::string_view host);

/// Serves `server` until the process is signalled (SIGINT/SIGTERM end it cleanly). Errors:
/// kInvalidArgument (a non-loopback host without a token), kIo (cannot bind).
Result<void> ServeHttp(Server& server, const HttpOptions& options);

}  // namespace skillrt::mcp

#endif  // SKILLRT_MCP_HTTP_H_
