#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "audit/audit_time.h"
#include "skillrt/audit.h"
#include "test_util.h"

namespace skillrt {
namespace {

using skillrt::testing::TempDir;
using skillrt::testing::WriteFile;

class AuditQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = AuditLog::Open(file_);
    ASSERT_TRUE(log.has_value());
    struct Row {
      const char* time;
      const char* skill;
      const char* event;
      const char* status;
    };
    for (const Row& r : {Row{"2026-11-01T10:00:00.000000Z", "calc", "run", "ok"},
                         Row{"2026-11-02T10:00:00.000000Z", "calc", "refusal", "denied"},
                         Row{"2026-11-03T10:00:00.000000Z", "csv", "run", "error"},
                         Row{"2026-11-04T10:00:00.000000Z", "calc", "run", "ok"},
                         Row{"2026-11-05T10:00:00.000000Z", "csv", "run", "ok"}}) {
      ASSERT_TRUE(log->Append({{"time", r.time}, {"skill", r.skill}, {"event", r.event},
                               {"status", r.status}})
                      .has_value());
    }
  }

  std::vector<uint64_t> Seqs(const AuditQuery& query) {
    auto records = QueryAuditLog(file_, query);
    EXPECT_TRUE(records.has_value()) << records.error().ToString();
    std::vector<uint64_t> seqs;
    for (const auto& r : records.value_or(std::vector<nlohmann::json>{})) {
      seqs.push_back(r["seq"].get<uint64_t>());
    }
    return seqs;
  }

  TempDir tmp_;
  std::filesystem::path file_ = tmp_.path() / "audit.log";
};

TEST_F(AuditQueryTest, FiltersCombine) {
  using V = std::vector<uint64_t>;
  EXPECT_EQ(Seqs({}), (V{1, 2, 3, 4, 5}));
  EXPECT_EQ(Seqs({.skill = "calc"}), (V{1, 2, 4}));
  EXPECT_EQ(Seqs({.status = "ok"}), (V{1, 4, 5}));
  EXPECT_EQ(Seqs({.event = "refusal"}), (V{2}));
  EXPECT_EQ(Seqs({.skill = "calc", .status = "ok", .event = "run"}), (V{1, 4}));
  EXPECT_EQ(Seqs({.skill = "nosuch"}), V{});
  EXPECT_EQ(Seqs({.skill = "calc", .limit = 2}), (V{2, 4}));
}

TEST_F(AuditQueryTest, TimeBoundsAreInclusive) {
  using V = std::vector<uint64_t>;
  auto t = [](const char* text) { return *audit::ParseRfc3339(text); };
  EXPECT_EQ(Seqs({.since = t("2026-11-03T10:00:00Z")}), (V{3, 4, 5}));
  EXPECT_EQ(Seqs({.until = t("2026-11-02T10:00:00Z")}), (V{1, 2}));
  EXPECT_EQ(Seqs({.since = t("2026-11-02"), .until = t("2026-11-04")}), (V{2, 3}));
  EXPECT_EQ(Seqs({.since = t("2026-12-01")}), V{});
}

TEST(AuditQueryErrorsTest, NamesTheBadLineAndTheMissingFile) {
  TempDir tmp;
  WriteFile(tmp.path() / "audit.log", "{\"skill\":\"a\"}\n[1]\n");
  auto records = QueryAuditLog(tmp.path() / "audit.log", {});
  ASSERT_FALSE(records.has_value());
  EXPECT_EQ(records.error().code, ErrorCode::kParse);
  EXPECT_NE(records.error().message.find("audit.log:2:"), std::string::npos);

  auto missing = QueryAuditLog(tmp.path() / "none.log", {});
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);

  // Records without a readable time never match a time bound, and do not stop the query.
  WriteFile(tmp.path() / "audit.log", "{\"skill\":\"a\"}\n{\"time\":\"yesterday\"}\n");
  auto bounded = QueryAuditLog(tmp.path() / "audit.log",
                               {.since = std::chrono::system_clock::time_point{}});
  ASSERT_TRUE(bounded.has_value());
  EXPECT_TRUE(bounded->empty());
  auto unbounded = QueryAuditLog(tmp.path() / "audit.log", {});
  ASSERT_TRUE(unbounded.has_value());
  EXPECT_EQ(unbounded->size(), 2u);
}

}  // namespace
}  // namespace skillrt
