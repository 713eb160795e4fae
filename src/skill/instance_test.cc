#include "skillrt/instance.h"

#include <sys/stat.h>

#include <string>

#include <gtest/gtest.h>

#include "test_util.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using ::skillrt::testing::TempDir;
using ::skillrt::testing::WriteFile;

TEST(SkillSelectorTest, SplitsAtTheLastAt) {
  auto s = ParseSkillSelector("calc@prod");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->skill, "calc");
  EXPECT_EQ(s->instance, "prod");
  s = ParseSkillSelector("calc");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->skill, "calc");
  EXPECT_FALSE(s->instance.has_value());
  s = ParseSkillSelector("/srv/a@b/calc");  // A path holding '@' stays a path.
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->skill, "/srv/a@b/calc");
  EXPECT_FALSE(s->instance.has_value());
  s = ParseSkillSelector("./x/calc@dev");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->skill, "./x/calc");
  EXPECT_EQ(s->instance, "dev");
  EXPECT_FALSE(ParseSkillSelector("calc@").has_value());
  EXPECT_FALSE(ParseSkillSelector("@prod").has_value());
  EXPECT_FALSE(ParseSkillSelector("calc@Prod").has_value());
  EXPECT_FALSE(ParseSkillSelector("calc@default").has_value());
}

class InstanceTest : public ::testing::Test {
 protected:
  Result<InstanceFile> Read(std::string_view text) {
    const fs::path file = tmp_.path() / "instances.toml";
    WriteFile(file, text);
    ::chmod(file.c_str(), 0600);
    return ReadInstanceFile(file);
  }
  std::string ErrorOf(std::string_view text) {
    auto file = Read(text);
    EXPECT_FALSE(file.has_value()) << text;
    return file.has_value() ? "" : file.error().message;
  }
  std::string Path() const { return (tmp_.path() / "instances.toml").string(); }

  Manifest Granting() {
    auto m = ParseManifest(R"(
[entry]
argv = ["python3", "scripts/run.py"]
[capabilities]
read = ["/srv/data"]
write = ["/srv/out"]
commands = ["python3", "sort"]
[capabilities.env]
pass = ["LANG", "TZ"]
[limits]
wall_time_ms = 10000
memory_mb = 128
[secrets]
API_TOKEN = { description = "the API" }
)",
                           "skill.toml", "/nonexistent");
    EXPECT_TRUE(m.has_value()) << m.error().ToString();
    return m.value_or(Manifest{});
  }

  TempDir tmp_;
};

constexpr std::string_view kFile = R"(
[calc]
default = "dev"

[calc.dev]
env = { LOG_LEVEL = "debug" }
secrets = { API_TOKEN = "env:CALC_DEV_TOKEN" }
config = { precision = 4, endpoint = "https://dev.example" }

[calc.prod]
env = { LOG_LEVEL = "warn" }
secrets = { API_TOKEN = "file:/etc/calc/token" }
[calc.prod.capabilities]
read = ["/srv/data/prod", "/srv/out/reports"]
write = []
commands = ["python3"]
env = { pass = ["TZ"] }
[calc.prod.limits]
wall_time_ms = 5000
)";

TEST_F(InstanceTest, ReadsInstancesAndDefault) {
  auto file = Read(kFile);
  ASSERT_TRUE(file.has_value()) << file.error().ToString();
  EXPECT_EQ(file->defaults.at("calc"), "dev");
  const Instance& prod = file->skills.at("calc").at("prod");
  EXPECT_EQ(prod.env.at("LOG_LEVEL"), "warn");
  EXPECT_EQ(prod.secrets.at("API_TOKEN").ToString(), "file:/etc/calc/token");
  EXPECT_EQ(file->skills.at("calc").at("dev").config["precision"], 4);

  auto selected = SelectInstance(*file, "calc", std::nullopt);
  ASSERT_TRUE(selected.has_value());
  ASSERT_TRUE(selected->has_value());
  EXPECT_EQ((*selected)->name, "dev");
  selected = SelectInstance(*file, "calc", "prod");
  ASSERT_TRUE(selected.has_value() && selected->has_value());
  EXPECT_EQ((*selected)->name, "prod");
  selected = SelectInstance(*file, "other", std::nullopt);
  ASSERT_TRUE(selected.has_value());
  EXPECT_FALSE(selected->has_value());

  auto unknown = SelectInstance(*file, "calc", "staging");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(unknown.error().message, "unknown instance 'staging' of skill 'calc' (" + Path() +
                                         " defines: dev, prod)");
}

