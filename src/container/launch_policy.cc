#include "container/launch_policy.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <system_error>

namespace skillrt::container {
namespace {

namespace fs = std::filesystem;

// File names of the sockets through which container engines are controlled; a mount of one
// hands the skill the engine, and with it root on the host.
constexpr std::array<std::string_view, 5> kEngineSocketNames = {
    "docker.sock", "podman.sock", "containerd.sock", "crio.sock", "dockershim.sock"};

// A directory mounted into a container is searched for sockets up to this many entries; a
// larger tree is refused rather than mounted unchecked.
constexpr int kMaxScannedEntries = 20'000;

// True if `path` is `base` or lies below it (both normalized, absolute).
bool IsAtOrBelow(std::string_view path, std::string_view base) {
  if (base == "/") return true;
  return path == base || (path.size() > base.size() && path.starts_with(base) &&
                          path[base.size()] == '/');
}

std::string Normalize(const fs::path& path) {
  std::string norm = path.lexically_normal().string();
  while (norm.size() > 1 && norm.back() == '/') norm.pop_back();
  return norm;
}

// Why `norm` touches a sensitive path: it is one, lies below one, or contains one.
std::optional<std::string> SensitiveReason(std::string_view norm, bool allow_home) {
  for (std::string_view sensitive : SensitiveHostPaths()) {
    if (allow_home && (sensitive == "/home" || sensitive == "/root" || sensitive == "/tmp")) {
      // The skill directory may live below these (installed skills, checkouts, scratch
      // copies), but never be one of them or contain one.
      if (IsAtOrBelow(sensitive, norm)) {
        return "'" + std::string(norm) + "' is or contains '" + std::string(sensitive) +
               "', a sensitive host path";
      }
      continue;
    }
    if (sensitive == "/") {
      if (norm == "/") return "'/' is the host's root filesystem";
      continue;
    }
    if (IsAtOrBelow(norm, sensitive)) {
      return "'" + std::string(norm) + "' is or lies under '" + std::string(sensitive) +
             "', a sensitive host path";
    }
    if (IsAtOrBelow(sensitive, norm)) {
      return "'" + std::string(norm) + "' contains '" + std::string(sensitive) +
             "', a sensitive host path";
    }
  }
  if (!allow_home) {
    const char* home = ::getenv("HOME");
    if (home != nullptr && home[0] == '/' && std::string_view(home) != "/") {
      std::string home_norm = Normalize(home);
      if (IsAtOrBelow(norm, home_norm) || IsAtOrBelow(home_norm, norm)) {
        return "'" + std::string(norm) + "' is, contains or lies under the home directory '" +
               home_norm + "'";
      }
    }
  }
  return std::nullopt;
}

bool IsEngineSocketName(const fs::path& path) {
  const std::string name = path.filename().string();
  return std::find(kEngineSocketNames.begin(), kEngineSocketNames.end(), name) !=
         kEngineSocketNames.end();
}

// Why the tree at `resolved` holds a socket, or nothing. Symlinks are not followed (a link
// inside the mount points at the container's own filesystem, not the host's).
std::optional<std::string> SocketReason(const std::string& resolved) {
  struct stat st;
  if (::stat(resolved.c_str(), &st) != 0) return "'" + resolved + "' cannot be examined";
  if (S_ISSOCK(st.st_mode)) return "'" + resolved + "' is a socket";
  if (!S_ISDIR(st.st_mode)) return std::nullopt;
  std::error_code ec;
  int seen = 0;
  for (auto it = fs::recursive_directory_iterator(resolved, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (++seen > kMaxScannedEntries) {
      return "'" + resolved + "' holds more than " + std::to_string(kMaxScannedEntries) +
             " entries, too many to check for sockets; declare a narrower path";
    }
    std::error_code type_ec;
    const fs::file_status status = it->symlink_status(type_ec);
    if (!type_ec && status.type() == fs::file_type::socket) {
      return "'" + resolved + "' contains the socket '" + it->path().string() + "'";
    }
    if (IsEngineSocketName(it->path())) {
      return "'" + resolved + "' contains '" + it->path().string() +
             "', the name of a container engine socket";
    }
  }
  if (ec) return "'" + resolved + "' cannot be searched for sockets (" + ec.message() + ")";
  return std::nullopt;
}

std::optional<Refusal> CheckHostPath(const fs::path& path, const std::string& key,
                                     bool allow_home) {
  const std::string raw = path.string();
  auto refuse = [&](std::string message) { return Refusal{key, std::move(message)}; };
  if (raw.empty() || raw.front() != '/') return refuse("'" + raw + "' is not an absolute path");
  for (const auto& part : path) {
    if (part == "..") return refuse("'" + raw + "' contains a '..' component");
  }
  if (raw.find_first_of(",:\n\r\t") != std::string::npos) {
    return refuse("'" + raw + "' contains ',', ':' or a control character, which the "
                  "engine's mount syntax cannot carry");
  }
  const std::string norm = Normalize(path);
  if (IsEngineSocketName(norm)) {
    return refuse("'" + norm + "' is named like a container engine socket; engine sockets "
                  "are never mounted (they grant control of the host)");
  }
  if (auto why = SensitiveReason(norm, allow_home)) return refuse(*why);
  // The engine follows symlinks when it mounts: check where the path really leads.
  char buf[PATH_MAX];
  if (::realpath(norm.c_str(), buf) == nullptr) {
    return refuse("'" + norm + "' cannot be resolved: " + std::error_code(errno,
                  std::generic_category()).message());
  }
  const std::string resolved = buf;
  if (resolved != norm) {
    if (IsEngineSocketName(resolved)) {
      return refuse("'" + norm + "' resolves to '" + resolved +
                    "', a container engine socket");
    }
    if (auto why = SensitiveReason(resolved, allow_home)) {
      return refuse("'" + norm + "' resolves to '" + resolved + "': " + *why);
    }
  }
  if (auto why = SocketReason(resolved)) {
    return refuse(*why + "; sockets are never mounted into a container (an engine socket "
                  "grants control of the host)");
  }
  return std::nullopt;
}

bool ParseId(std::string_view text, uint64_t* value) {
  if (text.empty() || text.size() > 10) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > UINT32_MAX - 1) return false;
  *value = v;
  return true;
}

bool IsImageChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '.' || c == '_' || c == '-' || c == '/' || c == ':' || c == '@';
}

std::string NamespaceMessage(std::string_view what, const std::string& value) {
  if (value == "host") {
    return "'host' would share the host's " + std::string(what) +
           " namespace with the skill; only \"private\" is allowed";
  }
  return "'" + value + "' is not allowed; only \"private\" (a namespace of the container's "
         "own) is";
}

}  // namespace

