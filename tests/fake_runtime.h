// A runtime that runs nothing: it plays a scripted behaviour against the plan it is given,
// reporting to the run's observer and honouring its cancellation token as a real runtime
// must (include/skillrt/runtime.h). Lets the engine's tests (events, policy, approvals,
// cancellation, concurrency) run on any host, sandbox or not.
#ifndef SKILLRT_TESTS_FAKE_RUNTIME_H_
#define SKILLRT_TESTS_FAKE_RUNTIME_H_

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <tuple>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "skillrt/runtime.h"

namespace skillrt::testing {

class FakeRuntime : public Runtime {
 public:
  using Behaviour = std::function<Result<Outcome>(const Plan&, const RunContext&)>;

  explicit FakeRuntime(Behaviour behaviour) : behaviour_(std::move(behaviour)) {}

  std::string_view Name() const override { return "native"; }

  Result<Outcome> Execute(const Plan& plan, const RunContext& context) override {
    {
      std::lock_guard lock(mu_);
      plans_.push_back(plan);
    }
    calls_.fetch_add(1);
    if (context.cancel != nullptr && context.cancel->cancelled()) {
      return CancelledBeforeStart(plan, *context.cancel);
    }
    return behaviour_(plan, context);
  }

  /// Starts, writes `stdout_text` in pieces of `chunk` bytes, and exits with `exit_code`.
  static Behaviour Prints(std::string stdout_text, int exit_code = 0, size_t chunk = 7) {
    return [=](const Plan& plan, const RunContext& context) -> Result<Outcome> {
      Outcome outcome = Started(plan, context);
      for (size_t at = 0; at < stdout_text.size(); at += chunk) {
        std::string piece = stdout_text.substr(at, chunk);
        outcome.stdout_stream.data += piece;
        outcome.stdout_stream.total_bytes += piece.size();
        if (context.observer != nullptr) context.observer->OnOutput(OutputStream::kStdout, piece);
      }
      outcome.exit_code = exit_code;
      outcome.status = exit_code == 0 ? Status::kOk : Status::kError;
      if (exit_code != 0) outcome.message = "exited with status " + std::to_string(exit_code);
      return outcome;
    };
  }

  /// Starts, writes "tick\n" every `every` until cancelled (kCancelled, the token's reason)
  /// or until the plan's wall-clock limit (kTimeout).
  static Behaviour Ticks(std::chrono::milliseconds every = std::chrono::milliseconds(5)) {
    return [=](const Plan& plan, const RunContext& context) -> Result<Outcome> {
      Outcome outcome = Started(plan, context);
      const auto deadline = std::chrono::steady_clock::now() + plan.limits.wall_time;
      while (std::chrono::steady_clock::now() < deadline) {
        if (context.cancel != nullptr && context.cancel->cancelled()) {
          outcome.status = Status::kCancelled;
          outcome.message = context.cancel->reason();
          return outcome;
        }
        outcome.stdout_stream.data += "tick\n";
        outcome.stdout_stream.total_bytes += 5;
        if (context.observer != nullptr) context.observer->OnOutput(OutputStream::kStdout, "tick\n");
        std::this_thread::sleep_for(every);
      }
      outcome.status = Status::kTimeout;
      outcome.limits_hit = {"wall_time"};
      return outcome;
    };
  }

  /// Runs the plan's argv as a plain host process, with no isolation at all: the plan's
  /// environment, the skill directory as the working directory, the plan's stdin. For tests of
  /// what the engine does around a run (output parsing, audit, secrets), not of the sandbox.
  static Behaviour RunsOnHost() {
    return [](const Plan& plan, const RunContext& context) -> Result<Outcome> {
      Outcome outcome = Started(plan, context);
      int in[2], out[2], err[2];
      if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 ||
          ::pipe2(err, O_CLOEXEC) != 0) {
        return FailErrno(ErrorCode::kIo, "pipe2", errno);
      }
      std::vector<char*> argv, envp;
      for (const std::string& a : plan.argv) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      for (const std::string& e : plan.env) envp.push_back(const_cast<char*>(e.c_str()));
      envp.push_back(nullptr);
      const pid_t pid = ::fork();
      if (pid == 0) {
        ::dup2(in[0], 0);
        ::dup2(out[1], 1);
        ::dup2(err[1], 2);
        if (::chdir(plan.skill_dir.c_str()) != 0) ::_exit(126);
        ::execvpe(argv[0], argv.data(), envp.data());
        ::_exit(127);
      }
      ::close(in[0]);
      ::close(out[1]);
      ::close(err[1]);
      (void)!::write(in[1], plan.stdin_data.data(), plan.stdin_data.size());
      ::close(in[1]);
      for (auto [fd, stream, which] : {std::tuple{out[0], &outcome.stdout_stream, OutputStream::kStdout},
                                       std::tuple{err[0], &outcome.stderr_stream, OutputStream::kStderr}}) {
        char buf[4096];
        ssize_t n;
        while ((n = ::read(fd, buf, sizeof buf)) > 0) {
          stream->data.append(buf, static_cast<size_t>(n));
          stream->total_bytes += static_cast<uint64_t>(n);
          if (context.observer != nullptr) {
            context.observer->OnOutput(which, std::string_view(buf, static_cast<size_t>(n)));
          }
        }
        ::close(fd);
      }
      int status = 0;
      ::waitpid(pid, &status, 0);
      outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
      outcome.status = outcome.exit_code == 0 ? Status::kOk : Status::kError;
      return outcome;
    };
  }

  int calls() const { return calls_.load(); }
  std::vector<Plan> plans() const {
    std::lock_guard lock(mu_);
    return plans_;
  }

 private:
  static Outcome Started(const Plan& plan, const RunContext& context) {
    Outcome outcome;
    outcome.run_id = plan.run_id;
    outcome.layers = {"fake"};
    if (context.observer != nullptr) context.observer->OnStarted(outcome.layers);
    return outcome;
  }

  Behaviour behaviour_;
  std::atomic<int> calls_{0};
  mutable std::mutex mu_;
  std::vector<Plan> plans_;
};

}  // namespace skillrt::testing

#endif  // SKILLRT_TESTS_FAKE_RUNTIME_H_
