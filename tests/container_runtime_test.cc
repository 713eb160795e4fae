// The container runtime against real engines, each test once with podman and once with docker
// (a daemon of the tests' own, tests/container_engines.h), and the local image
// localhost/skillrt-busybox:1 (scripts/build-container-image.sh). An engine's instances skip,
// with the reason, where it cannot run containers or the image is missing.
// Each test starts one or two containers (a few hundred ms each with podman, about a second
// with docker).
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "container/engine_argv.h"
#include "container/engine_cli.h"
#include "container_engines.h"
#include "http_test_server.h"
#include "engine/plan_builder.h"
#include "skillrt/runtime.h"
#include "test_util.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using skillrt::testing::TempDir;
using skillrt::testing::WriteFile;

constexpr const char* kImage = testing::kContainerTestImage;

bool Has(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// One runtime per engine for the whole suite: creating it asks the engine (`<engine> info`).
struct Shared {
  std::unique_ptr<Runtime> runtime;
  std::string engine_path;
  std::string skip_reason;
};

Shared& GetShared(const std::string& engine_name) {
  static std::map<std::string, Shared>* engines = new std::map<std::string, Shared>;
  auto [it, inserted] = engines->try_emplace(engine_name);
  Shared& shared = it->second;
  if (!inserted) return shared;
  const testing::TestEngine engine = testing::TestEngineFor(engine_name);
  if (engine.path.empty()) {
    shared.skip_reason = engine.skip_reason;
    return shared;
  }
  ContainerRuntimeOptions options;
  options.engine = engine.path;
  auto runtime = MakeContainerRuntime(options);
  if (!runtime) {
    shared.skip_reason = runtime.error().message;
    return shared;
  }
  shared.engine_path = engine.path;
  shared.runtime = std::move(*runtime);
  return shared;
}

// Every test runs against each engine: podman, and docker with a daemon of the tests' own
// (tests/container_engines.h). The parameter is the engine's name.
class ContainerRuntimeTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    Shared& shared = GetShared(GetParam());
    if (!shared.runtime) {
      SKILLRT_SKIP_UNLESS_BUILT("no usable " + GetParam() + ": " + shared.skip_reason);
    }
    runtime_ = shared.runtime.get();
    ::chmod(skill_.path().c_str(), 0755);  // The container's user reads the skill.
  }

  // A plan running `script` with /bin/sh in the busybox image.
  Plan ScriptPlan(const std::string& script, const std::string& input = "") {
    WriteFile(skill_.path() / "run.sh", script);
    ::chmod((skill_.path() / "run.sh").c_str(), 0644);
    static std::atomic<int> serial{0};
    Plan plan;
    plan.run_id = "ctest-" + std::to_string(::getpid()) + "-" + std::to_string(serial++);
    plan.skill_name = "container-test";
    plan.skill_dir = skill_.path();
    plan.argv = {"/bin/sh", "/skill/run.sh"};
    plan.env = BaseEnvironment(plan.run_id);
    plan.stdin_data = input;
    plan.limits.wall_time = std::chrono::seconds(8);
    ContainerSpec spec;
    spec.image = kImage;
    plan.container = spec;
    return plan;
  }

  Outcome MustRun(const Plan& plan) {
    auto outcome = runtime_->Run(plan);
    EXPECT_TRUE(outcome.has_value()) << outcome.error().ToString();
    return outcome ? *outcome : Outcome{};
  }

  // Ids of containers left with the run's label.
  std::string Leftovers(const std::string& run_id) {
    auto list = container::RunEngineCommand(
        {GetShared(GetParam()).engine_path, "ps", "--all", "--quiet",
         "--filter=label=" + container::RunLabel(run_id)},
        std::chrono::seconds(30));
    EXPECT_TRUE(list.has_value());
    return list ? list->out : "?";
  }

  Runtime* runtime_ = nullptr;
  TempDir skill_;
};

