#include "net/ip_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace skillrt::net {
namespace {

struct RangeEntry {
  SpecialRange range;
  IpBlock block;
};

// Each range with the reason a skill's traffic must not reach it unnamed.
const std::array<RangeEntry, 18>& Ranges() {
  static const std::array<RangeEntry, 18> ranges = [] {
    auto entry = [](std::string_view name, std::string_view block) {
      return RangeEntry{{name, block}, *IpBlock::Parse(block)};
    };
    return std::array<RangeEntry, 18>{
        // "This network": 0.0.0.0 reaches the local host on Linux.
        entry("unspecified", "0.0.0.0/8"),
        // RFC 1918: the host's own network, its routers and internal services.
        entry("private", "10.0.0.0/8"),
        // Carrier-grade NAT shared space: the provider's internal network.
        entry("cgnat", "100.64.0.0/10"),
        // The host itself: its local services and administration ports.
        entry("loopback", "127.0.0.0/8"),
        // Link-local, including the cloud metadata service at 169.254.169.254, which hands
        // out the machine's credentials.
        entry("link-local", "169.254.0.0/16"),
        entry("private", "172.16.0.0/12"),
        // IETF protocol assignments (DS-Lite and NAT64 infrastructure).
        entry("reserved", "192.0.0.0/24"),
        entry("private", "192.168.0.0/16"),
        // Benchmarking networks, used inside labs and some clouds.
        entry("reserved", "198.18.0.0/15"),
        // Multicast reaches every listener of a group on the local network.
        entry("multicast", "224.0.0.0/4"),
        // Reserved for future use, and the limited broadcast address.
        entry("reserved", "240.0.0.0/4"),
        entry("unspecified", "::/128"),
        entry("loopback", "::1/128"),
        entry("link-local", "fe80::/10"),
        // Deprecated site-local: still routed internally by some networks.
        entry("private", "fec0::/10"),
        // Unique local addresses: the IPv6 counterpart of RFC 1918.
        entry("private", "fc00::/7"),
        entry("multicast", "ff00::/8"),
        // Discard-only prefix.
        entry("reserved", "100::/64"),
    };
  }();
  return ranges;
}

}  // namespace

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress out;
  if (text.find(':') == std::string_view::npos) {
    if (::inet_pton(AF_INET, buf, out.bytes.data()) != 1) return std::nullopt;
    return out;
  }
  out.v6 = true;
  if (::inet_pton(AF_INET6, buf, out.bytes.data()) != 1) return std::nullopt;
  return out;
}

std::optional<IpAddress> IpAddress::FromSockaddr(const sockaddr* addr) {
  IpAddress out;
  if (addr->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    std::memcpy(out.bytes.data(), &in->sin_addr, 4);
    return out;
  }
  if (addr->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
    out.v6 = true;
    std::memcpy(out.bytes.data(), &in6->sin6_addr, 16);
    return out;
  }
  return std::nullopt;
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof(buf));
  return buf;
}

sockaddr_storage IpAddress::ToSockaddr(uint16_t port, socklen_t* len) const {
  sockaddr_storage ss = {};
  if (v6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    std::memcpy(&in6->sin6_addr, bytes.data(), 16);
    *len = sizeof(sockaddr_in6);
  } else {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    std::memcpy(&in->sin_addr, bytes.data(), 4);
    *len = sizeof(sockaddr_in);
  }
  return ss;
}

std::optional<IpAddress> IpAddress::EmbeddedV4() const {
  if (!v6) return std::nullopt;
  auto zero = [&](int from, int to) {
    for (int i = from; i < to; ++i) {
      if (bytes[i] != 0) return false;
    }
    return true;
  };
  const bool mapped = zero(0, 10) && bytes[10] == 0xff && bytes[11] == 0xff;
  const bool compatible = zero(0, 12) && !zero(12, 16) &&
                          !(zero(12, 15) && bytes[15] == 1);  // Not :: or ::1.
  const bool nat64 = bytes[0] == 0x00 && bytes[1] == 0x64 && bytes[2] == 0xff &&
                     bytes[3] == 0x9b && zero(4, 12);
  if (!mapped && !compatible && !nat64) return std::nullopt;
  IpAddress v4;
  std::memcpy(v4.bytes.data(), bytes.data() + 12, 4);
  return v4;
}

std::optional<IpBlock> IpBlock::Parse(std::string_view text) {
  const size_t slash = text.find('/');
  std::optional<IpAddress> base = IpAddress::Parse(text.substr(0, slash));
  if (!base) return std::nullopt;
  const int bits = base->v6 ? 128 : 32;
  int prefix = bits;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits[0] == '0')) {
      return std::nullopt;
    }
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (ec != std::errc() || end != digits.data() + digits.size() || prefix < 0 ||
        prefix > bits) {
      return std::nullopt;
    }
  }
  for (int bit = prefix; bit < bits; ++bit) {
    if (base->bytes[bit / 8] & (0x80 >> (bit % 8))) return std::nullopt;
  }
  return IpBlock{*base, prefix};
}

bool IpBlock::Contains(const IpAddress& address) const {
  if (address.v6 != base.v6) return false;
  const int full = prefix / 8;
  if (std::memcmp(address.bytes.data(), base.bytes.data(), static_cast<size_t>(full)) != 0) {
    return false;
  }
  const int rest = prefix % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (address.bytes[full] & mask) == (base.bytes[full] & mask);
}

std::string IpBlock::ToString() const { return base.ToString() + "/" + std::to_string(prefix); }

std::optional<SpecialRange> ClassifyAddress(const IpAddress& address) {
  if (std::optional<IpAddress> v4 = address.EmbeddedV4()) return ClassifyAddress(*v4);
  for (const RangeEntry& entry : Ranges()) {
    if (entry.block.Contains(address)) return entry.range;
  }
  return std::nullopt;
}

}  // namespace skillrt::net
