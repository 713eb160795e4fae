// The module file of a WebAssembly call: the skill directory opened once per call, the module
// opened beneath it, read only when its contents are not known already.
#ifndef SKILLRT_WASM_MODULE_FILE_H_
#define SKILLRT_WASM_MODULE_FILE_H_

#include <sys/stat.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "skillrt/error.h"
#include "skillrt/plan.h"
#include "skillrt/fd.h"

namespace skillrt::wasm {

/// What a file holds, from its 8-byte preamble: "\0asm" and a version (1 for a core module),
/// then a layer (0 for a module, 1 for a component; WebAssembly core spec 5.5.16 and the
/// component model's Binary.md).
enum class BinaryKind { kModule, kComponent, kUnknown };

/// The kind named by the first bytes of a file (at least 8 of them, else kUnknown).
BinaryKind KindOf(const uint8_t* bytes, size_t size);

/// Opens skill directories (O_PATH | O_DIRECTORY) for calls. A plan's pin (plan.h) is reopened
/// as it is (runtime/path_pin.h: no symbolic link followed, the same object). A hand-built
/// plan without one is resolved the first time; when its path needed no resolving (absolute,
/// no symbolic link, the kernel's own name for the directory), the pin is kept and later calls
/// only reopen it, which is exactly as strict as resolving again; any other path is resolved
/// at every call. Thread-safe.
class SkillDirOpener {
 public:
  /// The directory's descriptor, owned by the caller. Errors: those of PinHostPath and
  /// ReopenPinned (kNotFound, kConflict when it changed since the plan was made, kIo).
  Result<UniqueFd> Open(const Plan& plan);

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, PathPin> pins_;  // Guarded by mutex_; bounded.
};

/// The module file of a call, opened and checked: inside the skill directory, a regular
/// file, within the size limit.
struct ModuleFile {
  UniqueFd fd;
  struct stat st;    ///< fstat(2) of `fd`, taken before anything was read.
  std::string path;  ///< For messages.
};

/// Opens the plan's module: plan.wasm_component when set (an absolute path the engine chose,
/// opened without following a final symbolic link), else plan.argv[0] relative to
/// `skill_dir_fd` with openat2(2) RESOLVE_BENEATH, so that neither `..` nor a symbolic link
/// can lead out of the skill directory (links inside it are followed). O_NONBLOCK, so that a
/// FIFO planted in place of the module does not block the open (fifo(7)); it is then refused.
/// Errors: kValidation (argv[0] absolute or with "..", a path leaving the directory, not a
/// regular file, more than `max_bytes`); kNotFound (no such file); kInvalidArgument (a
/// relative wasm_component); kIo.
Result<ModuleFile> OpenModuleFile(const Plan& plan, int skill_dir_fd, uint64_t max_bytes);

/// All of the file's bytes (pread(2) from 0; the size fstat gave). Errors: kIo.
Result<std::vector<uint8_t>> ReadModule(const ModuleFile& file);

/// The kind named by the file's first 8 bytes (one pread(2)); kUnknown when unreadable.
BinaryKind ReadKind(const ModuleFile& file);

}  // namespace skillrt::wasm

#endif  // SKILLRT_WASM_MODULE_FILE_H_
