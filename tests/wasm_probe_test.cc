// Hostile WebAssembly guests against the wasm runtime, end to end through `skillrt run --json`.
//
// Each test writes a skill whose entry point is one of the probes built from tests/wasm/ by
// scripts/build-wasm.sh (SKILLRT_WASM_PROBE_DIR), runs it through the CLI, and asserts the
// exact way the attempt ends: the errno the guest saw, the status, the trap message. Every
// block has a positive control, the same probe doing the allowed thing under a manifest that
// grants it, so that a refusal proves the runtime and not a broken probe. After every run the
// host is checked: the skill directory and the declared directories hold exactly what they
// held before (plus what a writable grant allowed), files outside are unchanged, and nothing
// the guest wrote to its /tmp appears in the host's /tmp.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "test_util.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::skillrt::testing::CliResult;
using ::skillrt::testing::ReadFile;
using ::skillrt::testing::RunCli;
using ::skillrt::testing::TempDir;
using ::skillrt::testing::WriteFile;

const fs::path kProbeDir = SKILLRT_WASM_PROBE_DIR;

// A fresh directory under /var/tmp, removed on destruction. Declared capability paths may not
// lie under /tmp (docs/manifest.md reserves it for the scratch directory), so the directories
// a test grants live here.
class HostDir {
 public:
  HostDir() {
    std::string tmpl = "/var/tmp/skillrt-wasm-test-XXXXXX";
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~HostDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  HostDir(const HostDir&) = delete;
  HostDir& operator=(const HostDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Every entry under `dir` (symlinks not followed) with its kind, size and content, so that
// two snapshots differ when anything was added, removed or changed.
std::map<std::string, std::string> Snapshot(const fs::path& dir) {
  std::map<std::string, std::string> entries;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const fs::path& p = it->path();
    const std::string rel = fs::relative(p, dir).string();
    if (it->is_symlink()) {
      entries[rel] = "link:" + fs::read_symlink(p).string();
    } else if (it->is_directory()) {
      entries[rel] = "dir";
    } else if (it->is_regular_file()) {
      entries[rel] = "file:" + ReadFile(p);
    } else {
      entries[rel] = "special";  // A FIFO is never opened here: that would wait for a writer.
    }
  }
  return entries;
}

// The errnos Wasmtime's WASI implementation may answer for an access outside a preopen or
// through a symlink that leaves one: cap-std refuses the escape (EPERM, or ENOTCAPABLE
// in older releases); wasi-libc itself answers ENOTCAPABLE for a path no preopen covers.
const std::set<std::string> kEscapeErrnos = {"EPERM", "ENOTCAPABLE"};
// ... and for a write through a read-only preopen: the rights of the directory or the file
// do not include writing.
const std::set<std::string> kReadOnlyErrnos = {"EPERM", "ENOTCAPABLE", "EROFS", "EACCES",
                                               "EBADF"};

// What one `skillrt run --json` did.
struct ProbeRun {
  CliResult cli;
  json outcome;  // The outcome object, or null when stdout held none.
  std::chrono::milliseconds elapsed{0};

  std::string status() const { return outcome.is_object() ? outcome.value("status", "") : ""; }
  std::string message() const {
    return outcome.is_object() ? outcome.value("message", "") : "";
  }
  const json& output() const {
    static const json kNull;
    return outcome.is_object() && outcome.contains("output") ? outcome["output"] : kNull;
  }
  bool LimitHit(const std::string& limit) const {
    if (!outcome.is_object() || !outcome.contains("limits_hit")) return false;
    for (const auto& l : outcome["limits_hit"]) {
      if (l == limit) return true;
    }
    return false;
  }
  // The result of the `index`-th operation of the fs probe.
  json Op(size_t index) const {
    const json& out = output();
    if (!out.is_object() || !out.contains("results") || out["results"].size() <= index) {
      return json();
    }
    return out["results"][index];
  }
  std::string Describe() const {
    return "exit " + std::to_string(cli.exit_code) + "\nstdout: " + cli.out +
           "\nstderr: " + cli.err;
  }
};

// What a probe's skill may do: its skill.toml beyond the entry point.
struct Grant {
  std::vector<fs::path> read = {};
  std::vector<fs::path> write = {};
  std::vector<std::string> env_pass = {};
  std::map<std::string, std::string> env_set = {};
  int wall_time_ms = 10000;
  int memory_mb = 64;
  int scratch_mb = 0;  // 0: the default.
};

std::string TomlList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + json(items[i]).dump();
  return out + "]";
}

std::vector<std::string> Strings(const std::vector<fs::path>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) out.push_back(p.string());
  return out;
}

class WasmProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (fs::exists(kProbeDir / "UNAVAILABLE")) {
      GTEST_SKIP() << "wasm probes not built: " << ReadFile(kProbeDir / "UNAVAILABLE");
    }
    ASSERT_TRUE(fs::exists(kProbeDir / "fs.wasm"))
        << kProbeDir << " has no probes; build the wasm_probes target (scripts/build-wasm.sh)";
    ::chmod(tmp_.path().c_str(), 0755);
    ASSERT_FALSE(outside_.path().empty());
    ASSERT_FALSE(data_.path().empty());
    ASSERT_FALSE(out_.path().empty());
    WriteFile(outside_.path() / "secret.txt", kSecret);
    WriteFile(data_.path() / "in.txt", "declared input\n");
    WriteFile(data_.path() / "sub" / "nested.txt", "nested\n");
    // These tests are about what the runtime enforces once a call runs: a user policy allows
    // the probes' declared paths and variables, which the default policy would ask about.
    WriteFile(tmp_.path() / "home" / "policy.toml",
              "[[rule]]\nname = \"wasm-probe-grants\"\neffect = \"allow\"\n"
              "skills = [\"*\"]\n");
  }

  // Writes skill `name` whose entry point is probe `module` (a file under kProbeDir) with
  // `args`, granted `grant`; returns its directory.
  fs::path MakeSkill(const std::string& name, const std::string& module,
                     const std::vector<std::string>& args, const Grant& grant = {}) {
    const fs::path dir = tmp_.path() / "skills" / name;
    fs::create_directories(dir / "scripts");
    const fs::path wasm = dir / "scripts" / fs::path(module).filename();
    fs::copy_file(kProbeDir / module, wasm, fs::copy_options::overwrite_existing);
    WriteFile(dir / "SKILL.md", "---\nname: " + name +
                                    "\ndescription: A WebAssembly probe for the runtime's "
                                    "tests.\n---\n# Probe\n\nTried by wasm_probe_test.\n");
    std::vector<std::string> argv = {"scripts/" + wasm.filename().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string env_set = "{";
    for (const auto& [key, value] : grant.env_set) {
      env_set += (env_set.size() > 1 ? ", " : " ") + key + " = " + json(value).dump();
    }
    env_set += " }";
    WriteFile(dir / "skill.toml",
              "runtime = \"wasm\"\n\n[entry]\nargv = " + TomlList(argv) +
                  "\ninput = \"stdin\"\noutput = \"json\"\n\n[capabilities]\nread = " +
                  TomlList(Strings(grant.read)) + "\nwrite = " + TomlList(Strings(grant.write)) +
                  "\n\n[capabilities.env]\npass = " + TomlList(grant.env_pass) +
                  "\nset = " + env_set + "\n\n[limits]\nwall_time_ms = " +
                  std::to_string(grant.wall_time_ms) +
                  "\nmemory_mb = " + std::to_string(grant.memory_mb) + "\n" +
                  (grant.scratch_mb > 0
                       ? "scratch_mb = " + std::to_string(grant.scratch_mb) + "\n"
                       : std::string()));
    return dir;
  }

  // Runs the skill at `dir` with `skillrt run --json` and checks that the host is unchanged:
  // the skill directory, the declared read-only directory and the outside directory hold what
  // they held before.
  ProbeRun Run(const fs::path& dir, const std::string& input = "{}") {
    const auto skill_before = Snapshot(dir), data_before = Snapshot(data_.path()),
               outside_before = Snapshot(outside_.path());
    ProbeRun run;
    const auto start = std::chrono::steady_clock::now();
    run.cli = RunCli(tmp_.path(), tmp_.path() / "home",
                     {"run", dir.string(), "--json", "--input", input});
    run.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    run.outcome = json::parse(run.cli.out, nullptr, /*allow_exceptions=*/false);
    if (run.outcome.is_discarded()) run.outcome = json();
    EXPECT_EQ(Snapshot(dir), skill_before) << "the run changed the skill directory";
    EXPECT_EQ(Snapshot(data_.path()), data_before) << "the run changed a read-only grant";
    EXPECT_EQ(Snapshot(outside_.path()), outside_before) << "the run changed an outside file";
    return run;
  }

  // A run expected to end with status ok and an output object.
  ProbeRun RunOk(const fs::path& dir, const std::string& input = "{}") {
    ProbeRun run = Run(dir, input);
    EXPECT_EQ(run.status(), "ok") << run.Describe();
    EXPECT_EQ(run.cli.exit_code, 0) << run.Describe();
    EXPECT_TRUE(run.output().is_object()) << run.Describe();
    return run;
  }

  // A module the runtime must refuse cleanly: skillrt exits normally (no signal) within a few
  // seconds with a non-zero code and a message that names what is wrong. The refusal is either
  // an outcome with status `error` (or `killed` for a limit) and a message, or a skillrt error
  // line on stderr.
  void ExpectCleanRefusal(const std::string& module) {
    SCOPED_TRACE(module);
    const fs::path dir = MakeSkill("bad-module", "bad/" + module, {}, {.memory_mb = 64});
    const ProbeRun run = Run(dir);
    ASSERT_GE(run.cli.exit_code, 0) << "skillrt crashed\n" << run.Describe();
    EXPECT_NE(run.cli.exit_code, 0) << run.Describe();
    EXPECT_LT(run.elapsed, std::chrono::seconds(20)) << "refusing " << module << " stalled";
    if (run.outcome.is_object()) {
      EXPECT_TRUE(run.status() == "error" || run.status() == "killed") << run.Describe();
      EXPECT_FALSE(run.message().empty()) << run.Describe();
    } else {
      EXPECT_TRUE(run.cli.err.starts_with("skillrt: ")) << run.Describe();
      EXPECT_NE(run.cli.err.find(module), std::string::npos)
          << "the error should name the module\n" << run.Describe();
    }
  }

  static constexpr const char* kSecret = "outside the sandbox\n";
  TempDir tmp_;
  HostDir outside_;  // Never granted: the file every escape tries to reach.
  HostDir data_;     // Granted read-only.
  HostDir out_;      // Granted read-write.
};