TEST_P(ContainerRuntimeTest, RunsWithInputOutputAndIsolation) {
  // One container checks many things at once, each printed as key=value.
  const std::string script = R"sh(
echo "uid=$(id -u):$(id -g)"
if touch /rootfs-write 2>/dev/null; then echo root=writable; else echo root=read-only; fi
if echo x > /tmp/probe && [ "$(cat /tmp/probe)" = x ]; then echo tmp=writable; fi
if touch /skill/x 2>/dev/null; then echo skill=writable; else echo skill=read-only; fi
echo "net=$(ls /sys/class/net | tr '\n' ' ')"
echo "caps=$(grep CapEff /proc/self/status | tr -d ' \t')"
echo "nnp=$(grep NoNewPrivs /proc/self/status | tr -d ' \t')"
echo "pwd=$(pwd)"
echo "skill_dir=$SKILL_DIR http_proxy=${http_proxy:-unset}"
echo "stdin=$(cat)"
echo "to stderr" >&2
)sh";
  Outcome outcome = MustRun(ScriptPlan(script, R"({"n": 1})"));
  EXPECT_EQ(outcome.status, Status::kOk) << outcome.message << outcome.stderr_stream.data;
  EXPECT_EQ(outcome.exit_code, 0);
  const std::string& out = outcome.stdout_stream.data;
  for (const char* line :
       {"uid=65534:65534\n", "root=read-only\n", "tmp=writable\n", "skill=read-only\n",
        "net=lo \n", "caps=CapEff:0000000000000000\n", "nnp=NoNewPrivs:1\n", "pwd=/skill\n",
        "skill_dir=/skill http_proxy=unset\n", "stdin={\"n\": 1}\n"}) {
    EXPECT_NE(out.find(line), std::string::npos) << "missing '" << line << "' in:\n" << out;
  }
  EXPECT_EQ(outcome.stderr_stream.data, "to stderr\n");
  for (const char* layer : {"cap-drop:ALL", "no-new-privileges", "read-only-root", "network:none",
                            "user:65534", "pids-limit", "memory-limit"}) {
    EXPECT_TRUE(Has(outcome.layers, layer)) << layer;
  }
  EXPECT_GT(outcome.duration.count(), 0);
}

TEST_P(ContainerRuntimeTest, OutputOfAContainerThatLeavesItsStdinUnreadIsKept) {
  // A container that exits without reading the input it was given: its output is all there.
  // (Relayed through conmon, podman lost it about once in 150 such runs when two ran at
  // once; podman's stdio now reaches the container directly: see LogDriverIsTheEnginesOwn.)
  const std::string input(64 << 10, 'x');
  for (int i = 0; i < 3; ++i) {
    Outcome outcome = MustRun(ScriptPlan("echo hello\necho there >&2\n", input));
    EXPECT_EQ(outcome.status, Status::kOk) << outcome.message;
    EXPECT_EQ(outcome.stdout_stream.data, "hello\n") << i;
    EXPECT_EQ(outcome.stderr_stream.data, "there\n") << i;
  }
}

TEST_P(ContainerRuntimeTest, ExitStatusesAreTheSkills) {
  Outcome three = MustRun(ScriptPlan("echo failing >&2; exit 3"));
  EXPECT_EQ(three.status, Status::kError);
  EXPECT_EQ(three.exit_code, 3);
  EXPECT_EQ(three.message, "exited with status 3");

  // 127 from the skill's own shell (a command it ran was missing) is the skill's failure,
  // not the engine's: the last line on stderr is the shell's, not the engine's "Error: ".
  Outcome missing = MustRun(ScriptPlan("no-such-command"));
  EXPECT_EQ(missing.status, Status::kError);
  EXPECT_EQ(missing.exit_code, 127);
}

