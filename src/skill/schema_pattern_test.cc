#include "skill/schema_pattern.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

namespace skillrt {
namespace {

// Whether `pattern` (ECMA-262) finds a match in `subject`; fails the test if it does not
// compile.
bool Matches(const std::string& pattern, const std::string& subject) {
  auto compiled = SchemaPattern::Compile(pattern);
  EXPECT_TRUE(compiled) << pattern << ": " << compiled.error().message;
  return compiled && compiled->Search(subject);
}

std::string Refusal(const std::string& pattern) {
  auto compiled = SchemaPattern::Compile(pattern);
  EXPECT_FALSE(compiled) << pattern << " compiled to " << compiled->translated();
  return compiled ? "" : compiled.error().message;
}

TEST(SchemaPatternTest, UnanchoredSearchWithAnchorsOnTheWholeString) {
  EXPECT_TRUE(Matches("b", "abc"));
  EXPECT_TRUE(Matches("^[a-z]+$", "abc"));
  EXPECT_FALSE(Matches("^[a-z]+$", "ab1"));
  // '$' is the end of the string only (no multiline, no final-newline exception).
  EXPECT_FALSE(Matches("^a$", "a\n"));
  EXPECT_FALSE(Matches("^b", "a\nb"));
  EXPECT_TRUE(Matches("^https?://", "https://example.com"));
  EXPECT_TRUE(Matches("^(?:ab|cd){2}$", "abcd"));
  EXPECT_TRUE(Matches("^(?<word>\\w+)-\\d{2,}$", "abc-123"));
  EXPECT_FALSE(Matches("^a{2,3}$", "aaaa"));
  EXPECT_TRUE(Matches("^a{2,}?$", "aaaa"));
}

// The pattern that took 89 s with a backtracking engine on 45 characters; run in a child
// under an alarm so that a regression fails instead of hanging the suite.
TEST(SchemaPatternTest, CatastrophicPatternIsLinear) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::alarm(30);
    auto pattern = SchemaPattern::Compile("^(a|aa)+$");
    if (!pattern) ::_exit(2);
    const bool no = pattern->Search(std::string(45, 'a') + "!");
    const bool long_no = pattern->Search(std::string(100'000, 'a') + "!");
    const bool yes = pattern->Search(std::string(100'000, 'a'));
    ::_exit(!no && !long_no && yes ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_FALSE(WIFSIGNALED(status))
      << "killed by signal " << WTERMSIG(status) << " (SIGALRM: the match did not end in 30 s)";
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // Positive control: the same pattern accepts and refuses as ECMA-262 says.
  EXPECT_TRUE(Matches("^(a|aa)+$", "aaa"));
  EXPECT_FALSE(Matches("^(a|aa)+$", "aab"));
}

TEST(SchemaPatternTest, BackreferencesAndLookaroundAreRefusedNotApproximated) {
  EXPECT_EQ(Refusal("^(a)\\1$"),
            "a backreference \\1 at character 5 is not supported: patterns are matched in linear "
            "time (RE2), without backreferences or lookaround");
  EXPECT_NE(Refusal("(?<x>a)\\k<x>").find("named backreference"), std::string::npos);
  EXPECT_NE(Refusal("a(?=b)").find("lookahead"), std::string::npos);
  EXPECT_NE(Refusal("a(?!b)").find("lookahead"), std::string::npos);
  EXPECT_NE(Refusal("(?<=a)b").find("lookbehind"), std::string::npos);
  EXPECT_NE(Refusal("(?<!a)b").find("lookbehind"), std::string::npos);
  EXPECT_NE(Refusal("(?i)abc").find("modifiers"), std::string::npos);
  EXPECT_NE(Refusal("[\\1]").find("backreference"), std::string::npos);
  // Syntax errors say so.
  EXPECT_EQ(Refusal("("), "invalid regular expression: a group is not closed at character 2");
  EXPECT_NE(Refusal("a)").find("without a matching"), std::string::npos);
  EXPECT_NE(Refusal("*a").find("nothing to repeat"), std::string::npos);
  EXPECT_NE(Refusal("a**").find("nothing to repeat"), std::string::npos);
  EXPECT_NE(Refusal("^*").find("nothing to repeat"), std::string::npos);
  EXPECT_NE(Refusal("a{").find("does not start a quantifier"), std::string::npos);
  EXPECT_NE(Refusal("a}").find("lone '}'"), std::string::npos);
  EXPECT_NE(Refusal("a]").find("lone ']'"), std::string::npos);
  EXPECT_NE(Refusal("a{3,2}").find("below"), std::string::npos);
  EXPECT_NE(Refusal("[b-a]").find("out of order"), std::string::npos);
  EXPECT_NE(Refusal("[\\d-z]").find("class range"), std::string::npos);
  EXPECT_NE(Refusal("\\q").find("not an escape"), std::string::npos);
  EXPECT_NE(Refusal("a\\").find("at the end"), std::string::npos);
  EXPECT_NE(Refusal("\\uD800").find("lone surrogate"), std::string::npos);
  EXPECT_NE(Refusal("\\p{Emoji}").find("Unicode property Emoji"), std::string::npos);
  EXPECT_NE(Refusal("a{1001}").find("RE2 cannot compile"), std::string::npos);
  EXPECT_NE(Refusal(std::string("a\xff")).find("UTF-8"), std::string::npos);
}

TEST(SchemaPatternTest, EcmaMeaningsThatDifferFromRe2AreKept) {
  // '.' excludes the four ECMA-262 line terminators (RE2's excludes only LF).
  EXPECT_TRUE(Matches("^.$", "x"));
  EXPECT_TRUE(Matches("^.$", "\xc3\xa9"));  // One code point, two bytes.
  for (const char* terminator : {"\n", "\r", "\xe2\x80\xa8", "\xe2\x80\xa9"}) {
    EXPECT_FALSE(Matches("^.$", terminator)) << terminator;
  }
  // \s is ECMA-262's white space: VT and non-ASCII spaces too; \S is its complement.
  for (const char* space : {" ", "\t", "\v", "\f", "\xc2\xa0", "\xe3\x80\x80", "\xef\xbb\xbf"}) {
    EXPECT_TRUE(Matches("^\\s$", space)) << space;
    EXPECT_FALSE(Matches("^\\S$", space)) << space;
    EXPECT_FALSE(Matches("^[\\S]$", space)) << space;
    EXPECT_TRUE(Matches("^[x\\s]$", space)) << space;
  }
  EXPECT_TRUE(Matches("^\\S$", "x"));
  EXPECT_TRUE(Matches("^[\\S]$", "\xf0\x9f\x98\x80"));
  // [] matches nothing and [^] anything (RE2 would read the ']' as a member).
  EXPECT_FALSE(Matches("[]", "]"));
  EXPECT_TRUE(Matches("^[^]$", "\n"));
  // '[' in a class is a character, not the start of a POSIX class.
  EXPECT_TRUE(Matches("^[[:a]+$", "[:a"));
  EXPECT_FALSE(Matches("^[[:a]+$", "b"));
  EXPECT_NE(Refusal("[[:alpha:]]").find("lone ']'"), std::string::npos);  // As ECMA-262 with u.
  // Escapes of code points.
  EXPECT_TRUE(Matches("^\\u00e9$", "\xc3\xa9"));
  EXPECT_TRUE(Matches("^\\u{1F600}$", "\xf0\x9f\x98\x80"));
  EXPECT_TRUE(Matches("^\\uD83D\\uDE00$", "\xf0\x9f\x98\x80"));  // A surrogate pair.
  EXPECT_TRUE(Matches("^\\x41\\cJ\\0$", std::string("A\n") + '\0'));
  EXPECT_TRUE(Matches("^[\\b]$", "\b"));
  EXPECT_TRUE(Matches("a\\b", "a b"));
  EXPECT_FALSE(Matches("a\\b", "ab"));
  EXPECT_TRUE(Matches("^\\/\\.\\*$", "/.*"));
  EXPECT_TRUE(Matches("^[a\\-z]+$", "-az"));
  EXPECT_FALSE(Matches("^[a\\-z]+$", "b"));
  // \d and \w are ASCII in both.
  EXPECT_FALSE(Matches("^\\d$", "\xd9\xa3"));  // ARABIC-INDIC DIGIT THREE
  EXPECT_FALSE(Matches("^\\w$", "\xc3\xa9"));
  // Unicode properties.
  EXPECT_TRUE(Matches("^\\p{Lu}+$", "\xc3\x89T\xc3\x89"));
  EXPECT_FALSE(Matches("^\\p{Lu}+$", "a"));
  EXPECT_TRUE(Matches("^\\p{Script=Greek}$", "\xce\xb1"));
  EXPECT_TRUE(Matches("^\\P{General_Category=Letter}$", "1"));
  EXPECT_TRUE(Matches("^\\p{ASCII}+$", "abc"));
  EXPECT_FALSE(Matches("^[\\P{ASCII}]$", "a"));
  // Characters that are syntax to RE2 but not to ECMA-262 stay literal.
  EXPECT_TRUE(Matches("^# x$", "# x"));
}

}  // namespace
}  // namespace skillrt
