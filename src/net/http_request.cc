#include "net/http_request.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>

namespace skillrt::net {
namespace {

// Case-insensitive ASCII comparison.
bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// RFC 9110 section 5.6.2: tchar.
bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return s;
}

// RFC 9110 section 5.5: a field value holds visible characters, obs-text, SP and HTAB only;
// NUL, CR, LF and the other controls are refused rather than passed on.
bool IsFieldValue(std::string_view value) {
  return std::all_of(value.begin(), value.end(), [](char raw) {
    const auto c = static_cast<unsigned char>(raw);
    return c == '\t' || (c >= 0x20 && c != 0x7F);
  });
}

// The comma-separated elements of a list-valued field (RFC 9110 section 5.6.1), trimmed;
// empty elements are skipped.
std::vector<std::string_view> ListElements(std::string_view value) {
  std::vector<std::string_view> out;
  while (true) {
    const size_t comma = value.find(',');
    std::string_view element = Trim(value.substr(0, comma));
    if (!element.empty()) out.push_back(element);
    if (comma == std::string_view::npos) return out;
    value.remove_prefix(comma + 1);
  }
}

// "host:port", "[v6]:port"; `default_port` when the port is absent (0: the port is required).
std::optional<Target> ParseAuthority(std::string_view authority, uint16_t default_port) {
  Target target;
  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    target.host = std::string(authority.substr(1, close - 1));
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port_text = rest.substr(1);
      has_port = true;
    }
    if (target.host.find(':') == std::string::npos) return std::nullopt;
  } else {
    const size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      has_port = true;
      authority = authority.substr(0, colon);
    }
    if (authority.find(':') != std::string_view::npos) return std::nullopt;
    target.host = std::string(authority);
  }
  if (target.host.empty()) return std::nullopt;
  if (!has_port) {
    if (default_port == 0) return std::nullopt;
    target.port = default_port;
    return target;
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      value == 0 || value > 65535) {
    return std::nullopt;
  }
  target.port = static_cast<uint16_t>(value);
  return target;
}

// The request line: method, target (CONNECT authority or absolute http:// URL), version.
std::optional<Refusal> ParseRequestLine(std::string_view line, Request& req) {
  for (char c : line) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) return Refusal{400, "malformed request line"};
  }
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return Refusal{400, "malformed request line"};
  }
  req.method = std::string(line.substr(0, sp1));
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  req.version = std::string(line.substr(sp2 + 1));
  if (req.version != "HTTP/1.1" && req.version != "HTTP/1.0") {
    return Refusal{400, "unsupported protocol version"};
  }
  for (char c : req.method) {
    if (c < 'A' || c > 'Z') return Refusal{400, "malformed method"};
  }
  if (req.method.empty()) return Refusal{400, "malformed method"};
  if (req.method == "CONNECT") {
    std::optional<Target> t = ParseAuthority(target, 0);
    if (!t) return Refusal{400, "CONNECT needs host:port"};
    req.target = *t;
  } else {
    constexpr std::string_view kScheme = "http://";
    if (target.size() < kScheme.size() || !IEquals(target.substr(0, kScheme.size()), kScheme)) {
      return Refusal{400, "only CONNECT and absolute http:// URLs are proxied"};
    }
    std::string_view rest = target.substr(kScheme.size());
    const size_t end = rest.find_first_of("/?#");
    const std::string_view authority = rest.substr(0, end);
    if (authority.find('@') != std::string_view::npos) {
      return Refusal{400, "user information in the URL is not accepted"};
    }
    std::optional<Target> t = ParseAuthority(authority, 80);
    if (!t) return Refusal{400, "malformed URL authority"};
    req.target = *t;
    std::string_view path = end == std::string_view::npos ? "" : rest.substr(end);
    if (!path.empty() && path.front() == '#') path = "";
    if (path.empty()) {
      req.path = "/";
    } else {
      req.path = path.front() == '/' ? std::string(path) : "/" + std::string(path);
    }
    if (req.path.find('#') != std::string::npos) req.path.erase(req.path.find('#'));
  }
  for (char c : req.target.host) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '%') {
      return Refusal{400, "malformed host"};
    }
  }
  return std::nullopt;
}