// --- Paths -----------------------------------------------------------------------------------

TEST_F(WasmProbeTest, OnlyTheSkillScratchAndDeclaredPathsArePreopened) {
  const fs::path secret = outside_.path() / "secret.txt";
  const fs::path skill = MakeSkill(
      "paths", "fs.wasm",
      {"read", secret.string(), "read", "/etc/passwd", "list", "/", "stat", "/var/tmp",
       "read", (data_.path() / "in.txt").string(), "list", "/skill"},
      {.read = {data_.path()}});
  const ProbeRun run = RunOk(skill);
  // Exactly the skill directory, the scratch directory and the declared path.
  std::set<std::string> preopens;
  for (const auto& p : run.output()["preopens"]) preopens.insert(p.get<std::string>());
  EXPECT_EQ(preopens, (std::set<std::string>{"/skill", "/tmp", data_.path().string()}))
      << run.Describe();
  EXPECT_EQ(run.output()["preopens"].size(), 3u) << run.Describe();
  for (size_t i : {0, 1, 2, 3}) {
    SCOPED_TRACE(run.Op(i).dump());
    EXPECT_EQ(run.Op(i).value("ok", true), false);
    // wasi-libc finds no preopen for the path: the call never reaches the host.
    EXPECT_EQ(run.Op(i).value("errno", ""), "ENOTCAPABLE");
  }
  EXPECT_EQ(run.cli.out.find("outside the sandbox"), std::string::npos);
  EXPECT_EQ(run.cli.out.find("root:"), std::string::npos);
  // Positive controls: the declared file and the skill directory are readable.
  EXPECT_EQ(run.Op(4).value("ok", false), true) << run.Describe();
  EXPECT_EQ(run.Op(4).value("data", ""), "declared input\n");
  EXPECT_EQ(run.Op(5).value("ok", false), true) << run.Describe();
  EXPECT_NE(run.Op(5)["names"].dump().find("skill.toml"), std::string::npos) << run.Describe();
}

TEST_F(WasmProbeTest, DotDotCannotLeaveAPreopen) {
  const std::string outside_name = outside_.path().filename().string();
  const std::string data = data_.path().string();
  const fs::path skill = MakeSkill(
      "dotdot", "fs.wasm",
      {// Through wasi-libc, which resolves the path against the longest matching preopen.
       "read", data + "/../" + outside_name + "/secret.txt",
       "read", "/skill/../../../../../../etc/passwd",
       // Straight through WASI path_open, relative to the preopened directory.
       "raw-read", data, "../" + outside_name + "/secret.txt",
       "raw-read", "/skill", "../../../../../../../etc/passwd",
       "raw-read", "/tmp", "../etc/passwd",
       // Positive controls: `..` that stays inside the preopen is fine.
       "read", data + "/sub/../in.txt",
       "raw-read", data, "sub/../sub/nested.txt"},
      {.read = {data_.path()}});
  const ProbeRun run = RunOk(skill);
  for (size_t i = 0; i < 5; ++i) {
    SCOPED_TRACE(run.Op(i).dump());
    EXPECT_EQ(run.Op(i).value("ok", true), false);
    EXPECT_TRUE(kEscapeErrnos.count(run.Op(i).value("errno", ""))) << run.Describe();
  }
  EXPECT_EQ(run.cli.out.find("outside the sandbox"), std::string::npos);
  EXPECT_EQ(run.Op(5).value("data", ""), "declared input\n") << run.Describe();
  EXPECT_EQ(run.Op(6).value("data", ""), "nested\n") << run.Describe();
}

