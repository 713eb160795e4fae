// Filesystem probe: runs the operations given as arguments, left to right, and prints
//   {"preopens": [...], "results": [{"op": ..., "path": ..., "ok": ..., "errno": ...}, ...]}
// Operations:
//   read PATH                 open(O_RDONLY) and read up to 64 KiB ("data" on success)
//   write PATH DATA           open(O_WRONLY|O_CREAT|O_TRUNC) and write DATA
//   mkdir PATH | unlink PATH | list PATH | stat PATH
//   symlink TARGET PATH       create PATH pointing to TARGET
//   raw-read PREOPEN REL      path_open(REL) relative to the preopened directory named PREOPEN,
//                             straight through WASI, bypassing wasi-libc's path resolution
//   raw-write PREOPEN REL DATA
// "preopens" lists the preopened directories the host gave the guest.
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

#include "probe.h"

enum { kMaxFd = 64, kMaxData = 64 * 1024 };

static char buffer[kMaxData];

// Returns the fd of the preopened directory called `name`, or -1.
static int FindPreopen(const char* name) {
  for (int fd = 3; fd < kMaxFd; ++fd) {
    __wasi_prestat_t prestat;
    if (__wasi_fd_prestat_get(fd, &prestat) != 0) continue;
    char dir[256];
    const size_t len = prestat.u.dir.pr_name_len;
    if (len >= sizeof dir || __wasi_fd_prestat_dir_name(fd, (uint8_t*)dir, len) != 0) continue;
    dir[len] = '\0';
    if (strcmp(dir, name) == 0) return fd;
  }
  return -1;
}

static void PrintPreopens(void) {
  PrintKey("preopens");
  putchar('[');
  int first = 1;
  for (int fd = 3; fd < kMaxFd; ++fd) {
    __wasi_prestat_t prestat;
    if (__wasi_fd_prestat_get(fd, &prestat) != 0) continue;
    char dir[256];
    const size_t len = prestat.u.dir.pr_name_len;
    if (len >= sizeof dir || __wasi_fd_prestat_dir_name(fd, (uint8_t*)dir, len) != 0) continue;
    if (!first) fputs(", ", stdout);
    first = 0;
    PrintJsonString(dir, len);
  }
  putchar(']');
}

// Reads all of `fd` (up to kMaxData) and prints `, "data": "..."`; returns -1 on a read error.
static long ReadAll(int fd) {
  size_t total = 0;
  for (;;) {
    const ssize_t n = read(fd, buffer + total, sizeof buffer - total);
    if (n < 0) return -1;
    if (n == 0 || total + (size_t)n == sizeof buffer) {
      total += (size_t)n;
      break;
    }
    total += (size_t)n;
  }
  fputs(", \"data\": ", stdout);
  PrintJsonString(buffer, total);
  return 0;
}

static void OpRead(const char* path) {
  const int fd = open(path, O_RDONLY);
  const int err = errno;
  PrintResult(fd, err);
  if (fd >= 0) {
    if (ReadAll(fd) < 0) printf(", \"read_errno\": \"%s\"", ErrnoName(errno));
    close(fd);
  }
}

static void OpWrite(const char* path, const char* data) {
  const int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int err = errno;
  long rc = fd;
  if (fd >= 0) {
    rc = write(fd, data, strlen(data));
    err = errno;
    close(fd);
  }
  PrintResult(rc, err);
}

static void OpList(const char* path) {
  DIR* dir = opendir(path);
  PrintResult(dir ? 0 : -1, errno);
  if (!dir) return;
  fputs(", \"names\": [", stdout);
  int first = 1;
  for (struct dirent* e; (e = readdir(dir)) != NULL;) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (!first) fputs(", ", stdout);
    first = 0;
    PrintJsonCString(e->d_name);
  }
  putchar(']');
  closedir(dir);
}

static void OpStat(const char* path) {
  struct stat st;
  const int rc = stat(path, &st);
  PrintResult(rc, errno);
  if (rc == 0) {
    printf(", \"size\": %lld, \"dir\": %s", (long long)st.st_size,
           S_ISDIR(st.st_mode) ? "true" : "false");
  }
}

static void OpRaw(const char* preopen, const char* rel, const char* data) {
  const int dirfd = FindPreopen(preopen);
  if (dirfd < 0) {
    fputs("\"ok\": false, \"errno\": \"no-such-preopen\"", stdout);
    return;
  }
  const __wasi_rights_t rights =
      data ? __WASI_RIGHTS_FD_WRITE : (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK);
  const __wasi_oflags_t oflags = data ? (__WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC) : 0;
  __wasi_fd_t fd = 0;
  const __wasi_errno_t e = __wasi_path_open(dirfd, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, rel, oflags,
                                            rights, 0, 0, &fd);
  if (e != 0) {
    PrintResult(-1, e);
    return;
  }
  if (data) {
    const ssize_t n = write((int)fd, data, strlen(data));
    PrintResult(n, errno);
  } else {
    PrintResult(0, 0);
    if (ReadAll((int)fd) < 0) printf(", \"read_errno\": \"%s\"", ErrnoName(errno));
  }
  close((int)fd);
}

int main(int argc, char** argv) {
  putchar('{');
  PrintPreopens();
  fputs(", \"results\": [", stdout);
  int i = 1, first = 1;
  while (i < argc) {
    const char* op = argv[i];
    const int left = argc - i - 1;
    const int need = (strcmp(op, "write") == 0 || strcmp(op, "symlink") == 0 ||
                      strcmp(op, "raw-read") == 0)
                         ? 2
                     : strcmp(op, "raw-write") == 0 ? 3
                                                    : 1;
    if (left < need) {
      fprintf(stderr, "fs: '%s' needs %d argument(s)\n", op, need);
      return 2;
    }
    if (!first) fputs(", ", stdout);
    first = 0;
    fputs("{\"op\": ", stdout);
    PrintJsonCString(op);
    fputs(", \"path\": ", stdout);
    PrintJsonCString(strcmp(op, "symlink") == 0 ? argv[i + 2] : argv[i + 1]);
    fputs(", ", stdout);
    errno = 0;
    if (strcmp(op, "read") == 0) {
      OpRead(argv[i + 1]);
    } else if (strcmp(op, "write") == 0) {
      OpWrite(argv[i + 1], argv[i + 2]);
    } else if (strcmp(op, "mkdir") == 0) {
      PrintResult(mkdir(argv[i + 1], 0755), errno);
    } else if (strcmp(op, "unlink") == 0) {
      PrintResult(unlink(argv[i + 1]), errno);
    } else if (strcmp(op, "symlink") == 0) {
      PrintResult(symlink(argv[i + 1], argv[i + 2]), errno);
    } else if (strcmp(op, "list") == 0) {
      OpList(argv[i + 1]);
    } else if (strcmp(op, "stat") == 0) {
      OpStat(argv[i + 1]);
    } else if (strcmp(op, "raw-read") == 0) {
      OpRaw(argv[i + 1], argv[i + 2], NULL);
    } else if (strcmp(op, "raw-write") == 0) {
      OpRaw(argv[i + 1], argv[i + 2], argv[i + 3]);
    } else {
      fprintf(stderr, "fs: unknown operation '%s'\n", op);
      return 2;
    }
    putchar('}');
    i += need + 1;
  }
  fputs("]}\n", stdout);
  return 0;
}
