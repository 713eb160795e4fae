// The API's checks, errors and service routes (api.h). Each request runs, in order:
// the Host check, the Origin check, the bearer token (pre-routing, for every path), then the
// route's scope (Guard), then the handler.
#include "service/api.h"

#include <array>
#include <charconv>

namespace skillrt::service {
namespace {

struct ErrorRow {
  ApiError error;
  int status;
  const char* code;
};
constexpr std::array<ErrorRow, 13> kErrors = {{
    {ApiError::kBadRequest, 400, "bad_request"},
    {ApiError::kUnauthorized, 401, "unauthorized"},
    {ApiError::kForbidden, 403, "forbidden"},
    {ApiError::kBadHost, 403, "bad_host"},
    {ApiError::kBadOrigin, 403, "bad_origin"},
    {ApiError::kNotFound, 404, "not_found"},
    {ApiError::kMethod, 405, "method_not_allowed"},
    {ApiError::kConflict, 409, "conflict"},
    {ApiError::kTooLarge, 413, "too_large"},
    {ApiError::kUnprocessable, 422, "invalid"},
    {ApiError::kBusy, 503, "busy"},
    {ApiError::kUnavailable, 503, "unavailable"},
    {ApiError::kInternal, 500, "internal"},
}};

// The token of the request this thread is handling: cpp-httplib runs pre-routing and the
// handler of one request on one thread, one request at a time.
thread_local std::optional<TokenRecord> tl_token;

}  // namespace

std::optional<TokenRecord> CurrentToken() { return tl_token; }

void SetJson(httplib::Response& res, const nlohmann::json& body, int status) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
                  "application/json");
}

void SetError(httplib::Response& res, ApiError error, const std::string& message) {
  for (const ErrorRow& row : kErrors) {
    if (row.error != error) continue;
    SetJson(res, {{"error", {{"code", row.code}, {"message", message}}}}, row.status);
    if (error == ApiError::kUnauthorized) res.set_header("WWW-Authenticate", "Bearer");
    return;
  }
}

void SetError(httplib::Response& res, const Error& error) {
  switch (error.code) {
    case ErrorCode::kNotFound: return SetError(res, ApiError::kNotFound, error.message);
    case ErrorCode::kInvalidArgument: return SetError(res, ApiError::kBadRequest, error.message);
    case ErrorCode::kConflict: return SetError(res, ApiError::kConflict, error.message);
    case ErrorCode::kParse:
    case ErrorCode::kValidation:
    case ErrorCode::kDenied: return SetError(res, ApiError::kUnprocessable, error.message);
    default: return SetError(res, ApiError::kInternal, error.ToString());
  }
}

std::optional<int64_t> IntParam(const httplib::Request& req, httplib::Response& res,
                                const char* name, int64_t low, int64_t high, int64_t fallback) {
  if (!req.has_param(name)) return fallback;
  const std::string text = req.get_param_value(name);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < low ||
      value > high) {
    SetError(res, ApiError::kBadRequest, std::string(name) + ": an integer from " +
                                             std::to_string(low) + " to " +
                                             std::to_string(high));
    return std::nullopt;
  }
  return value;
}

Api::Api(Engine& engine, TokenStore& tokens, JobStore* jobs, JobRunner* runner, RunTable& runs,
         Metrics& metrics, ApiOptions options)
    : engine_(engine), tokens_(tokens), jobs_(jobs), runner_(runner), runs_(runs),
      metrics_(metrics), options_(std::move(options)),
      search_(engine.registry(), DefaultSearchIndexPath(engine.home())) {}

Api::Handler Api::Guard(Scope needed, Handler handler) {
  return [needed, handler = std::move(handler)](const httplib::Request& req,
                                                httplib::Response& res) {
    if (!tl_token) return SetError(res, ApiError::kUnauthorized, "a bearer token is required");
    if (!ScopeAllows(tl_token->scope, needed)) {
      return SetError(res, ApiError::kForbidden,
                      "this route needs the " + std::string(ScopeName(needed)) +
                          " scope; the token has " + std::string(ScopeName(tl_token->scope)));
    }
    handler(req, res);
  };
}

