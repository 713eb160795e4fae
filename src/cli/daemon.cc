// `skillrt daemon` and the caller's side of it, for `exec` and `run` (daemon.h, docs/daemon.md).
//
// The wire, over a SOCK_STREAM Unix socket (unix(7)):
//   caller -> daemon  "SKRTEX02", the payload's length (u64), with the caller's stdout and
//                     stderr attached (SCM_RIGHTS), then the payload (EncodeCall)
//   daemon -> caller  'F' + u32 length + reason: not served, run it yourself (only before
//                     the engine was opened); or 'X' + i32: the exit code, the output written
//   caller -> daemon  'C' + u32 length + reason, at any time after the request: cancel
// Integers are little-endian, strings a u32 length and the bytes.
#include "cli/daemon.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "skillrt/peer.h"
#include "skillrt/fd.h"

extern char** environ;

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77  // Linux 6.5 (unix(7)); glibc 2.36 predates it.
#endif

namespace skillrt::cli {
namespace {

constexpr char kMagic[8] = {'S', 'K', 'R', 'T', 'E', 'X', '0', '2'};
// stdin is at most what the payload may carry beside the rest; a larger one runs locally.
constexpr uint64_t kMaxPayloadBytes = 256ull << 20;
constexpr uint32_t kMaxReasonBytes = 4096;
// Calls served at once; past it a caller is told to run its call itself.
constexpr size_t kMaxConnections = 64;
// How long a caller may take to send its request once connected.
constexpr int kRequestTimeoutSeconds = 10;

// How long a serving thread waits for another connection before it ends.
constexpr std::chrono::seconds kIdleThread{30};

// How soon the idle limit is looked at again while a connection is in hand.
constexpr std::chrono::steady_clock::duration kIdleRecheck = std::chrono::milliseconds(100);

// `<home>/run/daemon.lock`: held (flock(2), exclusive) by the daemon serving the home.
std::filesystem::path DaemonLockPath(const std::filesystem::path& home) {
  return home / "run" / "daemon.lock";
}

// The lock file of `home`'s daemon, opened (made if missing, mode 600; not through a link).
Result<UniqueFd> OpenDaemonLock(const std::filesystem::path& home) {
  const std::filesystem::path path = DaemonLockPath(home);
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return FailErrno(ErrorCode::kIo, "open(" + path.string() + ")", errno);
  return fd;
}

// Whether `fd`'s exclusive lock was taken; false when another holds it; an error otherwise.
Result<bool> TryLock(int fd) {
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return false;
    if (errno != EINTR) return FailErrno(ErrorCode::kIo, "flock", errno);
  }
  return true;
}

// Reads exactly `size` bytes; false at end of input or on an error.
bool ReadFull(int fd, void* data, size_t size) {
  auto* at = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = ::read(fd, at, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    at += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Sends all of `data` (MSG_NOSIGNAL: a caller that is gone is an error here, not SIGPIPE).
bool SendFull(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// The payload's encoding: little-endian integers, strings and lists length-prefixed.
class Writer {
 public:
  void U8(uint8_t v) { bytes_.push_back(static_cast<char>(v)); }
  void U32(uint32_t v) {
    for (int i = 0; i < 4; ++i) U8(static_cast<uint8_t>(v >> (8 * i)));
  }
  void U64(uint64_t v) {
    for (int i = 0; i < 8; ++i) U8(static_cast<uint8_t>(v >> (8 * i)));
  }
  void Str(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    bytes_.append(s);
  }
  void List(const std::vector<std::string>& list) {
    U32(static_cast<uint32_t>(list.size()));
    for (const std::string& s : list) Str(s);
  }
  template <typename T, typename F>
  void Opt(const std::optional<T>& v, F put) {
    U8(v ? 1 : 0);
    if (v) put(*v);
  }
  std::string& bytes() { return bytes_; }

 private:
  std::string bytes_;
};

// Reads what Writer wrote; every read checks the bounds, and the first failure sticks.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}
  bool ok() const { return ok_; }
  bool done() const { return ok_ && rest_.empty(); }
  uint8_t U8() {
    if (rest_.empty()) return Bad();
    const auto v = static_cast<uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    return v;
  }
  uint32_t U32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(U8()) << (8 * i);
    return v;
  }
  uint64_t U64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(U8()) << (8 * i);
    return v;
  }
  std::string Str() {
    const uint32_t size = U32();
    if (!ok_ || size > rest_.size()) return Bad(), std::string();
    std::string s(rest_.substr(0, size));
    rest_.remove_prefix(size);
    return s;
  }
  std::vector<std::string> List() {
    const uint32_t count = U32();
    std::vector<std::string> list;
    // Each entry takes at least its 4-byte length: a count beyond that is malformed.
    if (!ok_ || count > rest_.size() / 4) return Bad(), list;
    for (uint32_t i = 0; i < count && ok_; ++i) list.push_back(Str());
    return list;
  }
  bool Flag() {
    const uint8_t v = U8();
    if (v > 1) Bad();
    return v == 1;
  }

 private:
  uint8_t Bad() {
    ok_ = false;
    rest_ = {};
    return 0;
  }
  std::string_view rest_;
  bool ok_ = true;
};

// One exec call as the daemon receives it.
struct Call {
  std::vector<std::string> environment;  // The caller's, as "NAME=VALUE".
  GlobalOptions global;
  ExecCommand command;  // For `run`, its flags only.
  std::optional<std::string> stdin_data;
  std::optional<std::string> run_input;  // Set for `run`: the input's JSON text.
};

std::vector<std::string> PathsToStrings(const std::vector<std::filesystem::path>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) out.push_back(p.string());
  return out;
}

