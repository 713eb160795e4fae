// The HTTP/1.1 requests the egress proxy accepts (RFC 9112), read strictly enough that what it
// forwards is read by the destination exactly as the proxy read it: the head is parsed into
// lines and written out again in canonical form, and a request body is passed on as its
// framing (RFC 9112 section 6) says and no further, so that bytes after it (a pipelined second
// request) never reach the destination unchecked.
#ifndef SKILLRT_NET_HTTP_REQUEST_H_
#define SKILLRT_NET_HTTP_REQUEST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace skillrt::net {

/// A refused request: the status code and the reason the client and the record get.
struct Refusal {
  int status = 400;
  std::string reason = {};
};

/// A request's destination, from a CONNECT authority or an absolute-form URL.
struct Target {
  std::string host = {};  ///< Without brackets, as written (not yet normalised).
  uint16_t port = 0;
};

/// How a request's body is delimited (RFC 9112 section 6.3).
struct BodyFraming {
  enum class Kind {
    kNone,     ///< No Content-Length or Transfer-Encoding: no body (a request, rule 7).
    kLength,   ///< Content-Length: `length` bytes.
    kChunked,  ///< Transfer-Encoding: chunked.
  } kind = Kind::kNone;
  uint64_t length = 0;
};

/// A parsed request head.
struct Request {
  std::string method = {};
  Target target = {};
  std::string path = {};     ///< Origin-form for forwarded requests; empty for CONNECT.
  std::string version = {};  ///< "HTTP/1.1" or "HTTP/1.0".
  std::vector<std::pair<std::string, std::string>> headers = {};  ///< Name, trimmed value.
  BodyFraming framing = {};  ///< Set for forwarded requests; kNone for CONNECT.
};

/// The length of the request head at the start of `data`, up to and including the empty line
/// that ends it, or nullopt while that line has not arrived. Lines end in CRLF; a bare LF is
/// accepted as a line end too (RFC 9112 section 2.2 allows a recipient to), which is safe
/// because the proxy never forwards the head as received (ForwardedHead).
std::optional<size_t> FindHeadEnd(std::string_view data);

/// Parses `head` (as FindHeadEnd delimits it): the request line (CONNECT host:port, or an
/// absolute http:// URL), then "Name: value" fields. Refused with 400: a CR not followed by LF
/// (RFC 9112 section 2.2), NUL or another control character other than HTAB in a value (RFC
/// 9110 section 5.5), a field name that is not a token or is followed by whitespace before
/// the colon (RFC 9112 section 5.1), obsolete line folding (section 5.2), a malformed request
/// line, method, version or URL; for a forwarded request also framing that could be read two
/// ways: both Transfer-Encoding and Content-Length, Content-Length values that differ or are
/// not numbers, Transfer-Encoding in HTTP/1.0 (section 6.1). A transfer coding other than
/// "chunked" alone is refused with 501. Pure; thread-safe.
[[nodiscard]] std::variant<Request, Refusal> ParseRequestHead(std::string_view head);

/// The head sent to the destination for a forwarded request, with CRLF line ends: origin-form
/// target, the URL's authority as Host, the client's fields without hop-by-hop and proxy
/// fields (and without its framing fields, written again from `req.framing`), and
/// "Connection: close": one request per connection.
std::string ForwardedHead(const Request& req);

/// Passes a forwarded request's body on as its framing delimits it, and nothing after it. A
/// chunked body is decoded and encoded again (chunk extensions and trailer fields are
/// dropped, RFC 9112 sections 7.1.1 and 7.1.2), so the destination reads the same chunks the
/// proxy read; line ends in it may be CRLF or a bare LF, as in the head. Not thread-safe; one
/// per connection.
class RequestBody {
 public:
  /// `max_line_bytes` bounds a chunk-size line and each trailer line.
  RequestBody(BodyFraming framing, size_t max_line_bytes);

  /// Takes bytes from the client: appends to `out` what the destination is to get. Bytes past
  /// the end of the body are counted in extra_bytes() and not passed on. False (and nothing
  /// more is taken) when a chunked body is malformed; error() says how.
  [[nodiscard]] bool Take(std::string_view data, std::string& out);

  /// True once the whole body has been taken.
  bool done() const { return state_ == State::kDone; }
  /// Bytes the client sent after the body: a pipelined request, which is not forwarded.
  uint64_t extra_bytes() const { return extra_bytes_; }
  const std::string& error() const { return error_; }

 private:
  enum class State {
    kLength,   // Content-Length: remaining_ bytes to pass.
    kSize,     // A chunk-size line.
    kData,     // remaining_ bytes of chunk data.
    kDataEnd,  // The line end after chunk data.
    kTrailer,  // Trailer lines, until an empty one.
    kDone,
    kFailed,
  };
  bool Fail(std::string why);
  // One line of a chunked body (its end removed) is complete in line_.
  bool EndSizeLine();

  State state_;
  uint64_t remaining_ = 0;
  size_t max_line_bytes_;
  std::string line_;  // The current chunk-size or trailer line.
  uint64_t extra_bytes_ = 0;
  std::string error_;
};

}  // namespace skillrt::net

#endif  // SKILLRT_NET_HTTP_REQUEST_H_
