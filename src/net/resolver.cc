#include "net/resolver.h"

#include <netdb.h>

#include <algorithm>
#include <memory>

#include "net/egress_policy.h"

namespace skillrt::net {

Result<std::vector<IpAddress>> SystemResolver::Resolve(const std::string& name) const {
  if (auto it = fixed_.find(name); it != fixed_.end()) return it->second;
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* raw = nullptr;
  const int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &raw);
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> list(raw, ::freeaddrinfo);
  if (rc == EAI_NONAME || rc == EAI_NODATA || rc == EAI_FAIL) {
    return Fail(ErrorCode::kNotFound, "name " + name + " does not resolve");
  }
  if (rc == EAI_SYSTEM) return FailErrno(ErrorCode::kIo, "getaddrinfo(" + name + ")", errno);
  if (rc != 0) {
    return Fail(ErrorCode::kIo, "getaddrinfo(" + name + "): " + ::gai_strerror(rc));
  }
  std::vector<IpAddress> out;
  for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    std::optional<IpAddress> address = IpAddress::FromSockaddr(ai->ai_addr);
    if (address && std::find(out.begin(), out.end(), *address) == out.end()) {
      out.push_back(*address);
    }
  }
  if (out.empty()) return Fail(ErrorCode::kNotFound, "name " + name + " has no addresses");
  return out;
}

Result<std::map<std::string, std::vector<IpAddress>>> ParseFixedHosts(
    const std::map<std::string, std::vector<std::string>>& table) {
  std::map<std::string, std::vector<IpAddress>> out;
  for (const auto& [raw_name, texts] : table) {
    std::optional<std::string> name = NormalizeHostName(raw_name);
    if (!name) {
      return Fail(ErrorCode::kInvalidArgument,
                  "egress host table: '" + raw_name + "' is not a host name");
    }
    std::vector<IpAddress>& addresses = out[*name];
    for (const std::string& text : texts) {
      std::optional<IpAddress> address = IpAddress::Parse(text);
      if (!address) {
        return Fail(ErrorCode::kInvalidArgument, "egress host table: " + raw_name + ": '" +
                                                     text + "' is not an IP address");
      }
      addresses.push_back(*address);
    }
  }
  return out;
}

}  // namespace skillrt::net
