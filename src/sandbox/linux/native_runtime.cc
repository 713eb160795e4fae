// The native runtime: a Plan run as a process tree inside skillrt's Linux sandbox.
//
// Supervisor side, in order: check the plan, resolve what may execute, compute the root, the
// Landlock ruleset, the rlimits and the seccomp program; take the sandbox spawned ahead of
// need (or spawn one: clone3 into new namespaces, id maps, run cgroup); set the run's cgroup
// limits; publish the run to the child and release it; with egress, take the proxy listener
// the child made on its loopback and serve it; supervise it and classify how it ended. The
// child's side is contain.cc; spawning is spawn.cc.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "net/egress_policy.h"
#include "net/egress_proxy.h"
#include "net/resolver.h"
#include "sandbox/linux/cgroup.h"
#include "sandbox/linux/contain.h"
#include "sandbox/linux/exec_path.h"
#include "sandbox/linux/netns.h"
#include "sandbox/linux/prepared.h"
#include "sandbox/linux/seccomp.h"
#include "sandbox/linux/spawn.h"
#include "runtime/report.h"
#include "runtime/supervise.h"
#include "sandbox/linux/userns.h"
#include "sandbox/linux/workspace.h"
#include "skillrt/runtime.h"
#include "runtime/limit_text.h"

namespace skillrt {
namespace {

using Clock = std::chrono::steady_clock;
using sandbox::SandboxProcess;

// argv[0] is allowed when it is one of the plan's commands, or resolves to the program one of
// them resolves to (a command alias and its target are one program).
bool ArgvAllowed(const Plan& plan, const std::string& resolved) {
  const std::optional<std::string> program = exec_path::HostPathOf(plan, resolved);
  for (const std::string& command : plan.commands) {
    if (command == plan.argv[0]) return true;
    const std::optional<std::string> r = exec_path::Resolve(plan, command);
    if (r && (*r == resolved || (program && exec_path::HostPathOf(plan, *r) == program))) {
      return true;
    }
  }
  return false;
}

// The plan's workspace, if any.
const BindMount* WorkspaceOf(const Plan& plan) {
  for (const BindMount& m : plan.mounts) {
    if (m.workspace) return &m;
  }
  return nullptr;
}

cgroup::CgroupLimits CgroupLimitsFor(const Limits& limits) {
  return {.memory_max_bytes = limits.memory_max_bytes, .pids_max = limits.pids_max};
}

// One run's ChildSpec and everything it points to, owned. Not movable (the spec points into
// the members); build it in place with BuildRunSpec.
struct RunSpec {
  std::vector<std::string> executable;
  mount::RootPlan root;
  landlock::Ruleset ruleset;
  landlock::RulesetView ruleset_view;
  std::vector<rlimit::Setting> rlimits;
  std::string exe, cwd;
  std::vector<std::string> argv_strings;
  std::vector<char*> argv, envp;
  sandbox::ChildSpec spec;