std::string EncodeCall(const Call& call) {
  Writer w;
  w.List(call.environment);
  w.Str(call.global.home.string());
  w.List(PathsToStrings(call.global.skill_roots));
  w.U8(call.global.quiet ? 1 : 0);
  w.Opt(call.global.policy_file, [&](const auto& p) { w.Str(p.string()); });
  const RunFlags& f = call.command.flags;
  w.Str(f.skill);
  w.U8(f.json ? 1 : 0);
  w.Opt(f.timeout_seconds, [&](double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    w.U64(bits);
  });
  w.Opt(f.memory_mb, [&](uint64_t v) { w.U64(v); });
  w.Str(f.sandbox);
  w.List(f.grants.commands);
  w.List(f.grants.read);
  w.List(f.grants.write);
  w.List(f.grants.python);
  w.List(f.grants.limits);
  w.Opt(f.workspace, [&](const std::string& v) { w.Str(v); });
  w.List(call.command.argv);
  w.Opt(call.stdin_data, [&](const std::string& v) { w.Str(v); });
  w.Opt(call.run_input, [&](const std::string& v) { w.Str(v); });
  return std::move(w.bytes());
}

std::optional<Call> DecodeCall(std::string_view bytes) {
  Reader r(bytes);
  Call call;
  call.environment = r.List();
  call.global.home = r.Str();
  for (std::string& root : r.List()) call.global.skill_roots.emplace_back(std::move(root));
  call.global.quiet = r.Flag();
  if (r.Flag()) call.global.policy_file = r.Str();
  RunFlags& f = call.command.flags;
  f.skill = r.Str();
  f.json = r.Flag();
  if (r.Flag()) {
    const uint64_t bits = r.U64();
    double v;
    std::memcpy(&v, &bits, sizeof v);
    f.timeout_seconds = v;
  }
  if (r.Flag()) f.memory_mb = r.U64();
  f.sandbox = r.Str();
  f.grants.commands = r.List();
  f.grants.read = r.List();
  f.grants.write = r.List();
  f.grants.python = r.List();
  f.grants.limits = r.List();
  if (r.Flag()) f.workspace = r.Str();
  call.command.argv = r.List();
  if (r.Flag()) call.stdin_data = r.Str();
  if (r.Flag()) call.run_input = r.Str();
  if (!r.done()) return std::nullopt;
  return call;
}

