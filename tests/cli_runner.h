// Running the built skillrt CLI (SKILLRT_CLI_PATH) as a subprocess, for end-to-end tests.
#ifndef SKILLRT_TESTS_CLI_RUNNER_H_
#define SKILLRT_TESTS_CLI_RUNNER_H_

#include <fcntl.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "test_util.h"

extern char** environ;

namespace skillrt::testing {

/// What one CLI invocation did.
struct CliResult {
  int exit_code = -1;  ///< -1 if it did not exit normally.
  std::string out;
  std::string err;
};

/// Runs SKILLRT_CLI_PATH with `args` and waits for it. stdin is `stdin_data` (empty: an
/// empty file); stdout and stderr are captured through files in `io_dir`. The environment is
/// the test's without any SKILLRT_ variable, plus SKILLRT_HOME=`home`. The CLI runs in a new
/// session without a controlling terminal, as under a service manager or in CI, so that no
/// approval prompt can reach the terminal the tests were started from. `cwd`, when given, is
/// its working directory. `as_user`, when given, is the uid (and gid) the CLI runs as, without
/// supplementary groups; it needs a root caller.
inline CliResult RunCli(const std::filesystem::path& io_dir, const std::filesystem::path& home,
                        const std::vector<std::string>& args, const std::string& stdin_data = "",
                        const std::filesystem::path& cwd = {},
                        std::optional<uid_t> as_user = std::nullopt) {
  const std::filesystem::path in = io_dir / "stdin", out = io_dir / "stdout",
                              err = io_dir / "stderr";
  WriteFile(in, stdin_data);
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "SKILLRT_", 8) != 0) env.emplace_back(*e);
  }
  env.push_back("SKILLRT_HOME=" + home.string());
  std::vector<std::string> argv = {SKILLRT_CLI_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> argv_ptrs, env_ptrs;
  for (auto& a : argv) argv_ptrs.push_back(a.data());
  argv_ptrs.push_back(nullptr);
  for (auto& e : env) env_ptrs.push_back(e.data());
  env_ptrs.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd_in = ::open(in.c_str(), O_RDONLY);
    const int fd_out = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int fd_err = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd_in < 0 || fd_out < 0 || fd_err < 0) ::_exit(126);
    if (::setsid() < 0) ::_exit(126);
    if (as_user && (::setgroups(0, nullptr) != 0 || ::setresgid(*as_user, *as_user, *as_user) != 0 ||
                    ::setresuid(*as_user, *as_user, *as_user) != 0)) {
      ::_exit(126);
    }
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::dup2(fd_in, 0);
    ::dup2(fd_out, 1);
    ::dup2(fd_err, 2);
    ::execve(argv_ptrs[0], argv_ptrs.data(), env_ptrs.data());
    ::_exit(127);
  }
  CliResult result;
  int status = 0;
  if (pid > 0 && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  }
  result.out = ReadFile(out);
  result.err = ReadFile(err);
  return result;
}

}  // namespace skillrt::testing

#endif  // SKILLRT_TESTS_CLI_RUNNER_H_
