// The disk cache of compiled WebAssembly: Wasmtime's serialized modules and components,
// one file per key, checked before use. Plain file handling; Wasmtime itself is not used here.
#ifndef SKILLRT_WASM_COMPILE_CACHE_H_
#define SKILLRT_WASM_COMPILE_CACHE_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "skillrt/error.h"

namespace skillrt::wasm {

/// A directory of entries `<key>.cwasm`, each holding a fixed header (magic, the sha256 of
/// the payload) and the payload: bytes that Wasmtime's serialize produced.
///
/// Deserializing is only safe for bytes Wasmtime itself wrote, so an entry is used only if
/// the directory and the file are owned by the effective user and not writable by group or
/// others, and the payload matches its checksum; anything else reads as a miss (and is
/// replaced by the next Store). Entries are written to a temporary file and renamed, so a
/// reader never sees half an entry. Thread-safe: no state beyond the path.
class CompileCache {
 public:
  /// `dir` is created (mode 0700) on the first Store. An empty path disables the cache.
  explicit CompileCache(std::filesystem::path dir) : dir_(std::move(dir)) {}

  bool enabled() const { return !dir_.empty(); }

  /// Returns the payload stored under `key` ([0-9a-f]{64}), or nullopt on a miss or an entry
  /// that fails any check. Reads at most `max_bytes` of payload.
  std::optional<std::vector<uint8_t>> Load(std::string_view key, uint64_t max_bytes) const;

  /// Stores `payload` under `key`. Errors: kIo (directory or file could not be written),
  /// kSandbox (the directory exists but is not private to the effective user).
  Result<void> Store(std::string_view key, const std::vector<uint8_t>& payload) const;

  /// The entry's file name.
  std::filesystem::path PathOf(std::string_view key) const { return dir_ / (std::string(key) + ".cwasm"); }

 private:
  std::filesystem::path dir_;
};

}  // namespace skillrt::wasm

#endif  // SKILLRT_WASM_COMPILE_CACHE_H_
