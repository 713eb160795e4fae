#include "skillrt/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>

#include "skillrt/fd.h"

namespace skillrt {
namespace {

std::atomic<uint64_t> counter{0};

Result<void> WriteAll(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FailErrno(ErrorCode::kIo, "write(" + what + ")", errno);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

}  // namespace

Result<void> WriteFileAtomic(const std::filesystem::path& path, std::string_view data,
                             mode_t mode) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  const std::string tmp = path.string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                          std::to_string(counter.fetch_add(1));
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return FailErrno(ErrorCode::kIo, "open(" + tmp + ")", errno);
  auto fail = [&tmp](Error error) {
    ::unlink(tmp.c_str());
    return std::unexpected(std::move(error));
  };
  if (::fchmod(fd.get(), mode) != 0) {
    return fail(Error::FromErrno(ErrorCode::kIo, "fchmod(" + tmp + ")", errno));
  }
  if (auto written = WriteAll(fd.get(), data, tmp); !written) return fail(written.error());
  if (::fsync(fd.get()) != 0) {
    return fail(Error::FromErrno(ErrorCode::kIo, "fsync(" + tmp + ")", errno));
  }
  fd.Reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail(Error::FromErrno(ErrorCode::kIo, "rename(" + tmp + ", " + path.string() + ")",
                                 errno));
  }
  // The rename is durable only once the directory is.
  UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd) ::fsync(dir_fd.get());
  return {};
}

}  // namespace skillrt