// The environment as the engine's getenv(3) sees it, sorted, without the two variables a
// shell sets for each process it starts, whatever the user configured: `_`, the path of the
// command, and SHLVL, the shell's depth (bash(1), "Shell Variables"; a shell started by
// another, or one that executes its last command in place, counts differently). Nothing in
// skillrt reads them; a manifest that passes either through `capabilities.env.pass` gets the
// daemon's value (docs/daemon.md).
std::vector<std::string> Environment(char** env) {
  std::vector<std::string> out;
  for (char** e = env; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (entry.substr(0, 2) == "_=" || entry.substr(0, 6) == "SHLVL=") continue;
    out.emplace_back(entry);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The name of the first variable set differently in `theirs` than in `mine` (never a
// value: values may be secrets); nullopt when the two are the same.
std::optional<std::string> EnvironmentDifference(const std::vector<std::string>& theirs,
                                                 const std::vector<std::string>& mine) {
  if (theirs == mine) return std::nullopt;
  auto name = [](const std::string& e) { return e.substr(0, e.find('=')); };
  size_t i = 0;
  while (i < theirs.size() && i < mine.size() && theirs[i] == mine[i]) ++i;
  if (i < theirs.size() && i < mine.size()) {
    return std::min(name(theirs[i]), name(mine[i]));
  }
  return i < theirs.size() ? name(theirs[i]) : name(mine[i]);
}

std::filesystem::path ResolvedHome(const std::filesystem::path& given) {
  std::filesystem::path home = given.empty() ? DefaultHome() : given;
  if (home.empty()) return {};
  std::error_code ec;
  home = std::filesystem::absolute(home, ec);
  return ec ? std::filesystem::path() : home.lexically_normal();
}

// Whether this process has a controlling terminal (tty(4)): approvals are asked there, so a
// call from one stays in its own process.
bool HasControllingTerminal() {
  const int tty = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (tty < 0) return false;
  ::close(tty);
  return true;
}

std::optional<sockaddr_un> SocketAddress(const std::filesystem::path& path) {
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  const std::string text = path.string();
  if (text.size() >= sizeof addr.sun_path) return std::nullopt;
  std::memcpy(addr.sun_path, text.c_str(), text.size() + 1);
  return addr;
}

// A stream socket connected to `addr`; invalid (errno set by socket(2) or connect(2)) when
// none listens there.
UniqueFd ConnectTo(const sockaddr_un& addr) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd && ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    fd.Reset();
    errno = err;
  }
  return fd;
}

// ---------------------------------------------------------------------------------------
// The daemon.

// Cancels the call's run when its caller says so ('C') or goes away (end of input).
class ConnectionCanceller : public RunCanceller {
 public:
  explicit ConnectionCanceller(int connection) : connection_(connection) {}
  ~ConnectionCanceller() override {
    if (!watcher_.joinable()) return;
    const uint64_t one = 1;
    if (::write(stop_.get(), &one, sizeof one) < 0) {
      // The eventfd cannot be full after one write; nothing else can fail here.
    }
    watcher_.join();
  }

  void Watch(RunHandle handle) override {
    run_id_ = handle.run_id();
    watcher_ = std::thread([this, handle = std::move(handle)]() mutable {
      pollfd fds[2] = {{connection_, POLLIN, 0}, {stop_.get(), POLLIN, 0}};
      for (;;) {
        if (::poll(fds, 2, -1) < 0) {
          if (errno == EINTR) continue;
          return;
        }
        if (fds[1].revents != 0) return;
        char kind = 0;
        uint8_t size_bytes[4];
        std::string reason;
        bool ok = ReadFull(connection_, &kind, 1) && kind == 'C' &&
                  ReadFull(connection_, size_bytes, sizeof size_bytes);
        if (ok) {
          const uint32_t size = size_bytes[0] | (size_bytes[1] << 8) | (size_bytes[2] << 16) |
                                (static_cast<uint32_t>(size_bytes[3]) << 24);
          ok = size <= kMaxReasonBytes;
          if (ok) {
            reason.resize(size);
            ok = ReadFull(connection_, reason.data(), size);
          }
        }
        handle.Cancel(ok ? reason : std::string("the caller went away"));
        if (!ok) return;
      }
    });
  }

  const std::string& run_id() const { return run_id_; }

 private:
  int connection_;  // Borrowed from the connection's handler.
  UniqueFd stop_{::eventfd(0, EFD_CLOEXEC)};
  std::thread watcher_;
  std::string run_id_;
};

class Daemon {
 public:
  Daemon(std::filesystem::path home, KeptAcrossCalls kept, peer::Confinement self,
         bool quiet)
      : home_(std::move(home)),
        kept_(std::move(kept)),
        self_(std::move(self)),
        environment_(Environment(environ)),
        quiet_(quiet) {}

  // Hands the connection to an idle serving thread, or starts one for it, or turns the caller
  // away (it runs its call itself) when too many are served or no thread can be started.
  // Serving threads are kept for the next connection (a new thread per call cost its
  // creation, and WebAssembly's per-thread set-up, every call) until idle for kIdleThread.
  void Accept(UniqueFd connection) {
    std::unique_lock lock(mu_);
    if (!stopping_ && waiting_.size() < idle_) {
      ++calls_;
      waiting_.push_back(std::move(connection));
      work_.notify_one();
      return;
    }
    if (!stopping_ && threads_ < kMaxConnections) {
      ++threads_;
      ++calls_;
      // Shared with the thread, so that the connection is still here to answer if it cannot
      // start.
      auto first = std::make_shared<UniqueFd>(std::move(connection));
      try {
        std::thread([this, first] { ServeUntilIdle(std::move(*first)); }).detach();
        return;
      } catch (const std::system_error&) {
        --threads_;
        --calls_;
        connection = std::move(*first);
      }
    }
    const bool stopping = stopping_;
    lock.unlock();
    Reply(connection.get(), 'F', stopping ? "the daemon is stopping" : "the daemon is busy");
  }

  // Tells the caller at the other end of `connection` to run its call itself.
  static void Refuse(UniqueFd connection, std::string_view reason) {
    Reply(connection.get(), 'F', reason);
  }

  // How long until the daemon has been `limit` without a call: zero or less when it has (no
  // connection in hand, and the last call it served ended at least `limit` ago, or it has
  // served none for `limit` since it started); at least kIdleRecheck while a connection is in
  // hand. Calls turned away do not keep it: a daemon whose callers all run another build
  // (docs/daemon.md) ends as if idle.
  std::chrono::steady_clock::duration UntilIdleFor(std::chrono::steady_clock::duration limit) {
    std::lock_guard lock(mu_);
    const auto left = last_call_ + limit - std::chrono::steady_clock::now();
    // A connection in hand may be a call served (which starts the time again when it ends)
    // or one turned away (which does not): look again shortly.
    if (calls_ > 0) return std::max(left, kIdleRecheck);
    return left;
  }

  // Cancels the runs in flight and waits for every serving thread to end.
  void Stop() {
    std::unique_lock lock(mu_);
    stopping_ = true;
    for (auto& [id, handle] : runs_) handle.Cancel("the daemon is stopping");
    work_.notify_all();
    done_.wait(lock, [this] { return threads_ == 0; });
  }

 private:
  static void Reply(int fd, char kind, std::string_view reason) {
    Writer w;
    w.U8(static_cast<uint8_t>(kind));
    w.Str(reason.substr(0, kMaxReasonBytes));
    SendFull(fd, w.bytes());
  }

  void Log(const std::string& line) const {
    if (!quiet_) PrintError("daemon: " + line);
  }

  // A serving thread: `first`, then each connection handed to it, until none comes for
  // kIdleThread or the daemon stops.
  // While it waits, the thread is named "skillrt-idle" (ps -T, /proc/PID/task/*/comm); it
  // serves under the process's name, which threads started during a call inherit.
  void ServeUntilIdle(UniqueFd first) {
    char name[16] = "skillrt";
    ::pthread_getname_np(::pthread_self(), name, sizeof name);
    UniqueFd connection = std::move(first);
    std::unique_lock lock(mu_);
    for (;;) {
      lock.unlock();
      const bool served = Serve(connection.get());
      connection.Reset();
      ::pthread_setname_np(::pthread_self(), "skillrt-idle");
      lock.lock();
      --calls_;
      if (served) last_call_ = std::chrono::steady_clock::now();
      ++idle_;
      work_.wait_for(lock, kIdleThread, [this] { return !waiting_.empty() || stopping_; });
      --idle_;
      ::pthread_setname_np(::pthread_self(), name);
      if (waiting_.empty()) break;  // Idle too long, or stopping with nothing queued.
      connection = std::move(waiting_.front());
      waiting_.pop_front();
    }
    --threads_;
    done_.notify_all();
  }

  // One call, from the request to the reply. Whether the daemon ran it (opened the engine
  // for it); false when it turned it away.
  bool Serve(int fd) {
    const timeval timeout = {kRequestTimeoutSeconds, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);

    if (auto why = WhyNotConfined(fd)) {
      Log("not served: " + *why);
      Reply(fd, 'F', *why);
      return false;
    }

    // The header, and the caller's stdout and stderr beside it.
    char header[16];
    iovec iov = {header, sizeof header};
    alignas(cmsghdr) char control[CMSG_SPACE(3 * sizeof(int))];
    msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t got = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL);
    // A caller that connected early (ConnectToDaemonEarly) and then had no call for the
    // daemon closes the connection unused.
    if (got == 0) return false;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      Log("not served: no request within " + std::to_string(kRequestTimeoutSeconds) + " s");
      Reply(fd, 'F', "no request in time");
      return false;
    }
    std::vector<UniqueFd> passed;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int passed_fd;
        std::memcpy(&passed_fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        passed.emplace_back(passed_fd);
      }
    }
    if (got != static_cast<ssize_t>(sizeof header) || (msg.msg_flags & MSG_CTRUNC) != 0 ||
        passed.size() != 2 || std::memcmp(header, kMagic, sizeof kMagic) != 0) {
      Log("a malformed request: expected the header and two descriptors");
      Reply(fd, 'F', "malformed request: expected the header and two descriptors");
      return false;
    }
    uint64_t size = 0;
    for (int i = 0; i < 8; ++i) size |= static_cast<uint64_t>(static_cast<uint8_t>(header[8 + i])) << (8 * i);
    if (size > kMaxPayloadBytes) {
      Log("a malformed request: a payload of " + std::to_string(size) + " bytes");
      Reply(fd, 'F', "malformed request: payload too large");
      return false;
    }
    std::string payload(size, '\0');
    if (!ReadFull(fd, payload.data(), payload.size())) {
      Log("a request cut short");
      return false;
    }
    auto call = DecodeCall(payload);
    if (!call) {
      Log("a malformed request: the payload does not decode");
      Reply(fd, 'F', "malformed request: the payload does not decode");
      return false;
    }
    if (auto why = WhyNotServed(*call)) {
      Log("not served: " + *why);
      Reply(fd, 'F', *why);
      return false;
    }
    const timeval none = {0, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);

    // From here on the call is the daemon's: it runs it exactly as `skillrt exec` would.
    int exit_code = 0;
    std::string run_id;
    std::unique_ptr<Engine> engine;
    std::optional<ConnectionCanceller> canceller;
    {
      ScopedOutput output(passed[0].get(), passed[1].get());
      engine = OpenEngine(call->global, &exit_code, /*approve_on_tty=*/false, &kept_);
      if (engine) {
        canceller.emplace(fd);
        exit_code = RunTracked(*engine, *call, *canceller);
        run_id = canceller->run_id();
      }
    }
    // The run has ended and its audit record is written (Wait returns after both). The
    // caller's output is complete, and its descriptors closed here, before it hears the exit
    // code; the canceller's watch (which can only find the run ended now) and the engine are
    // closed after, off the caller's time.
    passed.clear();
    Writer w;
    w.U8('X');
    w.U32(static_cast<uint32_t>(exit_code));
    SendFull(fd, w.bytes());
    canceller.reset();
    engine.reset();
    Log(std::string("served ") + (call->run_input ? "run " : "exec ") +
        call->command.flags.skill +
        (run_id.empty() ? std::string() : " (run " + run_id + ")") + ": exit " +
        std::to_string(exit_code));
    return true;
  }

  // Runs the call, keeping its handle where Stop can cancel it.
  int RunTracked(Engine& engine, Call& call, ConnectionCanceller& canceller) {
    struct Tracking : RunCanceller {
      Daemon* daemon;
      ConnectionCanceller* inner;
      std::string id;
      void Watch(RunHandle handle) override {
        {
          std::lock_guard lock(daemon->mu_);
          id = handle.run_id();
          daemon->runs_.emplace(id, handle);
          if (daemon->stopping_) handle.Cancel("the daemon is stopping");
        }
        inner->Watch(std::move(handle));
      }
      ~Tracking() override {
        if (id.empty()) return;
        std::lock_guard lock(daemon->mu_);
        daemon->runs_.erase(id);
      }
    } tracking;
    tracking.daemon = this;
    tracking.inner = &canceller;
    if (call.run_input) {
      // The caller parsed the same text before it sent it; a failure is reported as there.
      auto input = ParseRunInput(*call.run_input, "");
      if (!input) {
        PrintError(input.error().message);
        return ExitCodeFor(input.error());
      }
      return RunOnEngine(engine, call.global, call.command.flags, std::move(*input), tracking);
    }
    return ExecOnEngine(engine, call.global, call.command, std::move(call.stdin_data),
                        tracking);
  }

  // Why the caller at the other end of `fd` is not served, from what the kernel says of it;
  // nullopt when it is confined exactly as the daemon is. Checked before anything it sends
  // is read.
  std::optional<std::string> WhyNotConfined(int fd) const {
    int pidfd = -1;
    socklen_t len = sizeof pidfd;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) != 0) {
      return "the caller's process cannot be identified (SO_PEERPIDFD: " +
             std::string(::strerrordesc_np(errno)) + ")";
    }
    UniqueFd owned(pidfd);
    auto theirs = peer::ReadConfinement(owned.get());
    if (!theirs) return "the caller's confinement cannot be read: " + theirs.error().message;
    if (auto difference = peer::Difference(*theirs, self_)) {
      return "the caller is confined otherwise (" + *difference + ")";
    }
    return std::nullopt;
  }

  // Why `call` is not served: made in another environment or for another home; nullopt when
  // it is.
  std::optional<std::string> WhyNotServed(const Call& call) const {
    std::vector<std::string> env = call.environment;
    std::sort(env.begin(), env.end());
    if (auto name = EnvironmentDifference(env, environment_)) {
      return "the caller's environment differs in " + *name;
    }
    if (ResolvedHome(call.global.home) != home_) return "the caller's home is another";
    return std::nullopt;
  }

  const std::filesystem::path home_;
  KeptAcrossCalls kept_;
  const peer::Confinement self_;
  const std::vector<std::string> environment_;
  const bool quiet_;

  std::mutex mu_;
  std::condition_variable done_;  // A serving thread ended.
  std::condition_variable work_;  // A connection was queued for an idle thread, or stopping.
  size_t threads_ = 0;            // Serving threads alive.
  size_t idle_ = 0;               // Of which waiting for a connection.
  size_t calls_ = 0;              // Connections accepted and not yet answered.
  std::chrono::steady_clock::time_point last_call_ = std::chrono::steady_clock::now();
  std::deque<UniqueFd> waiting_;  // Connections handed to idle threads, not yet taken.
  bool stopping_ = false;
  std::map<std::string, RunHandle> runs_;
};