TEST_F(InstanceTest, NarrowingIsApplied) {
  auto file = Read(kFile);
  ASSERT_TRUE(file.has_value()) << file.error().ToString();
  auto m = ApplyInstance(Granting(), file->skills.at("calc").at("prod"), Path());
  ASSERT_TRUE(m.has_value()) << m.error().ToString();
  EXPECT_EQ(m->capabilities.read_paths,
            (std::vector<fs::path>{"/srv/data/prod", "/srv/out/reports"}));
  EXPECT_TRUE(m->capabilities.write_paths.empty());
  EXPECT_EQ(m->capabilities.commands, std::vector<std::string>{"python3"});
  EXPECT_EQ(m->capabilities.env.pass, std::vector<std::string>{"TZ"});
  EXPECT_EQ(m->limits.wall_time, std::chrono::milliseconds(5000));
  EXPECT_EQ(m->limits.memory_max_bytes, 128ull << 20);  // Unset: the manifest's.
  // dev sets nothing: the manifest as it is.
  auto dev = ApplyInstance(Granting(), file->skills.at("calc").at("dev"), Path());
  ASSERT_TRUE(dev.has_value());
  EXPECT_EQ(dev->capabilities.commands, (std::vector<std::string>{"python3", "sort"}));
}

TEST_F(InstanceTest, WideningIsRefusedWithTheKeyPath) {
  auto widen = [&](std::string_view body) {
    auto file = Read("[calc.prod]\n" + std::string(body));
    EXPECT_TRUE(file.has_value()) << file.error().ToString();
    if (!file) return std::string();
    auto m = ApplyInstance(Granting(), file->skills.at("calc").at("prod"), Path());
    EXPECT_FALSE(m.has_value()) << body;
    return m.has_value() ? std::string() : m.error().message;
  };
  const std::string p = Path() + ": calc.prod.";
  EXPECT_EQ(widen("capabilities = { commands = [\"python3\", \"curl\"] }"),
            p + "capabilities.commands[1]: 'curl' is not granted by the manifest (allowed: "
                "python3, sort, python3)");
  EXPECT_EQ(widen("capabilities = { read = [\"/srv\"] }"),
            p + "capabilities.read[0]: '/srv' is not granted by the manifest's "
                "capabilities.read or capabilities.write");
  EXPECT_EQ(widen("capabilities = { write = [\"/srv/data\"] }"),
            p + "capabilities.write[0]: '/srv/data' is not granted by the manifest's "
                "capabilities.write");
  EXPECT_EQ(widen("capabilities = { network = true }"),
            p + "capabilities.network: true, but the manifest does not grant network");
  EXPECT_EQ(widen("capabilities = { env = { pass = [\"HOME\"] } }"),
            p + "capabilities.env.pass[0]: 'HOME' is not granted by the manifest's "
                "capabilities.env.pass");
  EXPECT_EQ(widen("limits = { memory_mb = 512 }"),
            p + "limits.memory_mb: 512 exceeds the manifest's 128");
  EXPECT_EQ(widen("secrets = { OTHER = \"env:X\" }"),
            p + "secrets.OTHER: the skill's manifest declares no secret OTHER (see [secrets])");
  EXPECT_EQ(widen("env = { API_TOKEN = \"x\" }"),
            p + "env.API_TOKEN: API_TOKEN is a secret of the skill; give it under secrets");
}

TEST_F(InstanceTest, StrictParsingNamesFileAndKeyPath) {
  const std::string p = Path() + ": ";
  EXPECT_EQ(ErrorOf("[calc.prod]\nbogus = 1\n"),
            p + "calc.prod.bogus: unknown key (allowed: config, env, secrets, capabilities, "
                "limits)");
  EXPECT_EQ(ErrorOf("[calc.prod]\nsecrets = { T = \"/etc/token\" }\n"),
            p + "calc.prod.secrets.T: expected a reference \"env:NAME\" or "
                "\"file:/absolute/path\"");
  EXPECT_EQ(ErrorOf("[calc.prod]\nsecrets = { T = \"file:token\" }\n"),
            p + "calc.prod.secrets.T: file: reference needs an absolute path, e.g. "
                "\"file:/home/me/.token\"");
  EXPECT_EQ(ErrorOf("[calc.prod.limits]\nwall_time_ms = \"5s\"\n"),
            p + "calc.prod.limits.wall_time_ms: expected a positive integer, got string");
  EXPECT_EQ(ErrorOf("[calc.prod.capabilities]\nread = [\"/etc\"]\n")
                .find(p + "calc.prod.capabilities.read[0]: '/etc' is or lies under '/etc'"),
            0u);
  EXPECT_EQ(ErrorOf("[calc.prod]\nenv = { SKILLRT_RUN_ID = \"x\" }\n"),
            p + "calc.prod.env.SKILLRT_RUN_ID: SKILLRT_RUN_ID is reserved by skillrt");
  EXPECT_EQ(ErrorOf("[calc]\ndefault = \"prod\"\n[calc.dev]\n"),
            p + "calc.default: names 'prod', which is not defined");
  EXPECT_EQ(ErrorOf("[Calc.dev]\n"), p + "Calc: 'Calc' is not a skill name");
  EXPECT_NE(ErrorOf("[calc.dev\n").find(Path() + ":1:"), std::string::npos);
}

