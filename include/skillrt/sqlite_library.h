// SQLite's shared library, loaded by the first command that opens a database (the search
// index, the HTTP service's job queue on one machine), not by every process: `run` and
// `exec` never call it. Where the build supports it (x86-64), skillrt's binaries do not link
// libsqlite3.so.0; its functions are trampolines that load it at the first call
// (util/lazy_library.h). Elsewhere it is linked as usual and LoadSqlite only says so.
#ifndef SKILLRT_SQLITE_LIBRARY_H_
#define SKILLRT_SQLITE_LIBRARY_H_

#include "skillrt/error.h"

namespace skillrt {

/// Loads libsqlite3.so.0 (found as ld.so(8) finds libraries) and resolves the functions
/// skillrt may call, once per process; later calls return the first call's result. Call it
/// before opening a database, so that a missing library is this error rather than the
/// process's end. Thread-safe. Errors: kUnsupported naming the library and dlopen's or
/// dlsym's message.
Result<void> LoadSqlite();

}  // namespace skillrt

#endif  // SKILLRT_SQLITE_LIBRARY_H_
