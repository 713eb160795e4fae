#include "net/egress_proxy.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "net/http_request.h"

namespace skillrt::net {
namespace {

using Clock = std::chrono::steady_clock;

std::string StatusText(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
  }
  return "Error";
}

// Writes all of `data`, retrying on EINTR and short writes. False on any error (including a
// peer that went away: MSG_NOSIGNAL keeps that from raising SIGPIPE).
bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void SendRefusal(int fd, const Refusal& refusal) {
  const std::string body = "skillrt egress: " + refusal.reason + "\n";
  const std::string response = "HTTP/1.1 " + std::to_string(refusal.status) + " " +
                               StatusText(refusal.status) +
                               "\r\nContent-Type: text/plain; charset=utf-8\r\n"
                               "Connection: close\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\n\r\n" + body;
  (void)SendAll(fd, response);
}

std::string ErrnoName(int err) {
  const char* name = ::strerrorname_np(err);
  return name != nullptr ? name : std::to_string(err);
}

// What the first bytes a client sends through a tunnel say about TLS.
enum class HelloScan {
  kNotTls,      // Not a TLS handshake record: the tunnel carries something else.
  kIncomplete,  // The start of a TLS handshake record; more bytes are needed.
  kDone,        // A whole ClientHello was read (server_name set when it names a host).
  kMalformed,   // A handshake record that is not a well-formed ClientHello.
};

struct Hello {
  HelloScan scan = HelloScan::kNotTls;
  std::optional<std::string> server_name;  // Lower case, one trailing dot removed.
};

// The largest TLS record (RFC 8446 section 5.1: 2^14 bytes of plaintext) and its header.
constexpr size_t kMaxHelloBytes = 5 + (16 << 10);

// Reads the ClientHello (RFC 8446 section 4.1.2) at the start of `data`, in its first record,
// and its server_name extension (RFC 6066 section 3): the name the client asks the server
// for, which the CONNECT host must match.
Hello ScanClientHello(std::string_view data) {
  auto u8 = [&data](size_t at) { return static_cast<uint8_t>(data[at]); };
  auto u16 = [&](size_t at) { return static_cast<size_t>(u8(at) << 8 | u8(at + 1)); };
  if (data.empty()) return {HelloScan::kIncomplete, {}};
  if (u8(0) != 22) return {HelloScan::kNotTls, {}};  // ContentType handshake.
  if (data.size() < 5) return {HelloScan::kIncomplete, {}};
  if (u8(1) != 3) return {HelloScan::kNotTls, {}};   // legacy_record_version 3.x.
  const size_t record = u16(3);
  if (data.size() < 5 + record) return {HelloScan::kIncomplete, {}};
  std::string_view body = data.substr(5, record);
  // Handshake: msg_type client_hello (1), uint24 length, then the ClientHello.
  if (body.size() < 4 || static_cast<uint8_t>(body[0]) != 1) return {HelloScan::kMalformed, {}};
  size_t at = 4 + 2 + 32;  // Past the header, legacy_version and random.
  auto skip = [&](size_t length_bytes) {
    if (at + length_bytes > body.size()) return false;
    size_t n = 0;
    for (size_t i = 0; i < length_bytes; ++i) n = n << 8 | static_cast<uint8_t>(body[at + i]);
    at += length_bytes + n;
    return at <= body.size();
  };
  data = body;  // u8/u16 read from the handshake body from here on.
  if (at > body.size() || !skip(1) || !skip(2) || !skip(1)) {  // session id, suites, compression
    return {HelloScan::kMalformed, {}};
  }
  if (at == body.size()) return {HelloScan::kDone, {}};  // No extensions.
  if (at + 2 > body.size()) return {HelloScan::kMalformed, {}};
  const size_t end = at + 2 + u16(at);
  if (end > body.size()) return {HelloScan::kMalformed, {}};
  at += 2;
  while (at + 4 <= end) {
    const size_t type = u16(at), length = u16(at + 2);
    at += 4;
    if (at + length > end) return {HelloScan::kMalformed, {}};
    if (type == 0 && length >= 2) {  // server_name: a list of (type, name).
      size_t item = at + 2;
      const size_t list_end = std::min(at + 2 + u16(at), at + length);
      while (item + 3 <= list_end) {
        const size_t name_length = u16(item + 1);
        if (item + 3 + name_length > list_end) return {HelloScan::kMalformed, {}};
        if (u8(item) == 0) {  // host_name
          std::string name(body.substr(item + 3, name_length));
          for (char& c : name) {
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
          }
          if (!name.empty() && name.back() == '.') name.pop_back();
          return {HelloScan::kDone, std::move(name)};
        }
        item += 3 + name_length;
      }
    }
    at += length;
  }
  return {HelloScan::kDone, {}};
}

}  // namespace

