// ServeHttp: Streamable HTTP over cpp-httplib. Each request goes through the same checks, in
// order (Handle below): Host, Origin, token, body, version, session; then it is answered.
#include "skillrt/mcp/http.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <httplib.h>

#include <deque>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <thread>


#include "mcp/channel.h"
#include "skillrt/atomic_file.h"
#include "skillrt/sha256.h"

namespace skillrt::mcp {
namespace {

using nlohmann::json;

constexpr const char* kSessionHeader = "Mcp-Session-Id";
constexpr const char* kVersionHeader = "MCP-Protocol-Version";

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = ::getrandom(raw.data() + got, bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

// "host:port", "[v6]:port" or "host" -> host.
std::string HostPart(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    return std::string(authority.substr(0, close == std::string_view::npos ? 0 : close + 1));
  }
  return std::string(authority.substr(0, authority.find(':')));
}

bool IsLoopbackName(std::string_view host) {
  return host == "localhost" || host == "[::1]" || IsLoopbackHost(host);
}

void JsonReply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(Dump(body), "application/json");
}

void ErrorReply(httplib::Response& res, int status, int code, std::string message,
                json id = nullptr) {
  JsonReply(res, status, ErrorMessage(id, RpcError{code, std::move(message)}));
}

std::string SseEvent(const json& message) { return "event: message\ndata: " + Dump(message) + "\n\n"; }

// One SSE stream's queue: writers push events, the connection's thread pops and writes them.
struct Stream {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> events;
  bool closed = false;   // No more events (the request finished, or the session ended).
  // When the stream ends on its own (a GET stream: the client reconnects if it still wants
  // one), so that idle listeners do not hold connection threads for ever.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  bool gone = false;     // The client stopped reading.
  size_t bytes = 0;
  static constexpr size_t kMaxQueuedBytes = 8u << 20;  // A client too slow loses the stream.

  bool Push(std::string event) {
    std::lock_guard lock(mu);
    if (gone || closed) return false;
    if (bytes + event.size() > kMaxQueuedBytes) {
      gone = true;  // Dropping silently would lose a response; end the stream instead.
      cv.notify_all();
      return false;
    }
    bytes += event.size();
    events.push_back(std::move(event));
    cv.notify_all();
    return true;
  }
  void Close() {
    std::lock_guard lock(mu);
    closed = true;
    cv.notify_all();
  }
  // The provider loop of cpp-httplib: writes what is queued, a comment every 15 s so that a
  // closed connection is noticed, and ends when closed and drained.
  bool Pump(httplib::DataSink& sink) {
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::seconds(deadline ? 1 : 15),
                [&] { return !events.empty() || closed || gone; });
    if (gone) return false;
    if (deadline && std::chrono::steady_clock::now() >= *deadline) closed = true;
    if (events.empty()) {
      if (closed) {
        sink.done();
        return true;
      }
      lock.unlock();
      if (!sink.write(": keepalive\n\n", 13)) return MarkGone();
      return true;
    }
    std::string event = std::move(events.front());
    events.pop_front();
    bytes -= event.size();
    lock.unlock();
    if (!sink.write(event.data(), event.size())) return MarkGone();
    return true;
  }
  bool MarkGone() {
    std::lock_guard lock(mu);
    gone = true;
    cv.notify_all();
    return false;
  }
  bool Alive() {
    std::lock_guard lock(mu);
    return !gone;
  }
};

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct HttpSession {
  explicit HttpSession(std::string id) : session(id) {}
  Session session;
  std::atomic<int64_t> last_used{NowSeconds()};  // Steady-clock seconds of the last request.
  std::mutex mu;
  std::set<WriterChannel*> channels;        // Of requests in flight, for client responses.
  std::shared_ptr<Stream> listener;         // The GET stream, if one is open.
};

class HttpFront {
 public:
  HttpFront(Server& server, const HttpOptions& options) : server_(server), options_(options) {}

  void Install(httplib::Server& http) {
    http.Post(options_.path, [this](const httplib::Request& req, httplib::Response& res) {
      Post(req, res);
    });
    http.Get(options_.path, [this](const httplib::Request& req, httplib::Response& res) {
      Get(req, res);
    });
    http.Delete(options_.path, [this](const httplib::Request& req, httplib::Response& res) {
      Delete(req, res);
    });
  }

  // Sends list_changed notifications to every GET stream.
  void Broadcast(const std::vector<json>& notes) {
    std::lock_guard lock(mu_);
    for (auto& [id, s] : sessions_) {
      std::lock_guard session_lock(s->mu);
      if (!s->listener) continue;
      for (const json& note : notes) s->listener->Push(SseEvent(note));
    }
  }

