#include "net/egress_policy.h"

#include <algorithm>
#include <charconv>

namespace skillrt::net {
namespace {

bool IsLabelChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// A DNS name (RFC 1035 section 2.3.4 limits; '_' tolerated as real names use it), lower-case.
// The last label must not be all digits: such a "name" is an address in a disguise that
// inet_aton(3) accepts ("127.1", "2130706433").
std::optional<std::string> CheckName(std::string_view text) {
  if (text.empty() || text.size() > 253) return std::nullopt;
  std::string name;
  name.reserve(text.size());
  size_t label = 0;
  bool all_digits = true;
  for (char raw : text) {
    const char c = Lower(raw);
    if (c == '.') {
      if (label == 0) return std::nullopt;
      label = 0;
      all_digits = true;
    } else {
      if (!IsLabelChar(c) || ++label > 63) return std::nullopt;
      if (c < '0' || c > '9') all_digits = false;
    }
    name.push_back(c);
  }
  if (label == 0 || all_digits) return std::nullopt;
  if (name.front() == '-' || name.find(".-") != std::string::npos ||
      name.find("-.") != std::string::npos || name.back() == '-') {
    return std::nullopt;
  }
  return name;
}

Result<IpBlock> CheckBlock(std::string_view text, std::string_view what) {
  std::optional<IpBlock> block = IpBlock::Parse(text);
  if (!block) {
    return Fail(ErrorCode::kValidation,
                "'" + std::string(text) + "' is not an IP address or CIDR block" +
                    (text.find('/') != std::string_view::npos ? " (host bits must be zero)" : "") +
                    std::string(what));
  }
  if (block->prefix < (block->base.v6 ? 32 : 8)) {
    return Fail(ErrorCode::kValidation, "'" + std::string(text) + "' is too broad: a block must " +
                                            "be /8 or narrower for IPv4, /32 for IPv6");
  }
  return *block;
}

// "10.0.0.1" or "10.0.0.0/8" for one address, "fd00::/8" for IPv6: text of a block, with the
// prefix only when it is not a single address.
std::string BlockText(const IpBlock& block) {
  const int bits = block.base.v6 ? 128 : 32;
  return block.prefix == bits ? block.base.ToString() : block.ToString();
}

}  // namespace

std::optional<std::string> NormalizeHostName(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return CheckName(host);
}

Result<EgressRule> ParseEgressRule(std::string_view text,
                                   const std::vector<std::string>& addresses) {
  EgressRule rule;
  std::string_view host = text;
  std::optional<std::string_view> port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return Fail(ErrorCode::kValidation, "'" + std::string(text) + "': missing ']'");
    }
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return Fail(ErrorCode::kValidation,
                    "'" + std::string(text) + "': expected ':PORT' after ']'");
      }
      port = rest.substr(1);
    }
    if (host.find(':') == std::string_view::npos) {
      return Fail(ErrorCode::kValidation, "'" + std::string(text) +
                                              "': brackets are for IPv6 addresses only");
    }
  } else {
    const size_t colon = text.find(':');
    if (colon != std::string_view::npos) {
      if (text.find(':', colon + 1) != std::string_view::npos) {
        return Fail(ErrorCode::kValidation, "'" + std::string(text) +
                                                "': write an IPv6 address in brackets, e.g. "
                                                "\"[fd00::1]:443\"");
      }
      host = text.substr(0, colon);
      port = text.substr(colon + 1);
    }
  }
  if (port) {
    if (*port == "*") {
      rule.port = 0;
    } else {
      unsigned value = 0;
      auto [end, ec] = std::from_chars(port->data(), port->data() + port->size(), value);
      if (port->empty() || ec != std::errc() || end != port->data() + port->size() ||
          value == 0 || value > 65535 || port->front() == '0') {
        return Fail(ErrorCode::kValidation, "'" + std::string(text) + "': port '" +
                                                std::string(*port) +
                                                "' is not a number from 1 to 65535 or '*'");
      }
      rule.port = static_cast<uint16_t>(value);
    }
  }
  if (host.empty()) {
    return Fail(ErrorCode::kValidation, "'" + std::string(text) + "': empty host");
  }
  const bool looks_numeric = host.find(':') != std::string_view::npos ||
                             host.find('/') != std::string_view::npos ||
                             IpAddress::Parse(host).has_value();
  if (looks_numeric) {
    auto block = CheckBlock(host, "");
    if (!block) return std::unexpected(block.error());
    rule.host = BlockText(*block);
    if (!addresses.empty()) {
      return Fail(ErrorCode::kValidation,
                  "'" + std::string(text) +
                      "': 'addresses' is for host names; an address entry names its range itself");
    }
    return rule;
  }
  if (host.starts_with("*.")) {
    std::optional<std::string> suffix = CheckName(host.substr(2));
    if (!suffix || suffix->find('.') == std::string::npos) {
      return Fail(ErrorCode::kValidation,
                  "'" + std::string(text) +
                      "': a wildcard must be '*.' followed by a domain of at least two labels, "
                      "e.g. \"*.example.com\"");
    }
    rule.host = "*." + *suffix;
  } else {
    std::optional<std::string> name = CheckName(host);
    if (!name) {
      return Fail(ErrorCode::kValidation,
                  "'" + std::string(text) +
                      "' is not a host name, a '*.' wildcard, an IPv4 address or block, or an "
                      "IPv6 address or block in brackets");
    }
    rule.host = *name;
  }
  for (const std::string& address : addresses) {
    auto block = CheckBlock(address, "");
    if (!block) return std::unexpected(block.error());
    rule.addresses.push_back(BlockText(*block));
  }
  return rule;
}

