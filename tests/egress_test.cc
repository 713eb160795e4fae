// Egress end to end: a skill with a network allowlist, run by the engine in the native
// sandbox, reaches declared hosts through the egress proxy and nothing else. HTTP servers run
// on the host's loopback; a fixed name table (NativeRuntimeOptions::egress_fixed_hosts) maps
// test names to addresses so no DNS is involved. Every refusal has a positive control: the
// same client reaching an allowed destination, or the same probe succeeding on the host.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "http_test_server.h"
#include "skillrt/engine.h"
#include "test_util.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using ::skillrt::testing::HttpTestServer;
using ::skillrt::testing::TempDir;
using ::skillrt::testing::WriteFile;

// The skill's client: for each {"kind": "get"|"connect", "host", "port"} it talks to the proxy
// named by $HTTP_PROXY with raw bytes, and reports what came back.
constexpr const char* kClient = R"PY(
import json, os, socket, sys, urllib.parse

def proxy():
    url = urllib.parse.urlsplit(os.environ["HTTP_PROXY"])
    return url.hostname, url.port

def read_all(s, stop=None):
    data = b""
    while stop is None or stop not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return data

def one(req):
    host, port = req["host"], req["port"]
    authority = ("[%s]" % host if ":" in host else host) + ":" + str(port)
    s = socket.create_connection(proxy(), timeout=10)
    try:
        if req["kind"] == "get":
            head = "GET http://%s/path HTTP/1.1\r\nHost: %s\r\n\r\n" % (authority, authority)
            s.sendall(head.encode())
            data = read_all(s).decode(errors="replace")
            head, _, body = data.partition("\r\n\r\n")
            return {"status": int(head.split(" ")[1]), "body": body}
        s.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (authority, authority)).encode())
        head, _, rest = read_all(s, b"\r\n\r\n").partition(b"\r\n\r\n")
        status = int(head.decode(errors="replace").split(" ")[1])
        if status != 200:
            return {"status": status, "body": (rest + read_all(s)).decode(errors="replace")}
        hello = (rest if b"\n" in rest else rest + read_all(s, b"\n")).decode()
        s.sendall(b"ping through the tunnel")
        echoed = read_all(s, b"tunnel").decode()
        return {"status": status, "body": hello + echoed}
    finally:
        s.close()

results = []
for req in json.load(sys.stdin)["requests"]:
    try:
        results.append(one(req))
    except Exception as e:
        results.append({"status": 0, "body": repr(e)})
print(json.dumps({"results": results}))
)PY";

// fork+exec of `argv` on the host; the exit status, or -1.
int RunOnHost(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Answers every DNS query on 127.0.0.1 with an empty NOERROR reply and counts them.
class TinyDnsServer {
 public:
  TinyDnsServer() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p = {fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        unsigned char msg[512];
        sockaddr_storage peer{};
        socklen_t peer_len = sizeof(peer);
        const ssize_t n = ::recvfrom(fd_, msg, sizeof(msg), 0,
                                     reinterpret_cast<sockaddr*>(&peer), &peer_len);
        if (n < 12) continue;
        ++queries_;
        msg[2] |= 0x80;
        msg[3] = 0x80;
        ::sendto(fd_, msg, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&peer),
                 peer_len);
      }
    });
  }
  ~TinyDnsServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string port() const { return std::to_string(port_); }
  int queries() const { return queries_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  std::thread thread_;
};

class EgressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::chmod(tmp_.path().c_str(), 0755);
    skills_ = tmp_.path() / "skills";
    EngineOptions options;
    options.home = tmp_.path() / "home";
    options.skill_roots = {skills_};
    options.native.keep_prepared_sandbox = false;
    options.native.egress_fixed_hosts = {{"api.test", {"127.0.0.1"}},
                                         {"undeclared.test", {"127.0.0.1"}},
                                         {"meta.test", {"169.254.169.254"}},
                                         {"private.test", {"10.0.0.1"}}};
    options.native.egress_connect_timeout = 2s;
    // The default policy asks before any call uses the network; the user's policy allows it
    // here, so that what is tested is the proxy's allowlist, not the approval.
    ::skillrt::testing::WriteFile(options.home / "policy.toml",
                                  "[[rule]]\nname = \"egress-test\"\neffect = \"allow\"\n"
                                  "network = true\n");
    auto engine = Engine::Open(std::move(options));
    ASSERT_TRUE(engine) << engine.error().ToString();
    engine_ = std::move(*engine);
  }

  // A skill whose entry is kClient, with `allow` as its [capabilities.network] allow value
  // (TOML text; empty for no network), and the probes among its commands.
  void WriteSkill(const std::string& name, const std::string& allow) {
    const fs::path dir = skills_ / name;
    WriteFile(dir / "SKILL.md", "---\nname: " + name + "\ndescription: Egress test.\n---\n");
    WriteFile(dir / "scripts" / "client.py", kClient);
    std::string toml =
        "[entry]\nargv = [\"python3\", \"scripts/client.py\"]\n[capabilities]\n"
        "commands = [\"python3\", \"curl\", \"/skill/tcp_connect\", \"/skill/udp_send\", "
        "\"/skill/dns_query\"]\n";
    if (!allow.empty()) toml += "[capabilities.network]\nallow = " + allow + "\n";
    WriteFile(dir / "skill.toml", toml);
    for (const char* probe : {"tcp_connect", "udp_send", "dns_query"}) {
      fs::copy_file(fs::path(SKILLRT_PROBE_DIR) / probe, dir / probe,
                    fs::copy_options::overwrite_existing);
      ::chmod((dir / probe).c_str(), 0755);
    }
  }

  // Runs the client skill with `requests`; skips when the host cannot build the sandbox.
  std::optional<std::vector<json>> Client(const std::string& skill, const json& requests,
                                          Outcome* outcome_out = nullptr) {
    RunRequest request;
    request.skill = skill;
    request.input = {{"requests", requests}};
    auto outcome = engine_->Run(request);
    if (!outcome && outcome.error().code == ErrorCode::kUnsupported) return std::nullopt;
    EXPECT_TRUE(outcome) << outcome.error().ToString();
    if (!outcome) return std::vector<json>{};
    EXPECT_EQ(outcome->status, Status::kOk) << outcome->stderr_stream.data << outcome->message;
    if (outcome_out != nullptr) *outcome_out = *outcome;
    if (!outcome->output.is_object()) return std::vector<json>{};
    return outcome->output["results"].get<std::vector<json>>();
  }

  Outcome Exec(const std::string& skill, std::vector<std::string> argv) {
    ExecRequest request;
    request.skill = skill;
    request.argv = std::move(argv);
    auto outcome = engine_->Exec(request);
    EXPECT_TRUE(outcome) << outcome.error().ToString();
    return outcome ? *outcome : Outcome{};
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

  static json Get(const std::string& host, uint16_t port) {
    return {{"kind", "get"}, {"host", host}, {"port", port}};
  }
  static json Connect(const std::string& host, uint16_t port) {
    return {{"kind", "connect"}, {"host", host}, {"port", port}};
  }

  TempDir tmp_;
  fs::path skills_;
  std::unique_ptr<Engine> engine_;
};

#define SKIP_IF_NO_SANDBOX(results) \
  if (!(results)) GTEST_SKIP() << "the native sandbox is not available on this host"

