// The audit log's hash chain: what Append writes and what VerifyAuditLog detects.
#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "audit/audit_chain.h"
#include "audit/canonical_json.h"
#include "skillrt/audit.h"
#include "test_util.h"
#include "skillrt/sha256.h"

namespace skillrt {
namespace {

using skillrt::testing::ReadFile;
using skillrt::testing::TempDir;
using skillrt::testing::WriteFile;

// The text of each line, each with its newline.
std::vector<std::string> LinesWithNewlines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    end = end == std::string::npos ? text.size() : end + 1;
    lines.push_back(text.substr(start, end - start));
    start = end;
  }
  return lines;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line;
  return out;
}

class AuditChainTest : public ::testing::Test {
 protected:
  std::filesystem::path Log() const { return tmp_.path() / "audit.log"; }
  std::filesystem::path Head() const { return tmp_.path() / "audit.head"; }

  // Appends records with varied content: every JSON type, escapes, non-ASCII text, bytes
  // that are not UTF-8, integers, fractions and exponents.
  void WriteLog(int count) {
    auto log = AuditLog::Open(Log());
    ASSERT_TRUE(log.has_value()) << log.error().ToString();
    for (int i = 0; i < count; ++i) {
      nlohmann::json record = {
          {"event", i % 2 ? "refusal" : "run"},
          {"skill", "calc\u00e9-" + std::to_string(i)},
          {"invocation", {{"argv", {"sh", "-c", "echo \"a\\tb\"\n\x01\xff"}}, {"env", {}}}},
          {"duration_ms", 158.679 + i},
          {"memory_bytes", 268435456},
          {"ratio", 1e-7},
          {"big", 1e300},
          {"ok", i % 3 == 0},
          {"signal", nullptr},
          {"emoji", "\xF0\x9F\x98\x80 \xE2\x80\xA8"},
      };
      ASSERT_TRUE(log->Append(record).has_value());
    }
  }

  AuditVerification Verify() {
    auto result = VerifyAuditLog(Log());
    EXPECT_TRUE(result.has_value()) << result.error().ToString();
    return result.value_or(AuditVerification{});
  }

  TempDir tmp_;
};

TEST_F(AuditChainTest, AHeadWrittenEarlierLongerOrAsALinkIsHandled) {
  WriteLog(1);
  const std::string first = ReadFile(Head());
  ASSERT_EQ(first.size(), 128u);
  // A longer head file (written by an earlier version, or padded by hand): the next append
  // leaves exactly its own 128 bytes.
  WriteFile(Head(), first.substr(0, first.find(' ')) + std::string(300, ' ') + "\n");
  WriteLog(1);
  EXPECT_EQ(ReadFile(Head()).size(), 128u);
  AuditVerification v = Verify();
  EXPECT_TRUE(v.ok) << v.line << ": " << v.message;
  // A symbolic link in its place is not written through.
  TempDir elsewhere;
  const auto target = elsewhere.path() / "target";
  WriteFile(target, "untouched\n");
  std::filesystem::remove(Head());
  std::filesystem::create_symlink(target, Head());
  auto log = AuditLog::Open(Log());
  ASSERT_TRUE(log) << log.error().message;
  auto appended = log->Append({{"event", "run"}});
  ASSERT_FALSE(appended);  // The record is written; the head is not, and it says so.
  EXPECT_NE(appended.error().message.find("head not updated"), std::string::npos)
      << appended.error().message;
  EXPECT_EQ(ReadFile(target), "untouched\n");
}

