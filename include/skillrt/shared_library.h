// Loading a shared library when it is first needed rather than when the process starts
// (dlopen(3), dlsym(3)), for libraries that most commands never call: the dynamic linker
// then maps, relocates and initialises them, and the libraries they bring, only in the
// processes that use them.
#ifndef SKILLRT_SHARED_LIBRARY_H_
#define SKILLRT_SHARED_LIBRARY_H_

#include <string>

#include "skillrt/error.h"

namespace skillrt {

/// A library opened with dlopen(`soname`, RTLD_NOW | RTLD_LOCAL): found the way the dynamic
/// linker finds the libraries a program is linked with (ld.so(8): LD_LIBRARY_PATH, the
/// ld.so.cache, the default directories), every symbol resolved at once. It is never
/// closed: the functions taken from it stay valid for the life of the process. Copyable
/// (a view of the process-wide handle); thread-safe.
class SharedLibrary {
 public:
  /// Opens `soname` (e.g. "libcurl.so.4"). kUnsupported with dlerror(3)'s message when it
  /// cannot be loaded.
  static Result<SharedLibrary> Open(const char* soname);

  /// Stores the address of the function `name` in `*function`. kUnsupported naming the
  /// library and the symbol when it has no such symbol.
  /// REQUIRES: F is the function's pointer type (decltype(&name) of the library's header).
  template <typename F>
  Result<void> Find(const char* name, F* function) const {
    auto address = Symbol(name);
    if (!address) return std::unexpected(address.error());
    *function = reinterpret_cast<F>(*address);
    return {};
  }

  const std::string& soname() const { return soname_; }

 private:
  SharedLibrary(void* handle, std::string soname) : handle_(handle), soname_(std::move(soname)) {}
  Result<void*> Symbol(const char* name) const;

  void* handle_;  // From dlopen; never closed.
  std::string soname_;
};

}  // namespace skillrt

#endif  // SKILLRT_SHARED_LIBRARY_H_