EgressProxy::EgressProxy(EgressPolicy policy, std::shared_ptr<const Resolver> resolver,
                         EgressProxyOptions options)
    : policy_(std::move(policy)),
      resolver_(std::move(resolver)),
      options_(options),
      stop_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

EgressProxy::~EgressProxy() { (void)Stop(); }

Result<void> EgressProxy::Serve(UniqueFd listener) {
  if (!stop_fd_) return FailErrno(ErrorCode::kIo, "eventfd(egress proxy)", EMFILE);
  std::lock_guard lock(mu_);
  if (stopping_ || accept_thread_.joinable()) {
    return Fail(ErrorCode::kInvalidArgument, "egress proxy: already serving or stopped");
  }
  listener_ = std::move(listener);
  try {
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  } catch (const std::system_error& e) {
    return FailErrno(ErrorCode::kIo, "egress proxy: std::thread", e.code().value());
  }
  return {};
}

void EgressProxy::AcceptLoop() {
  const int listener = listener_.get();
  while (true) {
    pollfd fds[2] = {{listener, POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents & (POLLERR | POLLNVAL)) return;
    const int client = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: back off rather than spin; pending clients wait in the backlog.
        pollfd stop = {stop_fd_.get(), POLLIN, 0};
        (void)::poll(&stop, 1, 100);
        continue;
      }
      return;
    }
    Handle(UniqueFd(client));
  }
}

void EgressProxy::Handle(UniqueFd client) {
  const Clock::time_point started = Clock::now();
  EgressRecord refused;
  {
    std::lock_guard lock(mu_);
    for (uint64_t id : finished_) {
      auto it = workers_.find(id);
      if (it != workers_.end()) {
        it->second.join();
        workers_.erase(it);
      }
    }
    finished_.clear();
    if (!stopping_ && workers_.size() < options_.max_connections) {
      const uint64_t id = next_worker_++;
      try {
        // The thread owns the descriptor once it exists; until then `client` does.
        workers_.emplace(id, std::thread([this, id, started, fd = client.get()] {
          Serve1(UniqueFd(fd), started);
          std::lock_guard done(mu_);
          finished_.push_back(id);
          worker_done_.notify_all();
        }));
        (void)client.Release();
        return;
      } catch (const std::system_error&) {
        refused.reason = "no thread to serve the connection";
      }
    } else {
      refused.reason = stopping_ ? std::string("the run has ended")
                                 : "too many connections at once (" +
                                       std::to_string(options_.max_connections) + ")";
    }
  }
  if (client) SendRefusal(client.get(), Refusal{503, refused.reason});
  refused.duration = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
  Finish(std::move(refused));
}

void EgressProxy::ServeHere(UniqueFd client) {
  const Clock::time_point started = Clock::now();
  {
    std::lock_guard lock(mu_);
    ++serving_here_;
  }
  Serve1(std::move(client), started);
  std::lock_guard lock(mu_);
  --serving_here_;
  worker_done_.notify_all();
}

bool EgressProxy::Track(int fd) {
  std::lock_guard lock(mu_);
  if (stopping_) return false;
  live_fds_.insert(fd);
  return true;
}

void EgressProxy::Untrack(int fd) {
  std::lock_guard lock(mu_);
  live_fds_.erase(fd);
}

void EgressProxy::Finish(EgressRecord record) {
  if (options_.on_record) options_.on_record(record);
  std::lock_guard lock(mu_);
  if (records_.size() >= options_.max_records) {
    ++dropped_;
    return;
  }
  records_.push_back(std::move(record));
}

