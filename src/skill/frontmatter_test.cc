#include "skill/frontmatter.h"

#include <sys/stat.h>

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "test_util.h"

namespace skillrt::frontmatter {
namespace {

using ::skillrt::testing::TempDir;
using ::skillrt::testing::WriteFile;

const std::filesystem::path kFile = "/s/SKILL.md";

std::expected<Document, Diagnostic> P(std::string_view text) { return Parse(text, kFile); }

TEST(FrontmatterTest, SplitsFrontmatterAndBodyWithLines) {
  auto doc = P("---\nname: calc\ndescription: Adds numbers.\n---\n# Calc\nUse it.\n");
  ASSERT_TRUE(doc.has_value()) << doc.error().ToString();
  ASSERT_EQ(doc->root.kind, YamlNode::Kind::kMap);
  ASSERT_EQ(doc->root.entries.size(), 2u);
  EXPECT_EQ(doc->root.entries[0].key, "name");
  EXPECT_EQ(doc->root.entries[0].line, 2);
  EXPECT_EQ(doc->root.entries[0].value.scalar, "calc");
  EXPECT_EQ(doc->root.entries[1].key, "description");
  EXPECT_EQ(doc->root.entries[1].line, 3);
  EXPECT_EQ(doc->closing_line, 4);
  EXPECT_EQ(doc->body_line, 5);
  EXPECT_EQ(doc->body, "# Calc\nUse it.\n");
}

TEST(FrontmatterTest, AcceptsCrLfAndNestedValues) {
  auto doc = P("---\r\nname: a\r\nmetadata:\r\n  k: v\r\nlist: [1, 2]\r\n---\r\nbody\r\n");
  ASSERT_TRUE(doc.has_value()) << doc.error().ToString();
  ASSERT_EQ(doc->root.entries.size(), 3u);
  EXPECT_EQ(doc->root.entries[1].value.kind, YamlNode::Kind::kMap);
  EXPECT_EQ(doc->root.entries[1].value.entries[0].key, "k");
  EXPECT_EQ(doc->root.entries[1].value.entries[0].line, 4);
  EXPECT_EQ(doc->root.entries[2].value.kind, YamlNode::Kind::kSequence);
  EXPECT_EQ(doc->root.entries[2].value.items.size(), 2u);
}

TEST(FrontmatterTest, PlainAndQuotedScalarsAreDistinguished) {
  auto doc = P("---\na: 12\nb: \"12\"\nc:\n---\n");
  ASSERT_TRUE(doc.has_value()) << doc.error().ToString();
  EXPECT_TRUE(doc->root.entries[0].value.plain);
  EXPECT_FALSE(doc->root.entries[1].value.plain);
  EXPECT_EQ(doc->root.entries[2].value.kind, YamlNode::Kind::kNull);
}

TEST(FrontmatterTest, MissingOpeningLine) {
  auto doc = P("name: a\n---\n");
  ASSERT_FALSE(doc.has_value());
  EXPECT_EQ(doc.error().line, 1);
  EXPECT_NE(doc.error().message.find("must start with a '---'"), std::string::npos);
}

TEST(FrontmatterTest, MissingClosingLine) {
  auto doc = P("---\nname: a\ndescription: b\n# no end\n");
  ASSERT_FALSE(doc.has_value());
  EXPECT_NE(doc.error().message.find("missing closing '---'"), std::string::npos);
}

TEST(FrontmatterTest, RejectsNulBytesNamingTheLine) {
  std::string text = "---\nname: a\n---\nbody\n";
  text += std::string("x\0y", 3);
  auto doc = P(text);
  ASSERT_FALSE(doc.has_value());
  EXPECT_EQ(doc.error().line, 5);
  EXPECT_NE(doc.error().message.find("NUL"), std::string::npos);
}

TEST(FrontmatterTest, RejectsInvalidUtf8NamingTheLine) {
  auto doc = P("---\nname: a\ndescription: caf\xC3\n---\n");
  ASSERT_FALSE(doc.has_value());
  EXPECT_EQ(doc.error().line, 3);
  EXPECT_NE(doc.error().message.find("invalid UTF-8"), std::string::npos);
}

TEST(FrontmatterTest, Utf8Validation) {
  EXPECT_EQ(FirstInvalidUtf8Line("plain ascii\n"), 0);
  EXPECT_EQ(FirstInvalidUtf8Line("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), 0);
  EXPECT_EQ(FirstInvalidUtf8Line("a\nb\n\xC0\x80"), 3);          // Overlong NUL.
  EXPECT_EQ(FirstInvalidUtf8Line("\xE0\x80\xAF"), 1);            // Overlong '/'.
  EXPECT_EQ(FirstInvalidUtf8Line("\n\xED\xA0\x80"), 2);          // Surrogate.
  EXPECT_EQ(FirstInvalidUtf8Line("\xF4\x90\x80\x80"), 1);        // Above U+10FFFF.
  EXPECT_EQ(FirstInvalidUtf8Line("\x80"), 1);                    // Stray continuation.
  EXPECT_EQ(FirstInvalidUtf8Line("ok\xE2\x82"), 1);              // Truncated.
}

TEST(FrontmatterTest, RejectsOversizedFrontmatter) {
  std::string text = "---\nname: a\n";
  while (text.size() < kMaxFrontmatterBytes + 100) text += "# padding padding padding\n";
  text += "---\nbody\n";
  auto doc = P(text);
  ASSERT_FALSE(doc.has_value());
  EXPECT_NE(doc.error().message.find("too large"), std::string::npos);
}

TEST(FrontmatterTest, RejectsDeepBracketNestingQuickly) {
  std::string text = "---\nname: " + std::string(10000, '[') + "\n---\n";
  auto start = std::chrono::steady_clock::now();
  auto doc = P(text);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(doc.has_value());
  EXPECT_NE(doc.error().message.find("nests deeper than 64"), std::string::npos);
  EXPECT_EQ(doc.error().line, 2);
  EXPECT_LT(elapsed, std::chrono::seconds(2));
}

TEST(FrontmatterTest, RejectsDeepBraceNesting) {
  std::string text = "---\nx: " + std::string(200, '{') + std::string(200, '}') + "\n---\n";
  auto doc = P(text);
  ASSERT_FALSE(doc.has_value());
  EXPECT_NE(doc.error().message.find("nests deeper"), std::string::npos);
}

TEST(FrontmatterTest, RejectsDeepIndentationNesting) {
  std::string text = "---\n";
  for (int i = 0; i < 100; ++i) text += std::string(i, ' ') + "k" + std::to_string(i) + ":\n";
  text += "---\n";
  auto doc = P(text);
  ASSERT_FALSE(doc.has_value());
  EXPECT_NE(doc.error().message.find("nests deeper"), std::string::npos);
}

TEST(FrontmatterTest, RejectsDeepDashNesting) {
  std::string text = "---\nx:\n";
  for (int i = 0; i < 100; ++i) text += "- ";
  text += "leaf\n---\n";
  auto doc = P(text);
  ASSERT_FALSE(doc.has_value());
  EXPECT_NE(doc.error().message.find("nests deeper"), std::string::npos);
}

TEST(FrontmatterTest, ModerateNestingIsAccepted) {
  std::string text = "---\nx: " + std::string(30, '[') + "1" + std::string(30, ']') + "\n";
  text += "m:\n";
  for (int i = 1; i < 20; ++i) text += std::string(2 * i, ' ') + "k" + std::to_string(i) + ":\n";
  text += "---\n";
  auto doc = P(text);
  EXPECT_TRUE(doc.has_value()) << doc.error().ToString();
}

TEST(FrontmatterTest, BracketsInProseAndBlockScalarsAreNotNesting) {
  std::string text = "---\ndescription: see [a [b [c " + std::string(100, '[') + " and it's ok\n";
  text += "notes: |\n";
  for (int i = 0; i < 100; ++i) text += "  " + std::string(i % 7, ' ') + "[[[ {{ '\n";
  text += "other: 'quoted [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[['\n";
  text += "---\n";
  auto doc = P(text);
  ASSERT_TRUE(doc.has_value()) << doc.error().ToString();
  EXPECT_EQ(doc->root.entries.size(), 3u);
}

TEST(FrontmatterTest, RejectsBillionLaughs) {
  std::string text = "---\na0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n";
  for (int i = 1; i <= 10; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) text += (k ? "," : "") + prev;
    text += "]\n";
  }
  text += "---\n";
  auto start = std::chrono::steady_clock::now();
  auto doc = P(text);
  ASSERT_FALSE(doc.has_value());
  EXPECT_NE(doc.error().message.find("anchors and aliases are not allowed"), std::string::npos);
  EXPECT_EQ(doc.error().line, 2);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(FrontmatterTest, RejectsAliasAndAnchorAlone) {
  auto alias = P("---\nname: a\ndescription: *ref\n---\n");
  ASSERT_FALSE(alias.has_value());
  EXPECT_NE(alias.error().message.find("anchors and aliases"), std::string::npos);
  auto anchor = P("---\nname: &n a\n---\n");
  ASSERT_FALSE(anchor.has_value());
  EXPECT_NE(anchor.error().message.find("anchors and aliases"), std::string::npos);
  EXPECT_EQ(anchor.error().line, 2);
}

TEST(FrontmatterTest, RejectsDuplicateKeys) {
  auto doc = P("---\nname: a\ndescription: b\nname: c\n---\n");
  ASSERT_FALSE(doc.has_value());
  EXPECT_EQ(doc.error().line, 4);
  EXPECT_EQ(doc.error().field, "name");
  EXPECT_NE(doc.error().message.find("duplicate key (first defined on line 2)"),
            std::string::npos);
}

TEST(FrontmatterTest, RejectsDuplicateNestedKeys) {
  auto doc = P("---\nmetadata:\n  a: 1\n  a: 2\n---\n");
  ASSERT_FALSE(doc.has_value());
  EXPECT_EQ(doc.error().line, 4);
}

TEST(FrontmatterTest, RejectsNonMapFrontmatter) {
  auto list = P("---\n- a\n- b\n---\n");
  ASSERT_FALSE(list.has_value());
  EXPECT_NE(list.error().message.find("must be a map"), std::string::npos);
  auto scalar = P("---\njust text\n---\n");
  ASSERT_FALSE(scalar.has_value());
  EXPECT_NE(scalar.error().message.find("got string"), std::string::npos);
  auto empty = P("---\n---\nbody\n");
  ASSERT_FALSE(empty.has_value());
  EXPECT_NE(empty.error().message.find("empty"), std::string::npos);
}

TEST(FrontmatterTest, RejectsNonScalarKeysAndTags) {
  auto key = P("---\n? [a, b]\n: c\n---\n");
  ASSERT_FALSE(key.has_value());
  EXPECT_NE(key.error().message.find("keys must be strings"), std::string::npos);
  auto tag = P("---\nname: !!binary aGVsbG8=\n---\n");
  ASSERT_FALSE(tag.has_value());
  EXPECT_NE(tag.error().message.find("tags are not allowed"), std::string::npos);
}

TEST(FrontmatterTest, SyntaxErrorsNameTheLine) {
  auto doc = P("---\nname: a\ndescription: b: c\n---\n");
  ASSERT_FALSE(doc.has_value());
  EXPECT_EQ(doc.error().line, 3);
  EXPECT_NE(doc.error().message.find("invalid YAML"), std::string::npos);
  auto flow = P("---\nname: a\ntools: [a, b\nlicense: x\n---\n");
  ASSERT_FALSE(flow.has_value());
  EXPECT_GE(flow.error().line, 3);
  EXPECT_NE(flow.error().message.find("invalid YAML"), std::string::npos);
}

TEST(FrontmatterTest, RejectsSecondDocument) {
  auto doc = P("---\nname: a\n...\nother: b\n---\n");
  ASSERT_FALSE(doc.has_value());
  EXPECT_NE(doc.error().message.find("more than one YAML document"), std::string::npos);
}

TEST(ReadBoundedFileTest, ChecksSizeTypeAndExistence) {
  TempDir tmp;
  auto missing = ReadBoundedFile(tmp.path() / "none", 10);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);

  WriteFile(tmp.path() / "big", std::string(2 << 20, 'x'));
  auto big = ReadBoundedFile(tmp.path() / "big", kMaxSkillFileBytes);
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().code, ErrorCode::kValidation);
  EXPECT_NE(big.error().message.find("too large"), std::string::npos);

  WriteFile(tmp.path() / "ok", "hello");
  auto ok = ReadBoundedFile(tmp.path() / "ok", 5);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, "hello");

  auto dir = ReadBoundedFile(tmp.path(), 5);
  ASSERT_FALSE(dir.has_value());
  EXPECT_NE(dir.error().message.find("not a regular file"), std::string::npos);

  ASSERT_EQ(::mkfifo((tmp.path() / "fifo").c_str(), 0600), 0);
  auto fifo = ReadBoundedFile(tmp.path() / "fifo", 5);  // Must not block.
  ASSERT_FALSE(fifo.has_value());
  EXPECT_NE(fifo.error().message.find("not a regular file"), std::string::npos);
}

}  // namespace
}  // namespace skillrt::frontmatter
