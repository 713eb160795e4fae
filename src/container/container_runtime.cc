// The container runtime: a Plan run as one `<engine> run --rm` (docs/container.md).
//
// In order: check the launch policy (the spec, the skill directory, every declared mount);
// write the environment to a private file; build the argv; start the engine CLI and
// supervise it (stdin fed, stdout and stderr captured under the cap, the wall-clock deadline);
// on a timeout or an output flood kill and remove the container by name and check that
// nothing with the run's label is left; read the run's cgroup accounting; classify how it
// ended, telling the engine's own failures (exit 125-127 with the engine's error line) from
// the skill's.
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>

#include "container/engine_argv.h"
#include "container/engine_cli.h"
#include "container/probe_cache.h"
#include "container/launch_policy.h"
#include "container/run_stats.h"
#include "net/egress_policy.h"
#include "net/egress_proxy.h"
#include "net/resolver.h"
#include "runtime/egress_namespace.h"
#include "runtime/report.h"
#include "runtime/supervise.h"
#include "skillrt/runtime.h"
#include "skillrt/fd.h"
#include "runtime/limit_text.h"
#include "runtime/path_pin.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using container::EngineInfo;

// Podman's default RLIMIT_NPROC for containers; lowered to the caller's hard limit if that
// is smaller (a limit above it cannot be set without CAP_SYS_RESOURCE).
constexpr uint64_t kNprocCeiling = 32768;
// A run killed by SIGKILL whose peak memory came within this of the limit was stopped by
// the memory limit (cgroup v1, where the OOM kill count is not kept above the container).
constexpr uint64_t kOomSlackBytes = 1 << 20;
constexpr std::chrono::seconds kRemoveTimeout{30};

bool IsRunId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool IsEnvName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    if (!(alpha || (i > 0 && c >= '0' && c <= '9'))) return false;
  }
  return true;
}

// A private directory (0700) removed with its contents on destruction. Move-only.
class PrivateDir {
 public:
  static Result<PrivateDir> Create(const fs::path& root) {
    fs::path base = root;
    if (base.empty()) {
      const char* tmp = ::getenv("TMPDIR");
      base = tmp != nullptr && *tmp == '/' ? tmp : "/tmp";
    }
    std::string tmpl = (base / "skillrt-container-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      return FailErrno(ErrorCode::kIo, "mkdtemp(" + tmpl + ")", errno);
    }
    PrivateDir dir;
    dir.path_ = tmpl;
    return dir;
  }
  PrivateDir(PrivateDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  PrivateDir& operator=(PrivateDir&&) = delete;
  ~PrivateDir() {
    if (path_.empty()) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  PrivateDir() = default;
  fs::path path_;
};

// Writes the environment file: one NAME=value per line, mode 0600, in a 0700 directory, so
// that values (which may be secrets passed from the host) never appear on a command line.
Result<void> WriteEnvFile(const fs::path& file, const Plan& plan) {
  const std::string manifest = (plan.skill_dir / "skill.toml").string();
  std::string text;
  for (const std::string& entry : plan.env) {
    const size_t eq = entry.find('=');
    const std::string name = entry.substr(0, eq);
    if (eq == std::string::npos || !IsEnvName(name)) {
      return Fail(ErrorCode::kInvalidArgument,
                  manifest + ": capabilities.env: '" + name + "' is not a variable name");
    }
    if (entry.find_first_of(std::string_view("\n\r\0", 3)) != std::string::npos) {
      return Fail(ErrorCode::kInvalidArgument,
                  manifest + ": capabilities.env: the value of " + name +
                      " contains a line break or NUL, which a container's environment file "
                      "cannot carry");
    }
    text += entry;
    text += '\n';
  }
  UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return FailErrno(ErrorCode::kIo, "open(" + file.string() + ")", errno);
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return FailErrno(ErrorCode::kIo, "write(" + file.string() + ")", errno);
    done += static_cast<size_t>(n);
  }
  return {};
}

// True when stderr ends with the engine's own error line rather than the skill's output:
// podman prints "Error: ...", the docker CLI "docker: ..." or "Error response from daemon"
// (followed by its hint to see `--help`, which EngineErrorLine skips).
bool EndsWithEngineError(const EngineInfo& engine, const std::string& err) {
  const std::string line = container::EngineErrorLine(engine.kind, err);
  if (engine.kind == container::EngineKind::kPodman) return line.starts_with("Error: ");
  return line.starts_with("docker: ") || line.starts_with("Error response from daemon") ||
         line.starts_with("Error: ");
}

Error EngineError(const EngineInfo& engine, int code, const std::string& err) {
  const std::string line = container::EngineErrorLine(engine.kind, err);
  const std::string who = "container engine " + engine.name;
  if (code == 125) {
    const bool no_image = line.find("image not known") != std::string::npos ||
                          line.find("No such image") != std::string::npos ||
                          line.find("pull access denied") != std::string::npos;
    if (no_image) {
      return Error::Make(ErrorCode::kNotFound,
                         who + ": the image is not in the local store (images are never "
                               "pulled; build or import it, e.g. "
                               "scripts/build-container-image.sh): " + line);
    }
    return Error::Make(ErrorCode::kSandbox,
                       who + " failed before the container ran (exit 125, the engine's own "
                             "error): " + line);
  }
  if (code == 126) {
    return Error::Make(ErrorCode::kSandbox,
                       who + " could not start the container's command (exit 126: the OCI "
                             "runtime refused it, e.g. not executable or a limit that cannot "
                             "be applied here): " + line);
  }
  return Error::Make(ErrorCode::kNotFound,
                     who + ": the command was not found in the image (exit 127): " + line);
}

class ContainerRuntime final : public Runtime {
 public:
  ContainerRuntime(ContainerRuntimeOptions options, EngineInfo engine,
                   std::shared_ptr<const net::Resolver> resolver)
      : options_(std::move(options)), engine_(std::move(engine)), resolver_(std::move(resolver)) {
    struct rlimit nproc;
    nproc_limit_ = kNprocCeiling;
    if (::getrlimit(RLIMIT_NPROC, &nproc) == 0 && nproc.rlim_max != RLIM_INFINITY) {
      nproc_limit_ = std::min<uint64_t>(kNprocCeiling, nproc.rlim_max);
    }
  }

