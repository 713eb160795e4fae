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
//   fill PATH KIB             write KIB KiB of non-zero bytes to PATH, 64 KiB at a time
//                             ("written_kb"; on a failed write, its errno)
//   fill-unlinked PATH KIB    create PATH, unlink it, then fill it through the open descriptor
//   sparse PATH KIB           create PATH and write one byte at offset KIB KiB (a hole before)
//   link-fill PATH KIB COUNT  fill PATH with KIB KiB, then make COUNT hard links to it
//   files DIR COUNT           create COUNT empty files in DIR ("made"; errno of the first
//                             failure)
//   deep-fill PREOPEN LEVELS NAMELEN KIB
//                             below the preopened directory PREOPEN, make LEVELS nested
//                             directories with names NAMELEN long, each through a descriptor of
//                             its parent (so the host path grows past PATH_MAX while every
//                             WASI path stays short), then fill a file at the bottom
//                             ("levels", "written_kb")
// "preopens" lists the preopened directories the host gave the guest.
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

#include "probe.h"

enum { kMaxFd = 64, kMaxData = 64 * 1024, kMaxName = 255 };

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

// Writes `kib` KiB to `fd`; prints `"written_kb": N` and, on a failed write, its errno.
static void FillFd(int fd, long kib) {
  memset(buffer, 'x', sizeof buffer);
  long written = 0;
  int err = 0;
  while (written < kib * 1024) {
    const long left = kib * 1024 - written;
    const ssize_t n = write(fd, buffer, left < (long)sizeof buffer ? (size_t)left : sizeof buffer);
    if (n <= 0) {
      err = n < 0 ? errno : ENOSPC;
      break;
    }
    written += n;
  }
  PrintResult(err ? -1 : 0, err);
  printf(", \"written_kb\": %ld", written / 1024);
}

static void OpFill(const char* path, const char* kib, int unlink_first) {
  const int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    PrintResult(-1, errno);
    return;
  }
  if (unlink_first && unlink(path) != 0) {
    PrintResult(-1, errno);
    close(fd);
    return;
  }
  FillFd(fd, atol(kib));
  close(fd);
}

static void OpSparse(const char* path, const char* kib) {
  const int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  long rc = fd;
  int err = errno;
  if (fd >= 0) {
    rc = lseek(fd, (off_t)atol(kib) * 1024, SEEK_SET) < 0 ? -1 : write(fd, "x", 1);
    err = errno;
    close(fd);
  }
  PrintResult(rc, err);
}

static void OpLinkFill(const char* path, const char* kib, const char* count) {
  const int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    PrintResult(-1, errno);
    return;
  }
  FillFd(fd, atol(kib));
  close(fd);
  long made = 0;
  int err = 0;
  char name[4096];
  for (long i = 0; i < atol(count); ++i) {
    snprintf(name, sizeof name, "%s.%ld", path, i);
    if (link(path, name) != 0) {
      err = errno;
      break;
    }
    ++made;
  }
  printf(", \"links\": %ld", made);
  if (err) printf(", \"link_errno\": \"%s\"", ErrnoName(err));
}

static void OpFiles(const char* dir, const char* count) {
  long made = 0;
  int err = 0;
  char name[4096];
  for (long i = 0; i < atol(count); ++i) {
    snprintf(name, sizeof name, "%s/f%ld", dir, i);
    const int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
      err = errno;
      break;
    }
    close(fd);
    ++made;
  }
  PrintResult(err ? -1 : 0, err);
  printf(", \"made\": %ld", made);
}

static void OpDeepFill(const char* preopen, const char* levels, const char* name_len,
                       const char* kib) {
  int dirfd = FindPreopen(preopen);
  if (dirfd < 0) {
    fputs("\"ok\": false, \"errno\": \"no-such-preopen\"", stdout);
    return;
  }
  char name[kMaxName + 1];
  long len = atol(name_len);
  if (len < 1 || len > kMaxName) len = kMaxName;
  memset(name, 'd', (size_t)len);
  name[len] = '\0';
  // Read only: Wasmtime opens a directory asked for FD_WRITE with O_WRONLY, which fails.
  const __wasi_rights_t rights = __WASI_RIGHTS_FD_READ;
  long made = 0;
  __wasi_errno_t e = 0;
  int owned = 0;  // The preopen itself is not closed.
  for (long i = 0; i < atol(levels); ++i) {
    e = __wasi_path_create_directory(dirfd, name);
    if (e != 0) break;
    __wasi_fd_t next = 0;
    e = __wasi_path_open(dirfd, 0, name, __WASI_OFLAGS_DIRECTORY, rights, rights, 0, &next);
    if (e != 0) break;
    if (owned) close(dirfd);
    dirfd = (int)next;
    owned = 1;
    ++made;
  }
  printf("\"levels\": %ld, ", made);
  if (e != 0) {
    PrintResult(-1, e);
    printf(", \"written_kb\": 0");
  } else {
    __wasi_fd_t file = 0;
    e = __wasi_path_open(dirfd, 0, "data", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC,
                         __WASI_RIGHTS_FD_WRITE, 0, 0, &file);
    if (e != 0) {
      PrintResult(-1, e);
      printf(", \"written_kb\": 0");
    } else {
      FillFd((int)file, atol(kib));
      close((int)file);
    }
  }
  if (owned) close(dirfd);
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
                      strcmp(op, "raw-read") == 0 || strcmp(op, "fill") == 0 ||
                      strcmp(op, "fill-unlinked") == 0 || strcmp(op, "sparse") == 0 ||
                      strcmp(op, "files") == 0)
                         ? 2
                     : (strcmp(op, "raw-write") == 0 || strcmp(op, "link-fill") == 0) ? 3
                     : strcmp(op, "deep-fill") == 0                                    ? 4
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
    } else if (strcmp(op, "fill") == 0 || strcmp(op, "fill-unlinked") == 0) {
      OpFill(argv[i + 1], argv[i + 2], strcmp(op, "fill-unlinked") == 0);
    } else if (strcmp(op, "sparse") == 0) {
      OpSparse(argv[i + 1], argv[i + 2]);
    } else if (strcmp(op, "link-fill") == 0) {
      OpLinkFill(argv[i + 1], argv[i + 2], argv[i + 3]);
    } else if (strcmp(op, "files") == 0) {
      OpFiles(argv[i + 1], argv[i + 2]);
    } else if (strcmp(op, "deep-fill") == 0) {
      OpDeepFill(argv[i + 1], argv[i + 2], argv[i + 3], argv[i + 4]);
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