TEST_P(ContainerRuntimeTest, EngineFailuresAreErrors) {
  // 125: the engine could not create the container (an image that is not in the store).
  Plan no_image = ScriptPlan("true");
  no_image.container->image = "localhost/skillrt-no-such-image:1";
  auto image = runtime_->Run(no_image);
  ASSERT_FALSE(image.has_value());
  EXPECT_EQ(image.error().code, ErrorCode::kNotFound);
  EXPECT_NE(image.error().message.find("not in the local store"), std::string::npos)
      << image.error().message;

  // 127: the command does not exist in the image; the engine says so itself.
  Plan no_command = ScriptPlan("true");
  no_command.argv = {"/bin/no-such-program"};
  auto command = runtime_->Run(no_command);
  ASSERT_FALSE(command.has_value());
  EXPECT_TRUE(command.error().code == ErrorCode::kNotFound ||
              command.error().code == ErrorCode::kSandbox)
      << command.error().ToString();
  EXPECT_NE(command.error().message.find("container engine"), std::string::npos);
  EXPECT_EQ(Leftovers(no_command.run_id), "");
}

TEST_P(ContainerRuntimeTest, MemoryLimitKills) {
  // Doubles a shell string until the 32 MiB limit stops it.
  Plan plan = ScriptPlan("x=aaaaaaaaaaaaaaaa; while :; do x=\"$x$x\"; done");
  plan.limits.memory_max_bytes = 32ull << 20;
  Outcome outcome = MustRun(plan);
  EXPECT_EQ(outcome.status, Status::kKilled) << outcome.message;
  EXPECT_EQ(outcome.signal, SIGKILL);
  EXPECT_FALSE(outcome.exit_code.has_value());
  if (Has(outcome.layers, "cgroup:v1") || Has(outcome.layers, "cgroup:v2")) {
    EXPECT_TRUE(Has(outcome.limits_hit, "memory")) << outcome.message;
    EXPECT_GE(outcome.max_rss_kb, (30ull << 20) >> 10);
    EXPECT_LE(outcome.max_rss_kb, (34ull << 20) >> 10);
  }
}

TEST_P(ContainerRuntimeTest, CpuTimeLimitKills) {
  Plan plan = ScriptPlan("while :; do :; done");
  plan.limits.cpu_time = std::chrono::milliseconds(1000);
  plan.container->cpus = 0;  // No bandwidth cap: the budget is spent as fast as it can be.
  plan.limits.wall_time = std::chrono::seconds(20);  // Headroom on a busy machine.
  Outcome outcome = MustRun(plan);
  EXPECT_EQ(outcome.status, Status::kKilled) << outcome.message;
  if (Has(outcome.layers, "cgroup:v1") || Has(outcome.layers, "cgroup:v2")) {
    EXPECT_TRUE(Has(outcome.limits_hit, "cpu_time")) << OutcomeToJson(outcome).dump();
    EXPECT_GE(outcome.cpu, std::chrono::milliseconds(1000));
  }
}

TEST_P(ContainerRuntimeTest, PidsLimitStopsForks) {
  // 6 processes at most: the shell and five children; the shell cannot fork a sixth and
  // gives up ("can't fork").
  Plan plan = ScriptPlan(R"(
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
  sleep 2 &
  echo "started $i"
done
)");
  plan.limits.pids_max = 6;
  Outcome outcome = MustRun(plan);
  const size_t started = skillrt::testing::Lines(outcome.stdout_stream.data).size();
  EXPECT_GE(started, 1u);
  EXPECT_LE(started, 5u) << outcome.stdout_stream.data;
  EXPECT_NE(outcome.stderr_stream.data.find("can't fork"), std::string::npos)
      << outcome.stderr_stream.data;
  EXPECT_EQ(outcome.status, Status::kError);

  // Positive control: with room, all twelve start.
  plan.run_id += "-wide";
  plan.limits.pids_max = 64;
  Outcome wide = MustRun(plan);
  EXPECT_EQ(skillrt::testing::Lines(wide.stdout_stream.data).size(), 12u)
      << wide.stderr_stream.data;
  EXPECT_EQ(wide.status, Status::kOk);
}