 private:
  // 403 unless Host names this server: a DNS-rebinding page reaches a loopback server under a
  // name of its own, which the browser puts in Host.
  bool HostAllowed(const httplib::Request& req) const {
    const std::string host = HostPart(req.get_header_value("Host"));
    if (host.empty()) return false;
    if (IsLoopbackName(host)) return true;
    return !IsLoopbackHost(options_.host) && (host == options_.host || options_.host == "0.0.0.0");
  }

  // 403 for a browser page of a foreign origin; requests without Origin come from programs.
  bool OriginAllowed(const httplib::Request& req) const {
    if (!req.has_header("Origin")) return true;
    const std::string origin = req.get_header_value("Origin");
    for (const std::string& allowed : options_.allowed_origins) {
      if (origin == allowed) return true;
    }
    const size_t scheme = origin.find("://");
    if (scheme == std::string::npos) return false;
    const std::string name = origin.substr(0, scheme);
    if (name != "http" && name != "https") return false;
    return IsLoopbackName(HostPart(origin.substr(scheme + 3)));
  }

  bool TokenAllowed(const httplib::Request& req) const {
    if (!options_.token) return true;
    const std::string auth = req.get_header_value("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (auth.size() <= kBearer.size() || auth.compare(0, kBearer.size(), kBearer) != 0) {
      return false;
    }
    return options_.token->Allows(std::string_view(auth).substr(kBearer.size()));
  }

  // The checks every method shares; false when `res` holds the refusal.
  bool Admit(const httplib::Request& req, httplib::Response& res) const {
    if (!HostAllowed(req)) {
      ErrorReply(res, 403, kInvalidRequest, "forbidden: Host is not this server");
      return false;
    }
    if (!OriginAllowed(req)) {
      ErrorReply(res, 403, kInvalidRequest, "forbidden: Origin not allowed");
      return false;
    }
    if (!TokenAllowed(req)) {
      res.set_header("WWW-Authenticate", "Bearer");
      ErrorReply(res, 401, kInvalidRequest, "a valid bearer token is required");
      return false;
    }
    return true;
  }

  std::shared_ptr<HttpSession> FindSession(const std::string& id) {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return nullptr;
    it->second->last_used = NowSeconds();
    return it->second;
  }

