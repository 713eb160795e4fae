// A tiny HTTP/1.1 server for tests, on 127.0.0.1 and a free port: answers every request with
// 200 and a body naming the server and echoing the request line, then closes. Also an echo
// mode for raw tunnels. One thread per server; connections served one at a time.
#ifndef SKILLRT_TESTS_HTTP_TEST_SERVER_H_
#define SKILLRT_TESTS_HTTP_TEST_SERVER_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace skillrt::testing {

class HttpTestServer {
 public:
  /// `name` appears in every response body. With `echo`, the server does not speak HTTP: it
  /// returns every byte it receives, prefixed once by "echo <name>\n". `port` 0 picks a free
  /// one; port() is 0 when the server could not listen.
  explicit HttpTestServer(std::string name, bool echo = false, uint16_t port = 0)
      : name_(std::move(name)), echo_(echo) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    // A fixed port must be reusable at once by the next test or program, despite TIME-WAIT.
    const int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    socklen_t len = sizeof(addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0 &&
        ::listen(fd_, 64) == 0) {
      port_ = ntohs(addr.sin_port);
    }
    thread_ = std::thread([this] { Loop(); });
  }
  ~HttpTestServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  HttpTestServer(const HttpTestServer&) = delete;
  HttpTestServer& operator=(const HttpTestServer&) = delete;

  uint16_t port() const { return port_; }
  /// Connections accepted so far.
  int connections() const { return connections_; }
  /// The request heads received (HTTP mode), oldest first.
  std::vector<std::string> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void Loop() {
    while (!stop_) {
      pollfd p = {fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      ++connections_;
      if (echo_) {
        Echo(conn);
      } else {
        Answer(conn);
      }
      ::close(conn);
    }
  }

  // Reads until the blank line (or 2 s pass), then answers.
  void Answer(int conn) {
    std::string head;
    char buf[4096];
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < (1 << 16)) {
      pollfd p = {conn, POLLIN, 0};
      if (::poll(&p, 1, 2000) <= 0) return;
      ssize_t n = ::recv(conn, buf, sizeof(buf), 0);
      if (n <= 0) return;
      head.append(buf, static_cast<size_t>(n));
    }
    head.resize(head.find("\r\n\r\n"));
    {
      std::lock_guard lock(mu_);
      requests_.push_back(head);
    }
    const std::string line = head.substr(0, head.find("\r\n"));
    const std::string body = "hello from " + name_ + ": " + line + "\n";
    const std::string response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                                 std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
                                 body;
    (void)!::send(conn, response.data(), response.size(), MSG_NOSIGNAL);
  }

  // Echoes until the peer closes its side (or 5 s pass without data).
  void Echo(int conn) {
    const std::string hello = "echo " + name_ + "\n";
    (void)!::send(conn, hello.data(), hello.size(), MSG_NOSIGNAL);
    char buf[4096];
    while (!stop_) {
      pollfd p = {conn, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) return;
      ssize_t n = ::recv(conn, buf, sizeof(buf), 0);
      if (n <= 0) return;
      (void)!::send(conn, buf, static_cast<size_t>(n), MSG_NOSIGNAL);
    }
  }

  std::string name_;
  bool echo_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  mutable std::mutex mu_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

}  // namespace skillrt::testing

#endif  // SKILLRT_TESTS_HTTP_TEST_SERVER_H_
