#include "sandbox/linux/seccomp.h"

#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>

#include "sandbox/linux/child.h"
#include "sandbox/linux/seccomp_cache.h"
#include "skillrt/fd.h"

namespace skillrt::seccomp {
namespace {

struct Denial {
  const char* name;
  const char* reason;
};

// Refused with EPERM whatever the arguments. Each entry says why a skill must not have it.
constexpr Denial kDenied[] = {
    // Inspecting or controlling other processes' memory and execution.
    {"ptrace", "debugs and controls other processes"},
    {"process_vm_readv", "reads another process's memory"},
    {"process_vm_writev", "writes another process's memory"},
    {"pidfd_getfd", "steals file descriptors from another process"},
    {"kcmp", "probes other processes' kernel objects"},
    // Changing the filesystem view: the root built for the skill is final.
    {"mount", "changes the filesystem view"},
    {"umount2", "uncovers what a mount hides"},
    {"pivot_root", "changes the root"},
    {"chroot", "changes the root"},
    {"move_mount", "new mount API"},
    {"open_tree", "new mount API: clones mount trees"},
    {"fsopen", "new mount API"},
    {"fsconfig", "new mount API"},
    {"fsmount", "new mount API"},
    {"fspick", "new mount API"},
    {"mount_setattr", "could clear read-only or nosuid"},
    // New namespaces give back capabilities (in a nested user namespace) and reach kernel
    // code that unprivileged processes otherwise cannot.
    {"unshare", "creates namespaces"},
    {"setns", "joins namespaces"},
    // Kernel keyrings are not namespaced: keys could leak between sandboxes and the host.
    {"keyctl", "kernel keyring is shared with the host"},
    {"add_key", "kernel keyring is shared with the host"},
    {"request_key", "kernel keyring is shared with the host"},
    // Large kernel attack surfaces with a record of privilege escalations.
    {"bpf", "eBPF verifier and maps"},
    {"perf_event_open", "performance counters leak information and have had exploits"},
    {"userfaultfd", "stalls the kernel on page faults, a classic race-exploit primitive"},
    {"io_uring_setup", "io_uring bypasses seccomp for the operations it performs"},
    {"io_uring_enter", "io_uring bypasses seccomp for the operations it performs"},
    {"io_uring_register", "io_uring bypasses seccomp for the operations it performs"},
    // Whole-system operations.
    {"init_module", "loads kernel code"},
    {"finit_module", "loads kernel code"},
    {"delete_module", "unloads kernel code"},
    {"kexec_load", "replaces the running kernel"},
    {"kexec_file_load", "replaces the running kernel"},
    {"reboot", "restarts the machine"},
    {"swapon", "changes system swap"},
    {"swapoff", "changes system swap"},
    {"acct", "process accounting to a file"},
    {"quotactl", "filesystem quotas"},
    {"syslog", "reads the kernel log"},
    {"settimeofday", "changes the system clock"},
    {"clock_settime", "changes the system clock"},
    {"clock_adjtime", "changes the system clock"},
    {"adjtimex", "changes the system clock"},
    {"iopl", "raw I/O port access"},
    {"ioperm", "raw I/O port access"},
    {"vhangup", "hangs up the terminal"},
    {"name_to_handle_at", "file handles open files by inode, bypassing paths"},
    {"open_by_handle_at", "file handles open files by inode, bypassing paths"},
    {"lookup_dcookie", "kernel profiling internals"},
    {"fanotify_init", "watches the whole filesystem"},
    {"uselib", "obsolete library loader"},
    {"memfd_secret", "memory hidden even from the kernel's own inspection; no skill needs it"},
};

// Namespace-creating clone(2) flags. clone's first argument on this architecture is the
// flags word, so it can be inspected (unlike clone3's, which lives in memory).
constexpr uint64_t kNamespaceFlags[] = {CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,   CLONE_NEWUSER,
                                        CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP};

int ResolveSyscall(const char* name);

int AddErrno(scmp_filter_ctx ctx, int err, const char* name, unsigned count = 0,
             const scmp_arg_cmp* cmps = nullptr) {
  const int nr = ResolveSyscall(name);
  if (nr == __NR_SCMP_ERROR) return 0;  // Unknown on this architecture: nothing to refuse.
  return seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(err), nr, count, cmps);
}

// System calls that set a file's mode, with the index of the mode argument and, for open
// calls, of the flags argument that says whether a file is created (-1: it always is, or the
// mode applies to an existing file).
struct ModeCall {
  const char* name;
  int mode_arg;
  int flags_arg;
};
constexpr ModeCall kModeCalls[] = {
    {"chmod", 1, -1},  {"fchmod", 1, -1},  {"fchmodat", 2, -1}, {"fchmodat2", 2, -1},
    {"creat", 1, -1},  {"mknod", 1, -1},   {"mknodat", 2, -1},  {"open", 2, 1},
    {"openat", 3, 2},
};
// fchmodat2(2) is newer than the libseccomp some hosts have; refused by number there.
constexpr int kFchmodat2Nr = 452;  // x86_64, include/uapi/asm-generic/unistd.h.

int ResolveSyscall(const char* name) {
  const int nr = seccomp_syscall_resolve_name(name);
  if (nr == __NR_SCMP_ERROR && std::string_view(name) == "fchmodat2") return kFchmodat2Nr;
  return nr;
}

}  // namespace