const std::vector<std::string_view>& SensitiveHostPaths() {
  // Why each: the root and system directories hold the host's programs, configuration and
  // credentials (/etc/shadow, /etc/sudoers); /proc, /sys and /dev are kernel interfaces and
  // devices; /boot holds kernels; /run and /var/run hold daemons' sockets and state (the
  // engine's own socket among them); /root and /home hold users' keys and tokens; the
  // engines' storage holds every image and container filesystem; /tmp and /skill are the
  // container's own mount points.
  static const std::vector<std::string_view> kPaths = {
      "/",     "/bin",  "/boot", "/dev",   "/etc",   "/home",  "/lib",    "/lib32",
      "/lib64", "/libx32", "/proc", "/root", "/run", "/sbin", "/skill", "/sys",
      "/tmp",  "/usr",  "/var/run", "/var/lib/containers", "/var/lib/docker",
      "/var/lib/containerd", "/var/lib/kubelet", "/var/log"};
  return kPaths;
}

std::vector<Refusal> CheckSpec(const ContainerSpec& spec) {
  std::vector<Refusal> out;
  auto refuse = [&](std::string key, std::string message) {
    out.push_back(Refusal{std::move(key), std::move(message)});
  };
  if (spec.image.empty()) {
    refuse("container.image", "required: the image to run, e.g. \"localhost/skillrt-busybox:1\"");
  } else if (spec.image.front() == '-') {
    refuse("container.image", "'" + spec.image + "' starts with '-', which the engine would "
           "read as an option");
  } else if (spec.image.size() > 255 ||
             !std::all_of(spec.image.begin(), spec.image.end(), IsImageChar)) {
    refuse("container.image", "'" + spec.image + "' is not an image reference "
           "([A-Za-z0-9._/:@-], at most 255 characters)");
  }
  {
    const std::string& user = spec.user;
    const size_t colon = user.find(':');
    const std::string_view uid_text = std::string_view(user).substr(0, colon);
    const std::string_view gid_text =
        colon == std::string::npos ? std::string_view() : std::string_view(user).substr(colon + 1);
    uint64_t uid = 0, gid = 1;
    if (user == "root" || uid_text == "root" || gid_text == "root") {
      refuse("container.user", "'" + user + "' runs as root; containers run as a non-root "
             "numeric user (default \"65534:65534\")");
    } else if (!ParseId(uid_text, &uid) ||
               (colon != std::string::npos && !ParseId(gid_text, &gid))) {
      refuse("container.user", "'" + user + "' is not a numeric \"uid\" or \"uid:gid\" (user "
             "names are resolved inside the image, so they are not accepted)");
    } else if (uid == 0 || gid == 0) {
      refuse("container.user", "'" + user + "' is root (uid or gid 0); containers run as a "
             "non-root user (default \"65534:65534\")");
    }
  }
  if (!spec.read_only_root) {
    refuse("container.read_only_root", "the root filesystem is always read-only; write to "
           "/tmp or to a path declared in capabilities.write");
  }
  if (spec.workdir.empty() || spec.workdir.front() != '/' ||
      spec.workdir.find_first_of(std::string_view("\0\n", 2)) != std::string::npos ||
      spec.workdir.find("..") != std::string::npos) {
    refuse("container.workdir", "'" + spec.workdir + "' is not a normalized absolute path");
  }
  if (!std::isfinite(spec.cpus) || spec.cpus < 0 || spec.cpus > 1024) {
    refuse("container.cpus", "expected a number of CPUs between 0 (unlimited) and 1024");
  }
  if (spec.privileged) {
    refuse("container.privileged", "privileged mode gives the container every capability and "
           "every host device; it is never allowed");
  }
  if (spec.network != "none") {
    refuse("container.network",
           spec.network == "host"
               ? "'host' would share the host's network namespace; only \"none\" is allowed"
               : "'" + spec.network + "' is not allowed; a container has no network (\"none\") "
                 "unless [capabilities.network] names hosts, which it then reaches through "
                 "skillrt's egress proxy only");
  }
  if (spec.pid != "private") refuse("container.pid", NamespaceMessage("pid", spec.pid));
  if (spec.ipc != "private") refuse("container.ipc", NamespaceMessage("IPC", spec.ipc));
  if (spec.uts != "private") refuse("container.uts", NamespaceMessage("UTS", spec.uts));
  for (size_t i = 0; i < spec.cap_add.size(); ++i) {
    refuse("container.cap_add[" + std::to_string(i) + "]",
           "'" + spec.cap_add[i] + "': capabilities are never added; every capability is "
           "dropped");
  }
  for (size_t i = 0; i < spec.devices.size(); ++i) {
    refuse("container.devices[" + std::to_string(i) + "]",
           "'" + spec.devices[i] + "': host devices are never passed to a container");
  }
  return out;
}

