// Python, JavaScript and TypeScript skills built into components of the skillrt world
// (docs/wasm-languages.md): where a built component is kept, how a run finds it, and the
// build itself (`skillrt build`).
//
// A skill whose manifest has a `[wasm]` table is built by an explicit step, never inside a
// run. The component is kept in <home>/cache/wasmlang/<key>.wasm, where <key> is the sha256
// of what it was built from (the toolchain's identity, the [wasm] table, and the skill's
// source files of its language); its compiled code goes into the WebAssembly runtime's disk
// cache at build time, so a run only loads it. A run computes the key again (reading the
// source files: microseconds for a skill's few files) and refuses to start when the component
// for it is missing, telling the user to build.
#ifndef SKILLRT_WASM_BUILD_H_
#define SKILLRT_WASM_BUILD_H_

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "skillrt/error.h"
#include "skillrt/manifest.h"
#include "skillrt/runtime.h"

namespace skillrt {

/// The toolchain's identity, part of every key: a change of a pinned tool or of the guest
/// files (src/wasmlang/guest) must change it, so that no stale component is used.
inline constexpr std::string_view kWasmToolchainId =
    "componentize-py 0.25.1; componentize-js 0.23.0; esbuild 0.28.2; jco 1.35.0; guest 2";

/// The key of the component built from `skill_dir` with `wasm`: sha256 (hex) over
/// kWasmToolchainId, the language, source and dependencies, and every regular file of the
/// language (.py; or .js, .mjs, .json, and for TypeScript also .ts, .mts) under `skill_dir`
/// (hidden directories, node_modules and __pycache__ skipped), by path and content. Errors: kIo (unreadable directory or file),
/// kValidation (more than 10,000 files or 64 MiB of them). Thread-safe.
Result<std::string> WasmSourceKey(const std::filesystem::path& skill_dir, const WasmSource& wasm);

/// <home>/cache/wasmlang/<key>.wasm.
std::filesystem::path WasmComponentPath(const std::filesystem::path& home, const std::string& key);

/// The built component for a run of `skill_name` at `skill_dir`. Errors: kNotFound, with a
/// message telling to run `skillrt build <skill_name>`, when it has not been built or its
/// source changed since; those of WasmSourceKey. Never builds. Thread-safe.
Result<std::filesystem::path> BuiltWasmComponent(const std::filesystem::path& home,
                                             const std::string& skill_name,
                                             const std::filesystem::path& skill_dir,
                                             const WasmSource& wasm);

/// Where the toolchain and the files the build uses are.
struct WasmToolchain {
  /// Made by scripts/wasmlang-env.sh: py/ (componentize-py), js/ (componentize-js,
  /// esbuild), node.
  std::filesystem::path tools;
  /// src/wasmlang: build_component.py and guest/.
  std::filesystem::path sources;
  /// The directory of the skillrt world, wit/.
  std::filesystem::path wit;
};

/// The toolchain: $SKILLRT_WASMLANG_TOOLS, else the build tree's <build>/wasmlang; the
/// sources and wit/ of the source tree skillrt was built from ($SKILLRT_WASMLANG_SOURCES
/// overrides). Errors: kNotFound naming what is missing and the command that installs it.
Result<WasmToolchain> FindWasmToolchain();

/// What a build did.
struct WasmBuildResult {
  std::filesystem::path component;  ///< <home>/cache/wasmlang/<key>.wasm.
  std::string key;                  ///< The source key.
  bool cached = false;              ///< The component was already built: nothing was done.
  std::chrono::milliseconds build_time{0};    ///< Making the component (0 when cached).
  std::string compiled;             ///< PrecompileWasm's answer: "compiled" or "disk cache".
  std::chrono::milliseconds compile_time{0};  ///< Compiling it ahead of time.
  uint64_t component_bytes = 0;
};

/// Builds the skill at `skill_dir` (its manifest's `wasm`) unless its component for the
/// current source exists, then compiles the component into `wasm_options.cache_dir` (the
/// engine's <home>/cache/wasm). Progress lines go to stderr as the build runs. Errors:
/// kValidation with the toolchain's clear message (a syntax error with its line, a missing
/// run function, a dependency that does not exist or cannot be bundled); kNotFound (no
/// toolchain); kIo. Takes an exclusive lock per key, so concurrent builds of one source
/// build once. Not for use inside a run.
Result<WasmBuildResult> BuildWasmSkill(const std::filesystem::path& home,
                               const std::filesystem::path& skill_dir, const WasmSource& wasm,
                               const WasmRuntimeOptions& wasm_options);

}  // namespace skillrt

#endif  // SKILLRT_WASM_BUILD_H_
