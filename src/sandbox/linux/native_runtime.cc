// The native runtime: a Plan run as a process tree inside skillrt's Linux sandbox.
//
// Supervisor side, in order: check the plan, resolve what may execute, compute the root, the
// Landlock ruleset, the rlimits and the seccomp program; create the run's cgroup; clone3 the
// child into new namespaces; write its id maps, place it in the cgroup and let it go; then
// supervise it and classify how it ended. The child's side is contain.cc.
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <optional>

#include "sandbox/linux/cgroup.h"
#include "sandbox/linux/contain.h"
#include "sandbox/linux/exec_path.h"
#include "sandbox/linux/supervise.h"
#include "sandbox/linux/sys.h"
#include "sandbox/linux/userns.h"
#include "skillrt/runtime.h"

namespace skillrt {
namespace {

using Clock = std::chrono::steady_clock;

// A pipe whose ends are O_CLOEXEC and numbered 3 or higher, so that moving the child's ends
// onto 0-2 can never overwrite one another.
Result<std::pair<UniqueFd, UniqueFd>> MakePipe() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return FailErrno(ErrorCode::kIo, "pipe2", errno);
  UniqueFd r(p[0]), w(p[1]);
  for (UniqueFd* fd : {&r, &w}) {
    if (fd->get() < 3) {
      const int moved = ::fcntl(fd->get(), F_DUPFD_CLOEXEC, 3);
      if (moved < 0) return FailErrno(ErrorCode::kIo, "fcntl(F_DUPFD_CLOEXEC)", errno);
      fd->Reset(moved);
    }
  }
  return std::make_pair(std::move(r), std::move(w));
}

bool ArgvAllowed(const Plan& plan, const std::string& resolved) {
  for (const std::string& command : plan.commands) {
    if (command == plan.argv[0]) return true;
    if (auto r = exec_path::Resolve(plan, command); r && *r == resolved) return true;
  }
  return false;
}

class NativeRuntime final : public Runtime {
 public:
  explicit NativeRuntime(userns::IdMap ids) : ids_(ids) {}
  std::string_view Name() const override { return "native"; }
  Result<Outcome> Run(const Plan& plan) override;