// The body framing of a forwarded request (RFC 9112 section 6), refusing any that the
// destination could read differently.
std::optional<Refusal> ParseFraming(Request& req) {
  std::vector<std::string_view> codings;
  bool has_transfer_encoding = false;
  std::optional<uint64_t> length;
  for (const auto& [name, value] : req.headers) {
    if (IEquals(name, "Transfer-Encoding")) {
      has_transfer_encoding = true;
      for (std::string_view coding : ListElements(value)) codings.push_back(coding);
    } else if (IEquals(name, "Content-Length")) {
      // Section 6.3 rule 5: repeated values must agree; anything else is refused.
      const std::vector<std::string_view> values = ListElements(value);
      if (values.empty()) return Refusal{400, "malformed Content-Length"};
      for (std::string_view text : values) {
        uint64_t n = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
        if (ec != std::errc() || end != text.data() + text.size() || text.front() == '+' ||
            (length && *length != n)) {
          return Refusal{400, "malformed Content-Length"};
        }
        length = n;
      }
    }
  }
  if (has_transfer_encoding) {
    // Section 6.3 rule 3: both is how requests are smuggled past one reader of two.
    if (length) return Refusal{400, "both Transfer-Encoding and Content-Length"};
    if (req.version == "HTTP/1.0") return Refusal{400, "Transfer-Encoding in an HTTP/1.0 request"};
    if (codings.size() != 1 || !IEquals(codings[0], "chunked")) {
      std::string text;
      for (std::string_view c : codings) text += (text.empty() ? "" : ", ") + std::string(c);
      return Refusal{501, "transfer coding '" + text + "' is not supported (only chunked)"};
    }
    req.framing = {.kind = BodyFraming::Kind::kChunked};
  } else if (length) {
    req.framing = {.kind = BodyFraming::Kind::kLength, .length = *length};
  }
  return std::nullopt;
}

}  // namespace

std::optional<size_t> FindHeadEnd(std::string_view data) {
  for (size_t i = data.find('\n'); i != std::string_view::npos; i = data.find('\n', i + 1)) {
    size_t next = i + 1;
    if (next < data.size() && data[next] == '\r') ++next;
    if (next < data.size() && data[next] == '\n') return next + 1;
  }
  return std::nullopt;
}

std::variant<Request, Refusal> ParseRequestHead(std::string_view head) {
  // Lines end at LF, with one CR before it removed; a CR anywhere else is refused.
  std::vector<std::string_view> lines;
  for (size_t pos = 0; pos < head.size();) {
    size_t lf = head.find('\n', pos);
    if (lf == std::string_view::npos) lf = head.size();
    std::string_view line = head.substr(pos, lf - pos);
    pos = lf + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\r') != std::string_view::npos) {
      return Refusal{400, "a CR not followed by LF in the request head"};
    }
    if (line.empty()) break;
    lines.push_back(line);
  }
  if (lines.empty()) return Refusal{400, "malformed request line"};
  Request req;
  if (std::optional<Refusal> bad = ParseRequestLine(lines[0], req)) return *bad;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string_view h = lines[i];
    if (IsBlank(h.front())) return Refusal{400, "obsolete line folding in a header field"};
    const size_t colon = h.find(':');
    if (colon == std::string_view::npos || colon == 0 ||
        !std::all_of(h.begin(), h.begin() + static_cast<std::ptrdiff_t>(colon), IsTokenChar)) {
      return Refusal{400, "malformed header line"};
    }
    const std::string_view value = Trim(h.substr(colon + 1));
    if (!IsFieldValue(value)) {
      return Refusal{400, "a control character in header field " + std::string(h.substr(0, colon))};
    }
    req.headers.emplace_back(std::string(h.substr(0, colon)), std::string(value));
  }
  if (req.method != "CONNECT") {
    if (std::optional<Refusal> bad = ParseFraming(req)) return *bad;
  }
  return req;
}

