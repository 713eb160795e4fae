#include "container/launch_policy.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "test_util.h"
#include "skillrt/fd.h"

namespace skillrt::container {
namespace {

namespace fs = std::filesystem;
using skillrt::testing::TempDir;
using skillrt::testing::WriteFile;

ContainerSpec GoodSpec() {
  ContainerSpec spec;
  spec.image = "localhost/skillrt-busybox:1";
  return spec;
}

struct SpecCase {
  const char* name;
  std::function<void(ContainerSpec&)> change;
  const char* key;
  const char* message_part;
};

TEST(LaunchPolicyTest, GoodSpecPasses) {
  EXPECT_TRUE(CheckSpec(GoodSpec()).empty());
  ContainerSpec other = GoodSpec();
  other.user = "1000";
  other.cpus = 0;
  other.image = "registry.example.com/team/tool@sha256:0123abcd";
  EXPECT_TRUE(CheckSpec(other).empty());
}

TEST(LaunchPolicyTest, EverySpecRefusalNamesItsKey) {
  const SpecCase cases[] = {
      {"privileged", [](ContainerSpec& s) { s.privileged = true; }, "container.privileged",
       "privileged mode"},
      {"host network", [](ContainerSpec& s) { s.network = "host"; }, "container.network",
       "host's network namespace"},
      {"bridge network", [](ContainerSpec& s) { s.network = "bridge"; }, "container.network",
       "no network"},
      {"host pid", [](ContainerSpec& s) { s.pid = "host"; }, "container.pid",
       "host's pid namespace"},
      {"shared pid", [](ContainerSpec& s) { s.pid = "container:abc"; }, "container.pid",
       "only \"private\""},
      {"host ipc", [](ContainerSpec& s) { s.ipc = "host"; }, "container.ipc",
       "host's IPC namespace"},
      {"host uts", [](ContainerSpec& s) { s.uts = "host"; }, "container.uts",
       "host's UTS namespace"},
      {"cap_add", [](ContainerSpec& s) { s.cap_add = {"NET_ADMIN"}; }, "container.cap_add[0]",
       "never added"},
      {"cap_add ALL", [](ContainerSpec& s) { s.cap_add = {"ALL"}; }, "container.cap_add[0]",
       "'ALL'"},
      {"devices", [](ContainerSpec& s) { s.devices = {"/dev/kvm"}; }, "container.devices[0]",
       "host devices"},
      {"root by name", [](ContainerSpec& s) { s.user = "root"; }, "container.user", "runs as root"},
      {"uid 0", [](ContainerSpec& s) { s.user = "0"; }, "container.user", "uid or gid 0"},
      {"gid 0", [](ContainerSpec& s) { s.user = "1000:0"; }, "container.user", "uid or gid 0"},
      {"user name", [](ContainerSpec& s) { s.user = "nobody"; }, "container.user",
       "not a numeric"},
      {"writable root", [](ContainerSpec& s) { s.read_only_root = false; },
       "container.read_only_root", "always read-only"},
      {"no image", [](ContainerSpec& s) { s.image.clear(); }, "container.image", "required"},
      {"image as flag", [](ContainerSpec& s) { s.image = "--privileged"; }, "container.image",
       "read as an option"},
      {"image with space", [](ContainerSpec& s) { s.image = "a b"; }, "container.image",
       "not an image reference"},
      {"relative workdir", [](ContainerSpec& s) { s.workdir = "skill"; }, "container.workdir",
       "absolute"},
      {"workdir with ..", [](ContainerSpec& s) { s.workdir = "/skill/../etc"; },
       "container.workdir", "normalized"},
      {"negative cpus", [](ContainerSpec& s) { s.cpus = -1; }, "container.cpus", "between 0"},
  };
  for (const SpecCase& c : cases) {
    ContainerSpec spec = GoodSpec();
    c.change(spec);
    std::vector<Refusal> refusals = CheckSpec(spec);
    ASSERT_EQ(refusals.size(), 1u) << c.name;
    EXPECT_EQ(refusals[0].key, c.key) << c.name;
    EXPECT_NE(refusals[0].message.find(c.message_part), std::string::npos)
        << c.name << ": " << refusals[0].message;
  }
}

// A directory outside /tmp (which is itself a sensitive path), removed afterwards.
class HostDir {
 public:
  HostDir() {
    std::string tmpl = "/var/tmp/skillrt-policy-XXXXXX";
    path_ = ::mkdtemp(tmpl.data());
  }
  ~HostDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Binds a Unix socket at `path`; the socket file stays after the fd is closed.
bool MakeSocket(const fs::path& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.string().size() >= sizeof(addr.sun_path)) return false;
  std::strcpy(addr.sun_path, path.c_str());
  return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
}

TEST(LaunchPolicyTest, EveryMountRefusalNamesItsKey) {
  HostDir host;
  ASSERT_FALSE(host.path().empty());
  const fs::path plain = host.path() / "data";
  fs::create_directories(plain);
  WriteFile(plain / "file.txt", "x");
  // Positive control: an ordinary directory may be mounted, read-only or writable.
  EXPECT_FALSE(CheckMount({.path = plain, .writable = false, .key = "capabilities.read"}));
  EXPECT_FALSE(CheckMount({.path = plain, .writable = true, .key = "capabilities.write"}));

  const fs::path sock = host.path() / "agent.sock";
  ASSERT_TRUE(MakeSocket(sock));
  const fs::path sock_dir = host.path() / "run";
  fs::create_directories(sock_dir / "deep");
  ASSERT_TRUE(MakeSocket(sock_dir / "deep" / "x.sock"));
  const fs::path named = host.path() / "engine";
  fs::create_directories(named);
  WriteFile(named / "docker.sock", "");  // A regular file, but named like the engine socket.
  fs::create_symlink("/etc", host.path() / "etc-link");
  fs::create_symlink(sock, host.path() / "sock-link");
  const fs::path home = host.path() / "home-of-caller";
  fs::create_directories(home / "src");
  const char* old_home = ::getenv("HOME");
  const std::string saved_home = old_home != nullptr ? old_home : "";
  ::setenv("HOME", home.c_str(), 1);

  struct MountCase {
    fs::path path;
    const char* message_part;
  };
  const MountCase cases[] = {
      {"/", "host's root filesystem"},
      {"/etc", "under '/etc'"},
      {"/etc/ssl", "under '/etc'"},
      {"/root", "under '/root'"},
      {"/home", "under '/home'"},
      {"/home/alice", "under '/home'"},
      {"/proc", "under '/proc'"},
      {"/sys/fs/cgroup", "under '/sys'"},
      {"/dev", "under '/dev'"},
      {"/boot", "under '/boot'"},
      {"/run", "under '/run'"},
      {"/var/run", "under '/var/run'"},
      {"/var/run/docker.sock", "named like a container engine socket"},
      {"/run/podman/podman.sock", "named like a container engine socket"},
      {"/var", "contains '/var/run'"},
      {"/var/lib", "contains '/var/lib/containers'"},
      {"/var/lib/containers/storage", "under '/var/lib/containers'"},
      {"/usr/bin", "under '/usr'"},
      {"/tmp", "under '/tmp'"},
      {sock, "is a socket"},
      {host.path() / "sock-link", "is a socket"},
      {sock_dir, "contains the socket"},
      {named, "name of a container engine socket"},
      {host.path() / "etc-link", "resolves to '/etc'"},
      {home, "home directory"},
      {home / "src", "home directory"},
      {host.path() / "a,b", "mount syntax"},
      {"relative/path", "not an absolute path"},
      {"/srv/../etc", "'..'"},
  };
  for (const MountCase& c : cases) {
    for (bool writable : {false, true}) {
      const std::string key = writable ? "capabilities.write" : "capabilities.read";
      auto refusal = CheckMount({.path = c.path, .writable = writable, .key = key});
      ASSERT_TRUE(refusal.has_value()) << c.path << " was allowed";
      EXPECT_EQ(refusal->key, key);
      EXPECT_NE(refusal->message.find(c.message_part), std::string::npos)
          << c.path << ": " << refusal->message;
    }
  }

  // The skill directory may live in a home directory or below /tmp, but not be one.
  EXPECT_FALSE(CheckSkillDir(home / "src"));
  EXPECT_FALSE(CheckSkillDir(plain));
  TempDir tmp;
  EXPECT_FALSE(CheckSkillDir(tmp.path()));
  for (const fs::path& bad : {fs::path("/home"), fs::path("/tmp"), fs::path("/etc"),
                              fs::path("/"), sock_dir}) {
    auto refusal = CheckSkillDir(bad);
    ASSERT_TRUE(refusal.has_value()) << bad;
    EXPECT_EQ(refusal->key, "skill directory");
  }

  if (old_home != nullptr) {
    ::setenv("HOME", saved_home.c_str(), 1);
  } else {
    ::unsetenv("HOME");
  }
}

TEST(LaunchPolicyTest, CheckPlanCollectsAndFormats) {
  Plan plan;
  plan.skill_dir = "/etc";
  plan.mounts = {BindMount{.path = "/proc", .writable = true}};
  std::vector<Refusal> refusals = CheckPlan(plan);
  ASSERT_EQ(refusals.size(), 3u);
  EXPECT_EQ(refusals[0].key, "container");
  EXPECT_EQ(refusals[1].key, "skill directory");
  EXPECT_EQ(refusals[2].key, "capabilities.write");
  Error error = RefusalError("/s/skill.toml", refusals);
  EXPECT_EQ(error.code, ErrorCode::kDenied);
  EXPECT_EQ(error.message,
            "container launch policy: /s/skill.toml: container: required for the container "
            "runtime (and 2 more)");
}

}  // namespace
}  // namespace skillrt::container
