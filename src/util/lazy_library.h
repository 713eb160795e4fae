// Shared libraries loaded at their first call rather than when the process starts.
//
// A large library that most commands never call (Wasmtime: 26,000 relative relocations;
// SQLite: 1,600 symbol relocations of its own) costs every process that links it its mapping,
// relocation and resident pages. Where the build supports it (x86-64, a shared library), no
// binary links such a library: each function of it is defined by a hidden trampoline
// (lazy_trampolines_x86_64.S, the list generated at configure time from the library's dynamic
// symbols) that jumps through a table. Until the library is loaded every entry leads to a
// resolver that loads it (dlopen(3)), resolves every listed function (dlsym(3)), fills the
// whole table and goes on to the function called, with the caller's arguments untouched;
// afterwards a call costs one indirect jump. Callers load the library explicitly before its
// first use, so that a missing library is an error (LoadLazyLibrary); a trampoline reached
// when the library cannot be loaded can only end the process (LazyResolveOrDie).
#ifndef SKILLRT_UTIL_LAZY_LIBRARY_H_
#define SKILLRT_UTIL_LAZY_LIBRARY_H_

#include <cstddef>

#include "skillrt/error.h"

namespace skillrt {

/// One library's trampolines: what the generated table and list hold. Not owned; static.
struct LazyLibrary {
  const char* file;            ///< What dlopen opens: a path, or a soname found as ld.so(8) does.
  const char* where_from;      ///< Said in errors: where the library comes from.
  const char* const* names;    ///< The functions, in the table's order.
  size_t count;                ///< Entries of `names` and `table`.
  void** table;                ///< The trampolines' table (lazy_trampolines_x86_64.S).
};

/// Opens `library.file` and resolves every function of `library.names`, then fills the table
/// (all addresses first, so a trampoline never jumps through a half-filled table). Not
/// idempotent: the caller keeps the result (once per process, e.g. in a function-local
/// static). Thread-safe as to the trampolines: a concurrent call sees an entry's resolver or
/// its function. Errors: kUnsupported naming the file and dlopen's or dlsym's message.
Result<void> LoadLazyLibrary(const LazyLibrary& library);

/// For a resolver: the table entry `index` once `loaded` holds; otherwise prints why to
/// stderr and aborts (a function of the library's signature cannot report that the library
/// is missing).
void* LazyResolveOrDie(const LazyLibrary& library, const Result<void>& loaded, size_t index);

/// LoadLazyLibrary(L), once per process: later calls return the first call's result (kept for
/// the process's life). Thread-safe.
template <const LazyLibrary& L>
const Result<void>& LoadLazyLibraryOnce() {
  static const Result<void>* loaded = new Result<void>(LoadLazyLibrary(L));  // Never freed.
  return *loaded;
}

/// The body of L's resolver (the function its trampolines call with an index): loads L once
/// and returns the entry, or ends the process as LazyResolveOrDie does.
template <const LazyLibrary& L>
void* LazyResolve(size_t index) {
  return LazyResolveOrDie(L, LoadLazyLibraryOnce<L>(), index);
}

}  // namespace skillrt

/// Defines the resolver NAME's trampolines call with the index of the function called
/// (`skillrt_lazy_NAME_resolve`, hidden), for LIBRARY, a LazyLibrary constant. At global scope.
#define SKILLRT_LAZY_LIBRARY_RESOLVER(NAME, LIBRARY)                                        \
  extern "C" __attribute__((visibility("hidden"))) void* skillrt_lazy_##NAME##_resolve(     \
      size_t index) {                                                                       \
    return ::skillrt::LazyResolve<LIBRARY>(index);                                          \
  }

#endif  // SKILLRT_UTIL_LAZY_LIBRARY_H_
