// Compiling WebAssembly in a child process (compile_child.h).
#include "wasm/compile_child.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "skillrt/fd.h"
#include "wasm/wasmtime_util.h"

namespace skillrt::wasm {
namespace {

// The first byte of the child's answer; the rest is the serialized code or the error text.
constexpr char kAnswerCompiled = 'C';
constexpr char kAnswerInvalid = 'E';
// Exit statuses of a child that could not start compiling.
constexpr int kExitSetup = 120;
// How often the parent reads the child's memory use.
constexpr std::chrono::milliseconds kWatchEvery{5};
// The child's own limit on its data segment (RLIMIT_DATA, virtual: reserved memory counts
// before it is touched) lies at this many times the budget and 256 MiB more, as a backstop
// far above what the watch of its resident memory lets it reach. An allocation failing there
// makes Rust panic, and a panic in a forked process may wait forever on a lock (the backtrace
// lock, held by the failing panic itself); the deadline then ends it.
constexpr uint64_t kBackstopFactor = 4;
constexpr uint64_t kBackstopExtraBytes = 256ull << 20;

bool WriteAll(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// A field of /proc/<pid>/status given in kB ("VmData", "RssAnon"), in bytes; 0 if it cannot
// be read. Allocates nothing.
uint64_t StatusBytes(pid_t pid, const char* field) {
  char path[64];
  ::snprintf(path, sizeof path, "/proc/%d/status", static_cast<int>(pid));
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buffer[8192];
  size_t used = 0;
  ssize_t n;
  while (used < sizeof buffer - 1 &&
         (n = ::read(fd, buffer + used, sizeof buffer - 1 - used)) > 0) {
    used += static_cast<size_t>(n);
  }
  ::close(fd);
  buffer[used] = '\0';
  char key[32];
  const int key_length = ::snprintf(key, sizeof key, "\n%s:", field);
  const char* line = ::strstr(buffer, key);
  return line == nullptr ? 0 : std::strtoull(line + key_length, nullptr, 10) * 1024;
}

// The child's whole life: bound its data segment, compile, answer, exit.
[[noreturn]] void CompileAndAnswer(const CompileRequest& request, int answer_fd, pid_t parent) {
  // Killed if the thread that started it goes away (prctl(2)); it may already have.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(kExitSetup);
  const uint64_t base = StatusBytes(::getpid(), "VmData");
  if (base == 0) ::_exit(kExitSetup);
  const uint64_t backstop =
      base + request.memory_budget_bytes * kBackstopFactor + kBackstopExtraBytes;
  const struct rlimit limit = {.rlim_cur = backstop, .rlim_max = backstop};
  if (::setrlimit(RLIMIT_DATA, &limit) != 0) ::_exit(kExitSetup);
  // A panic's backtrace allocates: none (the child is alone; the environment is its own).
  ::setenv("RUST_BACKTRACE", "0", 1);

  wasm_engine_t* engine = wasm_engine_new_with_config(request.make_config());
  if (engine == nullptr) ::_exit(kExitSetup);
  const std::vector<uint8_t>& bytes = *request.bytes;
  wasm_byte_vec_t serialized = {};
  wasmtime_error_t* error = nullptr;
  if (request.component) {
    wasmtime_component_t* component = nullptr;
    error = wasmtime_component_new(engine, bytes.data(), bytes.size(), &component);
    if (error == nullptr) error = wasmtime_component_serialize(component, &serialized);
  } else {
    wasmtime_module_t* module = nullptr;
    error = wasmtime_module_new(engine, bytes.data(), bytes.size(), &module);
    if (error == nullptr) error = wasmtime_module_serialize(module, &serialized);
  }
  if (error != nullptr) {
    const std::string message = ErrorMessage(error);
    const bool ok = WriteAll(answer_fd, &kAnswerInvalid, 1) &&
                    WriteAll(answer_fd, message.data(), message.size());
    ::_exit(ok ? 0 : kExitSetup);
  }
  const bool ok = WriteAll(answer_fd, &kAnswerCompiled, 1) &&
                  WriteAll(answer_fd, serialized.data, serialized.size);
  // Nothing is freed: the process ends here, without running anything of the parent's.
  ::_exit(ok ? 0 : kExitSetup);
}

// Waits for `pid` to end and returns its status; -1 if it cannot be waited for.
int Reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

}  // namespace

Result<CompileOutput> CompileInChild(const CompileRequest& request) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return FailErrno(ErrorCode::kIo, "pipe2 (compile)", errno);
  UniqueFd answer(fds[0]);
  UniqueFd answer_write(fds[1]);
  const pid_t parent = ::getpid();
  // The child starts as a copy of this process: what it adds to its anonymous resident memory
  // (pages it allocates and touches; pages shared with this process count from the start) is
  // measured from here.
  const uint64_t base = StatusBytes(parent, "RssAnon");
  if (base == 0) return Fail(ErrorCode::kIo, "compile: /proc/self/status has no RssAnon");
  const pid_t pid = ::fork();
  if (pid < 0) return FailErrno(ErrorCode::kIo, "fork (compile)", errno);
  if (pid == 0) {
    ::close(fds[0]);
    CompileAndAnswer(request, fds[1], parent);
  }
  answer_write.Reset();