bool operator==(const Program& a, const Program& b) {
  return a.instructions.size() == b.instructions.size() &&
         std::memcmp(a.instructions.data(), b.instructions.data(),
                     a.instructions.size() * sizeof(sock_filter)) == 0;
}

Result<Program> Compile() {
  // Default allow, explicit refusals: the filter removes dangerous calls; the namespaces,
  // Landlock and the read-only root contain the rest.
  std::unique_ptr<void, void (*)(scmp_filter_ctx)> ctx(seccomp_init(SCMP_ACT_ALLOW),
                                                        seccomp_release);
  if (!ctx) return Fail(ErrorCode::kSandbox, "seccomp_init failed");
  scmp_filter_ctx c = ctx.get();
  // A filter only describes the native architecture; a call made through another ABI
  // (i386 int 0x80 on x86_64, x32) would bypass every rule, so it kills the process.
  // libseccomp also rejects x32 system call numbers in x86_64 filters.
  if (int rc = seccomp_attr_set(c, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS); rc != 0) {
    return FailErrno(ErrorCode::kSandbox, "seccomp_attr_set(ACT_BADARCH)", -rc);
  }
  // A binary tree of system call numbers rather than a linear list: fewer instructions run
  // per call and the kernel installs the program faster.
  if (int rc = seccomp_attr_set(c, SCMP_FLTATR_CTL_OPTIMIZE, 2); rc != 0) {
    return FailErrno(ErrorCode::kSandbox, "seccomp_attr_set(CTL_OPTIMIZE)", -rc);
  }
  // We set no_new_privs ourselves before installing the program.
  if (int rc = seccomp_attr_set(c, SCMP_FLTATR_CTL_NNP, 0); rc != 0) {
    return FailErrno(ErrorCode::kSandbox, "seccomp_attr_set(CTL_NNP)", -rc);
  }
  for (const Denial& d : kDenied) {
    if (int rc = AddErrno(c, EPERM, d.name); rc != 0) {
      return FailErrno(ErrorCode::kSandbox, std::string("seccomp_rule_add(") + d.name + ")", -rc);
    }
  }
  // clone3 hides its flags in memory where the filter cannot read them. ENOSYS makes the C
  // library fall back to clone(2), whose flags are checked below.
  if (int rc = AddErrno(c, ENOSYS, "clone3"); rc != 0) {
    return FailErrno(ErrorCode::kSandbox, "seccomp_rule_add(clone3)", -rc);
  }
  for (uint64_t flag : kNamespaceFlags) {
    const scmp_arg_cmp cmp = SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag);
    if (int rc = AddErrno(c, EPERM, "clone", 1, &cmp); rc != 0) {
      return FailErrno(ErrorCode::kSandbox, "seccomp_rule_add(clone ns flag)", -rc);
    }
  }
  // TIOCSTI pushes bytes into a terminal's input queue, typing commands into whatever shell
  // owns it; TIOCLINUX can do the same on a virtual console. The command is an int: compare
  // the low 32 bits only.
  for (unsigned long cmd : {static_cast<unsigned long>(TIOCSTI), 0x541Cul /* TIOCLINUX */}) {
    const scmp_arg_cmp cmp = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, cmd);
    if (int rc = AddErrno(c, EPERM, "ioctl", 1, &cmp); rc != 0) {
      return FailErrno(ErrorCode::kSandbox, "seccomp_rule_add(ioctl)", -rc);
    }
  }
  // personality(2) flags that weaken the process's own memory protections for everything it
  // runs next: READ_IMPLIES_EXEC makes every readable mapping executable, MMAP_PAGE_ZERO maps
  // page 0 (the target of NULL-pointer exploits). Other personalities (queries, PER_LINUX32,
  // ADDR_NO_RANDOMIZE for reproducible tools) stay allowed. 0xffffffff is the query form,
  // which sets nothing; it is told apart by bit 31, which no persona uses (libseccomp allows
  // one comparison per argument, so the flag and bit 31 share one masked compare).
  for (uint64_t flag : {uint64_t{0x0400000} /* READ_IMPLIES_EXEC */,
                        uint64_t{0x0100000} /* MMAP_PAGE_ZERO */}) {
    const scmp_arg_cmp cmp = SCMP_A0(SCMP_CMP_MASKED_EQ, flag | 0x80000000u, flag);
    if (int rc = AddErrno(c, EPERM, "personality", 1, &cmp); rc != 0) {
      return FailErrno(ErrorCode::kSandbox, "seccomp_rule_add(personality)", -rc);
    }
  }
  // Unix sockets that can name an address: a socket file in a granted directory (a host
  // daemon's, bound before the run or after) would be a channel to that service, which no
  // mount flag or Landlock right stops connect(2) from reaching. So socket(AF_UNIX) is
  // refused and only socketpair(AF_UNIX) is left: anonymous, connected pairs between the
  // skill's own processes. Abstract addresses are per network namespace and scoped by
  // Landlock too, but need socket(AF_UNIX) all the same.
  {
    const scmp_arg_cmp cmp = SCMP_A0(SCMP_CMP_EQ, AF_UNIX);
    if (int rc = AddErrno(c, EACCES, "socket", 1, &cmp); rc != 0) {
      return FailErrno(ErrorCode::kSandbox, "seccomp_rule_add(socket AF_UNIX)", -rc);
    }
  }
  // Set-user-ID and set-group-ID bits: a file the skill marks so in a writable host directory
  // (the workspace, a declared path) would run with its owner's ids for whoever starts it on
  // the host, outside any sandbox. On the workspace the owner is the workspace's, possibly
  // root (workspace.h), so no mode with either bit may be set or created. Mounts inside are
  // nosuid; the host's view of those files is not. openat2(2) carries its mode in memory the
  // filter cannot read: ENOSYS makes the C library and runtimes fall back to openat(2).
  for (const ModeCall& call : kModeCalls) {
    for (uint64_t bit : {uint64_t{S_ISUID}, uint64_t{S_ISGID}}) {
      const scmp_arg_cmp mode = {.arg = static_cast<unsigned>(call.mode_arg),
                                 .op = SCMP_CMP_MASKED_EQ,
                                 .datum_a = bit,
                                 .datum_b = bit};
      if (call.flags_arg < 0) {
        if (int rc = AddErrno(c, EPERM, call.name, 1, &mode); rc != 0) {
          return FailErrno(ErrorCode::kSandbox, std::string("seccomp_rule_add(") + call.name + ")",
                           -rc);
        }
        continue;
      }
      // open/openat: the mode matters only when a file is made (O_CREAT, or O_TMPFILE whose
      // distinguishing bit is __O_TMPFILE); otherwise the argument may hold anything.
      for (uint64_t create : {uint64_t{O_CREAT}, uint64_t{__O_TMPFILE}}) {
        const scmp_arg_cmp cmps[2] = {{.arg = static_cast<unsigned>(call.flags_arg),
                                       .op = SCMP_CMP_MASKED_EQ,
                                       .datum_a = create,
                                       .datum_b = create},
                                      mode};
        if (int rc = AddErrno(c, EPERM, call.name, 2, cmps); rc != 0) {
          return FailErrno(ErrorCode::kSandbox, std::string("seccomp_rule_add(") + call.name + ")",
                           -rc);
        }
      }
    }
  }
  if (int rc = AddErrno(c, ENOSYS, "openat2"); rc != 0) {
    return FailErrno(ErrorCode::kSandbox, "seccomp_rule_add(openat2)", -rc);
  }

  // Socket families: only AF_UNIX (pairs, above) and AF_INET/AF_INET6 (TCP only, below).
  // Everything else (netlink: kernel configuration interfaces; packet: raw frames; and the
  // long tail of rarely used protocol families with their history of bugs) is refused.
  // libseccomp cannot express "not in a set" on one argument, so the refusal is written as
  // ranges around the allowed values.
  auto deny_socket = [&](unsigned count, const scmp_arg_cmp* cmps) -> Result<void> {
    if (int rc = AddErrno(c, EPERM, "socket", count, cmps); rc != 0) {
      return FailErrno(ErrorCode::kSandbox, "seccomp_rule_add(socket)", -rc);
    }
    if (int rc = AddErrno(c, EPERM, "socketpair", count, cmps); rc != 0) {
      return FailErrno(ErrorCode::kSandbox, "seccomp_rule_add(socketpair)", -rc);
    }
    return {};
  };
  for (uint64_t family = 0; family <= AF_INET6; ++family) {
    const bool allowed = family == AF_UNIX || family == AF_INET || family == AF_INET6;
    if (allowed) continue;
    const scmp_arg_cmp cmp = SCMP_A0(SCMP_CMP_EQ, family);
    if (auto r = deny_socket(1, &cmp); !r) return std::unexpected(r.error());
  }
  {
    const scmp_arg_cmp cmp = SCMP_A0(SCMP_CMP_GT, AF_INET6);
    if (auto r = deny_socket(1, &cmp); !r) return std::unexpected(r.error());
  }
  {
    // AF_INET/AF_INET6 sockets are TCP streams: a skill's own servers and clients on its
    // loopback, and with egress the connection to the proxy there. Every other kind is
    // refused: datagrams (UDP, ICMP "ping" sockets) would carry DNS or anything else past the
    // proxy if a route ever existed, raw sockets forge packets, SCTP and MPTCP streams are
    // large protocol stacks a skill never needs. The type's low 4 bits hold the kind
    // (SOCK_NONBLOCK and SOCK_CLOEXEC are masked off); the protocol must be 0 or IPPROTO_TCP.
    for (uint64_t family : {uint64_t{AF_INET}, uint64_t{AF_INET6}}) {
      for (uint64_t kind = 0; kind <= 0xf; ++kind) {
        if (kind == SOCK_STREAM) continue;
        const scmp_arg_cmp cmps[2] = {SCMP_A0(SCMP_CMP_EQ, family),
                                      SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, kind)};
        if (auto r = deny_socket(2, cmps); !r) return std::unexpected(r.error());
      }
      for (uint64_t protocol = 1; protocol < IPPROTO_TCP; ++protocol) {
        const scmp_arg_cmp cmps[2] = {SCMP_A0(SCMP_CMP_EQ, family),
                                      SCMP_A2(SCMP_CMP_EQ, protocol)};
        if (auto r = deny_socket(2, cmps); !r) return std::unexpected(r.error());
      }
      const scmp_arg_cmp cmps[2] = {SCMP_A0(SCMP_CMP_EQ, family),
                                    SCMP_A2(SCMP_CMP_GT, IPPROTO_TCP)};
      if (auto r = deny_socket(2, cmps); !r) return std::unexpected(r.error());
    }
  }

  // Export the program through a memfd (libseccomp 2.5 exports only to a descriptor).
  UniqueFd mem(::memfd_create("skillrt-seccomp", MFD_CLOEXEC));
  if (!mem) return FailErrno(ErrorCode::kSandbox, "memfd_create", errno);
  if (int rc = seccomp_export_bpf(c, mem.get()); rc != 0) {
    return FailErrno(ErrorCode::kSandbox, "seccomp_export_bpf", -rc);
  }
  const off_t size = ::lseek(mem.get(), 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0) {
    return Fail(ErrorCode::kSandbox, "seccomp_export_bpf produced an invalid program");
  }
  Program program;
  program.instructions.resize(static_cast<size_t>(size) / sizeof(sock_filter));
  if (::pread(mem.get(), program.instructions.data(), static_cast<size_t>(size), 0) != size) {
    return FailErrno(ErrorCode::kSandbox, "pread(seccomp program)", errno);
  }
  return program;
}

