// The egress proxy: an HTTP proxy (RFC 9110 section 9.3.6 CONNECT tunnels, and absolute-form
// requests forwarded for plain HTTP, RFC 9112 section 3.2.2) that lets a skill reach exactly
// the destinations of its EgressPolicy. It resolves names itself, refuses addresses in
// special ranges the manifest does not name, connects to the address it checked (so a name
// cannot be re-resolved elsewhere between check and use), and keeps a record of every
// connection, allowed or refused (docs/network.md).
//
// It serves connections handed to it: a listening socket (Serve), which may live in another
// network namespace than the one the proxy's own outgoing connections are made in, or single
// accepted connections (Handle).
#ifndef SKILLRT_NET_EGRESS_PROXY_H_
#define SKILLRT_NET_EGRESS_PROXY_H_

#include <chrono>
#include <functional>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "net/egress_policy.h"
#include "net/resolver.h"
#include "skillrt/error.h"
#include "skillrt/outcome.h"
#include "skillrt/fd.h"

namespace skillrt::net {

/// Bounds on what one proxy does for a skill.
struct EgressProxyOptions {
  /// Longest wait for a destination to accept a connection (per address tried).
  std::chrono::milliseconds connect_timeout{10'000};
  /// Longest wait for a client's complete request head.
  std::chrono::milliseconds header_timeout{10'000};
  /// Largest request head (request line and headers) accepted, in bytes.
  size_t max_header_bytes = 16 << 10;
  /// Connections served at once; one past it is refused with 503 (and recorded).
  uint32_t max_connections = 64;
  /// Records kept; later connections are still served and counted in dropped_records().
  size_t max_records = 10'000;
  /// Called with each connection's record as the connection ends (whether or not it is
  /// kept), on the thread that served it: several calls may run at once. Must not block for
  /// long or call back into the proxy. Empty: none.
  std::function<void(const EgressRecord&)> on_record = {};
};

/// One proxy instance, usually serving one run. Thread-safe. Each connection is served on its
/// own thread; every thread has ended when Stop returns.
class EgressProxy {
 public:
  /// `resolver` is shared with the caller and must be thread-safe.
  EgressProxy(EgressPolicy policy, std::shared_ptr<const Resolver> resolver,
              EgressProxyOptions options = {});
  /// Stops the proxy (as Stop) if it is still running.
  ~EgressProxy();
  EgressProxy(const EgressProxy&) = delete;
  EgressProxy& operator=(const EgressProxy&) = delete;

  /// Accepts connections on `listener` (a listening SOCK_STREAM socket, owned from now on) on a
  /// background thread until Stop. kInvalidArgument if already serving or stopped; kIo if the
  /// thread cannot start.
  Result<void> Serve(UniqueFd listener);

  /// Serves one accepted connection `client` (owned from now on) on its own thread. A
  /// connection handed over after Stop is closed unserved (and recorded as refused).
  void Handle(UniqueFd client);

  /// Serves one accepted connection `client` (owned from now on) on the calling thread and
  /// returns when it has ended. Stop, from another thread, waits for it within its grace
  /// period and then cuts it like any other. After Stop the connection is closed unserved.
  void ServeHere(UniqueFd client);

  /// Stops accepting, cuts every open connection (shutdown(2) on both sides), waits for every
  /// thread (and every ServeHere call) and returns the records, in the order the connections ended. With a `grace`
  /// period, connections first get up to that long to end on their own (a client that has
  /// closed its side, a destination finishing its answer) before the rest are cut. Idempotent:
  /// later calls return nothing more.
  std::vector<EgressRecord> Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(0));

  /// Records not kept because max_records was reached.
  uint64_t dropped_records() const;

 private:
  void AcceptLoop();
  void Serve1(UniqueFd client, std::chrono::steady_clock::time_point started);
  void Spawn(UniqueFd client);
  void Finish(EgressRecord record);
  bool Track(int fd);
  void Untrack(int fd);

  const EgressPolicy policy_;
  const std::shared_ptr<const Resolver> resolver_;
  const EgressProxyOptions options_;
  UniqueFd stop_fd_;  // eventfd(2): readable once stopping.

  mutable std::mutex mu_;
  bool stopping_ = false;                          // Guarded by mu_.
  UniqueFd listener_;                              // Guarded by mu_ until the thread starts.
  std::thread accept_thread_;
  std::map<uint64_t, std::thread> workers_;        // Guarded by mu_.
  std::vector<uint64_t> finished_;                 // Guarded by mu_: workers to join.
  std::condition_variable worker_done_;            // Signalled when a worker finishes.
  uint32_t serving_here_ = 0;                      // Guarded by mu_: ServeHere calls running.
  uint64_t next_worker_ = 0;                       // Guarded by mu_.
  std::set<int> live_fds_;                         // Guarded by mu_: sockets to cut on Stop.
  std::vector<EgressRecord> records_;              // Guarded by mu_.
  uint64_t dropped_ = 0;                           // Guarded by mu_.
};

}  // namespace skillrt::net

#endif  // SKILLRT_NET_EGRESS_PROXY_H_
