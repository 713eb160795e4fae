#include "runtime/egress_namespace.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <thread>

namespace skillrt::netns {
namespace {

// The body of CreateEgressNamespace, on a thread whose namespace may change.
Result<EgressNamespace> CreateOnThisThread(uint16_t port) {
  if (::unshare(CLONE_NEWNET) != 0) {
    const int err = errno;
    return FailErrno(err == EPERM ? ErrorCode::kUnsupported : ErrorCode::kIo,
                     "unshare(CLONE_NEWNET) for the container's network", err);
  }
  EgressNamespace made;
  made.ns = UniqueFd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!made.ns) return FailErrno(ErrorCode::kIo, "open(/proc/thread-self/ns/net)", errno);
  UniqueFd control(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!control) return FailErrno(ErrorCode::kIo, "socket(AF_INET, for lo)", errno);
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof(ifr));
  std::memcpy(ifr.ifr_name, "lo", 3);
  if (::ioctl(control.get(), SIOCGIFFLAGS, &ifr) != 0) {
    return FailErrno(ErrorCode::kIo, "ioctl(lo, SIOCGIFFLAGS)", errno);
  }
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(control.get(), SIOCSIFFLAGS, &ifr) != 0) {
    return FailErrno(ErrorCode::kIo, "ioctl(lo, SIOCSIFFLAGS)", errno);
  }
  made.listener = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!made.listener) return FailErrno(ErrorCode::kIo, "socket(egress proxy listener)", errno);
  struct sockaddr_in addr;
  std::memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(made.listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return FailErrno(ErrorCode::kIo, "bind(127.0.0.1, egress proxy port)", errno);
  }
  if (::listen(made.listener.get(), 128) != 0) {
    return FailErrno(ErrorCode::kIo, "listen(egress proxy)", errno);
  }
  return made;
}

}  // namespace

Result<EgressNamespace> CreateEgressNamespace(uint16_t port) {
  // The thread ends right after: nothing else ever runs in the new namespace on it, and the
  // caller's own threads keep the host's.
  Result<EgressNamespace> made = Fail(ErrorCode::kInternal, "egress namespace not made");
  try {
    std::thread([&made, port] { made = CreateOnThisThread(port); }).join();
  } catch (const std::system_error& e) {
    return FailErrno(ErrorCode::kIo, "std::thread (egress namespace)", e.code().value());
  }
  return made;
}

}  // namespace skillrt::netns
