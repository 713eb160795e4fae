// Helpers shared by the tests.
#ifndef SKILLRT_TESTS_TEST_UTIL_H_
#define SKILLRT_TESTS_TEST_UTIL_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdint>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace skillrt::testing {

/// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/skillrt-test-XXXXXX";
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// A fresh directory under /var/tmp, removed with its contents on destruction: for host paths
/// granted to a sandbox, which may not lie under the host's /tmp (a reserved host path).
class VarTmpDir {
 public:
  VarTmpDir() {
    std::string tmpl = "/var/tmp/skillrt-test-XXXXXX";
    path_ = mkdtemp(tmpl.data());
  }
  ~VarTmpDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  VarTmpDir(const VarTmpDir&) = delete;
  VarTmpDir& operator=(const VarTmpDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// Host processes whose environment holds `marker` ("NAME=value"), and, when `uid` is given,
/// whose real uid is `uid`: how tests find processes their runs left behind.
inline std::vector<pid_t> ProcessesWithEnv(const std::string& marker,
                                           std::optional<uid_t> uid = std::nullopt) {
  std::vector<pid_t> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (uid) {
      std::ifstream status(entry.path() / "status");
      std::string line;
      bool same_uid = false;
      while (std::getline(status, line)) {
        if (line.rfind("Uid:", 0) == 0) {
          std::istringstream fields(line.substr(4));
          uid_t real = 0;
          fields >> real;
          same_uid = real == *uid;
          break;
        }
      }
      if (!same_uid) continue;
    }
    std::ifstream environ(entry.path() / "environ", std::ios::binary);
    std::string var;
    while (std::getline(environ, var, '\0')) {
      if (var == marker) {
        found.push_back(static_cast<pid_t>(std::stoi(name)));
        break;
      }
    }
  }
  return found;
}

/// Writes `content` to `path`, creating parent directories.
inline void WriteFile(const std::filesystem::path& path, std::string_view content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

/// Reads a whole file; empty if it cannot be read.
inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// `text` split at newlines, without them; no empty last element for a trailing newline.
inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

/// A TCP socket listening on 127.0.0.1 at a port the kernel chose, closed on destruction: a
/// host service that a sandboxed probe must fail to reach and the host itself reaches (the
/// positive control). `fd()` is -1 if it could not be made.
class LoopbackListener {
 public:
  LoopbackListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(fd_, 8) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = -1;
      return;
    }
    port_ = ntohs(addr.sin_port);
  }
  ~LoopbackListener() {
    if (fd_ >= 0) ::close(fd_);
  }
  LoopbackListener(const LoopbackListener&) = delete;
  LoopbackListener& operator=(const LoopbackListener&) = delete;
  int fd() const { return fd_; }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

/// True when the test command (scripts/test.sh) set everything up and said so in
/// SKILLRT_TEST_COMPLETE_SETUP=1: a build artefact missing then is a defect of the setup, and
/// the tests that need it fail instead of skipping.
inline bool CompleteSetup() {
  const char* v = getenv("SKILLRT_TEST_COMPLETE_SETUP");
  return v != nullptr && std::string_view(v) == "1";
}

}  // namespace skillrt::testing

/// Skips the current test because `what` (a string literal naming the missing artefact and the
/// script that builds it) is not built, or fails it when the setup was complete (see
/// CompleteSetup). Use inside a TEST body.
#define SKILLRT_SKIP_UNLESS_BUILT(what)                                         \
  do {                                                                          \
    if (::skillrt::testing::CompleteSetup()) FAIL() << what << ", after a complete setup"; \
    GTEST_SKIP() << what;                                                       \
  } while (0)

#endif  // SKILLRT_TESTS_TEST_UTIL_H_
