#include "container/probe_cache.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string_view>
#include <system_error>

#include "skillrt/atomic_file.h"
#include "skillrt/fd.h"

namespace skillrt::container {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMagic = "skillrt engine probe 1";
constexpr off_t kMaxFileBytes = 64 << 10;

// Variables that make podman or docker read another configuration, talk to another service
// or use other storage (containers.conf(5), containers-storage.conf(5), podman(1) and
// docker(1) ENVIRONMENT): a probe made under one set says nothing about another.
constexpr const char* kEngineEnv[] = {
    "CONTAINERS_CONF",    "CONTAINERS_CONF_OVERRIDE", "CONTAINERS_STORAGE_CONF",
    "CONTAINER_HOST",     "CONTAINER_CONNECTION",     "XDG_RUNTIME_DIR",
    "XDG_CONFIG_HOME",    "HOME",                     "DOCKER_HOST",
    "DOCKER_CONTEXT",     "DOCKER_CONFIG",            "DOCKER_TLS_VERIFY",
    "DOCKER_CERT_PATH",
};

// System-wide configuration the engines read (the same pages, FILES sections). Directories
// are listed too: adding a drop-in file changes their modification time.
constexpr const char* kSystemConfig[] = {
    "/usr/share/containers/containers.conf", "/etc/containers/containers.conf",
    "/etc/containers/containers.conf.d",     "/usr/share/containers/containers.conf.d",
    "/etc/containers/storage.conf",          "/usr/share/containers/storage.conf",
    "/etc/docker/daemon.json",
};

std::string StatLine(std::string_view what, const std::string& path, bool follow) {
  struct stat st;
  const int rc = follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st);
  std::string line = std::string(what) + " " + path;
  if (rc != 0) return line + " absent";
  char buf[160];
  std::snprintf(buf, sizeof buf, " %llu %llu %o %lld %lld.%09ld %lld.%09ld",
                static_cast<unsigned long long>(st.st_dev),
                static_cast<unsigned long long>(st.st_ino), static_cast<unsigned>(st.st_mode),
                static_cast<long long>(st.st_size), static_cast<long long>(st.st_mtim.tv_sec),
                st.st_mtim.tv_nsec, static_cast<long long>(st.st_ctim.tv_sec),
                st.st_ctim.tv_nsec);
  return line + buf;
}

std::string UserConfigDir() {
  if (const char* xdg = ::getenv("XDG_CONFIG_HOME"); xdg != nullptr && *xdg == '/') {
    return std::string(xdg) + "/containers";
  }
  if (const char* home = ::getenv("HOME"); home != nullptr && *home == '/') {
    return std::string(home) + "/.config/containers";
  }
  return {};
}

const char* KindName(EngineKind kind) {
  return kind == EngineKind::kDocker ? "docker" : "podman";
}

// Reads `file` if it is a private regular file of ours no larger than kMaxFileBytes.
std::optional<std::string> ReadPrivateFile(const fs::path& file) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return std::nullopt;
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid() ||
      (st.st_mode & 077) != 0 || st.st_size > kMaxFileBytes) {
    return std::nullopt;
  }
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::read(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    done += static_cast<size_t>(n);
  }
  return data;
}

// Takes the line at the front of `text` (without its newline); false when there is none.
bool TakeLine(std::string_view& text, std::string_view& line) {
  const size_t nl = text.find('\n');
  if (nl == std::string_view::npos) return false;
  line = text.substr(0, nl);
  text.remove_prefix(nl + 1);
  return true;
}