TEST_F(AuditChainTest, AppendChainsRecordsAndWritesTheHead) {
  WriteLog(3);
  std::vector<std::string> lines = LinesWithNewlines(ReadFile(Log()));
  ASSERT_EQ(lines.size(), 3u);
  std::string prev(kAuditGenesisHash);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string text = lines[i].substr(0, lines[i].size() - 1);
    nlohmann::json record = nlohmann::json::parse(text);
    EXPECT_EQ(record["seq"], i + 1);
    EXPECT_EQ(record["prev"], prev);
    // hash = sha256(canonical JSON of the record without "hash"), and the line is canonical.
    nlohmann::json without = record;
    without.erase("hash");
    EXPECT_EQ(record["hash"], Sha256Hex(CanonicalJson(without)));
    EXPECT_EQ(text, CanonicalJson(record));
    EXPECT_FALSE(record.contains("chain_note"));
    EXPECT_FALSE(record.contains("head_mismatch"));
    prev = record["hash"];
  }
  // The head: the JSON, spaces to a fixed 128 bytes, a newline (rewritten in place).
  std::string head = "{\"hash\":\"" + prev + "\",\"seq\":3}";
  head.resize(127, ' ');
  EXPECT_EQ(ReadFile(Head()), head + "\n");

  AuditVerification v = Verify();
  EXPECT_TRUE(v.ok) << v.line << ": " << v.message;
  EXPECT_EQ(v.records, 3u);
  EXPECT_EQ(v.head_seq, 3u);
  EXPECT_EQ(v.head_hash, prev);
  EXPECT_EQ(v.problem, AuditProblem::kNone);
}

