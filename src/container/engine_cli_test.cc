// What the engine's `info` answer means for per-run cgroup accounting, for both engines, as a
// table (the answers are the engines' own formats: engine_cli.cc, ProbeEngine).
#include "container/engine_cli.h"

#include <string>

#include <gtest/gtest.h>

namespace skillrt::container {
namespace {

struct Case {
  EngineKind kind;
  const char* answer;
  bool root;
  int version;  // Expected.
  const char* why;
};

constexpr const char* kHost = "builder";

const Case kCases[] = {
    {EngineKind::kPodman, "cgroupfs v1 false", true, 1, "podman as root, cgroupfs, v1"},
    {EngineKind::kPodman, "cgroupfs v2 false", true, 2, "podman as root, cgroupfs, v2"},
    {EngineKind::kPodman, "cgroupfs v2 false", false, 0, "not root: the parent cannot be removed"},
    {EngineKind::kPodman, "systemd v2 false", true, 0, "the systemd manager names its own units"},
    {EngineKind::kPodman, "cgroupfs v2 true", true, 0, "rootless podman"},
    {EngineKind::kPodman, "cgroupfs v3 false", true, 0, "an unknown version"},
    {EngineKind::kPodman, "", true, 0, "no answer"},
    {EngineKind::kDocker, R"(20.10.24 cgroupfs 1 builder ["name=seccomp,profile=default"])", true,
     1, "a local docker daemon, cgroupfs, v1"},
    {EngineKind::kDocker, R"(28.2.2 cgroupfs 2 builder ["name=seccomp,profile=default"])", true,
     2, "a local docker daemon, cgroupfs, v2"},
    {EngineKind::kDocker, R"(28.2.2 cgroupfs 2 builder ["name=seccomp,profile=default"])", false,
     0, "not root"},
    {EngineKind::kDocker, R"(28.2.2 systemd 2 builder ["name=seccomp,profile=default"])", true, 0,
     "the systemd driver"},
    {EngineKind::kDocker, R"(28.2.2 cgroupfs 2 docker-desktop ["name=seccomp,profile=default"])",
     true, 0, "a daemon on another host (a VM): its cgroups are not here"},
    {EngineKind::kDocker,
     R"(28.2.2 cgroupfs 2 builder ["name=seccomp,profile=default","name=rootless"])", true, 0,
     "a rootless daemon"},
    {EngineKind::kDocker, "28.2.2 cgroupfs 2 builder", true, 0, "a malformed answer"},
    {EngineKind::kDocker, "cgroupfs v1 false", true, 0, "podman's answer from docker"},
};

TEST(StatsCgroupVersionTest, Table) {
  for (const Case& c : kCases) {
    EXPECT_EQ(StatsCgroupVersion(c.kind, c.answer, kHost, c.root), c.version)
        << c.why << ": '" << c.answer << "'";
  }
}

// The engine's error line as each CLI prints it (captured from podman 4.3 and the docker
// CLIs 20.10 and 28.2), against a skill's own output that merely looks alike.
TEST(EngineErrorLineTest, SkipsDockersHelpHint) {
  const std::string docker20 =
      "docker: Error response from daemon: No such image: localhost/x:1.\n"
      "See 'docker run --help'.\n";
  EXPECT_EQ(EngineErrorLine(EngineKind::kDocker, docker20),
            "docker: Error response from daemon: No such image: localhost/x:1.");
  const std::string docker28 =
      "docker: Error response from daemon: failed to create shim task: OCI runtime create "
      "failed: exec: \"/bin/nope\": stat /bin/nope: no such file or directory: unknown\n"
      "\n"
      "Run 'docker run --help' for more information\n";
  EXPECT_EQ(EngineErrorLine(EngineKind::kDocker, docker28),
            "docker: Error response from daemon: failed to create shim task: OCI runtime "
            "create failed: exec: \"/bin/nope\": stat /bin/nope: no such file or directory: "
            "unknown");
  EXPECT_EQ(EngineErrorLine(EngineKind::kDocker, "sh: nope: not found\n"), "sh: nope: not found");
  EXPECT_EQ(EngineErrorLine(EngineKind::kDocker, "See 'docker run --help'.\n"), "");
  // podman has no hint: its error is the last line, and a docker-like hint is not skipped.
  EXPECT_EQ(EngineErrorLine(EngineKind::kPodman, "Error: localhost/x:1: image not known\n"),
            "Error: localhost/x:1: image not known");
  EXPECT_EQ(EngineErrorLine(EngineKind::kPodman, "Error: x\nSee 'docker run --help'.\n"),
            "See 'docker run --help'.");
}

}  // namespace
}  // namespace skillrt::container
