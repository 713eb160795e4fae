// The append-only JSON-lines audit log (include/skillrt/audit.h).
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "audit/audit_chain.h"
#include "audit/canonical_json.h"
#include "skillrt/audit.h"
#include "skillrt/fd.h"
#include "util/utf8.h"

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

// True when `value` is what parsing its dump() gives back, as its canonical JSON sees it:
// every string and member name well-formed UTF-8 (dump() replaces other bytes), every number
// finite (dump() writes null for the others), nothing that is not JSON (binary, discarded).
bool ReadsBackAsItself(const nlohmann::json& value) {
  using Type = nlohmann::json::value_t;
  switch (value.type()) {
    case Type::string:
      return IsWellFormedUtf8(value.get_ref<const std::string&>());
    case Type::number_float:
      return std::isfinite(value.get<double>());
    case Type::array:
      for (const auto& item : value) {
        if (!ReadsBackAsItself(item)) return false;
      }
      return true;
    case Type::object:
      for (const auto& [name, item] : value.items()) {
        if (!IsWellFormedUtf8(name) || !ReadsBackAsItself(item)) return false;
      }
      return true;
    case Type::binary:
    case Type::discarded:
      return false;
    default:
      return true;
  }
}

// The fields the log itself writes: a caller may not set them.
constexpr std::array<std::string_view, 5> kChainKeys = {"seq", "prev", "hash", "chain_note",
                                                         "head_mismatch"};

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
  int fd = ::open(file.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
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
  for (std::string_view key : kChainKeys) {
    if (record.contains(key)) {
      return Fail(ErrorCode::kInvalidArgument,
                  "audit record: " + std::string(key) + ": set by the audit log, not the caller");
    }
  }
  if (fd_ < 0) return Fail(ErrorCode::kInternal, "audit log " + path_.string() + " is closed");
  nlohmann::json stamped = record;
  if (!stamped.contains("time")) stamped["time"] = NowRfc3339();

  std::lock_guard<std::mutex> guard(AppendMutex());
  audit::FileLock lock(fd_);
  if (auto locked = lock.Lock(LOCK_EX, path_.string()); !locked) return locked;
  struct stat st{};
  if (::fstat(fd_, &st) != 0) {
    return FailErrno(ErrorCode::kIo, "fstat(" + path_.string() + ")", errno);
  }

  // Chain onto the last line. The log, not the head, is what the next record links to; a
  // head that disagrees is recorded in the new record, so that verification still reports it.
  bool terminated = true;
  auto last_line = audit::ReadLastLine(fd_, st.st_size, path_.string(), &terminated);
  if (!last_line) return std::unexpected(last_line.error());
  audit::ChainState log_state;
  if (st.st_size > 0) {
    auto fields = audit::ReadChainFieldsOfLine(*last_line);
    if (terminated && fields) {
      log_state = {.seq = fields->seq, .hash = fields->hash};
    } else {
      stamped["chain_note"] =
          "the line before this record is not a chained record; the chain restarts at seq 1";
    }
  }
  std::filesystem::path head_path = AuditHeadPath(path_);
  auto head = audit::ReadHead(head_path);
  audit::ChainState head_state;
  if (head && *head) head_state = **head;
  if (!head) {
    stamped["head_mismatch"] = head.error().message;
  } else if (!*head && log_state != audit::ChainState{}) {
    stamped["head_mismatch"] = head_path.filename().string() + " is missing";
  } else if (*head && head_state != log_state && !audit::IsInterruptedAppend(
                                                     head_state, log_state, *last_line)) {
    // One record past the head and chained onto it is an append whose head update failed
    // (a full disk, a crash between the two writes): this append completes it. Anything
    // else is recorded.
    stamped["head_mismatch"] = {{"seq", head_state.seq}, {"hash", head_state.hash}};
  }
  stamped["seq"] = log_state.seq + 1;
  stamped["prev"] = log_state.hash;

  // Hash what will be read back: dump() replaces bytes that are not UTF-8 and writes a
  // non-finite number as null, so a record holding either goes through its stored text first.
  // Parsing text dump() wrote cannot fail. Any other record reads back as itself.
  nlohmann::json clean;
  if (ReadsBackAsItself(stamped)) {
    clean = std::move(stamped);
  } else {
    clean = nlohmann::json::parse(
        stamped.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), nullptr,
        /*allow_exceptions=*/false);
    if (clean.is_discarded()) {
      return Fail(ErrorCode::kInternal, "audit record does not read back as JSON");
    }
  }
  audit::ChainState next{.seq = log_state.seq + 1, .hash = audit::RecordHash(clean)};
  clean["hash"] = next.hash;
  // The line is the record's canonical JSON: its only spelling, so that verification can
  // tell any changed byte. It has no raw control characters, so this is its only newline.
  std::string line = CanonicalJson(clean) + "\n";
  // A last line without its newline (a torn write): keep it a line of its own.
  if (!terminated) line.insert(line.begin(), '\n');

  // Returns 0 or the errno of a failed write, with the file cut back to where it was.
  auto write_line = [&]() -> int {
    size_t done = 0;
    while (done < line.size()) {
      ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        int err = n < 0 ? errno : EIO;
        // Never leave half a line: cut the file back to where this record began. Safe
        // because every writer holds the lock while it appends.
        if (done > 0) (void)::ftruncate(fd_, st.st_size);
        return err;
      }
      done += static_cast<size_t>(n);
    }
    return 0;
  };
  // A full disk: give up the reserve (Reserve) and try once more, so that the record of a
  // run that has already happened is not lost.
  int err = write_line();
  if (err == ENOSPC && ReleaseReserve()) err = write_line();
  if (err != 0) return FailErrno(ErrorCode::kIo, "write(" + path_.string() + ")", err);
  auto written = audit::WriteHead(head_path, next);
  if (!written && written.error().sys_errno == ENOSPC && ReleaseReserve()) {
    written = audit::WriteHead(head_path, next);
  }
  if (!written) {
    return Fail(ErrorCode::kIo, "audit record seq " + std::to_string(next.seq) +
                                    " appended but its head not updated (the next append "
                                    "completes it): " + written.error().message);
  }
  return {};
}