TEST_F(WasmProbeTest, SymlinksCannotLeaveAPreopen) {
  const fs::path secret = outside_.path() / "secret.txt";
  const std::string out = out_.path().string();
  // Links planted on the host in a writable grant, absolute and relative, and one shipped in
  // the skill directory itself; plus a link to a file inside the grant (the control).
  fs::create_symlink(secret, out_.path() / "absolute");
  fs::create_symlink("../" + outside_.path().filename().string() + "/secret.txt",
                     out_.path() / "relative");
  WriteFile(out_.path() / "inside.txt", "inside\n");
  fs::create_symlink("inside.txt", out_.path() / "inner");
  const fs::path skill = MakeSkill(
      "symlinks", "fs.wasm",
      {"read", out + "/absolute", "read", out + "/relative", "raw-read", out, "absolute",
       "read", "/skill/shipped-link",
       // Links the guest makes itself, then follows.
       "symlink", secret.string(), out + "/made-absolute", "read", out + "/made-absolute",
       "symlink", "../" + outside_.path().filename().string() + "/secret.txt",
       out + "/made-relative", "read", out + "/made-relative",
       // Controls.
       "read", out + "/inner", "symlink", "inside.txt", out + "/made-inner", "read",
       out + "/made-inner"},
      {.write = {out_.path()}});
  fs::create_symlink(secret, skill / "shipped-link");
  const ProbeRun run = RunOk(skill);
  for (size_t i : {0, 1, 2, 3, 7}) {
    SCOPED_TRACE(run.Op(i).dump());
    EXPECT_EQ(run.Op(i).value("ok", true), false);
    EXPECT_TRUE(kEscapeErrnos.count(run.Op(i).value("errno", ""))) << run.Describe();
  }
  // An absolute link target is refused when the link is made, or else when it is followed.
  const json made = run.Op(4).value("ok", false) ? run.Op(5) : run.Op(4);
  EXPECT_EQ(made.value("ok", true), false) << run.Describe();
  EXPECT_TRUE(kEscapeErrnos.count(made.value("errno", ""))) << run.Describe();
  EXPECT_EQ(run.Op(5).value("ok", true), false) << run.Describe();
  EXPECT_EQ(run.cli.out.find("outside the sandbox"), std::string::npos);
  EXPECT_EQ(run.Op(8).value("data", ""), "inside\n") << run.Describe();
  EXPECT_EQ(run.Op(9).value("ok", false), true) << run.Describe();
  EXPECT_EQ(run.Op(10).value("data", ""), "inside\n") << run.Describe();
  EXPECT_EQ(ReadFile(secret), kSecret);
}

TEST_F(WasmProbeTest, ReadOnlyPreopensRefuseWrites) {
  const std::string data = data_.path().string(), out = out_.path().string();
  const fs::path skill = MakeSkill(
      "readonly", "fs.wasm",
      {"write", "/skill/new.txt", "x", "write", data + "/new.txt", "x", "write",
       data + "/in.txt", "overwritten", "mkdir", data + "/newdir", "unlink", data + "/in.txt",
       "raw-write", data, "raw.txt", "x", "mkdir", "/skill/newdir", "unlink", "/skill/SKILL.md",
       // Controls: the same operations in the writable grant and in scratch.
       "write", out + "/new.txt", "written", "mkdir", out + "/newdir", "raw-write", out,
       "raw.txt", "raw", "write", "/tmp/scratch.txt", "scratch", "read", "/tmp/scratch.txt"},
      {.read = {data_.path()}, .write = {out_.path()}});
  const ProbeRun run = RunOk(skill);
  for (size_t i = 0; i < 8; ++i) {
    SCOPED_TRACE(run.Op(i).dump());
    EXPECT_EQ(run.Op(i).value("ok", true), false);
    EXPECT_TRUE(kReadOnlyErrnos.count(run.Op(i).value("errno", ""))) << run.Describe();
  }
  for (size_t i = 8; i < 13; ++i) EXPECT_EQ(run.Op(i).value("ok", false), true) << run.Op(i);
  EXPECT_EQ(run.Op(12).value("data", ""), "scratch");
  // Run() checked that the skill and read-only directories are unchanged; the writable one
  // holds what the guest wrote, and the host's /tmp holds nothing of the scratch directory.
  EXPECT_EQ(ReadFile(out_.path() / "new.txt"), "written");
  EXPECT_EQ(ReadFile(out_.path() / "raw.txt"), "raw");
  EXPECT_TRUE(fs::is_directory(out_.path() / "newdir"));
  EXPECT_FALSE(fs::exists("/tmp/scratch.txt"));
}

TEST_F(WasmProbeTest, ScratchIsPrivateToEachRun) {
  const std::string name = "/tmp/skillrt-wasm-scratch-" + std::to_string(getpid());
  const fs::path writer = MakeSkill("scratch-writer", "fs.wasm", {"write", name, "first run"});
  EXPECT_EQ(RunOk(writer).Op(0).value("ok", false), true);
  EXPECT_FALSE(fs::exists(name)) << "the guest's /tmp must not be the host's /tmp";
  // A second run starts with an empty scratch directory.
  const fs::path reader = MakeSkill("scratch-reader", "fs.wasm", {"read", name, "list", "/tmp"});
  const ProbeRun run = RunOk(reader);
  EXPECT_EQ(run.Op(0).value("errno", ""), "ENOENT") << run.Describe();
  EXPECT_EQ(run.Op(1)["names"], json::array()) << run.Describe();
}

// --- Environment and sockets -------------------------------------------------------------------

