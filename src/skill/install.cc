// `skillrt install`: validate, check the tree, copy to a temporary directory, rename into
// place (include/skillrt/install.h).
#include "skillrt/install.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "engine/run_id.h"
#include "skillrt/skill.h"
#include "skillrt/fd.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;

enum class Kind { kFile, kDir, kSymlink };

struct Item {
  std::string rel;  // Relative path, '/'-separated.
  Kind kind = Kind::kFile;
  bool executable = false;
  std::string target = {};  // Symlinks only.
};

// True when `path` is `base` or lies below it (both canonical).
bool Within(const fs::path& base, const fs::path& path) {
  auto [base_end, ignored] = std::mismatch(base.begin(), base.end(), path.begin(), path.end());
  return base_end == base.end();
}

// Lists the tree at `root` (canonical) and checks every entry. Directories come before
// their contents.
Result<std::vector<Item>> Survey(const fs::path& root, const InstallOptions& options) {
  std::vector<Item> items;
  uint64_t bytes = 0;
  std::vector<std::pair<std::string, int>> pending = {{"", 0}};
  while (!pending.empty()) {
    auto [rel_dir, depth] = std::move(pending.back());
    pending.pop_back();
    const fs::path dir = rel_dir.empty() ? root : root / rel_dir;
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) return FailErrno(ErrorCode::kIo, "opendir(" + dir.string() + ")", ec.value());
    for (; it != fs::directory_iterator(); it.increment(ec)) {
      const std::string name = it->path().filename().string();
      const std::string rel = rel_dir.empty() ? name : rel_dir + "/" + name;
      const fs::path full = root / rel;
      if (items.size() >= options.max_entries) {
        return Fail(ErrorCode::kValidation, root.string() + ": more than " +
                                                std::to_string(options.max_entries) +
                                                " entries; a skill this large is refused");
      }
      struct stat st {};
      if (::lstat(full.c_str(), &st) != 0) {
        return FailErrno(ErrorCode::kIo, "lstat(" + full.string() + ")", errno);
      }
      if (S_ISDIR(st.st_mode)) {
        if (depth + 1 > options.max_depth) {
          return Fail(ErrorCode::kValidation, full.string() + ": nested deeper than " +
                                                  std::to_string(options.max_depth) + " levels");
        }
        items.push_back(Item{.rel = rel, .kind = Kind::kDir});
        pending.emplace_back(rel, depth + 1);
      } else if (S_ISREG(st.st_mode)) {
        bytes += static_cast<uint64_t>(st.st_size);
        if (bytes > options.max_bytes) {
          return Fail(ErrorCode::kValidation,
                      root.string() + ": files total more than " +
                          std::to_string(options.max_bytes >> 20) + " MiB; refused");
        }
        items.push_back(Item{.rel = rel, .kind = Kind::kFile,
                             .executable = (st.st_mode & S_IXUSR) != 0});
      } else if (S_ISLNK(st.st_mode)) {
        fs::path target = fs::read_symlink(full, ec);
        if (ec) return FailErrno(ErrorCode::kIo, "readlink(" + full.string() + ")", ec.value());
        // An absolute link would point back at the source (or anywhere) after copying; a
        // relative one must land inside the tree, however many links it passes through.
        if (target.is_absolute()) {
          return Fail(ErrorCode::kDenied, full.string() + ": symlink to the absolute path " +
                                              target.string() + " is refused");
        }
        fs::path resolved = fs::canonical(full, ec);
        if (ec) {
          return Fail(ErrorCode::kDenied, full.string() + ": symlink to " + target.string() +
                                              " does not resolve (dangling links are refused)");
        }
        if (!Within(root, resolved)) {
          return Fail(ErrorCode::kDenied, full.string() + ": symlink to " + target.string() +
                                              " leaves the skill directory");
        }
        items.push_back(Item{.rel = rel, .kind = Kind::kSymlink, .target = target.string()});
      } else {
        return Fail(ErrorCode::kDenied,
                    full.string() + ": special file (FIFO, socket or device) is refused");
      }
    }
    if (ec) return FailErrno(ErrorCode::kIo, "readdir(" + dir.string() + ")", ec.value());
  }
  std::sort(items.begin(), items.end(),
            [](const Item& a, const Item& b) { return a.rel < b.rel; });
  return items;
}

