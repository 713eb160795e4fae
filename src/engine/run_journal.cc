// Runs in flight (src/engine/run_journal.h).
#include "engine/run_journal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <ctime>
#include <fstream>
#include <mutex>
#include <sstream>

#include "skillrt/fd.h"

namespace skillrt {
namespace {

std::string ReadSmallFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Field 22 of /proc/<pid>/stat: the start time in clock ticks after boot. The command name
// (field 2) may hold spaces and parentheses, so count from the last ')'.
uint64_t StartTicks(int pid) {
  const std::string stat = ReadSmallFile("/proc/" + std::to_string(pid) + "/stat");
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 1));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i == 22) return std::strtoull(field.c_str(), nullptr, 10);
  }
  return 0;
}

std::string BootId() {
  std::string id = ReadSmallFile("/proc/sys/kernel/random/boot_id");
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  return id;
}

std::string NowText() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Run ids are [A-Za-z0-9_-]: safe as file names.
bool SafeName(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

}  // namespace

ProcessIdentity ProcessIdentity::Self() {
  // Cached per pid: a forked child is another process.
  static std::mutex mu;
  static ProcessIdentity self;
  const int pid = static_cast<int>(::getpid());
  std::lock_guard lock(mu);
  if (self.pid != pid) {
    self = ProcessIdentity{.pid = pid, .start_ticks = StartTicks(pid), .boot_id = BootId()};
  }
  return self;
}

bool ProcessIdentity::Alive() const {
  if (pid <= 0) return false;
  if (boot_id != Self().boot_id) return false;  // Another boot: every process of it is gone.
  const uint64_t ticks = StartTicks(pid);
  return ticks != 0 && ticks == start_ticks;  // Gone, or the pid now names another process.
}

RunJournal::RunJournal(std::filesystem::path home) : dir_(std::move(home) / "runs") {}

Result<void> RunJournal::Begin(const std::string& run_id, nlohmann::json entry) {
  if (!SafeName(run_id)) {
    return Fail(ErrorCode::kInvalidArgument, "run id '" + run_id + "' cannot name a file");
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(dir_, ec)) {
    std::filesystem::create_directories(dir_, ec);
    if (ec) return FailErrno(ErrorCode::kIo, "mkdir(" + dir_.string() + ")", ec.value());
    if (::chmod(dir_.c_str(), 0700) != 0) {
      return FailErrno(ErrorCode::kIo, "chmod(" + dir_.string() + ")", errno);
    }
  }
  const ProcessIdentity self = ProcessIdentity::Self();
  entry["run_id"] = run_id;
  entry["owner"] = {{"pid", self.pid}, {"start_ticks", self.start_ticks}, {"boot_id", self.boot_id}};
  entry["started"] = NowText();
  // Written, not synced: the entry must outlive this process (the page cache does), not the
  // machine; after a power loss no sandbox is left to end. An fsync here would cost every run
  // milliseconds. A write cut short by a kill leaves an unparsable entry, which Abandoned
  // reports by its age.
  const std::filesystem::path file = dir_ / (run_id + ".json");
  const std::string text =
      entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) return FailErrno(ErrorCode::kIo, "open(" + file.string() + ")", errno);
  std::string_view rest = text;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd.get(), rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      (void)::unlink(file.c_str());
      return FailErrno(ErrorCode::kIo, "write(" + file.string() + ")", err);
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

void RunJournal::End(const std::string& run_id) {
  if (SafeName(run_id)) (void)::unlink((dir_ / (run_id + ".json")).c_str());
}

void RunJournal::Forget(const std::string& run_id) { End(run_id); }

std::vector<nlohmann::json> RunJournal::Abandoned() const {
  std::vector<nlohmann::json> out;
  std::error_code ec;
  for (const auto& file : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string name = file.path().filename().string();
    if (!name.ends_with(".json")) continue;
    const std::string run_id = name.substr(0, name.size() - 5);
    if (!SafeName(run_id)) continue;
    nlohmann::json entry =
        nlohmann::json::parse(ReadSmallFile(file.path()), nullptr, /*allow_exceptions=*/false);
    if (entry.is_discarded() || !entry.is_object()) {
      // Torn by a crash mid-write (WriteFileAtomic makes that unlikely): its owner is
      // unknown, so judge by age rather than guess; an hour-old unreadable entry is abandoned.
      struct stat st{};
      if (::stat(file.path().c_str(), &st) == 0 && ::time(nullptr) - st.st_mtime > 3600) {
        out.push_back({{"run_id", run_id}, {"unreadable", true}});
      }
      continue;
    }
    const nlohmann::json owner = entry.value("owner", nlohmann::json::object());
    ProcessIdentity identity{.pid = owner.value("pid", 0),
                             .start_ticks = owner.value("start_ticks", uint64_t{0}),
                             .boot_id = owner.value("boot_id", std::string())};
    if (identity.Alive()) continue;
    entry["run_id"] = run_id;
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace skillrt
