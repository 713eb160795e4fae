// The sandbox's network namespace when a run has egress: only the loopback interface, brought
// up inside, and one listening TCP socket on 127.0.0.1 that the child makes and hands to the
// supervisor, where the egress proxy accepts on it (docs/network.md). Nothing else is
// configured: no other interface, no route, no resolver.
#ifndef SKILLRT_SANDBOX_LINUX_NETNS_H_
#define SKILLRT_SANDBOX_LINUX_NETNS_H_

#include <chrono>
#include <cstdint>
#include <string>

#include "skillrt/error.h"
#include "skillrt/fd.h"

namespace skillrt::netns {

/// Child side: sets IFF_UP on `lo` (SIOCSIFFLAGS, netdevice(7)), which needs CAP_NET_ADMIN
/// over the namespace, so it runs before capabilities are dropped. Async-signal-safe. On
/// failure reports on `err_fd` and exits.
void BringUpLoopback(int err_fd);

/// Child side: creates a TCP socket listening on 127.0.0.1:`port` inside the sandbox's
/// namespace and sends it over the AF_UNIX `channel_fd` (SCM_RIGHTS, unix(7)); the child keeps
/// no copy. Async-signal-safe. On failure reports on `err_fd` and exits.
void HandOverListener(uint16_t port, int channel_fd, int err_fd);

/// Supervisor side: receives the listener sent by HandOverListener on `channel_fd`, waiting at
/// most `timeout`. An empty UniqueFd when the child closed the channel without sending (it
/// failed first and reports why on its error pipe). Errors: kSandbox for a timeout or a
/// message that does not carry exactly one descriptor; kIo for a failed recvmsg(2).
Result<UniqueFd> ReceiveListener(int channel_fd, std::chrono::milliseconds timeout);

}  // namespace skillrt::netns

#endif  // SKILLRT_SANDBOX_LINUX_NETNS_H_
