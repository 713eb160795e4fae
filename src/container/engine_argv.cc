#include "container/engine_argv.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace skillrt::container {
namespace {

// "--flag=value": the value can never be read as another flag, whatever it holds.
std::string Flag(std::string_view flag, std::string_view value) {
  return "--" + std::string(flag) + "=" + std::string(value);
}

std::string Ulimit(std::string_view name, uint64_t soft, uint64_t hard) {
  return Flag("ulimit",
              std::string(name) + "=" + std::to_string(soft) + ":" + std::to_string(hard));
}

std::string Ulimit(std::string_view name, uint64_t value) { return Ulimit(name, value, value); }

std::string BindMountFlag(const std::filesystem::path& source,
                          std::string_view destination, bool writable) {
  // Non-recursive: mounts below the declared path on the host are not carried along (a
  // recursive read-only bind leaves them writable). Both engines take the bare key: podman,
  // and every docker CLI from 19.03 on. docker's newer `bind-recursive=disabled` is unknown
  // to the CLI of Debian 12's docker.io (20.10), which then refuses the run (exit 125).
  std::string value = "type=bind,source=" + source.string() +
                      ",destination=" + std::string(destination);
  if (!writable) value += ",readonly";
  value += ",bind-nonrecursive";
  return Flag("mount", value);
}

std::string CpusText(double cpus) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", cpus);
  return buf;
}

}  // namespace

std::string ContainerName(const std::string& run_id) { return "skillrt-" + run_id; }

std::string RunLabel(const std::string& run_id) { return "skillrt.run_id=" + run_id; }

std::vector<std::string> BuildRunArgv(const EngineInfo& engine, const LaunchSpec& launch) {
  const bool podman = engine.kind == EngineKind::kPodman;
  const ContainerSpec& spec = launch.spec;
  const Limits& limits = launch.limits;
  std::vector<std::string> argv = {engine.path, "run"};
  auto add = [&argv](std::string arg) { argv.push_back(std::move(arg)); };

  add("--rm");           // Removed when it exits; a timeout removes it explicitly.
  add("--interactive");  // stdin is the input.
  add(Flag("pull", "never"));  // Only local images: nothing is fetched at run time.
  add(Flag("name", ContainerName(launch.run_id)));
  add(Flag("label", RunLabel(launch.run_id)));
  // Output is captured by skillrt, not stored on disk. podman hands the container our stdio
  // itself ("passthrough"): relayed through conmon's attach socket ("none"), a container that
  // exits without reading the stdin it was given lost all its stdout in about 1 run in 150
  // when two ran at once (podman 4.3.1); docker has no such driver and relays.
  add(Flag("log-driver", podman ? "passthrough" : "none"));

  // Isolation.
  // No network, or only the namespace skillrt made for the egress proxy: a loopback on
  // which the proxy listens, and no route anywhere else.
  add(Flag("network", launch.network_namespace.empty() ? std::string("none")
                                                       : "ns:" + launch.network_namespace));
  add(Flag("cap-drop", "ALL"));
  add(Flag("security-opt", "no-new-privileges"));
  add("--read-only");
  if (podman) {
    add(Flag("read-only-tmpfs", "false"));  // Only /tmp is writable, not also /run, /var/tmp.
    add(Flag("http-proxy", "false"));       // The host's proxy variables stay on the host.
    add("--unsetenv-all");                  // The environment is exactly the env file.
  }
  add(Flag("user", spec.user));
  add(Flag("tmpfs", "/tmp:rw,nosuid,nodev,size=" + std::to_string(limits.scratch_max_bytes) +
                        ",mode=1777"));

  // Limits.
  add(Flag("pids-limit", std::to_string(limits.pids_max)));
  add(Flag("memory", std::to_string(limits.memory_max_bytes)));
  add(Flag("memory-swap", std::to_string(limits.memory_max_bytes)));  // No swap on top.
  if (spec.cpus > 0) add(Flag("cpus", CpusText(spec.cpus)));
  add(Ulimit("nofile", limits.open_files_max));
  add(Ulimit("nproc", launch.nproc_limit));
  add(Ulimit("fsize", limits.file_size_max_bytes));
  const auto cpu_s = static_cast<uint64_t>((limits.cpu_time.count() + 999) / 1000);
  // The hard limit one second later: the kernel sends SIGXCPU at the soft limit (so the end
  // is recognizable as the CPU limit) and SIGKILL at the hard one (setrlimit(2)).
  add(Ulimit("cpu", std::max<uint64_t>(cpu_s, 1), std::max<uint64_t>(cpu_s, 1) + 1));
  if (podman) {
    // A backstop should skillrt die mid-run: conmon kills the container itself, a little
    // after skillrt's own deadline.
    const auto wall_s = static_cast<uint64_t>((limits.wall_time.count() + 999) / 1000);
    add(Flag("timeout", std::to_string(wall_s + 2)));
  }
  if (!launch.cgroup_parent.empty()) {
    add(Flag("cgroup-parent", launch.cgroup_parent));
    // conmon stays out of the run's cgroup, so that its accounting is the container's alone.
    if (podman) add(Flag("cgroups", "no-conmon"));
  }

  // Files.
  // Sources are the objects pinned when the plan was made, by their resolved paths.
  add(BindMountFlag(launch.skill_dir, kSkillMountPoint, /*writable=*/false));
  for (const BindMount& mount : launch.mounts) {
    add(BindMountFlag(mount.pin ? mount.pin->resolved : mount.path, mount.path.string(),
                      mount.writable));
  }
  add(Flag("workdir", spec.workdir));
  add(Flag("env-file", launch.env_file.string()));

  // What runs: entrypoint (if replaced), image, command.
  std::vector<std::string> command = launch.argv;
  if (!spec.entrypoint.empty()) {
    if (podman) {
      add(Flag("entrypoint", nlohmann::json(spec.entrypoint).dump()));
    } else {
      // docker takes one executable; the entrypoint's other words lead the command.
      add(Flag("entrypoint", spec.entrypoint.front()));
      command.insert(command.begin(), spec.entrypoint.begin() + 1, spec.entrypoint.end());
    }
  }
  add(spec.image);
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

std::vector<std::string> RemoveArgv(const EngineInfo& engine, const std::string& name) {
  if (engine.kind == EngineKind::kPodman) {
    return {engine.path, "rm", "--force", "--ignore", "--time=0", name};
  }
  return {engine.path, "rm", "--force", name};
}

std::vector<std::string> ListArgv(const EngineInfo& engine, const std::string& label) {
  return {engine.path, "ps", "--all", "--quiet", Flag("filter", "label=" + label)};
}

}  // namespace skillrt::container