TEST_P(ContainerRuntimeTest, TimeoutKillsAndRemovesTheContainer) {
  Plan plan = ScriptPlan("echo started; sleep 60");
  plan.limits.wall_time = std::chrono::milliseconds(2000);
  const auto started = std::chrono::steady_clock::now();
  Outcome outcome = MustRun(plan);
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(outcome.status, Status::kTimeout) << outcome.message;
  EXPECT_TRUE(Has(outcome.limits_hit, "wall_time"));
  EXPECT_LT(took, std::chrono::seconds(9));
  EXPECT_EQ(Leftovers(plan.run_id), "") << "the timed-out container is still there";
}

// Cancels the run once its first output arrives.
class CancelOnOutput : public RunObserver {
 public:
  explicit CancelOnOutput(CancelToken& token) : token_(token) {}
  void OnOutput(OutputStream, std::string_view) override { token_.Cancel("stopped by the test"); }

 private:
  CancelToken& token_;
};

TEST_P(ContainerRuntimeTest, CancelKillsAndRemovesTheContainer) {
  Plan plan = ScriptPlan("echo started; sleep 60");
  plan.limits.wall_time = std::chrono::seconds(60);
  CancelToken token;
  CancelOnOutput observer(token);
  const auto started = std::chrono::steady_clock::now();
  auto outcome = runtime_->Execute(plan, RunContext{.cancel = &token, .observer = &observer});
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(outcome.has_value()) << outcome.error().ToString();
  EXPECT_EQ(outcome->status, Status::kCancelled) << outcome->message;
  EXPECT_NE(outcome->message.find("stopped by the test"), std::string::npos);
  EXPECT_EQ(outcome->stdout_stream.data, "started\n");
  EXPECT_LT(took, std::chrono::seconds(30));
  EXPECT_EQ(Leftovers(plan.run_id), "") << "the cancelled container is still there";
}

TEST_P(ContainerRuntimeTest, OutputLimitStopsAFlood) {
  Plan plan = ScriptPlan("yes skillrt");
  plan.limits.output_max_bytes = 4096;
  Outcome outcome = MustRun(plan);
  EXPECT_EQ(outcome.status, Status::kKilled) << outcome.message;
  EXPECT_TRUE(Has(outcome.limits_hit, "output"));
  EXPECT_EQ(outcome.stdout_stream.data.size(), 4096u);
  EXPECT_TRUE(outcome.stdout_stream.truncated);
  EXPECT_EQ(Leftovers(plan.run_id), "");
}

TEST_P(ContainerRuntimeTest, DeclaredPathsAreTheOnlyMounts) {
  // Outside /tmp, which the launch policy never mounts.
  std::string tmpl = "/var/tmp/skillrt-ctest-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const fs::path host(tmpl);
  fs::create_directories(host / "in");
  fs::create_directories(host / "out");
  WriteFile(host / "in" / "data.txt", "declared\n");
  ::chmod(host.c_str(), 0755);
  ::chmod((host / "in").c_str(), 0755);
  ::chmod((host / "in" / "data.txt").c_str(), 0644);
  ::chmod((host / "out").c_str(), 0777);
  Plan plan = ScriptPlan(
      "cat " + (host / "in" / "data.txt").string() + "\n" +
      "touch " + (host / "in" / "new").string() + " 2>/dev/null && echo in=writable\n" +
      "echo written > " + (host / "out" / "result.txt").string() + " && echo out=writable\n" +
      "ls /var/tmp 2>/dev/null | grep -v skillrt-ctest || true\n");
  plan.mounts = {BindMount{.path = host / "in", .writable = false},
                 BindMount{.path = host / "out", .writable = true}};
  Outcome outcome = MustRun(plan);
  EXPECT_EQ(outcome.status, Status::kOk) << outcome.stderr_stream.data;
  EXPECT_EQ(outcome.stdout_stream.data, "declared\nout=writable\n");
  EXPECT_EQ(skillrt::testing::ReadFile(host / "out" / "result.txt"), "written\n");
  std::error_code ec;
  fs::remove_all(host, ec);
}

