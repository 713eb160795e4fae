#include "skillrt/shared_library.h"

#include <dlfcn.h>

namespace skillrt {

Result<SharedLibrary> SharedLibrary::Open(const char* soname) {
  void* handle = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    return Fail(ErrorCode::kUnsupported, std::string("cannot load ") + soname + ": " +
                                             (why != nullptr ? why : "dlopen failed"));
  }
  return SharedLibrary(handle, soname);
}

Result<void*> SharedLibrary::Symbol(const char* name) const {
  ::dlerror();  // dlsym may rightly return null; only dlerror tells a failure apart.
  void* address = ::dlsym(handle_, name);
  if (const char* why = ::dlerror(); why != nullptr || address == nullptr) {
    return Fail(ErrorCode::kUnsupported, soname_ + " has no function " + name +
                                             (why != nullptr ? std::string(": ") + why : ""));
  }
  return address;
}

}  // namespace skillrt
