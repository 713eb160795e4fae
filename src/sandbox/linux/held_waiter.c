// The held sandbox's waiter: the program a sandbox prepared for one plan executes, from a
// sealed memfd, once every layer is applied (docs/sandbox.md, "Prepared sandboxes"). It
// replaces the child's copy of the engine's memory with this program's few pages, so that
// neither the engine nor the run pays for that copy while the sandbox waits or at its
// release, and then waits for the run:
//
//   argv: the program's sandbox path, then the program's argv; envp: the program's.
//   fd 4: the channel. A release is one message, "r" then "NAME=value\0" entries whose values
//         replace those of the environment's entries of the same names; anything else (the
//         channel closed: the supervisor dropped this sandbox) ends it with status 127.
//   fd 3: the error pipe, kept open for this program; made close-on-exec before the execve,
//         whose failure is written there as runtime/child_failure.h's ChildFailure.
//
// No C library, no loader: system calls only, x86-64 Linux. Built by CMakeLists.txt and
// embedded into the library (held_waiter_blob.S).

typedef unsigned long size_t;
typedef long ssize_t;

enum {
  kSysRead = 0,
  kSysWrite = 1,
  kSysClose = 3,
  kSysExecve = 59,
  kSysExit = 60,
  kSysFcntl = 72,
  kEintr = 4,
  kFSetfd = 2,
  kFdCloexec = 1,
  kErrorFd = 3,
  kChannelFd = 4,
  kFailureExit = 127,       // kChildFailureExit.
  kMaxReleaseBytes = 4096,  // sandbox::kMaxReleaseBytes.
};

// runtime/child_failure.h's ChildFailure, byte for byte (prepared.cc checks the C++ side's
// layout against these offsets).
struct Failure {
  int err;
  _Bool exec;
  char what[240];
};

static long Syscall3(long n, long a, long b, long c) {
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return r;
}

__attribute__((noreturn)) static void Exit(int status) {
  for (;;) Syscall3(kSysExit, status, 0, 0);
}

// The compiler may emit calls to these for copies and zeroing; there is no C library.
void* memset(void* dst, int c, size_t n) {
  unsigned char* d = dst;
  while (n--) *d++ = (unsigned char)c;
  return dst;
}

void* memcpy(void* dst, const void* src, size_t n) {
  unsigned char* d = dst;
  const unsigned char* s = src;
  while (n--) *d++ = *s++;
  return dst;
}

static size_t Length(const char* s) {
  size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

// True when `entry` ("NAME=...") and `name` ("NAME=", `name_len` bytes) name one variable.
static int SameName(const char* entry, const char* name, size_t name_len) {
  for (size_t i = 0; i < name_len; ++i) {
    if (entry[i] != name[i]) return 0;
  }
  return 1;
}

__attribute__((noreturn, used)) void HeldMain(long* sp) {
  const long argc = sp[0];
  char** argv = (char**)(sp + 1);
  char** envp = argv + argc + 1;
  if (argc < 2) Exit(kFailureExit);

  char message[kMaxReleaseBytes + 1];
  long n;
  do {
    n = Syscall3(kSysRead, kChannelFd, (long)message, kMaxReleaseBytes);
  } while (n == -kEintr);
  if (n < 1 || message[0] != 'r') Exit(kFailureExit);
  message[n] = '\0';
  Syscall3(kSysClose, kChannelFd, 0, 0);

  for (char* entry = message + 1; entry < message + n; entry += Length(entry) + 1) {
    size_t name_len = 0;
    while (entry[name_len] != '\0' && entry[name_len] != '=') ++name_len;
    if (entry[name_len] != '=') continue;
    ++name_len;  // "NAME=".
    for (char** e = envp; *e != 0; ++e) {
      if (SameName(*e, entry, name_len)) {
        *e = entry;
        break;
      }
    }
  }

  Syscall3(kSysFcntl, kErrorFd, kFSetfd, kFdCloexec);
  const long r = Syscall3(kSysExecve, (long)argv[0], (long)(argv + 1), (long)envp);
  struct Failure failure;
  memset(&failure, 0, sizeof(failure));
  failure.err = (int)-r;
  failure.exec = 1;
  static const char kCall[] = "execve(";
  size_t w = 0;
  for (size_t i = 0; kCall[i] != '\0'; ++i) failure.what[w++] = kCall[i];
  for (const char* p = argv[0]; *p != '\0' && w < sizeof(failure.what) - 2; ++p) {
    failure.what[w++] = *p;
  }
  failure.what[w] = ')';
  Syscall3(kSysWrite, kErrorFd, (long)&failure, sizeof(failure));
  Exit(kFailureExit);
}

// The entry: the kernel leaves argc, argv and envp on the stack; the stack is aligned for the
// call as the ABI requires.
__asm__(
    ".text\n"
    ".global _start\n"
    "_start:\n"
    "  xor %ebp, %ebp\n"
    "  mov %rsp, %rdi\n"
    "  and $-16, %rsp\n"
    "  call HeldMain\n"
    "  hlt\n");