TEST_F(AuditChainTest, AppendRefusesChainFieldsFromTheCaller) {
  auto log = AuditLog::Open(Log());
  ASSERT_TRUE(log.has_value());
  for (const char* key : {"seq", "prev", "hash", "chain_note", "head_mismatch"}) {
    auto appended = log->Append({{key, 1}});
    ASSERT_FALSE(appended.has_value()) << key;
    EXPECT_EQ(appended.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(appended.error().message.find(key), std::string::npos);
  }
  EXPECT_TRUE(ReadFile(Log()).empty());
}

// The acceptance test: one changed byte anywhere in any record fails verification, naming
// that record, whether the change keeps the line valid JSON or not.
TEST_F(AuditChainTest, EverySingleByteChangeIsDetectedAtItsRecord) {
  WriteLog(4);
  const std::string original = ReadFile(Log());
  const std::string head = ReadFile(Head());
  const std::vector<std::string> lines = LinesWithNewlines(original);
  ASSERT_EQ(lines.size(), 4u);
  ASSERT_TRUE(Verify().ok);

  // Each change is made in place and undone with pwrite(2): same length, no rewrite.
  int fd = ::open(Log().c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  int changes = 0;
  off_t line_start = 0;
  for (size_t record = 0; record < lines.size(); ++record) {
    for (size_t pos = 0; pos < lines[record].size(); ++pos) {
      const char byte = lines[record][pos];
      const off_t offset = line_start + static_cast<off_t>(pos);
      for (char changed : {static_cast<char>(byte ^ 0x01), static_cast<char>(byte ^ 0x20),
                           static_cast<char>(byte ^ 0x80), '0', ' ', '"'}) {
        if (changed == byte) continue;
        ASSERT_EQ(::pwrite(fd, &changed, 1, offset), 1);
        AuditVerification v = Verify();
        ASSERT_EQ(::pwrite(fd, &byte, 1, offset), 1);
        ++changes;
        ASSERT_FALSE(v.ok) << "record " << record + 1 << " byte " << pos << " -> 0x" << std::hex
                           << (static_cast<int>(changed) & 0xff);
        ASSERT_EQ(v.line, record + 1)
            << "byte " << pos << " of record " << record + 1 << ": " << v.message;
        ASSERT_EQ(v.seq, record + 1) << v.message;
        ASSERT_NE(v.message.find("record seq " + std::to_string(record + 1) + ":"),
                  std::string::npos)
            << v.message;
      }
    }
    line_start += static_cast<off_t>(lines[record].size());
  }
  ::close(fd);
  EXPECT_GT(changes, 4000);
  // A positive control: every change was undone, and the log verifies again.
  EXPECT_EQ(ReadFile(Log()), original);
  EXPECT_EQ(ReadFile(Head()), head);
  EXPECT_TRUE(Verify().ok);
}

TEST_F(AuditChainTest, EditsThatKeepTheJsonValidAreNamed) {
  WriteLog(3);
  std::vector<std::string> lines = LinesWithNewlines(ReadFile(Log()));
  std::string head = ReadFile(Head());

  // A changed value: the record's hash no longer matches.
  std::vector<std::string> edited = lines;
  size_t at = edited[1].find("\"refusal\"");
  ASSERT_NE(at, std::string::npos);
  edited[1].replace(at, 9, "\"run\"");
  WriteFile(Log(), Join(edited));
  AuditVerification v = Verify();
  EXPECT_EQ(v.problem, AuditProblem::kBadHash);
  EXPECT_EQ(v.line, 2u);
  EXPECT_EQ(v.message, "record seq 2: hash mismatch (record edited)");

  // The same record in another spelling (whitespace): not canonical.
  edited = lines;
  edited[2].insert(1, " ");
  WriteFile(Log(), Join(edited));
  v = Verify();
  EXPECT_EQ(v.problem, AuditProblem::kNotCanonical);
  EXPECT_EQ(v.line, 3u);

  // An edited record whose hash was recomputed: the next record's prev no longer matches.
  nlohmann::json record = nlohmann::json::parse(lines[0]);
  record["skill"] = "forged";
  record["hash"] = audit::RecordHash(record);
  edited = lines;
  edited[0] = CanonicalJson(record) + "\n";
  WriteFile(Log(), Join(edited));
  v = Verify();
  EXPECT_EQ(v.problem, AuditProblem::kPrevMismatch);
  EXPECT_EQ(v.line, 2u);
  EXPECT_EQ(v.seq, 2u);
}

TEST_F(AuditChainTest, DeletionInsertionAndReorderingAreNamed) {
  WriteLog(5);
  const std::vector<std::string> lines = LinesWithNewlines(ReadFile(Log()));

  std::vector<std::string> deleted = lines;
  deleted.erase(deleted.begin() + 2);
  WriteFile(Log(), Join(deleted));
  AuditVerification v = Verify();
  EXPECT_EQ(v.problem, AuditProblem::kPrevMismatch);
  EXPECT_EQ(v.line, 3u);
  EXPECT_EQ(v.seq, 4u);  // The record now on line 3 is seq 4.
  EXPECT_EQ(v.records, 2u);

  std::vector<std::string> inserted = lines;
  inserted.insert(inserted.begin() + 3, lines[1]);
  WriteFile(Log(), Join(inserted));
  v = Verify();
  EXPECT_EQ(v.problem, AuditProblem::kPrevMismatch);
  EXPECT_EQ(v.line, 4u);
  EXPECT_EQ(v.seq, 2u);

  std::vector<std::string> swapped = lines;
  std::swap(swapped[1], swapped[2]);
  WriteFile(Log(), Join(swapped));
  v = Verify();
  EXPECT_EQ(v.problem, AuditProblem::kPrevMismatch);
  EXPECT_EQ(v.line, 2u);
  EXPECT_EQ(v.seq, 3u);

  // A record whose seq was changed and every hash after it recomputed: a seq gap.
  std::vector<std::string> renumbered = lines;
  nlohmann::json third = nlohmann::json::parse(lines[2]);
  third["seq"] = 7;
  third["hash"] = audit::RecordHash(third);
  renumbered[2] = CanonicalJson(third) + "\n";
  WriteFile(Log(), Join(renumbered));
  v = Verify();
  EXPECT_EQ(v.problem, AuditProblem::kSeqGap);
  EXPECT_EQ(v.line, 3u);
  EXPECT_EQ(v.seq, 7u);
}

// A chain alone cannot tell a log whose last records were cut off: the head file can.
TEST_F(AuditChainTest, TheHeadDetectsTruncationReplacementAndDeletion) {
  WriteLog(4);
  const std::vector<std::string> lines = LinesWithNewlines(ReadFile(Log()));
  const std::string head = ReadFile(Head());

  std::vector<std::string> cut(lines.begin(), lines.end() - 2);
  WriteFile(Log(), Join(cut));
  AuditVerification v = Verify();
  EXPECT_EQ(v.problem, AuditProblem::kHeadMismatch);
  EXPECT_EQ(v.line, 3u);
  EXPECT_EQ(v.seq, 3u);
  EXPECT_NE(v.message.find("records deleted from the end"), std::string::npos) << v.message;

  WriteFile(Log(), "");
  v = Verify();
  EXPECT_EQ(v.problem, AuditProblem::kHeadMismatch);
  EXPECT_EQ(v.line, 1u);

  // A whole other log of the same length, with its own valid chain.
  TempDir other;
  auto forged = AuditLog::Open(other.path() / "audit.log");
  ASSERT_TRUE(forged.has_value());
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(forged->Append({{"skill", "innocent"}}).has_value());
  WriteFile(Log(), ReadFile(other.path() / "audit.log"));
  v = Verify();
  EXPECT_EQ(v.problem, AuditProblem::kHeadMismatch);
  EXPECT_EQ(v.line, 4u);
  EXPECT_NE(v.message.find("log replaced"), std::string::npos) << v.message;
  // ... which verifies only together with its own head.
  WriteFile(Head(), ReadFile(other.path() / "audit.head"));
  EXPECT_TRUE(Verify().ok);

  // No head beside a chained log.
  WriteFile(Log(), Join(lines));
  std::filesystem::remove(Head());
  v = Verify();
  EXPECT_EQ(v.problem, AuditProblem::kHeadMismatch);
  EXPECT_NE(v.message.find("audit.head is missing"), std::string::npos) << v.message;

  // No log beside a head.
  WriteFile(Head(), head);
  std::filesystem::remove(Log());
  v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.problem, AuditProblem::kHeadMismatch);
  EXPECT_EQ(v.line, 1u);

  // Neither: there is no log to verify.
  std::filesystem::remove(Head());
  auto none = VerifyAuditLog(Log());
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);
}