  // Points the spec's argv at `argv`.
  void SetArgv(std::vector<std::string> strings) {
    argv_strings = std::move(strings);
    argv.clear();
    for (const std::string& a : argv_strings) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    spec.argv = argv.data();
  }
};

// Computes everything the child reads for `plan`, whose argv[0] resolved to `exe`: what may
// execute (argv[0] and the declared commands, each with its interpreter chain), the root, the
// Landlock ruleset, the rlimits and the seccomp program. The child may not allocate.
Result<void> BuildRunSpec(const Plan& plan, const std::string& exe, bool handed,
                          std::string cwd, int landlock_abi, bool use_cgroup, RunSpec* out) {
  out->exe = exe;
  out->cwd = std::move(cwd);
  out->executable = exec_path::Closure(plan, exe);
  for (const std::string& command : plan.commands) {
    if (auto resolved = exec_path::Resolve(plan, command)) {
      for (std::string& path : exec_path::Closure(plan, *resolved)) {
        if (std::find(out->executable.begin(), out->executable.end(), path) ==
            out->executable.end()) {
          out->executable.push_back(std::move(path));
        }
      }
    }
  }
  if (auto r = mount::PlanRoot(plan, handed, &out->root); !r) return std::unexpected(r.error());
  if (landlock_abi > 0) landlock::PlanRuleset(plan, out->executable, landlock_abi, &out->ruleset);
  out->ruleset_view = out->ruleset.View();
  out->rlimits = rlimit::ForLimits(plan.limits, use_cgroup);
  Result<const seccomp::Program*> filter = seccomp::Filter();
  if (!filter) return std::unexpected(filter.error());
  for (const std::string& e : plan.env) out->envp.push_back(const_cast<char*>(e.c_str()));
  out->envp.push_back(nullptr);
  out->spec = {
      .root = out->root.View(),
      .rlimits = out->rlimits.data(),
      .rlimit_count = out->rlimits.size(),
      .landlock = landlock_abi > 0 ? &out->ruleset_view : nullptr,
      .seccomp = (*filter)->instructions.data(),
      .seccomp_count = (*filter)->instructions.size(),
      .exec_path = out->exe.c_str(),
      .cwd = out->cwd.c_str(),
      .argv = nullptr,
      .envp = out->envp.data(),
      .proxy_port = plan.network ? kEgressProxyPort : uint16_t{0},
  };
  out->SetArgv(plan.argv);
  return {};
}

// What the background thread is asked to prepare: a sandbox for the plan whose key is `key`
// (prepared.h).
struct WantedSandbox {
  std::string key;
  Plan plan;
  Clock::time_point not_before;  // NativeRuntimeOptions::prepare_delay.
};

class NativeRuntime final : public Runtime {
 public:
  NativeRuntime(userns::IdMap ids, bool keep_prepared, size_t prepared_sandboxes,
                std::chrono::microseconds prepare_delay,
                std::shared_ptr<const net::Resolver> resolver,
                std::chrono::milliseconds connect_timeout)
      : ids_(ids),
        prepare_delay_(prepare_delay),
        resolver_(std::move(resolver)),
        connect_timeout_(connect_timeout),
        prepared_(keep_prepared ? prepared_sandboxes : 0),
        held_waiter_(prepared_.capacity() > 0 ? prepared::MakeHeldWaiter() : UniqueFd()) {
    if (keep_prepared) spare_thread_ = std::thread([this] { SpareLoop(); });
  }
  ~NativeRuntime() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (spare_thread_.joinable()) spare_thread_.join();
    spare_.reset();  // Kills the waiting child.
    // Kills the sandboxes prepared for plans; each one's cgroup goes with it.
    std::vector<SandboxProcess> prepared = prepared_.TakeAll();
  }

  std::string_view Name() const override { return "native"; }
  Result<Outcome> Execute(const Plan& plan, const RunContext& context) override;

 private:
  sandbox::SpawnConfig ConfigFor(const Limits& limits, std::string cgroup_name,
                                 const cgroup::Probe* cgroups) const {
    return {.ids = ids_,
            .cap_last = userns::CapLastCap(),
            .cgroups = cgroups,
            .cgroup_limits = CgroupLimitsFor(limits),
            .cgroup_name = std::move(cgroup_name)};
  }

  // Takes the prepared sandbox, if one is ready, and asks for the next.
  std::optional<SandboxProcess> TakeSpare() {
    if (!spare_thread_.joinable()) return std::nullopt;
    std::optional<SandboxProcess> taken;
    {
      std::lock_guard lock(mu_);
      taken = std::move(spare_);
      spare_.reset();
      want_spare_ = true;
    }
    cv_.notify_one();
    return taken;
  }

  // True when a sandbox may be prepared for `plan`, whose argv[0] resolved to `exe`: an
  // eligible plan, which gets a Python interpreter or, where there is a held waiter, a
  // sandbox held before execve.
  bool Preparable(const Plan& plan, const std::string& exe) const {
    return prepared_.capacity() > 0 && prepared::Eligible(plan) &&
           (held_waiter_ || prepared::RunsPythonScript(plan, exe));
  }

