// The MCP server's pieces that guard the host: file reads that may not leave a skill, sealed
// request states, and message classification (src/mcp). The protocol end to end is tested by
// real clients in tests/mcp and tests/conformance.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "skillrt/mcp/protocol.h"
#include "mcp/request_state.h"
#include "skillrt/mcp/server.h"
#include "test_util.h"

namespace skillrt::mcp {
namespace {

using nlohmann::json;

class ReadSkillFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    skill_ = tmp_.path() / "skill";
    testing::WriteFile(skill_ / "SKILL.md", "---\nname: skill\ndescription: d\n---\n");
    testing::WriteFile(skill_ / "docs" / "guide.md", "the guide\n");
    testing::WriteFile(tmp_.path() / "secret.txt", "outside the skill\n");
  }
  Result<std::string> Read(std::string_view path, size_t max = 1 << 20) {
    return ReadSkillFile(skill_, path, max, &truncated_);
  }
  testing::TempDir tmp_;
  std::filesystem::path skill_;
  bool truncated_ = false;
};

TEST_F(ReadSkillFileTest, ReadsFilesInsideTheSkill) {
  auto text = Read("docs/guide.md");
  ASSERT_TRUE(text.has_value()) << text.error().ToString();
  EXPECT_EQ(*text, "the guide\n");
  EXPECT_FALSE(truncated_);
  // A symlink that stays inside the skill is followed (positive control for the next test).
  std::filesystem::create_symlink("docs/guide.md", skill_ / "inside-link");
  EXPECT_EQ(Read("inside-link").value_or(""), "the guide\n");
}

TEST_F(ReadSkillFileTest, NeverLeavesTheSkill) {
  EXPECT_EQ(Read("../secret.txt").error().code, ErrorCode::kDenied);
  EXPECT_EQ(Read("docs/../../secret.txt").error().code, ErrorCode::kDenied);
  EXPECT_EQ(Read((tmp_.path() / "secret.txt").string()).error().code,
            ErrorCode::kInvalidArgument);
  std::filesystem::create_symlink(tmp_.path() / "secret.txt", skill_ / "escape");
  auto escaped = Read("escape");
  ASSERT_FALSE(escaped.has_value());
  EXPECT_EQ(escaped.error().code, ErrorCode::kDenied);
  std::filesystem::create_directory_symlink(tmp_.path(), skill_ / "up");
  EXPECT_FALSE(Read("up/secret.txt").has_value());
  EXPECT_EQ(Read("missing.md").error().code, ErrorCode::kNotFound);
}

TEST_F(ReadSkillFileTest, CutsLargeFilesAndRefusesBinaries) {
  testing::WriteFile(skill_ / "big.txt", std::string(5000, 'x'));
  auto cut = Read("big.txt", 100);
  ASSERT_TRUE(cut.has_value());
  EXPECT_EQ(cut->size(), 100u);
  EXPECT_TRUE(truncated_);
  testing::WriteFile(skill_ / "blob.bin", std::string("a\0b", 3));
  EXPECT_EQ(Read("blob.bin").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(Read("docs").error().code, ErrorCode::kInvalidArgument);
}

TEST(RequestStateTest, SealedStatesOpenAndForgedOnesDoNot) {
  testing::TempDir home;
  auto state = SealApprovalState(home.path(), "key-1", std::chrono::seconds(60));
  ASSERT_TRUE(state.has_value()) << state.error().ToString();
  EXPECT_EQ(OpenApprovalState(home.path(), *state).value_or(""), "key-1");
  struct stat st {};
  ASSERT_EQ(::stat((home.path() / "mcp-state.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Altered payload (another key), altered MAC, malformed text, another home's seal, expired.
  std::string altered = *state;
  altered[3] = altered[3] == '0' ? '1' : '0';
  EXPECT_FALSE(OpenApprovalState(home.path(), altered).has_value());
  std::string bad_mac = *state;
  bad_mac.back() = bad_mac.back() == '0' ? '1' : '0';
  EXPECT_FALSE(OpenApprovalState(home.path(), bad_mac).has_value());
  EXPECT_FALSE(OpenApprovalState(home.path(), "zz.zz").has_value());
  testing::TempDir other;
  EXPECT_FALSE(OpenApprovalState(other.path(), *state).has_value());
  auto expired = SealApprovalState(home.path(), "key-1", std::chrono::seconds(-1));
  ASSERT_TRUE(expired.has_value());
  EXPECT_FALSE(OpenApprovalState(home.path(), *expired).has_value());
}

TEST(ProtocolTest, ClassifiesMessages) {
  std::string why;
  EXPECT_EQ(Classify(json::parse(R"({"jsonrpc":"2.0","id":1,"method":"ping"})"), &why),
            MessageKind::kRequest);
  EXPECT_EQ(Classify(json::parse(R"({"jsonrpc":"2.0","method":"notifications/x"})"), &why),
            MessageKind::kNotification);
  EXPECT_EQ(Classify(json::parse(R"({"jsonrpc":"2.0","id":"a","result":{}})"), &why),
            MessageKind::kResponse);
  EXPECT_EQ(Classify(json::parse(R"({"jsonrpc":"2.0","id":null,"method":"ping"})"), &why),
            MessageKind::kInvalid);
  EXPECT_EQ(Classify(json::parse(R"({"jsonrpc":"2.0","id":1,"method":"x","params":[1]})"), &why),
            MessageKind::kInvalid);
  EXPECT_EQ(Classify(json::parse(R"([1])"), &why), MessageKind::kInvalid);
  EXPECT_EQ(LogLevelRank("debug"), 0);
  EXPECT_EQ(LogLevelRank("emergency"), 7);
  EXPECT_EQ(LogLevelRank("loud"), -1);
}

}  // namespace
}  // namespace skillrt::mcp