std::optional<Refusal> CheckMount(const MountRequest& mount) {
  return CheckHostPath(mount.path, mount.key, /*allow_home=*/false);
}

std::optional<Refusal> CheckSkillDir(const std::filesystem::path& dir) {
  return CheckHostPath(dir, "skill directory", /*allow_home=*/true);
}

std::vector<Refusal> CheckPlan(const Plan& plan) {
  std::vector<Refusal> out;
  if (plan.container) {
    out = CheckSpec(*plan.container);
  } else {
    out.push_back(Refusal{"container", "required for the container runtime"});
  }
  if (auto refusal = CheckSkillDir(plan.skill_dir)) out.push_back(*refusal);
  for (const BindMount& mount : plan.mounts) {
    const MountRequest request = {
        .path = mount.path,
        .writable = mount.writable,
        .key = mount.writable ? "capabilities.write" : "capabilities.read"};
    if (auto refusal = CheckMount(request)) out.push_back(*refusal);
  }
  return out;
}

Error RefusalError(const std::filesystem::path& manifest_file,
                   const std::vector<Refusal>& refusals) {
  if (refusals.empty()) return Error::Make(ErrorCode::kInternal, "no refusal to report");
  std::string message = "container launch policy: " + manifest_file.string() + ": " +
                        refusals.front().key + ": " + refusals.front().message;
  if (refusals.size() > 1) message += " (and " + std::to_string(refusals.size() - 1) + " more)";
  return Error::Make(ErrorCode::kDenied, std::move(message));
}

}  // namespace skillrt::container