  // Takes the sandbox prepared for `key`, if one is ready.
  std::optional<SandboxProcess> TakePrepared(const std::string& key) {
    std::lock_guard lock(mu_);
    return prepared_.Take(key);
  }

  // Asks the background thread for a sandbox prepared for `plan` (whose key is `key`),
  // unless one is held or asked for already.
  void WantPrepared(const std::string& key, const Plan& plan) {
    {
      std::lock_guard lock(mu_);
      if (prepared_.Holds(key)) return;
      for (const WantedSandbox& w : wanted_) {
        if (w.key == key) return;
      }
      if (wanted_.size() >= prepared_.capacity()) wanted_.pop_front();
      wanted_.push_back({.key = key,
                         .plan = plan,
                         .not_before = Clock::now() + prepare_delay_});
      wanted_.back().plan.stdin_data.clear();
    }
    cv_.notify_one();
  }

  // Makes the sandbox `wanted` asks for, on the background thread: the same ChildSpec as the
  // run's (recomputed, and dropped unless its key is the same), either with the Python
  // bootstrap as argv and the channel kept as its control descriptor, or held before execve.
  void PrepareSandbox(const WantedSandbox& wanted);

  // Removes a finished run's cgroup: on the background thread when there is one, so that the
  // rmdir calls are not on the run's critical path; inline otherwise.
  void Retire(cgroup::RunCgroup cg) {
    if (spare_thread_.joinable()) {
      {
        std::lock_guard lock(mu_);
        retired_.push_back(std::move(cg));
      }
      cv_.notify_one();
    } else {
      (void)cg.Destroy();
    }
  }

  // The spare's parent is this thread, which lives as long as the runtime: the child's
  // parent-death signal fires only when skillrt goes away.
  void SpareLoop() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] {
        return stopping_ || !retired_.empty() || (want_spare_ && !spare_) || !wanted_.empty();
      });
      if (!retired_.empty()) {
        std::vector<cgroup::RunCgroup> retired = std::move(retired_);
        retired_.clear();
        lock.unlock();
        retired.clear();  // Each destructor removes its cgroup directories.
        lock.lock();
        continue;
      }
      if (stopping_) return;
      if (!(want_spare_ && !spare_)) {  // A sandbox for a plan was asked for.
        if (const auto due = wanted_.front().not_before; Clock::now() < due) {
          cv_.wait_until(lock, due, [&] { return stopping_ || !retired_.empty(); });
          continue;
        }
        WantedSandbox wanted = std::move(wanted_.front());
        wanted_.pop_front();
        lock.unlock();
        PrepareSandbox(wanted);
        lock.lock();
        continue;
      }
      lock.unlock();
      const cgroup::Probe& cgroups = cgroup::Detect();
      Result<SandboxProcess> spawned = sandbox::Spawn(ConfigFor(
          Limits{},
          "spare-" + std::to_string(::getpid()) + "-" + std::to_string(spare_serial_++),
          cgroups.version == cgroup::Version::kNone ? nullptr : &cgroups));
      lock.lock();
      if (spawned) {
        spare_.emplace(std::move(*spawned));
      } else {
        want_spare_ = false;  // Runs spawn directly and report the error themselves.
      }
    }
  }

  userns::IdMap ids_;
  const std::chrono::microseconds prepare_delay_;
  const std::shared_ptr<const net::Resolver> resolver_;  // Names for the egress proxy.
  const std::chrono::milliseconds connect_timeout_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<SandboxProcess> spare_;  // Guarded by mu_.
  std::vector<cgroup::RunCgroup> retired_;  // Guarded by mu_.
  prepared::PreparedSet prepared_;      // Guarded by mu_.
  const UniqueFd held_waiter_;  // The held waiter's memfd; empty: no sandbox is held.
  std::deque<WantedSandbox> wanted_;    // Guarded by mu_.
  bool want_spare_ = false;              // Guarded by mu_.
  bool stopping_ = false;                // Guarded by mu_.
  std::atomic<uint64_t> spare_serial_{0};
  std::thread spare_thread_;
};

