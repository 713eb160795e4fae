#include "engine/plan_builder.h"

#include <stdlib.h>

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.h"

namespace skillrt {
namespace {

using skillrt::testing::TempDir;

// A skill built in memory: the plan builder needs no files except declared mounts.
Skill MakeSkill(const std::filesystem::path& dir) {
  Skill skill;
  skill.dir = dir;
  skill.meta.name = "calc";
  skill.meta.description = "Evaluates arithmetic.";
  skill.manifest.entry = EntryPoint{.argv = {"python3", "scripts/calc.py"}};
  skill.manifest.capabilities.commands = {"python3", "/usr/bin/env"};
  skill.tree_sha256 = std::string(64, '0');
  return skill;
}

std::vector<std::string> Names(const std::vector<std::string>& env) {
  std::vector<std::string> names;
  for (const std::string& entry : env) names.push_back(entry.substr(0, entry.find('=')));
  return names;
}

bool HasEntry(const std::vector<std::string>& env, const std::string& entry) {
  return std::find(env.begin(), env.end(), entry) != env.end();
}

// Requests built field by field (designated initializers would have to name every field).
RunRequest RunReq(nlohmann::json input = nlohmann::json::object(), RunOverrides overrides = {}) {
  RunRequest request;
  request.skill = "calc";
  request.input = std::move(input);
  request.overrides = overrides;
  return request;
}

ExecRequest ExecReq(std::vector<std::string> argv, std::string stdin_data = "") {
  ExecRequest request;
  request.skill = "calc";
  request.argv = std::move(argv);
  request.stdin_data = std::move(stdin_data);
  return request;
}

RunOverrides Timeout(std::chrono::milliseconds wall) {
  RunOverrides overrides;
  overrides.wall_time = wall;
  return overrides;
}

RunOverrides Memory(uint64_t bytes) {
  RunOverrides overrides;
  overrides.memory_max_bytes = bytes;
  return overrides;
}

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
  ~ScopedEnv() { ::unsetenv(name_); }