TEST_F(WasmProbeTest, OnlyDeclaredEnvironmentVariablesAreVisible) {
  ::setenv("WASM_PROBE_UNDECLARED", "host secret", 1);
  ::setenv("WASM_PROBE_PASSED", "passed value", 1);
  const fs::path skill = MakeSkill(
      "env", "env.wasm",
      {"WASM_PROBE_UNDECLARED", "HOME", "PATH", "USER", "WASM_PROBE_PASSED", "MODE"},
      {.env_pass = {"WASM_PROBE_PASSED"}, .env_set = {{"MODE", "fast"}}});
  const ProbeRun run = RunOk(skill);
  ::unsetenv("WASM_PROBE_UNDECLARED");
  ::unsetenv("WASM_PROBE_PASSED");
  const json& vars = run.output()["vars"];
  EXPECT_TRUE(vars["WASM_PROBE_UNDECLARED"].is_null()) << run.Describe();
  EXPECT_TRUE(vars["HOME"].is_null()) << run.Describe();
  EXPECT_TRUE(vars["PATH"].is_null()) << run.Describe();
  EXPECT_TRUE(vars["USER"].is_null()) << run.Describe();
  // Controls: a passed and a set variable.
  EXPECT_EQ(vars["WASM_PROBE_PASSED"], "passed value") << run.Describe();
  EXPECT_EQ(vars["MODE"], "fast") << run.Describe();
  std::set<std::string> names;
  for (const auto& n : run.output()["names"]) names.insert(n.get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"WASM_PROBE_PASSED", "MODE"})) << run.Describe();
  EXPECT_EQ(run.cli.out.find("host secret"), std::string::npos);
}

TEST_F(WasmProbeTest, SocketCallsFailWithAnErrno) {
  const fs::path skill = MakeSkill("sockets", "sock.wasm", {}, {.write = {out_.path()}});
  const ProbeRun run = RunOk(skill);
  ASSERT_FALSE(run.output()["attempts"].empty()) << run.Describe();
  EXPECT_EQ(run.output()["any_ok"], false) << run.Describe();
  for (const auto& attempt : run.output()["attempts"]) {
    SCOPED_TRACE(attempt.dump());
    EXPECT_EQ(attempt["ok"], false);
    const int fd = attempt["fd"];
    const std::string e = attempt.value("errno", "");
    if (fd <= 2) {
      // stdio exists but is not a socket: the descriptor is valid and the call still fails.
      EXPECT_TRUE(e == "ENOTSOCK" || e == "ENOTSUP" || e == "EBADF") << e;
    } else if (fd >= 100) {
      EXPECT_EQ(e, "EBADF");
    } else {
      EXPECT_FALSE(e.empty());
    }
  }
  // A module that imports a socket-opening call the host does not define is refused whole.
  ExpectCleanRefusal("import_sock_open.wasm");
}

// --- Limits ----------------------------------------------------------------------------------

TEST_F(WasmProbeTest, InfiniteLoopTimesOut) {
  const ProbeRun control =
      RunOk(MakeSkill("spin-control", "spin.wasm", {"1000000"}, {.wall_time_ms = 5000}));
  EXPECT_EQ(control.output()["iterations"], 1000000) << control.Describe();

  const ProbeRun run = Run(MakeSkill("spin", "spin.wasm", {}, {.wall_time_ms = 1000}));
  EXPECT_EQ(run.status(), "timeout") << run.Describe();
  EXPECT_EQ(run.cli.exit_code, 4) << run.Describe();
  EXPECT_TRUE(run.LimitHit("wall_time")) << run.Describe();
  EXPECT_GE(run.elapsed, std::chrono::milliseconds(1000));
  EXPECT_LT(run.elapsed, std::chrono::milliseconds(10000)) << "the deadline was not enforced";
}

TEST_F(WasmProbeTest, MemoryGrowStopsAtTheLimit) {
  // Control: 8 MiB of growth under a 64 MiB limit is granted in full.
  const ProbeRun control = RunOk(MakeSkill("grow-control", "grow.wasm", {"8"}, {.memory_mb = 64}));
  EXPECT_EQ(control.output()["grown_kb"], 8 * 1024) << control.Describe();
  EXPECT_EQ(control.output()["refused"], false) << control.Describe();

  // Unbounded growth under 16 MiB, 1 MiB at a time: memory.grow returns -1 at the limit,
  // inside the guest, which goes on and exits 0: the run succeeded within its limit.
  const ProbeRun run = Run(MakeSkill("grow", "grow.wasm", {}, {.memory_mb = 16}));
  EXPECT_EQ(run.status(), "ok") << run.Describe();
  EXPECT_EQ(run.output()["refused"], true) << run.Describe();
  EXPECT_LE(run.output().value("total_kb", 1 << 30), 16 * 1024) << run.Describe();
  EXPECT_GT(run.output().value("total_kb", 0), 15 * 1024) << run.Describe();

  // A guest that grows page by page and traps when a grow fails (as an allocator's abort
  // would) ends with status error, and the memory limit is named as the cause.
  const ProbeRun trap =
      Run(MakeSkill("grow-trap", "grow.wasm", {"0", "1", "trap"}, {.memory_mb = 16}));
  EXPECT_EQ(trap.status(), "error") << trap.Describe();
  EXPECT_NE(trap.message().find("unreachable"), std::string::npos) << trap.Describe();
  EXPECT_TRUE(trap.LimitHit("memory")) << trap.Describe();
  EXPECT_NE(trap.outcome.value("stdout", "").find("\"total_kb\": 16384"), std::string::npos)
      << trap.Describe();
}