void NativeRuntime::PrepareSandbox(const WantedSandbox& wanted) {
  const Plan& plan = wanted.plan;
  const std::optional<std::string> exe = exec_path::Resolve(plan, plan.argv[0]);
  if (!exe || !Preparable(plan, *exe)) return;
  const int landlock_abi = landlock::Abi();
  const cgroup::Probe& cgroups = cgroup::Detect();
  const bool use_cgroup = cgroups.version != cgroup::Version::kNone;
  RunSpec run;
  if (!BuildRunSpec(plan, *exe, /*handed=*/false, "/skill", landlock_abi, use_cgroup, &run)) {
    return;
  }
  // Anything that changed since the run (a path re-pinned, a kernel probe) makes another
  // key: that run's plan would not find this sandbox, so none is made.
  if (prepared::KeyOf(run.spec, CgroupLimitsFor(plan.limits), use_cgroup, plan.tree_sha256) !=
      wanted.key) {
    return;
  }
  sandbox::SpawnConfig config = ConfigFor(
      plan.limits,
      "spare-" + std::to_string(::getpid()) + "-" + std::to_string(spare_serial_++),
      use_cgroup ? &cgroups : nullptr);
  if (prepared::RunsPythonScript(plan, *exe)) {
    run.SetArgv(prepared::BootstrapArgv(plan.argv));
    run.spec.keep_channel = true;
  } else {
    // The waiter's argv: the program's sandbox path, then the program's argv.
    std::vector<std::string> argv = {run.exe};
    argv.insert(argv.end(), plan.argv.begin(), plan.argv.end());
    run.SetArgv(std::move(argv));
    run.spec.hold_for_release = true;
    config.held_waiter_fd = held_waiter_.get();
  }
  config.arena_bytes = std::max(config.arena_bytes, sandbox::ArenaBytesFor(run.spec));
  Result<SandboxProcess> spawned = sandbox::Spawn(config);
  if (!spawned) return;  // The run that needs it spawns its own and reports the error.
  if (!sandbox::Start(*spawned, run.spec)) return;
  std::vector<SandboxProcess> gone;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    gone = prepared_.Put(wanted.key, std::move(*spawned));
  }
}

