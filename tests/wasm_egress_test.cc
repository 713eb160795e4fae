// Egress for WebAssembly skills, end to end: a module built from tests/wasm/http.c asks the
// host for HTTP requests through the `skillrt_http` interface, run by the engine in the wasm
// runtime. The requests go through the egress proxy: declared hosts are reached, undeclared
// names, loopback, private and metadata addresses are not, over plain HTTP and over CONNECT
// (https://), and every connection is an audit record. HTTP servers run on the host's
// loopback; a fixed name table (WasmRuntimeOptions::egress_fixed_hosts) maps test names to
// addresses so no DNS is involved. Each refusal has a positive control in the same run.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http_test_server.h"
#include "skillrt/engine.h"
#include "test_util.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using ::skillrt::testing::HttpTestServer;
using ::skillrt::testing::ReadFile;
using ::skillrt::testing::TempDir;
using ::skillrt::testing::WriteFile;

const fs::path kProbeDir = SKILLRT_WASM_PROBE_DIR;

// Result codes of the interface (examples/lib/c/skillrt_http.h).
constexpr int kInvalid = -1, kDenied = -2, kFailed = -3, kBadHandle = -6, kFault = -7,
              kLimit = -8;

// A TCP socket listening on 127.0.0.1 at a port the kernel picks (stored in `*port`).
int ListenOnLoopback(uint16_t* port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len);
  ::listen(fd, 8);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *port = ntohs(addr.sin_port);
  return fd;
}

// A listening socket on 127.0.0.1 that never accepts: connections complete in the backlog and
// then hear nothing.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ListenOnLoopback(&port_);
  }
  ~SilentServer() { ::close(fd_); }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// `openssl s_server` with a fresh self-signed certificate for `name`, answering GET with its
// status page (-www). port() is 0 when openssl is missing or did not come up.
class TlsServer {
 public:
  TlsServer(const fs::path& dir, const std::string& name) {
    cert_ = dir / "cert.pem";
    const fs::path key = dir / "key.pem";
    const std::string make_cert =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
        "-subj /CN=" + name + " -addext subjectAltName=DNS:" + name + " -keyout " +
        key.string() + " -out " + cert_.string() + " >/dev/null 2>&1";
    if (std::system(make_cert.c_str()) != 0) return;
    for (int attempt = 0; attempt < 5 && port_ == 0; ++attempt) {
      const uint16_t port = FreePort();
      pid_ = ::fork();
      if (pid_ == 0) {
        const int null = ::open("/dev/null", O_RDWR);
        ::dup2(null, 0);
        ::dup2(null, 1);
        ::dup2(null, 2);
        const std::string accept = "127.0.0.1:" + std::to_string(port);
        ::execlp("openssl", "openssl", "s_server", "-quiet", "-www", "-accept", accept.c_str(),
                 "-cert", cert_.c_str(), "-key", key.c_str(), nullptr);
        ::_exit(127);
      }
      for (int i = 0; i < 100; ++i) {  // Up to 5 s for it to listen.
        if (Listening(port)) {
          port_ = port;
          break;
        }
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          break;
        }
        std::this_thread::sleep_for(50ms);
      }
      if (port_ == 0 && pid_ > 0) Kill();
    }
  }
  ~TlsServer() { Kill(); }
  uint16_t port() const { return port_; }
  const fs::path& cert() const { return cert_; }

 private:
  // A port the kernel just chose as free on 127.0.0.1 (it may be taken again before use;
  // the caller retries).
  static uint16_t FreePort() {
    uint16_t port = 0;
    ::close(ListenOnLoopback(&port));
    return port;
  }
  static bool Listening(uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    return ok;
  }
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  fs::path cert_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

