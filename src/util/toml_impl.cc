// toml++'s parser and printer, compiled once, into skillrt itself (toml++'s "compiled library"
// mode: every other file includes its headers with TOML_HEADER_ONLY=0, set by the build, and
// this one defines TOML_IMPLEMENTATION). Debian's libtomlplusplus.so is not linked: a short
// command then needs one C++ shared library less, and none at all where the build links the
// C++ runtime statically (CMakeLists.txt, SKILLRT_STATIC_CXX).
#define TOML_IMPLEMENTATION
#include <toml++/toml.h>