TEST_F(EgressTest, DeclaredHostIsReachableOverHttpAndConnect) {
  HttpTestServer origin("origin");
  HttpTestServer tunnel("tunnel", /*echo=*/true);
  WriteSkill("net", "[{ host = \"api.test:" + std::to_string(origin.port()) +
                        "\", addresses = [\"127.0.0.1\"] }, { host = \"api.test:" +
                        std::to_string(tunnel.port()) + "\", addresses = [\"127.0.0.0/8\"] }]");
  Outcome outcome;
  auto results = Client("net", {Get("api.test", origin.port()), Connect("api.test", tunnel.port())},
                        &outcome);
  SKIP_IF_NO_SANDBOX(results);
  ASSERT_EQ(results->size(), 2u);
  EXPECT_EQ((*results)[0]["status"], 200) << (*results)[0];
  EXPECT_EQ((*results)[0]["body"], "hello from origin: GET /path HTTP/1.1\n");
  EXPECT_EQ((*results)[1]["status"], 200) << (*results)[1];
  EXPECT_EQ((*results)[1]["body"], "echo tunnel\nping through the tunnel");
  EXPECT_EQ(origin.connections(), 1);
  EXPECT_EQ(tunnel.connections(), 1);
  EXPECT_NE(std::find(outcome.layers.begin(), outcome.layers.end(), "egress_proxy"),
            outcome.layers.end());

  // Two audit records, allowed, with the address and the bytes each way.
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
  // The run's own record counts them.
  auto tail = engine_->audit().Tail(1);
  ASSERT_TRUE(tail);
  EXPECT_EQ(tail->at(0)["event"], "run");
  EXPECT_EQ(tail->at(0)["egress_connections"], 2);
  EXPECT_EQ(tail->at(0)["egress_refused"], 0);

  // The CLI finds them by event and shows method, decision and destination.
  const ::skillrt::testing::CliResult cli = ::skillrt::testing::RunCli(
      tmp_.path(), tmp_.path() / "home", {"audit", "query", "--event", "egress"});
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_NE(cli.out.find("egress  CONNECT  net"), std::string::npos) << cli.out;
  EXPECT_NE(cli.out.find("allowed"), std::string::npos) << cli.out;
  EXPECT_NE(cli.out.find("api.test:" + std::to_string(tunnel.port()) + " (127.0.0.1) sent 23 B"),
            std::string::npos)
      << cli.out;
}

TEST_F(EgressTest, UndeclaredPrivateAndMetadataDestinationsAreRefused) {
  HttpTestServer origin("origin");
  const uint16_t port = origin.port();
  // meta.test and private.test are allowed by name but resolve into refused ranges.
  WriteSkill("net", "[{ host = \"api.test:" + std::to_string(port) +
                        "\", addresses = [\"127.0.0.1\"] }, \"meta.test:80\", "
                        "\"private.test:80\"]");
  const json requests = {
      Get("api.test", port),  // Positive control in the same run.
      Get("undeclared.test", port),   Connect("undeclared.test", port),
      Get("127.0.0.1", port),         Connect("127.0.0.1", port),
      Get("169.254.169.254", 80),     Connect("169.254.169.254", 443),
      Get("10.0.0.1", 80),            Connect("10.0.0.1", 443),
      Get("meta.test", 80),           Connect("private.test", 80),
      Connect("::ffff:127.0.0.1", port), Get("api.test", 1),
  };
  Outcome outcome;
  auto results = Client("net", requests, &outcome);
  SKIP_IF_NO_SANDBOX(results);
  ASSERT_EQ(results->size(), requests.size());
  EXPECT_EQ((*results)[0]["status"], 200) << (*results)[0];
  for (size_t i = 1; i < results->size(); ++i) {
    SCOPED_TRACE(requests[i].dump());
    EXPECT_EQ((*results)[i]["status"], 403) << (*results)[i];
  }
  EXPECT_EQ(origin.connections(), 1) << "a refused request reached the server";
  EXPECT_NE((*results)[9]["body"].get<std::string>().find(
                "address 169.254.169.254 is link-local (169.254.0.0/16)"),
            std::string::npos)
      << (*results)[9];
  EXPECT_NE((*results)[10]["body"].get<std::string>().find("address 10.0.0.1 is private"),
            std::string::npos)
      << (*results)[10];

  std::vector<json> audit = EgressAudit();
  ASSERT_EQ(audit.size(), requests.size());
  int refused = 0;
  for (const json& r : audit) {
    if (r["decision"] == "refused") {
      ++refused;
      EXPECT_NE(r["reason"], "") << r;
      EXPECT_EQ(r["bytes_received"], 0) << r;
    }
  }
  EXPECT_EQ(refused, static_cast<int>(requests.size()) - 1);
}

