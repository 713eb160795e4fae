// The tree hash of a skill directory: detects drift between a locked skill and its files.
//
// Every entry under the directory is hashed (hidden ones included, symlinks not followed) in
// byte order of its relative path, so the digest depends only on names, types, executable
// bits, file contents and link targets: not on directory iteration order, mtimes, owners or
// the directory's own location.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "skill/tree_hash.h"
#include "skillrt/lock.h"
#include "skillrt/skill.h"
#include "skillrt/fd.h"
#include "skillrt/sha256.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;

enum class EntryType : char { kFile = 'f', kDir = 'd', kSymlink = 'l', kOther = 'o' };

struct Entry {
  std::string rel;  // Relative path with '/' separators.
  EntryType type;
};

// Appends a length-prefixed field so that no two different trees feed the same bytes.
void Field(Sha256& hash, std::string_view data) {
  hash.Update(std::to_string(data.size()));
  hash.Update(":");
  hash.Update(data);
}

Result<std::vector<Entry>> ListTree(const fs::path& root) {
  std::vector<Entry> entries;
  std::vector<std::string> pending = {""};
  while (!pending.empty()) {
    std::string rel_dir = std::move(pending.back());
    pending.pop_back();
    fs::path dir = rel_dir.empty() ? root : root / rel_dir;
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) {
      return FailErrno(ErrorCode::kIo, "opendir(" + dir.string() + ")", ec.value());
    }
    for (; it != fs::directory_iterator(); it.increment(ec)) {
      std::string name = it->path().filename().string();
      std::string rel = rel_dir.empty() ? name : rel_dir + "/" + name;
      fs::file_status st = it->symlink_status(ec);
      if (ec) return FailErrno(ErrorCode::kIo, "lstat(" + it->path().string() + ")", ec.value());
      EntryType type = EntryType::kOther;
      if (fs::is_symlink(st)) {
        type = EntryType::kSymlink;
      } else if (fs::is_directory(st)) {
        type = EntryType::kDir;
        pending.push_back(rel);
      } else if (fs::is_regular_file(st)) {
        type = EntryType::kFile;
      }
      entries.push_back(Entry{.rel = std::move(rel), .type = type});
    }
    if (ec) return FailErrno(ErrorCode::kIo, "readdir(" + dir.string() + ")", ec.value());
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.rel < b.rel; });
  return entries;
}

// What precedes a regular file's content: its executable bit and its size in bytes.
void FileHeader(Sha256& hash, mode_t mode, uint64_t size) {
  hash.Update((mode & S_IXUSR) != 0 ? "x" : "-");
  hash.Update(std::to_string(size));
  hash.Update(":");
}

// The bytes already read of the entry at `full` (relative path `rel`), if `known` has them and
// the entry is still the file they were read from: a regular file, not a link to one, with the
// same device and inode. Null otherwise, and the entry is read as any other.
const frontmatter::ReadFile* Known(std::span<const tree_hash::KnownFile> known,
                                   std::string_view rel, const fs::path& full) {
  for (const tree_hash::KnownFile& k : known) {
    if (k.rel != rel) continue;
    struct stat st {};
    if (::lstat(full.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return nullptr;
    if (st.st_dev != k.file->device || st.st_ino != k.file->inode) return nullptr;
    return k.file;
  }
  return nullptr;
}

// Feeds a regular file's executable bit and content, streamed in fixed-size chunks.
Result<void> HashFile(Sha256& hash, const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
  if (!fd) return FailErrno(ErrorCode::kIo, "open(" + path.string() + ")", errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return FailErrno(ErrorCode::kIo, "fstat(" + path.string() + ")", errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return Fail(ErrorCode::kIo, path.string() + ": changed type while hashing");
  }
  FileHeader(hash, st.st_mode, static_cast<uint64_t>(st.st_size));
  // Chunks of 64 KiB, or one more byte than the file for a smaller one (most of a skill's
  // files): zeroing 64 KiB for a 100-byte file cost 16 page faults each.
  std::string buffer(static_cast<std::size_t>(std::min<uint64_t>(
                         static_cast<uint64_t>(st.st_size) + 1, 64 << 10)),
                     '\0');
  uint64_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return FailErrno(ErrorCode::kIo, "read(" + path.string() + ")", errno);
    }
    if (n == 0) break;
    total += static_cast<uint64_t>(n);
    hash.Update(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
  }
  if (total != static_cast<uint64_t>(st.st_size)) {
    return Fail(ErrorCode::kIo, path.string() + ": changed size while hashing");
  }
  return {};
}

}  // namespace

Result<std::string> HashSkillTree(const std::filesystem::path& dir) {
  return tree_hash::Hash(dir, {});
}

Result<std::string> tree_hash::Hash(const std::filesystem::path& dir,
                                    std::span<const KnownFile> known) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Fail(ErrorCode::kNotFound, dir.string() + ": not a directory");
  }
  auto entries = ListTree(dir);
  if (!entries) return std::unexpected(entries.error());
  Sha256 hash;
  hash.Update("skillrt-tree-v1\n");
  for (const Entry& entry : *entries) {
    fs::path full = dir / entry.rel;
    hash.Update(std::string(1, static_cast<char>(entry.type)));
    Field(hash, entry.rel);
    switch (entry.type) {
      case EntryType::kFile:
        if (const frontmatter::ReadFile* read = Known(known, entry.rel, full)) {
          FileHeader(hash, read->mode, read->data.size());
          hash.Update(read->data);
        } else if (auto done = HashFile(hash, full); !done) {
          return std::unexpected(done.error());
        }
        break;
      case EntryType::kSymlink: {
        fs::path target = fs::read_symlink(full, ec);
        if (ec) return FailErrno(ErrorCode::kIo, "readlink(" + full.string() + ")", ec.value());
        Field(hash, target.string());
        break;
      }
      case EntryType::kDir:
      case EntryType::kOther:
        break;
    }
    hash.Update("\n");
  }
  return hash.HexDigest();
}

Result<std::map<std::string, std::string>> HashSkillFiles(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Fail(ErrorCode::kNotFound, dir.string() + ": not a directory");
  }
  auto entries = ListTree(dir);
  if (!entries) return std::unexpected(entries.error());
  std::map<std::string, std::string> files;
  for (const Entry& entry : *entries) {
    fs::path full = dir / entry.rel;
    switch (entry.type) {
      case EntryType::kFile: {
        Sha256 hash;
        if (auto done = HashFile(hash, full); !done) return std::unexpected(done.error());
        files[entry.rel] = "file:" + hash.HexDigest();
        break;
      }
      case EntryType::kSymlink: {
        fs::path target = fs::read_symlink(full, ec);
        if (ec) return FailErrno(ErrorCode::kIo, "readlink(" + full.string() + ")", ec.value());
        files[entry.rel] = "link:" + target.string();
        break;
      }
      case EntryType::kDir:
        files[entry.rel] = "dir";
        break;
      case EntryType::kOther:
        files[entry.rel] = "other";
        break;
    }
  }
  return files;
}

}  // namespace skillrt
