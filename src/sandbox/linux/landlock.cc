#include "sandbox/linux/landlock.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/linux/child.h"
#include "runtime/path_pin.h"
#include "sandbox/linux/sys.h"

namespace skillrt::landlock {
namespace {

// The UAPI of landlock(7), defined here because Debian 12's headers predate ABI 4-7.
// Values from include/uapi/linux/landlock.h.
struct RulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;  // ABI >= 4
  uint64_t scoped;              // ABI >= 6
};
struct __attribute__((packed)) PathBeneathAttr {
  uint64_t allowed_access;
  int32_t parent_fd;
};
constexpr long kSysCreateRuleset = 444;
constexpr long kSysAddRule = 445;
constexpr long kSysRestrictSelf = 446;
constexpr uint32_t kCreateRulesetVersion = 1u << 0;
constexpr int kRulePathBeneath = 1;

constexpr uint64_t kExecute = 1ull << 0;
constexpr uint64_t kWriteFile = 1ull << 1;
constexpr uint64_t kReadFile = 1ull << 2;
constexpr uint64_t kReadDir = 1ull << 3;
constexpr uint64_t kRemoveDir = 1ull << 4;
constexpr uint64_t kRemoveFile = 1ull << 5;
constexpr uint64_t kMakeChar = 1ull << 6;
constexpr uint64_t kMakeDir = 1ull << 7;
constexpr uint64_t kMakeReg = 1ull << 8;
constexpr uint64_t kMakeSock = 1ull << 9;
constexpr uint64_t kMakeFifo = 1ull << 10;
constexpr uint64_t kMakeBlock = 1ull << 11;
constexpr uint64_t kMakeSym = 1ull << 12;
constexpr uint64_t kRefer = 1ull << 13;     // ABI >= 2
constexpr uint64_t kTruncate = 1ull << 14;  // ABI >= 3
constexpr uint64_t kIoctlDev = 1ull << 15;  // ABI >= 5
constexpr uint64_t kScopeAbstractUnix = 1ull << 0;  // ABI >= 6
constexpr uint64_t kScopeSignal = 1ull << 1;        // ABI >= 6

// Rights that apply to a file (as opposed to a directory) in a path-beneath rule.
constexpr uint64_t kFileRights = kExecute | kWriteFile | kReadFile | kTruncate | kIoctlDev;
constexpr uint64_t kRead = kReadFile | kReadDir;
constexpr uint64_t kWrite = kWriteFile | kRemoveDir | kRemoveFile | kMakeDir | kMakeReg |
                            kMakeSock | kMakeFifo | kMakeSym | kRefer | kTruncate;

uint64_t HandledFs(int abi) {
  uint64_t fs = kExecute | kWriteFile | kReadFile | kReadDir | kRemoveDir | kRemoveFile |
                kMakeChar | kMakeDir | kMakeReg | kMakeSock | kMakeFifo | kMakeBlock | kMakeSym;
  if (abi >= 2) fs |= kRefer;
  if (abi >= 3) fs |= kTruncate;
  if (abi >= 5) fs |= kIoctlDev;
  return fs;
}

}  // namespace

int Abi() {
  static const int abi = [] {
    long v = ::syscall(kSysCreateRuleset, nullptr, 0, kCreateRulesetVersion);
    return v < 0 ? 0 : static_cast<int>(v);
  }();
  return abi;
}

void PlanRuleset(const Plan& plan, const std::vector<std::string>& exec_paths, int abi,
                 Ruleset* out) {
  Ruleset& rs = *out;
  rs.abi = abi;
  rs.handled_fs = HandledFs(abi);
  // TCP is not handled: a skill may listen and connect on its namespace's loopback, the only
  // interface there is. Landlock names ports, not addresses, so it could not say "loopback
  // only"; the network namespace does (docs/sandbox.md, "Network").
  rs.handled_net = 0;
  // Signals and abstract Unix sockets only within the sandbox's own Landlock domain.
  rs.scoped = abi >= 6 ? (kScopeAbstractUnix | kScopeSignal) : 0;
  auto add = [&](std::string path, uint64_t access, bool optional = false, bool exact = false) {
    rs.strings.push_back(std::move(path));
    rs.rules.push_back({.path = rs.strings.back().c_str(),
                        .access = access & rs.handled_fs,
                        .optional = optional,
                        .exact = exact});
  };
  add("/", kReadDir);  // Listing the root shows only the minimal tree.
  // The system directories; with the system execution profile their programs may be run by
  // whatever the skill starts (docs/sandbox.md, "Execution profile").
  const uint64_t system = plan.exec_profile == ExecProfile::kSystem ? kRead | kExecute : kRead;
  for (const char* dir : {"/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"}) {
    add(dir, system, /*optional=*/true);
  }
  add("/skillrt", kRead);  // Command aliases: links into the system directories.
  add("/etc", kRead);
  add("/skill", kRead);
  add("/proc", kRead);
  add("/dev", kReadDir);
  // Sinks: writable; O_TRUNC (shell "> /dev/null") needs the truncate right.
  for (const char* sink : {"/dev/null", "/dev/zero", "/dev/full"}) {
    add(sink, kReadFile | kWriteFile | kTruncate);
  }
  add("/dev/random", kReadFile);
  add("/dev/urandom", kReadFile);
  add("/tmp", kRead | kWrite);
  add("/dev/shm", kRead | kWrite);
  for (const BindMount& m : plan.mounts) {
    add(m.path.string(), m.writable ? (kRead | kWrite) : kRead, /*optional=*/false,
        /*exact=*/true);
  }
  for (const std::string& exe : exec_paths) add(exe, kExecute | kReadFile);
}

void Restrict(const RulesetView& rs, int err_fd) {
  RulesetAttr attr = {.handled_access_fs = rs.handled_fs,
                      .handled_access_net = rs.handled_net,
                      .scoped = rs.scoped};
  const size_t size = rs.abi >= 6 ? sizeof(RulesetAttr) : rs.abi >= 4 ? 16 : 8;
  const int ruleset = static_cast<int>(::syscall(kSysCreateRuleset, &attr, size, 0));
  if (ruleset < 0) sandbox::ChildFail(err_fd, "landlock_create_ruleset", errno);
  for (size_t i = 0; i < rs.rule_count; ++i) {
    const Rule& rule = rs.rules[i];
    const int fd =
        rule.exact ? OpenNoSymlinks(rule.path, O_PATH) : ::open(rule.path, O_PATH | O_CLOEXEC);
    if (fd < 0) {
      if (rule.optional && errno == ENOENT) continue;
      sandbox::ChildFailCall(err_fd, "landlock open", rule.path, errno);
    }
    struct stat st;
    if (::fstat(fd, &st) != 0) sandbox::ChildFail(err_fd, "landlock fstat", errno);
    PathBeneathAttr beneath = {
        .allowed_access = S_ISDIR(st.st_mode) ? rule.access : (rule.access & kFileRights),
        .parent_fd = fd};
    if (::syscall(kSysAddRule, ruleset, kRulePathBeneath, &beneath, 0) != 0) {
      sandbox::ChildFailCall(err_fd, "landlock_add_rule", rule.path, errno);
    }
    ::close(fd);
  }
  if (::syscall(kSysRestrictSelf, ruleset, 0) != 0) {
    sandbox::ChildFail(err_fd, "landlock_restrict_self", errno);
  }
  ::close(ruleset);
}

}  // namespace skillrt::landlock