TEST_F(InstanceTest, FileWritableByOthersIsRefused) {
  ASSERT_TRUE(Read(kFile).has_value());
  const fs::path file = tmp_.path() / "instances.toml";
  ::chmod(file.c_str(), 0620);
  auto read = ReadInstanceFile(file);
  ASSERT_FALSE(read.has_value());
  EXPECT_EQ(read.error().code, ErrorCode::kDenied);
  EXPECT_NE(read.error().message.find("writable by group or others"), std::string::npos);
  auto missing = ReadInstanceFile(tmp_.path() / "none.toml");
  ASSERT_TRUE(missing.has_value());
  EXPECT_TRUE(missing->skills.empty());
}

TEST_F(InstanceTest, NarrowingKeepsInferredInterpretersUnderTheScriptRule) {
  Manifest manifest;
  manifest.inferred = true;
  manifest.script_commands = {InferredCommand{.command = "python3"},
                              InferredCommand{.command = "python"},
                              InferredCommand{.command = "bash"}};
  manifest.capabilities.commands = {"jq"};
  auto file = Read("[calc.prod]\ncapabilities = { commands = [\"python3\", \"jq\"] }\n");
  ASSERT_TRUE(file.has_value()) << file.error().ToString();
  auto m = ApplyInstance(manifest, file->skills.at("calc").at("prod"), Path());
  ASSERT_TRUE(m.has_value()) << m.error().ToString();
  // python3 stays allowed only to run the skill's files: it is not moved to the full grants.
  EXPECT_EQ(m->capabilities.commands, (std::vector<std::string>{"jq"}));
  ASSERT_EQ(m->script_commands.size(), 1u);
  EXPECT_EQ(m->script_commands[0].command, "python3");
  // Naming a command neither granted nor inferred is a widening.
  file = Read("[calc.prod]\ncapabilities = { commands = [\"node\"] }\n");
  ASSERT_TRUE(file.has_value()) << file.error().ToString();
  EXPECT_FALSE(ApplyInstance(manifest, file->skills.at("calc").at("prod"), Path()).has_value());
}

}  // namespace
}  // namespace skillrt

namespace skillrt {
namespace {

TEST(InstanceFileTest, SymlinkedFileIsRefused) {
  testing::TempDir tmp;
  testing::WriteFile(tmp.path() / "real.toml", "[calc.dev]\n");
  ::chmod((tmp.path() / "real.toml").c_str(), 0600);
  ASSERT_TRUE(ReadInstanceFile(tmp.path() / "real.toml").has_value());
  std::filesystem::create_symlink(tmp.path() / "real.toml", tmp.path() / "instances.toml");
  auto read = ReadInstanceFile(tmp.path() / "instances.toml");
  ASSERT_FALSE(read.has_value());
  EXPECT_EQ(read.error().code, ErrorCode::kDenied);
  EXPECT_NE(read.error().message.find("symbolic link"), std::string::npos);
}

TEST_F(InstanceTest, NarrowingNetworkAwayDropsTheAllowlist) {
  Manifest manifest = Granting();
  manifest.capabilities.network = true;
  manifest.capabilities.egress = {EgressRule{.host = "api.example.com"}};
  auto file = Read("[calc.prod]\ncapabilities = { network = false }\n");
  ASSERT_TRUE(file.has_value()) << file.error().ToString();
  auto m = ApplyInstance(manifest, file->skills.at("calc").at("prod"), Path());
  ASSERT_TRUE(m.has_value()) << m.error().ToString();
  EXPECT_FALSE(m->capabilities.network);
  EXPECT_TRUE(m->capabilities.egress.empty());
}

}  // namespace
}  // namespace skillrt
