// The audit log when an append is interrupted or the disk is full: an append whose head update
// did not happen is recoverable and told apart from tampering; the reserve keeps room for the
// records of a run that has already happened.
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "skillrt/audit.h"
#include "test_util.h"

namespace skillrt {
namespace {

using skillrt::testing::Lines;
using skillrt::testing::ReadFile;
using skillrt::testing::TempDir;
using skillrt::testing::WriteFile;

nlohmann::json Record(int n) { return {{"event", "run"}, {"n", n}}; }

TEST(AuditRecoveryTest, AppendWithoutItsHeadIsAnInterruptedAppendNotTampering) {
  TempDir tmp;
  const auto file = tmp.path() / "audit.log";
  auto log = AuditLog::Open(file);
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->Append(Record(1)));
  ASSERT_TRUE(log->Append(Record(2)));
  // The third record reaches the log, its head update does not (the old head comes back).
  const std::string head_before = ReadFile(AuditHeadPath(file));
  ASSERT_TRUE(log->Append(Record(3)));
  WriteFile(AuditHeadPath(file), head_before);

  auto v = log->Verify();
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->ok) << v->message;
  EXPECT_TRUE(v->interrupted_append);
  EXPECT_NE(v->message.find("interrupted append"), std::string::npos) << v->message;

  // The next append completes it: no head_mismatch, and the log verifies cleanly.
  ASSERT_TRUE(log->Append(Record(4)));
  const auto lines = Lines(ReadFile(file));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines.back().find("head_mismatch"), std::string::npos) << lines.back();
  v = log->Verify();
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->ok) << v->message;
  EXPECT_FALSE(v->interrupted_append);
}

// Controls: what is not one chained record past the head is still tampering.
TEST(AuditRecoveryTest, OtherHeadDisagreementsStillFail) {
  TempDir tmp;
  const auto file = tmp.path() / "audit.log";
  auto log = AuditLog::Open(file);
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->Append(Record(1)));
  const std::string head_one = ReadFile(AuditHeadPath(file));
  ASSERT_TRUE(log->Append(Record(2)));
  ASSERT_TRUE(log->Append(Record(3)));
  // Two records past the head.
  WriteFile(AuditHeadPath(file), head_one);
  auto v = log->Verify();
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(v->problem, AuditProblem::kHeadMismatch);
  EXPECT_FALSE(v->interrupted_append);
  // And the next append says so in its record.
  ASSERT_TRUE(log->Append(Record(4)));
  EXPECT_NE(Lines(ReadFile(file)).back().find("head_mismatch"), std::string::npos);
}

// A small tmpfs of the test's own, filled to the last block.
class FullDisk {
 public:
  explicit FullDisk(const std::filesystem::path& dir) : dir_(dir) {
    mounted_ = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=1m") == 0;
  }
  ~FullDisk() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  // Writes a file until the disk refuses another byte; true when it did with ENOSPC.
  bool Fill() {
    FILE* f = std::fopen((dir_ / "filler").c_str(), "w");
    if (f == nullptr) return false;
    std::setvbuf(f, nullptr, _IONBF, 0);
    const std::string block(4096, 'x');
    while (std::fwrite(block.data(), 1, block.size(), f) == block.size()) {
    }
    const bool full = errno == ENOSPC;
    // Single bytes too, so that not even a partial block is left.
    while (std::fwrite("x", 1, 1, f) == 1) {
    }
    std::fclose(f);
    return full;
  }

 private:
  std::filesystem::path dir_;
  bool mounted_ = false;
};

TEST(AuditRecoveryTest, ReserveKeepsRoomForRecordsOnAFullDisk) {
  if (geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  TempDir tmp;
  FullDisk disk(tmp.path());
  ASSERT_TRUE(disk.mounted());
  const auto file = tmp.path() / "audit.log";
  auto log = AuditLog::Open(file);
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->Append(Record(1)));
  ASSERT_TRUE(log->Reserve(64 << 10));
  ASSERT_TRUE(disk.Fill());

  // The run happened; its record is written from the reserve.
  const nlohmann::json big = {{"event", "run"}, {"pad", std::string(8000, 'p')}};
  auto appended = log->Append(big);
  EXPECT_TRUE(appended) << appended.error().ToString();
  auto v = log->Verify();
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->ok) << v->message;
  EXPECT_EQ(v->records, 2u);
  // With the reserve spent and the disk full, the next run is refused before it starts.
  auto reserved = log->Reserve(64 << 10);
  ASSERT_FALSE(reserved);
  EXPECT_EQ(reserved.error().code, ErrorCode::kIo);
  EXPECT_NE(reserved.error().message.find("refusing to run"), std::string::npos)
      << reserved.error().message;
}

// Positive control: without a reserve the same full disk loses the record (and leaves no half
// line behind).
TEST(AuditRecoveryTest, WithoutAReserveAFullDiskLosesTheRecord) {
  if (geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  TempDir tmp;
  FullDisk disk(tmp.path());
  ASSERT_TRUE(disk.mounted());
  const auto file = tmp.path() / "audit.log";
  auto log = AuditLog::Open(file);
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->Append(Record(1)));
  ASSERT_TRUE(disk.Fill());
  const nlohmann::json big = {{"event", "run"}, {"pad", std::string(8000, 'p')}};
  auto appended = log->Append(big);
  ASSERT_FALSE(appended);
  EXPECT_EQ(appended.error().sys_errno, ENOSPC) << appended.error().ToString();
  auto v = log->Verify();
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->ok) << v->message;
  EXPECT_EQ(v->records, 1u);
}

}  // namespace
}  // namespace skillrt