 private:
  const char* name_;
};

TEST(PlanBuilderTest, RunPlanHasEntryArgvBaseEnvAndInputOnStdin) {
  TempDir tmp;
  Skill skill = MakeSkill(tmp.path());
  skill.tree_sha256 = std::string(64, '7');
  RunRequest request = RunReq({{"expression", "2*(3+4)"}});
  auto plan = BuildRunPlan(skill, request, "run-1");
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  EXPECT_EQ(plan->run_id, "run-1");
  EXPECT_EQ(plan->tree_sha256, skill.tree_sha256);  // What prepared interpreters are keyed on.
  EXPECT_EQ(plan->skill_name, "calc");
  EXPECT_EQ(plan->skill_dir, tmp.path());
  EXPECT_EQ(plan->argv, (std::vector<std::string>{"python3", "scripts/calc.py"}));
  EXPECT_EQ(plan->env, (std::vector<std::string>{"PATH=/skillrt/bin:/usr/local/bin:/usr/bin:/bin", "HOME=/tmp",
                                                 "TMPDIR=/tmp", "LANG=C.UTF-8", "SKILL_DIR=/skill",
                                                 "SKILLRT_RUN_ID=run-1"}));
  EXPECT_EQ(nlohmann::json::parse(plan->stdin_data), request.input);
  EXPECT_EQ(plan->commands, (std::vector<std::string>{"python3", "/usr/bin/env"}));
  EXPECT_FALSE(plan->network);
  EXPECT_TRUE(plan->mounts.empty());
  EXPECT_EQ(plan->level, SandboxLevel::kStrict);
  EXPECT_EQ(plan->limits.wall_time, Limits{}.wall_time);
}

TEST(PlanBuilderTest, InputModeNoneLeavesStdinEmpty) {
  TempDir tmp;
  Skill skill = MakeSkill(tmp.path());
  skill.manifest.entry->input = InputMode::kNone;
  auto plan = BuildRunPlan(skill, RunReq({{"a", 1}}), "r");
  ASSERT_TRUE(plan.has_value());
  EXPECT_TRUE(plan->stdin_data.empty());
}

TEST(PlanBuilderTest, NoEntryPointIsDenied) {
  TempDir tmp;
  Skill skill = MakeSkill(tmp.path());
  skill.manifest.entry.reset();
  auto plan = BuildRunPlan(skill, RunReq(), "r");
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(plan.error().code, ErrorCode::kDenied);
  EXPECT_EQ(plan.error().message, "skill 'calc' has no entry point; use exec");
}

// One rule for reserved variables (EnvNameOwnerOf): what the manifest parser refuses in
// capabilities.env, the planner refuses in a manifest built by hand, and the other way round.
TEST(PlanBuilderTest, ReservedVariablesAreOneRuleWithTheManifest) {
  TempDir tmp;
  for (const char* name : {"SKILL_DIR", "SKILLRT_RUN_ID", "SKILLRT_ANYTHING"}) {
    Skill skill = MakeSkill(tmp.path());
    skill.manifest.capabilities.env.set[name] = "x";
    auto plan = BuildRunPlan(skill, RunReq(), "r");
    ASSERT_FALSE(plan.has_value()) << name;
    EXPECT_NE(plan.error().message.find("reserved by skillrt"), std::string::npos) << name;
    auto parsed = ParseManifest("[capabilities.env]\nset = { " + std::string(name) +
                                    " = \"x\" }\n",
                                "skill.toml", tmp.path());
    EXPECT_FALSE(parsed.has_value()) << name;
  }
  // Control: the base environment may be overridden by the manifest, in both places.
  Skill skill = MakeSkill(tmp.path());
  skill.manifest.capabilities.env.set["LANG"] = "en_GB.UTF-8";
  auto plan = BuildRunPlan(skill, RunReq(), "r");
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  EXPECT_NE(std::find(plan->env.begin(), plan->env.end(), "LANG=en_GB.UTF-8"), plan->env.end());
  EXPECT_TRUE(
      ParseManifest("[capabilities.env]\nset = { LANG = \"C\" }\n", "skill.toml", tmp.path()));
  EXPECT_EQ(EnvNameOwnerOf("LANG"), EnvNameOwner::kBase);
  EXPECT_EQ(EnvNameOwnerOf("MY_VAR"), EnvNameOwner::kAnyone);
}

TEST(PlanBuilderTest, HostVariablesNeverLeakUnlessDeclared) {
  TempDir tmp;
  ScopedEnv secret("HOST_SECRET", "hunter2");
  ScopedEnv passed("TEST_PASSED_VAR", "yes");
  Skill skill = MakeSkill(tmp.path());
  auto plan = BuildRunPlan(skill, RunReq(), "r");
  ASSERT_TRUE(plan.has_value());
  for (const std::string& entry : plan->env) {
    EXPECT_EQ(entry.find("hunter2"), std::string::npos) << entry;
    EXPECT_EQ(entry.find("TEST_PASSED_VAR"), std::string::npos) << entry;
  }
  // The positive control: the same variable passes once declared, and an unset declared
  // variable is simply absent.
  skill.manifest.capabilities.env.pass = {"TEST_PASSED_VAR", "TEST_UNSET_VAR"};
  ::unsetenv("TEST_UNSET_VAR");
  plan = BuildRunPlan(skill, RunReq(), "r");
  ASSERT_TRUE(plan.has_value());
  EXPECT_TRUE(HasEntry(plan->env, "TEST_PASSED_VAR=yes"));
  std::vector<std::string> names = Names(plan->env);
  EXPECT_EQ(std::count(names.begin(), names.end(), "TEST_UNSET_VAR"), 0);
  EXPECT_EQ(std::count(names.begin(), names.end(), "HOST_SECRET"), 0);
}

TEST(PlanBuilderTest, SetWinsOverPassAndOverridesBaseOnce) {
  TempDir tmp;
  ScopedEnv passed("TEST_MODE", "from-host");
  Skill skill = MakeSkill(tmp.path());
  skill.manifest.capabilities.env.pass = {"TEST_MODE"};
  skill.manifest.capabilities.env.set = {{"TEST_MODE", "fixed"}, {"LANG", "C"}};
  auto plan = BuildRunPlan(skill, RunReq(), "r");
  ASSERT_TRUE(plan.has_value());
  EXPECT_TRUE(HasEntry(plan->env, "TEST_MODE=fixed"));
  EXPECT_FALSE(HasEntry(plan->env, "TEST_MODE=from-host"));
  EXPECT_TRUE(HasEntry(plan->env, "LANG=C"));
  std::vector<std::string> names = Names(plan->env);
  EXPECT_EQ(std::count(names.begin(), names.end(), "LANG"), 1);
  EXPECT_EQ(std::count(names.begin(), names.end(), "TEST_MODE"), 1);
}

TEST(PlanBuilderTest, ReservedOrMalformedEnvNamesAreRejected) {
  TempDir tmp;
  Skill skill = MakeSkill(tmp.path());
  skill.manifest.capabilities.env.set = {{"SKILLRT_RUN_ID", "forged"}};
  auto plan = BuildRunPlan(skill, RunReq(), "r");
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(plan.error().code, ErrorCode::kValidation);
  EXPECT_NE(plan.error().message.find("capabilities.env.set"), std::string::npos);
  EXPECT_NE(plan.error().message.find("skill.toml"), std::string::npos);

  skill.manifest.capabilities.env.set.clear();
  skill.manifest.capabilities.env.pass = {"A=B"};
  plan = BuildRunPlan(skill, RunReq(), "r");
  ASSERT_FALSE(plan.has_value());
  EXPECT_NE(plan.error().message.find("capabilities.env.pass"), std::string::npos);
}

TEST(PlanBuilderTest, DeclaredPathsBecomeMountsAndMustExist) {
  skillrt::testing::VarTmpDir tmp;  // Not under /tmp, a reserved host path.
  std::filesystem::create_directories(tmp.path() / "data");
  std::filesystem::create_directories(tmp.path() / "out");
  Skill skill = MakeSkill(tmp.path());
  skill.manifest.capabilities.read_paths = {tmp.path() / "data"};
  skill.manifest.capabilities.write_paths = {tmp.path() / "out"};
  auto plan = BuildRunPlan(skill, RunReq(), "r");
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  ASSERT_EQ(plan->mounts.size(), 2u);
  EXPECT_EQ(plan->mounts[0].path, tmp.path() / "data");
  EXPECT_FALSE(plan->mounts[0].writable);
  EXPECT_EQ(plan->mounts[1].path, tmp.path() / "out");
  EXPECT_TRUE(plan->mounts[1].writable);
  // Each is pinned to the object it named, and so is the skill directory.
  ASSERT_TRUE(plan->mounts[0].pin.has_value());
  EXPECT_EQ(plan->mounts[0].pin->resolved, tmp.path() / "data");
  EXPECT_TRUE(plan->mounts[0].pin->directory);
  ASSERT_TRUE(plan->skill_dir_pin.has_value());

  skill.manifest.capabilities.read_paths.push_back(tmp.path() / "missing");
  plan = BuildRunPlan(skill, RunReq(), "r");
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(plan.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(plan.error().message, (tmp.path() / "skill.toml").string() +
                                      ": capabilities.read: " + (tmp.path() / "missing").string() +
                                      " does not exist");
}

// A declared path is judged by what it resolves to: a link to the host's root, or into a
// reserved host location, is refused whatever it is called; a link to a plain directory is
// granted as that directory.
TEST(PlanBuilderTest, DeclaredSymlinksAreJudgedByTheirTarget) {
  skillrt::testing::VarTmpDir tmp;
  std::filesystem::create_directories(tmp.path() / "real");
  std::filesystem::create_directory_symlink("/", tmp.path() / "root");
  std::filesystem::create_directory_symlink("/etc", tmp.path() / "etc");
  std::filesystem::create_directory_symlink(tmp.path() / "real", tmp.path() / "ok");
  Skill skill = MakeSkill(tmp.path());
  for (const char* bad : {"root", "etc"}) {
    skill.manifest.capabilities.read_paths = {tmp.path() / bad};
    auto plan = BuildRunPlan(skill, RunReq(), "r");
    ASSERT_FALSE(plan.has_value()) << bad;
    EXPECT_EQ(plan.error().code, ErrorCode::kDenied) << bad;
    EXPECT_NE(plan.error().message.find("resolves to /"), std::string::npos)
        << plan.error().message;
  }
  skill.manifest.capabilities.read_paths = {tmp.path() / "ok"};
  auto plan = BuildRunPlan(skill, RunReq(), "r");
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  ASSERT_TRUE(plan->mounts[0].pin.has_value());
  EXPECT_EQ(plan->mounts[0].path, tmp.path() / "ok");
  EXPECT_EQ(plan->mounts[0].pin->resolved, tmp.path() / "real");
}

TEST(PlanBuilderTest, OverridesNarrowButNeverWiden) {
  Limits manifest;
  manifest.wall_time = std::chrono::milliseconds(30'000);
  manifest.memory_max_bytes = 256ull << 20;

  auto narrowed = ApplyOverrides(manifest, Timeout(std::chrono::milliseconds(1500)));
  ASSERT_TRUE(narrowed.has_value());
  narrowed = ApplyOverrides(*narrowed, Memory(64ull << 20));
  ASSERT_TRUE(narrowed.has_value());
  EXPECT_EQ(narrowed->wall_time, std::chrono::milliseconds(1500));
  EXPECT_EQ(narrowed->memory_max_bytes, 64ull << 20);
  EXPECT_EQ(narrowed->cpu_time, manifest.cpu_time);

  auto equal = ApplyOverrides(manifest, Timeout(manifest.wall_time));
  ASSERT_TRUE(equal.has_value());
  EXPECT_EQ(equal->wall_time, manifest.wall_time);

  auto wide = ApplyOverrides(manifest, Timeout(std::chrono::seconds(100)));
  ASSERT_FALSE(wide.has_value());
  EXPECT_EQ(wide.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(wide.error().message, "the wall_time override 100s exceeds the manifest's wall_time_ms 30000");

  auto wide_fraction =
      ApplyOverrides(manifest, Timeout(std::chrono::milliseconds(30'500)));
  ASSERT_FALSE(wide_fraction.has_value());
  EXPECT_EQ(wide_fraction.error().message,
            "the wall_time override 30.5s exceeds the manifest's wall_time_ms 30000");

  auto more_memory = ApplyOverrides(manifest, Memory(512ull << 20));
  ASSERT_FALSE(more_memory.has_value());
  EXPECT_EQ(more_memory.error().message, "the memory override 512 MB exceeds the manifest's memory_mb 256");

  EXPECT_FALSE(ApplyOverrides(manifest, Timeout(std::chrono::milliseconds(0))));
  EXPECT_FALSE(ApplyOverrides(manifest, Memory(0)));
}

TEST(PlanBuilderTest, WideningOverrideRefusesThePlan) {
  TempDir tmp;
  Skill skill = MakeSkill(tmp.path());
  RunRequest request = RunReq();
  request.overrides.wall_time = std::chrono::hours(1);
  auto plan = BuildRunPlan(skill, request, "r");
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(plan.error().code, ErrorCode::kInvalidArgument);
  request.overrides.wall_time = std::chrono::seconds(2);
  request.overrides.level = SandboxLevel::kBestEffort;
  plan = BuildRunPlan(skill, request, "r");
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->limits.wall_time, std::chrono::seconds(2));
  EXPECT_EQ(plan->level, SandboxLevel::kBestEffort);
}

TEST(PlanBuilderTest, AllowedCommandsAreExactMatches) {
  Manifest manifest;
  manifest.entry = EntryPoint{.argv = {"bash", "scripts/run.sh"}};
  manifest.capabilities.commands = {"python3", "/usr/bin/jq", "bash"};
  std::vector<std::string> allowed = AllowedCommands(manifest);
  EXPECT_EQ(allowed, (std::vector<std::string>{"python3", "/usr/bin/jq", "bash"}));
  EXPECT_TRUE(IsCommandAllowed(allowed, "python3"));
  EXPECT_TRUE(IsCommandAllowed(allowed, "/usr/bin/jq"));
  EXPECT_TRUE(IsCommandAllowed(allowed, "bash"));
  EXPECT_FALSE(IsCommandAllowed(allowed, "jq"));
  EXPECT_FALSE(IsCommandAllowed(allowed, "/usr/bin/python3"));
  EXPECT_FALSE(IsCommandAllowed(allowed, "./python3"));
  EXPECT_FALSE(IsCommandAllowed(allowed, "/tmp/bash"));
  EXPECT_FALSE(IsCommandAllowed(allowed, "sh"));
  EXPECT_FALSE(IsCommandAllowed(allowed, ""));
}

TEST(PlanBuilderTest, ExecChecksArgv0) {
  TempDir tmp;
  Skill skill = MakeSkill(tmp.path());
  auto plan = BuildExecPlan(skill, ExecReq({"python3", "-c", "1"}), "r");
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  EXPECT_EQ(plan->argv, (std::vector<std::string>{"python3", "-c", "1"}));
  EXPECT_TRUE(plan->stdin_data.empty());

  auto denied = BuildExecPlan(skill, ExecReq({"curl", "x"}), "r");
  ASSERT_FALSE(denied.has_value());
  EXPECT_EQ(denied.error().code, ErrorCode::kDenied);
  EXPECT_EQ(denied.error().message, "command 'curl' is not allowed by " +
                                        (tmp.path() / "skill.toml").string() +
                                        " capabilities.commands (allowed: python3, /usr/bin/env)");

  auto empty = BuildExecPlan(skill, ExecReq({}), "r");
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
}

TEST(PlanBuilderTest, InferredInterpretersAreAllowedAndRefusalsNameNoSkillToml) {
  Skill skill;
  skill.dir = "/srv/skills/pdf";
  skill.manifest.inferred = true;
  skill.manifest.script_commands = {InferredCommand{.command = "python3"},
                                    InferredCommand{.command = "python"}};
  EXPECT_EQ(AllowedCommands(skill.manifest), (std::vector<std::string>{"python3", "python"}));
  EXPECT_TRUE(CheckExecArgv(skill, {"python", "scripts/x.py"}).has_value());
  auto denied = CheckExecArgv(skill, {"curl", "x"});
  ASSERT_FALSE(denied.has_value());
  EXPECT_EQ(denied.error().code, ErrorCode::kDenied);
  EXPECT_EQ(denied.error().message,
            "command 'curl' is not allowed: the skill has no skill.toml; inferred from its "
            "files: python3, python (only to run a file of the skill); any other command needs "
            "a grant from the user (docs/inference.md)");
  // A command from allowed-tools is a full grant and is named as such.
  skill.manifest.capabilities.commands = {"jq"};
  EXPECT_EQ(CommandGrantText(skill),
            "the skill has no skill.toml; inferred from its files: python3, python (only to run "
            "a file of the skill); also allowed: jq; any other command needs a "
            "grant from the user (docs/inference.md)");
  Skill bare;
  bare.dir = "/srv/skills/doc";
  bare.manifest.inferred = true;
  EXPECT_EQ(CommandGrantText(bare),
            "the skill has no skill.toml; no command was inferred from its files; any other "
            "command needs a grant from the user (docs/inference.md)");
  bare.manifest.inferred = false;
  EXPECT_EQ(CommandGrantText(bare), "/srv/skills/doc/skill.toml capabilities.commands allows: none");
}

TEST(PlanBuilderTest, ExecPassesStdinThrough) {
  TempDir tmp;
  Skill skill = MakeSkill(tmp.path());
  auto plan = BuildExecPlan(
      skill, ExecReq({"python3"}, "print(1)\n"), "r");
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->stdin_data, "print(1)\n");
}

TEST(PlanBuilderTest, EgressAllowlistReachesThePlanWithProxyVariables) {
  TempDir tmp;
  Skill skill = MakeSkill(tmp.path());
  skill.manifest.capabilities.egress = {EgressRule{.host = "api.example.com", .port = 443}};
  skill.manifest.capabilities.network = true;
  auto plan = BuildRunPlan(skill, RunReq(), "run-1");
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  EXPECT_TRUE(plan->network);
  EXPECT_EQ(plan->egress, skill.manifest.capabilities.egress);
  const std::string url = "http://127.0.0.1:" + std::to_string(kEgressProxyPort);
  for (const char* name : {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                           "all_proxy"}) {
    EXPECT_TRUE(HasEntry(plan->env, std::string(name) + "=" + url)) << name;
  }
  EXPECT_TRUE(HasEntry(plan->env, "NO_PROXY="));

  // The manifest cannot point the proxy variables elsewhere.
  skill.manifest.capabilities.env.set = {{"HTTPS_PROXY", "http://10.0.0.1:8080"}};
  auto redirected = BuildRunPlan(skill, RunReq(), "run-2");
  ASSERT_FALSE(redirected.has_value());
  EXPECT_EQ(redirected.error().message,
            (tmp.path() / "skill.toml").string() +
                ": capabilities.env.set: HTTPS_PROXY is reserved by skillrt for the egress proxy");
  skill.manifest.capabilities.env.set.clear();
  skill.manifest.capabilities.env.pass = {"no_proxy"};
  EXPECT_FALSE(BuildRunPlan(skill, RunReq(), "run-3").has_value());
}

TEST(PlanBuilderTest, ProxyVariablesPerRuntime) {
  // Native and container skills find the proxy in the environment; a WebAssembly skill has no
  // sockets and reaches it through its host interface instead, so it gets none.
  TempDir tmp;
  Skill skill = MakeSkill(tmp.path());
  skill.manifest.capabilities.egress = {EgressRule{.host = "api.example.com", .port = 443}};
  skill.manifest.capabilities.network = true;
  const std::string proxy = "http_proxy=http://127.0.0.1:" + std::to_string(kEgressProxyPort);
  for (RuntimeKind kind : {RuntimeKind::kNative, RuntimeKind::kContainer, RuntimeKind::kWasm}) {
    skill.manifest.runtime = kind;
    if (kind == RuntimeKind::kContainer) {
      ContainerSpec spec;
      spec.image = "x";
      skill.manifest.container = spec;
    }
    auto plan = BuildRunPlan(skill, RunReq(), "run-1");
    ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
    EXPECT_TRUE(plan->network);
    EXPECT_EQ(HasEntry(plan->env, proxy), kind != RuntimeKind::kWasm) << static_cast<int>(kind);
  }
}

TEST(PlanBuilderTest, NoEgressNoProxyVariables) {
  TempDir tmp;
  Skill skill = MakeSkill(tmp.path());
  skill.manifest.capabilities.env.set = {{"HTTPS_PROXY", "http://proxy.example:3128"}};
  auto plan = BuildRunPlan(skill, RunReq(), "run-1");
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  EXPECT_FALSE(plan->network);
  EXPECT_TRUE(plan->egress.empty());
  EXPECT_TRUE(HasEntry(plan->env, "HTTPS_PROXY=http://proxy.example:3128"));
  EXPECT_FALSE(HasEntry(plan->env, "NO_PROXY="));

  // Hosts without the grant (an instance narrowed network away) give no network.
  skill.manifest.capabilities.egress = {EgressRule{.host = "api.example.com"}};
  auto narrowed = BuildRunPlan(skill, RunReq(), "run-3");
  ASSERT_TRUE(narrowed.has_value()) << narrowed.error().ToString();
  EXPECT_FALSE(narrowed->network);
  EXPECT_TRUE(narrowed->egress.empty());
  skill.manifest.capabilities.egress.clear();

  skill.manifest.capabilities.network = true;  // Network without hosts: refused.
  EXPECT_EQ(BuildRunPlan(skill, RunReq(), "run-2").error().code, ErrorCode::kValidation);
}

}  // namespace
}  // namespace skillrt
