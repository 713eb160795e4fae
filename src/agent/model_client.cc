// One streamed POST per attempt: the response's bytes go through the SSE reader into the
// protocol's assembler as they arrive; an error status collects the body for its message.
#include "agent/model_client.h"

#include <sys/random.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <thread>

#include "skillrt/curl_api.h"

namespace skillrt::agent {
namespace {

constexpr size_t kErrorBodyMax = 64 * 1024;

// The libcurl functions (skillrt/curl_api.h). REQUIRES: LoadCurl() has succeeded (Once checks
// it before any transfer exists; nothing else runs before that).
const CurlApi& Curl() { return **LoadCurl(); }

struct CurlDeleter {
  void operator()(CURL* curl) const { Curl().easy_cleanup(curl); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { Curl().slist_free_all(list); }
};

std::string Trim(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  size_t start = 0;
  while (start < text.size() && std::isspace(static_cast<unsigned char>(text[start]))) ++start;
  return text.substr(start);
}

// The message a server puts in an error body: OpenAI {"error": {"message"}}, Anthropic
// {"type": "error", "error": {"type", "message"}}, Ollama {"error": "text"}; else the text.
std::string ServerMessage(const std::string& body) {
  auto parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object() && parsed.contains("error")) {
    const auto& error = parsed["error"];
    if (error.is_string()) return error.get<std::string>();
    if (error.is_object() && error.contains("message") && error["message"].is_string()) {
      return error["message"].get<std::string>();
    }
  }
  std::string text = Trim(body);
  if (text.size() > 300) text = text.substr(0, 300) + "...";
  return text;
}

std::chrono::milliseconds Jitter(std::chrono::milliseconds base) {
  uint32_t random = 0;
  if (::getrandom(&random, sizeof(random), 0) != sizeof(random)) random = 0;
  return base + std::chrono::milliseconds(base.count() > 0 ? random % (base.count() / 2 + 1) : 0);
}

}  // namespace

Result<std::string> ResolveApiKey(std::string_view ref) {
  if (ref.empty()) return std::string();
  if (ref.starts_with("env:")) {
    const std::string name(ref.substr(4));
    const char* value = name.empty() ? nullptr : std::getenv(name.c_str());
    if (value == nullptr || *value == '\0') {
      return Fail(ErrorCode::kNotFound, "the API key variable " + name + " is not set");
    }
    return std::string(value);
  }
  if (ref.starts_with("file:")) {
    const std::string path(ref.substr(5));
    std::ifstream in(path);
    std::string line;
    if (!in || !std::getline(in, line)) {
      return Fail(ErrorCode::kNotFound, "the API key file " + path + " cannot be read");
    }
    line = Trim(line);
    if (line.empty()) return Fail(ErrorCode::kNotFound, "the API key file " + path + " is empty");
    return line;
  }
  // Not quoted: what was given in its place may be the key itself.
  return Fail(ErrorCode::kInvalidArgument,
              "an API key is given by reference only: env:NAME or file:PATH");
}

// What one attempt saw, beyond its result.
struct ModelClient::Attempt {
  long status = 0;
  std::string retry_after;
  bool retryable = false;
};

ModelClient::ModelClient(ModelProfile profile, std::string api_key)
    : profile_(std::move(profile)), api_key_(std::move(api_key)) {
  std::string base = profile_.base_url;
  while (base.ends_with('/')) base.pop_back();
  url_ = base + (profile_.protocol == Protocol::kAnthropic ? "/messages" : "/chat/completions");
}

std::string ModelClient::Redact(std::string text) const {
  if (api_key_.size() < 4) return text;
  for (size_t at; (at = text.find(api_key_)) != std::string::npos;) {
    text.replace(at, api_key_.size(), "[REDACTED]");
  }
  return text;
}

Result<ModelTurn> ModelClient::Complete(const nlohmann::json& body,
                                        const std::function<void(std::string_view)>& on_text,
                                        const std::atomic<bool>& cancel,
                                        const std::function<void(const RetryNotice&)>& on_retry) {
  const std::string payload = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::chrono::milliseconds backoff = profile_.retry_backoff;
  for (uint32_t attempt_no = 0;; ++attempt_no) {
    Attempt attempt;
    auto turn = Once(payload, on_text, cancel, &attempt);
    if (turn || !attempt.retryable || attempt_no >= profile_.max_retries || cancel.load()) {
      if (!turn) return std::unexpected(Error::Make(turn.error().code,
                                                    Redact(turn.error().message)));
      return turn;
    }
    std::chrono::milliseconds delay = Jitter(backoff);
    if (!attempt.retry_after.empty()) {
      const std::string& value = attempt.retry_after;
      if (value.find_first_not_of("0123456789") == std::string::npos && value.size() < 6) {
        delay = std::chrono::seconds(std::stol(value));
      } else if (time_t when = Curl().getdate(value.c_str(), nullptr); when > 0) {
        delay = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::system_clock::from_time_t(when) - std::chrono::system_clock::now());
      }
      delay = std::clamp(delay, std::chrono::milliseconds(0), std::chrono::milliseconds(60'000));
    }
    backoff *= 2;
    if (on_retry) on_retry({.attempt = attempt_no + 1, .http_status = attempt.status,
                            .delay = delay});
    const auto until = std::chrono::steady_clock::now() + delay;
    while (std::chrono::steady_clock::now() < until) {
      if (cancel.load()) return Fail(ErrorCode::kIo, "cancelled");
      std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(
          std::chrono::milliseconds(20), until - std::chrono::steady_clock::now()));
    }
  }
}

namespace {

// The state the callbacks of one transfer share.
struct Transfer {
  CURL* curl = nullptr;
  SseParser parser;
  std::unique_ptr<StreamAssembler> assembler;
  std::optional<Error> error;  // The stream's own failure (malformed, an error event).
  long status = 0;
  std::string error_body;
  std::string retry_after;
  const std::atomic<bool>* cancel = nullptr;
};

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  constexpr std::string_view kRetryAfter = "retry-after:";
  if (line.size() > kRetryAfter.size() &&
      strncasecmp(line.data(), kRetryAfter.data(), kRetryAfter.size()) == 0) {
    t->retry_after = Trim(std::string(line.substr(kRetryAfter.size())));
  }
  return size * count;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (t->status == 0) Curl().easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->status);
  if (t->status >= 300) {
    if (t->error_body.size() < kErrorBodyMax) t->error_body.append(data, n);
    return n;
  }
  for (const SseEvent& event : t->parser.Feed(std::string_view(data, n))) {
    auto fed = t->assembler->Feed(event);
    if (!fed) {
      t->error = fed.error();
      return 0;  // Aborts the transfer (CURLE_WRITE_ERROR).
    }
  }
  if (t->parser.overflow()) {
    t->error = Error::Make(ErrorCode::kParse, "the model's stream sent an event over 8 MiB");
    return 0;
  }
  return n;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Transfer*>(user)->cancel->load() ? 1 : 0;  // Non-zero aborts.
}

}  // namespace

