// Outgoing HTTP for WebAssembly skills: the host interface `skillrt_http`.
//
// A WebAssembly guest has no sockets (WASI preview 1 has none to create, and skillrt grants no
// wasi:sockets). The only way out is to ask the host to make an HTTP request, and the host
// makes it with net::EgressHttpClient, through the same egress proxy and allowlist as a native
// skill. Wasmtime's own wasi:http implementation is not used: its C API offers no hook to
// check destinations, and it would connect from the host with no allowlist at all.
//
// The interface, version 1 (import module "skillrt_http"; every argument and result is an
// i32; pointers and lengths address the guest's exported memory "memory"; all integers
// little-endian; docs/network.md and examples/lib/c/skillrt_http.h describe it for guests):
//
//   send(method_ptr, method_len, url_ptr, url_len, headers_ptr, headers_len,
//        body_ptr, body_len, response_ptr) -> i32
//       Makes one request and waits for the complete response. Headers are "Name: value"
//       lines separated by "\n" (a "\r" before it is dropped). On success returns 0 and writes
//       16 bytes at response_ptr: u32 handle, u32 status, u32 headers_len, u32 body_len.
//   read_headers(handle, buf_ptr, buf_len) -> i32
//       Copies the response's header lines ("Name: value\r\n" each) from their start; returns
//       the bytes copied.
//   read_body(handle, buf_ptr, buf_len) -> i32
//       Copies the next part of the body; returns the bytes copied, 0 at the end.
//   close(handle) -> i32
//       Frees the response; returns 0.
//   last_error(buf_ptr, buf_len) -> i32
//       Copies the message of the latest failure; returns its full length.
//
// Failures are negative results (kHttp* below); the call's wall-clock limit bounds every
// request, and a request still waiting when it passes ends the call as a timeout.
//
// Components get the same service as the interface `skillrt:skill/http@0.1.0` of
// wit/skillrt.wit: `send: func(request: request) -> result<response, error>`. What the guest
// sends is all strings (method, URL, header lines, a text body): the C API lifts a string as
// its bytes but a list as one value per element, so a list<u8> body would let a guest make the
// host allocate tens of times its own memory. The response has typed headers (bounded by the
// 64 KiB head limit) and a text body; a body that is not UTF-8 is the error `not-text`.
#ifndef SKILLRT_WASM_HTTP_IMPORTS_H_
#define SKILLRT_WASM_HTTP_IMPORTS_H_

#include <wasmtime.h>
#include <wasmtime/component.h>

#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "net/egress_http_client.h"
#include "skillrt/error.h"
#include "skillrt/manifest.h"
#include "skillrt/outcome.h"

namespace skillrt::wasm {

/// Results of the `skillrt_http` functions other than success.
inline constexpr int32_t kHttpInvalid = -1;   ///< Malformed request or argument.
inline constexpr int32_t kHttpDenied = -2;    ///< The egress policy refused the destination.
inline constexpr int32_t kHttpFailed = -3;    ///< Connection, TLS or protocol failure.
inline constexpr int32_t kHttpTimeout = -4;   ///< The request's time ran out.
inline constexpr int32_t kHttpTooLarge = -5;  ///< The response exceeds what the call may hold.
inline constexpr int32_t kHttpBadHandle = -6; ///< No open response has this handle.
inline constexpr int32_t kHttpFault = -7;     ///< A pointer and length leave guest memory.
inline constexpr int32_t kHttpLimit = -8;     ///< Too many responses open at once.

/// The HTTP state of one call: its client (made on the first request), the responses the
/// guest holds and the latest error. Used only on the thread running the call.
class GuestHttp {
 public:
  /// `rules` is the plan's allowlist (empty: every destination is refused, and recorded);
  /// `max_held_bytes` bounds the response bytes held for the guest at once (the call's
  /// memory limit: it could not take in more).
  GuestHttp(std::vector<EgressRule> rules, std::shared_ptr<const net::Resolver> resolver,
            net::EgressHttpClientOptions options, uint64_t max_held_bytes);
  ~GuestHttp();

  /// An open response.
  struct Response {
    net::HttpResponse response;
    size_t body_read = 0;  ///< Bytes of the body already copied to the guest.
  };

  /// Makes a request by `deadline` and returns the response without keeping it (the
  /// component interface, which hands it over at once). The records are kept as for Send.
  std::expected<net::HttpResponse, net::HttpError> Fetch(
      const net::HttpRequest& request, std::chrono::steady_clock::time_point deadline);
  /// Makes a request by `deadline`: a handle (> 0) of the stored response, or an error code
  /// with last_error() set.
  std::variant<uint32_t, int32_t> Send(const net::HttpRequest& request,
                                       std::chrono::steady_clock::time_point deadline);
  /// The open response `handle`, or nullptr.
  Response* Find(uint32_t handle);
  /// Frees `handle`; false if it is not open.
  bool Close(uint32_t handle);

  const std::string& last_error() const { return last_error_; }
  void set_last_error(std::string message) { last_error_ = std::move(message); }

  /// The connection records so far (see EgressHttpClient::TakeRecords).
  std::vector<EgressRecord> TakeRecords();

  /// Responses a guest may hold open at once.
  static constexpr size_t kMaxOpenResponses = 16;

 private:
  std::vector<EgressRule> rules_;
  std::shared_ptr<const net::Resolver> resolver_;
  net::EgressHttpClientOptions options_;
  uint64_t max_held_bytes_;
  std::unique_ptr<net::EgressHttpClient> client_;  // Made on the first Send.
  std::map<uint32_t, Response> responses_;
  uint32_t next_handle_ = 1;
  uint64_t held_bytes_ = 0;
  std::string last_error_;
};

/// Defines the `skillrt_http` functions in `linker`. Stores that run under it must have a
/// CallState as their data, with a GuestHttp (a send without one traps). Errors: kInternal
/// if a definition fails.
Result<void> DefineHttpImports(wasmtime_linker_t* linker);

/// Defines `skillrt:skill/http@0.1.0` (its function `send`) in the component linker `linker`,
/// under the same conditions as DefineHttpImports. Errors: kInternal if a definition fails.
Result<void> DefineComponentHttpImports(wasmtime_component_linker_t* linker);

}  // namespace skillrt::wasm

#endif  // SKILLRT_WASM_HTTP_IMPORTS_H_