// Answers each connection's request with a body that is not UTF-8 ("\xff\xfe\x00\x01").
class BinaryServer {
 public:
  BinaryServer() {
    fd_ = ListenOnLoopback(&port_);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p = {fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        const int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (conn < 0) continue;
        std::string head;
        char buf[4096];
        while (head.find("\r\n\r\n") == std::string::npos) {
          pollfd c = {conn, POLLIN, 0};
          if (::poll(&c, 1, 2000) <= 0) break;
          const ssize_t n = ::recv(conn, buf, sizeof(buf), 0);
          if (n <= 0) break;
          head.append(buf, static_cast<size_t>(n));
        }
        static constexpr char kResponse[] =
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
            "Content-Length: 4\r\nConnection: close\r\n\r\n\xff\xfe\x00\x01";
        (void)!::send(conn, kResponse, sizeof(kResponse) - 1, MSG_NOSIGNAL);
        ::close(conn);
      }
    });
  }
  ~BinaryServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class WasmEgressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (fs::exists(kProbeDir / "UNAVAILABLE")) {
      GTEST_SKIP() << "wasm probes not built: " << ReadFile(kProbeDir / "UNAVAILABLE");
    }
    skills_ = tmp_.path() / "skills";
    OpenEngine({});
  }

  void OpenEngine(const fs::path& ca_file) {
    EngineOptions options;
    options.home = tmp_.path() / "home";
    options.skill_roots = {skills_};
    options.wasm.egress_fixed_hosts = {{"api.test", {"127.0.0.1"}},
                                       {"undeclared.test", {"127.0.0.1"}},
                                       {"meta.test", {"169.254.169.254"}},
                                       {"private.test", {"10.0.0.1"}}};
    options.wasm.egress_connect_timeout = 2s;
    options.wasm.egress_ca_file = ca_file;
    // The default policy asks before a call uses the network; this user's policy allows it,
    // so that what is tested is the allowlist, not the approval.
    WriteFile(options.home / "policy.toml",
              "[[rule]]\nname = \"egress-test\"\neffect = \"allow\"\nnetwork = true\n");
    engine_.reset();
    auto engine = Engine::Open(std::move(options));
    ASSERT_TRUE(engine) << engine.error().ToString();
    engine_ = std::move(*engine);
  }

  // A wasm skill running the http probe with `ops` as its arguments, and `allow` as its
  // [capabilities.network] allow value (TOML; empty for no network).
  void WriteSkill(const std::string& name, const std::string& allow,
                  const std::vector<std::string>& ops, int wall_time_ms = 20'000) {
    const fs::path dir = skills_ / name;
    WriteFile(dir / "SKILL.md", "---\nname: " + name + "\ndescription: Wasm egress test.\n---\n");
    fs::create_directories(dir / "scripts");
    fs::copy_file(kProbeDir / "http.wasm", dir / "scripts" / "http.wasm",
                  fs::copy_options::overwrite_existing);
    json argv = json::array({"scripts/http.wasm"});
    for (const std::string& op : ops) argv.push_back(op);
    std::string toml = "runtime = \"wasm\"\n[entry]\nargv = " + argv.dump() +
                       "\noutput = \"text\"\n[limits]\nwall_time_ms = " +
                       std::to_string(wall_time_ms) + "\n";
    if (!allow.empty()) toml += "[capabilities.network]\nallow = " + allow + "\n";
    WriteFile(dir / "skill.toml", toml);
  }

  // A wasm skill whose entry is the component probe (tests/wasm/components/http_fetch.c),
  // which takes its requests from the input.
  void WriteComponentSkill(const std::string& name, const std::string& allow) {
    const fs::path dir = skills_ / name;
    WriteFile(dir / "SKILL.md", "---\nname: " + name + "\ndescription: Wasm egress test.\n---\n");
    fs::create_directories(dir / "scripts");
    fs::copy_file(kProbeDir / "http_fetch.wasm", dir / "scripts" / "http_fetch.wasm",
                  fs::copy_options::overwrite_existing);
    std::string toml = "runtime = \"wasm\"\n[entry]\nargv = [\"scripts/http_fetch.wasm\"]\n";
    if (!allow.empty()) toml += "[capabilities.network]\nallow = " + allow + "\n";
    WriteFile(dir / "skill.toml", toml);
  }

  // Runs the component skill with `requests`; its results.
  std::vector<json> RunComponent(const std::string& skill, const json& requests,
                                 Outcome* outcome_out) {
    RunRequest request;
    request.skill = skill;
    request.input = {{"requests", requests}};
    auto outcome = engine_->Run(request);
    EXPECT_TRUE(outcome) << outcome.error().ToString();
    if (!outcome) return {};
    EXPECT_EQ(outcome->status, Status::kOk) << outcome->stderr_stream.data << outcome->message;
    *outcome_out = *outcome;
    if (!outcome->output.is_object()) return {};
    return outcome->output["results"].get<std::vector<json>>();
  }

  // Runs `skill`; the probe's result lines.
  std::vector<json> Run(const std::string& skill, Outcome* outcome_out = nullptr,
                        Status expected = Status::kOk) {
    RunRequest request;
    request.skill = skill;
    auto outcome = engine_->Run(request);
    EXPECT_TRUE(outcome) << outcome.error().ToString();
    if (!outcome) return {};
    EXPECT_EQ(outcome->status, expected) << outcome->stderr_stream.data << outcome->message;
    if (outcome_out != nullptr) *outcome_out = *outcome;
    std::vector<json> lines;
    std::istringstream in(outcome->stdout_stream.data);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) lines.push_back(json::parse(line));
    }
    return lines;
  }

  std::vector<json> EgressAudit() {
    auto records = engine_->audit().Tail(10'000);
    EXPECT_TRUE(records);
    std::vector<json> out;
    for (const json& r : records.value_or(std::vector<json>{})) {
      if (r.value("event", "") == "egress") out.push_back(r);
    }
    return out;
  }

  static std::string Api(uint16_t port) {
    return "{ host = \"api.test:" + std::to_string(port) + "\", addresses = [\"127.0.0.1\"] }";
  }

  TempDir tmp_;
  fs::path skills_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(WasmEgressTest, DeclaredHostIsReachable) {
  HttpTestServer origin("origin");
  const std::string base = "http://api.test:" + std::to_string(origin.port());
  WriteSkill("net", "[" + Api(origin.port()) + "]",
             {"GET " + base + "/hello?x=1", "POST " + base + "/submit payload-bytes"});
  Outcome outcome;
  std::vector<json> results = Run("net", &outcome);
  ASSERT_EQ(results.size(), 2u) << outcome.stdout_stream.data;
  EXPECT_EQ(results[0]["rc"], 0) << results[0];
  EXPECT_EQ(results[0]["status"], 200);
  EXPECT_EQ(results[0]["body"], "hello from origin: GET /hello?x=1 HTTP/1.1\n");
  EXPECT_EQ(results[0]["body_len"], results[0]["body"].get<std::string>().size());
  EXPECT_NE(results[0]["headers"].get<std::string>().find("Content-Type: text/plain\r\n"),
            std::string::npos)
      << results[0];
  EXPECT_EQ(results[0]["close"], 0);
  EXPECT_EQ(results[0]["close_again"], kBadHandle);
  EXPECT_EQ(results[1]["rc"], 0) << results[1];
  EXPECT_EQ(results[1]["body"], "hello from origin: POST /submit HTTP/1.1\n");
  EXPECT_EQ(origin.connections(), 2);
  // The guest's headers arrived; the proxy's hop-by-hop ones did not.
  const std::vector<std::string> heads = origin.requests();
  ASSERT_EQ(heads.size(), 2u);
  EXPECT_NE(heads[0].find("\r\nX-Probe: wasm"), std::string::npos) << heads[0];
  EXPECT_NE(heads[0].find("\r\nHost: api.test:" + std::to_string(origin.port())),
            std::string::npos)
      << heads[0];
  EXPECT_EQ(heads[0].find("Proxy-"), std::string::npos) << heads[0];
  EXPECT_NE(heads[1].find("\r\nContent-Length: 13"), std::string::npos) << heads[1];

  EXPECT_NE(std::find(outcome.layers.begin(), outcome.layers.end(), "egress_proxy"),
            outcome.layers.end());
  ASSERT_EQ(outcome.egress.size(), 2u);
  std::vector<json> audit = EgressAudit();
  ASSERT_EQ(audit.size(), 2u);
  for (const json& r : audit) {
    EXPECT_EQ(r["decision"], "allowed") << r;
    EXPECT_EQ(r["host"], "api.test");
    EXPECT_EQ(r["address"], "127.0.0.1");
    EXPECT_EQ(r["run_id"], outcome.run_id);
    EXPECT_GT(r["bytes_sent"].get<uint64_t>(), 0u);
    EXPECT_GT(r["bytes_received"].get<uint64_t>(), 0u);
  }
  EXPECT_EQ(audit[0]["method"], "GET");
  EXPECT_EQ(audit[1]["method"], "POST");
  auto tail = engine_->audit().Tail(1);
  ASSERT_TRUE(tail);
  EXPECT_EQ(tail->at(0)["event"], "run");
  EXPECT_EQ(tail->at(0)["egress_connections"], 2);
  EXPECT_EQ(tail->at(0)["egress_refused"], 0);
}

TEST_F(WasmEgressTest, UndeclaredPrivateAndMetadataDestinationsAreRefused) {
  HttpTestServer origin("origin");
  const std::string port = std::to_string(origin.port());
  // meta.test and private.test are allowed by name but resolve into refused ranges.
  WriteSkill("net", "[" + Api(origin.port()) + ", \"meta.test:80\", \"private.test:443\"]",
             {
                 "GET http://api.test:" + port + "/ok",  // Positive control in the same run.
                 "GET http://undeclared.test:" + port + "/",
                 "GET https://undeclared.test:" + port + "/",
                 "GET http://127.0.0.1:" + port + "/",
                 "GET https://127.0.0.1:" + port + "/",
                 "GET http://169.254.169.254/latest/meta-data/",
                 "GET https://169.254.169.254/",
                 "GET http://10.0.0.1/",
                 "GET https://10.0.0.1/",
                 "GET http://meta.test/",
                 "GET https://private.test/",
                 "GET http://[::ffff:127.0.0.1]:" + port + "/",
                 "GET http://api.test:1/",
             });
  Outcome outcome;
  std::vector<json> results = Run("net", &outcome);
  ASSERT_EQ(results.size(), 13u) << outcome.stdout_stream.data;
  EXPECT_EQ(results[0]["rc"], 0) << results[0];
  EXPECT_EQ(results[0]["status"], 200);
  for (size_t i = 1; i < results.size(); ++i) {
    SCOPED_TRACE(results[i].dump());
    EXPECT_EQ(results[i]["rc"], kDenied);
    EXPECT_EQ(results[i]["error"].get<std::string>().rfind("egress refused: ", 0), 0u);
  }
  EXPECT_EQ(origin.connections(), 1) << "a refused request reached the server";
  EXPECT_NE(results[1]["error"].get<std::string>().find("not in the allowlist"),
            std::string::npos);
  EXPECT_NE(results[9]["error"].get<std::string>().find(
                "address 169.254.169.254 is link-local (169.254.0.0/16)"),
            std::string::npos);
  EXPECT_NE(results[10]["error"].get<std::string>().find("address 10.0.0.1 is private"),
            std::string::npos);

  // One record per request, the CONNECTs among them; only the control was allowed.
  std::vector<json> audit = EgressAudit();
  ASSERT_EQ(audit.size(), results.size());
  int refused = 0, tunnels = 0;
  for (const json& r : audit) {
    tunnels += r["method"] == "CONNECT" ? 1 : 0;
    if (r["decision"] == "refused") {
      ++refused;
      EXPECT_NE(r["reason"], "") << r;
      EXPECT_EQ(r["bytes_received"], 0) << r;
    }
  }
  EXPECT_EQ(refused, static_cast<int>(results.size()) - 1);
  EXPECT_EQ(tunnels, 5);
}

TEST_F(WasmEgressTest, WithoutANetworkCapabilityEveryRequestIsRefused) {
  HttpTestServer origin("origin");
  WriteSkill("offline", "", {"GET http://api.test:" + std::to_string(origin.port()) + "/"});
  Outcome outcome;
  std::vector<json> results = Run("offline", &outcome);
  ASSERT_EQ(results.size(), 1u) << outcome.stdout_stream.data;
  EXPECT_EQ(results[0]["rc"], kDenied) << results[0];
  EXPECT_NE(results[0]["error"].get<std::string>().find("declares no [capabilities.network]"),
            std::string::npos)
      << results[0];
  EXPECT_EQ(origin.connections(), 0);
  ASSERT_EQ(outcome.egress.size(), 1u);
  EXPECT_FALSE(outcome.egress[0].allowed);
  EXPECT_EQ(std::find(outcome.layers.begin(), outcome.layers.end(), "egress_proxy"),
            outcome.layers.end());
}

TEST_F(WasmEgressTest, MalformedRequestsAndBadArgumentsAreRefusedCleanly) {
  HttpTestServer origin("origin");
  const std::string url = "http://api.test:" + std::to_string(origin.port()) + "/";
  WriteSkill("net", "[" + Api(origin.port()) + "]",
             {"FAULT", "BADHANDLE", "GET ftp://api.test/", "GET not-a-url", "CONNECT " + url,
              "get " + url, "GET http://user:pw@api.test:" + std::to_string(origin.port()) + "/",
              "HOLD " + url + " 20", "GET " + url});
  Outcome outcome;
  std::vector<json> results = Run("net", &outcome);
  ASSERT_EQ(results.size(), 9u) << outcome.stdout_stream.data;
  EXPECT_EQ(results[0]["rc"], kFault) << results[0];
  EXPECT_EQ(results[1]["read"], kBadHandle) << results[1];
  EXPECT_EQ(results[1]["close"], kBadHandle) << results[1];
  for (size_t i = 2; i <= 6; ++i) {
    SCOPED_TRACE(results[i].dump());
    EXPECT_EQ(results[i]["rc"], kInvalid);
  }
  EXPECT_NE(results[2]["error"].get<std::string>().find("only http:// and https://"),
            std::string::npos);
  EXPECT_NE(results[6]["error"].get<std::string>().find("user information"), std::string::npos);
  // Sixteen responses held open, the seventeenth refused; the positive control after that
  // (the probe never closed the held ones, so it is refused too, with the same reason).
  EXPECT_EQ(results[7]["held"], 16) << results[7];
  EXPECT_EQ(results[7]["rc"], kLimit) << results[7];
  EXPECT_EQ(results[8]["rc"], kLimit) << results[8];
  EXPECT_EQ(origin.connections(), 16);
  EXPECT_EQ(outcome.egress.size(), 16u);
}

TEST_F(WasmEgressTest, ARequestPastTheWallClockLimitEndsTheCallAsATimeout) {
  SilentServer silent;
  WriteSkill("slow", "[" + Api(silent.port()) + "]",
             {"GET http://api.test:" + std::to_string(silent.port()) + "/"},
             /*wall_time_ms=*/1'000);
  Outcome outcome;
  const auto start = std::chrono::steady_clock::now();
  (void)Run("slow", &outcome, Status::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_NE(std::find(outcome.limits_hit.begin(), outcome.limits_hit.end(), "wall_time"),
            outcome.limits_hit.end());
  ASSERT_EQ(outcome.egress.size(), 1u);
  EXPECT_TRUE(outcome.egress[0].allowed);  // Connected; the destination never answered.
}

TEST_F(WasmEgressTest, HttpsIsTunnelledAndVerifiedEndToEnd) {
  TempDir certs;
  TlsServer tls(certs.path(), "api.test");
  if (tls.port() == 0) GTEST_SKIP() << "openssl s_server could not be started";
  const std::string url = "https://api.test:" + std::to_string(tls.port()) + "/";
  WriteSkill("tls", "[" + Api(tls.port()) + "]", {"GET " + url});

  // The system's CA store does not know the test certificate: the TLS handshake fails after
  // the proxy allowed the tunnel.
  Outcome untrusted;
  std::vector<json> results = Run("tls", &untrusted);
  ASSERT_EQ(results.size(), 1u) << untrusted.stdout_stream.data;
  EXPECT_EQ(results[0]["rc"], kFailed) << results[0];
  ASSERT_EQ(untrusted.egress.size(), 1u);
  EXPECT_TRUE(untrusted.egress[0].allowed);
  EXPECT_EQ(untrusted.egress[0].method, "CONNECT");

  // With the certificate as the CA, the same request succeeds through the tunnel.
  OpenEngine(tls.cert());
  Outcome trusted;
  results = Run("tls", &trusted);
  ASSERT_EQ(results.size(), 1u) << trusted.stdout_stream.data;
  EXPECT_EQ(results[0]["rc"], 0) << results[0];
  EXPECT_EQ(results[0]["status"], 200) << results[0];
  EXPECT_NE(results[0]["body"].get<std::string>().find("s_server"), std::string::npos)
      << results[0];
  ASSERT_EQ(trusted.egress.size(), 1u);
  EXPECT_EQ(trusted.egress[0].method, "CONNECT");
  EXPECT_GT(trusted.egress[0].bytes_received, 0u);
}

TEST_F(WasmEgressTest, ComponentsGetTheSameInterfaceAndTheSameAllowlist) {
  HttpTestServer origin("origin");
  BinaryServer binary;
  const std::string port = std::to_string(origin.port());
  const std::string base = "http://api.test:" + port;
  WriteComponentSkill("comp", "[" + Api(origin.port()) + ", " + Api(binary.port()) + "]");
  const json requests = {
      {{"method", "GET"}, {"url", base + "/c"}, {"headers", "X-Probe: component\nX-Two: 2"}},
      {{"method", "POST"}, {"url", base + "/p"}, {"body", "twelve bytes"}},
      {{"url", "http://undeclared.test:" + port + "/"}},
      {{"url", "http://169.254.169.254/latest/meta-data/"}},
      {{"url", "https://10.0.0.1/"}},
      {{"url", "http://127.0.0.1:" + port + "/"}},
      {{"method", "get"}, {"url", base + "/"}},
      {{"url", base + "/"}, {"headers", "Host: elsewhere.test"}},
      {{"url", "http://api.test:" + std::to_string(binary.port()) + "/bin"}},
  };
  Outcome outcome;
  std::vector<json> results = RunComponent("comp", requests, &outcome);
  ASSERT_EQ(results.size(), requests.size()) << outcome.stdout_stream.data;
  EXPECT_EQ(results[0], json::parse(R"({"ok": true, "status": 200, "headers": 3,
      "content_type": "text/plain", "body": "hello from origin: GET /c HTTP/1.1\n"})"))
      << results[0];
  EXPECT_EQ(results[1]["body"], "hello from origin: POST /p HTTP/1.1\n") << results[1];
  for (size_t i = 2; i <= 5; ++i) {
    SCOPED_TRACE(requests[i].dump());
    EXPECT_EQ(results[i]["ok"], false) << results[i];
    EXPECT_EQ(results[i]["kind"], "denied") << results[i];
    EXPECT_EQ(results[i]["message"].get<std::string>().rfind("egress refused: ", 0), 0u);
  }
  EXPECT_EQ(results[6]["kind"], "invalid") << results[6];
  EXPECT_EQ(results[7]["kind"], "invalid") << results[7];
  EXPECT_NE(results[7]["message"].get<std::string>().find("Host is set by skillrt"),
            std::string::npos)
      << results[7];
  EXPECT_EQ(origin.connections(), 2) << "a refused request reached the server";
  const std::vector<std::string> heads = origin.requests();
  ASSERT_EQ(heads.size(), 2u);
  EXPECT_NE(heads[0].find("\r\nX-Probe: component\r\nX-Two: 2\r\n"), std::string::npos)
      << heads[0];
  EXPECT_NE(heads[1].find("\r\nContent-Length: 12"), std::string::npos) << heads[1];

  // A body that is not UTF-8 is not handed to the component as a string.
  EXPECT_EQ(results[8]["kind"], "not-text") << results[8];
  EXPECT_NE(results[8]["message"].get<std::string>().find("is not UTF-8 text"), std::string::npos);

  // Seven connections asked for (the invalid requests never got that far): three allowed.
  ASSERT_EQ(outcome.egress.size(), 7u);
  std::vector<json> audit = EgressAudit();
  ASSERT_EQ(audit.size(), 7u);
  int allowed = 0;
  for (const json& r : audit) allowed += r["decision"] == "allowed" ? 1 : 0;
  EXPECT_EQ(allowed, 3);

  // Without [capabilities.network], the same component is refused, and told why.
  WriteComponentSkill("comp-offline", "");
  Outcome offline;
  results = RunComponent("comp-offline", {{{"url", base + "/"}}}, &offline);
  ASSERT_EQ(results.size(), 1u) << offline.stdout_stream.data;
  EXPECT_EQ(results[0]["kind"], "denied") << results[0];
  EXPECT_NE(results[0]["message"].get<std::string>().find("declares no [capabilities.network]"),
            std::string::npos);
  EXPECT_EQ(origin.connections(), 2);
}

}  // namespace
}  // namespace skillrt
