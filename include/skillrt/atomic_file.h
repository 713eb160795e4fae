// Replacing a file's contents so that readers see the old file or the new one, never half of
// either: write a temporary file beside it, fsync, rename(2) over the target, fsync the
// directory (rename(2), fsync(2)).
#ifndef SKILLRT_ATOMIC_FILE_H_
#define SKILLRT_ATOMIC_FILE_H_

#include <sys/types.h>

#include <filesystem>
#include <string_view>

#include "skillrt/error.h"

namespace skillrt {

/// Writes `data` to `path` atomically with permission bits `mode` (applied with fchmod, so
/// the umask does not widen or narrow them). The temporary file is `<path>.tmp-<pid>-<n>` in
/// the same directory and is removed on failure. Thread-safe for distinct paths; concurrent
/// writers of one path each leave a complete file (the last rename wins). Errors: kIo naming
/// the call and the path.
Result<void> WriteFileAtomic(const std::filesystem::path& path, std::string_view data,
                             mode_t mode);

}  // namespace skillrt

#endif  // SKILLRT_ATOMIC_FILE_H_