// A head kept elsewhere still catches a log replaced together with its head.
TEST_F(AuditChainTest, APinnedHeadCatchesAReplacementWithItsHead) {
  WriteLog(3);
  AuditVerification v = Verify();
  ASSERT_TRUE(v.ok);
  AuditPin pin{.seq = v.head_seq, .hash = v.head_hash};
  WriteLog(2);  // The log grows after the pin was taken: still fine.
  auto pinned = VerifyAuditLog(Log(), pin);
  ASSERT_TRUE(pinned.has_value());
  EXPECT_TRUE(pinned->ok) << pinned->message;
  EXPECT_EQ(pinned->records, 5u);

  TempDir other;
  auto forged = AuditLog::Open(other.path() / "audit.log");
  ASSERT_TRUE(forged.has_value());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(forged->Append({{"skill", "innocent"}}).has_value());
  WriteFile(Log(), ReadFile(other.path() / "audit.log"));
  WriteFile(Head(), ReadFile(other.path() / "audit.head"));
  EXPECT_TRUE(Verify().ok);  // Consistent on its own ...
  pinned = VerifyAuditLog(Log(), pin);
  ASSERT_TRUE(pinned.has_value());
  EXPECT_FALSE(pinned->ok);  // ... but not with the pin.
  EXPECT_EQ(pinned->problem, AuditProblem::kHeadMismatch);
  EXPECT_EQ(pinned->line, 3u);
  EXPECT_NE(pinned->message.find("pinned head"), std::string::npos) << pinned->message;

  // Cut below the pin, head rewritten to match.
  std::vector<std::string> lines = LinesWithNewlines(ReadFile(other.path() / "audit.log"));
  WriteFile(Log(), lines[0] + lines[1]);
  nlohmann::json second = nlohmann::json::parse(lines[1]);
  WriteFile(Head(), CanonicalJson({{"seq", 2}, {"hash", second["hash"]}}) + "\n");
  EXPECT_TRUE(Verify().ok);
  pinned = VerifyAuditLog(Log(), pin);
  ASSERT_TRUE(pinned.has_value());
  EXPECT_EQ(pinned->problem, AuditProblem::kHeadMismatch);
  EXPECT_EQ(pinned->line, 3u);
  EXPECT_NE(pinned->message.find("pinned head records seq 3"), std::string::npos);
}

