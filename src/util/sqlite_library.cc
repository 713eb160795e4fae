// SQLite loaded at its first call (skillrt/sqlite_library.h, util/lazy_library.h).
#include "skillrt/sqlite_library.h"

#ifdef SKILLRT_SQLITE_LAZY

#include <cstddef>

#include "util/lazy_library.h"

// The trampolines' table (util/lazy_trampolines_x86_64.S, through the generated wrapper).
extern "C" void* skillrt_lazy_sqlite3_table[];

namespace skillrt {
namespace {

constexpr const char* kNames[] = {
#define SKILLRT_LAZY_FUNCTION(name, index) #name,
#include <lazy_sqlite3_symbols.inc>  // Generated at configure time.
#undef SKILLRT_LAZY_FUNCTION
};

constexpr LazyLibrary kSqlite = {.file = "libsqlite3.so.0",
                                 .where_from = "Debian's libsqlite3-0 package",
                                 .names = kNames,
                                 .count = sizeof(kNames) / sizeof(kNames[0]),
                                 .table = skillrt_lazy_sqlite3_table};

}  // namespace

Result<void> LoadSqlite() { return LoadLazyLibraryOnce<kSqlite>(); }

}  // namespace skillrt

SKILLRT_LAZY_LIBRARY_RESOLVER(sqlite3, skillrt::kSqlite)

#else  // SQLite is linked into the binary.

namespace skillrt {

Result<void> LoadSqlite() { return {}; }

}  // namespace skillrt

#endif