// `<home>/run`, made if missing; an error unless it is a directory (not a link) of this user
// that only this user may enter.
Result<void> CheckRunDirectory(const std::filesystem::path& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return FailErrno(ErrorCode::kIo, "mkdir(" + dir.string() + ")", errno);
  }
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) {
    return FailErrno(ErrorCode::kIo, "lstat(" + dir.string() + ")", errno);
  }
  if (!S_ISDIR(st.st_mode)) return Fail(ErrorCode::kIo, dir.string() + " is not a directory");
  if (st.st_uid != ::geteuid() || (st.st_mode & 077) != 0) {
    return Fail(ErrorCode::kIo, dir.string() + " must belong to this user and be closed to "
                                               "others (mode 700)");
  }
  return {};
}

// A listening socket at `path`. A socket left there by a daemon that is gone is replaced;
// a live one is kConflict.
Result<UniqueFd> Listen(const std::filesystem::path& path) {
  auto addr = SocketAddress(path);
  if (!addr) return Fail(ErrorCode::kIo, path.string() + ": longer than a socket's path may be");
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return Fail(ErrorCode::kIo, path.string() + " is not a socket");
    if (ConnectTo(*addr)) {
      return Fail(ErrorCode::kConflict, "a daemon already serves this home (" +
                                            path.string() + ")");
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return FailErrno(ErrorCode::kIo, "unlink(" + path.string() + ")", errno);
    }
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return FailErrno(ErrorCode::kIo, "socket(AF_UNIX)", errno);
  const mode_t old = ::umask(077);
  const int bound = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr);
  const int bind_errno = errno;
  ::umask(old);
  if (bound != 0) return FailErrno(ErrorCode::kIo, "bind(" + path.string() + ")", bind_errno);
  if (::listen(fd.get(), 64) != 0) return FailErrno(ErrorCode::kIo, "listen", errno);
  return fd;
}

}  // namespace