// Records appended after the end was cut off carry the head they contradicted, so that the
// cut stays visible although the head moved on.
TEST_F(AuditChainTest, AppendingAfterTruncationKeepsItVisible) {
  WriteLog(4);
  std::vector<std::string> lines = LinesWithNewlines(ReadFile(Log()));
  WriteFile(Log(), lines[0] + lines[1]);
  {
    auto log = AuditLog::Open(Log());
    ASSERT_TRUE(log.has_value());
    ASSERT_TRUE(log->Append({{"skill", "after"}}).has_value());
    ASSERT_TRUE(log->Append({{"skill", "later"}}).has_value());
  }
  lines = LinesWithNewlines(ReadFile(Log()));
  ASSERT_EQ(lines.size(), 4u);
  nlohmann::json third = nlohmann::json::parse(lines[2]);
  EXPECT_EQ(third["seq"], 3);
  EXPECT_EQ(third["head_mismatch"]["seq"], 4);
  EXPECT_FALSE(nlohmann::json::parse(lines[3]).contains("head_mismatch"));
  AuditVerification v = Verify();
  EXPECT_EQ(v.problem, AuditProblem::kHeadMismatch);
  EXPECT_EQ(v.line, 3u);
  EXPECT_EQ(v.seq, 3u);
}

TEST_F(AuditChainTest, UnchainedRecordsAreReportedAndTheChainRestarts) {
  WriteFile(Log(), R"({"event":"run","skill":"old","time":"2026-01-01T00:00:00.000000Z"})"
                   "\n"
                   R"({"event":"run","skill":"old2","time":"2026-01-02T00:00:00.000000Z"})"
                   "\n");
  AuditVerification v = Verify();
  EXPECT_EQ(v.problem, AuditProblem::kUnchained);
  EXPECT_EQ(v.line, 1u);
  EXPECT_NE(v.message.find("unchained record"), std::string::npos);

  auto log = AuditLog::Open(Log());
  ASSERT_TRUE(log.has_value());
  ASSERT_TRUE(log->Append({{"skill", "new"}}).has_value());
  ASSERT_TRUE(log->Append({{"skill", "newer"}}).has_value());
  std::vector<std::string> lines = LinesWithNewlines(ReadFile(Log()));
  ASSERT_EQ(lines.size(), 4u);
  nlohmann::json first = nlohmann::json::parse(lines[2]);
  EXPECT_EQ(first["seq"], 1);
  EXPECT_EQ(first["prev"], kAuditGenesisHash);
  EXPECT_TRUE(first.contains("chain_note"));
  EXPECT_FALSE(first.contains("head_mismatch"));
  EXPECT_FALSE(nlohmann::json::parse(lines[3]).contains("chain_note"));
  v = Verify();
  EXPECT_EQ(v.problem, AuditProblem::kUnchained);
  EXPECT_EQ(v.line, 1u);
  // Tail still reads old and new records alike.
  auto tail = log->Tail(10);
  ASSERT_TRUE(tail.has_value());
  EXPECT_EQ(tail->size(), 4u);
  // Without the old lines the new chain verifies.
  WriteFile(Log(), lines[2] + lines[3]);
  EXPECT_TRUE(Verify().ok);
}

TEST_F(AuditChainTest, LongLastLinesAndTornLines) {
  auto log = AuditLog::Open(Log());
  ASSERT_TRUE(log.has_value());
  // Far longer than the first window read from the end of the file.
  ASSERT_TRUE(log->Append({{"pad", std::string(50000, 'x')}}).has_value());
  ASSERT_TRUE(log->Append({{"pad", "short"}}).has_value());
  ASSERT_TRUE(log->Append({{"pad", std::string(20000, 'y')}}).has_value());
  ASSERT_TRUE(log->Append({{"pad", std::string(5000, 'z')}}).has_value());
  AuditVerification v = Verify();
  EXPECT_TRUE(v.ok) << v.line << ": " << v.message;
  EXPECT_EQ(v.records, 4u);

  // A last line without its newline, as a torn write would leave.
  std::string text = ReadFile(Log());
  WriteFile(Log(), text + "{\"seq\":5,\"pr");
  v = Verify();
  EXPECT_EQ(v.problem, AuditProblem::kMalformed);
  EXPECT_EQ(v.line, 5u);
  ASSERT_TRUE(log->Append({{"pad", "after the tear"}}).has_value());
  std::vector<std::string> lines = LinesWithNewlines(ReadFile(Log()));
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[4], "{\"seq\":5,\"pr\n");
  nlohmann::json next = nlohmann::json::parse(lines[5]);
  EXPECT_EQ(next["seq"], 1);
  EXPECT_TRUE(next.contains("chain_note"));
  EXPECT_EQ(next["head_mismatch"]["seq"], 4);
}

