// An HTTP client that makes a skill's requests on its behalf, through the egress proxy.
//
// Runtimes whose guests cannot open sockets (WebAssembly) reach the network only by asking the
// host to make a request. This client makes it with libcurl, but every connection goes through
// an EgressProxy: the same allowlist, name resolution, address refusals and per-connection
// records as a native skill's traffic, from the same code. Each request gets its own proxy
// and its own listener on the host's loopback; libcurl is told of an HTTP proxy at an IP
// literal (so it resolves nothing), and its open-socket callback (CURLOPT_OPENSOCKETFUNCTION,
// which may change the address) binds the socket to a kernel-chosen loopback port and aims it
// at that listener. The listener hands the proxy only the connection from that port; anything
// else that connects is closed unserved. http:// requests are forwarded by the proxy; https://
// ones are tunnelled with CONNECT and verified end to end by libcurl (TLS with the system's CA
// store, or `ca_file`).
#ifndef SKILLRT_NET_EGRESS_HTTP_CLIENT_H_
#define SKILLRT_NET_EGRESS_HTTP_CLIENT_H_

#include <chrono>
#include <functional>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "net/egress_policy.h"
#include "net/resolver.h"
#include "skillrt/outcome.h"

namespace skillrt::net {

/// One request as a guest describes it.
struct HttpRequest {
  std::string method = {};  ///< An upper-case token: "GET", "POST", ... (CONNECT is refused).
  std::string url = {};     ///< An absolute http:// or https:// URL without user information.
  /// Request headers in order. Names are RFC 9110 tokens; values hold no CR, LF or NUL.
  /// Host, Content-Length, Transfer-Encoding, Connection and the other hop-by-hop and proxy
  /// headers are set by the client and refused here.
  std::vector<std::pair<std::string, std::string>> headers = {};
  std::string body = {};  ///< Sent with Content-Length when not empty.
};

/// A complete response (the body is read in full before it is returned).
struct HttpResponse {
  int status = 0;  ///< The final response's status code (1xx interim responses are skipped).
  /// The final response's header lines, "Name: value\r\n" each, in the order received.
  std::string headers = {};
  std::string body = {};
};

/// Why a request produced no response.
enum class HttpFailure {
  kInvalid,   ///< The request is malformed (method, URL, header) or over a client bound.
  kDenied,    ///< The egress policy refused the destination (the message says why).
  kFailed,    ///< Connection, TLS or protocol failure after the policy allowed it.
  kTimeout,   ///< The deadline passed before the response was complete.
  kTooLarge,  ///< The response head or body exceeded its bound.
};

/// A failed request: the kind and a message for the guest (never holding secrets the
/// client did not receive from the guest itself).
struct HttpError {
  HttpFailure kind = HttpFailure::kFailed;
  std::string message;
};

/// Bounds of one client.
struct EgressHttpClientOptions {
  /// Longest wait for a destination to accept a connection (the proxy's, per address).
  std::chrono::milliseconds connect_timeout{10'000};
  /// CA certificates (PEM) used to verify https:// servers instead of the system's store.
  /// Empty: the system's store (libcurl's default, /etc/ssl/certs on Debian).
  std::filesystem::path ca_file = {};
  /// Largest response head (status line and headers), in bytes.
  size_t max_header_bytes = 64 << 10;
  /// Requests one client may make; later ones fail with kInvalid.
  uint32_t max_requests = 256;
  /// Called with each connection's record as the request that made it ends, on the calling
  /// thread, before the request returns. Empty: none.
  std::function<void(const EgressRecord&)> on_record = {};
};

/// One client, usually serving one call of one skill. Not thread-safe: a call makes its
/// requests one at a time. Each request runs its own EgressProxy on one thread, which
/// accepts the connection and serves it; the request blocks the calling thread until the
/// response is complete, the deadline passes or it fails.
class EgressHttpClient {
 public:
  /// `policy` is the skill's allowlist (an empty one refuses every destination); `resolver`
  /// answers names for the proxy and must be thread-safe.
  EgressHttpClient(EgressPolicy policy, std::shared_ptr<const Resolver> resolver,
                   EgressHttpClientOptions options = {});
  ~EgressHttpClient();
  EgressHttpClient(const EgressHttpClient&) = delete;
  EgressHttpClient& operator=(const EgressHttpClient&) = delete;

  /// Makes `request` and returns the response, whose body is at most `max_body_bytes`
  /// (kTooLarge past it). Fails by `deadline` (kTimeout). Every connection attempted, allowed
  /// or refused, adds one record (TakeRecords); a request refused before any connection
  /// (malformed) adds none.
  std::expected<HttpResponse, HttpError> Send(const HttpRequest& request,
                                              std::chrono::steady_clock::time_point deadline,
                                              uint64_t max_body_bytes);

  /// The records of every connection so far, in order; later calls return only newer ones.
  std::vector<EgressRecord> TakeRecords();

 private:
  const std::shared_ptr<const EgressPolicy> policy_;
  const std::shared_ptr<const Resolver> resolver_;
  const EgressHttpClientOptions options_;
  uint32_t requests_ = 0;
  std::vector<EgressRecord> records_;
};

/// Loads libcurl and initialises its global state (curl_global_init) once per process
/// (skillrt/curl_api.h); every EgressHttpClient calls it when made. Thread-safe: the first
/// caller loads and initialises under the guard of a function-local static, and
/// curl_global_init itself is thread-safe in a libcurl with the CURL_VERSION_THREADSAFE
/// feature (7.84 and later; Debian 12's 7.88 has it), so it may run while the process's other
/// threads run. A library that cannot be loaded is reported by every EgressHttpClient::Send,
/// as a kFailed HttpError naming it.
void InitHttpClientLibrary();

}  // namespace skillrt::net

#endif  // SKILLRT_NET_EGRESS_HTTP_CLIENT_H_
