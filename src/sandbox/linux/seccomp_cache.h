// The compiled seccomp program kept between processes. Building it with libseccomp (rule by
// rule, with the kernel probed for the actions and flags it supports) takes about a
// millisecond, as long as the rest of a short `skillrt exec` before the sandbox; the program
// only changes with the filter's code, libseccomp and the kernel. So the first process keeps
// it in a file under the engine's home, and the next ones use it after checking that only
// this user (or root) could have written it and that it is whole (docs/sandbox.md, "The
// seccomp filter").
#ifndef SKILLRT_SANDBOX_LINUX_SECCOMP_CACHE_H_
#define SKILLRT_SANDBOX_LINUX_SECCOMP_CACHE_H_

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "sandbox/linux/seccomp.h"
#include "skillrt/error.h"

namespace skillrt::seccomp_cache {

/// What a kept program must have been made for: this build of the filter's code (the GNU
/// build ID of the executable or library that holds it, ld(1) --build-id), the libseccomp
/// version (seccomp_version(3)) and the kernel (uname(2): release, version, machine). Empty
/// when the object has no build ID: nothing is then kept or used. Thread-safe.
std::string Key();

/// The program kept in `dir` for `key`, or nullopt when there is none that can be trusted:
/// `dir` and the file must be owned by this process's effective user and writable by no one
/// else (neither followed through a symbolic link), the file must name exactly `key`, and
/// its SHA-256 must match its contents. Never an error: the caller compiles instead.
/// Thread-safe.
std::optional<seccomp::Program> Load(const std::filesystem::path& dir, std::string_view key);

/// Keeps `program` for `key` in `dir` (created with mode 0700 if missing), written whole or
/// not at all (WriteFileAtomic), mode 0600. Errors: kIo naming the call, or when `dir` is not
/// one Load would trust (owned by another user, writable by others, a symbolic link).
/// Thread-safe.
/// REQUIRES: key is not empty and has no newline.
Result<void> Store(const std::filesystem::path& dir, std::string_view key,
                   const seccomp::Program& program);

/// The file in `dir` that holds the program for `key` (for tests).
std::filesystem::path PathFor(const std::filesystem::path& dir, std::string_view key);

}  // namespace skillrt::seccomp_cache

#endif  // SKILLRT_SANDBOX_LINUX_SECCOMP_CACHE_H_