void EgressProxy::Serve1(UniqueFd client, Clock::time_point started) {
  EgressRecord record;
  UniqueFd upstream;
  auto finish = [&] {
    if (upstream) Untrack(upstream.get());
    Untrack(client.get());
    record.duration =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
    Finish(std::move(record));
  };
  auto refuse = [&](Refusal refusal) {
    record.allowed = false;
    record.reason = refusal.reason;
    SendRefusal(client.get(), refusal);
    finish();
  };
  if (!Track(client.get())) {
    record.reason = "the run has ended";
    finish();
    return;
  }

  // The request head, up to the blank line, within the size and time bounds.
  std::string buffer;
  std::optional<size_t> head_end;
  const Clock::time_point deadline = started + options_.header_timeout;
  while (!head_end) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return refuse({400, "no complete request head in time"});
    pollfd fds[2] = {{client.get(), POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
    const int r = ::poll(fds, 2, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || fds[1].revents != 0) return refuse({503, "the run has ended"});
    if (r == 0) continue;
    char chunk[4096];
    const ssize_t n = ::recv(client.get(), chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      record.reason = "the client closed the connection before a complete request";
      finish();
      return;
    }
    buffer.append(chunk, static_cast<size_t>(n));
    head_end = FindHeadEnd(buffer);
    if (!head_end && buffer.size() > options_.max_header_bytes) {
      return refuse({400, "request head larger than " +
                              std::to_string(options_.max_header_bytes) + " bytes"});
    }
  }
  if (*head_end > options_.max_header_bytes) {
    return refuse({400, "request head larger than " + std::to_string(options_.max_header_bytes) +
                            " bytes"});
  }
  std::variant<Request, Refusal> parsed =
      ParseRequestHead(std::string_view(buffer).substr(0, *head_end));
  if (Refusal* bad = std::get_if<Refusal>(&parsed)) return refuse(*bad);
  Request& req = std::get<Request>(parsed);
  record.method = req.method;
  record.host = req.target.host;
  record.port = req.target.port;
  const bool tunnel = req.method == "CONNECT";

  EgressPolicy::HostMatch match = policy_.CheckHost(req.target.host, req.target.port);
  if (!match.host.empty()) record.host = match.host;
  if (!match.allowed) return refuse({403, match.reason});
  record.rule = match.rule_text;

  std::vector<IpAddress> candidates;
  if (match.literal) {
    candidates.push_back(*match.literal);
  } else {
    Result<std::vector<IpAddress>> resolved = resolver_->Resolve(match.host);
    if (!resolved) {
      return refuse({502, resolved.error().code == ErrorCode::kNotFound
                              ? "name " + match.host + " does not resolve"
                              : "name resolution failed: " + resolved.error().message});
    }
    candidates = std::move(*resolved);
  }

  // Connect to the first address the policy allows, in the resolver's order.
  std::string last_problem;
  bool any_allowed = false;
  for (const IpAddress& address : candidates) {
    if (std::optional<std::string> why = policy_.RefuseAddress(match, address)) {
      if (!any_allowed) {
        record.address = address.ToString();
        last_problem = *why;
      }
      continue;
    }
    any_allowed = true;
    record.address = address.ToString();
    UniqueFd fd(::socket(address.v6 ? AF_INET6 : AF_INET,
                         SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) {
      last_problem = "socket: " + ErrnoName(errno);
      continue;
    }
    if (!Track(fd.get())) return refuse({503, "the run has ended"});
    socklen_t len = 0;
    const sockaddr_storage ss = address.ToSockaddr(req.target.port, &len);
    int err = 0;
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        pollfd fds[2] = {{fd.get(), POLLOUT, 0}, {stop_fd_.get(), POLLIN, 0}};
        int r;
        do {
          r = ::poll(fds, 2, static_cast<int>(options_.connect_timeout.count()));
        } while (r < 0 && errno == EINTR);
        if (r == 0) {
          err = ETIMEDOUT;
        } else if (r < 0 || fds[1].revents != 0) {
          Untrack(fd.get());
          return refuse({503, "the run has ended"});
        } else {
          socklen_t err_len = sizeof(err);
          ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &err_len);
        }
      }
    }
    if (err != 0) {
      Untrack(fd.get());
      last_problem = "connect to " + address.ToString() + " port " +
                     std::to_string(req.target.port) + ": " + ErrnoName(err);
      continue;
    }
    // Blocking from here on: Stop cuts blocked calls with shutdown(2).
    const int flags = ::fcntl(fd.get(), F_GETFL);
    ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
    upstream = std::move(fd);
    break;
  }
  if (!upstream) {
    return refuse({any_allowed ? 502 : 403,
                   last_problem.empty() ? "no address to connect to" : last_problem});
  }

  record.allowed = true;
  std::string_view pending = std::string_view(buffer).substr(*head_end);
  // A tunnel: if the client speaks TLS to a name, the server name it asks for must be that
  // name, or an allowed host's address would serve any site behind it; and to a TLS port it
  // must speak TLS, or the name inside (an HTTP Host) would go unchecked. The client's first
  // bytes are held until that is known; the destination's flow freely meanwhile.
  const bool tls_required = tunnel && match.tls_only;
  bool check_tls_name = tunnel && (!match.literal || tls_required);
  std::string held;
  if (check_tls_name) {
    held.assign(pending);
    pending = {};
  }
  // A forwarded request: its body as framed and nothing after it (no pipelined request).
  std::optional<RequestBody> body;
  if (!tunnel) body.emplace(req.framing, options_.max_header_bytes);
  if (tunnel) {
    if (!SendAll(client.get(), "HTTP/1.1 200 Connection established\r\n\r\n")) {
      record.reason = "the client went away";
      return finish();
    }
  } else {
    const std::string head = ForwardedHead(req);
    if (!SendAll(upstream.get(), head)) {
      record.reason = "the destination went away";
      return finish();
    }
    record.bytes_sent += head.size();
  }
  std::string forward;
  if (body) {
    if (!body->Take(pending, forward)) {
      record.reason = "malformed request body: " + body->error();
      return finish();
    }
  } else {
    forward.assign(pending);
  }
  if (!forward.empty()) {
    if (!SendAll(upstream.get(), forward)) {
      record.reason = "the destination went away";
      return finish();
    }
    record.bytes_sent += forward.size();
  }

  // Decides on the client's held first bytes: wait for more, refuse the tunnel (the record
  // says why), or pass them on (check_tls_name is then off).
  enum class TlsCheck { kWait, kRefuse, kPass };
  auto check_held = [&](bool client_done) {
    const Hello hello = ScanClientHello(held);
    if (hello.scan == HelloScan::kIncomplete && held.size() <= kMaxHelloBytes && !client_done) {
      return TlsCheck::kWait;
    }
    std::optional<std::string> refusal;
    if (hello.scan == HelloScan::kIncomplete && !client_done) {
      refusal = "TLS ClientHello larger than one record";
    } else if (hello.scan == HelloScan::kNotTls || hello.scan == HelloScan::kIncomplete) {
      if (tls_required) {
        refusal = "the tunnel to port " + std::to_string(req.target.port) +
                  " (TLS only) did not start with a TLS ClientHello";
      }
    } else if (hello.scan == HelloScan::kMalformed) {
      refusal = "malformed TLS ClientHello";
    } else if (!match.literal && hello.server_name && *hello.server_name != match.host) {
      refusal = "TLS server name " + *hello.server_name + " is not the CONNECT host " +
                match.host;
    }
    if (refusal) {
      record.allowed = false;
      record.reason = *refusal;
      return TlsCheck::kRefuse;
    }
    check_tls_name = false;
    return TlsCheck::kPass;
  };

  // Relay both ways until both sides have finished sending; a half-close is passed on.
  bool client_open = true, upstream_open = true;
  bool tls_refused = false;
  if (check_tls_name && !held.empty()) {  // Bytes the client sent along with its CONNECT.
    const TlsCheck verdict = check_held(false);
    if (verdict == TlsCheck::kRefuse) return finish();
    if (verdict == TlsCheck::kPass) {
      if (!SendAll(upstream.get(), held)) {
        record.reason = "the destination went away";
        return finish();
      }
      record.bytes_sent += held.size();
    }
  }
  char chunk[64 << 10];
  while (client_open || upstream_open) {
    pollfd fds[3] = {{client_open ? client.get() : -1, POLLIN, 0},
                     {upstream_open ? upstream.get() : -1, POLLIN, 0},
                     {stop_fd_.get(), POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[2].revents != 0) {
      record.reason = "cut at the end of the run";
      break;
    }
    bool failed = false;
    for (int i = 0; i < 2 && !failed; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const int from = i == 0 ? client.get() : upstream.get();
      const int to = i == 0 ? upstream.get() : client.get();
      const ssize_t n = ::recv(from, chunk, sizeof(chunk), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (i == 0 && check_tls_name && !held.empty()) {
          // The client stopped before a whole record: without TLS required, pass on what it
          // sent (no TLS server can be talked to with it); else refuse.
          if (check_held(true) == TlsCheck::kRefuse) {
            tls_refused = true;
            break;
          }
          if (SendAll(to, held)) record.bytes_sent += held.size();
        }
        (i == 0 ? client_open : upstream_open) = false;
        ::shutdown(to, SHUT_WR);
        if (n < 0) failed = true;
        continue;
      }
      std::string_view data(chunk, static_cast<size_t>(n));
      if (i == 0 && check_tls_name) {
        held.append(data);
        const TlsCheck verdict = check_held(false);
        if (verdict == TlsCheck::kWait) continue;
        if (verdict == TlsCheck::kRefuse) {
          tls_refused = true;
          break;
        }
        data = held;
      }
      if (i == 0 && body) {
        forward.clear();
        if (!body->Take(data, forward)) {
          record.reason = "malformed request body: " + body->error();
          failed = true;
          continue;
        }
        data = forward;
        if (data.empty()) continue;
      }
      if (!SendAll(to, data)) {
        failed = true;
        continue;
      }
      (i == 0 ? record.bytes_sent : record.bytes_received) += data.size();
    }
    if (tls_refused) break;  // Both sockets close unused: nothing was sent upstream.
    if (failed) {
      if (record.reason.empty()) record.reason = "connection reset";
      break;
    }
  }
  if (body && body->extra_bytes() > 0 && record.reason.empty()) {
    record.reason = "bytes after the request were not forwarded (one request per connection)";
  }
  // Stop's shutdown(2) looks like an orderly close from both sides; say what it was.
  {
    std::lock_guard lock(mu_);
    if (stopping_) record.reason = "cut at the end of the run";
  }
  finish();
}

