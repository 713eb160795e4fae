// The disk cache of compiled WebAssembly (compile_cache.h).
#include "wasm/compile_cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>
#include <tuple>

#include "skillrt/sha256.h"

namespace skillrt::wasm {
namespace {

constexpr std::string_view kSuffix = ".cwasm";
constexpr std::string_view kStampSuffix = ".stamp";
constexpr std::string_view kTempPrefix = ".tmp-";
// A stamp's one line: the format, the identity, the content hash.
constexpr std::string_view kStampMagic = "skillrt-stamp-1";
constexpr size_t kMaxStampBytes = 256;
// A temporary file this old was left by a writer that died: writing one takes seconds.
constexpr time_t kStaleTempSeconds = 3600;

bool IsHex64(std::string_view key) {
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

// Opens `path` in a private directory `dir` for reading: a private regular file, without
// blocking on a FIFO planted in its place (it is refused as not a regular file) and without
// following a symbolic link.
std::optional<std::pair<UniqueFd, struct stat>> OpenPrivate(const std::filesystem::path& dir,
                                                            const std::filesystem::path& path) {
  struct stat dir_st;
  if (::stat(dir.c_str(), &dir_st) != 0 || !S_ISDIR(dir_st.st_mode) || !IsPrivate(dir_st)) {
    return std::nullopt;
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
  if (!fd.valid()) return std::nullopt;
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || !IsPrivate(st)) return std::nullopt;
  return std::make_pair(std::move(fd), st);
}

int64_t Nanoseconds(const struct timespec& ts) {
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

std::string StampLine(const FileIdentity& id, std::string_view hash) {
  char line[kMaxStampBytes];
  const int n = std::snprintf(line, sizeof line, "%.*s %llu %llu %llu %lld %lld %.*s\n",
                              static_cast<int>(kStampMagic.size()), kStampMagic.data(),
                              static_cast<unsigned long long>(id.dev),
                              static_cast<unsigned long long>(id.ino),
                              static_cast<unsigned long long>(id.size),
                              static_cast<long long>(id.mtime_ns),
                              static_cast<long long>(id.ctime_ns),
                              static_cast<int>(hash.size()), hash.data());
  return std::string(line, static_cast<size_t>(std::max(n, 0)));
}

}  // namespace

FileIdentity FileIdentity::Of(const struct stat& st) {
  return {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
          static_cast<uint64_t>(st.st_size), Nanoseconds(st.st_mtim), Nanoseconds(st.st_ctim)};
}

std::optional<CompileCache::Entry> CompileCache::Open(std::string_view key,
                                                      uint64_t max_bytes) const {
  if (!enabled() || !IsHex64(key)) return std::nullopt;
  auto opened = OpenPrivate(dir_, PathOf(key));
  if (!opened) return std::nullopt;
  const uint64_t size = static_cast<uint64_t>(opened->second.st_size);
  if (size == 0 || size > max_bytes) return std::nullopt;
  ::futimens(opened->first.get(), nullptr);  // Used now: the last to be evicted.
  return Entry{.fd = std::move(opened->first), .bytes = size};
}

std::optional<std::vector<uint8_t>> CompileCache::Load(std::string_view key,
                                                       uint64_t max_bytes) const {
  auto entry = Open(key, max_bytes);
  if (!entry) return std::nullopt;
  std::vector<uint8_t> payload(entry->bytes);
  if (!ReadFull(entry->fd.get(), payload.data(), payload.size())) return std::nullopt;
  return payload;
}

Result<void> CompileCache::WriteAtomically(const std::filesystem::path& path,
                                           const uint8_t* data, size_t size, bool sync) const {
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
  // fdatasync before the rename: a crash leaves the old entry or the new one, not a renamed
  // file whose blocks never reached the disk.
  bool ok = WriteFull(fd.get(), data, size) && ::fchmod(fd.get(), 0600) == 0 &&
            (!sync || ::fdatasync(fd.get()) == 0);
  const int saved = errno;
  fd.Reset();
  if (!ok || ::rename(tmp_template.c_str(), path.c_str()) != 0) {
    const int err = ok ? errno : saved;
    ::unlink(tmp_template.c_str());
    return FailErrno(ErrorCode::kIo, "write(" + path.string() + ")", err);
  }
  return {};
}

Result<void> CompileCache::Store(std::string_view key, const std::vector<uint8_t>& payload) const {
  if (!enabled()) return {};
  if (!IsHex64(key)) return Fail(ErrorCode::kInternal, "compile cache: bad key");
  if (payload.empty() || payload.size() > max_bytes_) return {};
  if (auto written = WriteAtomically(PathOf(key), payload.data(), payload.size(), true);
      !written) {
    return written;
  }
  Evict();
  return {};
}

std::filesystem::path CompileCache::StampPathOf(uint64_t dev, uint64_t ino) const {
  return dir_ / (Sha256Hex(std::to_string(dev) + ":" + std::to_string(ino)) +
                 std::string(kStampSuffix));
}

std::optional<std::string> CompileCache::LookupStamp(const FileIdentity& identity) const {
  if (!enabled()) return std::nullopt;
  auto opened = OpenPrivate(dir_, StampPathOf(identity.dev, identity.ino));
  if (!opened) return std::nullopt;
  char buf[kMaxStampBytes];
  ssize_t n;
  do {
    n = ::read(opened->first.get(), buf, sizeof buf);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return std::nullopt;
  const std::string_view line(buf, static_cast<size_t>(n));
  // The whole line must be exactly what RecordStamp writes for this identity and some hash.
  if (line.size() < 66 || line.back() != '\n') return std::nullopt;
  const std::string_view hash = line.substr(line.size() - 65, 64);
  if (!IsHex64(hash) || line != StampLine(identity, hash)) return std::nullopt;
  return std::string(hash);
}

bool CompileCache::RecordStamp(const FileIdentity& identity, std::string_view hash) const {
  if (!enabled() || !IsHex64(hash)) return false;
  struct timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  const int64_t settled = Nanoseconds(now) - kStampSettleNs;
  if (identity.mtime_ns > settled || identity.ctime_ns > settled) return false;
  const std::string line = StampLine(identity, hash);
  return WriteAtomically(StampPathOf(identity.dev, identity.ino),
                         reinterpret_cast<const uint8_t*>(line.data()), line.size(), false)
      .has_value();
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
  std::vector<Entry> stamps;
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
    if (name.ends_with(kStampSuffix)) {
      stamps.push_back({st.st_mtim, 0, std::string(name)});
      continue;
    }
    if (!name.ends_with(kSuffix) || !IsHex64(name.substr(0, name.size() - kSuffix.size()))) {
      continue;
    }
    entries.push_back({st.st_mtim, static_cast<uint64_t>(st.st_size), std::string(name)});
    total += static_cast<uint64_t>(st.st_size);
  }
  auto older = [](const Entry& a, const Entry& b) {
    return std::tie(a.mtime.tv_sec, a.mtime.tv_nsec, a.name) <
           std::tie(b.mtime.tv_sec, b.mtime.tv_nsec, b.name);
  };
  if (stamps.size() > kMaxStamps) {
    std::sort(stamps.begin(), stamps.end(), older);
    for (size_t i = 0; i < stamps.size() - kMaxStamps; ++i) {
      ::unlinkat(dir_fd.get(), stamps[i].name.c_str(), 0);
    }
  }
  if (total <= max_bytes_) return total;
  std::sort(entries.begin(), entries.end(), older);
  for (const Entry& entry : entries) {
    if (total <= max_bytes_) break;
    if (::unlinkat(dir_fd.get(), entry.name.c_str(), 0) == 0 || errno == ENOENT) {
      total -= entry.bytes;
    }
  }
  return total;
}

}  // namespace skillrt::wasm
