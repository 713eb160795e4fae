// Nettle loaded at its first call (util/lazy_library.h): the SHA-256, HMAC-SHA-256 and
// constant-time comparison functions skillrt/sha256.h uses. Nettle is part of every Debian
// system (apt and GnuTLS depend on it); a process that cannot load it ends at its first hash
// with the reason (LazyResolveOrDie), as a binary linking it would not start.
#ifdef SKILLRT_LAZY_LINKED

#include <cstddef>

#include "util/lazy_library.h"

// The trampolines' table (util/lazy_trampolines_x86_64.S, through the generated wrapper).
extern "C" void* skillrt_lazy_nettle_table[];

namespace skillrt {
namespace {

constexpr const char* kNames[] = {
#define SKILLRT_LAZY_FUNCTION(name, index) #name,
#include <lazy_nettle_symbols.inc>  // Generated at configure time.
#undef SKILLRT_LAZY_FUNCTION
};

constexpr LazyLibrary kNettle = {.file = "libnettle.so.8",
                                 .where_from = "Debian's libnettle8 package",
                                 .names = kNames,
                                 .count = sizeof(kNames) / sizeof(kNames[0]),
                                 .table = skillrt_lazy_nettle_table};

}  // namespace
}  // namespace skillrt

SKILLRT_LAZY_LIBRARY_RESOLVER(nettle, skillrt::kNettle)

#endif
