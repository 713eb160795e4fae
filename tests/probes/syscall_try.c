/* syscall_try NAME: attempt one system call that a sandboxed skill has no business making
 * (the seccomp filter's deny table) with harmless arguments, and undo its effect. Succeeds
 * when the call succeeded. NAME is one of:
 *   io_uring_setup, bpf, perf_event_open, keyctl, add_key, userfaultfd, open_by_handle_at,
 *   socket_raw, socket_packet, socket_netlink, socket_inet, socket_inet6, socket_unix, clone3,
 *   memfd_secret, personality_rie (READ_IMPLIES_EXEC), socketpair_unix
 * (socketpair_unix is the expected-allowed control inside the sandbox). */
#include "probe.h"  /* First: it defines _GNU_SOURCE. */

#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/netlink.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* Each attempt returns >= 0 on success (an fd or id that the caller closes if it is an fd),
 * or -1 with errno set. */
static long TryIoUring(void) {
  struct io_uring_params params;
  memset(&params, 0, sizeof(params));
  return syscall(SYS_io_uring_setup, 1, &params);
}

static long TryBpf(void) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = 4;
  attr.max_entries = 1;
  return syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
}

static long TryPerfEventOpen(void) {
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.size = sizeof(attr);
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_TASK_CLOCK;
  attr.disabled = 1;
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  return syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

static long TryKeyctl(void) {
  /* Asks for the id of the session keyring without creating one. */
  return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
}

static long TryAddKey(void) {
  long id = syscall(SYS_add_key, "user", "skillrt-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING);
  if (id >= 0) syscall(SYS_keyctl, KEYCTL_INVALIDATE, id);
  return id < 0 ? -1 : 0;
}

static long TryUserfaultfd(void) { return syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK); }

static long TryOpenByHandleAt(void) {
  /* The "shocker" escape: a file handle names a file by inode, bypassing the mount tree. */
  char storage[sizeof(struct file_handle) + MAX_HANDLE_SZ];
  struct file_handle* handle = (struct file_handle*)storage;
  handle->handle_bytes = MAX_HANDLE_SZ;
  int mount_id = 0;
  if (name_to_handle_at(AT_FDCWD, "/", handle, &mount_id, 0) != 0) return -1;
  int mount_fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (mount_fd < 0) return -1;
  long fd = open_by_handle_at(mount_fd, handle, O_RDONLY | O_CLOEXEC);
  int err = errno;
  close(mount_fd);
  errno = err;
  return fd;
}

static long TrySocket(int domain, int type, int protocol) {
  return socket(domain, type | SOCK_CLOEXEC, protocol);
}

static long TrySocketpair(void) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return -1;
  close(sv[1]);
  return sv[0];
}

static long TryMemfdSecret(void) {
#ifdef SYS_memfd_secret
  return syscall(SYS_memfd_secret, 0);
#else
  return syscall(447, 0);
#endif
}

static long TryPersonalityReadImpliesExec(void) {
  long old = syscall(SYS_personality, 0xffffffffUL);
  if (old < 0) return -1;
  long r = syscall(SYS_personality, (unsigned long)old | 0x0400000UL);
  if (r < 0) return -1;
  syscall(SYS_personality, (unsigned long)old);
  return 0;
}

static long TryClone3(void) {
  struct clone_args args;
  memset(&args, 0, sizeof(args));
  args.exit_signal = SIGCHLD;
  long pid = syscall(SYS_clone3, &args, sizeof(args));
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid((pid_t)pid, NULL, 0);
  return pid < 0 ? -1 : 0;
}

int main(int argc, char** argv) {
  static const char kUsage[] =
      "io_uring_setup|bpf|perf_event_open|keyctl|add_key|userfaultfd|open_by_handle_at|"
      "socket_raw|socket_packet|socket_netlink|socket_inet|socket_inet6|socket_unix|clone3|"
      "memfd_secret|personality_rie|socketpair_unix";
  if (argc != 2) return probe_usage("syscall_try", kUsage);
  const char* name = argv[1];
  long r;
  int is_fd = 1;
  if (strcmp(name, "io_uring_setup") == 0) {
    r = TryIoUring();
  } else if (strcmp(name, "bpf") == 0) {
    r = TryBpf();
  } else if (strcmp(name, "perf_event_open") == 0) {
    r = TryPerfEventOpen();
  } else if (strcmp(name, "keyctl") == 0) {
    r = TryKeyctl();
    is_fd = 0;
  } else if (strcmp(name, "add_key") == 0) {
    r = TryAddKey();
    is_fd = 0;
  } else if (strcmp(name, "userfaultfd") == 0) {
    r = TryUserfaultfd();
  } else if (strcmp(name, "open_by_handle_at") == 0) {
    r = TryOpenByHandleAt();
  } else if (strcmp(name, "socket_raw") == 0) {
    r = TrySocket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  } else if (strcmp(name, "socket_packet") == 0) {
    r = TrySocket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  } else if (strcmp(name, "socket_netlink") == 0) {
    r = TrySocket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
  } else if (strcmp(name, "socket_inet") == 0) {
    r = TrySocket(AF_INET, SOCK_STREAM, 0);
  } else if (strcmp(name, "socket_inet6") == 0) {
    r = TrySocket(AF_INET6, SOCK_STREAM, 0);
  } else if (strcmp(name, "socket_unix") == 0) {
    r = TrySocket(AF_UNIX, SOCK_STREAM, 0);
  } else if (strcmp(name, "socketpair_unix") == 0) {
    r = TrySocketpair();
  } else if (strcmp(name, "memfd_secret") == 0) {
    r = TryMemfdSecret();
  } else if (strcmp(name, "personality_rie") == 0) {
    r = TryPersonalityReadImpliesExec();
    is_fd = 0;
  } else if (strcmp(name, "clone3") == 0) {
    r = TryClone3();
    is_fd = 0;
  } else {
    return probe_usage("syscall_try", kUsage);
  }
  int err = r < 0 ? errno : 0;
  if (r >= 0 && is_fd) close((int)r);
  struct probe_json j;
  pj_begin(&j, "syscall_try");
  pj_str(&j, "target", name);
  return pj_finish(&j, r >= 0, err);
}
