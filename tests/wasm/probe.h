// Helpers shared by the WebAssembly probes (tests/wasm/*.c): each probe prints one JSON object
// on stdout describing what it tried and what the WASI host answered, so that the tests can
// assert the exact errno of every refusal. Built for wasm32-wasi by scripts/build-wasm.sh.
#ifndef SKILLRT_TESTS_WASM_PROBE_H_
#define SKILLRT_TESTS_WASM_PROBE_H_

#include <errno.h>
#include <stdio.h>
#include <string.h>

// The symbolic name of a wasi-libc errno value (wasi/api.h __WASI_ERRNO_*), or "E?" for one
// this table does not know.
static inline const char* ErrnoName(int e) {
  switch (e) {
    case 0: return "OK";
#define PROBE_ERRNO(name) case name: return #name;
    PROBE_ERRNO(E2BIG) PROBE_ERRNO(EACCES) PROBE_ERRNO(EADDRINUSE) PROBE_ERRNO(EADDRNOTAVAIL)
    PROBE_ERRNO(EAFNOSUPPORT) PROBE_ERRNO(EAGAIN) PROBE_ERRNO(EALREADY) PROBE_ERRNO(EBADF)
    PROBE_ERRNO(EBUSY) PROBE_ERRNO(ECONNREFUSED) PROBE_ERRNO(EEXIST) PROBE_ERRNO(EFAULT)
    PROBE_ERRNO(EFBIG) PROBE_ERRNO(EILSEQ) PROBE_ERRNO(EINTR) PROBE_ERRNO(EINVAL)
    PROBE_ERRNO(EIO) PROBE_ERRNO(EISDIR) PROBE_ERRNO(ELOOP) PROBE_ERRNO(EMFILE)
    PROBE_ERRNO(ENAMETOOLONG) PROBE_ERRNO(ENETUNREACH) PROBE_ERRNO(ENFILE) PROBE_ERRNO(ENODEV)
    PROBE_ERRNO(ENOENT) PROBE_ERRNO(ENOMEM) PROBE_ERRNO(ENOSPC) PROBE_ERRNO(ENOSYS)
    PROBE_ERRNO(ENOTCONN) PROBE_ERRNO(ENOTDIR) PROBE_ERRNO(ENOTEMPTY) PROBE_ERRNO(ENOTSOCK)
    PROBE_ERRNO(ENOTSUP) PROBE_ERRNO(ENOTTY) PROBE_ERRNO(ENXIO) PROBE_ERRNO(EOVERFLOW)
    PROBE_ERRNO(EPERM) PROBE_ERRNO(EPIPE) PROBE_ERRNO(ERANGE) PROBE_ERRNO(EROFS)
    PROBE_ERRNO(ESPIPE) PROBE_ERRNO(EXDEV) PROBE_ERRNO(ENOTCAPABLE)
#undef PROBE_ERRNO
    default: return "E?";
  }
}

// Prints `s` as a JSON string literal (quotes included), escaping what RFC 8259 requires.
static inline void PrintJsonString(const char* s, size_t n) {
  putchar('"');
  for (size_t i = 0; i < n; ++i) {
    const unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      putchar('\\');
      putchar(c);
    } else if (c == '\n') {
      fputs("\\n", stdout);
    } else if (c < 0x20) {
      printf("\\u%04x", c);
    } else {
      putchar(c);
    }
  }
  putchar('"');
}

static inline void PrintJsonCString(const char* s) { PrintJsonString(s, strlen(s)); }

// Prints `"key": ` for the next member of an object being written.
static inline void PrintKey(const char* key) {
  PrintJsonCString(key);
  fputs(": ", stdout);
}

// Prints `"ok": true` or `"ok": false, "errno": "<NAME>"` for a call that returned `rc` with
// errno `err` (rc < 0 means failure).
static inline void PrintResult(long rc, int err) {
  if (rc >= 0) {
    fputs("\"ok\": true", stdout);
  } else {
    printf("\"ok\": false, \"errno\": \"%s\"", ErrnoName(err));
  }
}

#endif  // SKILLRT_TESTS_WASM_PROBE_H_