// The decimal number after `prefix` in `line`, or std::nullopt.
std::optional<long long> Field(std::string_view line, std::string_view prefix) {
  if (!line.starts_with(prefix) || line.size() == prefix.size()) return std::nullopt;
  long long value = 0;
  for (char c : line.substr(prefix.size())) {
    if (c < '0' || c > '9' || value > (INT64_MAX - 9) / 10) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

}  // namespace

std::optional<std::string> ProbeKey(const std::string& path) {
  struct stat st;
  if (path.empty() || path.front() != '/' || ::stat(path.c_str(), &st) != 0) return std::nullopt;
  std::string key;
  bool one_line_each = true;
  // Each fact is one line: a value with a newline of its own could forge another fact.
  auto add = [&](const std::string& fact) {
    one_line_each = one_line_each && fact.find('\n') == std::string::npos;
    key += fact + "\n";
  };
  add("engine " + path);
  add(StatLine("binary", path, /*follow=*/true));
  add(StatLine("link", path, /*follow=*/false));
  add("euid " + std::to_string(::geteuid()));
  for (const char* name : kEngineEnv) {
    const char* value = ::getenv(name);
    add(std::string("env ") + name + (value ? "=" + std::string(value) : " unset"));
  }
  for (const char* file : kSystemConfig) add(StatLine("config", file, /*follow=*/true));
  if (const std::string dir = UserConfigDir(); !dir.empty()) {
    for (const char* name : {"containers.conf", "containers.conf.d", "storage.conf"}) {
      add(StatLine("config", dir + "/" + name, /*follow=*/true));
    }
  }
  if (const char* conf = ::getenv("CONTAINERS_CONF"); conf != nullptr && *conf == '/') {
    add(StatLine("config", conf, /*follow=*/true));
  }
  if (!one_line_each) return std::nullopt;
  return key;
}

fs::path ProbeCacheFile(const fs::path& dir, const std::string& path) {
  // FNV-1a over the path: a file name, not a check (the key inside is compared in full).
  uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : path) hash = (hash ^ c) * 1099511628211ull;
  char name[32];
  std::snprintf(name, sizeof name, "engine-%016llx", static_cast<unsigned long long>(hash));
  return dir / name;
}

std::optional<EngineInfo> ReadProbe(const fs::path& file, const std::string& key,
                                    std::chrono::system_clock::time_point now) {
  const auto data = ReadPrivateFile(file);
  if (!data) return std::nullopt;
  std::string_view text = *data;
  std::string_view magic, when, kind, stats;
  if (!TakeLine(text, magic) || magic != kMagic || !TakeLine(text, when) ||
      !TakeLine(text, kind) || !TakeLine(text, stats) || text != key) {
    return std::nullopt;
  }
  const auto probed_at = Field(when, "probed_at ");
  const auto version = Field(stats, "stats_cgroup_version ");
  if (!probed_at || !version || *version > 2) return std::nullopt;
  const auto age = now - std::chrono::system_clock::time_point(std::chrono::seconds(*probed_at));
  if (age < std::chrono::seconds(0) || age > kProbeCacheMaxAge) return std::nullopt;
  EngineInfo info;
  if (kind == "kind podman") {
    info.kind = EngineKind::kPodman;
  } else if (kind == "kind docker") {
    info.kind = EngineKind::kDocker;
  } else {
    return std::nullopt;
  }
  info.name = KindName(info.kind);
  // The path is the key's first line; the kind must be the one its name gives (ProbeEngine).
  info.path = key.substr(7, key.find('\n') - 7);
  const std::string base = fs::path(info.path).filename().string();
  const EngineKind named =
      base.find("docker") != std::string::npos ? EngineKind::kDocker : EngineKind::kPodman;
  if (named != info.kind) return std::nullopt;
  info.stats_cgroup_version = static_cast<int>(*version);
  return info;
}

Result<void> WriteProbe(const fs::path& file, const std::string& key, const EngineInfo& info,
                        std::chrono::system_clock::time_point now) {
  const fs::path dir = file.parent_path();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) return FailErrno(ErrorCode::kIo, "mkdir(" + dir.string() + ")", ec.value());
    if (::chmod(dir.c_str(), 0700) != 0) {
      return FailErrno(ErrorCode::kIo, "chmod(" + dir.string() + ")", errno);
    }
  }
  const long long seconds =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  std::string data = std::string(kMagic) + "\n";
  data += "probed_at " + std::to_string(seconds) + "\n";
  data += std::string("kind ") + KindName(info.kind) + "\n";
  data += "stats_cgroup_version " + std::to_string(info.stats_cgroup_version) + "\n";
  data += key;
  return WriteFileAtomic(file, data, 0600);
}

Result<EngineInfo> ProbeEngineCached(const std::string& path, const fs::path& cache_dir) {
  if (cache_dir.empty()) return ProbeEngine(path);
  const auto key = ProbeKey(path);
  if (!key) return ProbeEngine(path);
  const fs::path file = ProbeCacheFile(cache_dir, path);
  if (auto cached = ReadProbe(file, *key, std::chrono::system_clock::now())) return *cached;
  auto info = ProbeEngine(path);
  if (!info) return info;
  // The key is taken again after the probe: an engine replaced while it was being probed
  // must not be stored under the key of the binary that answered.
  if (ProbeKey(path) == key) (void)WriteProbe(file, *key, *info, std::chrono::system_clock::now());
  return info;
}

void ForgetProbe(const fs::path& cache_dir, const std::string& path) {
  if (cache_dir.empty()) return;
  (void)::unlink(ProbeCacheFile(cache_dir, path).c_str());
}

}  // namespace skillrt::container
