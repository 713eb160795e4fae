#include "engine/run_journal.h"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "test_util.h"

namespace skillrt {
namespace {

using skillrt::testing::ReadFile;
using skillrt::testing::TempDir;
using skillrt::testing::WriteFile;

TEST(RunJournalTest, LiveRunsAreNotAbandonedAndEndRemovesThem) {
  TempDir home;
  RunJournal journal(home.path());
  ASSERT_TRUE(journal.Begin("r1", {{"skill", "s"}, {"runtime", "native"}}));
  EXPECT_TRUE(std::filesystem::exists(home.path() / "runs" / "r1.json"));
  EXPECT_TRUE(journal.Abandoned().empty());  // Its owner, this process, is alive.
  // One entry per run id: a second start of the same id is refused.
  EXPECT_FALSE(journal.Begin("r1", {}));
  journal.End("r1");
  EXPECT_FALSE(std::filesystem::exists(home.path() / "runs" / "r1.json"));
  EXPECT_FALSE(journal.Begin("../x", {}));
}

TEST(RunJournalTest, RunsOfAProcessThatIsGoneAreAbandoned) {
  TempDir home;
  const pid_t child = ::fork();
  if (child == 0) {
    RunJournal(home.path()).Begin("gone", {{"skill", "s"}, {"runtime", "wasm"}}).has_value()
        ? ::_exit(0)
        : ::_exit(1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_EQ(WEXITSTATUS(status), 0);
  RunJournal journal(home.path());
  const auto abandoned = journal.Abandoned();
  ASSERT_EQ(abandoned.size(), 1u);
  EXPECT_EQ(abandoned[0].value("run_id", ""), "gone");
  EXPECT_EQ(abandoned[0].value("skill", ""), "s");
  EXPECT_EQ(abandoned[0]["owner"].value("pid", 0), child);
  journal.Forget("gone");
  EXPECT_TRUE(journal.Abandoned().empty());
}

// A pid that names another process now (reused) is told apart by its start time.
TEST(RunJournalTest, AReusedPidIsNotTheOwner) {
  TempDir home;
  ProcessIdentity self = ProcessIdentity::Self();
  EXPECT_TRUE(self.Alive());
  self.start_ticks += 1;
  EXPECT_FALSE(self.Alive());
  self = ProcessIdentity::Self();
  self.boot_id = "another-boot";
  EXPECT_FALSE(self.Alive());
}

}  // namespace
}  // namespace skillrt
