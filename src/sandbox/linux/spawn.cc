#include "sandbox/linux/spawn.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "sandbox/linux/sys.h"
#include "util/fork_exclusion.h"

namespace skillrt::sandbox {
namespace {

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

// A connected AF_UNIX SOCK_SEQPACKET pair (message boundaries keep one descriptor per
// message), O_CLOEXEC and numbered 3 or higher like MakePipe's.
Result<std::pair<UniqueFd, UniqueFd>> MakeSocketPair() {
  int p[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) != 0) {
    return FailErrno(ErrorCode::kIo, "socketpair(AF_UNIX)", errno);
  }
  UniqueFd a(p[0]), b(p[1]);
  for (UniqueFd* fd : {&a, &b}) {
    if (fd->get() < 3) {
      const int moved = ::fcntl(fd->get(), F_DUPFD_CLOEXEC, 3);
      if (moved < 0) return FailErrno(ErrorCode::kIo, "fcntl(F_DUPFD_CLOEXEC)", errno);
      fd->Reset(moved);
    }
  }
  return std::make_pair(std::move(a), std::move(b));
}

// Deep-copies a ChildSpec into an arena; with no arena it only counts the bytes needed.
class Copier {
 public:
  explicit Copier(SharedArena* arena) : arena_(arena) {}

  size_t bytes() const { return bytes_; }
  bool ok() const { return ok_; }

  template <typename T>
  T* Array(const T* src, size_t n) {
    if (src == nullptr || n == 0) return nullptr;
    void* dst = Take(sizeof(T) * n, alignof(T));
    if (dst == nullptr) return nullptr;
    std::memcpy(dst, src, sizeof(T) * n);
    return static_cast<T*>(dst);
  }

  const char* Str(const char* s) {
    if (s == nullptr) return nullptr;
    return Array(s, std::strlen(s) + 1);
  }

  char* const* StrArray(char* const* a) {
    if (a == nullptr) return nullptr;
    size_t n = 0;
    while (a[n] != nullptr) ++n;
    char** out = Array(const_cast<char**>(a), n + 1);
    for (size_t i = 0; i < n; ++i) {
      char* s = const_cast<char*>(Str(a[i]));
      if (out != nullptr) out[i] = s;
    }
    return out;
  }

  const ChildSpec* Spec(const ChildSpec& in) {
    ChildSpec spec = in;
    mount::Source* sources = Array(in.root.sources, in.root.source_count);
    for (size_t i = 0; i < in.root.source_count; ++i) {
      const char* s = Str(in.root.sources[i].path);
      if (sources != nullptr) sources[i].path = s;
    }
    spec.root.sources = sources;
    mount::Op* ops = Array(in.root.ops, in.root.op_count);
    for (size_t i = 0; i < in.root.op_count; ++i) {
      const char* path = Str(in.root.ops[i].path);
      const char* arg = Str(in.root.ops[i].arg);
      if (ops != nullptr) {
        ops[i].path = path;
        ops[i].arg = arg;
      }
    }
    spec.root.ops = ops;
    rlimit::Setting* limits = Array(in.rlimits, in.rlimit_count);
    for (size_t i = 0; i < in.rlimit_count; ++i) {
      const char* name = Str(in.rlimits[i].name);
      if (limits != nullptr) limits[i].name = name;
    }
    spec.rlimits = limits;
    if (in.landlock != nullptr) {
      landlock::RulesetView* view = Array(in.landlock, 1);
      landlock::Rule* rules = Array(in.landlock->rules, in.landlock->rule_count);
      for (size_t i = 0; i < in.landlock->rule_count; ++i) {
        const char* path = Str(in.landlock->rules[i].path);
        if (rules != nullptr) rules[i].path = path;
      }
      if (view != nullptr) view->rules = rules;
      spec.landlock = view;
    }
    spec.seccomp = Array(in.seccomp, in.seccomp_count);
    spec.exec_path = Str(in.exec_path);
    spec.cwd = Str(in.cwd);
    spec.argv = StrArray(in.argv);
    spec.envp = StrArray(in.envp);
    return Array(&spec, 1);
  }

 private:
  void* Take(size_t n, size_t align) {
    bytes_ += n + align;
    if (arena_ == nullptr) return nullptr;
    void* p = arena_->Allocate(n, align);
    if (p == nullptr) ok_ = false;
    return p;
  }

  SharedArena* arena_;
  size_t bytes_ = 0;
  bool ok_ = true;
};

}  // namespace

Result<SharedArena> SharedArena::Create(size_t bytes) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t size = (std::max(bytes, kHeaderBytes) + page - 1) / page * page;
  void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) return FailErrno(ErrorCode::kIo, "mmap(spawn arena)", errno);
  return SharedArena(base, size);
}