// Copies one regular file, refusing anything that stopped being one since the survey.
Result<void> CopyFile(const fs::path& from, const fs::path& to, bool executable) {
  UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
  if (!in) return FailErrno(ErrorCode::kIo, "open(" + from.string() + ")", errno);
  struct stat st {};
  if (::fstat(in.get(), &st) != 0) {
    return FailErrno(ErrorCode::kIo, "fstat(" + from.string() + ")", errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return Fail(ErrorCode::kDenied, from.string() + ": changed type while installing");
  }
  const mode_t mode = executable ? 0755 : 0644;
  UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!out) return FailErrno(ErrorCode::kIo, "open(" + to.string() + ")", errno);
  std::string buffer(64 << 10, '\0');
  for (;;) {
    ssize_t n = ::read(in.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FailErrno(ErrorCode::kIo, "read(" + from.string() + ")", errno);
    if (n == 0) break;
    std::string_view chunk(buffer.data(), static_cast<size_t>(n));
    while (!chunk.empty()) {
      ssize_t w = ::write(out.get(), chunk.data(), chunk.size());
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return FailErrno(ErrorCode::kIo, "write(" + to.string() + ")", errno);
      chunk.remove_prefix(static_cast<size_t>(w));
    }
  }
  if (::fchmod(out.get(), mode) != 0) {
    return FailErrno(ErrorCode::kIo, "fchmod(" + to.string() + ")", errno);
  }
  if (::fsync(out.get()) != 0) {
    return FailErrno(ErrorCode::kIo, "fsync(" + to.string() + ")", errno);
  }
  return {};
}

Result<void> CopyTree(const fs::path& root, const std::vector<Item>& items, const fs::path& to) {
  for (const Item& item : items) {
    const fs::path src = root / item.rel, dst = to / item.rel;
    switch (item.kind) {
      case Kind::kDir:
        if (::mkdir(dst.c_str(), 0755) != 0) {
          return FailErrno(ErrorCode::kIo, "mkdir(" + dst.string() + ")", errno);
        }
        break;
      case Kind::kFile:
        if (auto copied = CopyFile(src, dst, item.executable); !copied) return copied;
        break;
      case Kind::kSymlink:
        if (::symlink(item.target.c_str(), dst.c_str()) != 0) {
          return FailErrno(ErrorCode::kIo, "symlink(" + dst.string() + ")", errno);
        }
        break;
    }
  }
  return {};
}

// The first error of ValidateSkill, with the count of the rest; nothing when valid.
std::optional<Error> ValidationError(const fs::path& dir) {
  std::vector<Diagnostic> errors;
  for (Diagnostic& d : ValidateSkill(dir)) {
    if (d.severity == Diagnostic::Severity::kError) errors.push_back(std::move(d));
  }
  if (errors.empty()) return std::nullopt;
  std::string message = "not installed: " + errors.front().ToString();
  if (errors.size() > 1) message += " (and " + std::to_string(errors.size() - 1) + " more)";
  return Error::Make(ErrorCode::kValidation, std::move(message));
}

// Removes a directory tree left by a failed install.
void RemoveTree(const fs::path& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace

Result<InstallResult> InstallSkill(const fs::path& source, const fs::path& skills_dir,
                                   const InstallOptions& options) {
  std::error_code ec;
  fs::path root = fs::canonical(source, ec);
  if (ec || !fs::is_directory(root, ec)) {
    return Fail(ErrorCode::kNotFound, source.string() + ": not a skill directory");
  }
  if (auto invalid = ValidationError(root)) return std::unexpected(*invalid);
  auto items = Survey(root, options);
  if (!items) return std::unexpected(items.error());
  // Validation requires the frontmatter name to equal the directory name.
  const std::string name = root.filename().string();
  if (!IsValidSkillName(name)) {
    return Fail(ErrorCode::kValidation, root.string() + ": '" + name + "' is not a skill name");
  }

  fs::create_directories(skills_dir, ec);
  if (ec) return FailErrno(ErrorCode::kIo, "mkdir(" + skills_dir.string() + ")", ec.value());
  fs::path skills = fs::canonical(skills_dir, ec);
  if (ec) return FailErrno(ErrorCode::kIo, "realpath(" + skills_dir.string() + ")", ec.value());
  if (Within(root, skills) || Within(skills / name, root)) {
    return Fail(ErrorCode::kInvalidArgument,
                root.string() + ": the source overlaps the install location " +
                    (skills / name).string());
  }
  auto suffix = NewRunId();
  if (!suffix) return std::unexpected(suffix.error());
  // Hidden, so that the registry never finds a half-copied skill.
  const fs::path staging = skills / (".install-" + name + "-" + *suffix);
  if (::mkdir(staging.c_str(), 0755) != 0) {
    return FailErrno(ErrorCode::kIo, "mkdir(" + staging.string() + ")", errno);
  }
  const fs::path copy = staging / name;  // The directory name must equal the skill name.
  auto done = [&]() -> Result<InstallResult> {
    if (::mkdir(copy.c_str(), 0755) != 0) {
      return FailErrno(ErrorCode::kIo, "mkdir(" + copy.string() + ")", errno);
    }
    if (auto copied = CopyTree(root, *items, copy); !copied) {
      return std::unexpected(copied.error());
    }
    // What is installed is what was checked: the source may have changed while copying.
    if (auto invalid = ValidationError(copy)) return std::unexpected(*invalid);
    if (auto again = Survey(copy, options); !again) return std::unexpected(again.error());
    auto hash = HashSkillTree(copy);
    if (!hash) return std::unexpected(hash.error());

    const fs::path dest = skills / name;
    InstallResult result{.name = name, .dir = dest, .tree_sha256 = *hash, .replaced = false};
    struct stat st {};
    if (::lstat(dest.c_str(), &st) == 0) {
      if (!options.force) {
        return Fail(ErrorCode::kConflict, "skill '" + name + "' is already installed at " +
                                              dest.string() + "; use --force to replace it");
      }
      if (!S_ISDIR(st.st_mode)) {
        return Fail(ErrorCode::kConflict, dest.string() + " exists and is not a directory");
      }
      if (::renameat2(AT_FDCWD, copy.c_str(), AT_FDCWD, dest.c_str(), RENAME_EXCHANGE) != 0) {
        return FailErrno(ErrorCode::kIo, "renameat2(" + dest.string() + ", RENAME_EXCHANGE)",
                         errno);
      }
      result.replaced = true;  // `copy` now holds the old tree, removed with `staging`.
    } else if (::rename(copy.c_str(), dest.c_str()) != 0) {
      return FailErrno(errno == EEXIST || errno == ENOTEMPTY ? ErrorCode::kConflict
                                                             : ErrorCode::kIo,
                       "rename(" + copy.string() + ", " + dest.string() + ")", errno);
    }
    return result;
  }();
  RemoveTree(staging);
  return done;
}

}  // namespace skillrt
