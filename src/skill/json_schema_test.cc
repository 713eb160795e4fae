#include <string>

#include <gtest/gtest.h>

#include "skill/manifest_internal.h"
#include "skillrt/manifest.h"

namespace skillrt {
namespace {

using json = nlohmann::json;

// The error message, or "ok".
std::string Check(const char* schema, const char* input) {
  auto r = ValidateAgainstSchema(json::parse(schema), json::parse(input));
  if (r) return "ok";
  EXPECT_EQ(r.error().code, ErrorCode::kValidation);
  return r.error().message;
}

TEST(JsonSchemaTest, Types) {
  EXPECT_EQ(Check(R"({"type": "object"})", "{}"), "ok");
  EXPECT_EQ(Check(R"({"type": "object"})", "[]"), "input: expected object, got array");
  EXPECT_EQ(Check(R"({"type": "string"})", "\"x\""), "ok");
  EXPECT_EQ(Check(R"({"type": "null"})", "null"), "ok");
  EXPECT_EQ(Check(R"({"type": "boolean"})", "0"), "input: expected boolean, got integer");
  EXPECT_EQ(Check(R"({"type": "number"})", "1"), "ok");
  EXPECT_EQ(Check(R"({"type": "number"})", "1.5"), "ok");
  EXPECT_EQ(Check(R"({"type": "integer"})", "-3"), "ok");
  EXPECT_EQ(Check(R"({"type": "integer"})", "2.0"), "ok");
  EXPECT_EQ(Check(R"({"type": "integer"})", "2.5"), "input: expected integer, got number");
  EXPECT_EQ(Check(R"({"type": ["string", "null"]})", "null"), "ok");
  EXPECT_EQ(Check(R"({"type": ["string", "null"]})", "1"),
            "input: expected string or null, got integer");
}

TEST(JsonSchemaTest, PropertiesRequiredAndPointers) {
  const char* schema = R"({
    "type": "object",
    "required": ["a"],
    "properties": {
      "a": {"type": "integer"},
      "list": {"type": "array", "items": {"type": "object",
               "properties": {"x/y": {"type": "string"}, "t~": {"const": 1}}}}
    }
  })";
  EXPECT_EQ(Check(schema, R"({"a": 1, "list": [{"x/y": "s"}]})"), "ok");
  EXPECT_EQ(Check(schema, R"({"list": []})"), "input: missing required property 'a'");
  EXPECT_EQ(Check(schema, R"({"a": "1"})"), "input at /a: expected integer, got string");
  EXPECT_EQ(Check(schema, R"({"a": 1, "list": [{}, {"x/y": 3}]})"),
            "input at /list/1/x~1y: expected string, got integer");
  EXPECT_EQ(Check(schema, R"({"a": 1, "list": [{"t~": 2}]})"),
            "input at /list/0/t~0: expected the constant 1, got 2");
}

TEST(JsonSchemaTest, AdditionalProperties) {
  EXPECT_EQ(Check(R"({"properties": {"a": {}}, "additionalProperties": false})", R"({"a": 1})"),
            "ok");
  EXPECT_EQ(Check(R"({"properties": {"a": {}}, "additionalProperties": false})",
                  R"({"a": 1, "b": 2})"),
            "input at /b: property 'b' is not allowed (additionalProperties is false)");
  EXPECT_EQ(Check(R"({"additionalProperties": {"type": "string"}})", R"({"k": "v"})"), "ok");
  EXPECT_EQ(Check(R"({"additionalProperties": {"type": "string"}})", R"({"k": 1})"),
            "input at /k: expected string, got integer");
}

TEST(JsonSchemaTest, EnumAndConst) {
  EXPECT_EQ(Check(R"({"enum": ["a", 1, null]})", "1"), "ok");
  EXPECT_EQ(Check(R"({"enum": ["a", 1, null]})", "\"b\""),
            "input: \"b\" is not one of [\"a\",1,null]");
  EXPECT_EQ(Check(R"({"const": {"k": [1]}})", R"({"k": [1]})"), "ok");
  EXPECT_NE(Check(R"({"const": {"k": [1]}})", R"({"k": [2]})"), "ok");
}

TEST(JsonSchemaTest, NumericBounds) {
  EXPECT_EQ(Check(R"({"minimum": 1, "maximum": 3})", "1"), "ok");
  EXPECT_EQ(Check(R"({"minimum": 1, "maximum": 3})", "3"), "ok");
  EXPECT_EQ(Check(R"({"minimum": 1})", "0.5"), "input: 0.5 is below the minimum 1");
  EXPECT_EQ(Check(R"({"maximum": 3})", "4"), "input: 4 is above the maximum 3");
  EXPECT_EQ(Check(R"({"exclusiveMinimum": 1})", "1"),
            "input: 1 is not above the exclusive minimum 1");
  EXPECT_EQ(Check(R"({"exclusiveMaximum": 3})", "3"),
            "input: 3 is not below the exclusive maximum 3");
  EXPECT_EQ(Check(R"({"exclusiveMaximum": 3})", "2.999"), "ok");
  // Draft 4 boolean form.
  EXPECT_NE(Check(R"({"minimum": 1, "exclusiveMinimum": true})", "1"), "ok");
  EXPECT_EQ(Check(R"({"minimum": 1, "exclusiveMinimum": false})", "1"), "ok");
  // Exact comparison of large integers.
  EXPECT_NE(Check(R"({"maximum": 9007199254740992})", "9007199254740993"), "ok");
  EXPECT_EQ(Check(R"({"minimum": -5})", "18446744073709551615"), "ok");
  // Bounds do not apply to other types.
  EXPECT_EQ(Check(R"({"minimum": 1})", "\"a\""), "ok");
}

