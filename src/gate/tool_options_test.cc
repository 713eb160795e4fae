#include "gate/tool_options.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace skillrt::shell {
namespace {

using A = OptionArg;

// rm(1)'s options, as in risk_removal.cc.
constexpr LongOption kRmLong[] = {
    {"force", A::kNone, "f"},        {"interactive", A::kOptional},
    {"one-file-system", A::kNone},   {"no-preserve-root", A::kNone},
    {"preserve-root", A::kOptional}, {"recursive", A::kNone, "r"},
    {"dir", A::kNone, "d"},          {"verbose", A::kNone, "v"},
    {"help", A::kNone},              {"version", A::kNone}};
constexpr OptionSpec kRm{.short_options = "dfirvIR", .long_options = kRmLong};

ReadOptionsResult Read(std::vector<std::string> args, const OptionSpec& spec = kRm) {
  return ReadOptions(args, spec);
}

TEST(ToolOptionsTest, ShortOptionsClusterInAnyOrder) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"-rf", "x"}, {"-fr", "x"}, {"-r", "-f", "x"}, {"-f", "-r", "x"}}) {
    ReadOptionsResult r = Read(args);
    EXPECT_TRUE(r.Has("r")) << args[0];
    EXPECT_TRUE(r.Has("f")) << args[0];
    EXPECT_EQ(r.operands, std::vector<std::string>{"x"});
    EXPECT_TRUE(r.errors.empty());
  }
  EXPECT_TRUE(Read({"-fR", "x"}).Has("R"));
}

TEST(ToolOptionsTest, LongOptionsMayBeAbbreviatedToAUniquePrefix) {
  // getopt_long(3): "Long option names may be abbreviated if the abbreviation is unique or is
  // an exact match for some defined option."
  for (std::string word : {"--recursive", "--recur", "--rec", "--r"}) {
    ReadOptionsResult r = Read({word, "-f", "/srv/x"});
    EXPECT_TRUE(r.Has("r")) << word;
    EXPECT_TRUE(r.errors.empty()) << word;
  }
  EXPECT_TRUE(Read({"--no-p", "x"}).Has("no-preserve-root"));
  EXPECT_TRUE(Read({"--fo", "x"}).Has("f"));
  // An exact match wins over being a prefix of another option.
  ReadOptionsResult exact = Read({"--dir"});
  EXPECT_TRUE(exact.Has("d"));
  EXPECT_TRUE(exact.errors.empty());
}

TEST(ToolOptionsTest, AnAmbiguousAbbreviationIsEveryOptionItCouldBe) {
  ReadOptionsResult r = Read({"--ver", "x"});  // --verbose or --version.
  EXPECT_TRUE(r.Has("v"));
  EXPECT_TRUE(r.Has("version"));
  EXPECT_EQ(r.errors, std::vector<std::string>{"--ver"});
  ReadOptionsResult p = Read({"--p", "x"});  // Only --preserve-root starts with "p".
  EXPECT_TRUE(p.Has("preserve-root"));
  EXPECT_TRUE(p.errors.empty());
}

TEST(ToolOptionsTest, OptionsMayFollowOperandsUntilDoubleDash) {
  ReadOptionsResult r = Read({"/srv/x", "-rf"});
  EXPECT_TRUE(r.Has("r"));
  EXPECT_EQ(r.operands, std::vector<std::string>{"/srv/x"});

  r = Read({"-f", "--", "-r", "x"});
  EXPECT_FALSE(r.Has("r"));
  EXPECT_EQ(r.operands, (std::vector<std::string>{"-r", "x"}));

  r = Read({"-", "x"});  // A lone "-" is an operand.
  EXPECT_EQ(r.operands, (std::vector<std::string>{"-", "x"}));
}

TEST(ToolOptionsTest, UnknownOptionsAreErrorsAndTheRestStillCounts) {
  ReadOptionsResult r = Read({"--bogus", "-zr", "x"});
  EXPECT_EQ(r.errors, (std::vector<std::string>{"--bogus", "-zr"}));
  EXPECT_TRUE(r.Has("r"));
  EXPECT_EQ(Read({"--force=yes"}).errors, std::vector<std::string>{"--force=yes"});
}

TEST(ToolOptionsTest, ValuesAttachedOrInTheNextWord) {
  static constexpr LongOption kLong[] = {{"unset", A::kRequired, "u"},
                                  {"chdir", A::kRequired, "C"},
                                  {"block-signal", A::kOptional}};
  static constexpr OptionSpec kEnv{.short_options = "+C:iu:", .long_options = kLong,
                            .stop_at_operand = true};
  ReadOptionsResult r = ReadOptions(
      std::vector<std::string>{"-iuHOME", "-C", "/srv", "--block-signal", "rm", "-rf", "x"}, kEnv);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_TRUE(r.Has("i"));
  EXPECT_EQ(r.Value("u"), "HOME");
  EXPECT_EQ(r.Value("C"), "/srv");
  EXPECT_TRUE(r.Has("block-signal"));
  EXPECT_FALSE(r.Value("block-signal").has_value());  // Optional values attach only.
  EXPECT_EQ(r.first_operand, 4u);
  EXPECT_EQ(r.operands, (std::vector<std::string>{"rm", "-rf", "x"}));

  r = ReadOptions(std::vector<std::string>{"--ch=/", "--unset", "X", "rm"}, kEnv);
  EXPECT_EQ(r.Value("C"), "/");
  EXPECT_EQ(r.Value("u"), "X");
  EXPECT_EQ(r.first_operand, 3u);

  r = ReadOptions(std::vector<std::string>{"-u"}, kEnv);  // Missing value.
  EXPECT_EQ(r.errors, std::vector<std::string>{"-u"});
}

TEST(ToolOptionsTest, StopAtOperandLeavesTheCommandsOptionsAlone) {
  constexpr OptionSpec kNohup{.short_options = "+", .stop_at_operand = true};
  ReadOptionsResult r = ReadOptions(std::vector<std::string>{"rm", "-rf", "/"}, kNohup);
  EXPECT_TRUE(r.options.empty());
  EXPECT_EQ(r.first_operand, 0u);
  r = ReadOptions(std::vector<std::string>{"--", "rm"}, kNohup);
  EXPECT_EQ(r.first_operand, 1u);
}

}  // namespace
}  // namespace skillrt::shell
