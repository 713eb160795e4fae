// A network namespace of skillrt's for a runtime that does not make its own (the container
// engine joins it): the floor's part of egress set-up, beside the egress proxy (src/net).
#ifndef SKILLRT_RUNTIME_EGRESS_NAMESPACE_H_
#define SKILLRT_RUNTIME_EGRESS_NAMESPACE_H_

#include <cstdint>

#include "skillrt/error.h"
#include "skillrt/fd.h"

namespace skillrt::netns {

/// A network namespace made for a container's egress: its loopback up, a listener on
/// 127.0.0.1:port inside it, nothing else.
struct EgressNamespace {
  UniqueFd ns;        ///< The namespace (an open /proc/thread-self/ns/net): keeps it alive.
  UniqueFd listener;  ///< The listening TCP socket inside it, for the egress proxy.
};

/// Supervisor side, for runtimes that do not create their own namespaces (containers): makes a
/// new network namespace on a short-lived thread of its own (unshare(2) CLONE_NEWNET changes
/// only the calling thread's namespace), brings its loopback up and makes the listener there.
/// The namespace lives as long as `ns` or the listener is open; an engine joins it by the path
/// /proc/<pid>/fd/<ns>. Needs CAP_SYS_ADMIN. Errors: kUnsupported when the namespace cannot
/// be created (no privilege), kIo for other failures; nothing is left behind.
Result<EgressNamespace> CreateEgressNamespace(uint16_t port);

}  // namespace skillrt::netns

#endif  // SKILLRT_RUNTIME_EGRESS_NAMESPACE_H_