SharedArena::SharedArena(SharedArena&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      used_(std::exchange(other.used_, 0)) {}

SharedArena& SharedArena::operator=(SharedArena&& other) noexcept {
  if (this != &other) {
    if (base_ != nullptr) ::munmap(base_, size_);
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
    used_ = std::exchange(other.used_, 0);
  }
  return *this;
}

SharedArena::~SharedArena() {
  if (base_ != nullptr) ::munmap(base_, size_);
}

void* SharedArena::Allocate(size_t n, size_t align) {
  const size_t start = (used_ + align - 1) / align * align;
  if (start + n > size_) return nullptr;
  used_ = start + n;
  return static_cast<char*>(base_) + start;
}

SandboxProcess& SandboxProcess::operator=(SandboxProcess&& other) noexcept {
  if (this != &other) {
    Kill();
    pid = std::exchange(other.pid, 0);
    pidfd = std::move(other.pidfd);
    stdin_w = std::move(other.stdin_w);
    stdout_r = std::move(other.stdout_r);
    stderr_r = std::move(other.stderr_r);
    err_r = std::move(other.err_r);
    sync_w = std::move(other.sync_w);
    net_r = std::move(other.net_r);
    arena = std::move(other.arena);
    cgroup = std::move(other.cgroup);
    cgroup_limits = other.cgroup_limits;
  }
  return *this;
}

SandboxProcess::~SandboxProcess() { Kill(); }

void SandboxProcess::Kill() {
  if (pid <= 0 || !pidfd) {
    pid = 0;
    return;
  }
  sys::PidfdSendSignal(pidfd.get(), SIGKILL);
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  pid = 0;
}

Result<SandboxProcess> Spawn(const SpawnConfig& config) {
  SandboxProcess process;
  auto arena = SharedArena::Create(config.arena_bytes);
  if (!arena) return std::unexpected(arena.error());
  process.arena.emplace(std::move(*arena));

  std::vector<UniqueFd> attach;
  if (config.cgroups != nullptr) {
    auto cg = cgroup::RunCgroup::Create(*config.cgroups, config.cgroup_name, config.cgroup_limits);
    if (!cg) return std::unexpected(cg.error());
    process.cgroup.emplace(std::move(*cg));
    process.cgroup_limits = config.cgroup_limits;
    auto fds = process.cgroup->OpenSelfAttachFds();
    if (!fds) return std::unexpected(fds.error());
    attach = std::move(*fds);
    if (attach.size() > static_cast<size_t>(kMaxCgroupFds)) {
      return Fail(ErrorCode::kSandbox, "too many cgroup hierarchies to join");
    }
  }

  auto in = MakePipe(), out = MakePipe(), err = MakePipe(), sync = MakePipe(), fail = MakePipe();
  for (auto* p : {&in, &out, &err, &sync, &fail}) {
    if (!*p) return std::unexpected(p->error());
  }
  auto net = MakeSocketPair();
  if (!net) return std::unexpected(net.error());
  ChildBoot boot;
  boot.stdin_fd = in->first.get();
  boot.stdout_fd = out->second.get();
  boot.stderr_fd = err->second.get();
  boot.sync_fd = sync->first.get();
  boot.err_fd = fail->second.get();
  boot.net_fd = net->second.get();
  boot.held_waiter_fd = config.held_waiter_fd;
  for (const UniqueFd& fd : attach) boot.cgroup_tasks_fds[boot.cgroup_tasks_count++] = fd.get();
  boot.new_cgroup_ns = process.cgroup.has_value();
  boot.clear_groups = config.ids.privileged;
  boot.cap_last = config.cap_last;
  boot.spec = process.arena->spec_slot();

  int pidfd = -1;
  struct clone_args args = {};
  args.flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
               CLONE_NEWUTS | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  if (process.cgroup && process.cgroup->v2_fd() >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(process.cgroup->v2_fd());
  }
  // The child runs only Contain() before execve: it needs no copy of WebAssembly pools.
  fork_exclusion::ApplyBeforeClone();
  const long pid = sys::Clone3(&args);
  if (pid < 0) return FailErrno(ErrorCode::kSandbox, "clone3(namespaces)", errno);
  if (pid == 0) Contain(boot);  // Never returns.

  process.pid = static_cast<pid_t>(pid);
  process.pidfd.Reset(pidfd);
  process.stdin_w = std::move(in->second);
  process.stdout_r = std::move(out->first);
  process.stderr_r = std::move(err->first);
  process.err_r = std::move(fail->first);
  process.sync_w = std::move(sync->second);
  process.net_r = std::move(net->first);
  // The child's ends (and the cgroup fds it inherited) close with the locals.
  if (auto r = userns::WriteIdMaps(process.pid, config.ids); !r) return std::unexpected(r.error());
  return process;
}

size_t ArenaBytesFor(const ChildSpec& spec) {
  Copier counter(nullptr);
  counter.Spec(spec);
  return counter.bytes();
}

Result<void> Start(SandboxProcess& process, const ChildSpec& spec, int handed_fd) {
  if (!process.arena || ArenaBytesFor(spec) > process.arena->capacity()) {
    return Fail(ErrorCode::kInvalidArgument, "run does not fit the spawn arena");
  }
  Copier copier(&*process.arena);
  const ChildSpec* published = copier.Spec(spec);
  if (!copier.ok() || published == nullptr) {
    return Fail(ErrorCode::kInvalidArgument, "run does not fit the spawn arena");
  }
  *process.arena->spec_slot() = published;
  if (handed_fd >= 0) {
    // Queued on the channel before the release, so the child finds it without waiting.
    char byte = 'T';
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    struct msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), &handed_fd, sizeof(int));
    ssize_t sent;
    do {
      sent = ::sendmsg(process.net_r.get(), &msg, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    if (sent != 1) return FailErrno(ErrorCode::kSandbox, "sendmsg(workspace tree)", errno);
  }
  // The pipe hands the byte, and with it everything written before, to the child.
  if (::write(process.sync_w.get(), "g", 1) != 1) {
    return FailErrno(ErrorCode::kSandbox, "write(sync pipe)", errno);
  }
  // The write end stays open for the whole run: the child takes a hang-up on it as the
  // supervisor's death (contain.cc, ArmParentDeath).
  return {};
}

}  // namespace skillrt::sandbox