TEST_F(EgressTest, EachConnectionIsAnEventAsItEnds) {
  // The client makes its requests one after another and prints its results once all are done:
  // an event sent as each connection ends comes before any output, one sent at the end of the
  // run after it.
  HttpTestServer origin("origin");
  const uint16_t port = origin.port();
  WriteSkill("net", "[{ host = \"api.test:" + std::to_string(port) +
                        "\", addresses = [\"127.0.0.1\"] }]");
  RunRequest request;
  request.skill = "net";
  request.input = {{"requests", {Get("api.test", port), Get("undeclared.test", port)}}};
  auto handle = engine_->Start(request);
  ASSERT_TRUE(handle) << handle.error().ToString();
  auto outcome = handle->Wait();
  if (!outcome && outcome.error().code == ErrorCode::kUnsupported) {
    GTEST_SKIP() << "the native sandbox is not available on this host";
  }
  ASSERT_TRUE(outcome) << outcome.error().ToString();
  ASSERT_EQ(outcome->status, Status::kOk) << outcome->message << outcome->stderr_stream.data;
  std::vector<const EgressRecord*> egress;
  uint64_t first_output = 0, last_egress = 0;
  EventBatch batch = handle->ReadEvents(0, 10'000, 1s);
  ASSERT_TRUE(batch.finished);
  for (const RunEvent& event : batch.events) {
    if (auto* e = std::get_if<EgressEvent>(&event.payload)) {
      egress.push_back(&e->record);
      last_egress = event.seq;
    }
    if (std::holds_alternative<OutputEvent>(event.payload) && first_output == 0) {
      first_output = event.seq;
    }
  }
  ASSERT_EQ(egress.size(), 2u);
  // The proxy may see the first connection's end after it refused the second one: the two
  // events are in the order the connections ended, not the order they were opened.
  if (egress[0]->host != "api.test") std::swap(egress[0], egress[1]);
  EXPECT_TRUE(egress[0]->allowed);
  EXPECT_EQ(egress[0]->host, "api.test");
  EXPECT_FALSE(egress[1]->allowed);
  EXPECT_EQ(egress[1]->host, "undeclared.test");
  ASSERT_GT(first_output, 0u);
  EXPECT_LT(last_egress, first_output) << "egress events were held until the run ended";
  // Each connection is in the audit log once, as before.
  EXPECT_EQ(EgressAudit().size(), 2u);
}

TEST_F(EgressTest, StandardClientsUseTheProxyFromTheEnvironment) {
  HttpTestServer origin("origin");
  const std::string url = "http://api.test:" + std::to_string(origin.port()) + "/std";
  WriteSkill("net", "[{ host = \"api.test:" + std::to_string(origin.port()) +
                        "\", addresses = [\"127.0.0.1\"] }]");
  // curl: plain forwarding, then a CONNECT tunnel (--proxytunnel) to the same server.
  Outcome plain = Exec("net", {"curl", "-sS", "--max-time", "10", url});
  if (plain.status == Status::kError && plain.message.find("unsupported") != std::string::npos) {
    GTEST_SKIP() << "the native sandbox is not available on this host: " << plain.message;
  }
  EXPECT_EQ(plain.status, Status::kOk) << plain.stderr_stream.data << plain.message;
  EXPECT_EQ(plain.stdout_stream.data, "hello from origin: GET /std HTTP/1.1\n");
  Outcome tunneled = Exec("net", {"curl", "-sS", "--max-time", "10", "--proxytunnel", url});
  EXPECT_EQ(tunneled.status, Status::kOk) << tunneled.stderr_stream.data;
  EXPECT_EQ(tunneled.stdout_stream.data, "hello from origin: GET /std HTTP/1.1\n");
  ASSERT_EQ(tunneled.egress.size(), 1u);
  EXPECT_EQ(tunneled.egress[0].method, "CONNECT");
  // The same curl, to an undeclared name: the proxy's 403 reaches it.
  Outcome denied = Exec("net", {"curl", "-sS", "--max-time", "10", "-o", "/dev/null", "-w",
                                "%{http_code}", "http://undeclared.test:" +
                                                    std::to_string(origin.port()) + "/"});
  EXPECT_EQ(denied.stdout_stream.data, "403") << denied.stderr_stream.data;
  EXPECT_EQ(origin.connections(), 2);
}

TEST_F(EgressTest, DirectTcpUdpAndDnsBypassTheProxyNowhere) {
  HttpTestServer origin("origin");
  TinyDnsServer dns;
  const std::string port = std::to_string(origin.port());
  const std::string probes = SKILLRT_PROBE_DIR;
  // Positive controls: each probe works on the host.
  ASSERT_EQ(RunOnHost({probes + "/tcp_connect", "127.0.0.1", port, "1000"}), 0);
  ASSERT_EQ(RunOnHost({probes + "/udp_send", "127.0.0.1", dns.port()}), 0);
  ASSERT_EQ(RunOnHost({probes + "/dns_query", "127.0.0.1", "example.com", dns.port(), "1000"}), 0);
  ASSERT_EQ(origin.connections(), 1);
  // The datagram and the query both arrived (the responder counts every datagram).
  for (int i = 0; i < 40 && dns.queries() < 2; ++i) std::this_thread::sleep_for(25ms);
  ASSERT_EQ(dns.queries(), 2);

  WriteSkill("net", "[{ host = \"api.test:" + port + "\", addresses = [\"127.0.0.1\"] }]");
  // Inside, TCP sockets exist and reach the proxy on the sandbox's loopback (a positive
  // control for the probe), but nothing else: the host's loopback server is in another
  // namespace, and other addresses have no route.
  Outcome to_proxy =
      Exec("net", {"/skill/tcp_connect", "127.0.0.1", std::to_string(kEgressProxyPort), "1000"});
  if (to_proxy.status == Status::kError &&
      to_proxy.message.find("unsupported") != std::string::npos) {
    GTEST_SKIP() << "the native sandbox is not available on this host: " << to_proxy.message;
  }
  EXPECT_EQ(to_proxy.exit_code, 0) << to_proxy.stdout_stream.data;
  for (const std::string& target : {std::string("127.0.0.1"), std::string("10.0.0.1"),
                                    std::string("169.254.169.254"), std::string("::1")}) {
    SCOPED_TRACE(target);
    Outcome direct = Exec("net", {"/skill/tcp_connect", target, port, "1000"});
    EXPECT_EQ(direct.exit_code, 1) << direct.stdout_stream.data;
  }
  // On the proxy's port too, the namespace alone stops the rest: there is no route beyond
  // loopback.
  for (const std::string& target : {std::string("10.0.0.1"), std::string("169.254.169.254")}) {
    SCOPED_TRACE(target);
    Outcome direct =
        Exec("net", {"/skill/tcp_connect", target, std::to_string(kEgressProxyPort), "1000"});
    EXPECT_EQ(direct.exit_code, 1) << direct.stdout_stream.data;
    EXPECT_NE(direct.stdout_stream.data.find("ENETUNREACH"), std::string::npos)
        << direct.stdout_stream.data;
  }
  Outcome udp = Exec("net", {"/skill/udp_send", "127.0.0.1", dns.port()});
  EXPECT_EQ(udp.exit_code, 1) << udp.stdout_stream.data;
  for (const std::string& resolver : {std::string("127.0.0.1"), std::string("8.8.8.8")}) {
    SCOPED_TRACE(resolver);
    const std::string dns_port = resolver == "127.0.0.1" ? dns.port() : "53";
    Outcome query = Exec("net", {"/skill/dns_query", resolver, "example.com", dns_port, "1000"});
    EXPECT_EQ(query.exit_code, 1) << query.stdout_stream.data;
  }
  EXPECT_EQ(origin.connections(), 1) << "a direct connection from the sandbox reached the host";
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(dns.queries(), 2) << "a datagram from the sandbox reached the host";
}

// A secret spelled into a host name, in mixed case, reaches the proxy, which lower-cases the
// name for its checks and its record: the record, the audit log and the proxy's answer that
// the skill prints must hold neither spelling.
TEST_F(EgressTest, SecretInAHostNameIsRedactedWhateverItsCase) {
  HttpTestServer origin("origin");
  const std::string port = std::to_string(origin.port());
  WriteSkill("net", "[{ host = \"api.test:" + port + "\", addresses = [\"127.0.0.1\"] }]");
  std::ofstream(skills_ / "net" / "skill.toml", std::ios::app)
      << "[secrets]\nAPI_TOKEN = { description = \"a token\" }\n";
  const fs::path instances = tmp_.path() / "home" / "instances.toml";
  WriteFile(instances, "[net]\ndefault = \"dev\"\n[net.dev]\n"
                       "secrets = { API_TOKEN = \"env:EGRESS_TEST_TOKEN\" }\n");
  ::chmod(instances.c_str(), 0600);
  const std::string token = "MiXeD-" + std::to_string(::getpid()) + "-Tok3n";
  std::string lower = token;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  ::setenv("EGRESS_TEST_TOKEN", token.c_str(), 1);
  Outcome outcome;
  auto results = Client("net", {Connect(token + ".test", 443), Get(token + ".test", origin.port()),
                                Get("api.test", origin.port())},
                        &outcome);
  ::unsetenv("EGRESS_TEST_TOKEN");
  SKIP_IF_NO_SANDBOX(results);
  ASSERT_EQ(results->size(), 3u);
  EXPECT_EQ((*results)[0]["status"], 403);
  EXPECT_EQ((*results)[1]["status"], 403);
  EXPECT_EQ((*results)[2]["status"], 200);  // Positive control in the same run.
  // The proxy's answer, printed by the skill, named the lower-cased host.
  EXPECT_EQ((*results)[1]["body"],
            "skillrt egress: host [REDACTED:API_TOKEN].test is not in the allowlist\n");
  ASSERT_EQ(outcome.egress.size(), 3u);
  EXPECT_EQ(outcome.egress[0].host, "[REDACTED:API_TOKEN].test");
  std::vector<json> audit = EgressAudit();
  ASSERT_EQ(audit.size(), 3u);
  EXPECT_EQ(audit[0]["host"], "[REDACTED:API_TOKEN].test") << audit[0];
  EXPECT_EQ(audit[2]["host"], "api.test");
  std::ifstream log(tmp_.path() / "home" / "audit.log");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_FALSE(text.empty());
  for (const std::string& spelling : {token, lower}) {
    EXPECT_EQ(text.find(spelling), std::string::npos) << spelling;
    EXPECT_EQ(outcome.stdout_stream.data.find(spelling), std::string::npos) << spelling;
  }
}

TEST_F(EgressTest, WithoutAnAllowlistThereIsNoProxy) {
  HttpTestServer origin("origin");
  WriteSkill("offline", "");
  // No proxy variables, and nothing listening on the proxy's port of the sandbox's loopback.
  Outcome probe = Exec("offline", {"/skill/tcp_connect", "127.0.0.1",
                                   std::to_string(kEgressProxyPort), "1000"});
  if (probe.status == Status::kError && probe.message.find("unsupported") != std::string::npos) {
    GTEST_SKIP() << "the native sandbox is not available on this host: " << probe.message;
  }
  EXPECT_EQ(probe.exit_code, 1) << probe.stdout_stream.data;
  EXPECT_NE(probe.stdout_stream.data.find("ECONNREFUSED"), std::string::npos)
      << probe.stdout_stream.data;
  EXPECT_TRUE(probe.egress.empty());
  EXPECT_EQ(std::find(probe.layers.begin(), probe.layers.end(), "egress_proxy"),
            probe.layers.end());
  EXPECT_TRUE(EgressAudit().empty());
}

}  // namespace
}  // namespace skillrt