Result<const Program*> Filter(const std::filesystem::path& cache_dir) {
  // The cache's key names libseccomp's version: the library is needed even for a kept program.
  if (auto loaded = LoadLibrary(); !loaded) return std::unexpected(loaded.error());
  static std::once_flag once;
  static Result<Program> program = Fail(ErrorCode::kInternal, "unset");
  std::call_once(once, [&] {
    const std::string key = cache_dir.empty() ? std::string() : seccomp_cache::Key();
    if (!key.empty()) {
      if (std::optional<Program> kept = seccomp_cache::Load(cache_dir, key)) {
        program = std::move(*kept);
        return;
      }
    }
    program = Compile();
    // Best effort: a home that cannot take the file costs the next process a compilation.
    if (program && !key.empty()) (void)seccomp_cache::Store(cache_dir, key, *program);
  });
  if (!program) return std::unexpected(program.error());
  return &*program;
}

std::vector<std::string> DeniedSyscalls() {
  std::vector<std::string> names;
  for (const Denial& d : kDenied) names.emplace_back(d.name);
  return names;
}

void Install(const sock_filter* instructions, size_t count, int err_fd) {
  sock_fprog prog = {.len = static_cast<unsigned short>(count),
                     .filter = const_cast<sock_filter*>(instructions)};
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
    sandbox::ChildFail(err_fd, "seccomp(SECCOMP_SET_MODE_FILTER)", errno);
  }
}

}  // namespace skillrt::seccomp