void Api::Register(HttpServer& server) {
  server_ = &server;
  server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    tl_token.reset();
    if (auto bad = CheckHost(req.get_header_value("Host"), options_.allowed_hosts)) {
      SetError(res, ApiError::kBadHost, *bad);
      return httplib::Server::HandlerResponse::Handled;
    }
    if (auto bad = CheckOrigin(req.get_header_value("Origin"), req.get_header_value("Host"),
                               options_.allowed_origins)) {
      SetError(res, ApiError::kBadOrigin, *bad);
      return httplib::Server::HandlerResponse::Handled;
    }
    for (const std::string& path : options_.public_paths) {
      const bool prefix = path.ends_with('*');
      if (prefix ? req.path.starts_with(std::string_view(path).substr(0, path.size() - 1))
                 : req.path == path) {
        return httplib::Server::HandlerResponse::Unhandled;
      }
    }
    const std::string authorization = req.get_header_value("Authorization");
    auto token = BearerToken(authorization);  // A view into `authorization`.
    if (!token) {
      SetError(res, ApiError::kUnauthorized, "a bearer token is required (Authorization: Bearer)");
      return httplib::Server::HandlerResponse::Handled;
    }
    auto record = tokens_.Verify(*token);
    if (!record) {  // The tokens file cannot be read: refuse rather than guess.
      SetError(res, ApiError::kInternal, "cannot check tokens: " + record.error().message);
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!*record) {
      SetError(res, ApiError::kUnauthorized, "unknown or revoked token");
      return httplib::Server::HandlerResponse::Handled;
    }
    tl_token = **record;
    return httplib::Server::HandlerResponse::Unhandled;
  });
  server.set_post_routing_handler(
      [this](const httplib::Request&, httplib::Response& res) { metrics_.Request(res.status); });
  // Statuses cpp-httplib sets itself (no route, a body past the limit) get the JSON form too.
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request&, httplib::Response& res) {
    const int status = res.status;
    // A request cpp-httplib could not read whole: nothing after it on the connection is
    // trusted to be the start of another request.
    if (status == 400 || status == 413 || status == 414 || status == 431) {
      CloseAfterResponse();
      res.set_header("Connection", "close");
    }
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (status == 404) SetError(res, ApiError::kNotFound, "no such route");
    else if (status == 413) SetError(res, ApiError::kTooLarge, "the request body is too large");
    else if (status == 405) SetError(res, ApiError::kMethod, "method not allowed");
    else if (status == 400) SetError(res, ApiError::kBadRequest, "malformed request");
    else return httplib::Server::HandlerResponse::Unhandled;
    res.status = status;
    return httplib::Server::HandlerResponse::Handled;
  }));
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unexpected failure";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        SetError(res, ApiError::kInternal, what);
      });
  RegisterInfo(server);
  RegisterRuns(server);
  RegisterJobs(server);
  RegisterStudioApi(server);
  RegisterAgentRuns(server);
  RegisterSearch(server);
}

void Api::RegisterInfo(HttpServer& server) {
  server.Get("/v1/health", Guard(Scope::kRead, [](const httplib::Request&, httplib::Response& res) {
               SetJson(res, {{"status", "ok"}});
             }));
  server.Get("/v1/ready", Guard(Scope::kRead, [this](const httplib::Request&, httplib::Response& res) {
               nlohmann::json body = {{"status", "ready"}, {"jobs", jobs_ != nullptr}};
               if (jobs_) {
                 auto depth = jobs_->Depth();
                 if (!depth) {
                   body = {{"status", "not_ready"}, {"reason", depth.error().message}};
                   return SetJson(res, body, 503);
                 }
               }
               SetJson(res, body);
             }));
  server.Get("/v1/openapi.json",
             Guard(Scope::kRead, [](const httplib::Request&, httplib::Response& res) {
               res.set_content(OpenApiDocument(), "application/json");
             }));
  server.Get("/v1/metrics", Guard(Scope::kRead, [this](const httplib::Request&, httplib::Response& res) {
    std::string extra;
    const HttpCounters& c = server_->counters();
    extra += "# HELP skillrt_http_connections_total Connections served.\n";
    extra += "# TYPE skillrt_http_connections_total counter\n";
    extra += "skillrt_http_connections_total " + std::to_string(c.connections.load()) + "\n";
    extra += "# HELP skillrt_http_connections_shed_total Connections refused for lack of room.\n";
    extra += "# TYPE skillrt_http_connections_shed_total counter\n";
    extra += "skillrt_http_connections_shed_total " + std::to_string(c.shed.load()) + "\n";
    extra += "# HELP skillrt_http_busy_threads Threads serving a connection now.\n";
    extra += "# TYPE skillrt_http_busy_threads gauge\n";
    extra += "skillrt_http_busy_threads " + std::to_string(c.busy.load()) + "\n";
    extra += "# HELP skillrt_event_streams Event streams open now.\n";
    extra += "# TYPE skillrt_event_streams gauge\n";
    extra += "skillrt_event_streams " + std::to_string(streams_.load()) + "\n";
    if (jobs_) {
      if (auto depth = jobs_->Depth()) {
        extra += "# HELP skillrt_jobs Jobs by state.\n# TYPE skillrt_jobs gauge\n";
        for (JobState s : {JobState::kQueued, JobState::kRunning, JobState::kSucceeded,
                           JobState::kFailed, JobState::kCancelled, JobState::kDead}) {
          auto it = depth->by_state.find(s);
          extra += "skillrt_jobs{state=\"" + std::string(JobStateName(s)) + "\"} " +
                   std::to_string(it == depth->by_state.end() ? 0 : it->second) + "\n";
        }
        extra += "# HELP skillrt_queue_ready Queued jobs ready to run now.\n";
        extra += "# TYPE skillrt_queue_ready gauge\n";
        extra += "skillrt_queue_ready " + std::to_string(depth->ready) + "\n";
      }
    }
    res.set_content(metrics_.Render(extra), "text/plain; version=0.0.4");
  }));
}

}  // namespace skillrt::service
