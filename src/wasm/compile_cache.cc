// The disk cache of compiled WebAssembly (compile_cache.h).
#include "wasm/compile_cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <tuple>

#include "util/fd.h"
#include "util/sha256.h"

namespace skillrt::wasm {
namespace {

// 16 bytes of magic (the format's name and version), then the payload's sha256 in 64
// lower-case hex digits.
constexpr std::string_view kMagic{"skillrt-cwasm-1\n", 16};
constexpr size_t kHashBytes = 64;
constexpr size_t kHeaderBytes = 16 + kHashBytes;
constexpr std::string_view kSuffix = ".cwasm";
constexpr std::string_view kTempPrefix = ".tmp-";
// A temporary file this old was left by a writer that died: writing one takes seconds.
constexpr time_t kStaleTempSeconds = 3600;

bool IsValidKey(std::string_view key) {
  if (key.size() != 64) return false;
  for (char c : key) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Private to the effective user: owned by it and not writable by anyone else. Anything
// else could have been written by someone who wants us to map their bytes as code.
bool IsPrivate(const struct stat& st) {
  return st.st_uid == ::geteuid() && (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

std::string HashOf(const std::vector<uint8_t>& data) {
  return Sha256Hex(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
}

bool ReadFull(int fd, uint8_t* out, size_t size) {
  while (size > 0) {
    ssize_t n = ::read(fd, out, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    out += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool WriteFull(int fd, const uint8_t* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

std::optional<std::vector<uint8_t>> CompileCache::Load(std::string_view key,
                                                       uint64_t max_bytes) const {
  if (!enabled() || !IsValidKey(key)) return std::nullopt;
  struct stat dir_st;
  if (::stat(dir_.c_str(), &dir_st) != 0 || !S_ISDIR(dir_st.st_mode) || !IsPrivate(dir_st)) {
    return std::nullopt;
  }
  const std::filesystem::path path = PathOf(key);
  // O_NONBLOCK: a FIFO in place of an entry must not block the open; it is then refused as
  // not a regular file.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
  if (!fd.valid()) return std::nullopt;
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || !IsPrivate(st)) return std::nullopt;
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < kHeaderBytes || size - kHeaderBytes > max_bytes) return std::nullopt;

  std::array<uint8_t, kHeaderBytes> header;
  if (!ReadFull(fd.get(), header.data(), header.size())) return std::nullopt;
  if (std::memcmp(header.data(), kMagic.data(), kMagic.size()) != 0) return std::nullopt;
  std::vector<uint8_t> payload(size - kHeaderBytes);
  if (!ReadFull(fd.get(), payload.data(), payload.size())) return std::nullopt;
  std::string hash = HashOf(payload);
  if (std::memcmp(hash.data(), header.data() + kMagic.size(), kHashBytes) != 0) {
    return std::nullopt;
  }
  ::futimens(fd.get(), nullptr);  // Used now: the last to be evicted.
  return payload;
}

Result<void> CompileCache::Store(std::string_view key, const std::vector<uint8_t>& payload) const {
  if (!enabled()) return {};
  if (!IsValidKey(key)) return Fail(ErrorCode::kInternal, "compile cache: bad key");
  if (kHeaderBytes + payload.size() > max_bytes_) return {};
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return FailErrno(ErrorCode::kIo, "mkdir(" + dir_.string() + ")", ec.value());
  struct stat dir_st;
  if (::stat(dir_.c_str(), &dir_st) != 0) {
    return FailErrno(ErrorCode::kIo, "stat(" + dir_.string() + ")", errno);
  }
  if (dir_st.st_uid != ::geteuid()) {
    return Fail(ErrorCode::kSandbox,
                "compile cache " + dir_.string() + " is not owned by the effective user");
  }
  if ((dir_st.st_mode & 07777) != 0700 && ::chmod(dir_.c_str(), 0700) != 0) {
    return FailErrno(ErrorCode::kIo, "chmod(" + dir_.string() + ")", errno);
  }

  std::string tmp_template = (dir_ / ".tmp-XXXXXX").string();
  UniqueFd fd(::mkostemp(tmp_template.data(), O_CLOEXEC));
  if (!fd.valid()) return FailErrno(ErrorCode::kIo, "mkstemp(" + tmp_template + ")", errno);
  std::string hash = HashOf(payload);
  bool ok = WriteFull(fd.get(), reinterpret_cast<const uint8_t*>(kMagic.data()), kMagic.size()) &&
            WriteFull(fd.get(), reinterpret_cast<const uint8_t*>(hash.data()), hash.size()) &&
            WriteFull(fd.get(), payload.data(), payload.size()) && ::fchmod(fd.get(), 0600) == 0;
  const int saved = errno;
  fd.Reset();
  const std::filesystem::path path = PathOf(key);
  if (!ok || ::rename(tmp_template.c_str(), path.c_str()) != 0) {
    const int err = ok ? errno : saved;
    ::unlink(tmp_template.c_str());
    return FailErrno(ErrorCode::kIo, "write(" + path.string() + ")", err);
  }
  Evict();
  return {};
}

uint64_t CompileCache::Evict() const {
  if (!enabled()) return 0;
  UniqueFd dir_fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!dir_fd) return 0;
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(::fcntl(dir_fd.get(), F_DUPFD_CLOEXEC, 0)),
                                          ::closedir);
  if (!dir) return 0;
  struct Entry {
    struct timespec mtime;
    uint64_t bytes;
    std::string name;
  };
  std::vector<Entry> entries;
  uint64_t total = 0;
  const time_t now = ::time(nullptr);
  while (const struct dirent* entry = ::readdir(dir.get())) {
    const std::string_view name = entry->d_name;
    struct stat st;
    if (::fstatat(dir_fd.get(), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (name.starts_with(kTempPrefix)) {
      if (now - st.st_mtim.tv_sec > kStaleTempSeconds) ::unlinkat(dir_fd.get(), entry->d_name, 0);
      continue;
    }
    if (!name.ends_with(kSuffix) || !IsValidKey(name.substr(0, name.size() - kSuffix.size()))) {
      continue;
    }
    entries.push_back({st.st_mtim, static_cast<uint64_t>(st.st_size), std::string(name)});
    total += static_cast<uint64_t>(st.st_size);
  }
  if (total <= max_bytes_) return total;
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.mtime.tv_sec, a.mtime.tv_nsec, a.name) <
           std::tie(b.mtime.tv_sec, b.mtime.tv_nsec, b.name);
  });
  for (const Entry& entry : entries) {
    if (total <= max_bytes_) break;
    if (::unlinkat(dir_fd.get(), entry.name.c_str(), 0) == 0 || errno == ENOENT) {
      total -= entry.bytes;
    }
  }
  return total;
}

}  // namespace skillrt::wasm
