// The egress allowlist as a checker: which host names, addresses and ports a skill's
// connections may reach (docs/network.md). Shared by every runtime that lets a skill out: the
// native sandbox's proxy, and any other front end that connects on a skill's behalf.
#ifndef SKILLRT_NET_EGRESS_POLICY_H_
#define SKILLRT_NET_EGRESS_POLICY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/ip_address.h"
#include "skillrt/error.h"
#include "skillrt/manifest.h"

namespace skillrt::net {

/// Parses one allowlist entry as a manifest writes it: `host_port` is "HOST", "HOST:PORT" or
/// "HOST:*", where HOST is a DNS name (letters, digits, '-', '_', dots; labels of 1-63
/// characters, at most 253 in all, the last label not all digits), "*.NAME" (subdomains of
/// NAME, at any depth, not NAME itself), an IPv4 address or block ("10.1.2.3",
/// "10.1.0.0/16") or an IPv6 one in brackets ("[fd00::1]", "[fd00::/64]"). A port is
/// 1-65535 or '*' (any); none means 443. `addresses` are CIDR blocks or addresses that the
/// host may resolve to although they lie in a refused range; they are only meaningful for a
/// name. Blocks broader than /8 (IPv4) or /32 (IPv6) are refused as too broad. Returns the
/// normalised rule (lower case, canonical address text). Errors: kValidation with a message
/// that names the offending part but not the manifest key (the caller adds that).
/// Thread-safe.
Result<EgressRule> ParseEgressRule(std::string_view host_port,
                                   const std::vector<std::string>& addresses);


/// A host name of a request, lower-cased, with one trailing dot removed; nullopt when it is
/// not a valid DNS name as ParseEgressRule defines it (so "0x7f.1", "127.1", "a..b" and names
/// with '%', '@' or spaces never reach a resolver).
std::optional<std::string> NormalizeHostName(std::string_view host);

/// The allowlist, compiled. Immutable after Create: thread-safe for concurrent checks.
class EgressPolicy {
 public:
  /// The result of checking a requested host and port.
  struct HostMatch {
    bool allowed = false;
    std::string reason;             ///< Why not, when !allowed.
    std::string host;               ///< The normalised host (name or canonical address).
    std::optional<IpAddress> literal;  ///< Set when the host is an IP address.
    std::vector<size_t> rules;      ///< Indexes of the matching rules.
    std::string rule_text;          ///< EgressRuleText of the first matching rule.
    /// A CONNECT tunnel must start with a TLS ClientHello: the port is 443 (HTTPS, RFC 9110
    /// section 4.2.2), or every matching rule says `tls`. Otherwise a tunnel may carry any
    /// protocol, and the name is checked on the CONNECT request only.
    bool tls_only = false;
  };

  /// Compiles `rules` (as ParseEgressRule returns them). kInvalidArgument for a rule that
  /// does not parse again.
  static Result<EgressPolicy> Create(const std::vector<EgressRule>& rules);

  /// Checks `host` (a name, or an IP address without brackets) and `port` against the rules:
  /// a name matches name and wildcard rules, an address only address and block rules (an
  /// IPv4-mapped IPv6 address also as its IPv4 address). Sets `tls_only` for an allowed match.
  HostMatch CheckHost(std::string_view host, uint16_t port) const;

  /// Whether the proxy may connect to `address` for a request that matched `match`: nullopt
  /// when it may, else the reason. An ordinary (global) address is allowed; one in a refused
  /// range (ClassifyAddress) only when a matching rule names it: the rule's own address or
  /// block, or one of its `addresses`.
  std::optional<std::string> RefuseAddress(const HostMatch& match,
                                           const IpAddress& address) const;

  bool empty() const { return rules_.empty(); }
  const std::vector<EgressRule>& rules() const { return rules_; }

 private:
  struct Compiled {
    enum class Kind { kName, kWildcard, kBlock } kind = Kind::kName;
    std::string name;  // kName: the name; kWildcard: ".suffix".
    IpBlock block;     // kBlock.
    uint16_t port = 0;
    std::vector<IpBlock> addresses;
    bool tls = false;
  };
  std::vector<EgressRule> rules_;
  std::vector<Compiled> compiled_;
};

}  // namespace skillrt::net

#endif  // SKILLRT_NET_EGRESS_POLICY_H_
