// Remembering what `<engine> info` said, so that a process that makes a container runtime for
// one run (the CLI) does not pay the engine's start-up twice per run (`podman info` takes
// 0.1-0.3 s, as long as the run itself).
//
// An entry is keyed by everything the answer depends on that skillrt can see without asking
// the engine: the engine binary (path, device, inode, size, modification and change times),
// the effective user, the environment variables that point the engine elsewhere and the
// engine's configuration files (device, inode, size, modification time, or their absence).
// An entry whose key differs, that is older than its maximum age, that cannot be parsed, or
// that is not a private regular file of the effective user is not trusted: the engine is
// probed again and the entry rewritten. Only successful probes are stored, so an engine that
// could not run containers is asked again on the next run.
#ifndef SKILLRT_CONTAINER_PROBE_CACHE_H_
#define SKILLRT_CONTAINER_PROBE_CACHE_H_

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "container/engine_cli.h"
#include "skillrt/error.h"

namespace skillrt::container {

/// The longest a stored probe is trusted, even when its key still matches: a daemon or a
/// storage setting can change without touching any file in the key.
inline constexpr std::chrono::seconds kProbeCacheMaxAge{3600};

/// The key of a probe of the engine at `path`: one line per fact, compared byte for byte.
/// std::nullopt when the binary cannot be stat(2)ed or a fact holds a newline (such an
/// engine is probed every time). Thread-safe.
std::optional<std::string> ProbeKey(const std::string& path);

/// The file under `dir` that holds the probe of the engine at `path` (one file per path).
std::filesystem::path ProbeCacheFile(const std::filesystem::path& dir, const std::string& path);

/// The stored probe for `key` in `file`, or std::nullopt when there is none to trust (see the
/// file comment). `now` is the current time (a parameter so that tests can age an entry).
/// Never fails: any problem with the file means "probe again". Thread-safe.
std::optional<EngineInfo> ReadProbe(const std::filesystem::path& file, const std::string& key,
                                    std::chrono::system_clock::time_point now);

/// Stores `info` for `key` in `file` atomically (skillrt/atomic_file.h), mode 0600, creating its
/// directory with mode 0700. kIo when the directory or the file cannot be written.
Result<void> WriteProbe(const std::filesystem::path& file, const std::string& key,
                        const EngineInfo& info, std::chrono::system_clock::time_point now);

/// FindEngine's path probed through the cache in `cache_dir`: a trusted entry is used as it
/// is, otherwise ProbeEngine runs and its success is stored (a failure to store is ignored:
/// the probe itself succeeded). An empty `cache_dir` probes every time. Errors: those of
/// ProbeEngine. Thread-safe.
Result<EngineInfo> ProbeEngineCached(const std::string& path,
                                     const std::filesystem::path& cache_dir);

/// Forgets the stored probe of the engine at `path` (after the engine failed in a way that
/// says the probe may no longer hold). Missing entries are fine. Thread-safe.
void ForgetProbe(const std::filesystem::path& cache_dir, const std::string& path);

}  // namespace skillrt::container

#endif  // SKILLRT_CONTAINER_PROBE_CACHE_H_
