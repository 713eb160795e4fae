// IP addresses and address blocks as the egress checks need them: parsing the textual forms
// (RFC 4291 section 2.2, RFC 4632 CIDR), containment, and the special-purpose ranges that a
// skill's traffic may not reach unless its manifest names them (RFC 6890 registries).
#ifndef SKILLRT_NET_IP_ADDRESS_H_
#define SKILLRT_NET_IP_ADDRESS_H_

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace skillrt::net {

/// An IPv4 or IPv6 address. Plain value type.
struct IpAddress {
  bool v6 = false;
  /// Network byte order; an IPv4 address uses the first 4 bytes, the rest are zero.
  std::array<uint8_t, 16> bytes = {};

  /// Parses dotted-quad IPv4 ("10.0.0.1": exactly four decimal parts, as inet_pton(3)) or
  /// IPv6 text ("fe80::1", no brackets, no zone). Anything else is nullopt.
  static std::optional<IpAddress> Parse(std::string_view text);
  /// From a sockaddr_in or sockaddr_in6; nullopt for another family.
  static std::optional<IpAddress> FromSockaddr(const sockaddr* addr);

  /// Canonical text (inet_ntop(3)): "10.0.0.1", "fe80::1".
  std::string ToString() const;
  /// A socket address for connect(2) with `port`; `*len` receives its size.
  sockaddr_storage ToSockaddr(uint16_t port, socklen_t* len) const;
  /// The IPv4 address carried inside an IPv6 one: IPv4-mapped (::ffff:0:0/96), IPv4-compatible
  /// (::/96, except :: and ::1) and NAT64 (64:ff9b::/96). nullopt otherwise.
  std::optional<IpAddress> EmbeddedV4() const;

  bool operator==(const IpAddress&) const = default;
};

/// A CIDR block: the addresses sharing `prefix` leading bits with `base`.
struct IpBlock {
  IpAddress base;  ///< Host bits are zero.
  int prefix = 0;  ///< 0-32 for IPv4, 0-128 for IPv6.

  /// Parses "10.0.0.0/8", "fd00::/8" or a single address ("10.0.0.1" is /32, "::1" /128).
  /// Host bits set below the prefix ("10.0.0.1/8") are an error: the writer meant something
  /// else. nullopt when malformed.
  static std::optional<IpBlock> Parse(std::string_view text);

  /// True when `address` (of the same family) lies in the block. An IPv4 block never contains
  /// an IPv6 address; check EmbeddedV4() separately.
  bool Contains(const IpAddress& address) const;
  /// "10.0.0.0/8".
  std::string ToString() const;
};

/// A special-purpose range (RFC 6890) that egress refuses by default.
struct SpecialRange {
  std::string_view name;   ///< "loopback", "private", "link-local", "cgnat", "multicast", ...
  std::string_view block;  ///< The range as CIDR text, e.g. "169.254.0.0/16".
};

/// The refused range `address` lies in, or nullopt for an ordinary (global) address. An
/// IPv6 address that carries an IPv4 one (EmbeddedV4) is judged by the IPv4 address.
/// Ranges: 0.0.0.0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12, 192.0.0.0/24,
/// 192.168/16, 198.18/15, 224/4, 240/4 (with 255.255.255.255); ::/128, ::1/128, fe80::/10,
/// fec0::/10, fc00::/7, ff00::/8, 100::/64. Thread-safe.
std::optional<SpecialRange> ClassifyAddress(const IpAddress& address);

}  // namespace skillrt::net

#endif  // SKILLRT_NET_IP_ADDRESS_H_
