// libseccomp loaded at its first call (seccomp.h LoadLibrary, util/lazy_library.h).
#include "sandbox/linux/seccomp.h"

#ifdef SKILLRT_LAZY_LINKED

#include <cstddef>

#include "util/lazy_library.h"

// The trampolines' table (util/lazy_trampolines_x86_64.S, through the generated wrapper).
extern "C" void* skillrt_lazy_seccomp_table[];

namespace skillrt::seccomp {
namespace {

constexpr const char* kNames[] = {
#define SKILLRT_LAZY_FUNCTION(name, index) #name,
#include <lazy_seccomp_symbols.inc>  // Generated at configure time.
#undef SKILLRT_LAZY_FUNCTION
};

constexpr LazyLibrary kSeccomp = {.file = "libseccomp.so.2",
                                  .where_from = "Debian's libseccomp2 package",
                                  .names = kNames,
                                  .count = sizeof(kNames) / sizeof(kNames[0]),
                                  .table = skillrt_lazy_seccomp_table};

}  // namespace

Result<void> LoadLibrary() { return LoadLazyLibraryOnce<kSeccomp>(); }

}  // namespace skillrt::seccomp

SKILLRT_LAZY_LIBRARY_RESOLVER(seccomp, skillrt::seccomp::kSeccomp)

#else  // libseccomp is linked into the binary.

namespace skillrt::seccomp {

Result<void> LoadLibrary() { return {}; }

}  // namespace skillrt::seccomp

#endif