TEST_P(ContainerRuntimeTest, MountsBelowADeclaredPathStayOut) {
  // A read-only declared path with a writable mount below it on the host: a recursive bind
  // would carry that mount in, writable. It must not be seen at all.
  std::string tmpl = "/var/tmp/skillrt-ctest-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const fs::path host(tmpl);
  fs::create_directories(host / "sub");
  ::chmod(host.c_str(), 0755);
  WriteFile(host / "sub" / "under-mount", "hidden\n");  // Covered by the tmpfs below.
  if (::mount("tmpfs", (host / "sub").c_str(), "tmpfs", 0, "mode=0777") != 0) {
    std::error_code ec;
    fs::remove_all(host, ec);
    GTEST_SKIP() << "cannot mount a tmpfs here (not root?): " << std::strerror(errno);
  }
  WriteFile(host / "sub" / "on-mount", "carried in\n");
  Plan plan = ScriptPlan("ls " + (host / "sub").string() + "\n" +
                         "touch " + (host / "sub" / "new").string() +
                         " 2>/dev/null && echo sub=writable || echo sub=read-only\n");
  plan.mounts = {BindMount{.path = host, .writable = false}};
  Outcome outcome = MustRun(plan);
  ::umount2((host / "sub").c_str(), MNT_DETACH);
  std::error_code ec;
  fs::remove_all(host, ec);
  EXPECT_EQ(outcome.status, Status::kOk) << outcome.stderr_stream.data;
  // The directory under the mount point, as it is without the mount: read-only like its parent.
  EXPECT_EQ(outcome.stdout_stream.data, "under-mount\nsub=read-only\n");
}

TEST_P(ContainerRuntimeTest, PolicyRefusesBeforeStarting) {
  Plan plan = ScriptPlan("echo should-not-run");
  plan.container->privileged = true;
  plan.container->network = "host";
  plan.mounts = {BindMount{.path = "/etc", .writable = false}};
  Outcome outcome = MustRun(plan);
  EXPECT_EQ(outcome.status, Status::kDenied);
  EXPECT_NE(outcome.message.find("container.privileged"), std::string::npos) << outcome.message;
  EXPECT_NE(outcome.message.find("(and 2 more)"), std::string::npos) << outcome.message;
  EXPECT_TRUE(outcome.stdout_stream.data.empty());
  EXPECT_EQ(Leftovers(plan.run_id), "");

  Plan bad_env = ScriptPlan("true");
  bad_env.env.push_back("MULTI=line\nbreak");
  auto refused = runtime_->Run(bad_env);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(refused.error().message.find("MULTI"), std::string::npos);
}

