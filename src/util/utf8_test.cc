#include "util/utf8.h"

#include <string>

#include <gtest/gtest.h>

namespace skillrt {
namespace {

TEST(Utf8Test, WellFormedSequences) {
  EXPECT_TRUE(IsWellFormedUtf8(""));
  EXPECT_TRUE(IsWellFormedUtf8("plain ASCII\n"));
  EXPECT_TRUE(IsWellFormedUtf8("Cr\xC3\xA8me br\xC3\xBBl\xC3\xA9\x65"));  // 2-byte sequences.
  EXPECT_TRUE(IsWellFormedUtf8("\xE2\x82\xAC"));                          // U+20AC, 3 bytes.
  EXPECT_TRUE(IsWellFormedUtf8("\xF0\x9F\x98\x80"));                      // U+1F600, 4 bytes.
  EXPECT_TRUE(IsWellFormedUtf8("\xF4\x8F\xBF\xBF"));                      // U+10FFFF.
  EXPECT_TRUE(IsWellFormedUtf8(std::string("a\0b", 3)));                 // NUL is a character.
  EXPECT_EQ(Utf8SequenceLength("\xF0\x9F\x98\x80z"), 4);
}

TEST(Utf8Test, IllFormedSequencesAndTheirMaximalPrefixes) {
  EXPECT_FALSE(IsWellFormedUtf8("\xFF"));
  EXPECT_FALSE(IsWellFormedUtf8("\x80"));              // A lone continuation byte.
  EXPECT_FALSE(IsWellFormedUtf8("\xC0\xAF"));          // Overlong '/'.
  EXPECT_FALSE(IsWellFormedUtf8("\xE0\x80\xAF"));      // Overlong, 3 bytes.
  EXPECT_FALSE(IsWellFormedUtf8("\xED\xA0\x80"));      // U+D800, a surrogate.
  EXPECT_FALSE(IsWellFormedUtf8("\xF4\x90\x80\x80"));  // Beyond U+10FFFF.
  EXPECT_FALSE(IsWellFormedUtf8("ok \xE2\x82"));       // Cut short at the end.
  EXPECT_EQ(Utf8SequenceLength("\xFF"), -1);
  EXPECT_EQ(Utf8SequenceLength("\xE2\x82"), -2);       // The two bytes one U+FFFD replaces.
  EXPECT_EQ(Utf8SequenceLength("\xE2\x82z"), -2);
}

}  // namespace
}  // namespace skillrt
