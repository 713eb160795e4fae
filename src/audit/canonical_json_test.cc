#include "audit/canonical_json.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <gtest/gtest.h>

namespace skillrt {
namespace {

nlohmann::json Parse(const std::string& text) { return nlohmann::json::parse(text); }

// RFC 8785 section 3.2.2: whitespace goes, numbers and strings take their canonical forms.
TEST(CanonicalJsonTest, Rfc8785SerializationExample) {
  nlohmann::json value = Parse(R"({
    "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  })");
  EXPECT_EQ(CanonicalJson(value),
            "{\"literals\":[null,true,false],"
            "\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
            "\"string\":\"\xE2\x82\xAC$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

// RFC 8785 section 3.2.3: members sort by UTF-16 code units, so U+1F600 (a surrogate pair,
// 0xD83D...) comes before U+FB33, unlike in UTF-8 byte order.
TEST(CanonicalJsonTest, Rfc8785SortingExample) {
  nlohmann::json value = Parse(R"({
    "\u20ac": "Euro Sign",
    "\r": "Carriage Return",
    "\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One",
    "\ud83d\ude00": "Emoji: Grinning Face",
    "\u0080": "Control",
    "\u00f6": "Latin Small Letter O With Diaeresis"
  })");
  EXPECT_EQ(CanonicalJson(value),
            "{\"\\r\":\"Carriage Return\","
            "\"1\":\"One\","
            "\"\xC2\x80\":\"Control\","
            "\"\xC3\xB6\":\"Latin Small Letter O With Diaeresis\","
            "\"\xE2\x82\xAC\":\"Euro Sign\","
            "\"\xF0\x9F\x98\x80\":\"Emoji: Grinning Face\","
            "\"\xEF\xAC\xB3\":\"Hebrew Letter Dalet With Dagesh\"}");
}

struct NumberCase {
  uint64_t bits;  // IEEE 754 binary64.
  const char* text;
};

// RFC 8785 appendix B, plus values printed by an ECMAScript engine's String(number).
TEST(CanonicalJsonTest, NumbersFollowEcmaScript) {
  const NumberCase cases[] = {
      {0x0000000000000000, "0"},
      {0x8000000000000000, "0"},
      {0x0000000000000001, "5e-324"},
      {0x8000000000000001, "-5e-324"},
      {0x7fefffffffffffff, "1.7976931348623157e+308"},
      {0xffefffffffffffff, "-1.7976931348623157e+308"},
      {0x4340000000000000, "9007199254740992"},
      {0xc340000000000000, "-9007199254740992"},
      {0x4430000000000000, "295147905179352830000"},
      {0x44b52d02c7e14af5, "9.999999999999997e+22"},
      {0x44b52d02c7e14af6, "1e+23"},
      {0x44b52d02c7e14af7, "1.0000000000000001e+23"},
      {0x444b1ae4d6e2ef4e, "999999999999999700000"},
      {0x444b1ae4d6e2ef4f, "999999999999999900000"},
      {0x444b1ae4d6e2ef50, "1e+21"},
      {0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
      {0x3eb0c6f7a0b5ed8d, "0.000001"},
      {0x41b3de4355555553, "333333333.3333332"},
      {0x41b3de4355555554, "333333333.33333325"},
      {0x41b3de4355555555, "333333333.3333333"},
      {0x41b3de4355555556, "333333333.3333334"},
      {0x41b3de4355555557, "333333333.33333343"},
      {0xbecbf647612f3696, "-0.0000033333333333333333"},
      {0x43143ff3c1cb0959, "1424953923781206.2"},
      {0xc1a74497faa1c000, "-195185661.31591797"},
      {0x4152ea96b39a0000, "4958810.806274414"},
      {0x3bb218441a620c1d, "3.831720650196076e-21"},
      {0xc35b565523ccb199, "-30778992176055908"},
      {0x44674f3b37024e16, "3.4398746490478516e+21"},
      {0xbaa2544a2bcb3604, "-2.9612511396408085e-26"},
      {0xbea7f072085b1854, "-7.134449481964111e-7"},
      {0xc3c6b58b845c8c6c, "-3272734880447387600"},
      {0xc570c8c4800742e4, "-3.246545791625976e+26"},
      {0xc2ef3ac90f4556e8, "-274698734283447.25"},
      {0x3f03942f1a9fbe76, "0.000037343680858612055"},
      {0x3fb999999999999a, "0.1"},
      {0x3fd3333333333334, "0.30000000000000004"},
      {0x3fd5555555555555, "0.3333333333333333"},
      {0x4059000000000000, "100"},
      {0x3e7ad7f29abcaf48, "1e-7"},
      {0x3c36b082c2148b8e, "1.23e-18"},
      {0x3ea0c6f7a0b5ed8d, "5e-7"},
      {0x4340000000000001, "9007199254740994"},
      {0x3fe0000000000000, "0.5"},
      {0x7e41eb2d66005835, "1.5e+300"},
  };
  for (const NumberCase& c : cases) {
    double value = std::bit_cast<double>(c.bits);
    EXPECT_EQ(EcmaScriptNumber(value), c.text) << std::hex << c.bits;
    EXPECT_EQ(CanonicalJson(nlohmann::json(value)), c.text) << std::hex << c.bits;
  }
}

TEST(CanonicalJsonTest, IntegersArePrintedExactly) {
  EXPECT_EQ(CanonicalJson(Parse("[0,-0,17,-17,9007199254740992,-9007199254740992]")),
            "[0,0,17,-17,9007199254740992,-9007199254740992]");
  // A number written as a float with an integral value is the same number as the integer.
  EXPECT_EQ(CanonicalJson(Parse("[4.0,1.0e2,-0.0]")), "[4,100,0]");
  // Beyond 2^53 JCS would round; the lenient form keeps every digit, the strict one refuses.
  nlohmann::json big = Parse("{\"n\":[18446744073709551615,-9223372036854775808]}");
  EXPECT_EQ(CanonicalJson(big), "{\"n\":[18446744073709551615,-9223372036854775808]}");
  auto strict = CanonicalJsonStrict(big);
  ASSERT_FALSE(strict.has_value());
  EXPECT_EQ(strict.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(strict.error().message.find("/n/0: integer beyond 2^53"), std::string::npos)
      << strict.error().message;
  EXPECT_TRUE(CanonicalJsonStrict(Parse("[9007199254740992]")).has_value());
}

TEST(CanonicalJsonTest, StringEscapes) {
  std::string all_controls;
  for (int c = 0; c < 0x20; ++c) all_controls += static_cast<char>(c);
  all_controls += "\x7F/\"\\\xE2\x80\xA8";  // DEL, solidus and U+2028 stay as they are.
  EXPECT_EQ(CanonicalJson(nlohmann::json(all_controls)),
            "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r"
            "\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018"
            "\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\x7F/\\\"\\\\\xE2\x80\xA8\"");
}

TEST(CanonicalJsonTest, NestedValuesAndEmptyContainers) {
  nlohmann::json value = Parse(R"( { "b" : [ {}, [], {"z":1,"a":{"y":null,"x":true}} ],
                                     "a" : "" } )");
  EXPECT_EQ(CanonicalJson(value), R"({"a":"","b":[{},[],{"a":{"x":true,"y":null},"z":1}]})");
}

// The canonical form of a value equals that of the value read back from its stored text,
// also for the inputs the lenient form repairs: invalid UTF-8 and non-finite numbers.
TEST(CanonicalJsonTest, AgreesWithTheValueReadBackFromDump) {
  const std::string broken[] = {
      "x\xFF",         "\xC0\xAF",        "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80",
      "\xE2\x82",      "ab\xF0\x9F\x98",  "\x80\x80",     "\xC3(",        "\xF0\x9F\x98\x80ok",
      "\xE2\x82\xAC",  "\xF5\x80\x80\x80",
  };
  for (const std::string& s : broken) {
    nlohmann::json value = {{"k" + s, s}, {"n", std::nan("")}, {"i", -INFINITY}};
    std::string stored = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    nlohmann::json back = nlohmann::json::parse(stored);
    EXPECT_EQ(CanonicalJson(value), CanonicalJson(back)) << stored;
  }
  EXPECT_EQ(CanonicalJson(nlohmann::json("a\xFF" "b")), "\"a\xEF\xBF\xBD" "b\"");
}

TEST(CanonicalJsonTest, StrictRefusesWhatJcsCannotRepresent) {
  auto bad_utf8 = CanonicalJsonStrict({{"argv", {"ok", "x\xFF"}}});
  ASSERT_FALSE(bad_utf8.has_value());
  EXPECT_NE(bad_utf8.error().message.find("/argv/1: string is not valid UTF-8"),
            std::string::npos)
      << bad_utf8.error().message;

  auto bad_key = CanonicalJsonStrict({{"a/b~\xFF", 1}});
  ASSERT_FALSE(bad_key.has_value());
  EXPECT_NE(bad_key.error().message.find("/a~1b~0"), std::string::npos)
      << bad_key.error().message;

  auto nan = CanonicalJsonStrict({{"x", std::numeric_limits<double>::infinity()}});
  ASSERT_FALSE(nan.has_value());
  EXPECT_NE(nan.error().message.find("/x: non-finite number"), std::string::npos);

  auto good = CanonicalJsonStrict(Parse(R"({"b":1.5,"a":["\u00e9"]})"));
  ASSERT_TRUE(good.has_value()) << good.error().ToString();
  EXPECT_EQ(*good, "{\"a\":[\"\xC3\xA9\"],\"b\":1.5}");
}

// Different values never share a canonical form; equal values always do.
TEST(CanonicalJsonTest, DistinguishesValuesNotSpellings) {
  EXPECT_EQ(CanonicalJson(Parse(R"({"a":1,"b":"\u0041"})")),
            CanonicalJson(Parse(R"({ "b" : "A", "a" : 1.0 })")));
  EXPECT_NE(CanonicalJson(Parse(R"({"a":"1"})")), CanonicalJson(Parse(R"({"a":1})")));
  EXPECT_NE(CanonicalJson(Parse(R"(["a,b"])")), CanonicalJson(Parse(R"(["a","b"])")));
  EXPECT_NE(CanonicalJson(Parse(R"({"a":null})")), CanonicalJson(Parse(R"({})")));
}

}  // namespace
}  // namespace skillrt
