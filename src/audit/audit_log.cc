// The append-only JSON-lines audit log (include/skillrt/audit.h).
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <deque>
#include <mutex>
#include <string>
#include <utility>

#include "skillrt/audit.h"
#include "util/fd.h"

namespace skillrt {
namespace {

// flock(2) locks belong to an open file description, which every thread of the process
// shares through one AuditLog; it serialises processes only. This mutex serialises the
// threads of this process. One mutex for all logs: appends are short and rare.
std::mutex& AppendMutex() {
  static std::mutex mutex;
  return mutex;
}

// "2026-11-29T16:41:26.123456Z": RFC 3339, UTC, microseconds.
std::string NowRfc3339() {
  struct timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  struct tm utc{};
  ::gmtime_r(&ts.tv_sec, &utc);
  std::array<char, 40> buf{};
  size_t len = ::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%S", &utc);
  len += static_cast<size_t>(::snprintf(buf.data() + len, buf.size() - len, ".%06ldZ",
                                        static_cast<long>(ts.tv_nsec / 1000)));
  return std::string(buf.data(), len);
}

// Holds flock(LOCK_EX) on `fd` for its lifetime.
class FileLock {
 public:
  explicit FileLock(int fd) : fd_(fd) {}
  ~FileLock() {
    if (locked_) ::flock(fd_, LOCK_UN);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  Result<void> Lock(const std::string& path) {
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) return FailErrno(ErrorCode::kIo, "flock(" + path + ")", errno);
    }
    locked_ = true;
    return {};
  }

 private:
  int fd_;  // Not owned.
  bool locked_ = false;
};

}  // namespace

Result<AuditLog> AuditLog::Open(const std::filesystem::path& file) {
  std::filesystem::path dir = file.parent_path();
  if (!dir.empty()) {
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec)) {
      std::filesystem::create_directories(dir, ec);
      if (ec) {
        return FailErrno(ErrorCode::kIo, "mkdir(" + dir.string() + ")", ec.value());
      }
      // The log records what ran and who asked: only the owner may read it.
      if (::chmod(dir.c_str(), 0700) != 0) {
        return FailErrno(ErrorCode::kIo, "chmod(" + dir.string() + ")", errno);
      }
    }
  }
  int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return FailErrno(ErrorCode::kIo, "open(" + file.string() + ")", errno);
  return AuditLog(file, fd);
}

AuditLog::AuditLog(AuditLog&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}

AuditLog& AuditLog::operator=(AuditLog&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

AuditLog::~AuditLog() {
  if (fd_ >= 0) ::close(fd_);
}

Result<void> AuditLog::Append(const nlohmann::json& record) {
  if (!record.is_object()) {
    return Fail(ErrorCode::kInvalidArgument, "audit record must be a JSON object");
  }
  if (fd_ < 0) return Fail(ErrorCode::kInternal, "audit log " + path_.string() + " is closed");
  std::string line;
  if (record.contains("time")) {
    line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    nlohmann::json stamped = record;
    stamped["time"] = NowRfc3339();
    line = stamped.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  line += '\n';  // dump() escapes control characters, so this is the only newline.

  std::lock_guard<std::mutex> guard(AppendMutex());
  FileLock lock(fd_);
  if (auto locked = lock.Lock(path_.string()); !locked) return locked;
  struct stat st{};
  if (::fstat(fd_, &st) != 0) {
    return FailErrno(ErrorCode::kIo, "fstat(" + path_.string() + ")", errno);
  }
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      // Never leave half a line: cut the file back to where this record began. Safe because
      // every writer holds the lock while it appends.
      if (done > 0) (void)::ftruncate(fd_, st.st_size);
      return FailErrno(ErrorCode::kIo, "write(" + path_.string() + ")", err);
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

Result<std::vector<nlohmann::json>> AuditLog::Tail(size_t n) const {
  UniqueFd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return FailErrno(ErrorCode::kIo, "open(" + path_.string() + ")", errno);

  // Stream the file once, keeping only the last n lines and their numbers.
  std::deque<std::pair<size_t, std::string>> last;
  std::string current;
  size_t line_no = 0;
  auto keep = [&](std::string line) {
    ++line_no;
    if (n == 0) return;
    if (last.size() == n) last.pop_front();
    last.emplace_back(line_no, std::move(line));
  };
  std::array<char, 64 * 1024> buf;
  for (;;) {
    ssize_t got = ::read(fd.get(), buf.data(), buf.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return FailErrno(ErrorCode::kIo, "read(" + path_.string() + ")", errno);
    if (got == 0) break;
    for (ssize_t i = 0; i < got; ++i) {
      if (buf[i] == '\n') {
        keep(std::move(current));
        current.clear();
      } else {
        current += buf[i];
      }
    }
  }
  if (!current.empty()) keep(std::move(current));  // A final line without its newline.

  std::vector<nlohmann::json> records;
  records.reserve(last.size());
  for (auto& [number, text] : last) {
    nlohmann::json record = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded() || !record.is_object()) {
      return Fail(ErrorCode::kParse, path_.string() + ":" + std::to_string(number) +
                                         ": not a JSON object");
    }
    records.push_back(std::move(record));
  }
  return records;
}

}  // namespace skillrt