std::filesystem::path DaemonSocketPath(const std::filesystem::path& home) {
  return home / "run" / "daemon.sock";
}

int DaemonCommand(const GlobalOptions& global, const DaemonFlags& flags) {
  const std::filesystem::path home = ResolvedHome(global.home);
  if (home.empty()) {
    PrintError("daemon: no state directory: set SKILLRT_HOME or HOME, or give --home");
    return kExitUsage;
  }
  // The engine makes the home as it opens; the daemon needs it (and its run directory) first.
  {
    int exit_code = 0;
    if (!OpenEngine(global, &exit_code)) return exit_code;
  }
  if (auto ok = CheckRunDirectory(home / "run"); !ok) {
    PrintError("daemon: " + ok.error().message);
    return kExitInternal;
  }
  // One daemon per home, for as long as it lives (the lock goes with the process).
  auto lock = OpenDaemonLock(home);
  if (!lock) {
    PrintError("daemon: " + lock.error().message);
    return kExitInternal;
  }
  auto locked = TryLock(lock->get());
  if (!locked || !*locked) {
    PrintError("daemon: " + (locked ? "a daemon already serves this home (" +
                                          DaemonLockPath(home).string() + " is held)"
                                    : locked.error().message));
    return locked ? kExitUsage : kExitInternal;
  }
  if (!flags.log.empty()) {
    UniqueFd log(::open(flags.log.c_str(),
                        O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_APPEND, 0600));
    if (!log || ::dup2(log.get(), STDOUT_FILENO) < 0 || ::dup2(log.get(), STDERR_FILENO) < 0) {
      PrintError(Error::FromErrno(ErrorCode::kIo, "daemon: --log " + flags.log.string(), errno)
                     .message);
      return kExitInternal;
    }
  }
  // Signals end the daemon through the signalfd below, in every thread it starts; SIGPIPE
  // from a caller's closed stdout is an error of that write alone. (Sandboxes and container
  // engines start with default dispositions and no blocked signal.)
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  UniqueFd signals(::signalfd(-1, &stop_signals, SFD_CLOEXEC));
  if (!signals) {
    PrintError(Error::FromErrno(ErrorCode::kIo, "signalfd", errno).message);
    return kExitInternal;
  }

  UniqueFd self_pidfd(static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0)));
  if (!self_pidfd) {
    PrintError(Error::FromErrno(ErrorCode::kIo, "pidfd_open(self)", errno).message);
    return kExitInternal;
  }
  auto self = peer::ReadConfinement(self_pidfd.get());
  if (!self) {
    PrintError("daemon: " + self.error().message);
    return kExitInternal;
  }

  NativeRuntimeOptions native;
  native.prepared_sandboxes = flags.prepared_sandboxes;
  // The next sandbox after the engine has written the call's record and the caller has its
  // exit code (about a millisecond on an idle host); a caller that calls again sooner gets
  // a sandbox made for its call.
  native.prepare_delay = std::chrono::milliseconds(3);
  native.filter_cache_dir = home / "cache" / "seccomp";
  WasmRuntimeOptions wasm;
  wasm.cache_dir = home / "cache" / "wasm";
  ContainerRuntimeOptions container;
  container.probe_cache_dir = home / "cache" / "container";
  KeptAcrossCalls kept{
      .native = MakeLazyRuntime("native", [native] { return MakeNativeRuntime(native); }),
      .wasm = MakeLazyRuntime("wasm", [wasm] { return MakeWasmRuntime(wasm); }),
      .container =
          MakeLazyRuntime("container", [container] { return MakeContainerRuntime(container); }),
      // Each call's roots come from its flags (the environment and working directory are the
      // daemon's, or the call is not served): calls with the same `--skills` share a catalogue.
      .registries = std::make_shared<KeptRegistries>(),
  };

  const std::filesystem::path socket_path = DaemonSocketPath(home);
  auto listener = Listen(socket_path);
  if (!listener) {
    PrintError("daemon: " + listener.error().message);
    return listener.error().code == ErrorCode::kConflict ? kExitUsage : kExitInternal;
  }
  Daemon daemon(home, std::move(kept), std::move(*self), global.quiet);
  PrintError("daemon: serving " + home.string() + " on " + socket_path.string() + " (pid " +
             std::to_string(::getpid()) + ")");

  pollfd fds[2] = {{listener->get(), POLLIN, 0}, {signals.get(), POLLIN, 0}};
  int stopped_by = 0;
  bool idle_stop = false;
  const std::chrono::seconds idle_limit(flags.idle_exit_seconds);
  while (stopped_by == 0) {
    int timeout_ms = -1;
    if (flags.idle_exit_seconds > 0) {
      const auto left = daemon.UntilIdleFor(idle_limit);
      if (left <= std::chrono::steady_clock::duration::zero()) {
        idle_stop = true;
        break;
      }
      timeout_ms = static_cast<int>(
          std::chrono::ceil<std::chrono::milliseconds>(left).count());
    }
    const int ready = ::poll(fds, 2, timeout_ms);
    if (ready == 0) continue;
    if (ready < 0) {
      if (errno == EINTR) continue;
      PrintError(Error::FromErrno(ErrorCode::kIo, "daemon: poll", errno).message);
      break;
    }
    if (fds[1].revents != 0) {
      signalfd_siginfo info;
      if (ReadFull(signals.get(), &info, sizeof info)) stopped_by = static_cast<int>(info.ssi_signo);
      continue;
    }
    UniqueFd connection(::accept4(listener->get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (connection) daemon.Accept(std::move(connection));
  }
  // Callers that connect from here on are refused (connect(2) fails once the listener is shut
  // down for reading: ECONNREFUSED, unix(7)) and run their calls themselves; those already
  // queued, which the daemon will not serve, are told so, to do the same.
  ::unlink(socket_path.c_str());
  ::shutdown(listener->get(), SHUT_RD);
  if (::fcntl(listener->get(), F_SETFL, O_NONBLOCK) == 0) {
    for (;;) {
      UniqueFd queued(::accept4(listener->get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!queued) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        break;
      }
      Daemon::Refuse(std::move(queued), "the daemon is stopping");
    }
  }
  listener->Reset();
  daemon.Stop();
  PrintError("daemon: stopped" +
             (stopped_by != 0 ? " by SIG" + std::string(::sigabbrev_np(stopped_by))
              : idle_stop     ? " after " + std::to_string(flags.idle_exit_seconds) +
                                    " s without a call"
                              : ""));
  return stopped_by != 0 || idle_stop ? kExitOk : kExitInternal;
}

namespace {

// ConnectToDaemonEarly's connection, for the home it was made to.
struct EarlyConnection {
  UniqueFd fd;
  std::filesystem::path home;
};
EarlyConnection& Early() {
  static EarlyConnection early;
  return early;
}

// What SKILLRT_DAEMON asks of a call (daemon.h).
enum class DaemonUse { kIfServing, kOff, kAuto };

Result<DaemonUse> DaemonUseFromEnvironment() {
  const char* value = std::getenv("SKILLRT_DAEMON");
  const std::string_view text = value != nullptr ? value : "";
  if (text.empty()) return DaemonUse::kIfServing;
  if (text == "off") return DaemonUse::kOff;
  if (text == "auto") return DaemonUse::kAuto;
  return Fail(ErrorCode::kInvalidArgument,
              "SKILLRT_DAEMON: expected \"auto\" or \"off\" (or unset), not \"" +
                  std::string(text.substr(0, 64)) + "\"");
}

// ExecThroughDaemon and RunThroughDaemon: `call` without its environment, which is added here.
std::optional<int> CallThroughDaemon(Call call) {
  auto use = DaemonUseFromEnvironment();
  if (!use) {
    PrintError(use.error().message);
    return kExitUsage;
  }
  if (*use == DaemonUse::kOff || HasControllingTerminal()) return std::nullopt;
  const std::filesystem::path home = ResolvedHome(call.global.home);
  if (home.empty()) return std::nullopt;
  auto addr = SocketAddress(DaemonSocketPath(home));
  if (!addr) return std::nullopt;
  // The request is ready before the connection is made, so that the daemon, which checks the
  // caller as soon as it connects, then finds all of it there to read.
  call.environment = Environment(environ);
  std::string payload = EncodeCall(call);
  if (payload.size() > kMaxPayloadBytes) return std::nullopt;

  // SIGINT and SIGTERM from here on cancel the daemon's run; until the daemon answers, they
  // stay pending, and are delivered as usual if the call comes back to run here.
  sigset_t cancel_signals, previous;
  sigemptyset(&cancel_signals);
  sigaddset(&cancel_signals, SIGINT);
  sigaddset(&cancel_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &cancel_signals, &previous);
  struct Restore {
    sigset_t* mask;
    ~Restore() { pthread_sigmask(SIG_SETMASK, mask, nullptr); }
  } restore{&previous};
  UniqueFd signals(::signalfd(-1, &cancel_signals, SFD_CLOEXEC));
  if (!signals) return std::nullopt;
  UniqueFd fd = Early().fd && Early().home == home ? std::move(Early().fd) : ConnectTo(*addr);
  if (!fd) {
    // No daemon (no socket, or one left by a daemon that is gone).
    if (*use == DaemonUse::kAuto && (errno == ENOENT || errno == ECONNREFUSED)) {
      if (auto started = StartDaemonOnDemand(home); !started) {
        PrintError("SKILLRT_DAEMON=auto: no daemon started: " + started.error().message);
      }
    }
    return std::nullopt;
  }

  char header[16];
  std::memcpy(header, kMagic, sizeof kMagic);
  for (int i = 0; i < 8; ++i) {
    header[8 + i] = static_cast<char>(static_cast<uint64_t>(payload.size()) >> (8 * i));
  }
  // The header and as much of the payload as one message takes: one wake-up of the daemon.
  iovec iov[2] = {{header, sizeof header}, {payload.data(), payload.size()}};
  const int stdio[2] = {STDOUT_FILENO, STDERR_FILENO};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof stdio)] = {};
  msghdr msg = {};
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof stdio);
  std::memcpy(CMSG_DATA(c), stdio, sizeof stdio);
  // Nothing runs before the daemon has the whole request: a failure to send it leaves the
  // call to this process.
  const ssize_t sent = ::sendmsg(fd.get(), &msg, MSG_NOSIGNAL);
  if (sent < static_cast<ssize_t>(sizeof header) ||
      !SendFull(fd.get(), std::string_view(payload).substr(sent - sizeof header))) {
    return std::nullopt;
  }

  pollfd fds[2] = {{fd.get(), POLLIN, 0}, {signals.get(), POLLIN, 0}};
  int first_signal = 0;
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents != 0) {
      signalfd_siginfo info;
      if (!ReadFull(signals.get(), &info, sizeof info)) continue;
      if (first_signal == 0) first_signal = static_cast<int>(info.ssi_signo);
      Writer w;
      w.U8('C');
      w.Str(std::string("interrupted by SIG") + ::sigabbrev_np(static_cast<int>(info.ssi_signo)));
      SendFull(fd.get(), w.bytes());
      continue;
    }
    char kind = 0;
    uint8_t value[4];
    if (!ReadFull(fd.get(), &kind, 1) || !ReadFull(fd.get(), value, sizeof value)) break;
    const uint32_t word = value[0] | (value[1] << 8) | (value[2] << 16) |
                          (static_cast<uint32_t>(value[3]) << 24);
    if (kind == 'X') return static_cast<int>(word);
    if (kind == 'F') {
      // Not served (the reason is in the daemon's log): the call runs here, and a signal
      // taken meanwhile is delivered as it would have been, once the mask is restored.
      if (first_signal != 0) ::raise(first_signal);
      return std::nullopt;
    }
    break;
  }
  PrintError("the daemon ended before the call did (see its log); the call is not run again");
  return kExitInternal;
}

}  // namespace