Result<Outcome> NativeRuntime::Execute(const Plan& plan, const RunContext& context) {
  const auto started = Clock::now();
  if (context.cancel != nullptr && context.cancel->cancelled()) {
    return CancelledBeforeStart(plan, *context.cancel);
  }
  Outcome outcome;
  outcome.run_id = plan.run_id;
  outcome.skill = plan.skill_name;
  if (plan.argv.empty()) return Fail(ErrorCode::kInvalidArgument, "plan: argv is empty");
  // Network access means the egress proxy with a non-empty allowlist; anything else is a
  // malformed plan, refused before a sandbox exists.
  if (plan.network != !plan.egress.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "plan: network access and the egress allowlist disagree");
  }
  std::optional<net::EgressPolicy> policy;
  if (plan.network) {
    Result<net::EgressPolicy> compiled = net::EgressPolicy::Create(plan.egress);
    if (!compiled) return std::unexpected(compiled.error());
    policy.emplace(std::move(*compiled));
  }

  // What may execute: argv[0] and the declared commands, each with its interpreter chain.
  const std::optional<std::string> exe = exec_path::Resolve(plan, plan.argv[0]);
  if (!exe) {
    outcome.status = Status::kError;
    outcome.exit_code = 127;
    outcome.message = "command not found in the sandbox: " + plan.argv[0];
    return outcome;
  }
  if (!ArgvAllowed(plan, *exe)) {
    outcome.status = Status::kDenied;
    outcome.message = "command '" + plan.argv[0] + "' is not among the plan's allowed commands";
    return outcome;
  }
  // Layers that depend on the kernel: required at kStrict, skipped (and not listed) at
  // kBestEffort.
  const bool strict = plan.level == SandboxLevel::kStrict;
  const int landlock_abi = landlock::Abi();
  if (landlock_abi == 0 && strict) {
    return Fail(ErrorCode::kSandbox,
                "Landlock is not available on this kernel; refusing to run without it "
                "(the best-effort sandbox level runs without it and records that)");
  }
  const cgroup::Probe& cgroups = cgroup::Detect();
  const bool use_cgroup = cgroups.version != cgroup::Version::kNone;
  if (!use_cgroup && strict) {
    return Fail(ErrorCode::kSandbox, "cgroups are not usable (" + cgroups.reason +
                                         "); refusing to run without memory, process and CPU "
                                         "limits (the best-effort sandbox level uses rlimits only)");
  }

  // The workspace: bound by the child, or (as root, for an owner other than the sandbox's
  // host ids) handed over as an ID-mapped tree made here.
  const BindMount* workspace = WorkspaceOf(plan);
  std::optional<workspace::Prepared> prepared;
  if (workspace != nullptr) {
    Result<workspace::Prepared> made = workspace::Prepare(*workspace, ids_);
    if (!made) return std::unexpected(made.error());
    prepared.emplace(std::move(*made));
  }
  const bool handed = prepared && prepared->tree;
  const std::string cwd = workspace != nullptr ? workspace->path.string() : "/skill";

  // Everything the child reads, computed here: it may not allocate.
  RunSpec run;
  if (auto r = BuildRunSpec(plan, *exe, handed, cwd, landlock_abi, use_cgroup, &run); !r) {
    return std::unexpected(r.error());
  }
  const sandbox::ChildSpec& spec = run.spec;

  // The child: a sandbox prepared for exactly this run, else the spare sandbox when it fits
  // this run, else a new one.
  std::string key;
  if (Preparable(plan, *exe)) {
    key = prepared::KeyOf(spec, CgroupLimitsFor(plan.limits), use_cgroup, plan.tree_sha256);
  }
  std::optional<SandboxProcess> process;
  if (!key.empty()) process = TakePrepared(key);
  if (process && !prepared::Release(process->pidfd.get(), process->net_r.get(),
                                    prepared::ReleaseMessage(plan.env))) {
    process.reset();  // It died or closed its channel: discarded, never reused.
  }
  const bool released = process.has_value();
  if (!released) process = TakeSpare();
  const size_t arena_bytes = sandbox::ArenaBytesFor(spec);
  if (!released && process && (process->arena->capacity() < arena_bytes ||
                               process->cgroup.has_value() != use_cgroup)) {
    process.reset();
  }
  if (!released && process && process->cgroup) {
    const cgroup::CgroupLimits wanted = CgroupLimitsFor(plan.limits);
    if (auto r = process->cgroup->Retune(cgroups, process->cgroup_limits, wanted); !r) {
      return std::unexpected(r.error());
    }
    process->cgroup_limits = wanted;
  }
  if (!process) {
    sandbox::SpawnConfig config =
        ConfigFor(plan.limits, plan.run_id, use_cgroup ? &cgroups : nullptr);
    config.arena_bytes = std::max(config.arena_bytes, arena_bytes);
    Result<SandboxProcess> spawned = sandbox::Spawn(config);
    if (!spawned) return std::unexpected(spawned.error());
    process.emplace(std::move(*spawned));
  }
  if (!released) {
    if (auto r = sandbox::Start(*process, spec, handed ? prepared->tree.get() : -1); !r) {
      return std::unexpected(r.error());
    }
  }
  if (prepared) prepared->tree.Reset();  // The child holds it now.

  // Egress: the child hands over the listener it made on its loopback; the proxy accepts
  // there and connects out from this (the host's) namespace. The proxy lives exactly as long
  // as the run. An empty listener means the child failed first; Supervise reports why.
  std::optional<net::EgressProxy> proxy;
  if (policy) {
    Result<UniqueFd> listener = netns::ReceiveListener(
        process->net_r.get(), std::min<std::chrono::milliseconds>(plan.limits.wall_time,
                                                                  std::chrono::seconds(30)));
    if (!listener) return std::unexpected(listener.error());
    if (*listener) {
      proxy.emplace(std::move(*policy), resolver_,
                    net::EgressProxyOptions{.connect_timeout = connect_timeout_,
                                           .on_record = EgressReporter(context)});
      if (auto r = proxy->Serve(std::move(*listener)); !r) return std::unexpected(r.error());
    }
  }
  process->net_r.Reset();

  // Every layer is in place once the child was started: it waits only for its release.
  std::vector<std::string> layers = {"userns", "mountns", "pidns", "netns", "ipcns", "utsns"};
  if (use_cgroup) layers.push_back("cgroupns");
  layers.insert(layers.end(), {"pivot_root", "caps_dropped", "no_new_privs", "rlimits", "seccomp"});
  if (landlock_abi > 0) layers.push_back("landlock:v" + std::to_string(landlock_abi));
  layers.push_back(plan.exec_profile == ExecProfile::kSystem ? "exec:system" : "exec:declared");
  if (prepared) layers.push_back(handed ? "workspace:idmapped" : "workspace:owner");
  if (plan.network) layers.push_back("egress_proxy");
  if (use_cgroup) layers.push_back("cgroup:" + std::string(cgroup::VersionName(cgroups.version)));
  if (context.observer != nullptr) context.observer->OnStarted(layers);

  const pid_t pid = process->pid;
  SupervisedFds fds = {.pidfd = std::move(process->pidfd),
                                .stdin_w = std::move(process->stdin_w),
                                .stdout_r = std::move(process->stdout_r),
                                .stderr_r = std::move(process->stderr_r),
                                .err_r = std::move(process->err_r)};
  Result<Supervision> sup =
      Supervise(pid, std::move(fds), plan.stdin_data, plan.limits.wall_time,
                         plan.limits.output_max_bytes, &outcome.stdout_stream,
                         &outcome.stderr_stream, context);
  process->pid = 0;  // Reaped by Supervise (or killed and reaped on its error path).
  // Every process of the sandbox is gone: cut what is still open and collect the records.
  if (proxy) outcome.egress = proxy->Stop();
  if (!sup) return std::unexpected(sup.error());
  if (!key.empty() && !sup->failure) WantPrepared(key, plan);
  cgroup::Stats stats;
  if (process->cgroup) {
    stats = process->cgroup->ReadStats();
    Retire(std::move(*process->cgroup));
    process->cgroup.reset();
  }
  outcome.duration = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);

  if (sup->failure && !sup->failure->exec) {
    return FailErrno(ErrorCode::kSandbox, sup->failure->what, sup->failure->err);
  }

  outcome.layers = std::move(layers);

  const auto& ru = sup->usage;
  const auto rusage_cpu = std::chrono::seconds(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                          std::chrono::microseconds(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
  outcome.cpu = use_cgroup ? std::chrono::microseconds(stats.cpu_usage_us)
                           : std::chrono::duration_cast<std::chrono::microseconds>(rusage_cpu);
  outcome.max_rss_kb = static_cast<uint64_t>(ru.ru_maxrss);

  const int status = sup->wait_status;
  if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) outcome.signal = WTERMSIG(status);
  auto hit = [&](const char* limit) { outcome.limits_hit.push_back(limit); };
  if (stats.pids_limit_hit) hit("processes");

  if (sup->failure) {  // execve failed: the program could not start.
    outcome.status = Status::kError;
    outcome.exit_code = 127;
    outcome.signal.reset();
    outcome.message =
        Error::FromErrno(ErrorCode::kIo, sup->failure->what, sup->failure->err).message;
  } else if (sup->cancelled) {
    outcome.status = Status::kCancelled;
    outcome.message = context.cancel->reason();
  } else if (sup->timed_out) {
    outcome.status = Status::kTimeout;
    MarkLimitReached(outcome, "wall_time", plan.limits);
  } else if (sup->output_exceeded) {
    outcome.status = Status::kKilled;
    MarkLimitReached(outcome, "output", plan.limits);
  } else if (outcome.signal) {
    outcome.status = Status::kKilled;
    const int sig = *outcome.signal;
    const bool cpu_exhausted = outcome.cpu >= plan.limits.cpu_time;
    if (stats.oom_killed) {
      MarkLimitReached(outcome, "memory", plan.limits);
    } else if (sig == SIGXCPU || (sig == SIGKILL && cpu_exhausted)) {
      MarkLimitReached(outcome, "cpu_time", plan.limits);
    } else if (sig == SIGXFSZ) {
      MarkLimitReached(outcome, "file_size", plan.limits);
    } else {
      const char* name = sigabbrev_np(sig);
      outcome.message = std::string("killed by SIG") + (name ? name : std::to_string(sig).c_str());
    }
  } else if (outcome.exit_code == 0) {
    outcome.status = Status::kOk;
  } else {
    outcome.status = Status::kError;
    outcome.message = "exited with status " + std::to_string(*outcome.exit_code);
  }
  return outcome;
}

