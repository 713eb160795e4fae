#include "net/egress_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "http_test_server.h"

namespace skillrt::net {
namespace {

using namespace std::chrono_literals;
using ::skillrt::testing::HttpTestServer;

// A listening socket on 127.0.0.1 and a free port.
UniqueFd Listen(uint16_t* port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
  EXPECT_EQ(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  EXPECT_EQ(::listen(fd.get(), 16), 0);
  *port = ntohs(addr.sin_port);
  return fd;
}

UniqueFd Connect(uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  return fd;
}

// Reads until `want` appears, the peer closes, or 5 s pass.
std::string ReadUntil(int fd, std::string_view want = {}) {
  std::string out;
  char buf[4096];
  while (want.empty() || out.find(want) == std::string::npos) {
    pollfd p = {fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

void Send(int fd, std::string_view data) {
  ASSERT_EQ(::send(fd, data.data(), data.size(), MSG_NOSIGNAL), static_cast<ssize_t>(data.size()));
}

class EgressProxyTest : public ::testing::Test {
 protected:
  // Starts a proxy whose allowlist is `rules`; "api.test", "loop.test" and "meta.test" resolve
  // to 127.0.0.1, 127.0.0.1 and 169.254.169.254 without DNS.
  void Start(std::vector<EgressRule> rules, EgressProxyOptions options = {}) {
    auto policy = EgressPolicy::Create(rules);
    ASSERT_TRUE(policy);
    auto fixed = ParseFixedHosts({{"api.test", {"127.0.0.1"}},
                                  {"loop.test", {"127.0.0.1"}},
                                  {"meta.test", {"169.254.169.254"}}});
    ASSERT_TRUE(fixed);
    proxy_ = std::make_unique<EgressProxy>(std::move(*policy),
                                           std::make_shared<SystemResolver>(std::move(*fixed)),
                                           options);
    ASSERT_TRUE(proxy_->Serve(Listen(&port_)));
  }

  static EgressRule Rule(std::string_view text, std::vector<std::string> addresses = {},
                         bool tls = false) {
    EgressRule rule = *ParseEgressRule(text, addresses);
    rule.tls = tls;
    return rule;
  }

  // One request through the proxy; returns the whole response.
  std::string Ask(std::string_view request) {
    UniqueFd c = Connect(port_);
    Send(c.get(), request);
    return ReadUntil(c.get());
  }

  std::unique_ptr<EgressProxy> proxy_;
  uint16_t port_ = 0;
};

TEST_F(EgressProxyTest, ForwardsAnAllowedPlainHttpRequest) {
  HttpTestServer server("origin");
  const std::string port = std::to_string(server.port());
  Start({Rule("api.test:" + port, {"127.0.0.1"})});
  const std::string response =
      Ask("GET http://api.test:" + port + "/data?x=1 HTTP/1.1\r\nHost: api.test:" + port +
          "\r\nProxy-Connection: keep-alive\r\nProxy-Authorization: secret\r\nAccept: */*\r\n\r\n");
  EXPECT_TRUE(response.starts_with("HTTP/1.1 200 OK")) << response;
  EXPECT_NE(response.find("hello from origin: GET /data?x=1 HTTP/1.1"), std::string::npos)
      << response;
  ASSERT_EQ(server.requests().size(), 1u);
  const std::string seen = server.requests()[0];
  EXPECT_NE(seen.find("\r\nHost: api.test:" + port), std::string::npos) << seen;
  EXPECT_NE(seen.find("\r\nConnection: close"), std::string::npos) << seen;
  EXPECT_NE(seen.find("\r\nAccept: */*"), std::string::npos) << seen;
  EXPECT_EQ(seen.find("Proxy-"), std::string::npos) << seen;

  std::vector<EgressRecord> records = proxy_->Stop();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_TRUE(records[0].allowed);
  EXPECT_EQ(records[0].method, "GET");
  EXPECT_EQ(records[0].host, "api.test");
  EXPECT_EQ(records[0].port, server.port());
  EXPECT_EQ(records[0].address, "127.0.0.1");
  EXPECT_EQ(records[0].rule, "api.test:" + port);
  EXPECT_GT(records[0].bytes_sent, 0u);
  EXPECT_EQ(records[0].bytes_received, response.size());
}

TEST_F(EgressProxyTest, TunnelsAnAllowedConnect) {
  HttpTestServer echo("tunnel", /*echo=*/true);
  const std::string port = std::to_string(echo.port());
  Start({Rule("api.test:" + port, {"127.0.0.0/8"})});
  UniqueFd c = Connect(port_);
  Send(c.get(), "CONNECT api.test:" + port + " HTTP/1.1\r\nHost: api.test:" + port + "\r\n\r\n");
  // The proxy's reply, then the destination's first bytes (maybe in one read).
  EXPECT_EQ(ReadUntil(c.get(), "echo tunnel\n"),
            "HTTP/1.1 200 Connection established\r\n\r\necho tunnel\n");
  Send(c.get(), "raw bytes, not HTTP");
  EXPECT_EQ(ReadUntil(c.get(), "HTTP"), "raw bytes, not HTTP");
  ::shutdown(c.get(), SHUT_WR);
  EXPECT_EQ(ReadUntil(c.get()), "");  // The destination's close comes through.
  std::vector<EgressRecord> records = proxy_->Stop();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_TRUE(records[0].allowed);
  EXPECT_EQ(records[0].method, "CONNECT");
  EXPECT_EQ(records[0].bytes_sent, 19u);
  EXPECT_EQ(records[0].bytes_received, 12u + 19u);
}

TEST_F(EgressProxyTest, RefusesWhatTheAllowlistDoesNotName) {
  HttpTestServer server("origin");
  const std::string port = std::to_string(server.port());
  // loop.test is allowed by name but resolves to loopback, which the rule does not name.
  Start({Rule("api.test:" + port, {"127.0.0.1"}), Rule("loop.test:" + port),
         Rule("meta.test:80")});
  struct Case {
    std::string request;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"GET http://evil.test:" + port + "/ HTTP/1.1\r\n\r\n",
       "host evil.test is not in the allowlist"},
      {"CONNECT evil.test:443 HTTP/1.1\r\n\r\n", "host evil.test is not in the allowlist"},
      {"GET http://127.0.0.1:" + port + "/ HTTP/1.1\r\n\r\n",
       "host 127.0.0.1 is not in the allowlist"},
      {"CONNECT 127.0.0.1:" + port + " HTTP/1.1\r\n\r\n", "host 127.0.0.1 is not in the allowlist"},
      {"GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\n\r\n",
       "host 169.254.169.254 is not in the allowlist"},
      {"CONNECT 10.0.0.1:443 HTTP/1.1\r\n\r\n", "host 10.0.0.1 is not in the allowlist"},
      {"CONNECT [::ffff:127.0.0.1]:" + port + " HTTP/1.1\r\n\r\n",
       "host ::ffff:127.0.0.1 is not in the allowlist"},
      {"CONNECT api.test:1 HTTP/1.1\r\n\r\n", "port 1 is not allowed for api.test"},
      {"GET http://loop.test:" + port + "/ HTTP/1.1\r\n\r\n",
       "address 127.0.0.1 is loopback (127.0.0.0/8) and not named for loop.test"},
      {"GET http://meta.test/ HTTP/1.1\r\n\r\n",
       "address 169.254.169.254 is link-local (169.254.0.0/16) and not named for meta.test"},
      {"GET /relative HTTP/1.1\r\n\r\n", "only CONNECT and absolute http:// URLs are proxied"},
      {"GET http://user@api.test:" + port + "/ HTTP/1.1\r\n\r\n",
       "user information in the URL is not accepted"},
      {"GET https://api.test:" + port + "/ HTTP/1.1\r\n\r\n",
       "only CONNECT and absolute http:// URLs are proxied"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.request);
    const std::string response = Ask(c.request);
    EXPECT_TRUE(response.starts_with("HTTP/1.1 403") || response.starts_with("HTTP/1.1 400"))
        << response;
    EXPECT_NE(response.find(c.reason), std::string::npos) << response;
  }
  EXPECT_EQ(server.connections(), 0) << "a refused request reached the server";
  std::vector<EgressRecord> records = proxy_->Stop();
  ASSERT_EQ(records.size(), cases.size());
  for (const EgressRecord& r : records) {
    EXPECT_FALSE(r.allowed);
    EXPECT_NE(r.reason, "");
  }
  // The metadata refusal names the address it would have used.
  bool saw_meta = false;
  for (const EgressRecord& r : records) {
    if (r.host == "meta.test") {
      saw_meta = true;
      EXPECT_EQ(r.address, "169.254.169.254");
    }
  }
  EXPECT_TRUE(saw_meta);
}

TEST_F(EgressProxyTest, PositiveControlTheSameRequestsPassWhenNamed) {
  HttpTestServer server("origin");
  const std::string port = std::to_string(server.port());
  Start({Rule("127.0.0.1:" + port), Rule("loop.test:" + port, {"127.0.0.1"})});
  for (const char* host : {"127.0.0.1", "loop.test"}) {
    EXPECT_TRUE(Ask("GET http://" + std::string(host) + ":" + port + "/ HTTP/1.1\r\n\r\n")
                    .starts_with("HTTP/1.1 200"))
        << host;
  }
  EXPECT_EQ(server.connections(), 2);
}

TEST_F(EgressProxyTest, ReportsUnreachableDestinations) {
  uint16_t closed_port = 0;
  { UniqueFd gone = Listen(&closed_port); }  // Bound, then closed: nothing listens there.
  Start({Rule("api.test:" + std::to_string(closed_port), {"127.0.0.1"}), Rule("nowhere.test:80")});
  std::string response =
      Ask("CONNECT api.test:" + std::to_string(closed_port) + " HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(response.starts_with("HTTP/1.1 502")) << response;
  EXPECT_NE(response.find("ECONNREFUSED"), std::string::npos) << response;
  std::vector<EgressRecord> records = proxy_->Stop();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_FALSE(records[0].allowed);
  EXPECT_EQ(records[0].address, "127.0.0.1");
}

TEST_F(EgressProxyTest, StopCutsOpenTunnelsAndBoundsConnections) {
  HttpTestServer echo("tunnel", /*echo=*/true);
  const std::string port = std::to_string(echo.port());
  Start({Rule("api.test:" + port, {"127.0.0.1"})}, EgressProxyOptions{.max_connections = 1});
  UniqueFd open = Connect(port_);
  Send(open.get(), "CONNECT api.test:" + port + " HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(ReadUntil(open.get(), "echo tunnel\n").starts_with("HTTP/1.1 200"));
  const std::string second = Ask("CONNECT api.test:" + port + " HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(second.starts_with("HTTP/1.1 503")) << second;
  const auto started = std::chrono::steady_clock::now();
  std::vector<EgressRecord> records = proxy_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_FALSE(records[0].allowed);
  EXPECT_NE(records[0].reason.find("too many connections"), std::string::npos);
  EXPECT_TRUE(records[1].allowed);
  EXPECT_EQ(records[1].reason, "cut at the end of the run");
  EXPECT_EQ(ReadUntil(open.get()), "");  // The tunnel was cut: end of stream at once.
}

TEST_F(EgressProxyTest, BoundsTheRequestHead) {
  Start({Rule("api.test:80", {"127.0.0.1"})},
        EgressProxyOptions{.header_timeout = 300ms, .max_header_bytes = 1024});
  EXPECT_TRUE(Ask("GET http://api.test/ HTTP/1.1\r\nX: " + std::string(2000, 'a') + "\r\n\r\n")
                  .starts_with("HTTP/1.1 400"));
  UniqueFd slow = Connect(port_);
  Send(slow.get(), "GET http://api.test/ HTTP/1.1\r\n");
  EXPECT_TRUE(ReadUntil(slow.get()).starts_with("HTTP/1.1 400"));
  EXPECT_EQ(proxy_->Stop().size(), 2u);
}

TEST_F(EgressProxyTest, StopWithGraceWaitsForServeHereThenCutsWhatIsLeft) {
  HttpTestServer origin("origin");
  HttpTestServer echo("tunnel", /*echo=*/true);
  Start({Rule("api.test:" + std::to_string(origin.port()), {"127.0.0.1"}),
         Rule("api.test:" + std::to_string(echo.port()), {"127.0.0.1"})});

  // A plain request served on another thread through ServeHere: the client reads its answer
  // and closes, and Stop's grace lets the connection end on its own.
  {
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    UniqueFd client(pair[0]);
    std::thread server([this, fd = pair[1]] { proxy_->ServeHere(UniqueFd(fd)); });
    Send(client.get(), "GET http://api.test:" + std::to_string(origin.port()) +
                           "/x HTTP/1.1\r\n\r\n");
    EXPECT_TRUE(ReadUntil(client.get()).starts_with("HTTP/1.1 200"));
    client.Reset();
    server.join();
  }
  // A tunnel that stays open: Stop waits out its grace, then cuts it, and the ServeHere call
  // returns with its record.
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  UniqueFd client(pair[0]);
  std::thread server([this, fd = pair[1]] { proxy_->ServeHere(UniqueFd(fd)); });
  Send(client.get(), "CONNECT api.test:" + std::to_string(echo.port()) + " HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(ReadUntil(client.get(), "echo tunnel\n").starts_with("HTTP/1.1 200"));
  const auto started = std::chrono::steady_clock::now();
  std::vector<EgressRecord> records = proxy_->Stop(200ms);
  const auto waited = std::chrono::steady_clock::now() - started;
  server.join();
  EXPECT_GE(waited, 200ms);
  EXPECT_LT(waited, 2s);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].method, "GET");
  EXPECT_EQ(records[0].reason, "");
  EXPECT_EQ(records[1].method, "CONNECT");
  EXPECT_EQ(records[1].reason, "cut at the end of the run");
}

// A TLS 1.3-style ClientHello record (RFC 8446 section 4.1.2) whose server_name extension
// (RFC 6066 section 3) names `server_name`; none when it is empty.
std::string ClientHello(std::string_view server_name) {
  auto u16 = [](size_t v) { return std::string{static_cast<char>(v >> 8), static_cast<char>(v)}; };
  std::string extensions;
  if (!server_name.empty()) {
    std::string list = std::string(1, '\0') + u16(server_name.size()) + std::string(server_name);
    extensions = u16(0) + u16(list.size() + 2) + u16(list.size()) + list;
  }
  extensions += u16(43) + u16(3) + std::string("\x02\x03\x04", 3);  // supported_versions
  std::string hello = std::string("\x03\x03", 2) + std::string(32, 'r') + std::string(1, '\0') +
                      u16(2) + std::string("\x13\x01", 2) + std::string("\x01\x00", 2) +
                      u16(extensions.size()) + extensions;
  std::string handshake = std::string(1, '\x01') + std::string(1, '\0') + u16(hello.size()) + hello;
  return std::string("\x16\x03\x01", 3) + u16(handshake.size()) + handshake;
}

TEST_F(EgressProxyTest, TlsServerNameMustBeTheConnectHost) {
  HttpTestServer echo("tunnel", /*echo=*/true);
  const std::string port = std::to_string(echo.port());
  Start({Rule("api.test:" + port, {"127.0.0.1"})});
  const std::string connect = "CONNECT api.test:" + port + " HTTP/1.1\r\n\r\n";

  // Positive controls: the host's own name (any case, a trailing dot), a hello without a
  // name, and a hello in two pieces pass, and come back from the echo server.
  for (const std::string name : {"api.test", "API.Test.", ""}) {
    SCOPED_TRACE(name);
    UniqueFd c = Connect(port_);
    Send(c.get(), connect);
    EXPECT_TRUE(ReadUntil(c.get(), "echo tunnel\n").starts_with("HTTP/1.1 200"));
    const std::string hello = ClientHello(name);
    Send(c.get(), hello.substr(0, 7));
    std::this_thread::sleep_for(20ms);
    Send(c.get(), hello.substr(7));
    EXPECT_EQ(ReadUntil(c.get(), hello), hello);
  }
  // Another name is refused: the tunnel closes, nothing reaches the destination. Also when
  // the hello comes along with the CONNECT request itself.
  for (const bool pipelined : {false, true}) {
    SCOPED_TRACE(pipelined);
    UniqueFd c = Connect(port_);
    const std::string hello = ClientHello("evil.test");
    if (pipelined) {
      Send(c.get(), connect + hello);
      EXPECT_TRUE(ReadUntil(c.get()).starts_with("HTTP/1.1 200"));
    } else {
      Send(c.get(), connect);
      EXPECT_TRUE(ReadUntil(c.get(), "echo tunnel\n").starts_with("HTTP/1.1 200"));
      Send(c.get(), hello);
      EXPECT_EQ(ReadUntil(c.get()), "");  // Closed, no echo.
    }
  }
  // Plain bytes through a tunnel are not TLS and pass as before.
  UniqueFd plain = Connect(port_);
  Send(plain.get(), connect);
  EXPECT_TRUE(ReadUntil(plain.get(), "echo tunnel\n").starts_with("HTTP/1.1 200"));
  Send(plain.get(), "ping");
  EXPECT_EQ(ReadUntil(plain.get(), "ping"), "ping");
  plain.Reset();

  std::vector<EgressRecord> records = proxy_->Stop(500ms);
  ASSERT_EQ(records.size(), 6u);
  int refused = 0;
  for (const EgressRecord& r : records) {
    if (r.allowed) continue;
    ++refused;
    EXPECT_EQ(r.reason, "TLS server name evil.test is not the CONNECT host api.test");
    EXPECT_EQ(r.bytes_sent, 0u) << "the refused hello was sent on";
  }
  EXPECT_EQ(refused, 2);
}

// A forwarded request's head is read with bare LF as a line end and written on with CRLF, so
// a field hidden behind a bare LF (a second Host) is the proxy's to see and drop; a bare CR or
// a control character is refused before anything is sent. The echo destination returns every
// byte it got, so the client sees exactly what was forwarded.
TEST_F(EgressProxyTest, BareLfHeadsAreNormalisedAndBareCrIsRefused) {
  HttpTestServer echo("origin", /*echo=*/true);
  const std::string port = std::to_string(echo.port());
  Start({Rule("api.test:" + port, {"127.0.0.1"})});
  auto forwarded = [&](const std::string& request) {
    UniqueFd c = Connect(port_);
    Send(c.get(), request);
    ::shutdown(c.get(), SHUT_WR);
    return ReadUntil(c.get());
  };
  const std::string url = "http://api.test:" + port + "/x";
  const std::string expected = "echo origin\nGET /x HTTP/1.1\r\nHost: api.test:" + port +
                               "\r\nX-A: 1\r\nConnection: close\r\n\r\n";
  // Positive control: the CRLF request.
  EXPECT_EQ(forwarded("GET " + url + " HTTP/1.1\r\nX-A: 1\r\n\r\n"), expected);
  // The same with bare LFs, and a Host smuggled behind one: the destination gets the same
  // canonical head, with the URL's host only.
  EXPECT_EQ(forwarded("GET " + url + " HTTP/1.1\nX-A: 1\nHost: evil.test\n\n"), expected);
  EXPECT_EQ(forwarded("GET " + url + " HTTP/1.1\r\nX-A: 1\nHost: evil.test\r\n\r\n"), expected);
  EXPECT_EQ(echo.connections(), 3);
  // A bare CR, or a NUL, in the head: refused, the destination not even connected to.
  for (const std::string& bad :
       {"GET " + url + " HTTP/1.1\r\nX-A: 1\rHost: evil.test\r\n\r\n",
        "GET " + url + " HTTP/1.1\r\nX-A: 1" + std::string(1, '\0') + "\r\n\r\n"}) {
    EXPECT_TRUE(Ask(bad).starts_with("HTTP/1.1 400 Bad Request")) << bad;
  }
  EXPECT_EQ(echo.connections(), 3);
  std::vector<EgressRecord> records = proxy_->Stop(500ms);
  ASSERT_EQ(records.size(), 5u);
  std::vector<std::string> refusals;
  for (const EgressRecord& r : records) {
    if (!r.allowed) refusals.push_back(r.reason);
  }
  std::sort(refusals.begin(), refusals.end());
  EXPECT_EQ(refusals, (std::vector<std::string>{"a CR not followed by LF in the request head",
                                                "a control character in header field X-A"}));
}

// Bytes after a forwarded request (a pipelined request for another host or virtual host)
// never reach the destination: the body goes on as its framing says, then nothing.
TEST_F(EgressProxyTest, PipelinedRequestsAreNotForwarded) {
  HttpTestServer echo("origin", /*echo=*/true);
  HttpTestServer other("other");
  const std::string port = std::to_string(echo.port());
  Start({Rule("api.test:" + port, {"127.0.0.1"})});
  const std::string url = "http://api.test:" + port + "/x";
  const std::string second = "GET http://loop.test:" + std::to_string(other.port()) +
                             "/admin HTTP/1.1\r\nHost: evil.test\r\n\r\n";
  struct Case {
    std::string request;
    std::string forwarded_tail;  // After the head's common start, as the destination got it.
  };
  const std::vector<Case> cases = {
      {"GET " + url + " HTTP/1.1\r\n\r\n" + second, "Connection: close\r\n\r\n"},
      {"POST " + url + " HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello" + second,
       "Content-Length: 5\r\nConnection: close\r\n\r\nhello"},
      {"POST " + url + " HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" +
           second,
       "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.request);
    UniqueFd client = Connect(port_);
    Send(client.get(), c.request);
    ::shutdown(client.get(), SHUT_WR);
    const std::string got = ReadUntil(client.get());
    EXPECT_TRUE(got.ends_with(c.forwarded_tail)) << got;
    EXPECT_EQ(got.find("evil.test"), std::string::npos) << got;
    EXPECT_EQ(got.find("admin"), std::string::npos) << got;
  }
  // The same second request sent in its own connection is refused: it names a host the
  // allowlist does not have.
  EXPECT_TRUE(Ask(second).starts_with("HTTP/1.1 403")) << second;
  EXPECT_EQ(other.connections(), 0);
  std::vector<EgressRecord> records = proxy_->Stop(500ms);
  ASSERT_EQ(records.size(), 4u);
  int allowed = 0;
  for (const EgressRecord& r : records) {
    if (!r.allowed) continue;
    ++allowed;
    EXPECT_EQ(r.reason, "bytes after the request were not forwarded (one request per connection)");
  }
  EXPECT_EQ(allowed, 3);
}

// A tunnel to a TLS port (443, or an entry marked tls) must start with a ClientHello: plain
// HTTP inside would name its site in a Host field the proxy never checks.
TEST_F(EgressProxyTest, TunnelToATlsPortMustStartWithAClientHello) {
  HttpTestServer echo("tunnel", /*echo=*/true);
  const std::string port = std::to_string(echo.port());
  HttpTestServer https("https", /*echo=*/true, 443);  // Needs root; skipped below without.
  std::vector<EgressRule> rules = {Rule("api.test:" + port, {"127.0.0.1"}, /*tls=*/true)};
  if (https.port() == 443) rules.push_back(Rule("api.test:443", {"127.0.0.1"}));
  Start(rules);
  std::vector<std::string> ports = {port};
  if (https.port() == 443) ports.push_back("443");
  for (const std::string& p : ports) {
    SCOPED_TRACE(p);
    const std::string connect = "CONNECT api.test:" + p + " HTTP/1.1\r\n\r\n";
    // Plain HTTP first: refused before a byte reaches the destination (no echo of it).
    UniqueFd plain = Connect(port_);
    Send(plain.get(), connect);
    EXPECT_TRUE(ReadUntil(plain.get(), "\r\n\r\n").starts_with("HTTP/1.1 200"));
    Send(plain.get(), "GET / HTTP/1.1\r\nHost: evil.test\r\n\r\n");
    EXPECT_EQ(ReadUntil(plain.get()).find("evil.test"), std::string::npos);
    // Also with the plain request sent along with the CONNECT, or a client that sends the
    // start of a record and closes.
    EXPECT_EQ(Ask(connect + "GET / HTTP/1.1\r\nHost: evil.test\r\n\r\n").find("evil.test"),
              std::string::npos);
    UniqueFd partial = Connect(port_);
    Send(partial.get(), connect + ClientHello("api.test").substr(0, 3));
    ::shutdown(partial.get(), SHUT_WR);
    EXPECT_EQ(ReadUntil(partial.get()).find("\x16\x03"), std::string::npos);
    // Positive control: a ClientHello naming the host passes and is echoed back.
    UniqueFd tls = Connect(port_);
    Send(tls.get(), connect);
    EXPECT_TRUE(ReadUntil(tls.get(), "\r\n\r\n").starts_with("HTTP/1.1 200"));
    const std::string hello = ClientHello("api.test");
    Send(tls.get(), hello);
    EXPECT_NE(ReadUntil(tls.get(), hello).find(hello), std::string::npos);
  }
  std::vector<EgressRecord> records = proxy_->Stop(500ms);
  ASSERT_EQ(records.size(), 4 * ports.size());
  int refused = 0;
  for (const EgressRecord& r : records) {
    if (r.allowed) continue;
    ++refused;
    EXPECT_NE(r.reason.find("(TLS only) did not start with a TLS ClientHello"), std::string::npos)
        << r.reason;
    EXPECT_EQ(r.bytes_sent, 0u) << "bytes were sent on";
  }
  EXPECT_EQ(refused, static_cast<int>(3 * ports.size()));
  if (https.port() != 443) {
    GTEST_SKIP() << "port 443 cannot be bound here; the entry marked tls was tested";
  }
}

}  // namespace
}  // namespace skillrt::net
