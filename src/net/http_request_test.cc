#include "net/http_request.h"

#include <string>

#include <gtest/gtest.h>

namespace skillrt::net {
namespace {

// The refusal of `head`, as "STATUS reason", or "ok".
std::string Verdict(std::string_view head) {
  std::variant<Request, Refusal> parsed = ParseRequestHead(head);
  if (const Refusal* r = std::get_if<Refusal>(&parsed)) {
    return std::to_string(r->status) + " " + r->reason;
  }
  return "ok";
}

Request Parsed(std::string_view head) {
  std::variant<Request, Refusal> parsed = ParseRequestHead(head);
  EXPECT_TRUE(std::holds_alternative<Request>(parsed)) << std::get<Refusal>(parsed).reason;
  return std::holds_alternative<Request>(parsed) ? std::get<Request>(parsed) : Request{};
}

TEST(HttpRequestTest, HeadEndsAtTheFirstEmptyLineWithCrlfOrBareLf) {
  EXPECT_EQ(FindHeadEnd("GET / HTTP/1.1\r\nA: b\r\n\r\nbody"), 24u);
  EXPECT_EQ(FindHeadEnd("GET / HTTP/1.1\nA: b\n\nbody"), 21u);
  EXPECT_EQ(FindHeadEnd("GET / HTTP/1.1\nA: b\r\n\nbody"), 22u);
  EXPECT_FALSE(FindHeadEnd("GET / HTTP/1.1\r\nA: b\r\n"));
  EXPECT_FALSE(FindHeadEnd("GET / HTTP/1.1\r\nA: b\r\r\n"));
}

// A bare LF is a line end (RFC 9112 section 2.2), so a header "hidden" behind one is a header
// of its own, and the head that goes on is written with CRLF: the destination reads what the
// proxy read.
TEST(HttpRequestTest, BareLfHeadersAreReadAsLinesAndForwardedCanonically) {
  const Request req =
      Parsed("GET http://api.test/x HTTP/1.1\nX-A: 1\nHost: evil.test\nAccept: */*\n\n");
  ASSERT_EQ(req.headers.size(), 3u);
  EXPECT_EQ(req.headers[0], (std::pair<std::string, std::string>{"X-A", "1"}));
  EXPECT_EQ(ForwardedHead(req),
            "GET /x HTTP/1.1\r\nHost: api.test\r\nX-A: 1\r\nAccept: */*\r\n"
            "Connection: close\r\n\r\n");
  // Positive control: the same head with CRLF gives the same request.
  EXPECT_EQ(ForwardedHead(Parsed("GET http://api.test/x HTTP/1.1\r\nX-A: 1\r\nHost: evil.test\r\n"
                                 "Accept: */*\r\n\r\n")),
            ForwardedHead(req));
}

TEST(HttpRequestTest, AmbiguousHeadsAreRefused) {
  EXPECT_EQ(Verdict("GET http://a.test/ HTTP/1.1\r\nX-A: 1\rHost: evil.test\r\n\r\n"),
            "400 a CR not followed by LF in the request head");
  EXPECT_EQ(Verdict("GET http://a.test/ HTTP/1.1\r\nX-A: 1" + std::string(1, '\0') + "2\r\n\r\n"),
            "400 a control character in header field X-A");
  EXPECT_EQ(Verdict("GET http://a.test/ HTTP/1.1\r\nX-A: \x01\r\n\r\n"),
            "400 a control character in header field X-A");
  EXPECT_EQ(Verdict("GET http://a.test/ HTTP/1.1\r\nHost : a.test\r\n\r\n"),
            "400 malformed header line");
  EXPECT_EQ(Verdict("GET http://a.test/ HTTP/1.1\r\nX(A): 1\r\n\r\n"), "400 malformed header line");
  EXPECT_EQ(Verdict("GET http://a.test/ HTTP/1.1\r\nX-A: 1\r\n continued\r\n\r\n"),
            "400 obsolete line folding in a header field");
  EXPECT_EQ(Verdict("GET http://a.test/\t HTTP/1.1\r\n\r\n"), "400 malformed request line");
  // Framing that two readers could disagree on (RFC 9112 section 6).
  EXPECT_EQ(Verdict("POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                    "Content-Length: 5\r\n\r\n"),
            "400 both Transfer-Encoding and Content-Length");
  EXPECT_EQ(
      Verdict("POST http://a.test/ HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
      "400 malformed Content-Length");
  EXPECT_EQ(Verdict("POST http://a.test/ HTTP/1.1\r\nContent-Length: +5\r\n\r\n"),
            "400 malformed Content-Length");
  EXPECT_EQ(Verdict("POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
            "501 transfer coding 'gzip, chunked' is not supported (only chunked)");
  EXPECT_EQ(Verdict("POST http://a.test/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
            "400 Transfer-Encoding in an HTTP/1.0 request");
  // Positive controls.
  EXPECT_EQ(Verdict("POST http://a.test/ HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n"), "ok");
  EXPECT_EQ(Verdict("POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"), "ok");
  EXPECT_EQ(Verdict("GET http://a.test/ HTTP/1.1\r\nX-A: caf\xc3\xa9\t1\r\n\r\n"), "ok");
}

TEST(HttpRequestTest, FramingIsWrittenAgainFromWhatWasParsed) {
  const Request length =
      Parsed("POST http://a.test/ HTTP/1.1\r\ncontent-length: 5, 5\r\nX: y\r\n\r\n");
  EXPECT_EQ(length.framing.kind, BodyFraming::Kind::kLength);
  EXPECT_EQ(ForwardedHead(length),
            "POST / HTTP/1.1\r\nHost: a.test\r\nX: y\r\nContent-Length: 5\r\nConnection: close"
            "\r\n\r\n");
  const Request chunked =
      Parsed("POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(chunked.framing.kind, BodyFraming::Kind::kChunked);
  EXPECT_NE(ForwardedHead(chunked).find("\r\nTransfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_EQ(Parsed("CONNECT a.test:443 HTTP/1.1\r\nContent-Length: 5\r\n\r\n").framing.kind,
            BodyFraming::Kind::kNone);
}

// What RequestBody passes on for `framing` when the client sends `parts` one after another.
struct Passed {
  std::string out;
  uint64_t extra = 0;
  bool ok = true;
  bool done = false;
};
Passed Pass(BodyFraming framing, std::vector<std::string> parts) {
  RequestBody body(framing, 64);
  Passed p;
  for (const std::string& part : parts) p.ok = p.ok && body.Take(part, p.out);
  p.extra = body.extra_bytes();
  p.done = body.done();
  return p;
}

TEST(HttpRequestTest, BodyIsPassedAsFramedAndNothingAfterIt) {
  const std::string pipelined = "GET http://evil.test/ HTTP/1.1\r\n\r\n";
  // No framing: no body; a pipelined request is not passed on.
  Passed none = Pass({}, {pipelined});
  EXPECT_EQ(none.out, "");
  EXPECT_EQ(none.extra, pipelined.size());
  // Content-Length, in pieces.
  Passed length =
      Pass({.kind = BodyFraming::Kind::kLength, .length = 5}, {"he", "llo" + pipelined});
  EXPECT_EQ(length.out, "hello");
  EXPECT_TRUE(length.done);
  EXPECT_EQ(length.extra, pipelined.size());
  // Chunked: decoded and written again, extensions and trailers dropped, bare LF accepted.
  const BodyFraming chunked = {.kind = BodyFraming::Kind::kChunked};
  Passed c = Pass(chunked, {"5;ext=1\r\nhel", "lo\r\n3\nabc\n0\r\nTrailer: x\r\n\r\n" + pipelined});
  EXPECT_TRUE(c.ok);
  EXPECT_TRUE(c.done);
  // Data taken together goes on as one chunk: chunk boundaries carry no meaning.
  EXPECT_EQ(c.out, "3\r\nhel\r\n5\r\nloabc\r\n0\r\n\r\n");
  EXPECT_EQ(c.extra, pipelined.size());
  // Malformed chunked framing stops the body.
  for (const std::string bad :
       {"x\r\n", "5\r\nhelloX\r\n", "5 x\r\n", "5\rA\r\n", "1234567890abcdef\r\n"}) {
    SCOPED_TRACE(bad);
    Passed p = Pass(chunked, {bad});
    EXPECT_FALSE(p.ok);
    EXPECT_FALSE(p.done);
  }
  EXPECT_FALSE(Pass(chunked, {std::string(100, '1')}).ok);  // Longer than a line may be.
}

}  // namespace
}  // namespace skillrt::net
