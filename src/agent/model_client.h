// The agent's own connection to its model endpoint (not a skill's: no egress proxy), over
// libcurl: TLS verified, the proxy variables honoured (libcurl reads http_proxy, https_proxy,
// no_proxy), timeouts, cancellation, and retries with backoff on 429 and 5xx.
#ifndef SKILLRT_AGENT_MODEL_CLIENT_H_
#define SKILLRT_AGENT_MODEL_CLIENT_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "agent/stream.h"
#include "skillrt/agent.h"
#include "skillrt/error.h"

namespace skillrt::agent {

/// The key that `ref` names: "env:NAME" (the variable's value) or "file:PATH" (the file's
/// first line, trimmed). An empty ref is no key. kInvalidArgument for another form, kNotFound
/// for an unset variable or a missing file (named; the value never is).
Result<std::string> ResolveApiKey(std::string_view ref);

/// A retry the client is about to make, for the event log.
struct RetryNotice {
  uint32_t attempt = 0;                  ///< 1 for the first retry.
  long http_status = 0;                  ///< 0 when no response came.
  std::chrono::milliseconds delay{0};    ///< How long it waits first.
};

/// Streams model requests to one endpoint. Not thread-safe: one request at a time.
class ModelClient {
 public:
  /// `api_key` from ResolveApiKey; kept in memory only, redacted from every error.
  ModelClient(ModelProfile profile, std::string api_key);

  /// POSTs `body` (with "stream": true) to <base_url>/chat/completions or /messages and
  /// assembles the streamed turn; `on_text` gets text as it streams. Retries 429 and 5xx
  /// responses (Retry-After in seconds or as an HTTP date, else exponential backoff with
  /// jitter) up to ModelProfile::max_retries times, telling `on_retry` first.
  /// Errors: kDenied for 401/403 (the key is refused, its reference named); kNotFound for 404
  /// (unknown model or wrong base URL); kIo for other statuses (with the server's message), a
  /// connection that cannot be made (naming the base URL), a timeout, a stream that ends
  /// early or sends an error; kParse for a malformed stream; kIo "cancelled" once `cancel` is
  /// set (checked while connecting, streaming and waiting to retry). The key never appears.
  Result<ModelTurn> Complete(const nlohmann::json& body,
                             const std::function<void(std::string_view)>& on_text,
                             const std::atomic<bool>& cancel,
                             const std::function<void(const RetryNotice&)>& on_retry = {});

  /// The URL requests go to.
  const std::string& url() const { return url_; }

 private:
  struct Attempt;
  Result<ModelTurn> Once(const std::string& payload,
                         const std::function<void(std::string_view)>& on_text,
                         const std::atomic<bool>& cancel, Attempt* attempt);
  std::string Redact(std::string text) const;

  ModelProfile profile_;
  std::string api_key_;
  std::string url_;
};

}  // namespace skillrt::agent

#endif  // SKILLRT_AGENT_MODEL_CLIENT_H_