TEST_F(WasmProbeTest, DeepRecursionTraps) {
  const ProbeRun control = RunOk(MakeSkill("recurse-control", "recurse.wasm", {"1000"}));
  EXPECT_EQ(control.output()["depth"], 1000) << control.Describe();

  const ProbeRun run = Run(MakeSkill("recurse", "recurse.wasm", {"inf"}));
  EXPECT_EQ(run.status(), "error") << run.Describe();
  EXPECT_EQ(run.cli.exit_code, 1) << run.Describe();
  // Wasmtime's trap message for an exhausted wasm stack (wasmtime::Trap::StackOverflow).
  EXPECT_NE(run.message().find("call stack exhausted"), std::string::npos) << run.Describe();
  EXPECT_LT(run.elapsed, std::chrono::seconds(10));
}

// --- Scratch ---------------------------------------------------------------------------------

// Bytes of the filesystem holding `path` that are in use.
uint64_t UsedBytes(const fs::path& path) {
  struct statvfs st;
  if (::statvfs(path.c_str(), &st) != 0) return 0;
  return (st.f_blocks - st.f_bfree) * st.f_frsize;
}

// Whether a run that tried to put more than `limit_mb` into its scratch was stopped at the
// limit: its writes failed with ENOSPC after at most the limit (a tmpfs scratch, where the
// kernel refuses them), or the call was ended with `scratch` among its limits (a directory
// scratch, measured as the guest writes).
::testing::AssertionResult StoppedAtTheScratchLimit(const ProbeRun& run, long limit_mb) {
  if (run.status() == "killed" && run.LimitHit("scratch")) return ::testing::AssertionSuccess();
  const json op = run.Op(0);
  if (op.value("errno", "") != "ENOSPC") {
    return ::testing::AssertionFailure() << "neither ENOSPC nor ended\n" << run.Describe();
  }
  const long written = op.value("written_kb", 0L);
  if (written > limit_mb * 1024) {
    return ::testing::AssertionFailure() << written << " KiB written\n" << run.Describe();
  }
  return ::testing::AssertionSuccess();
}

TEST_F(WasmProbeTest, ScratchLimitHoldsBeyondPathMax) {
  // The review's attack: directories nested through descriptors until the host path is longer
  // than PATH_MAX (24 levels of 250 characters), then 64 MiB written at the bottom, under an
  // 8 MiB scratch limit.
  const uint64_t tmp_used_before = UsedBytes("/tmp");
  const ProbeRun run = Run(MakeSkill("deep", "fs.wasm", {"deep-fill", "/tmp", "24", "250", "65536"},
                                     {.scratch_mb = 8}));
  EXPECT_TRUE(StoppedAtTheScratchLimit(run, 8));
  EXPECT_TRUE(run.LimitHit("scratch")) << run.Describe();
  // And the host's /tmp holds none of it.
  EXPECT_LT(UsedBytes("/tmp"), tmp_used_before + (16u << 20));

  // Positive control: 4 MiB at the same depth fits, all of it written.
  const ProbeRun control = RunOk(MakeSkill(
      "deep-control", "fs.wasm", {"deep-fill", "/tmp", "24", "250", "4096"}, {.scratch_mb = 8}));
  EXPECT_EQ(control.Op(0).value("levels", 0), 24) << control.Describe();
  EXPECT_EQ(control.Op(0).value("written_kb", 0), 4096) << control.Describe();
  EXPECT_FALSE(control.LimitHit("scratch")) << control.Describe();
}

TEST_F(WasmProbeTest, ScratchCountsUnlinkedFilesInodesAndAllocatedBlocksOnly) {
  // A file unlinked while open still holds its blocks: 16 MiB through it under 8 MiB stops at
  // the limit. Empty files cost inodes: 20,000 stop at 16,384.
  const ProbeRun hidden = Run(MakeSkill("unlinked", "fs.wasm",
                                        {"fill-unlinked", "/tmp/hidden", "16384"},
                                        {.scratch_mb = 8}));
  EXPECT_TRUE(StoppedAtTheScratchLimit(hidden, 8));

  const ProbeRun files = Run(MakeSkill("files", "fs.wasm", {"files", "/tmp", "20000"},
                                       {.wall_time_ms = 60000, .scratch_mb = 64}));
  EXPECT_TRUE(files.LimitHit("scratch")) << files.Describe();
  if (files.output().is_object()) {
    EXPECT_EQ(files.Op(0).value("made", 0), 16384) << files.Describe();
    EXPECT_EQ(files.Op(0).value("errno", ""), "ENOSPC") << files.Describe();
  }

  // Positive controls: the same operations within the limits, a 1 GiB sparse file (one
  // block), and 3 MiB with ten hard links (counted once) all fit in 8 MiB.
  const ProbeRun control = RunOk(MakeSkill(
      "scratch-control", "fs.wasm",
      {"fill-unlinked", "/tmp/hidden", "4096", "files", "/tmp", "100", "sparse", "/tmp/sparse",
       "1048576", "link-fill", "/tmp/linked", "3072", "10"},
      {.scratch_mb = 8}));
  EXPECT_EQ(control.Op(0).value("written_kb", 0), 4096) << control.Describe();
  EXPECT_EQ(control.Op(1).value("made", 0), 100) << control.Describe();
  EXPECT_EQ(control.Op(2).value("ok", false), true) << control.Describe();
  EXPECT_EQ(control.Op(3).value("written_kb", 0), 3072) << control.Describe();
  EXPECT_EQ(control.Op(3).value("links", 0), 10) << control.Describe();
  EXPECT_FALSE(control.LimitHit("scratch")) << control.Describe();
}