  std::string_view Name() const override { return "container"; }
  Result<Outcome> Execute(const Plan& plan, const RunContext& context) override;

 private:
  // Kills and removes the run's container, then checks that nothing with its label is left.
  Result<void> Remove(const std::string& run_id) const {
    auto removed = container::RunEngineCommand(
        container::RemoveArgv(engine_, container::ContainerName(run_id)), kRemoveTimeout);
    if (!removed) return std::unexpected(removed.error());
    auto left = container::RunEngineCommand(
        container::ListArgv(engine_, container::RunLabel(run_id)), kRemoveTimeout);
    if (!left) return std::unexpected(left.error());
    if (left->exit_code != 0 || !container::LastLine(left->out).empty()) {
      return Fail(ErrorCode::kSandbox,
                  "container " + container::ContainerName(run_id) +
                      " could not be removed after it was stopped: " +
                      container::LastLine(removed->err + "\n" + left->err + "\n" + left->out));
    }
    return {};
  }

  ContainerRuntimeOptions options_;
  EngineInfo engine_;
  std::shared_ptr<const net::Resolver> resolver_;  // Names for the egress proxy.
  uint64_t nproc_limit_ = kNprocCeiling;
};

Result<Outcome> ContainerRuntime::Execute(const Plan& plan, const RunContext& context) {
  const auto started = Clock::now();
  if (context.cancel != nullptr && context.cancel->cancelled()) {
    return CancelledBeforeStart(plan, *context.cancel);
  }
  Outcome outcome;
  outcome.run_id = plan.run_id;
  outcome.skill = plan.skill_name;
  if (plan.argv.empty()) return Fail(ErrorCode::kInvalidArgument, "plan: argv is empty");
  if (!plan.container) {
    return Fail(ErrorCode::kInvalidArgument,
                "plan: the container runtime needs the manifest's [container] table");
  }
  if (!IsRunId(plan.run_id)) {
    return Fail(ErrorCode::kInvalidArgument, "plan: run id '" + plan.run_id +
                                                 "' is not 1-64 characters of [A-Za-z0-9_-]");
  }
  // Network access means the egress proxy with a non-empty allowlist, as for native runs.
  if (plan.network != !plan.egress.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "plan: network access and the egress allowlist disagree");
  }
  std::optional<net::EgressPolicy> policy;
  if (plan.network) {
    if (engine_.kind != container::EngineKind::kPodman) {
      return Fail(ErrorCode::kUnsupported,
                  "plan: network access for containers needs podman (" + engine_.name +
                      " cannot join the network namespace of the egress proxy)");
    }
    Result<net::EgressPolicy> compiled = net::EgressPolicy::Create(plan.egress);
    if (!compiled) return std::unexpected(compiled.error());
    policy.emplace(std::move(*compiled));
  }

  // The launch policy, before anything starts.
  const fs::path manifest_file = plan.skill_dir / "skill.toml";
  const std::vector<container::Refusal> refusals = container::CheckPlan(plan);
  if (!refusals.empty()) {
    outcome.status = Status::kDenied;
    outcome.message = container::RefusalError(manifest_file, refusals).message;
    return outcome;
  }