// Values whose stored text differs from what was passed in (a float with an integral value,
// bytes that are not UTF-8, non-finite numbers, huge integers) still verify.
TEST_F(AuditChainTest, ValuesThatChangeOnTheWayToTextStillVerify) {
  auto log = AuditLog::Open(Log());
  ASSERT_TRUE(log.has_value());
  ASSERT_TRUE(log->Append({{"a", 100.0}, {"b", -0.0}, {"c", std::nan("")},
                           {"d", 18446744073709551615ull}, {"e", -9223372036854775807ll},
                           {"f", "\xC3("}, {"\xFFkey", 1}, {"g", 9007199254740994.0},
                           {"h", 1e21}, {"i", 2.5e-7}})
                  .has_value());
  ASSERT_TRUE(log->Append({{"after", true}}).has_value());
  AuditVerification v = Verify();
  EXPECT_TRUE(v.ok) << v.line << ": " << v.message;
}

TEST(AuditHeadPathTest, ReplacesTheExtension) {
  EXPECT_EQ(AuditHeadPath("/h/audit.log"), "/h/audit.head");
  EXPECT_EQ(AuditHeadPath("/h/log"), "/h/log.head");
  EXPECT_EQ(AuditProblemName(AuditProblem::kBadHash), "bad_hash");
}

TEST(AuditChainFieldsTest, AreThoseOfTheParsedRecord) {
  const std::string h(64, 'a');
  const std::vector<std::string> lines = {
      R"({"event":"run","hash":")" + h + R"(","prev":"","seq":3})",
      R"({"seq":1,"prev":"p","hash":"h","nested":{"seq":9,"hash":"x"},"list":[{"seq":8}]})",
      R"(  {"hash":"h","prev":"p","seq":2}  )",
      R"({"seq":1,"prev":"p","hash":"h","seq":7})",         // The last of a name counts.
      R"({"seq":1,"prev":"p","hash":"h","seq":"7"})",       // ... also when it is wrong.
      R"({"seq":1,"prev":"p","hash":"h","hash":{"a":1}})",
      R"({"seq":1,"prev":"p","hash":["h"]})",
      R"({"seq":0,"prev":"p","hash":"h"})",
      R"({"seq":-1,"prev":"p","hash":"h"})",
      R"({"seq":1.5,"prev":"p","hash":"h"})",
      R"({"seq":1,"prev":null,"hash":"h"})",
      R"({"seq":1,"hash":"h"})",
      R"([{"seq":1,"prev":"p","hash":"h"}])",
      R"({"seq":1,"prev":"p","hash":"h"} trailing)",
      R"({"seq":1,"prev":"p","hash":"h")",
      R"("seq")",
      "",
  };
  for (const std::string& line : lines) {
    nlohmann::json parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    std::optional<audit::ChainFields> expected = audit::ReadChainFields(parsed);
    std::optional<audit::ChainFields> got = audit::ReadChainFieldsOfLine(line);
    ASSERT_EQ(got.has_value(), expected.has_value()) << line;
    if (!got) continue;
    EXPECT_EQ(got->seq, expected->seq) << line;
    EXPECT_EQ(got->prev, expected->prev) << line;
    EXPECT_EQ(got->hash, expected->hash) << line;
  }
  EXPECT_EQ(audit::ReadChainFieldsOfLine(lines[3])->seq, 7u);
  EXPECT_FALSE(audit::ReadChainFieldsOfLine(lines[4]).has_value());
}

}  // namespace
}  // namespace skillrt
