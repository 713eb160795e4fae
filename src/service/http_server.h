// An HTTP/1.1 server (cpp-httplib) whose every resource is bounded: worker threads, connections
// waiting for one, bytes of a request's head and body, requests per connection, and the time
// an idle or slow peer may hold a thread (docs/service.md, "Bounds"). cpp-httplib serves each
// connection on one thread for its whole life; without these bounds a few thousand idle
// connections would queue without end and starve everyone else.
#ifndef SKILLRT_SERVICE_HTTP_SERVER_H_
#define SKILLRT_SERVICE_HTTP_SERVER_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include <httplib.h>

namespace skillrt::service {

/// The bounds of one HttpServer.
struct HttpLimits {
  /// Threads serving connections: at most this many connections are served at once.
  size_t threads = 32;
  /// Accepted connections waiting for a thread; past it a connection gets an immediate 503
  /// and is closed, without the accept loop ever waiting.
  size_t pending_connections = 64;
  /// The largest request body (413 past it).
  size_t max_body_bytes = 1 << 20;
  /// The most bytes of a request line and headers together (the connection is closed past it).
  size_t max_head_bytes = 32 << 10;
  /// How long an idle keep-alive connection holds its thread while threads are free.
  std::chrono::milliseconds keep_alive{5000};
  /// How long an idle connection holds its thread when every thread is busy: an idle peer is
  /// let go quickly, so that idle connections cannot crowd out working ones.
  std::chrono::milliseconds keep_alive_under_pressure{200};
  /// Requests served on one connection before it is closed.
  size_t requests_per_connection = 100;
  /// The longest wait for a peer to send the next bytes of a request, or to take the next
  /// bytes of a response (a slow reader of an event stream is dropped after it).
  std::chrono::milliseconds read_timeout{5000};
  std::chrono::milliseconds write_timeout{5000};
  /// The longest a request's head and body together may take to arrive, however steadily
  /// its bytes trickle in (a client sending one byte a second holds a thread no longer).
  std::chrono::milliseconds request_timeout{10000};
};

/// Counters of an HttpServer, read at any time from any thread.
struct HttpCounters {
  std::atomic<uint64_t> connections{0};  ///< Accepted and served.
  std::atomic<uint64_t> shed{0};         ///< Refused with 503: no thread and no room to wait.
  std::atomic<uint64_t> idle_closed{0};  ///< Closed idle while threads were scarce.
  std::atomic<size_t> busy{0};           ///< Threads serving a connection now.
};

/// True when the peer of the connection the calling thread serves has closed its end
/// (recv(2) with MSG_PEEK sees end of file, or the connection was reset): a long response
/// such as an event stream can stop without waiting for a write to fail. False outside a
/// handler of an HttpServer.
bool CurrentPeerClosed();

/// Ends the connection the calling thread serves once the response being made is sent: for
/// a request that could not be read whole (malformed, too large, too slow), after which the
/// stream cannot be trusted to hold the start of another. No effect outside a handler.
void CloseAfterResponse();

/// cpp-httplib's Server with the bounds of HttpLimits. Register handlers as on
/// httplib::Server, then bind_to_port/listen_after_bind; stop() from any thread ends
/// listening and, once the connections in flight are done, listen_after_bind returns.
/// REQUIRES: limits.threads > 0. Thread-safe as httplib::Server is.
class HttpServer : public httplib::Server {
 public:
  explicit HttpServer(HttpLimits limits);

  const HttpLimits& limits() const { return limits_; }
  const HttpCounters& counters() const { return counters_; }

 private:
  // Serves one accepted connection: keep-alive loop, bounded reads, then close. Replaces
  // cpp-httplib's own, which knows none of the bounds above.
  bool process_and_close_socket(socket_t sock) override;

  HttpLimits limits_;
  HttpCounters counters_;
};

}  // namespace skillrt::service

#endif  // SKILLRT_SERVICE_HTTP_SERVER_H_