std::filesystem::path AuditLog::reserve_path() const {
  std::filesystem::path reserve = path_;
  reserve.replace_extension(".reserve");
  return reserve;
}

Result<void> AuditLog::Reserve(uint64_t bytes) {
  const std::filesystem::path reserve = reserve_path();
  struct stat st{};
  if (::stat(reserve.c_str(), &st) == 0 &&
      static_cast<uint64_t>(st.st_blocks) * 512 >= bytes) {
    return {};
  }
  UniqueFd fd(::open(reserve.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return FailErrno(ErrorCode::kIo, "open(" + reserve.string() + ")", errno);
  // Blocks really allocated, not a sparse length: they are what a full disk gives back.
  if (int rc = ::posix_fallocate(fd.get(), 0, static_cast<off_t>(bytes)); rc != 0) {
    fd.Reset();
    (void)::unlink(reserve.c_str());
    return FailErrno(ErrorCode::kIo,
                     "fallocate(" + reserve.string() + ", " + std::to_string(bytes) +
                         " bytes): no room to record runs in the audit log; refusing to run",
                     rc);
  }
  return {};
}

bool AuditLog::ReleaseReserve() {
  return ::unlink(reserve_path().c_str()) == 0;
}

Result<AuditVerification> AuditLog::Verify() const { return VerifyAuditLog(path_); }

Result<std::vector<nlohmann::json>> AuditLog::Tail(size_t n) const {
  UniqueFd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return FailErrno(ErrorCode::kIo, "open(" + path_.string() + ")", errno);
  // Shared with other readers, never with an append: no half-written line is read.
  audit::FileLock lock(fd.get());
  if (auto locked = lock.Lock(LOCK_SH, path_.string()); !locked) {
    return std::unexpected(locked.error());
  }

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
