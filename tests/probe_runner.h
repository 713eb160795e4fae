// Running probe programs (tests/probes/) directly on the host, as the positive controls of
// sandbox tests: the same probe must succeed where the restriction does not apply.
#ifndef SKILLRT_TESTS_PROBE_RUNNER_H_
#define SKILLRT_TESTS_PROBE_RUNNER_H_

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace skillrt::testing {

// The built probe `name`, or `name` itself when it is an absolute path.
inline std::filesystem::path ProbePath(const std::string& name) {
  return name.starts_with("/") ? std::filesystem::path(name) : std::filesystem::path(SKILLRT_PROBE_DIR) / name;
}

// "../.." climbing from `dir` to the root directory.
inline std::string UpToRoot(const std::filesystem::path& dir) {
  std::string up;
  for (const auto& part : std::filesystem::relative("/", dir)) up += part.string() + "/";
  return up;
}

// Parses the last non-empty line of `text` as JSON; null when there is none or it is invalid.
inline nlohmann::json LastJsonLine(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  std::string last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  nlohmann::json parsed = nlohmann::json::parse(last, nullptr, /*allow_exceptions=*/false);
  return parsed.is_discarded() ? nlohmann::json() : parsed;
}

// What a probe did when run directly on the host.
struct HostRun {
  int exit_code = -1;  // -1 when killed by a signal.
  std::string out;
  std::string err;
  nlohmann::json report;  // The JSON line on stdout.
};

// Options of a host (positive-control) run.
struct HostOptions {
  int stdin_fd = -1;                    // Dup'ed onto fd 0; /dev/null when -1.
  std::optional<uid_t> drop_to_uid;     // setgid/setuid to this id before exec.
  bool private_mount_ns = false;        // unshare(CLONE_NEWNS) first (for mount probes).
};

// Runs probe `name` with `args` directly on the host, inheriting this process's environment
// and non-close-on-exec descriptors, and collects its output.
inline HostRun RunOnHost(const std::string& name, const std::vector<std::string>& args,
                  const HostOptions& options = {}) {
  HostRun run;
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2: " << strerror(errno);
    return run;
  }
  const std::string path = ProbePath(name).string();
  std::vector<std::string> storage = {path};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);

  const pid_t pid = fork();
  if (pid == 0) {
    // Only async-signal-safe calls from here on.
    int in = options.stdin_fd >= 0 ? options.stdin_fd : open("/dev/null", O_RDONLY);
    if (in < 0 || dup2(in, 0) < 0 || dup2(out_pipe[1], 1) < 0 || dup2(err_pipe[1], 2) < 0) {
      _exit(120);
    }
    if (options.private_mount_ns) {
      if (unshare(CLONE_NEWNS) != 0) _exit(121);
      if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(122);
    }
    if (options.drop_to_uid) {
      const gid_t gid = *options.drop_to_uid;
      if (setgroups(0, nullptr) != 0 || setresgid(gid, gid, gid) != 0 ||
          setresuid(*options.drop_to_uid, *options.drop_to_uid, *options.drop_to_uid) != 0) {
        _exit(123);
      }
    }
    execv(path.c_str(), argv.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (pid < 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    ADD_FAILURE() << "fork: " << strerror(errno);
    return run;
  }
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&run.out, &run.err};
  int open_streams = 2;
  char buf[65536];
  while (open_streams > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_streams;
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.report = LastJsonLine(run.out);
  return run;
}

}  // namespace skillrt::testing

#endif  // SKILLRT_TESTS_PROBE_RUNNER_H_