  auto private_dir = PrivateDir::Create(options_.scratch_root);
  if (!private_dir) return std::unexpected(private_dir.error());
  const fs::path env_file = private_dir->path() / "env";
  if (auto written = WriteEnvFile(env_file, plan); !written) {
    return std::unexpected(written.error());
  }
  // The engine resolves mount sources itself: hand it the pinned objects' resolved paths,
  // checked to still name those objects just before it starts (docs/sandbox.md, "Paths").
  Result<PathPin> skill_pin = PinOrResolve(plan.skill_dir_pin, plan.skill_dir);
  if (!skill_pin) return std::unexpected(skill_pin.error());
  if (auto same = ReopenPinned(*skill_pin, O_PATH); !same) return std::unexpected(same.error());
  std::vector<BindMount> mounts = plan.mounts;
  for (BindMount& mount : mounts) {
    Result<PathPin> pin = PinOrResolve(mount.pin, mount.path);
    if (!pin) return std::unexpected(pin.error());
    if (std::optional<std::string_view> reserved = ReservedHostPath(pin->resolved.string())) {
      return Fail(ErrorCode::kDenied, "declared path " + mount.path.string() + " resolves to " +
                                          pin->resolved.string() + ", under reserved '" +
                                          std::string(*reserved) + "'");
    }
    if (auto same = ReopenPinned(*pin, O_PATH); !same) return std::unexpected(same.error());
    mount.pin = std::move(*pin);
  }
  container::LaunchSpec launch = {
      .run_id = plan.run_id,
      .spec = *plan.container,
      .skill_dir = skill_pin->resolved,
      .mounts = std::move(mounts),
      .argv = plan.argv,
      .env_file = env_file,
      .limits = plan.limits,
      .cgroup_parent = {},
      .nproc_limit = nproc_limit_,
  };
  const int stats_version = options_.cgroup_stats ? engine_.stats_cgroup_version : 0;
  if (stats_version != 0) launch.cgroup_parent = container::RunCgroupParent(plan.run_id);

  // Egress: a network namespace of skillrt's with the proxy's listener on its loopback; the
  // container joins it, and the proxy connects out from this (the host's) namespace. It
  // lives exactly as long as the run.
  std::optional<netns::EgressNamespace> egress_ns;
  std::optional<net::EgressProxy> proxy;
  if (policy) {
    auto made = netns::CreateEgressNamespace(kEgressProxyPort);
    if (!made) return std::unexpected(made.error());
    egress_ns.emplace(std::move(made->ns), UniqueFd());
    launch.network_namespace =
        "/proc/" + std::to_string(::getpid()) + "/fd/" + std::to_string(egress_ns->ns.get());
    proxy.emplace(std::move(*policy), resolver_,
                  net::EgressProxyOptions{.connect_timeout = options_.egress_connect_timeout,
                                           .on_record = EgressReporter(context)});
    if (auto served = proxy->Serve(std::move(made->listener)); !served) {
      return std::unexpected(served.error());
    }
  }

  std::vector<std::string> layers = {engine_.name,
                                     "cap-drop:ALL",
                                     "no-new-privileges",
                                     "read-only-root",
                                     "tmpfs:/tmp",
                                     proxy ? "network:egress_proxy" : "network:none",
                                     "user:" + plan.container->user.substr(
                                                   0, plan.container->user.find(':')),
                                     "pids-limit",
                                     "memory-limit"};
  if (plan.container->cpus > 0) layers.push_back("cpu-limit");
  if (stats_version != 0) layers.push_back("cgroup:v" + std::to_string(stats_version));

  auto process = container::StartEngine(container::BuildRunArgv(engine_, launch));
  if (!process) return std::unexpected(process.error());
  // The engine applies the layers as it starts the container; the run is under way.
  if (context.observer != nullptr) context.observer->OnStarted(layers);
  const pid_t pid = std::exchange(process->pid, 0);
  // To stop the run, kill the container's processes through its cgroup parent: the engine
  // CLI then sees its container exit, removes it (`--rm`) and exits, with no engine command
  // of ours on the way (each costs ~0.1 s). Without a cgroup parent of skillrt's, or when the
  // CLI has not exited in time, the CLI is killed and the container removed by name.
  StopHook stop_container;
  if (stats_version != 0) {
    stop_container = [&] {
      return container::KillRunProcesses(stats_version, launch.cgroup_parent) > 0;
    };
  }
  auto sup = Supervise(pid, std::move(process->fds), plan.stdin_data, plan.limits.wall_time,
                       plan.limits.output_max_bytes, &outcome.stdout_stream,
                       &outcome.stderr_stream, context, stop_container);
  const bool stopped = !sup || sup->timed_out || sup->output_exceeded || sup->cancelled;
  // The CLI reports a container killed by SIGKILL as 137; any other status (say, the kill
  // met the container still being created) leaves the removal to us.
  const bool removed_by_engine = sup && sup->stopped_by_hook && WIFEXITED(sup->wait_status) &&
                                 WEXITSTATUS(sup->wait_status) == 128 + SIGKILL;
  Result<void> removed = stopped && !removed_by_engine ? Remove(plan.run_id) : Result<void>();
  // The container is gone: cut what is still open and collect the records.
  if (proxy) outcome.egress = proxy->Stop();
  egress_ns.reset();
  container::RunStats stats;
  if (stats_version != 0) stats = container::CollectAndRemove(stats_version, launch.cgroup_parent);
  outcome.duration = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
  if (!sup) return std::unexpected(sup.error());
  if (!removed) return std::unexpected(removed.error());