// --- Blocking host calls -------------------------------------------------------------------

TEST_F(WasmProbeTest, AFifoInAPreopenEndsAtTheWallClockLimit) {
  // Opening a FIFO waits for its other end, in the kernel, where epoch interruption cannot
  // reach: in a read-only grant (read), in a writable grant (write: O_WRONLY waits for a
  // reader) and in the skill directory. Each run must end as a timeout at its 2 s limit.
  ASSERT_EQ(::mkfifo((data_.path() / "fifo").c_str(), 0600), 0);
  ASSERT_EQ(::mkfifo((out_.path() / "fifo").c_str(), 0600), 0);
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"read-grant", {"read", (data_.path() / "fifo").string()}},
      {"write-grant", {"write", (out_.path() / "fifo").string(), "x"}},
      {"skill-dir", {"read", "/skill/fifo"}},
  };
  for (const auto& [name, args] : cases) {
    SCOPED_TRACE(name);
    const fs::path skill = MakeSkill("fifo-" + name, "fs.wasm", args,
                                     {.read = {data_.path()}, .write = {out_.path()},
                                      .wall_time_ms = 2000});
    if (name == "skill-dir") {
      ASSERT_EQ(::mkfifo((skill / "fifo").c_str(), 0600), 0);
    }
    const ProbeRun run = Run(skill);
    EXPECT_EQ(run.status(), "timeout") << run.Describe();
    EXPECT_EQ(run.cli.exit_code, 4) << run.Describe();
    EXPECT_TRUE(run.LimitHit("wall_time")) << run.Describe();
    EXPECT_GE(run.elapsed, std::chrono::milliseconds(2000));
    EXPECT_LT(run.elapsed, std::chrono::milliseconds(12000)) << "the deadline was not enforced";
  }
  // Positive control: regular files in the same places read and write at once.
  fs::remove(data_.path() / "fifo");
  fs::remove(out_.path() / "fifo");
  WriteFile(data_.path() / "fifo", "regular\n");
  const fs::path skill = MakeSkill(
      "fifo-control", "fs.wasm",
      {"read", (data_.path() / "fifo").string(), "write", (out_.path() / "fifo").string(), "x",
       "read", "/skill/fifo"},
      {.read = {data_.path()}, .write = {out_.path()}, .wall_time_ms = 2000});
  WriteFile(skill / "fifo", "shipped\n");
  const ProbeRun run = RunOk(skill);
  EXPECT_EQ(run.Op(0).value("data", ""), "regular\n") << run.Describe();
  EXPECT_EQ(run.Op(1).value("ok", false), true) << run.Describe();
  EXPECT_EQ(run.Op(2).value("data", ""), "shipped\n") << run.Describe();
  EXPECT_LT(run.elapsed, std::chrono::milliseconds(2000));
}

TEST_F(WasmProbeTest, AWaitNothingCanInterruptStillEndsTheCliAtTheLimit) {
  // A component blocked in wasi:io/poll on an hour's timer: no signal ends that wait, so the
  // call is given up at its limit, and the CLI must still print its timeout and exit then,
  // with the call's thread still waiting.
  const fs::path skill = MakeSkill("sleeper", "sleep.wasm", {}, {.wall_time_ms = 2000});
  const ProbeRun run = Run(skill, R"({"sleep_ms": 3600000})");
  EXPECT_EQ(run.status(), "timeout") << run.Describe();
  EXPECT_EQ(run.cli.exit_code, 4) << run.Describe();
  EXPECT_TRUE(run.LimitHit("wall_time")) << run.Describe();
  EXPECT_LT(run.elapsed, std::chrono::milliseconds(12000)) << "the deadline was not enforced";
  // Positive control: a 10 ms wait returns the component's result.
  const ProbeRun control = RunOk(skill, R"({"sleep_ms": 10})");
  EXPECT_EQ(control.output(), json({{"slept", true}})) << control.Describe();
}

