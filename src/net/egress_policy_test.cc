#include "net/egress_policy.h"

#include <gtest/gtest.h>

namespace skillrt::net {
namespace {

EgressRule Rule(std::string_view text, std::vector<std::string> addresses = {}) {
  auto r = ParseEgressRule(text, addresses);
  EXPECT_TRUE(r) << text << ": " << (r ? "" : r.error().message);
  return r.value_or(EgressRule{});
}

std::string ErrorOf(std::string_view text, std::vector<std::string> addresses = {}) {
  auto r = ParseEgressRule(text, addresses);
  return r ? "" : r.error().message;
}

EgressPolicy Policy(std::vector<EgressRule> rules) {
  auto p = EgressPolicy::Create(rules);
  EXPECT_TRUE(p) << (p ? "" : p.error().message);
  return std::move(*p);
}

IpAddress Addr(const char* text) { return *IpAddress::Parse(text); }

TEST(EgressRuleTest, ParsesAndNormalises) {
  EXPECT_EQ(Rule("API.Example.com"), (EgressRule{.host = "api.example.com", .port = 443}));
  EXPECT_EQ(Rule("api.example.com:8080").port, 8080);
  EXPECT_EQ(Rule("api.example.com:*").port, 0);
  EXPECT_EQ(Rule("*.Example.com").host, "*.example.com");
  EXPECT_EQ(Rule("10.1.0.0/16:5432").host, "10.1.0.0/16");
  EXPECT_EQ(Rule("[FD00::1]:443").host, "fd00::1");
  EXPECT_EQ(Rule("[fd00::/64]").host, "fd00::/64");
  EXPECT_EQ(Rule("svc.test:80", {"127.0.0.1", "10.0.0.0/8"}).addresses,
            (std::vector<std::string>{"127.0.0.1", "10.0.0.0/8"}));
  EXPECT_EQ(EgressRuleText(Rule("[fd00::1]:8443")), "[fd00::1]:8443");
  EXPECT_EQ(EgressRuleText(Rule("*.example.com:*")), "*.example.com:*");
}

TEST(EgressRuleTest, RefusesMalformedEntries) {
  EXPECT_NE(ErrorOf("*"), "");
  EXPECT_NE(ErrorOf("*.com"), "");
  EXPECT_NE(ErrorOf("api.*.com"), "");
  EXPECT_NE(ErrorOf("exa mple.com"), "");
  EXPECT_NE(ErrorOf("example.com:0"), "");
  EXPECT_NE(ErrorOf("example.com:65536"), "");
  EXPECT_NE(ErrorOf("example.com:08"), "");
  EXPECT_NE(ErrorOf("example.com:"), "");
  EXPECT_NE(ErrorOf("http://example.com"), "");
  EXPECT_NE(ErrorOf("user@example.com"), "");
  EXPECT_NE(ErrorOf("127.1"), "");  // Numeric last label: an address in disguise.
  EXPECT_NE(ErrorOf("-a.example.com"), "");
  EXPECT_NE(ErrorOf("fd00::1"), "");  // IPv6 needs brackets.
  EXPECT_NE(ErrorOf("[example.com]"), "");
  EXPECT_NE(ErrorOf("10.0.0.1/8"), "");
  EXPECT_NE(ErrorOf("0.0.0.0/0"), "");
  EXPECT_NE(ErrorOf("[::/0]"), "");
  EXPECT_NE(ErrorOf("10.0.0.1", {"10.0.0.1"}), "");  // addresses only for names.
  EXPECT_NE(ErrorOf("svc.test", {"not-an-address"}), "");
  EXPECT_NE(ErrorOf(std::string(64, 'a') + ".com"), "");
}

TEST(EgressPolicyTest, NamesWildcardsAndPorts) {
  EgressPolicy policy = Policy({Rule("api.example.com"), Rule("*.cdn.test:*"),
                                Rule("plain.test:80")});
  EXPECT_TRUE(policy.CheckHost("api.example.com", 443).allowed);
  EXPECT_TRUE(policy.CheckHost("API.EXAMPLE.COM.", 443).allowed);
  EXPECT_EQ(policy.CheckHost("api.example.com", 443).rule_text, "api.example.com:443");
  EXPECT_FALSE(policy.CheckHost("api.example.com", 80).allowed);
  EXPECT_EQ(policy.CheckHost("api.example.com", 80).reason,
            "port 80 is not allowed for api.example.com");
  EXPECT_FALSE(policy.CheckHost("example.com", 443).allowed);
  EXPECT_FALSE(policy.CheckHost("evilapi.example.com", 443).allowed);
  EXPECT_FALSE(policy.CheckHost("api.example.com.evil.test", 443).allowed);
  EXPECT_TRUE(policy.CheckHost("a.cdn.test", 1234).allowed);
  EXPECT_TRUE(policy.CheckHost("a.b.cdn.test", 443).allowed);
  EXPECT_FALSE(policy.CheckHost("cdn.test", 443).allowed);  // Subdomains only.
  EXPECT_FALSE(policy.CheckHost("xcdn.test", 443).allowed);
  EXPECT_TRUE(policy.CheckHost("plain.test", 80).allowed);
  EXPECT_FALSE(policy.CheckHost("plain.test", 443).allowed);
  EXPECT_EQ(policy.CheckHost("evil.test", 443).reason, "host evil.test is not in the allowlist");
  EXPECT_FALSE(policy.CheckHost("127.0.0.1", 443).allowed);  // A name rule never matches an IP.
  EXPECT_FALSE(policy.CheckHost("bad host", 443).allowed);
}

TEST(EgressPolicyTest, RefusedRangesNeedToBeNamed) {
  EgressPolicy policy = Policy({Rule("api.example.com"), Rule("svc.test:8080", {"127.0.0.0/8"}),
                                Rule("10.1.2.3:5432")});
  EgressPolicy::HostMatch api = policy.CheckHost("api.example.com", 443);
  ASSERT_TRUE(api.allowed);
  EXPECT_EQ(policy.RefuseAddress(api, Addr("93.184.216.34")), std::nullopt);
  for (const char* internal : {"127.0.0.1", "10.0.0.1", "169.254.169.254", "192.168.0.1",
                               "172.16.0.1", "100.64.0.1", "224.0.0.1", "0.0.0.0", "::1",
                               "fe80::1", "fd00::1", "::ffff:169.254.169.254", "::ffff:10.0.0.1"}) {
    EXPECT_NE(policy.RefuseAddress(api, Addr(internal)), std::nullopt) << internal;
  }
  EXPECT_EQ(*policy.RefuseAddress(api, Addr("169.254.169.254")),
            "address 169.254.169.254 is link-local (169.254.0.0/16) and not named for "
            "api.example.com");

  EgressPolicy::HostMatch svc = policy.CheckHost("svc.test", 8080);
  ASSERT_TRUE(svc.allowed);
  EXPECT_EQ(policy.RefuseAddress(svc, Addr("127.0.0.1")), std::nullopt);
  EXPECT_EQ(policy.RefuseAddress(svc, Addr("::ffff:127.0.0.1")), std::nullopt);
  EXPECT_NE(policy.RefuseAddress(svc, Addr("10.0.0.1")), std::nullopt);
  EXPECT_NE(policy.RefuseAddress(svc, Addr("169.254.169.254")), std::nullopt);

  EgressPolicy::HostMatch literal = policy.CheckHost("10.1.2.3", 5432);
  ASSERT_TRUE(literal.allowed);
  EXPECT_EQ(policy.RefuseAddress(literal, Addr("10.1.2.3")), std::nullopt);
  EXPECT_TRUE(policy.CheckHost("::ffff:10.1.2.3", 5432).allowed);
  EXPECT_FALSE(policy.CheckHost("10.1.2.4", 5432).allowed);
  EXPECT_FALSE(policy.CheckHost("10.1.2.3", 5433).allowed);
}

// A tunnel must start with TLS on port 443, and where every entry that allows it says `tls`.
TEST(EgressPolicyTest, TlsOnlyOnPort443AndWhereEveryMatchingEntrySaysSo) {
  auto tls = [](std::string_view text) {
    EgressRule rule = Rule(text);
    rule.tls = true;
    return rule;
  };
  EgressPolicy policy = Policy(
      {Rule("plain.test:*"), tls("secure.test:8443"), tls("both.test:*"), Rule("both.test:9000")});
  EXPECT_TRUE(policy.CheckHost("plain.test", 443).tls_only);
  EXPECT_FALSE(policy.CheckHost("plain.test", 8443).tls_only);
  EXPECT_TRUE(policy.CheckHost("secure.test", 8443).tls_only);
  EXPECT_TRUE(policy.CheckHost("both.test", 8000).tls_only);
  EXPECT_FALSE(policy.CheckHost("both.test", 9000).tls_only);  // One entry allows any protocol.
}

}  // namespace
}  // namespace skillrt::net