Result<EgressPolicy> EgressPolicy::Create(const std::vector<EgressRule>& rules) {
  EgressPolicy policy;
  policy.rules_ = rules;
  for (const EgressRule& rule : rules) {
    Compiled c;
    c.port = rule.port;
    c.tls = rule.tls;
    if (std::optional<IpBlock> block = IpBlock::Parse(rule.host)) {
      c.kind = Compiled::Kind::kBlock;
      c.block = *block;
    } else if (rule.host.starts_with("*.")) {
      c.kind = Compiled::Kind::kWildcard;
      c.name = rule.host.substr(1);
    } else if (std::optional<std::string> name = CheckName(rule.host); name && *name == rule.host) {
      c.name = *name;
    } else {
      return Fail(ErrorCode::kInvalidArgument, "egress rule '" + rule.host + "' is malformed");
    }
    for (const std::string& text : rule.addresses) {
      std::optional<IpBlock> block = IpBlock::Parse(text);
      if (!block) {
        return Fail(ErrorCode::kInvalidArgument,
                    "egress rule '" + rule.host + "': address '" + text + "' is malformed");
      }
      c.addresses.push_back(*block);
    }
    policy.compiled_.push_back(std::move(c));
  }
  return policy;
}

EgressPolicy::HostMatch EgressPolicy::CheckHost(std::string_view host, uint16_t port) const {
  HostMatch match;
  std::optional<IpAddress> literal = IpAddress::Parse(host);
  if (literal) {
    match.literal = literal;
    match.host = literal->ToString();
  } else if (std::optional<std::string> name = NormalizeHostName(host)) {
    match.host = *name;
  } else {
    match.reason = "'" + std::string(host) + "' is not a valid host name or IP address";
    return match;
  }
  const std::optional<IpAddress> embedded = literal ? literal->EmbeddedV4() : std::nullopt;
  bool host_matched = false;
  for (size_t i = 0; i < compiled_.size(); ++i) {
    const Compiled& c = compiled_[i];
    bool hit = false;
    switch (c.kind) {
      case Compiled::Kind::kName: hit = !literal && match.host == c.name; break;
      case Compiled::Kind::kWildcard:
        hit = !literal && match.host.size() > c.name.size() && match.host.ends_with(c.name);
        break;
      case Compiled::Kind::kBlock:
        hit = literal && (c.block.Contains(*literal) || (embedded && c.block.Contains(*embedded)));
        break;
    }
    if (!hit) continue;
    host_matched = true;
    if (c.port != 0 && c.port != port) continue;
    if (match.rules.empty()) match.rule_text = EgressRuleText(rules_[i]);
    match.rules.push_back(i);
  }
  if (match.rules.empty()) {
    match.reason = host_matched ? "port " + std::to_string(port) + " is not allowed for " +
                                      match.host
                                : "host " + match.host + " is not in the allowlist";
    return match;
  }
  match.allowed = true;
  // A rule is a permission: a tunnel that any matching rule allows without TLS is allowed.
  match.tls_only = port == 443 || std::all_of(match.rules.begin(), match.rules.end(),
                                              [this](size_t i) { return compiled_[i].tls; });
  return match;
}

std::optional<std::string> EgressPolicy::RefuseAddress(const HostMatch& match,
                                                       const IpAddress& address) const {
  const std::optional<SpecialRange> range = ClassifyAddress(address);
  if (!range) return std::nullopt;
  const std::optional<IpAddress> embedded = address.EmbeddedV4();
  auto named_by = [&](const IpBlock& block) {
    return block.Contains(address) || (embedded && block.Contains(*embedded));
  };
  for (size_t i : match.rules) {
    const Compiled& c = compiled_[i];
    if (c.kind == Compiled::Kind::kBlock && named_by(c.block)) return std::nullopt;
    for (const IpBlock& block : c.addresses) {
      if (named_by(block)) return std::nullopt;
    }
  }
  return "address " + address.ToString() + " is " + std::string(range->name) + " (" +
         std::string(range->block) + ") and not named for " + match.host;
}

}  // namespace skillrt::net