TEST_F(WasmProbeTest, AFifoInPlaceOfTheModuleIsRefusedAtOnce) {
  const fs::path skill = MakeSkill("fifo-module", "fs.wasm", {"list", "/tmp"});
  const fs::path module = skill / "scripts" / "fs.wasm";
  fs::remove(module);
  ASSERT_EQ(::mkfifo(module.c_str(), 0600), 0);
  const ProbeRun run = Run(skill);
  EXPECT_NE(run.cli.exit_code, 0) << run.Describe();
  EXPECT_LT(run.elapsed, std::chrono::seconds(5)) << "skillrt waited on the FIFO";
  EXPECT_NE((run.cli.err + run.cli.out).find("FIFO"), std::string::npos) << run.Describe();
  // Positive control: the module back in place runs.
  fs::remove(module);
  fs::copy_file(kProbeDir / "fs.wasm", module);
  RunOk(skill);
}

// --- Compilation under the call's limits -----------------------------------------------------

TEST_F(WasmProbeTest, CompilationEndsAtTheWallClockLimit) {
  // A module that takes about a second to compile (bad/slow_compile.wasm): under a 100 ms
  // limit the CLI returns a timeout at the limit instead of compiling first.
  const ProbeRun run = Run(MakeSkill("slow-compile", "bad/slow_compile.wasm", {},
                                     {.wall_time_ms = 100, .memory_mb = 1024}));
  EXPECT_EQ(run.status(), "timeout") << run.Describe();
  EXPECT_TRUE(run.LimitHit("wall_time")) << run.Describe();
  EXPECT_LT(run.elapsed, std::chrono::seconds(3)) << run.Describe();
  // Positive control: with time enough, the same module compiles and runs.
  const ProbeRun control = Run(MakeSkill("slow-compile", "bad/slow_compile.wasm", {},
                                         {.wall_time_ms = 120000, .memory_mb = 1024}));
  EXPECT_EQ(control.status(), "ok") << control.Describe();
  EXPECT_GT(control.elapsed, run.elapsed) << "the module compiled too fast to show anything";
}

// --- Traps and exit codes ----------------------------------------------------------------------

TEST_F(WasmProbeTest, TrapsEndWithStatusErrorAndTheTrapMessage) {
  // Wasmtime's messages for each trap code (wasmtime::Trap's Display).
  const std::vector<std::pair<std::string, std::string>> traps = {
      {"unreachable", "unreachable"},
      {"abort", "unreachable"},  // wasi-libc's abort() executes `unreachable`.
      {"divzero", "integer divide by zero"},
      {"oob", "out of bounds memory access"},
  };
  for (const auto& [mode, message] : traps) {
    SCOPED_TRACE(mode);
    const ProbeRun run = Run(MakeSkill("trap", "trap.wasm", {mode}));
    EXPECT_EQ(run.status(), "error") << run.Describe();
    EXPECT_EQ(run.cli.exit_code, 1) << run.Describe();
    EXPECT_NE(run.message().find(message), std::string::npos) << run.Describe();
    EXPECT_FALSE(run.outcome.value("exit_code", json()).is_number()) << run.Describe();
    // What the guest wrote before the trap is kept.
    EXPECT_NE(run.outcome.value("stderr", "").find("trap: " + mode), std::string::npos)
        << run.Describe();
  }
  // Controls: proc_exit(0) is ok; proc_exit(3) is status error with that exit code, no trap.
  const ProbeRun ok = RunOk(MakeSkill("trap", "trap.wasm", {"exit", "0"}));
  EXPECT_EQ(ok.output()["exit"], 0);
  EXPECT_EQ(ok.outcome["exit_code"], 0) << ok.Describe();
  const ProbeRun three = Run(MakeSkill("trap", "trap.wasm", {"exit", "3"}));
  EXPECT_EQ(three.status(), "error") << three.Describe();
  EXPECT_EQ(three.outcome["exit_code"], 3) << three.Describe();
  EXPECT_EQ(three.message().find("trap"), std::string::npos) << three.Describe();
}

// --- Malformed and hostile modules ---------------------------------------------------------

TEST_F(WasmProbeTest, MalformedModulesAreRefusedCleanly) {
  for (const char* module :
       {"garbage.wasm", "empty.wasm", "truncated.wasm", "bad_version.wasm", "bad_component.wasm"}) {
    ExpectCleanRefusal(module);
  }
}

TEST_F(WasmProbeTest, HostileModulesAreRefusedCleanly) {
  for (const char* module :
       {"huge_memory.wasm", "huge_table.wasm", "many_locals.wasm", "many_functions.wasm"}) {
    ExpectCleanRefusal(module);
  }
  // Deeply nested blocks are valid: the compiler must survive them (finish or refuse), and the
  // host with it.
  const ProbeRun run = Run(MakeSkill("nesting", "bad/deep_nesting.wasm", {}));
  ASSERT_GE(run.cli.exit_code, 0) << "skillrt crashed\n" << run.Describe();
  EXPECT_TRUE(run.status() == "ok" || run.status() == "error" || run.cli.exit_code == 70)
      << run.Describe();
  EXPECT_LT(run.elapsed, std::chrono::seconds(30));
}

}  // namespace
}  // namespace skillrt
