// Name resolution for the egress proxy: the host's resolver (getaddrinfo(3)), with an optional
// fixed table of names answered without DNS.
#ifndef SKILLRT_NET_RESOLVER_H_
#define SKILLRT_NET_RESOLVER_H_

#include <map>
#include <string>
#include <vector>

#include "net/ip_address.h"
#include "skillrt/error.h"

namespace skillrt::net {

/// Turns a host name into addresses. Implementations are thread-safe.
class Resolver {
 public:
  virtual ~Resolver() = default;

  /// The addresses of `name` (a normalised host name, never an IP literal), in the order to
  /// try. kNotFound when the name does not resolve; kIo for a resolver failure.
  virtual Result<std::vector<IpAddress>> Resolve(const std::string& name) const = 0;
};

/// The host's resolver through getaddrinfo(3) (AF_UNSPEC, SOCK_STREAM), optionally preceded
/// by `fixed`: names found there (lower-case keys) get exactly those addresses and are never
/// looked up. The table is for tests and for deployments that pin names; the address rules
/// of EgressPolicy apply to its answers as to any other.
class SystemResolver final : public Resolver {
 public:
  SystemResolver() = default;
  explicit SystemResolver(std::map<std::string, std::vector<IpAddress>> fixed)
      : fixed_(std::move(fixed)) {}

  Result<std::vector<IpAddress>> Resolve(const std::string& name) const override;

 private:
  std::map<std::string, std::vector<IpAddress>> fixed_;
};

/// Parses a fixed table as NativeRuntimeOptions carries it (name -> address texts). Errors:
/// kInvalidArgument naming the entry that is not a host name or an IP address.
Result<std::map<std::string, std::vector<IpAddress>>> ParseFixedHosts(
    const std::map<std::string, std::vector<std::string>>& table);

}  // namespace skillrt::net

#endif  // SKILLRT_NET_RESOLVER_H_
