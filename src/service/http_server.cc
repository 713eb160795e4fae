// The bounded HTTP server (http_server.h).
#include "service/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace skillrt::service {
namespace {

// Set on the accept thread while it disposes of a connection for which there is no room:
// the connection handler then answers 503 at once instead of serving.
thread_local bool tl_shedding = false;

// The connection this thread serves, for CurrentPeerClosed; -1 when none.
thread_local int tl_socket = -1;

// Set by CloseAfterResponse: the connection ends after the response being made.
thread_local bool tl_close_after = false;

// A fixed pool of threads with a bounded queue. When the queue is full the task is run on
// the calling (accept) thread with tl_shedding set, which makes it a quick refusal.
class BoundedPool : public httplib::TaskQueue {
 public:
  BoundedPool(size_t threads, size_t max_pending) : max_pending_(max_pending) {
    for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
  }

  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard lock(mu_);
      if (jobs_.size() < max_pending_) {
        jobs_.push_back(std::move(fn));
        cv_.notify_one();
        return;
      }
    }
    tl_shedding = true;
    fn();
    tl_shedding = false;
  }

  void shutdown() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

 private:
  void Work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;  // Stopping, and every waiting connection was served.
        fn = std::move(jobs_.front());
        jobs_.pop_front();
      }
      fn();
    }
  }

  const size_t max_pending_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

int Millis(std::chrono::milliseconds ms) { return static_cast<int>(ms.count()); }

// Waits until `fd` is readable (or writable); false on timeout or error.
bool WaitFor(int fd, short events, std::chrono::milliseconds timeout) {
  pollfd p{.fd = fd, .events = events, .revents = 0};
  for (;;) {
    int n = ::poll(&p, 1, Millis(timeout));
    if (n < 0 && errno == EINTR) continue;
    return n > 0 && (p.revents & (events | POLLHUP)) != 0;
  }
}

// One connection as cpp-httplib's request parser sees it: buffered reads with a timeout and
// a byte budget per request, writes with a timeout that never raise SIGPIPE.
class ConnectionStream : public httplib::Stream {
 public:
  ConnectionStream(int fd, const HttpLimits& limits) : fd_(fd), limits_(limits) {}

  // A new request starts: its head and body get a fresh budget.
  void NewRequest() {
    budget_ = limits_.max_head_bytes + limits_.max_body_bytes;
    deadline_ = std::chrono::steady_clock::now() + limits_.request_timeout;
  }
  bool HasBuffered() const { return off_ < size_; }
  // The request ran past its byte budget or its deadline: the connection is closed after the
  // answer, so that a slow or endless client cannot begin another.
  bool Exceeded() const { return exceeded_; }

  bool is_readable() const override { return HasBuffered() || WaitFor(fd_, POLLIN, limits_.read_timeout); }
  bool is_writable() const override { return WaitFor(fd_, POLLOUT, limits_.write_timeout); }

  ssize_t read(char* ptr, size_t size) override {
    if (!HasBuffered()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline_ - std::chrono::steady_clock::now());
      // Larger than any request we accept, or too slow in total: the peer's side is shut,
      // so after the answer the connection reads end of file and is closed.
      if (budget_ == 0 || left <= std::chrono::milliseconds(0)) {
        exceeded_ = true;
        ::shutdown(fd_, SHUT_RD);
        return -1;
      }
      if (!WaitFor(fd_, POLLIN, std::min(left, limits_.read_timeout))) {
        exceeded_ = left <= limits_.read_timeout;  // The deadline passed while waiting.
        return -1;
      }
      ssize_t n;
      do {
        n = ::recv(fd_, buf_, std::min(sizeof(buf_), budget_), 0);
      } while (n < 0 && errno == EINTR);
      if (n <= 0) return n;
      budget_ -= static_cast<size_t>(n);
      off_ = 0;
      size_ = static_cast<size_t>(n);
    }
    size_t n = std::min(size, size_ - off_);
    std::memcpy(ptr, buf_ + off_, n);
    off_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    ssize_t n;
    do {
      n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    Address(::getpeername, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    Address(::getsockname, ip, port);
  }
  socket_t socket() const override { return fd_; }

 private:
  template <typename F>
  void Address(F get, std::string& ip, int& port) const {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    port = 0;
    ip.clear();
    if (get(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return;
    char text[INET6_ADDRSTRLEN] = {};
    if (addr.ss_family == AF_INET) {
      auto* in = reinterpret_cast<sockaddr_in*>(&addr);
      ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
      port = ntohs(in->sin_port);
    } else if (addr.ss_family == AF_INET6) {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr);
      ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
      port = ntohs(in6->sin6_port);
    }
    ip = text;
  }

  int fd_;  // Not owned: process_and_close_socket closes it.
  const HttpLimits& limits_;
  char buf_[4096];
  size_t off_ = 0, size_ = 0;
  size_t budget_ = 0;
  std::chrono::steady_clock::time_point deadline_{};
  bool exceeded_ = false;
};

// The whole answer to a connection there is no room for; sent without waiting.
const std::string& BusyResponse() {
  static const std::string response = [] {
    const std::string body =
        "{\"error\":{\"code\":\"busy\",\"message\":\"too many connections; try again "
        "shortly\"}}\n";
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
           "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }();
  return response;
}

}  // namespace

void CloseAfterResponse() { tl_close_after = true; }

bool CurrentPeerClosed() {
  if (tl_socket < 0) return false;
  char byte;
  ssize_t n = ::recv(tl_socket, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

HttpServer::HttpServer(HttpLimits limits) : limits_(limits) {
  new_task_queue = [this] {
    return new BoundedPool(limits_.threads, limits_.pending_connections);
  };
  set_payload_max_length(limits_.max_body_bytes);
  set_keep_alive_max_count(limits_.requests_per_connection);
}

bool HttpServer::process_and_close_socket(socket_t sock) {
  if (tl_shedding) {
    counters_.shed.fetch_add(1, std::memory_order_relaxed);
    (void)::send(sock, BusyResponse().data(), BusyResponse().size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return false;
  }
  counters_.connections.fetch_add(1, std::memory_order_relaxed);
  counters_.busy.fetch_add(1, std::memory_order_relaxed);
  ConnectionStream stream(sock, limits_);
  tl_socket = sock;
  bool ok = false;
  for (size_t served = 0; served < limits_.requests_per_connection && is_running(); ++served) {
    // Wait for the next request in short steps: while every thread is busy, an idle
    // connection gives its thread up after keep_alive_under_pressure.
    bool readable = stream.HasBuffered();
    const auto start = std::chrono::steady_clock::now();
    while (!readable && is_running()) {
      const auto idle = std::chrono::steady_clock::now() - start;
      const bool pressure = counters_.busy.load(std::memory_order_relaxed) >= limits_.threads;
      const auto allowed = pressure ? limits_.keep_alive_under_pressure : limits_.keep_alive;
      if (idle >= allowed) {
        if (pressure) counters_.idle_closed.fetch_add(1, std::memory_order_relaxed);
        break;
      }
      readable = WaitFor(sock, POLLIN, std::chrono::milliseconds(50));
    }
    if (!readable) break;
    stream.NewRequest();
    tl_close_after = false;
    bool closed = false;
    const bool last = served + 1 == limits_.requests_per_connection;
    ok = process_request(stream, last, closed, nullptr);
    if (!ok || closed || stream.Exceeded() || tl_close_after) break;
  }
  counters_.busy.fetch_sub(1, std::memory_order_relaxed);
  tl_socket = -1;
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ok;
}

}  // namespace skillrt::service
