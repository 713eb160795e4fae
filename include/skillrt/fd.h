// Move-only owner of a file descriptor.
#ifndef SKILLRT_FD_H_
#define SKILLRT_FD_H_

#include <unistd.h>

#include <utility>

namespace skillrt {

/// Owns one file descriptor and closes it on destruction. -1 means empty.
/// Not thread-safe; move it between threads, never share it.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) Reset(other.Release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }

  /// Gives up ownership and returns the descriptor.
  int Release() { return std::exchange(fd_, -1); }

  /// Closes the owned descriptor (if any) and takes `fd`.
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace skillrt

#endif  // SKILLRT_FD_H_