  CompileOutput output;
  std::string text;  // The answer as read so far.
  char chunk[64 << 10];
  for (;;) {
    // The watch: past its budget the child is ended, before the allocation that would fail.
    const uint64_t used = StatusBytes(pid, "RssAnon");
    if (used > base && used - base > request.memory_budget_bytes) {
      ::kill(pid, SIGKILL);
      Reap(pid);
      output.end = CompileEnd::kOutOfMemory;
      output.message =
          "the compiler went past " + std::to_string(request.memory_budget_bytes >> 20) + " MiB";
      return output;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        request.give_up - std::chrono::steady_clock::now());
    struct pollfd poll_fd = {.fd = answer.get(), .events = POLLIN, .revents = 0};
    const int ready =
        left.count() <= 0
            ? 0
            : ::poll(&poll_fd, 1,
                     static_cast<int>(std::min<int64_t>(left.count() + 1, kWatchEvery.count())));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) {
      const int err = errno;
      ::kill(pid, SIGKILL);
      Reap(pid);
      return FailErrno(ErrorCode::kIo, "poll (compile)", err);
    }
    if (ready == 0) {
      if (std::chrono::steady_clock::now() < request.give_up) continue;
      ::kill(pid, SIGKILL);
      Reap(pid);
      output.end = CompileEnd::kTimedOut;
      return output;
    }
    const ssize_t n = ::read(answer.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::kill(pid, SIGKILL);
      Reap(pid);
      return FailErrno(ErrorCode::kIo, "read (compile)", err);
    }
    if (n == 0) break;
    text.append(chunk, static_cast<size_t>(n));
    if (text.size() > request.max_output_bytes + 1) {
      ::kill(pid, SIGKILL);
      Reap(pid);
      output.end = CompileEnd::kInvalid;
      output.message =
          "the compiled code is larger than " + std::to_string(request.max_output_bytes) + " bytes";
      return output;
    }
  }
  const int status = Reap(pid);
  if (status < 0) return FailErrno(ErrorCode::kIo, "waitpid (compile)", errno);
  if (WIFSIGNALED(status)) {
    output.end = CompileEnd::kOutOfMemory;
    const char* name = ::sigabbrev_np(WTERMSIG(status));
    output.message = std::string("the compiler ended by SIG") + (name != nullptr ? name : "?");
    return output;
  }
  if (WEXITSTATUS(status) != 0 || text.empty()) {
    return Fail(ErrorCode::kIo, "compile: the child process could not compile (exit status " +
                                    std::to_string(WEXITSTATUS(status)) + ")");
  }
  if (text[0] == kAnswerInvalid) {
    output.end = CompileEnd::kInvalid;
    output.message = text.substr(1);
    return output;
  }
  output.end = CompileEnd::kCompiled;
  output.serialized.assign(text.begin() + 1, text.end());
  return output;
}

}  // namespace skillrt::wasm
