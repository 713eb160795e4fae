# The Python extension module `skillrt._skillrt` (nanobind), built from the same `skillrt`
# library target as the CLI. Included by CMakeLists.txt when SKILLRT_BUILD_PYTHON is on; the
# wheel (pyproject.toml, scikit-build-core) builds and installs the same target.
#
# The interpreter: the one scikit-build-core names (Python_EXECUTABLE), else the test
# environment <build>/pyenv made by scripts/python-env.sh, which holds nanobind.
if(NOT Python_EXECUTABLE AND EXISTS "${CMAKE_BINARY_DIR}/pyenv/bin/python")
  set(Python_EXECUTABLE "${CMAKE_BINARY_DIR}/pyenv/bin/python")
endif()
find_package(Python 3.10 COMPONENTS Interpreter Development.Module REQUIRED)
execute_process(
  COMMAND "${Python_EXECUTABLE}" -m nanobind --cmake_dir
  OUTPUT_VARIABLE nanobind_cmake_dir OUTPUT_STRIP_TRAILING_WHITESPACE
  RESULT_VARIABLE nanobind_rc ERROR_QUIET)
if(NOT nanobind_rc EQUAL 0)
  message(FATAL_ERROR "SKILLRT_BUILD_PYTHON: nanobind is not installed for ${Python_EXECUTABLE}; "
    "run scripts/python-env.sh ${CMAKE_BINARY_DIR} (or configure with -DSKILLRT_BUILD_PYTHON=OFF)")
endif()
find_package(nanobind CONFIG REQUIRED PATHS "${nanobind_cmake_dir}" NO_DEFAULT_PATH)

# A shared module can only hold position-independent code; the CLI, tests and probes keep
# their own flags.
set_target_properties(skillrt PROPERTIES POSITION_INDEPENDENT_CODE ON)

file(GLOB SKILLRT_PYTHON_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/python/*.cc)
list(FILTER SKILLRT_PYTHON_SOURCES EXCLUDE REGEX "_test\\.cc$")
# NB_STATIC: nanobind's runtime is linked into the module (one module, no shared libnanobind).
nanobind_add_module(_skillrt NB_STATIC ${SKILLRT_PYTHON_SOURCES})
target_include_directories(_skillrt PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(_skillrt PRIVATE skillrt)
# In the build tree the module sits beside nothing else, under <build>/python.
set_target_properties(_skillrt PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/python)
install(TARGETS _skillrt LIBRARY DESTINATION skillrt COMPONENT python)
# A shared Wasmtime (docs/wasmtime.md) travels in the wheel beside the module, which finds it
# through its rpath; in the build tree the module's rpath names <build>/wasmtime.
get_target_property(skillrt_wasmtime_type wasmtime TYPE)
if(skillrt_wasmtime_type STREQUAL "SHARED_LIBRARY")
  set_target_properties(_skillrt PROPERTIES INSTALL_RPATH "$ORIGIN")
  install(IMPORTED_RUNTIME_ARTIFACTS wasmtime LIBRARY DESTINATION skillrt COMPONENT python)
endif()
