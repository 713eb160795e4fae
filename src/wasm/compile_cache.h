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
/// reader never sees half an entry.
///
/// The directory is bounded: after each Store, the least recently used entries are removed
/// until the entries together take at most `max_bytes`. An entry's mtime is its last use (set
/// when it is written and at every Load that returns it), so the order holds across processes
/// sharing the directory. Temporary files left by a writer that died are removed once they are
/// an hour old. Thread-safe and safe across processes: no state beyond the path; a reader
/// holding an entry open keeps reading it after it is removed.
class CompileCache {
 public:
  /// Default bound of the directory, in bytes.
  static constexpr uint64_t kDefaultMaxBytes = 512ull << 20;

  /// `dir` is created (mode 0700) on the first Store. An empty path disables the cache.
  /// `max_bytes`: the most the entries may take together (file sizes).
  explicit CompileCache(std::filesystem::path dir, uint64_t max_bytes = kDefaultMaxBytes)
      : dir_(std::move(dir)), max_bytes_(max_bytes) {}

  bool enabled() const { return !dir_.empty(); }

  /// Returns the payload stored under `key` ([0-9a-f]{64}), or nullopt on a miss or an entry
  /// that fails any check (a non-regular file among them: it is opened without blocking and
  /// never read). Reads at most `max_bytes` of payload. Marks the entry as just used.
  std::optional<std::vector<uint8_t>> Load(std::string_view key, uint64_t max_bytes) const;

  /// Stores `payload` under `key`, then evicts least recently used entries past the bound.
  /// An entry larger than the whole bound is not stored. Errors: kIo (directory or file could
  /// not be written), kSandbox (the directory exists but is not private to the effective
  /// user).
  Result<void> Store(std::string_view key, const std::vector<uint8_t>& payload) const;

  /// Removes least recently used entries (oldest mtime first) until the rest take at most
  /// the bound, and temporary files older than an hour. Returns the bytes the entries take
  /// afterwards. Called by Store; errors are ignored (a cache that cannot shrink is only big).
  uint64_t Evict() const;

  /// The entry's file name.
  std::filesystem::path PathOf(std::string_view key) const { return dir_ / (std::string(key) + ".cwasm"); }

 private:
  std::filesystem::path dir_;
  uint64_t max_bytes_;
};

}  // namespace skillrt::wasm

#endif  // SKILLRT_WASM_COMPILE_CACHE_H_
