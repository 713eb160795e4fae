// Keeping the compiled seccomp program (seccomp_cache.h). File layout:
//   "skillrt-seccomp 1 <instructions>\n" "<key>\n" <instructions * 8 bytes> <SHA-256, 32 bytes>
// where the SHA-256 covers everything before it.
#include "sandbox/linux/seccomp_cache.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

#define OPENSSL_SUPPRESS_DEPRECATED

#include "skillrt/atomic_file.h"
#include "skillrt/fd.h"
#include "skillrt/sha256.h"

namespace skillrt::seccomp_cache {
namespace {

constexpr std::string_view kMagic = "skillrt-seccomp 1 ";
constexpr size_t kDigestBytes = 32;  // SHA-256's.
constexpr size_t kMaxFileBytes = 64 << 10;  // BPF_MAXINSNS (4096) * 8 bytes, with room.

struct BuildIdSearch {
  uintptr_t address;  // An address inside the object we look for.
  std::string hex;    // Its build ID, when found.
};

// dl_iterate_phdr(3) callback: the GNU build ID note of the object that holds `address`.
int FindBuildId(dl_phdr_info* info, size_t, void* data) {
  auto* search = static_cast<BuildIdSearch*>(data);
  bool holds = false;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    const uintptr_t start = info->dlpi_addr + ph.p_vaddr;
    if (ph.p_type == PT_LOAD && search->address >= start && search->address < start + ph.p_memsz) {
      holds = true;
    }
  }
  if (!holds) return 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    const size_t align = ph.p_align >= 8 ? 8 : 4;
    const char* at = reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr);
    const char* end = at + ph.p_memsz;
    while (at + sizeof(ElfW(Nhdr)) <= end) {
      const auto* note = reinterpret_cast<const ElfW(Nhdr)*>(at);
      const char* name = at + sizeof(ElfW(Nhdr));
      const char* desc = name + ((note->n_namesz + align - 1) & ~(align - 1));
      if (desc + note->n_descsz > end) break;
      if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 &&
          std::memcmp(name, "GNU", 4) == 0) {
        static constexpr char kHex[] = "0123456789abcdef";
        for (size_t b = 0; b < note->n_descsz; ++b) {
          const auto byte = static_cast<unsigned char>(desc[b]);
          search->hex += kHex[byte >> 4];
          search->hex += kHex[byte & 15];
        }
        return 1;
      }
      at = desc + ((note->n_descsz + align - 1) & ~(align - 1));
    }
  }
  return 1;  // The object holding the address has no build ID.
}

// Owned by the effective user, and writable by no one else.
bool Trusted(const struct stat& st) {
  return st.st_uid == ::geteuid() && (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

}  // namespace

std::string Key() {
  BuildIdSearch search{.address = reinterpret_cast<uintptr_t>(&FindBuildId), .hex = {}};
  ::dl_iterate_phdr(FindBuildId, &search);
  if (search.hex.empty()) return "";
  const scmp_version* version = seccomp_version();
  utsname uts{};
  if (::uname(&uts) != 0) return "";
  std::string key = "build=" + search.hex + " libseccomp=" + std::to_string(version->major) +
                    "." + std::to_string(version->minor) + "." + std::to_string(version->micro) +
                    " kernel=" + uts.release + " " + uts.version + " " + uts.machine;
  for (char& c : key) {
    if (c == '\n') c = ' ';
  }
  return key;
}

std::filesystem::path PathFor(const std::filesystem::path& dir, std::string_view key) {
  return dir / (Sha256Hex(key).substr(0, 32) + ".bpf");
}

std::optional<seccomp::Program> Load(const std::filesystem::path& dir, std::string_view key) {
  UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  struct stat st {};
  if (!dir_fd || ::fstat(dir_fd.get(), &st) != 0 || !S_ISDIR(st.st_mode) || !Trusted(st)) {
    return std::nullopt;
  }
  const std::string name = PathFor(dir, key).filename().string();
  UniqueFd fd(::openat(dir_fd.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || !Trusted(st) ||
      st.st_size <= 0 || static_cast<size_t>(st.st_size) > kMaxFileBytes) {
    return std::nullopt;
  }
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < data.size()) {
    const ssize_t n = ::read(fd.get(), data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    got += static_cast<size_t>(n);
  }
  // Header: magic, instruction count, newline; the key and a newline.
  std::string_view rest(data);
  if (rest.size() < kDigestBytes || !rest.starts_with(kMagic)) return std::nullopt;
  const std::string_view body = rest.substr(0, rest.size() - kDigestBytes);
  if (Sha256Raw(body) != rest.substr(body.size())) return std::nullopt;
  rest = body.substr(kMagic.size());
  size_t count = 0;
  const auto [after, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), count);
  if (ec != std::errc() || after == rest.data() + rest.size() || *after != '\n') return std::nullopt;
  rest.remove_prefix(static_cast<size_t>(after - rest.data()) + 1);
  if (!rest.starts_with(key) || rest.size() <= key.size() || rest[key.size()] != '\n') {
    return std::nullopt;
  }
  rest.remove_prefix(key.size() + 1);
  if (count == 0 || count > BPF_MAXINSNS || rest.size() != count * sizeof(sock_filter)) {
    return std::nullopt;
  }
  seccomp::Program program;
  program.instructions.resize(count);
  std::memcpy(program.instructions.data(), rest.data(), rest.size());
  return program;
}

Result<void> Store(const std::filesystem::path& dir, std::string_view key,
                   const seccomp::Program& program) {
  std::error_code ec;
  std::filesystem::create_directories(dir.parent_path(), ec);  // Checked by mkdir below.
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return FailErrno(ErrorCode::kIo, "mkdir(" + dir.string() + ")", errno);
  }
  // Only into a directory Load would trust: never a file of this user's in someone else's.
  UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  struct stat st {};
  if (!dir_fd) return FailErrno(ErrorCode::kIo, "open(" + dir.string() + ")", errno);
  if (::fstat(dir_fd.get(), &st) != 0) {
    return FailErrno(ErrorCode::kIo, "fstat(" + dir.string() + ")", errno);
  }
  if (!Trusted(st)) {
    return Fail(ErrorCode::kIo, dir.string() + ": not owned by this user alone; not kept");
  }
  std::string data(kMagic);
  data += std::to_string(program.instructions.size());
  data += '\n';
  data += key;
  data += '\n';
  data.append(reinterpret_cast<const char*>(program.instructions.data()),
              program.instructions.size() * sizeof(sock_filter));
  data += Sha256Raw(data);
  return WriteFileAtomic(PathFor(dir, key), data, 0600);
}

}  // namespace skillrt::seccomp_cache