TEST(JsonSchemaTest, StringLengthsCountCharacters) {
  EXPECT_EQ(Check(R"({"minLength": 2, "maxLength": 3})", "\"ab\""), "ok");
  EXPECT_EQ(Check(R"({"maxLength": 3})", "\"\u00e9\u00e9\u00e9\""), "ok");  // 6 bytes.
  EXPECT_EQ(Check(R"({"maxLength": 3})", "\"abcd\""),
            "input: string of 4 characters is longer than maxLength 3");
  EXPECT_EQ(Check(R"({"minLength": 2})", "\"a\""),
            "input: string of 1 characters is shorter than minLength 2");
}

TEST(JsonSchemaTest, ArrayCounts) {
  EXPECT_EQ(Check(R"({"minItems": 1, "maxItems": 2})", "[1]"), "ok");
  EXPECT_EQ(Check(R"({"minItems": 1})", "[]"),
            "input: array of 0 items is shorter than minItems 1");
  EXPECT_EQ(Check(R"({"maxItems": 1})", "[1,2]"),
            "input: array of 2 items is longer than maxItems 1");
  EXPECT_EQ(Check(R"({"items": {"type": "integer"}})", "[1, 2, \"x\"]"),
            "input at /2: expected integer, got string");
}

TEST(JsonSchemaTest, Pattern) {
  EXPECT_EQ(Check(R"({"pattern": "^[a-z]+$"})", "\"abc\""), "ok");
  EXPECT_EQ(Check(R"({"pattern": "^[a-z]+$"})", "\"ab1\""),
            "input: \"ab1\" does not match the pattern \"^[a-z]+$\"");
  EXPECT_EQ(Check(R"({"pattern": "b"})", "\"abc\""), "ok");  // Unanchored search.
  // Matching is linear in the string (RE2), so long strings are matched, not refused.
  std::string long_string = "\"" + std::string(100'000, 'a') + "\"";
  EXPECT_EQ(Check(R"({"pattern": "^(a|aa)+$"})", long_string.c_str()), "ok");
  // One compiled pattern serves every element of an array.
  EXPECT_EQ(Check(R"({"items": {"pattern": "^x"}})", R"(["xa", "xb", "y"])"),
            "input at /2: \"y\" does not match the pattern \"^x\"");
}

TEST(JsonSchemaTest, BooleanSchemasAndUnknownKeywords) {
  EXPECT_EQ(Check("true", "1"), "ok");
  EXPECT_EQ(Check("false", "1"), "input: no value is allowed here");
  EXPECT_EQ(Check(R"({"properties": {"a": false}})", R"({"a": 1})"),
            "input at /a: no value is allowed here");
  EXPECT_EQ(Check(R"({"$schema": "x", "title": "t", "format": "email", "oneOf": [false]})",
                  "\"x\""),
            "ok");
}

TEST(JsonSchemaTest, CheckSchemaFindsMalformedKeywords) {
  using manifest_internal::CheckSchema;
  EXPECT_FALSE(CheckSchema(json::parse(R"({"type": "object", "properties": {"a": {}}})")));
  EXPECT_FALSE(CheckSchema(json::parse(R"({"type": ["string", "null"], "minLength": 0})")));
  EXPECT_FALSE(CheckSchema(json::parse("true")));
  EXPECT_TRUE(CheckSchema(json::parse("3")));
  EXPECT_EQ(CheckSchema(json::parse(R"({"properties": {"a": {"type": "strnig"}}})"))
                ->substr(0, 22),
            "/properties/a/type: ex");
  EXPECT_TRUE(CheckSchema(json::parse(R"({"type": []})")));
  EXPECT_EQ(*CheckSchema(json::parse(R"({"required": "a"})")),
            "/required: expected a list of property names");
  EXPECT_EQ(*CheckSchema(json::parse(R"({"minLength": -1})")),
            "/minLength: expected a non-negative integer");
  EXPECT_EQ(*CheckSchema(json::parse(R"({"maximum": "3"})")), "/maximum: expected a number");
  EXPECT_EQ(*CheckSchema(json::parse(R"({"pattern": "("})")),
            "/pattern: invalid regular expression: a group is not closed at character 2");
  EXPECT_EQ(*CheckSchema(json::parse(R"j({"properties": {"s": {"pattern": "(?=a)"}}})j")),
            "/properties/s/pattern: a lookahead (?= or (?! at character 1 is not supported: "
            "patterns are matched in linear time (RE2), without backreferences or lookaround");
  EXPECT_EQ(*CheckSchema(json::parse(R"({"items": 3})")),
            "/items must be an object or a boolean");
}

TEST(JsonSchemaTest, DeepSchemasAreBounded) {
  json schema = json::object();
  json* at = &schema;
  for (int i = 0; i < 100; ++i) {
    (*at)["items"] = json::object();
    at = &(*at)["items"];
  }
  EXPECT_NE(manifest_internal::CheckSchema(schema)->find("deeper than 64"), std::string::npos);
  json input = json::array();
  json* in = &input;
  for (int i = 0; i < 100; ++i) {
    in->push_back(json::array());
    in = &(*in)[0];
  }
  auto r = ValidateAgainstSchema(schema, input);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("deeper than 64"), std::string::npos);
}

}  // namespace
}  // namespace skillrt