// Spare sandboxes' cgroups are named "spare-<pid>-<n>" after the process that made them.
// One left by a process that is gone (killed before it could remove it) is ended and removed.
void SweepSpareCgroups(const cgroup::Probe& cgroups) {
  if (cgroups.version == cgroup::Version::kNone || cgroups.hierarchies.empty()) return;
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator(cgroups.hierarchies.front().parent_path, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("spare-")) continue;
    const std::string pid = name.substr(6, name.find('-', 6) - 6);
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (std::filesystem::exists("/proc/" + pid, ec)) continue;
    if (auto left = cgroup::RunCgroup::Adopt(cgroups, name)) (void)left->Destroy();
  }
}

}  // namespace

Result<void> ReapNativeRun(std::string_view run_id) {
  const cgroup::Probe& cgroups = cgroup::Detect();
  if (cgroups.version == cgroup::Version::kNone) return {};
  auto left = cgroup::RunCgroup::Adopt(cgroups, run_id);
  if (!left) {
    if (left.error().code == ErrorCode::kNotFound) return {};
    return std::unexpected(left.error());
  }
  return left->Destroy();
}

Result<std::unique_ptr<Runtime>> MakeNativeRuntime(const NativeRuntimeOptions& options) {
  if (options.prepared_sandboxes > kMaxPreparedSandboxes) {
    return Fail(ErrorCode::kInvalidArgument,
                "prepared_sandboxes: at most " + std::to_string(kMaxPreparedSandboxes) +
                    ", not " + std::to_string(options.prepared_sandboxes));
  }
  auto ids = userns::ChooseIdMap(options.sandbox_host_uid, options.sandbox_host_gid);
  if (!ids) return std::unexpected(ids.error());
  // Make the seccomp program now (or take the kept one) so the first run does not pay for it.
  if (auto f = seccomp::Filter(options.filter_cache_dir); !f) return std::unexpected(f.error());
  (void)landlock::Abi();
  SweepSpareCgroups(cgroup::Detect());
  auto fixed = net::ParseFixedHosts(options.egress_fixed_hosts);
  if (!fixed) return std::unexpected(fixed.error());
  return std::unique_ptr<Runtime>(
      new NativeRuntime(*ids, options.keep_prepared_sandbox, options.prepared_sandboxes,
                        options.prepare_delay, std::make_shared<net::SystemResolver>(std::move(*fixed)),
                        options.egress_connect_timeout));
}

}  // namespace skillrt