// Each refusal of the launch policy, one at a time, through the runtime: the run is denied
// naming the key, nothing is printed and no container is made, whichever the engine.
TEST_P(ContainerRuntimeTest, EachRefusalStopsTheRunBeforeTheEngine) {
  // A socket of a daemon inside a directory the skill would mount (outside /tmp, which the
  // policy refuses by itself).
  std::string tmpl = "/var/tmp/skillrt-ctest-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const fs::path sockets(tmpl);
  const fs::path socket_path = sockets / "daemon.sock";
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  struct Refused {
    const char* key;
    std::function<void(Plan&)> change;
  };
  const std::vector<Refused> cases = {
      {"container.privileged", [](Plan& p) { p.container->privileged = true; }},
      {"container.network", [](Plan& p) { p.container->network = "host"; }},
      {"container.pid", [](Plan& p) { p.container->pid = "host"; }},
      {"container.ipc", [](Plan& p) { p.container->ipc = "host"; }},
      {"container.uts", [](Plan& p) { p.container->uts = "host"; }},
      {"container.cap_add", [](Plan& p) { p.container->cap_add = {"SYS_ADMIN"}; }},
      {"container.devices", [](Plan& p) { p.container->devices = {"/dev/kvm"}; }},
      {"container.user", [](Plan& p) { p.container->user = "0:0"; }},
      {"container.read_only_root", [](Plan& p) { p.container->read_only_root = false; }},
      {"container.image", [](Plan& p) { p.container->image = "--privileged"; }},
      {"capabilities.read",
       [](Plan& p) { p.mounts = {BindMount{.path = "/etc", .writable = false}}; }},
      {"capabilities.write",
       [](Plan& p) { p.mounts = {BindMount{.path = "/var/run/docker.sock", .writable = true}}; }},
      {"capabilities.read",
       [&](Plan& p) { p.mounts = {BindMount{.path = sockets, .writable = false}}; }},
  };
  for (const Refused& c : cases) {
    SCOPED_TRACE(c.key);
    Plan plan = ScriptPlan("echo should-not-run");
    c.change(plan);
    Outcome outcome = MustRun(plan);
    EXPECT_EQ(outcome.status, Status::kDenied) << outcome.message;
    EXPECT_NE(outcome.message.find(c.key), std::string::npos) << outcome.message;
    EXPECT_TRUE(outcome.stdout_stream.data.empty());
    EXPECT_EQ(Leftovers(plan.run_id), "");
  }
  ::close(fd);
  std::error_code ec;
  fs::remove_all(sockets, ec);
  // Positive control: the same plan, unchanged, runs.
  Outcome allowed = MustRun(ScriptPlan("echo ran"));
  EXPECT_EQ(allowed.status, Status::kOk) << allowed.message << allowed.stderr_stream.data;
  EXPECT_EQ(allowed.stdout_stream.data, "ran\n");
}

TEST_P(ContainerRuntimeTest, EgressReachesDeclaredHostsOnlyThroughTheProxy) {
  ::skillrt::testing::HttpTestServer origin("origin");
  ASSERT_NE(origin.port(), 0);
  const std::string port = std::to_string(origin.port());
  // A runtime whose proxy answers the test names without DNS.
  ContainerRuntimeOptions options;
  options.engine = GetShared(GetParam()).engine_path;
  options.egress_fixed_hosts = {{"api.test", {"127.0.0.1"}},
                                {"undeclared.test", {"127.0.0.1"}},
                                {"meta.test", {"169.254.169.254"}}};
  options.egress_connect_timeout = std::chrono::seconds(2);
  auto runtime = MakeContainerRuntime(options);
  ASSERT_TRUE(runtime) << runtime.error().ToString();
  // busybox wget uses $http_proxy unless told `-Y off`.
  const std::string script = R"sh(
get() {
  if out=$(wget -q -O - "$2" 2>&1); then echo "$1=ok:$out"; else echo "$1=fail:$out"; fi
}
get allowed http://api.test:)sh" + port + R"sh(/c
get undeclared http://undeclared.test:)sh" + port + R"sh(/
get metadata http://169.254.169.254/latest/meta-data/
get private http://10.0.0.1/
get meta_by_name http://meta.test/
get host_loopback http://127.0.0.1:)sh" + port + R"sh(/
direct() {
  if out=$(wget -Y off -q -O - "$2" 2>&1); then echo "$1=ok"; else echo "$1=fail:$out"; fi
}
direct direct_private http://10.0.0.1/
direct direct_host_loopback http://127.0.0.1:)sh" + port + R"sh(/
if nslookup example.com 8.8.8.8 >/dev/null 2>&1; then echo dns=ok; else echo dns=fail; fi
echo "net=$(ls /sys/class/net | tr '\n' ' ')"
)sh";
  Plan plan = ScriptPlan(script);
  plan.network = true;
  plan.egress = {EgressRule{.host = "api.test", .port = origin.port(), .addresses = {"127.0.0.1"}},
                 EgressRule{.host = "meta.test", .port = 80}};
  plan.env.push_back("http_proxy=http://127.0.0.1:" + std::to_string(kEgressProxyPort));
  auto result = (*runtime)->Run(plan);
  if (GetParam() == "docker") {
    // docker cannot join a namespace given by path: refused before anything starts.
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::kUnsupported) << result.error().ToString();
    EXPECT_NE(result.error().message.find("needs podman"), std::string::npos);
    EXPECT_EQ(origin.connections(), 0);
    EXPECT_EQ(Leftovers(plan.run_id), "");
    return;
  }
  if (!result && result.error().code == ErrorCode::kUnsupported) {
    GTEST_SKIP() << "no network namespace for containers here: " << result.error().ToString();
  }
  ASSERT_TRUE(result) << result.error().ToString();
  const Outcome& outcome = *result;
  EXPECT_EQ(outcome.status, Status::kOk) << outcome.message << outcome.stderr_stream.data;
  const std::string& out = outcome.stdout_stream.data;
  SCOPED_TRACE(out);
  EXPECT_NE(out.find("allowed=ok:hello from origin: GET /c HTTP/1.1\n"), std::string::npos);
  for (const char* refused : {"undeclared", "metadata", "private", "meta_by_name",
                              "host_loopback"}) {
    EXPECT_NE(out.find(std::string(refused) + "=fail:wget: server returned error: HTTP/1.1 403"),
              std::string::npos)
        << refused;
  }
  // Without the proxy there is nowhere to go: no route, and the host's loopback is not this
  // namespace's.
  EXPECT_NE(out.find("direct_private=fail:wget: can't connect to remote host (10.0.0.1): "
                     "Network is unreachable"),
            std::string::npos);
  EXPECT_NE(out.find("direct_host_loopback=fail:wget: can't connect to remote host "
                     "(127.0.0.1): Connection refused"),
            std::string::npos);
  EXPECT_NE(out.find("dns=fail"), std::string::npos);
  EXPECT_NE(out.find("net=lo \n"), std::string::npos);
  EXPECT_EQ(origin.connections(), 1) << "a refused request reached the server";
  EXPECT_TRUE(Has(outcome.layers, "network:egress_proxy"));
  // One record per proxied request, only the first allowed.
  ASSERT_EQ(outcome.egress.size(), 6u);
  int allowed = 0;
  for (const EgressRecord& record : outcome.egress) allowed += record.allowed ? 1 : 0;
  EXPECT_EQ(allowed, 1);
  EXPECT_EQ(Leftovers(plan.run_id), "");
}