 private:
  userns::IdMap ids_;
};

Result<Outcome> NativeRuntime::Run(const Plan& plan) {
  const auto started = Clock::now();
  Outcome outcome;
  outcome.run_id = plan.run_id;
  outcome.skill = plan.skill_name;
  if (plan.argv.empty()) return Fail(ErrorCode::kInvalidArgument, "plan: argv is empty");
  if (plan.network) {
    return Fail(ErrorCode::kUnsupported, "plan: network access is not supported by this runtime");
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
  std::vector<std::string> executable = exec_path::Closure(plan, *exe);
  for (const std::string& command : plan.commands) {
    if (auto resolved = exec_path::Resolve(plan, command)) {
      for (std::string& path : exec_path::Closure(plan, *resolved)) {
        if (std::find(executable.begin(), executable.end(), path) == executable.end()) {
          executable.push_back(std::move(path));
        }
      }
    }
  }

  // Layers that depend on the kernel: required at kStrict, skipped (and not listed) at
  // kBestEffort.
  const bool strict = plan.level == SandboxLevel::kStrict;
  const int landlock_abi = landlock::Abi();
  if (landlock_abi == 0 && strict) {
    return Fail(ErrorCode::kSandbox,
                "Landlock is not available on this kernel; refusing to run without it "
                "(--sandbox best-effort runs without it and records that)");
  }
  const cgroup::Probe& cgroups = cgroup::Detect();
  if (cgroups.version == cgroup::Version::kNone && strict) {
    return Fail(ErrorCode::kSandbox, "cgroups are not usable (" + cgroups.reason +
                                         "); refusing to run without memory, process and CPU "
                                         "limits (--sandbox best-effort uses rlimits only)");
  }

  mount::RootPlan root;
  if (auto r = mount::PlanRoot(plan, &root); !r) return std::unexpected(r.error());
  landlock::Ruleset ruleset;
  if (landlock_abi > 0) landlock::PlanRuleset(plan, executable, landlock_abi, &ruleset);
  const bool use_cgroup = cgroups.version != cgroup::Version::kNone;
  const std::vector<rlimit::Setting> rlimits = rlimit::ForLimits(plan.limits, use_cgroup);
  Result<const seccomp::Program*> filter = seccomp::Filter(plan.network);
  if (!filter) return std::unexpected(filter.error());

  std::optional<cgroup::RunCgroup> cg;
  if (use_cgroup) {
    auto created = cgroup::RunCgroup::Create(
        cgroups, plan.run_id,
        {.memory_max_bytes = plan.limits.memory_max_bytes, .pids_max = plan.limits.pids_max});
    if (!created) {
      if (strict) return std::unexpected(created.error());
    } else {
      cg.emplace(std::move(*created));
    }
  }

  std::vector<UniqueFd> attach_fds;
  std::vector<int> attach_fd_numbers;
  if (cg) {
    auto fds = cg->OpenSelfAttachFds();
    if (!fds) return std::unexpected(fds.error());
    attach_fds = std::move(*fds);
    for (const UniqueFd& fd : attach_fds) attach_fd_numbers.push_back(fd.get());
  }

  std::vector<char*> argv, envp;
  for (const std::string& a : plan.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : plan.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  auto in = MakePipe(), out = MakePipe(), err = MakePipe(), sync = MakePipe(), fail = MakePipe();
  for (auto* p : {&in, &out, &err, &sync, &fail}) {
    if (!*p) return std::unexpected(p->error());
  }
  sandbox::ChildSpec spec = {
      .stdin_fd = in->first.get(),
      .stdout_fd = out->second.get(),
      .stderr_fd = err->second.get(),
      .sync_fd = sync->first.get(),
      .err_fd = fail->second.get(),
      .cgroup_tasks_fds = &attach_fd_numbers,
      .new_cgroup_ns = cg.has_value(),
      .clear_groups = ids_.privileged,
      .cap_last = userns::CapLastCap(),
      .root = &root,
      .rlimits = &rlimits,
      .landlock = landlock_abi > 0 ? &ruleset : nullptr,
      .seccomp = *filter,
      .exec_path = exe->c_str(),
      .argv = argv.data(),
      .envp = envp.data(),
  };

  int pidfd = -1;
  struct clone_args args = {};
  args.flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
               CLONE_NEWUTS | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  if (cg && cg->v2_fd() >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cg->v2_fd());
  }
  const long pid = sys::Clone3(&args);
  if (pid < 0) return FailErrno(ErrorCode::kSandbox, "clone3(namespaces)", errno);
  if (pid == 0) sandbox::Contain(spec);  // Never returns.

  sandbox::SupervisedFds fds = {.pidfd = UniqueFd(pidfd),
                                .stdin_w = std::move(in->second),
                                .stdout_r = std::move(out->first),
                                .stderr_r = std::move(err->first),
                                .err_r = std::move(fail->first)};
  in->first.Reset();
  out->second.Reset();
  err->second.Reset();
  sync->first.Reset();
  fail->second.Reset();

  auto abort_child = [&](Error e) -> Result<Outcome> {
    sys::PidfdSendSignal(fds.pidfd.get(), SIGKILL);
    ::waitpid(static_cast<pid_t>(pid), nullptr, 0);
    return std::unexpected(std::move(e));
  };
  attach_fds.clear();
  if (auto r = userns::WriteIdMaps(static_cast<pid_t>(pid), ids_); !r) return abort_child(r.error());
  if (::write(sync->second.get(), "g", 1) != 1) {
    return abort_child(Error::FromErrno(ErrorCode::kSandbox, "write(sync pipe)", errno));
  }
  sync->second.Reset();

  Result<sandbox::Supervision> sup =
      sandbox::Supervise(static_cast<pid_t>(pid), std::move(fds), plan.stdin_data,
                         plan.limits.wall_time, plan.limits.output_max_bytes,
                         &outcome.stdout_stream, &outcome.stderr_stream);
  if (!sup) return std::unexpected(sup.error());
  cgroup::Stats stats;
  if (cg) {
    stats = cg->ReadStats();
    (void)cg->Destroy();
  }
  outcome.duration = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);

  if (sup->failure && !sup->failure->exec) {
    return FailErrno(ErrorCode::kSandbox, sup->failure->what, sup->failure->err);
  }

  outcome.layers = {"userns", "mountns", "pidns", "netns", "ipcns", "utsns"};
  if (cg) outcome.layers.push_back("cgroupns");
  outcome.layers.insert(outcome.layers.end(),
                        {"pivot_root", "caps_dropped", "no_new_privs", "rlimits", "seccomp"});
  if (landlock_abi > 0) outcome.layers.push_back("landlock:v" + std::to_string(landlock_abi));
  if (cg) outcome.layers.push_back("cgroup:" + std::string(cgroup::VersionName(cgroups.version)));

  const auto& ru = sup->usage;
  const auto rusage_cpu = std::chrono::seconds(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                          std::chrono::microseconds(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
  outcome.cpu = cg ? std::chrono::microseconds(stats.cpu_usage_us)
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
    outcome.message = Error::FromErrno(ErrorCode::kIo, sup->failure->what, sup->failure->err).message;
  } else if (sup->timed_out) {
    outcome.status = Status::kTimeout;
    hit("wall_time");
    outcome.message = "wall-clock limit of " + std::to_string(plan.limits.wall_time.count()) +
                      " ms reached";
  } else if (sup->output_exceeded) {
    outcome.status = Status::kKilled;
    hit("output");
    outcome.message = "output limit of " + std::to_string(plan.limits.output_max_bytes) +
                      " bytes per stream exceeded";
  } else if (outcome.signal) {
    outcome.status = Status::kKilled;
    const int sig = *outcome.signal;
    const bool cpu_exhausted = outcome.cpu >= plan.limits.cpu_time;
    if (stats.oom_killed) {
      hit("memory");
      outcome.message = "memory limit of " + std::to_string(plan.limits.memory_max_bytes >> 20) +
                        " MiB reached";
    } else if (sig == SIGXCPU || (sig == SIGKILL && cpu_exhausted)) {
      hit("cpu_time");
      outcome.message = "CPU time limit of " + std::to_string(plan.limits.cpu_time.count()) +
                        " ms reached";
    } else if (sig == SIGXFSZ) {
      hit("file_size");
      outcome.message = "file size limit of " + std::to_string(plan.limits.file_size_max_bytes) +
                        " bytes reached";
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

}  // namespace

Result<std::unique_ptr<Runtime>> MakeNativeRuntime(const NativeRuntimeOptions& options) {
  auto ids = userns::ChooseIdMap(options.sandbox_host_uid, options.sandbox_host_gid);
  if (!ids) return std::unexpected(ids.error());
  // Compile the seccomp programs now so the first run does not pay for it.
  for (bool network : {false, true}) {
    if (auto f = seccomp::Filter(network); !f) return std::unexpected(f.error());
  }
  (void)landlock::Abi();
  (void)cgroup::Detect();
  return std::unique_ptr<Runtime>(new NativeRuntime(*ids));
}

}  // namespace skillrt