  // At the session limit, the least recently used session idle for longer than
  // `session_idle` makes room (clients that never send DELETE would otherwise fill the table).
  // REQUIRES: mu_ held.
  bool MakeRoom() {
    if (sessions_.size() < options_.max_sessions) return true;
    auto oldest = sessions_.end();
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
      if (oldest == sessions_.end() || it->second->last_used < oldest->second->last_used) {
        oldest = it;
      }
    }
    if (oldest == sessions_.end() ||
        NowSeconds() - oldest->second->last_used < options_.session_idle.count()) {
      return false;
    }
    oldest->second->session.CancelAll("the MCP session expired");
    {
      std::lock_guard session_lock(oldest->second->mu);
      if (oldest->second->listener) oldest->second->listener->Close();
    }
    sessions_.erase(oldest);
    return true;
  }

  void Post(const httplib::Request& req, httplib::Response& res) {
    if (!Admit(req, res)) return;
    json message = json::parse(req.body, nullptr, false);
    if (message.is_discarded()) {
      JsonReply(res, 400, Server::ParseErrorResponse("the body is not valid JSON"));
      return;
    }
    std::string why;
    const MessageKind kind = Classify(message, &why);
    if (kind == MessageKind::kInvalid) {
      ErrorReply(res, 400, kInvalidRequest, "invalid request: " + why);
      return;
    }
    const std::string method = message.value("method", "");
    const json meta = message.value("params", json::object()).value("_meta", json::object());
    const bool stateless = meta.is_object() && meta.contains(kMetaProtocolVersion);
    const std::string header_version = req.get_header_value(kVersionHeader);
    if (stateless) {
      // 2026-07-28: the header must match the body (HEADER_MISMATCH, 400).
      if (header_version != meta[kMetaProtocolVersion]) {
        ErrorReply(res, 400, kHeaderMismatch,
                   "MCP-Protocol-Version header does not match _meta", message.value("id", json()));
        return;
      }
      if (req.has_header("Mcp-Method") && req.get_header_value("Mcp-Method") != method) {
        ErrorReply(res, 400, kHeaderMismatch, "Mcp-Method header does not match the body",
                   message.value("id", json()));
        return;
      }
    } else if (!header_version.empty() && method != "initialize") {
      bool known = false;
      for (std::string_view v : kSessionVersions) known = known || v == header_version;
      if (!known) {
        ErrorReply(res, 400, kInvalidRequest,
                   "unsupported MCP-Protocol-Version: " + header_version);
        return;
      }
    }

    std::shared_ptr<HttpSession> session;
    if (method == "initialize" && !stateless) {
      std::lock_guard lock(mu_);
      if (!MakeRoom()) {
        ErrorReply(res, 503, kInternalError, "too many sessions");
        return;
      }
      std::string id = RandomHex(16);
      session = std::make_shared<HttpSession>(id);
      sessions_[id] = session;
      res.set_header(kSessionHeader, id);
    } else if (req.has_header(kSessionHeader)) {
      session = FindSession(req.get_header_value(kSessionHeader));
      if (!session) {
        ErrorReply(res, 404, kInvalidRequest, "unknown or ended session");
        return;
      }
    } else if (stateless) {
      session = std::make_shared<HttpSession>("stateless");  // This request's alone.
    } else {
      ErrorReply(res, 400, kInvalidRequest, "missing Mcp-Session-Id header");
      return;
    }

    if (kind == MessageKind::kResponse) {
      std::lock_guard lock(session->mu);
      for (WriterChannel* channel : session->channels) {
        if (channel->Deliver(message)) break;
      }
      res.status = 202;
      return;
    }
    if (kind == MessageKind::kNotification) {
      DropChannel drop;
      (void)server_.Handle(message, session->session, drop);
      res.status = 202;
      return;
    }
    const bool wants_sse = req.get_header_value("Accept").find("text/event-stream") !=
                           std::string::npos;
    if (method == "tools/call" && wants_sse) {
      Streamed(req, res, std::move(session), std::move(message));
      return;
    }
    DropChannel drop;
    std::optional<json> response = server_.Handle(message, session->session, drop);
    if (!response) {
      res.status = 202;
      return;
    }
    JsonReply(res, 200, *response);
  }

  // A request answered on an SSE stream: its progress, the server's requests (elicitation)
  // and, last, its response.
  void Streamed(const httplib::Request&, httplib::Response& res,
              std::shared_ptr<HttpSession> session, json message) {
    if (streams_.fetch_add(1) >= options_.max_streams) {
      streams_.fetch_sub(1);
      ErrorReply(res, 503, kInternalError, "too many open streams", message.value("id", json()));
      return;
    }
    auto stream = std::make_shared<mcp::Stream>();
    auto channel = std::make_shared<WriterChannel>(
        [stream](const json& m) { return stream->Push(SseEvent(m)); },
        [stream] { return stream->Alive(); });
    {
      std::lock_guard lock(session->mu);
      session->channels.insert(channel.get());
    }
    // The request runs on a thread of its own; the connection's thread pumps the stream.
    auto worker = std::make_shared<std::jthread>([this, session, channel, stream,
                                                  message = std::move(message)] {
      std::optional<json> response = server_.Handle(message, session->session, *channel);
      if (response) channel->Send(*response);
      {
        std::lock_guard lock(session->mu);
        session->channels.erase(channel.get());
      }
      stream->Close();
    });
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [stream](size_t, httplib::DataSink& sink) { return stream->Pump(sink); },
        [this, stream, worker](bool) mutable {
          stream->MarkGone();  // A client that left cancels the run (Alive turns false).
          worker.reset();      // Joins.
          streams_.fetch_sub(1);
        });
  }

  void Get(const httplib::Request& req, httplib::Response& res) {
    if (!Admit(req, res)) return;
    if (req.get_header_value("Accept").find("text/event-stream") == std::string::npos) {
      ErrorReply(res, 405, kInvalidRequest, "GET needs Accept: text/event-stream");
      return;
    }
    auto session = FindSession(req.get_header_value(kSessionHeader));
    if (!session) {
      ErrorReply(res, req.has_header(kSessionHeader) ? 404 : 400, kInvalidRequest,
                 "GET needs the Mcp-Session-Id of a session");
      return;
    }
    if (listeners_.fetch_add(1) >= options_.max_listeners) {
      listeners_.fetch_sub(1);
      ErrorReply(res, 503, kInternalError, "too many open GET streams");
      return;
    }
    auto stream = std::make_shared<mcp::Stream>();
    stream->deadline = std::chrono::steady_clock::now() + options_.listener_lifetime;
    {
      std::lock_guard lock(session->mu);
      if (session->listener) session->listener->Close();  // One listener per session.
      session->listener = stream;
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [stream](size_t, httplib::DataSink& sink) { return stream->Pump(sink); },
        [this, stream](bool) {
          stream->MarkGone();
          listeners_.fetch_sub(1);
        });
  }

  void Delete(const httplib::Request& req, httplib::Response& res) {
    if (!Admit(req, res)) return;
    std::shared_ptr<HttpSession> session;
    {
      std::lock_guard lock(mu_);
      auto it = sessions_.find(req.get_header_value(kSessionHeader));
      if (it != sessions_.end()) {
        session = it->second;
        sessions_.erase(it);
      }
    }
    if (!session) {
      ErrorReply(res, 404, kInvalidRequest, "unknown or ended session");
      return;
    }
    session->session.CancelAll("the MCP client ended the session");
    std::lock_guard lock(session->mu);
    if (session->listener) session->listener->Close();
    res.status = 200;
  }

  // Where a request answered with JSON sends its notifications: nowhere (no stream).
  class DropChannel : public ClientChannel {
   public:
    void Send(const json&) override {}
    Result<json> Request(std::string_view, const json&, std::chrono::milliseconds) override {
      return Fail(ErrorCode::kUnsupported, "no stream to ask the client on");
    }
  };

  Server& server_;
  const HttpOptions& options_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<HttpSession>> sessions_;
  std::atomic<size_t> streams_{0};    // POST responses on SSE.
  std::atomic<size_t> listeners_{0};  // GET streams.
};

}  // namespace

