// Prepared Python environments under <home>/envs (include/skillrt/dependencies.h,
// docs/dependencies.md "Preparing").
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <string>
#include <system_error>

#include <nlohmann/json.hpp>

#include "container/engine_cli.h"
#include "skillrt/dependencies.h"
#include "skillrt/atomic_file.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;

// The sandbox's PATH (plan_builder.cc), searched in order for the interpreter it would run.
constexpr std::array<const char*, 3> kSandboxBinDirs = {"/usr/local/bin", "/usr/bin", "/bin"};
// How long one installation may take before it is stopped.
constexpr std::chrono::minutes kInstallTimeout{10};
constexpr const char* kMetadataFile = "skillrt-env.json";
constexpr const char* kSitePackages = "site-packages";

// The first executable `name` on $PATH, or empty.
std::string FindOnHostPath(std::string_view name) {
  const char* path = ::getenv("PATH");
  if (path == nullptr) return {};
  std::string_view dirs(path);
  while (!dirs.empty()) {
    const size_t colon = dirs.find(':');
    const std::string_view dir = dirs.substr(0, colon);
    dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
    if (dir.empty() || dir.front() != '/') continue;
    const std::string candidate = std::string(dir) + "/" + std::string(name);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

// Sets the permission bits of everything under `dir` (and `dir`): read-only with
// `writable == false` (directories 0555, files 0444 or 0555 when executable), else the owner
// may write again (to remove a replaced environment). Symbolic links are left alone.
Result<void> SetTreeWritable(const fs::path& dir, bool writable) {
  auto apply = [writable](const fs::path& path) -> Result<void> {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
      return FailErrno(ErrorCode::kIo, "lstat(" + path.string() + ")", errno);
    }
    if (S_ISLNK(st.st_mode)) return {};
    mode_t mode;
    if (S_ISDIR(st.st_mode)) {
      mode = writable ? 0755 : 0555;
    } else {
      const bool exec = (st.st_mode & S_IXUSR) != 0;
      mode = writable ? (exec ? 0755 : 0644) : (exec ? 0555 : 0444);
    }
    if (::chmod(path.c_str(), mode) != 0) {
      return FailErrno(ErrorCode::kIo, "chmod(" + path.string() + ")", errno);
    }
    return {};
  };
  std::error_code ec;
  // Made writable from the top down (to reach the entries), read-only from the bottom up.
  if (writable) {
    if (auto ok = apply(dir); !ok) return ok;
  }
  std::vector<fs::path> dirs;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      dirs.push_back(it->path());
      if (writable) {
        if (auto ok = apply(it->path()); !ok) return ok;
      }
      continue;
    }
    if (auto ok = apply(it->path()); !ok) return ok;
  }
  if (ec) return FailErrno(ErrorCode::kIo, "readdir(" + dir.string() + ")", ec.value());
  if (!writable) {
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
      if (auto ok = apply(*it); !ok) return ok;
    }
    if (auto ok = apply(dir); !ok) return ok;
  }
  return {};
}

void RemoveTree(const fs::path& dir) {
  std::error_code ec;
  (void)SetTreeWritable(dir, true);
  fs::remove_all(dir, ec);
}

// "name==version" of every distribution pip or uv put in `site` (its *.dist-info folders).
std::vector<std::string> InstalledPackages(const fs::path& site) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(site, ec)) {
    const std::string name = entry.path().filename().string();
    constexpr std::string_view kSuffix = ".dist-info";
    if (!name.ends_with(kSuffix)) continue;
    const std::string stem = name.substr(0, name.size() - kSuffix.size());
    const size_t dash = stem.find('-');
    out.push_back(dash == std::string::npos ? stem
                                            : stem.substr(0, dash) + "==" + stem.substr(dash + 1));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A name for a staging directory no other process uses.
std::string StagingName(const std::string& id) {
  static std::atomic<uint64_t> counter{0};
  return ".tmp-" + id.substr(0, 16) + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(counter.fetch_add(1));
}

}  // namespace

