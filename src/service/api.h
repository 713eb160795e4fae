// The HTTP API under /v1 (docs/service.md, docs/openapi.json): every request is checked in
// one order (Host, Origin, bearer token, the route's scope) before a handler sees it, and
// every error is a JSON object {"error": {"code", "message"}} with a stable code.
#ifndef SKILLRT_SERVICE_API_H_
#define SKILLRT_SERVICE_API_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "service/auth.h"
#include "service/http_server.h"
#include "service/job_runner.h"
#include "service/job_store.h"
#include "service/metrics.h"
#include "service/run_table.h"
#include "skillrt/engine.h"
#include "skillrt/search.h"

namespace skillrt::service {

/// How the API behaves.
struct ApiOptions {
  /// Host names (without port) requests may be addressed to, besides none: empty accepts
  /// the loopback names only (CheckHost).
  std::vector<std::string> allowed_hosts;
  /// Origins (scheme://host[:port]) whose browser pages may call the API; empty: none. A
  /// page of the service's own origin (the studio: Origin names the request's Host) may too.
  std::vector<std::string> allowed_origins;
  /// Paths answered without a token, after the Host and Origin checks: exact paths, or
  /// prefixes written with a final '*' ("/studio/*"). For the studio's static files, which
  /// hold no data; the routes under /v1 are never among them.
  std::vector<std::string> public_paths;
  /// Event streams (SSE or JSON Lines) open at once; past it 503 "busy". Each holds one of
  /// the HttpServer's threads, so keep it below HttpLimits::threads.
  size_t max_event_streams = 16;
  /// The longest a `wait` start of a run blocks before answering 202 with the run going on.
  std::chrono::milliseconds max_wait{120000};
  /// How often an idle event stream sends a comment, so proxies keep it open.
  std::chrono::milliseconds stream_keepalive{15000};
};

/// The status codes and stable error codes of the API, one table (api.cc).
enum class ApiError {
  kBadRequest,      ///< 400 bad_request: a malformed body, parameter or header.
  kUnauthorized,    ///< 401 unauthorized: no token, or not a known token.
  kForbidden,       ///< 403 forbidden: the token's scope does not allow the route.
  kBadHost,         ///< 403 bad_host: the Host header names no host this service answers to.
  kBadOrigin,       ///< 403 bad_origin: a browser page of an origin not allowed.
  kNotFound,        ///< 404 not_found.
  kMethod,          ///< 405 method_not_allowed.
  kConflict,        ///< 409 conflict: the thing is not in a state that allows it.
  kTooLarge,        ///< 413 too_large: the body is larger than allowed.
  kUnprocessable,   ///< 422 invalid: the request parsed but names something invalid.
  kBusy,            ///< 503 busy: no room (event streams, connections).
  kUnavailable,     ///< 503 unavailable: a part of the service cannot work here (the search
                    ///< model is not installed); the message says what is missing.
  kInternal,        ///< 500 internal: skillrt itself failed; the message says how.
};

/// A page of a run's events, in the documented JSON form (RunEventToJson).
struct EventPage {
  std::vector<std::pair<uint64_t, nlohmann::json>> events;  ///< (seq, event), in order.
  uint64_t dropped = 0;   ///< As EventBatch::dropped.
  bool finished = false;  ///< Nothing more will come.
};

/// Reads the events with seq > `after`, waiting up to `wait` for the first.
using EventSource = std::function<EventPage(uint64_t after, std::chrono::milliseconds wait)>;

/// Wires the routes into `server`. Everything given is borrowed and must outlive the server's
/// listening; `jobs` and `runner` may be null (no job routes then: 404 "jobs are off").
/// Thread-safe as httplib::Server handlers are: any number of requests at once.
class Api {
 public:
  Api(Engine& engine, TokenStore& tokens, JobStore* jobs, JobRunner* runner, RunTable& runs,
      Metrics& metrics, ApiOptions options);

  /// Registers every route and the pre-routing checks on `server`.
  void Register(HttpServer& server);

  /// Asks open event streams to end (the server is stopping).
  void StopStreams() { stopping_ = true; }

 private:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
  // `handler` behind the scope check.
  Handler Guard(Scope needed, Handler handler);

  void RegisterRuns(HttpServer& server);
  void RegisterJobs(HttpServer& server);
  void RegisterInfo(HttpServer& server);
  // The read-only routes the studio needs besides the rest (studio_api.cc).
  void RegisterStudioApi(HttpServer& server);

  // The agent runs under the engine's home, read from their event logs (api_agent_runs.cc).
  void RegisterAgentRuns(HttpServer& server);
  // The hybrid skill search over the catalogue (api_search.cc).
  void RegisterSearch(HttpServer& server);
  // The search, opened on first use and brought up to date when the catalogue changed.
  Result<SearchResult> Search(std::string_view query, const SearchOptions& options);

  // Streams the events `source` reads as SSE or JSON Lines (api_stream.cc).
  void Stream(const httplib::Request& req, httplib::Response& res, EventSource source);

  Engine& engine_;
  TokenStore& tokens_;
  JobStore* jobs_;
  JobRunner* runner_;
  RunTable& runs_;
  Metrics& metrics_;
  ApiOptions options_;
  HttpServer* server_ = nullptr;
  std::atomic<size_t> streams_{0};
  std::atomic<bool> stopping_{false};
  // One search for the service's life (its model loaded once), opened by the first search.
  CatalogueSearch search_;
};

/// Sets `res` to the JSON error of `error` with `message`.
void SetError(httplib::Response& res, ApiError error, const std::string& message);

/// Parses the query parameter `name` of `req` as an integer in [low, high]; `fallback` when
/// absent. Sets a 400 naming the parameter and its bounds on `res` and returns nullopt when
/// malformed or out of bounds.
std::optional<int64_t> IntParam(const httplib::Request& req, httplib::Response& res,
                                const char* name, int64_t low, int64_t high, int64_t fallback);

/// Sets `res` to the JSON error for a skillrt Error (kNotFound -> 404, kInvalidArgument ->
/// 400, kConflict -> 409, kValidation/kParse -> 422, else 500).
void SetError(httplib::Response& res, const Error& error);

/// Sets `res` to `body` as JSON with `status`.
void SetJson(httplib::Response& res, const nlohmann::json& body, int status = 200);

/// Checks that `selector` (SKILL or SKILL@INSTANCE) names a skill of the engine's roots: a
/// name, never a path (a client of the service may run only the skills it serves). Sets the
/// error on `res` (400 for a path or a malformed selector, 404 for an unknown skill) and
/// returns false otherwise.
bool CheckSkillSelector(const Engine& engine, const std::string& selector,
                        httplib::Response& res);

/// The token of the request the calling thread is handling (set by the pre-routing check);
/// nullopt outside a handler.
std::optional<TokenRecord> CurrentToken();

/// The OpenAPI document (docs/openapi.json, compiled in).
const std::string& OpenApiDocument();

}  // namespace skillrt::service

#endif  // SKILLRT_SERVICE_API_H_