TEST_P(ContainerRuntimeTest, ANetworkPlanWithoutAnAllowlistIsRefused) {
  Plan plan = ScriptPlan("echo never\n");
  plan.network = true;  // ... with no egress rules: a malformed plan.
  auto outcome = runtime_->Run(plan);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, ErrorCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Engines, ContainerRuntimeTest, ::testing::Values("podman", "docker"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

TEST(ContainerArgvTest, LogDriverIsTheEnginesOwn) {
  // podman: the container gets skillrt's pipes ("passthrough"); docker, which has no such
  // driver, relays with nothing stored ("none").
  container::LaunchSpec launch;
  launch.run_id = "argv-test";
  launch.spec.image = kImage;
  launch.skill_dir = "/nonexistent/skill";
  launch.argv = {"/bin/true"};
  launch.env_file = "/nonexistent/env";
  container::EngineInfo podman{.kind = container::EngineKind::kPodman, .path = "/usr/bin/podman",
                               .name = "podman"};
  container::EngineInfo docker{.kind = container::EngineKind::kDocker, .path = "/usr/bin/docker",
                               .name = "docker"};
  const std::vector<std::string> p = container::BuildRunArgv(podman, launch);
  const std::vector<std::string> d = container::BuildRunArgv(docker, launch);
  EXPECT_TRUE(Has(p, "--log-driver=passthrough"));
  EXPECT_FALSE(Has(p, "--log-driver=none"));
  EXPECT_TRUE(Has(d, "--log-driver=none"));
  EXPECT_FALSE(Has(d, "--log-driver=passthrough"));
}

}  // namespace
}  // namespace skillrt