Result<void> StartDaemonOnDemand(const std::filesystem::path& home) {
  std::error_code ec;
  if (!std::filesystem::is_directory(home, ec)) return {};
  if (auto ok = CheckRunDirectory(home / "run"); !ok) return ok;
  {
    // A daemon that holds the lock serves, or is about to: no second one. (Two callers that
    // both find it free start two; the second is refused by the lock and exits.)
    auto lock = OpenDaemonLock(home);
    if (!lock) return std::unexpected(lock.error());
    auto free = TryLock(lock->get());
    if (!free) return std::unexpected(free.error());
    if (!*free) return {};
  }  // Closing the descriptor releases the lock for the daemon to take.
  char exe[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return FailErrno(ErrorCode::kIo, "readlink(/proc/self/exe)", errno);
  exe[n] = '\0';
  const std::string home_text = home.string();
  const std::string idle = std::to_string(kOnDemandIdleExitSeconds);
  const std::string log = (home / "run" / "daemon.log").string();
  const char* argv[] = {exe,        "--home",      home_text.c_str(), "daemon",
                        "--idle-exit", idle.c_str(), "--log",          log.c_str(),
                        nullptr};

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  struct Destroy {
    posix_spawn_file_actions_t* actions;
    posix_spawnattr_t* attr;
    ~Destroy() {
      posix_spawn_file_actions_destroy(actions);
      posix_spawnattr_destroy(attr);
    }
  } destroy{&actions, &attr};
  // Nothing of the caller's stays open in the daemon: a caller's caller waiting for the end
  // of its pipes would otherwise wait for the daemon.
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  // A session of its own (no terminal's signals), no signal blocked or ignored.
  sigset_t none, defaults;
  sigemptyset(&none);
  sigfillset(&defaults);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
  pid_t pid;
  const int rc = ::posix_spawn(&pid, exe, &actions, &attr, const_cast<char* const*>(argv),
                               environ);
  if (rc != 0) return FailErrno(ErrorCode::kIo, std::string("posix_spawn(") + exe + ")", rc);
  return {};
}

void ConnectToDaemonEarly(int argc, char** argv) {
  // The command is the first word that is neither an option nor the value of a global option
  // that takes one (main.cc: --skills, --policy; --home, which names another home, ends the
  // search). A global option added with a value and not named here only costs this early
  // connection: its value would be taken for the command.
  std::string_view command;
  for (int i = 1; i < argc && command.empty(); ++i) {
    const std::string_view word = argv[i];
    if (word.starts_with("--home")) return;
    if (word == "--skills" || word == "--policy") {
      ++i;
    } else if (!word.starts_with("-")) {
      command = word;
    }
  }
  if (command != "exec" && command != "run") return;
  auto use = DaemonUseFromEnvironment();
  if (!use || *use == DaemonUse::kOff || HasControllingTerminal()) return;
  const std::filesystem::path home = ResolvedHome({});
  if (home.empty()) return;
  auto addr = SocketAddress(DaemonSocketPath(home));
  if (!addr) return;
  if (UniqueFd fd = ConnectTo(*addr)) Early() = {std::move(fd), home};
}

std::optional<int> ExecThroughDaemon(const GlobalOptions& global, const ExecCommand& command,
                                     const std::optional<std::string>& stdin_data) {
  Call call;
  call.global = global;
  call.command = command;
  call.stdin_data = stdin_data;
  return CallThroughDaemon(std::move(call));
}

std::optional<int> RunThroughDaemon(const GlobalOptions& global, const RunFlags& flags,
                                    const std::string& input_text) {
  Call call;
  call.global = global;
  call.command.flags = flags;
  call.run_input = input_text;
  return CallThroughDaemon(std::move(call));
}

}  // namespace skillrt::cli
