// The disk cache of compiled WebAssembly: Wasmtime's serialized modules and components, one
// file per key, checked before use; and the content stamps that let a new process find a
// module's key without reading the module. Plain file handling; Wasmtime itself is not used
// here.
#ifndef SKILLRT_WASM_COMPILE_CACHE_H_
#define SKILLRT_WASM_COMPILE_CACHE_H_

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "skillrt/error.h"
#include "skillrt/fd.h"

namespace skillrt::wasm {

/// What identifies a file's contents without reading them (stat(2)): a new inode, size,
/// mtime or ctime means new contents. ctime cannot be set by anyone: every write, truncation,
/// rename over, chmod or utimensat(2) sets it to the current time, so a file rewritten in
/// place with its old mtime and size restored still shows a new ctime.
struct FileIdentity {
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  bool operator==(const FileIdentity&) const = default;

  static FileIdentity Of(const struct stat& st);
};

/// A directory of entries `<key>.cwasm`, each exactly the bytes Wasmtime's serialize
/// produced (an ELF image with Wasmtime's own header: its version and the engine settings it
/// was compiled for, which Wasmtime checks when it loads the entry), and of stamps
/// `<id>.stamp` (see LookupStamp).
///
/// Deserializing is only safe for bytes Wasmtime itself wrote, so an entry is used only if
/// the directory and the file are owned by the effective user and not writable by group or
/// others; anything else reads as a miss (and is replaced by the next Store). Whoever can
/// write an entry despite that (the user, root) can run code as the user anyway, so no
/// checksum is kept against them: reading and hashing an entry costs more than the rest of a
/// new process's first call (a Python component's code is 36 MB). Against a torn entry, every
/// entry is written to a temporary file, synced to the disk and renamed: a reader, or a
/// machine that crashed, sees the whole old entry or the whole new one, never part of one.
/// Entries are never modified in place, so a process that maps one (Open) keeps valid pages
/// after it is replaced or evicted.
///
/// The directory is bounded: after each Store, the least recently used entries are removed
/// until the entries together take at most `max_bytes`. An entry's mtime is its last use (set
/// when it is written and at every Open that returns it), so the order holds across processes
/// sharing the directory. Temporary files left by a writer that died are removed once they are
/// an hour old; stamps past kMaxStamps, oldest first. Thread-safe and safe across processes:
/// no state beyond the path; a reader holding an entry open keeps reading it after it is
/// removed.
class CompileCache {
 public:
  /// Default bound of the directory, in bytes.
  static constexpr uint64_t kDefaultMaxBytes = 512ull << 20;
  /// Stamps kept at most (each under 200 bytes); the oldest beyond are removed by Evict.
  static constexpr size_t kMaxStamps = 4096;
  /// A file whose mtime or ctime is closer to now than this gets no stamp: a change within the
  /// filesystem's timestamp granularity (a few ms on Linux; 1-2 s on some filesystems) could
  /// leave both unchanged, so only a file untouched for longer is known by its stat.
  static constexpr int64_t kStampSettleNs = 2'000'000'000;

  /// `dir` is created (mode 0700) on the first Store. An empty path disables the cache.
  /// `max_bytes`: the most the entries may take together (file sizes).
  explicit CompileCache(std::filesystem::path dir, uint64_t max_bytes = kDefaultMaxBytes)
      : dir_(std::move(dir)), max_bytes_(max_bytes) {}

  bool enabled() const { return !dir_.empty(); }

  /// An entry that passed the checks, open for reading.
  struct Entry {
    UniqueFd fd;         ///< O_RDONLY; owned.
    uint64_t bytes = 0;  ///< The entry's size.
    /// A path naming exactly this open file (/proc/self/fd/N, proc(5)), for an API that takes
    /// a path and maps the file (wasmtime_*_deserialize_file); valid while `fd` is open.
    std::string ProcPath() const { return "/proc/self/fd/" + std::to_string(fd.get()); }
  };

  /// Opens the entry stored under `key` ([0-9a-f]{64}), or nullopt on a miss or an entry that
  /// fails any check (a non-regular file among them: it is opened without blocking and never
  /// read), or one larger than `max_bytes`. Marks the entry as just used. Reads nothing.
  std::optional<Entry> Open(std::string_view key, uint64_t max_bytes) const;

  /// Open, then the entry's bytes. For callers that cannot map the file.
  std::optional<std::vector<uint8_t>> Load(std::string_view key, uint64_t max_bytes) const;

  /// Stores `payload` under `key`, then evicts least recently used entries past the bound.
  /// An entry larger than the whole bound is not stored. Errors: kIo (directory or file could
  /// not be written), kSandbox (the directory exists but is not private to the effective
  /// user).
  Result<void> Store(std::string_view key, const std::vector<uint8_t>& payload) const;

  /// The content hash recorded for the file with `identity` by RecordStamp, or nullopt when
  /// there is none, it records another identity (the file changed: a stamp is found by device
  /// and inode, and must match size, mtime and ctime too), or it fails the checks entries
  /// pass. One open and one read. What the hash means is the caller's (here: the sha256 of the
  /// module's bytes); the stamp only spares reading them again.
  std::optional<std::string> LookupStamp(const FileIdentity& identity) const;

  /// Records that the file with `identity` holds the content `hash` (64 hex digits), which
  /// the caller computed from the bytes it read through a descriptor whose fstat gave
  /// `identity`. Nothing is recorded for a file changed within kStampSettleNs of now (see
  /// there). The directory is made as Store makes it; errors (among them a directory that is
  /// not the effective user's) are ignored: a missing stamp costs reading the file again.
  /// Returns whether a stamp was written.
  bool RecordStamp(const FileIdentity& identity, std::string_view hash) const;

  /// Removes least recently used entries (oldest mtime first) until the rest take at most
  /// the bound, temporary files older than an hour, and the oldest stamps past kMaxStamps.
  /// Returns the bytes the entries take afterwards. Called by Store; errors are ignored (a
  /// cache that cannot shrink is only big).
  uint64_t Evict() const;

  /// The entry's file name.
  std::filesystem::path PathOf(std::string_view key) const { return dir_ / (std::string(key) + ".cwasm"); }

  /// The stamp's file name for a file on device `dev` with inode `ino`.
  std::filesystem::path StampPathOf(uint64_t dev, uint64_t ino) const;

 private:
  // Writes `data` to a temporary file in the directory (created private if missing), made
  // durable when `sync`, and renames it to `path`.
  Result<void> WriteAtomically(const std::filesystem::path& path, const uint8_t* data,
                               size_t size, bool sync) const;

  std::filesystem::path dir_;
  uint64_t max_bytes_;
};

}  // namespace skillrt::wasm

#endif  // SKILLRT_WASM_COMPILE_CACHE_H_