Result<ModelTurn> ModelClient::Once(const std::string& payload,
                                    const std::function<void(std::string_view)>& on_text,
                                    const std::atomic<bool>& cancel, Attempt* attempt) {
  if (auto loaded = LoadCurl(); !loaded) {
    return Fail(ErrorCode::kUnsupported,
                "cannot reach the model endpoint: " + loaded.error().message);
  }
  std::unique_ptr<CURL, CurlDeleter> curl(Curl().easy_init());
  if (!curl) return Fail(ErrorCode::kInternal, "curl_easy_init failed");
  Transfer t;
  t.curl = curl.get();
  t.assembler = MakeAssembler(profile_.protocol);
  t.assembler->on_text = on_text;
  t.cancel = &cancel;

  curl_slist* raw = nullptr;
  raw = Curl().slist_append(raw, "Content-Type: application/json");
  raw = Curl().slist_append(raw, "Accept: text/event-stream");
  if (profile_.protocol == Protocol::kAnthropic) {
    raw = Curl().slist_append(raw, "anthropic-version: 2023-06-01");
    if (!api_key_.empty()) raw = Curl().slist_append(raw, ("x-api-key: " + api_key_).c_str());
  } else if (!api_key_.empty()) {
    raw = Curl().slist_append(raw, ("Authorization: Bearer " + api_key_).c_str());
  }
  std::unique_ptr<curl_slist, SlistDeleter> headers(raw);

  CURL* c = curl.get();
  Curl().easy_setopt(c, CURLOPT_URL, url_.c_str());
  Curl().easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  Curl().easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
  // Verified TLS, always: the key travels on this connection.
  Curl().easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  Curl().easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  Curl().easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  Curl().easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  Curl().easy_setopt(c, CURLOPT_POSTFIELDS, payload.data());
  Curl().easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload.size()));
  Curl().easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(profile_.connect_timeout.count()));
  Curl().easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(profile_.request_timeout.count()));
  Curl().easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  Curl().easy_setopt(c, CURLOPT_HEADERDATA, &t);
  Curl().easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  Curl().easy_setopt(c, CURLOPT_WRITEDATA, &t);
  Curl().easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  Curl().easy_setopt(c, CURLOPT_XFERINFOFUNCTION, OnProgress);
  Curl().easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  Curl().easy_setopt(c, CURLOPT_USERAGENT, "skillrt-agent");

  const CURLcode code = Curl().easy_perform(c);
  Curl().easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t.status);
  attempt->status = t.status;
  attempt->retry_after = t.retry_after;

  if (cancel.load()) return Fail(ErrorCode::kIo, "cancelled");
  if (t.error) return std::unexpected(*t.error);
  if (t.status >= 300) {
    const std::string message = ServerMessage(t.error_body);
    const std::string status = "HTTP " + std::to_string(t.status);
    attempt->retryable = t.status == 429 || t.status >= 500;
    if (t.status == 401 || t.status == 403) {
      return Fail(ErrorCode::kDenied,
                  "the model endpoint refused the API key" +
                      (profile_.api_key_ref.empty() ? std::string(" (none was given)")
                                                    : " named by " + profile_.api_key_ref) +
                      " (" + status + "): " + message);
    }
    if (t.status == 404) {
      return Fail(ErrorCode::kNotFound, "the model endpoint answered " + status + " for " +
                                            url_ + ": unknown model '" + profile_.model +
                                            "' or a wrong base URL: " + message);
    }
    return Fail(ErrorCode::kIo, "the model endpoint answered " + status + ": " + message);
  }
  if (code != CURLE_OK) {
    const std::string what = Curl().easy_strerror(code);
    if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST ||
        code == CURLE_COULDNT_RESOLVE_PROXY || code == CURLE_UNSUPPORTED_PROTOCOL ||
        code == CURLE_URL_MALFORMAT) {
      return Fail(ErrorCode::kIo, "cannot reach the model endpoint at " + profile_.base_url +
                                      " (" + what + "): check base_url");
    }
    if (code == CURLE_OPERATION_TIMEDOUT) {
      return Fail(ErrorCode::kIo, "the model request to " + url_ + " timed out (" + what + ")");
    }
    return Fail(ErrorCode::kIo, "the model's stream from " + url_ + " failed: " + what);
  }
  if (t.status != 200) {
    return Fail(ErrorCode::kIo, "the model endpoint answered HTTP " + std::to_string(t.status));
  }
  if (!t.assembler->done() && t.parser.pending()) {
    return Fail(ErrorCode::kIo, "the model's stream ended in the middle of an event");
  }
  return t.assembler->Finish();
}

}  // namespace skillrt::agent