std::vector<EgressRecord> EgressProxy::Stop(std::chrono::milliseconds grace) {
  std::map<uint64_t, std::thread> workers;
  {
    std::unique_lock lock(mu_);
    if (grace.count() > 0) {
      // Every worker not yet joined is in workers_; those done are also in finished_.
      worker_done_.wait_for(lock, grace, [this] {
        return finished_.size() >= workers_.size() && serving_here_ == 0;
      });
    }
    stopping_ = true;
    for (int fd : live_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  if (stop_fd_) {
    const uint64_t one = 1;
    (void)!::write(stop_fd_.get(), &one, sizeof(one));
  }
  if (accept_thread_.joinable()) accept_thread_.join();
  {
    std::lock_guard lock(mu_);
    listener_.Reset();
  }
  // Workers may still register in the map (a Handle racing with Stop sees stopping_ and does
  // not), so taking the map once is enough.
  {
    std::lock_guard lock(mu_);
    workers = std::move(workers_);
    workers_.clear();
    finished_.clear();
  }
  for (auto& [id, thread] : workers) thread.join();
  // ServeHere calls end promptly once their sockets are cut; their records count too.
  std::unique_lock lock(mu_);
  worker_done_.wait(lock, [this] { return serving_here_ == 0; });
  return std::exchange(records_, {});
}

uint64_t EgressProxy::dropped_records() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

}  // namespace skillrt::net
