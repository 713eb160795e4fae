# Precompiled headers for the C++ targets (docs/benchmarks.md, "The first command on a fresh
# machine"). Most of skillrt's translation units include, through include/skillrt/, the same
# heavy headers: nlohmann/json (138 of the main job's 188 units) and the standard library's
# <filesystem>, <chrono>, <ranges>, <functional>, <map> (140-165 of them). Parsing took 17-40%
# of a unit's compile time (-ftime-report); a precompiled header parses them once per target.
# Included by CMakeLists.txt after every target is defined; SKILLRT_PCH=OFF turns it off.
#
# A header here is seen by every unit of the target (it is force-included with -include):
# list only headers that do not change the meaning of the code that includes them.
option(SKILLRT_PCH "Precompile the headers most translation units include" ON)
if(NOT SKILLRT_PCH)
  return()
endif()

set(SKILLRT_PCH_HEADERS
  <algorithm> <chrono> <expected> <filesystem> <functional> <map> <memory> <mutex>
  <optional> <ranges> <span> <sstream> <string> <string_view> <thread> <unordered_map>
  <variant> <vector>
  <nlohmann/json.hpp>)

# g++ 12 reports its false -Warray-bounds and -Wstringop-* warnings inside libstdc++'s inlined
# string code (GCC bugs 105329, 107852) as this code's own when libstdc++ comes from a
# precompiled header, whose system-header marking the late warnings do not see; the warnings
# stay on for g++ 13 and later and without precompiled headers.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  set(SKILLRT_PCH_OPTIONS -Wno-array-bounds -Wno-stringop-overflow -Wno-stringop-overread)
endif()

# Gives TARGET its precompiled header (ARGN: what target_precompile_headers takes after the
# target) with the options above. ccache caches a unit compiled with a precompiled header only
# when its sloppiness allows it (CMake includes the header with -include, which ccache needs
# too): a ccache launcher is run through cmake/pch-launcher.sh, which sets that.
function(skillrt_precompile target)
  target_precompile_headers(${target} ${ARGN})
  target_compile_options(${target} PRIVATE ${SKILLRT_PCH_OPTIONS})
  get_target_property(launcher ${target} CXX_COMPILER_LAUNCHER)
  if(launcher MATCHES "ccache")
    set_target_properties(${target} PROPERTIES CXX_COMPILER_LAUNCHER
      "${CMAKE_SOURCE_DIR}/cmake/pch-launcher.sh;${launcher}")
  endif()
endfunction()

# One precompiled header per set of compile flags: the library (position-independent, for the
# Python module), the CLI's units (whose two executables reuse it: their flags differ only by a
# macro the header does not use), the Python module (nanobind's flags), the test suite (which
# adds GoogleTest's header).
skillrt_precompile(skillrt PRIVATE ${SKILLRT_PCH_HEADERS})
skillrt_precompile(skillrt_cli_common PRIVATE ${SKILLRT_PCH_HEADERS})
skillrt_precompile(skillrt_cli REUSE_FROM skillrt_cli_common)
skillrt_precompile(skillrt_serve REUSE_FROM skillrt_cli_common)
if(TARGET _skillrt)
  skillrt_precompile(_skillrt PRIVATE ${SKILLRT_PCH_HEADERS})
endif()
if(TARGET skillrt_tests)
  skillrt_precompile(skillrt_tests PRIVATE ${SKILLRT_PCH_HEADERS} <gtest/gtest.h>)
endif()