std::string ForwardedHead(const Request& req) {
  std::string host = req.target.host.find(':') != std::string::npos ? "[" + req.target.host + "]"
                                                                    : req.target.host;
  if (req.target.port != 80) host += ":" + std::to_string(req.target.port);
  std::string out = req.method + " " + req.path + " " + req.version + "\r\nHost: " + host + "\r\n";
  for (const auto& [name, value] : req.headers) {
    if (IEquals(name, "Host") || IEquals(name, "Connection") || IEquals(name, "Keep-Alive") ||
        IEquals(name, "Proxy-Connection") || IEquals(name, "Proxy-Authorization") ||
        IEquals(name, "TE") || IEquals(name, "Upgrade") || IEquals(name, "Content-Length") ||
        IEquals(name, "Transfer-Encoding")) {
      continue;
    }
    out += name + ": " + value + "\r\n";
  }
  switch (req.framing.kind) {
    case BodyFraming::Kind::kNone:
      break;
    case BodyFraming::Kind::kLength:
      out += "Content-Length: " + std::to_string(req.framing.length) + "\r\n";
      break;
    case BodyFraming::Kind::kChunked:
      out += "Transfer-Encoding: chunked\r\n";
      break;
  }
  out += "Connection: close\r\n\r\n";
  return out;
}

RequestBody::RequestBody(BodyFraming framing, size_t max_line_bytes)
    : max_line_bytes_(max_line_bytes) {
  switch (framing.kind) {
    case BodyFraming::Kind::kNone:
      state_ = State::kDone;
      break;
    case BodyFraming::Kind::kLength:
      remaining_ = framing.length;
      state_ = remaining_ == 0 ? State::kDone : State::kLength;
      break;
    case BodyFraming::Kind::kChunked:
      state_ = State::kSize;
      break;
  }
}

bool RequestBody::Fail(std::string why) {
  state_ = State::kFailed;
  error_ = std::move(why);
  return false;
}

bool RequestBody::EndSizeLine() {
  // RFC 9112 section 7.1: chunk-size [ chunk-ext ]; extensions start with BWS ";".
  std::string_view line = line_;
  size_t digits = 0;
  uint64_t size = 0;
  while (digits < line.size() && std::isxdigit(static_cast<unsigned char>(line[digits]))) {
    if (digits == 15) return Fail("chunk size too large");
    const char c = line[digits];
    size = size * 16 + static_cast<uint64_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    ++digits;
  }
  const std::string_view rest = line.substr(digits);
  const size_t ext = rest.find_first_not_of(" \t");
  if (digits == 0 || (ext != std::string_view::npos && rest[ext] != ';') || !IsFieldValue(rest)) {
    return Fail("malformed chunk size line");
  }
  remaining_ = size;
  state_ = size == 0 ? State::kTrailer : State::kData;
  return true;
}

bool RequestBody::Take(std::string_view data, std::string& out) {
  std::string chunk;  // Chunk data taken in this call, passed on as one chunk.
  auto flush = [&] {
    if (chunk.empty()) return;
    char size[24];
    std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
    out += size;
    out += chunk;
    out += "\r\n";
    chunk.clear();
  };
  for (size_t i = 0; i < data.size();) {
    switch (state_) {
      case State::kFailed:
        return false;
      case State::kDone:
        extra_bytes_ += data.size() - i;
        i = data.size();
        break;
      case State::kLength:
      case State::kData: {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, data.size() - i));
        (state_ == State::kLength ? out : chunk).append(data.substr(i, n));
        i += n;
        remaining_ -= n;
        if (remaining_ == 0) state_ = state_ == State::kLength ? State::kDone : State::kDataEnd;
        break;
      }
      case State::kSize:
      case State::kDataEnd:
      case State::kTrailer: {
        const char c = data[i++];
        if (c != '\n') {
          line_ += c;
          if (line_.size() > max_line_bytes_) {
            return Fail("a line of the chunked body is longer than " +
                        std::to_string(max_line_bytes_) + " bytes");
          }
          break;
        }
        if (!line_.empty() && line_.back() == '\r') line_.pop_back();
        if (line_.find('\r') != std::string::npos) return Fail("a CR not followed by LF");
        if (state_ == State::kSize) {
          if (!EndSizeLine()) return false;
        } else if (state_ == State::kDataEnd) {
          if (!line_.empty()) return Fail("chunk data longer than its size");
          state_ = State::kSize;
        } else if (line_.empty()) {  // The end of the trailer section: the body is complete.
          flush();
          out += "0\r\n\r\n";
          state_ = State::kDone;
        }
        line_.clear();
        break;
      }
    }
  }
  flush();
  return state_ != State::kFailed;
}

}  // namespace skillrt::net