  outcome.layers = std::move(layers);
  outcome.cpu = std::chrono::microseconds(stats.cpu_usage_us);
  outcome.max_rss_kb = stats.memory_peak_bytes >> 10;
  auto hit = [&](const char* limit) { outcome.limits_hit.push_back(limit); };
  if (stats.pids_limit_hit) hit("processes");

  if (sup->cancelled) {
    outcome.status = Status::kCancelled;
    outcome.message = context.cancel->reason() + "; the container was killed and removed";
    return outcome;
  }
  if (sup->timed_out) {
    outcome.status = Status::kTimeout;
    MarkLimitReached(outcome, "wall_time", plan.limits,
                     " (engine start-up included); the container was killed and removed");
    return outcome;
  }
  if (sup->output_exceeded) {
    outcome.status = Status::kKilled;
    MarkLimitReached(outcome, "output", plan.limits, "; the container was killed and removed");
    return outcome;
  }
  if (!WIFEXITED(sup->wait_status)) {
    return Fail(ErrorCode::kSandbox, "container engine " + engine_.name +
                                         " was killed by signal " +
                                         std::to_string(WTERMSIG(sup->wait_status)));
  }
  const int code = WEXITSTATUS(sup->wait_status);
  if ((code == 125 || code == 126 || code == 127) &&
      EndsWithEngineError(engine_, outcome.stderr_stream.data)) {
    // The engine itself failed: what its probe said may no longer hold (a daemon gone, a
    // storage setting changed), so the next runtime made asks it again.
    container::ForgetProbe(options_.probe_cache_dir, engine_.path);
    return std::unexpected(EngineError(engine_, code, outcome.stderr_stream.data));
  }
  // Engines report a container process killed by a signal as 128 + the signal number.
  if (code > 128 && code < 128 + 65) {
    const int sig = code - 128;
    outcome.signal = sig;
    outcome.status = Status::kKilled;
    const bool oom =
        stats.oom_killed.value_or(sig == SIGKILL && stats.memory_peak_bytes != 0 &&
                                  stats.memory_peak_bytes + kOomSlackBytes >=
                                      plan.limits.memory_max_bytes);
    if (oom) {
      MarkLimitReached(outcome, "memory", plan.limits);
    } else if (sig == SIGXCPU || (sig == SIGKILL && stats_version != 0 &&
                                  outcome.cpu >= plan.limits.cpu_time)) {
      // The container's first process is its pid namespace's init, which the kernel does not
      // stop with SIGXCPU at the soft limit; it dies by SIGKILL at the hard one (soft + 1 s).
      MarkLimitReached(outcome, "cpu_time", plan.limits);
    } else if (sig == SIGXFSZ) {
      MarkLimitReached(outcome, "file_size", plan.limits);
    } else {
      const char* name = sigabbrev_np(sig);
      outcome.message = std::string("killed by SIG") + (name ? name : std::to_string(sig).c_str());
      if (sig == SIGKILL && stats_version == 0) {
        outcome.message += " (the memory limit may have been reached; this engine gives no "
                           "accounting to tell)";
      }
    }
    return outcome;
  }
  outcome.exit_code = code;
  if (code == 0) {
    outcome.status = Status::kOk;
  } else {
    outcome.status = Status::kError;
    outcome.message = "exited with status " + std::to_string(code);
  }
  return outcome;
}

}  // namespace

Result<std::unique_ptr<Runtime>> MakeContainerRuntime(const ContainerRuntimeOptions& options) {
  auto path = container::FindEngine(options.engine);
  if (!path) return std::unexpected(path.error());
  auto engine = container::ProbeEngineCached(*path, options.probe_cache_dir);
  if (!engine) return std::unexpected(engine.error());
  auto fixed = net::ParseFixedHosts(options.egress_fixed_hosts);
  if (!fixed) return std::unexpected(fixed.error());
  return std::unique_ptr<Runtime>(
      new ContainerRuntime(options, std::move(*engine),
                           std::make_shared<net::SystemResolver>(std::move(*fixed))));
}

}  // namespace skillrt
