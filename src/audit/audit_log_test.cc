#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "skillrt/audit.h"
#include "test_util.h"

namespace skillrt {
namespace {

using skillrt::testing::Lines;
using skillrt::testing::ReadFile;
using skillrt::testing::TempDir;
using skillrt::testing::WriteFile;

TEST(AuditLogTest, CreatesPrivateFileAndDirectory) {
  TempDir tmp;
  auto log = AuditLog::Open(tmp.path() / "state" / "audit.log");
  ASSERT_TRUE(log.has_value()) << log.error().ToString();
  struct stat st{};
  ASSERT_EQ(::stat((tmp.path() / "state").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((tmp.path() / "state" / "audit.log").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(AuditLogTest, AppendAddsTimeAndTailReturnsOldestFirst) {
  TempDir tmp;
  auto log = AuditLog::Open(tmp.path() / "audit.log");
  ASSERT_TRUE(log.has_value());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(log->Append({{"n", i}, {"text", "multi\nline"}}).has_value());
  }
  std::string text = ReadFile(tmp.path() / "audit.log");
  EXPECT_EQ(Lines(text).size(), 5u);

  auto tail = log->Tail(3);
  ASSERT_TRUE(tail.has_value()) << tail.error().ToString();
  ASSERT_EQ(tail->size(), 3u);
  EXPECT_EQ((*tail)[0]["n"], 2);
  EXPECT_EQ((*tail)[2]["n"], 4);
  EXPECT_EQ((*tail)[2]["text"], "multi\nline");
  std::regex rfc3339(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)");
  EXPECT_TRUE(std::regex_match((*tail)[0]["time"].get<std::string>(), rfc3339))
      << (*tail)[0]["time"];

  auto all = log->Tail(100);
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->size(), 5u);
  auto none = log->Tail(0);
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
}

TEST(AuditLogTest, KeepsCallerTimeAndRejectsNonObjects) {
  TempDir tmp;
  auto log = AuditLog::Open(tmp.path() / "audit.log");
  ASSERT_TRUE(log.has_value());
  ASSERT_TRUE(log->Append({{"time", "2000-01-01T00:00:00.000000Z"}}).has_value());
  EXPECT_FALSE(log->Append(nlohmann::json::array({1})).has_value());
  auto tail = log->Tail(10);
  ASSERT_TRUE(tail.has_value());
  ASSERT_EQ(tail->size(), 1u);
  EXPECT_EQ((*tail)[0]["time"], "2000-01-01T00:00:00.000000Z");
}

TEST(AuditLogTest, InvalidUtf8InARecordIsReplacedNotThrown) {
  TempDir tmp;
  auto log = AuditLog::Open(tmp.path() / "audit.log");
  ASSERT_TRUE(log.has_value());
  auto appended = log->Append({{"argv", {"x\xff"}}});
  ASSERT_TRUE(appended.has_value());
  auto tail = log->Tail(1);
  ASSERT_TRUE(tail.has_value());
  EXPECT_EQ((*tail)[0]["argv"][0], "x\xEF\xBF\xBD");
}

TEST(AuditLogTest, ARecordIsChainedAsItReadsBack) {
  // Hashed as stored: a record that dump() would change (bytes that are not UTF-8, in a value
  // or a name; a number that is not finite) goes through its text, any other as it is. Each
  // verifies, and reads back as written.
  TempDir tmp;
  auto log = AuditLog::Open(tmp.path() / "audit.log");
  ASSERT_TRUE(log.has_value());
  const std::vector<nlohmann::json> records = {
      {{"argv", {"plain", "caf\xC3\xA9", "\xF0\x9F\x98\x80"}}, {"n", 1.5}, {"k", -3}},
      {{"argv", {"x\xff"}}},
      {{"name\xC0", "bad name"}, {"nested", {{"deep", {1, "y\xFE"}}}}},
      // Two names that become one when their bytes are replaced: one member is stored.
      {{"k\xFF", 1}, {"k\xFE", 2}},
      {{"ratio", std::numeric_limits<double>::quiet_NaN()}, {"inf", {-HUGE_VAL}}},
      {{"\xEF\xAC\xB3", 1}, {"\xF0\x9F\x98\x80", 2}, {"a", 3}},
  };
  for (const nlohmann::json& record : records) ASSERT_TRUE(log->Append(record).has_value());
  auto verified = log->Verify();
  ASSERT_TRUE(verified.has_value());
  EXPECT_TRUE(verified->ok);
  auto tail = log->Tail(6);
  ASSERT_TRUE(tail.has_value());
  ASSERT_EQ(tail->size(), 6u);
  EXPECT_EQ((*tail)[0]["argv"][1], "caf\xC3\xA9");
  EXPECT_EQ((*tail)[0]["n"], 1.5);
  EXPECT_EQ((*tail)[2]["nested"]["deep"][1], "y\xEF\xBF\xBD");
  EXPECT_TRUE((*tail)[2].contains("name\xEF\xBF\xBD"));
  EXPECT_EQ((*tail)[3].size(), 5u);  // k\uFFFD, and time, seq, prev and hash.
  EXPECT_TRUE((*tail)[4]["ratio"].is_null());
  EXPECT_TRUE((*tail)[4]["inf"][0].is_null());
  // Stored in RFC 8785 order: U+FB33 after U+1F600, whose UTF-16 surrogates sort first.
  const std::string text = ReadFile(tmp.path() / "audit.log");
  EXPECT_LT(text.find("\"\xF0\x9F\x98\x80\":2"), text.find("\"\xEF\xAC\xB3\":1"));
}

TEST(AuditLogTest, TailNamesTheCorruptLine) {
  TempDir tmp;
  auto file = tmp.path() / "audit.log";
  WriteFile(file, "{\"a\":1}\n{\"a\":2}\nnot json\n{\"a\":4}\n");
  auto log = AuditLog::Open(file);
  ASSERT_TRUE(log.has_value());
  auto tail = log->Tail(10);
  ASSERT_FALSE(tail.has_value());
  EXPECT_EQ(tail.error().code, ErrorCode::kParse);
  EXPECT_NE(tail.error().message.find("audit.log:3:"), std::string::npos) << tail.error().message;
  // Lines before the requested window are not read as records.
  auto last = log->Tail(1);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ((*last)[0]["a"], 4);
}

TEST(AuditLogTest, MoveTransfersTheDescriptor) {
  TempDir tmp;
  auto log = AuditLog::Open(tmp.path() / "audit.log");
  ASSERT_TRUE(log.has_value());
  AuditLog moved = std::move(*log);
  ASSERT_TRUE(moved.Append({{"k", 1}}).has_value());
  EXPECT_EQ(moved.path(), tmp.path() / "audit.log");
  EXPECT_EQ(Lines(ReadFile(tmp.path() / "audit.log")).size(), 1u);
}

// 8 threads and 2 processes append concurrently: every line must be one whole record.
TEST(AuditLogTest, ConcurrentThreadsAndProcessesNeverInterleave) {
  TempDir tmp;
  auto file = tmp.path() / "audit.log";
  constexpr int kPerWriter = 200;
  // A long payload makes a torn or interleaved write visible.
  const std::string payload(3000, 'p');

  std::vector<pid_t> children;
  for (int p = 0; p < 2; ++p) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // A separate process opens its own descriptor, as another skillrt would.
      auto log = AuditLog::Open(file);
      if (!log) ::_exit(2);
      for (int i = 0; i < kPerWriter; ++i) {
        if (!log->Append({{"writer", "proc" + std::to_string(p)}, {"i", i}, {"pad", payload}})) {
          ::_exit(3);
        }
      }
      ::_exit(0);
    }
    children.push_back(pid);
  }

  auto log = AuditLog::Open(file);
  ASSERT_TRUE(log.has_value());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerWriter; ++i) {
        if (!log->Append({{"writer", "thread" + std::to_string(t)}, {"i", i}, {"pad", payload}})) {
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  EXPECT_EQ(failures.load(), 0);

  std::string text = ReadFile(file);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  std::vector<std::string> lines = Lines(text);
  ASSERT_EQ(lines.size(), 2000u);
  std::set<std::pair<std::string, int>> seen;
  for (size_t i = 0; i < lines.size(); ++i) {
    nlohmann::json record = nlohmann::json::parse(lines[i], nullptr, false);
    ASSERT_FALSE(record.is_discarded()) << "line " << i + 1 << " is not JSON";
    ASSERT_EQ(record["pad"], payload) << "line " << i + 1;
    seen.emplace(record["writer"].get<std::string>(), record["i"].get<int>());
  }
  EXPECT_EQ(seen.size(), 2000u);
  auto tail = log->Tail(2000);
  ASSERT_TRUE(tail.has_value()) << tail.error().ToString();
  EXPECT_EQ(tail->size(), 2000u);

  // One chain, not one per writer: seq 1..2000 in file order, each linked to the one before.
  for (size_t i = 0; i < tail->size(); ++i) ASSERT_EQ((*tail)[i]["seq"], i + 1);
  auto verified = log->Verify();
  ASSERT_TRUE(verified.has_value()) << verified.error().ToString();
  EXPECT_TRUE(verified->ok) << verified->line << ": " << verified->message;
  EXPECT_EQ(verified->records, 2000u);
  EXPECT_EQ(verified->head_seq, 2000u);
}

}  // namespace
}  // namespace skillrt
