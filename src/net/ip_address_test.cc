#include "net/ip_address.h"

#include <gtest/gtest.h>

namespace skillrt::net {
namespace {

IpAddress Addr(const char* text) {
  std::optional<IpAddress> a = IpAddress::Parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(IpAddress{});
}

std::string RangeOf(const char* text) {
  std::optional<SpecialRange> r = ClassifyAddress(Addr(text));
  return r ? std::string(r->name) : "global";
}

TEST(IpAddressTest, ParsesOnlyCanonicalForms) {
  EXPECT_EQ(Addr("10.0.0.1").ToString(), "10.0.0.1");
  EXPECT_EQ(Addr("FE80::1").ToString(), "fe80::1");
  EXPECT_TRUE(Addr("::ffff:10.0.0.1").v6);
  // Forms inet_aton accepts but that are not dotted quads are not addresses here.
  for (const char* bad : {"127.1", "0x7f.0.0.1", "2130706433", "1.2.3.4.5", "[::1]", "fe80::1%lo",
                          "", "10.0.0.256", " 10.0.0.1"}) {
    EXPECT_FALSE(IpAddress::Parse(bad).has_value()) << bad;
  }
}

TEST(IpAddressTest, BlocksContainTheirAddresses) {
  std::optional<IpBlock> b = IpBlock::Parse("172.16.0.0/12");
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->Contains(Addr("172.31.255.255")));
  EXPECT_FALSE(b->Contains(Addr("172.32.0.0")));
  EXPECT_FALSE(b->Contains(Addr("::ffff:172.16.0.1")));  // Families never mix.
  EXPECT_EQ(IpBlock::Parse("10.0.0.1")->prefix, 32);
  EXPECT_EQ(IpBlock::Parse("fd00::/8")->ToString(), "fd00::/8");
  EXPECT_FALSE(IpBlock::Parse("10.0.0.1/8"));  // Host bits set.
  EXPECT_FALSE(IpBlock::Parse("10.0.0.0/33"));
  EXPECT_FALSE(IpBlock::Parse("10.0.0.0/08"));
  EXPECT_FALSE(IpBlock::Parse("10.0.0.0/"));
  EXPECT_TRUE(IpBlock::Parse("0.0.0.0/0")->Contains(Addr("8.8.8.8")));
}

TEST(IpAddressTest, SpecialRangesAreClassified) {
  EXPECT_EQ(RangeOf("127.0.0.1"), "loopback");
  EXPECT_EQ(RangeOf("127.255.0.9"), "loopback");
  EXPECT_EQ(RangeOf("10.0.0.1"), "private");
  EXPECT_EQ(RangeOf("172.16.5.5"), "private");
  EXPECT_EQ(RangeOf("192.168.1.1"), "private");
  EXPECT_EQ(RangeOf("169.254.169.254"), "link-local");
  EXPECT_EQ(RangeOf("100.64.0.1"), "cgnat");
  EXPECT_EQ(RangeOf("224.0.0.1"), "multicast");
  EXPECT_EQ(RangeOf("255.255.255.255"), "reserved");
  EXPECT_EQ(RangeOf("0.0.0.0"), "unspecified");
  EXPECT_EQ(RangeOf("::"), "unspecified");
  EXPECT_EQ(RangeOf("::1"), "loopback");
  EXPECT_EQ(RangeOf("fe80::1"), "link-local");
  EXPECT_EQ(RangeOf("fd12:3456::1"), "private");
  EXPECT_EQ(RangeOf("ff02::1"), "multicast");
  // IPv4 carried in IPv6 is judged as IPv4.
  EXPECT_EQ(RangeOf("::ffff:127.0.0.1"), "loopback");
  EXPECT_EQ(RangeOf("::ffff:169.254.169.254"), "link-local");
  EXPECT_EQ(RangeOf("64:ff9b::a00:1"), "private");
  EXPECT_EQ(RangeOf("::10.0.0.1"), "private");
  // Ordinary addresses.
  for (const char* global : {"8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700::1111",
                             "::ffff:8.8.8.8", "169.253.255.255"}) {
    EXPECT_EQ(RangeOf(global), "global") << global;
  }
}

TEST(IpAddressTest, SockaddrRoundTrip) {
  for (const char* text : {"192.0.2.7", "2001:db8::7"}) {
    socklen_t len = 0;
    sockaddr_storage ss = Addr(text).ToSockaddr(8080, &len);
    std::optional<IpAddress> back = IpAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->ToString(), text);
  }
}

}  // namespace
}  // namespace skillrt::net