Result<PythonInterpreter> FindSandboxPython() {
  for (const char* dir : kSandboxBinDirs) {
    const fs::path candidate = fs::path(dir) / "python3";
    if (::access(candidate.c_str(), X_OK) != 0) continue;
    std::error_code ec;
    fs::path resolved = fs::canonical(candidate, ec);
    if (ec) return FailErrno(ErrorCode::kIo, "realpath(" + candidate.string() + ")", ec.value());
    const std::string name = resolved.filename().string();
    if (name.starts_with("python3.") && name.size() > 8 &&
        name.find_first_not_of("0123456789", 8) == std::string::npos) {
      return PythonInterpreter{.path = resolved, .version = name.substr(6)};
    }
    auto asked = container::RunEngineCommand(
        {resolved.string(), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"},
        std::chrono::seconds(10));
    if (!asked) return std::unexpected(asked.error());
    if (asked->exit_code != 0) {
      return Fail(ErrorCode::kIo, resolved.string() + " could not tell its version: " +
                                      container::LastLine(asked->err));
    }
    return PythonInterpreter{.path = resolved, .version = container::LastLine(asked->out)};
  }
  return Fail(ErrorCode::kNotFound,
              "no python3 in /usr/local/bin, /usr/bin or /bin, where the sandbox looks for it");
}

Result<std::optional<PythonEnvironment>> FindPythonEnvironment(
    const fs::path& home, const std::vector<std::string>& requirements) {
  if (requirements.empty()) return std::optional<PythonEnvironment>();
  auto python = FindSandboxPython();
  if (!python) return std::unexpected(python.error());
  const std::string id = PythonEnvironmentId(requirements, python->version);
  const fs::path dir = home / "envs" / id;
  std::error_code ec;
  if (!fs::is_regular_file(dir / kMetadataFile, ec) || !fs::is_directory(dir / kSitePackages, ec)) {
    return std::optional<PythonEnvironment>();
  }
  return std::optional<PythonEnvironment>(
      PythonEnvironment{.id = id, .dir = dir, .requirements = requirements});
}

Result<PrepareResult> PreparePython(const fs::path& home,
                                    const std::vector<std::string>& requirements,
                                    const PrepareOptions& options) {
  if (requirements.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "no Python requirements to prepare");
  }
  const auto started = std::chrono::steady_clock::now();
  auto python = FindSandboxPython();
  if (!python) return std::unexpected(python.error());
  PrepareResult result;
  result.python = python->path.string() + " (" + python->version + ")";
  result.environment.id = PythonEnvironmentId(requirements, python->version);
  result.environment.requirements = requirements;
  const fs::path envs = home / "envs";
  const fs::path dir = envs / result.environment.id;
  result.environment.dir = dir;
  auto finish = [&]() -> Result<PrepareResult> {
    result.packages = InstalledPackages(dir / kSitePackages);
    result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    return result;
  };
  std::error_code ec;
  if (!options.force && fs::is_regular_file(dir / kMetadataFile, ec)) return finish();

  fs::create_directories(envs, ec);
  if (ec) return FailErrno(ErrorCode::kIo, "mkdir(" + envs.string() + ")", ec.value());
  const fs::path staging = envs / StagingName(result.environment.id);
  if (!fs::create_directory(staging, ec) || ec) {
    return FailErrno(ErrorCode::kIo, "mkdir(" + staging.string() + ")", ec.value());
  }
  struct Cleanup {
    const fs::path& path;
    bool keep = false;
    ~Cleanup() {
      if (!keep) RemoveTree(path);
    }
  } cleanup{staging};

  // Wheels only: a source distribution would run its build code on the host while
  // installing; a wheel is unpacked. The index is the user's, never the skill's.
  std::vector<std::string> argv;
  const std::string target = (staging / kSitePackages).string();
  if (std::string uv = FindOnHostPath("uv"); !uv.empty()) {
    result.installer = "uv (" + uv + ")";
    argv = {uv, "pip", "install", "--quiet", "--python", python->path.string(), "--target",
            target, "--only-binary", ":all:"};
  } else {
    result.installer = "pip (" + python->path.string() + " -m pip)";
    argv = {python->path.string(), "-m", "pip", "install", "--quiet", "--no-input",
            "--disable-pip-version-check", "--no-warn-script-location",
            "--root-user-action=ignore", "--target", target, "--only-binary=:all:"};
  }
  if (!options.index_url.empty()) {
    argv.push_back("--index-url");
    argv.push_back(options.index_url);
  }
  argv.insert(argv.end(), requirements.begin(), requirements.end());
  auto ran = container::RunEngineCommand(argv, kInstallTimeout);
  if (!ran) return std::unexpected(ran.error());
  if (ran->exit_code != 0) {
    std::string why = container::LastLine(ran->err);
    if (why.empty()) why = container::LastLine(ran->out);
    return Fail(ErrorCode::kIo, result.installer + " failed" +
                                    (ran->timed_out ? " (timed out)" : "") + ": " + why);
  }

  nlohmann::json metadata = {
      {"id", result.environment.id},
      {"python", python->path.string()},
      {"python_version", python->version},
      {"requirements", requirements},
      {"index_url", options.index_url.empty() ? nlohmann::json(nullptr)
                                              : nlohmann::json(options.index_url)},
      {"installer", result.installer},
      {"packages", InstalledPackages(staging / kSitePackages)},
  };
  if (auto ok = WriteFileAtomic(staging / kMetadataFile, metadata.dump(2) + "\n", 0444); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = SetTreeWritable(staging, false); !ok) return std::unexpected(ok.error());
  // Into place in one step: whoever looks sees no environment or a complete one.
  if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, dir.c_str(), RENAME_NOREPLACE) == 0) {
    cleanup.keep = true;
    result.created = true;
    return finish();
  }
  if (errno != EEXIST) {
    return FailErrno(ErrorCode::kIo, "rename(" + staging.string() + ", " + dir.string() + ")",
                     errno);
  }
  if (!options.force) return finish();  // Prepared meanwhile by another process: keep it.
  if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) != 0) {
    return FailErrno(ErrorCode::kIo, "renameat2(" + staging.string() + ", " + dir.string() +
                                         ", RENAME_EXCHANGE)", errno);
  }
  // `staging` now holds the replaced environment; Cleanup removes it.
  result.created = true;
  return finish();
}

}  // namespace skillrt
