// What the tests of prepared sandboxes (src/sandbox/linux/prepared*_test.cc) share: a Python
// probe of what a sandboxed process can reach, its host targets, and a check for the
// cgroups of prepared sandboxes left behind.
#ifndef SKILLRT_TESTS_SANDBOX_PROBE_H_
#define SKILLRT_TESTS_SANDBOX_PROBE_H_

#include <sys/stat.h>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "sandbox/linux/cgroup.h"
#include "test_util.h"

namespace skillrt::testing {

/// What kPythonSandboxProbe tries to reach, made on the host: a file readable by everyone
/// (`secret`, holding "host secret", under /var/tmp: /tmp is the sandbox's own) and a TCP
/// listener on 127.0.0.1 (`port`). `ok()` is false if the listener could not be made.
struct ProbeTargets {
  ProbeTargets() {
    WriteFile(secret, "host secret");
    ::chmod(dir.path().c_str(), 0755);
    ::chmod(secret.c_str(), 0644);
  }
  bool ok() const { return listener.fd() >= 0; }

  VarTmpDir dir;
  const std::filesystem::path secret = dir.path() / "secret.txt";
  LoopbackListener listener;
  const std::string port = std::to_string(listener.port());
};

/// Python source, run as `python3 [OPTIONS] probe.py SECRET_PATH PORT`: prints one JSON line
/// saying whether descriptors 3-5 are open (`"fd3": "open"|"closed"`...), the file at
/// SECRET_PATH's text (`"read"`) or the errno of reading it (`"read_errno"`), `"connected":
/// true` or the errno of connecting to 127.0.0.1:PORT (`"connect_errno"`), and the fields of
/// /proc/self/status (`"status"`). Whatever comes before it in the script may print first.
inline constexpr const char* kPythonSandboxProbe = R"PY(import json, os, socket, sys
out = {}
for fd in (3, 4, 5):
    try:
        os.fstat(fd)
        out["fd%d" % fd] = "open"
    except OSError:
        out["fd%d" % fd] = "closed"
try:
    out["read"] = open(sys.argv[1]).read()
except OSError as e:
    out["read_errno"] = e.errno
s = socket.socket()
s.settimeout(2)
try:
    s.connect(("127.0.0.1", int(sys.argv[2])))
    out["connected"] = True
except OSError as e:
    out["connect_errno"] = e.errno or -1
with open("/proc/self/status") as f:
    out["status"] = {l.split(":")[0]: l.split(":")[1].strip() for l in f if ":" in l}
print(json.dumps(out))
)PY";

/// The cgroups of this process's spare and prepared sandboxes (named "spare-<pid>-<n>") that
/// exist now, as paths; empty without cgroups.
inline std::vector<std::filesystem::path> SpareCgroupsLeft() {
  std::vector<std::filesystem::path> left;
  const cgroup::Probe& cgroups = cgroup::Detect();
  if (cgroups.version == cgroup::Version::kNone || cgroups.hierarchies.empty()) return left;
  const std::string prefix = "spare-" + std::to_string(::getpid()) + "-";
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator(cgroups.hierarchies.front().parent_path, ec)) {
    if (entry.path().filename().string().starts_with(prefix)) left.push_back(entry.path());
  }
  return left;
}

}  // namespace skillrt::testing

#endif  // SKILLRT_TESTS_SANDBOX_PROBE_H_