bool FixedToken::Allows(std::string_view token) const {
  return ConstantTimeEqual(token, token_);
}

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  return host.rfind("127.", 0) == 0 && host.find_first_not_of("0123456789.") == std::string::npos;
}

Result<std::string> ReadTokenRef(std::string_view ref) {
  std::string token;
  if (ref.rfind("env:", 0) == 0) {
    const std::string name(ref.substr(4));
    const char* value = name.empty() ? nullptr : std::getenv(name.c_str());
    if (value == nullptr || *value == '\0') {
      return Fail(ErrorCode::kNotFound, "token reference " + std::string(ref) + ": not set");
    }
    token = value;
  } else if (ref.rfind("file:", 0) == 0) {
    const std::string path(ref.substr(5));
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      return FailErrno(ErrorCode::kNotFound, "token file " + path, errno);
    }
    if ((st.st_mode & 077) != 0) {
      return Fail(ErrorCode::kDenied, "token file " + path +
                                          " is readable by group or others; chmod 600 it");
    }
    std::ifstream in(path);
    std::getline(in, token);
  } else {
    return Fail(ErrorCode::kInvalidArgument,
                "token reference '" + std::string(ref) + "': expected env:NAME or file:PATH");
  }
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.size() < 16) {
    return Fail(ErrorCode::kInvalidArgument,
                "token reference " + std::string(ref) + ": a token needs at least 16 characters");
  }
  return token;
}

Result<std::string> HomeToken(const std::filesystem::path& home, bool* created) {
  const std::filesystem::path path = home / "mcp-token";
  *created = false;
  if (std::filesystem::exists(path)) return ReadTokenRef("file:" + path.string());
  const std::string token = RandomHex(32);
  auto written = WriteFileAtomic(path, token + "\n", 0600);
  if (!written) return std::unexpected(written.error());
  *created = true;
  return token;
}

Result<void> ServeHttp(Server& server, const HttpOptions& options) {
  if (!IsLoopbackHost(options.host) && !options.token) {
    return Fail(ErrorCode::kInvalidArgument,
                "listening on " + options.host + " (not the loopback) needs a bearer token");
  }
  ::signal(SIGPIPE, SIG_IGN);  // A client gone mid-write is an error of that write only.
  httplib::Server http;
  // Streams hold a connection thread each: fewer streams than threads leaves room for the
  // plain requests of every other client.
  const size_t threads =
      std::max<size_t>(options.threads, options.max_streams + options.max_listeners + 4);
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(options.max_body_bytes);
  http.set_read_timeout(options.io_timeout);
  http.set_write_timeout(options.io_timeout);
  http.set_keep_alive_timeout(5);
  http.set_keep_alive_max_count(100);
  // Small responses go out at once, not after a delayed ACK (Nagle's algorithm, RFC 896).
  http.set_tcp_nodelay(true);
  HttpFront front(server, options);
  front.Install(http);

  int port = options.port;
  if (port == 0) {
    port = http.bind_to_any_port(options.host);
  } else if (!http.bind_to_port(options.host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return Fail(ErrorCode::kIo, "cannot listen on " + options.host + ":" +
                                    std::to_string(options.port));
  }
  if (options.on_listening) options.on_listening(static_cast<uint16_t>(port));

  // SIGINT and SIGTERM stop the server; list_changed is polled meanwhile.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::atomic<bool> stopping{false};
  std::atomic<bool> signalled{false};
  std::jthread stopper([&] {
    int signal = 0;
    sigwait(&signals, &signal);
    signalled = true;
    stopping = true;
    http.stop();
  });
  std::jthread poller([&](std::stop_token stop) {
    (void)server.PollListChanged();
    while (!stop.stop_requested() && !stopping) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      if (options.stop.stop_requested()) {
        stopping = true;
        http.stop();
        break;
      }
      auto notes = server.PollListChanged();
      if (!notes.empty()) front.Broadcast(notes);
    }
  });
  http.listen_after_bind();
  stopping = true;
  if (!signalled) pthread_kill(stopper.native_handle(), SIGTERM);  // Ends its sigwait.
  return {};
}

}  // namespace skillrt::mcp
