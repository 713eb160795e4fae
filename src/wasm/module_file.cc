// The module file of a WebAssembly call (module_file.h).
#include "wasm/module_file.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/path_pin.h"

namespace skillrt::wasm {
namespace {

// Pins kept for hand-built plans; past it the map is cleared and refills.
constexpr size_t kMaxPins = 256;

std::string FileTypeName(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISDIR(mode)) return "a directory";
  return "not a file";
}

}  // namespace

BinaryKind KindOf(const uint8_t* bytes, size_t size) {
  if (size < 8 || std::memcmp(bytes, "\0asm", 4) != 0) return BinaryKind::kUnknown;
  if (bytes[6] == 0 && bytes[7] == 0) return BinaryKind::kModule;
  if (bytes[6] == 1 && bytes[7] == 0) return BinaryKind::kComponent;
  return BinaryKind::kUnknown;
}

Result<UniqueFd> SkillDirOpener::Open(const Plan& plan) {
  constexpr int kFlags = O_PATH | O_DIRECTORY;
  if (plan.skill_dir_pin) return ReopenPinned(*plan.skill_dir_pin, kFlags);
  const std::string key = plan.skill_dir.string();
  std::optional<PathPin> known;
  {
    std::lock_guard lock(mutex_);
    if (auto it = pins_.find(key); it != pins_.end()) known = it->second;
  }
  if (known) {
    // The same object at the same path, reached without following anything: what resolving
    // the path again would find. Otherwise (replaced, or a link now on the path) resolve.
    if (auto fd = ReopenPinned(*known, kFlags)) return fd;
  }
  auto pin = PinHostPath(plan.skill_dir);
  if (!pin) return std::unexpected(pin.error());
  auto fd = ReopenPinned(*pin, kFlags);
  if (!fd) return fd;
  std::lock_guard lock(mutex_);
  if (pin->resolved == plan.skill_dir) {
    if (pins_.size() >= kMaxPins) pins_.clear();
    pins_[key] = *pin;
  } else {
    pins_.erase(key);
  }
  return fd;
}

Result<ModuleFile> OpenModuleFile(const Plan& plan, int skill_dir_fd, uint64_t max_bytes) {
  const std::string& name = plan.argv.front();
  const std::string manifest = (plan.skill_dir / "skill.toml").string();
  if (name.empty() || name.front() == '/' || name.find("..") != std::string::npos) {
    return Fail(ErrorCode::kValidation, manifest + ": entry.argv[0]: '" + name +
                                            "' must be a path inside the skill directory");
  }
  ModuleFile file;
  if (!plan.wasm_component.empty()) {
    // A component the engine built from the skill's Python or JavaScript source, in its
    // state directory (plan.h); the skill names the source, never this path.
    if (!plan.wasm_component.is_absolute()) {
      return Fail(ErrorCode::kInvalidArgument,
                  "plan: wasm_component '" + plan.wasm_component.string() + "' is not absolute");
    }
    file.path = plan.wasm_component.string();
    file.fd = UniqueFd(
        ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
    if (!file.fd) return FailErrno(ErrorCode::kNotFound, "open(" + file.path + ")", errno);
  } else {
    file.path = (plan.skill_dir / name).string();
    struct open_how how = {};
    how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    file.fd = UniqueFd(
        static_cast<int>(::syscall(SYS_openat2, skill_dir_fd, name.c_str(), &how, sizeof how)));
    if (!file.fd) {
      if (errno == EXDEV || errno == ELOOP) {
        return Fail(ErrorCode::kValidation,
                    manifest + ": entry.argv[0]: '" + name + "' leaves the skill directory");
      }
      return FailErrno(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                       "open(" + file.path + ")", errno);
    }
  }
  if (::fstat(file.fd.get(), &file.st) != 0) {
    return FailErrno(ErrorCode::kIo, "fstat(" + file.path + ")", errno);
  }
  if (!S_ISREG(file.st.st_mode)) {
    return Fail(ErrorCode::kValidation, file.path + ": not a regular file (" +
                                            FileTypeName(file.st.st_mode) + ")");
  }
  if (static_cast<uint64_t>(file.st.st_size) > max_bytes) {
    return Fail(ErrorCode::kValidation, file.path + ": " + std::to_string(file.st.st_size) +
                                            " bytes is more than the " +
                                            std::to_string(max_bytes) + "-byte module limit");
  }
  return file;
}

Result<std::vector<uint8_t>> ReadModule(const ModuleFile& file) {
  std::vector<uint8_t> bytes(static_cast<size_t>(file.st.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::pread(file.fd.get(), bytes.data() + done, bytes.size() - done,
                        static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return FailErrno(ErrorCode::kIo, "read(" + file.path + ")", n < 0 ? errno : EIO);
    done += static_cast<size_t>(n);
  }
  return bytes;
}

BinaryKind ReadKind(const ModuleFile& file) {
  uint8_t preamble[8];
  ssize_t n;
  do {
    n = ::pread(file.fd.get(), preamble, sizeof preamble, 0);
  } while (n < 0 && errno == EINTR);
  return n == sizeof preamble ? KindOf(preamble, sizeof preamble) : BinaryKind::kUnknown;
}

}  // namespace skillrt::wasm
