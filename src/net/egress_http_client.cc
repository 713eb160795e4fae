#include "net/egress_http_client.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

#include "skillrt/curl_api.h"
#include "net/egress_proxy.h"
#include "skillrt/fd.h"

namespace skillrt::net {
namespace {

using Clock = std::chrono::steady_clock;

// The proxy address libcurl is told about. It is never connected to: the open-socket callback
// points libcurl's socket at the request's own listener instead. An IP literal, so libcurl
// resolves nothing.
constexpr const char* kProxyUrl = "http://127.0.0.1:3128";
constexpr size_t kMaxUrlBytes = 8 << 10;
constexpr size_t kMaxMethodBytes = 16;

// Headers the client owns: framing (RFC 9112 section 6), hop-by-hop and proxy headers
// (RFC 9110 section 7.6.1), and Expect, whose 100-continue handshake the client does not do.
constexpr std::array<std::string_view, 12> kReservedHeaders = {
    "host", "content-length", "transfer-encoding", "connection", "keep-alive", "te",
    "trailer", "upgrade", "expect", "proxy-connection", "proxy-authorization",
    "proxy-authenticate"};

bool IsTokenChar(char c) {  // RFC 9110 section 5.6.2 tchar.
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::unexpected<HttpError> Error(HttpFailure kind, std::string message) {
  return std::unexpected(HttpError{kind, std::move(message)});
}

// The libcurl functions. REQUIRES: LoadCurl() has succeeded (Send checks it first; nothing
// of libcurl's exists before).
const CurlApi& Loaded() { return **LoadCurl(); }

struct CurlUrlDeleter {
  void operator()(CURLU* url) const { Loaded().url_cleanup(url); }
};
struct CurlEasyDeleter {
  void operator()(CURL* easy) const { Loaded().easy_cleanup(easy); }
};
struct CurlSlistDeleter {
  void operator()(curl_slist* list) const { Loaded().slist_free_all(list); }
};
using CurlUrlPtr = std::unique_ptr<CURLU, CurlUrlDeleter>;
using CurlEasyPtr = std::unique_ptr<CURL, CurlEasyDeleter>;
using CurlSlistPtr = std::unique_ptr<curl_slist, CurlSlistDeleter>;

// A URL part as text; empty when absent.
std::string UrlPart(CURLU* url, CURLUPart part, unsigned flags = 0) {
  char* text = nullptr;
  if (Loaded().url_get(url, part, &text, flags) != CURLUE_OK || text == nullptr) return {};
  std::string out(text);
  Loaded().free(text);
  return out;
}

// Everything the libcurl callbacks of one transfer share.
struct Transfer {
  sockaddr_in proxy{};         // Where the per-request listener is.
  std::atomic<uint16_t> client_port{0};  // The local port of libcurl's socket, once opened.
  bool opened = false;
  uint64_t max_body = 0;
  size_t max_header = 0;
  std::string headers;         // Header lines of the latest response head.
  std::string body;
  bool too_large = false;
  std::string too_large_what;
};

// Opens libcurl's one connection: a TCP socket bound to 127.0.0.1 on a port the kernel picks
// (so that the listener can tell this connection from any other), aimed at the request's own
// listener instead of the proxy address libcurl was given.
curl_socket_t OpenSocket(void* data, curlsocktype purpose, curl_sockaddr* address) {
  auto* transfer = static_cast<Transfer*>(data);
  if (purpose != CURLSOCKTYPE_IPCXN || transfer->opened) return CURL_SOCKET_BAD;
  transfer->opened = true;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return CURL_SOCKET_BAD;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(local);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), len) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) {
    ::close(fd);
    return CURL_SOCKET_BAD;
  }
  transfer->client_port.store(ntohs(local.sin_port));
  address->family = AF_INET;
  address->socktype = SOCK_STREAM;
  address->protocol = IPPROTO_TCP;
  address->addrlen = sizeof(sockaddr_in);
  std::memcpy(&address->addr, &transfer->proxy, sizeof(sockaddr_in));
  return fd;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    transfer->headers.clear();  // A new response head (after a 1xx interim one).
    return line.size();
  }
  if (line == "\r\n" || line == "\n") return line.size();
  if (transfer->headers.size() + line.size() > transfer->max_header) {
    transfer->too_large = true;
    transfer->too_large_what = "response head larger than " +
                               std::to_string(transfer->max_header) + " bytes";
    return 0;  // Aborts the transfer (CURLE_WRITE_ERROR).
  }
  transfer->headers.append(line);
  return line.size();
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (transfer->body.size() + n > transfer->max_body) {
    transfer->too_large = true;
    transfer->too_large_what =
        "response body larger than " + std::to_string(transfer->max_body) + " bytes";
    return 0;
  }
  transfer->body.append(data, n);
  return n;
}

// Checks the request's own shape; on success fills `url` with the parsed URL.
std::expected<CurlUrlPtr, HttpError> CheckRequest(const HttpRequest& request) {
  if (request.method.empty() || request.method.size() > kMaxMethodBytes ||
      !std::all_of(request.method.begin(), request.method.end(),
                   [](char c) { return c >= 'A' && c <= 'Z'; })) {
    return Error(HttpFailure::kInvalid, "method must be 1 to 16 upper-case letters");
  }
  if (request.method == "CONNECT") {
    return Error(HttpFailure::kInvalid, "CONNECT is not a request a skill may make");
  }
  if (request.url.size() > kMaxUrlBytes) {
    return Error(HttpFailure::kInvalid, "URL longer than " + std::to_string(kMaxUrlBytes) + " bytes");
  }
  CurlUrlPtr url(Loaded().url());
  if (!url) return Error(HttpFailure::kFailed, "out of memory");
  if (const CURLUcode rc = Loaded().url_set(url.get(), CURLUPART_URL, request.url.c_str(), 0);
      rc != CURLUE_OK) {
    return Error(HttpFailure::kInvalid,
                 "malformed URL: " + std::string(Loaded().url_strerror(rc)));
  }
  const std::string scheme = Lower(UrlPart(url.get(), CURLUPART_SCHEME));
  if (scheme != "http" && scheme != "https") {
    return Error(HttpFailure::kInvalid, "only http:// and https:// URLs are supported");
  }
  if (!UrlPart(url.get(), CURLUPART_USER).empty() ||
      !UrlPart(url.get(), CURLUPART_PASSWORD).empty()) {
    return Error(HttpFailure::kInvalid, "user information in the URL is not accepted");
  }
  if (!UrlPart(url.get(), CURLUPART_ZONEID).empty()) {
    return Error(HttpFailure::kInvalid, "IPv6 zone identifiers are not accepted");
  }
  for (const auto& [name, value] : request.headers) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), IsTokenChar)) {
      return Error(HttpFailure::kInvalid, "malformed header name \"" + name + "\"");
    }
    if (std::find(kReservedHeaders.begin(), kReservedHeaders.end(), Lower(name)) !=
        kReservedHeaders.end()) {
      return Error(HttpFailure::kInvalid, "header " + name + " is set by skillrt");
    }
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return Error(HttpFailure::kInvalid, "header " + name + " has a CR, LF or NUL in its value");
    }
  }
  return url;
}

}  // namespace

void InitHttpClientLibrary() {
  // A library that cannot be loaded is reported by every request (Send).
  (void)LoadCurl();
}

EgressHttpClient::EgressHttpClient(EgressPolicy policy, std::shared_ptr<const Resolver> resolver,
                                   EgressHttpClientOptions options)
    : policy_(std::make_shared<const EgressPolicy>(std::move(policy))),
      resolver_(std::move(resolver)),
      options_(std::move(options)) {
  InitHttpClientLibrary();
}

EgressHttpClient::~EgressHttpClient() = default;

std::vector<EgressRecord> EgressHttpClient::TakeRecords() { return std::exchange(records_, {}); }

std::expected<HttpResponse, HttpError> EgressHttpClient::Send(const HttpRequest& request,
                                                              Clock::time_point deadline,
                                                              uint64_t max_body_bytes) {
  if (auto curl = LoadCurl(); !curl) return Error(HttpFailure::kFailed, curl.error().message);
  auto url = CheckRequest(request);
  if (!url) return std::unexpected(url.error());
  if (requests_ >= options_.max_requests) {
    return Error(HttpFailure::kInvalid,
                 "more than " + std::to_string(options_.max_requests) + " requests in one call");
  }
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return Error(HttpFailure::kTimeout, "the call's time is up");
  ++requests_;

  // The request's listener on the host's loopback. Only libcurl's socket, recognised by
  // its source port (bound by OpenSocket, so no other socket can hold it), is handed to the
  // proxy; anything else that connects in the meantime is closed unserved.
  UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  Transfer transfer;
  transfer.proxy.sin_family = AF_INET;
  transfer.proxy.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t proxy_len = sizeof(transfer.proxy);
  if (!listener ||
      ::bind(listener.get(), reinterpret_cast<sockaddr*>(&transfer.proxy), proxy_len) != 0 ||
      ::listen(listener.get(), 4) != 0 ||
      ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&transfer.proxy),
                    &proxy_len) != 0) {
    return Error(HttpFailure::kFailed,
                 "listener for the egress proxy: " + std::string(strerrorname_np(errno)));
  }
  UniqueFd stop(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop) return Error(HttpFailure::kFailed, "eventfd: " + std::string(strerrorname_np(errno)));
  EgressProxy proxy(*policy_, resolver_,
                    EgressProxyOptions{.connect_timeout = options_.connect_timeout,
                                       .max_connections = 1});
  std::thread acceptor;
  try {
    acceptor = std::thread([&] {
      while (true) {
        pollfd fds[2] = {{listener.get(), POLLIN, 0}, {stop.get(), POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
          if (errno == EINTR) continue;
          return;
        }
        if (fds[1].revents != 0) return;
        sockaddr_in peer{};
        socklen_t peer_len = sizeof(peer);
        UniqueFd conn(::accept4(listener.get(), reinterpret_cast<sockaddr*>(&peer), &peer_len,
                                SOCK_CLOEXEC));
        if (!conn) {
          if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN) continue;
          return;
        }
        const uint16_t expected = transfer.client_port.load();
        if (expected != 0 && peer.sin_family == AF_INET &&
            peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK) && ntohs(peer.sin_port) == expected) {
          proxy.ServeHere(std::move(conn));  // On this thread: no second one to start.
          return;
        }
      }
    });
  } catch (const std::system_error& e) {
    return Error(HttpFailure::kFailed, "thread: " + std::string(e.what()));
  }
  // Ends the acceptor on every way out of this function (before the proxy it uses is gone).
  struct StopAcceptor {
    int stop;
    std::thread& thread;
    ~StopAcceptor() { Run(); }
    void Run() {
      if (!thread.joinable()) return;
      const uint64_t one = 1;
      (void)!::write(stop, &one, sizeof(one));
      thread.join();
    }
  } stop_acceptor{stop.get(), acceptor};
  transfer.max_body = max_body_bytes;
  transfer.max_header = options_.max_header_bytes;
  CURLcode rc = CURLE_OK;
  const CurlApi& curl = Loaded();
  char curl_error[CURL_ERROR_SIZE] = {};
  long status = 0;
  {
    CurlEasyPtr easy(curl.easy_init());
    CurlSlistPtr headers;
    if (!easy) return Error(HttpFailure::kFailed, "out of memory");
    CURL* e = easy.get();
    // The guest's headers, then an empty Expect so that libcurl never waits for a
    // 100 Continue before sending a body.
    auto append = [&headers, &curl](const std::string& line) {
      curl_slist* next = curl.slist_append(headers.get(), line.c_str());
      if (next == nullptr) return false;
      (void)headers.release();  // `next` is the same list, extended.
      headers.reset(next);
      return true;
    };
    for (const auto& [name, value] : request.headers) {
      // libcurl sends "Name;" as a header with an empty value ("Name:" would remove it).
      if (!append(value.empty() ? name + ";" : name + ": " + value)) {
        return Error(HttpFailure::kFailed, "out of memory");
      }
    }
    if (!append("Expect:")) return Error(HttpFailure::kFailed, "out of memory");
    curl.easy_setopt(e, CURLOPT_CURLU, url->get());
    curl.easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl.easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl.easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);  // A redirect is the guest's next request.
    curl.easy_setopt(e, CURLOPT_PROXY, kProxyUrl);
    curl.easy_setopt(e, CURLOPT_PROXYTYPE, static_cast<long>(CURLPROXY_HTTP));
    curl.easy_setopt(e, CURLOPT_NOPROXY, "");  // Ignore no_proxy in the host's environment.
    curl.easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    curl.easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, OpenSocket);
    curl.easy_setopt(e, CURLOPT_OPENSOCKETDATA, &transfer);
    curl.easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl.easy_setopt(e, CURLOPT_NOSIGNAL, 1L);  // No SIGALRM: other threads run in-process.
    curl.easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(left.count()));
    curl.easy_setopt(e, CURLOPT_HEADERFUNCTION, OnHeader);
    curl.easy_setopt(e, CURLOPT_HEADERDATA, &transfer);
    curl.easy_setopt(e, CURLOPT_WRITEFUNCTION, OnBody);
    curl.easy_setopt(e, CURLOPT_WRITEDATA, &transfer);
    curl.easy_setopt(e, CURLOPT_ERRORBUFFER, curl_error);
    curl.easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
    if (!options_.ca_file.empty()) {
      curl.easy_setopt(e, CURLOPT_CAINFO, options_.ca_file.c_str());
      curl.easy_setopt(e, CURLOPT_CAPATH, nullptr);
    }
    if (request.method == "HEAD") {
      curl.easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (request.method != "GET" || !request.body.empty()) {
      curl.easy_setopt(e, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    if (!request.body.empty() || request.method == "POST" || request.method == "PUT" ||
        request.method == "PATCH") {
      curl.easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
      curl.easy_setopt(e, CURLOPT_POSTFIELDS, request.body.data());
    }
    rc = curl.easy_perform(e);
    curl.easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    // Destroying the handle closes libcurl's socket, which ends the proxy's side of the
    // connection in turn.
  }
  // The proxy has one connection, served on the accepting thread; give it a moment to see
  // the close and finish its record, then cut whatever is left (a destination that keeps
  // its side open), and only then end the accepting thread.
  const auto grace = std::clamp<std::chrono::milliseconds>(
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()),
      std::chrono::milliseconds(1), std::chrono::milliseconds(2'000));
  std::vector<EgressRecord> records = proxy.Stop(grace);
  stop_acceptor.Run();
  listener.Reset();
  const EgressRecord* refused = nullptr;
  bool any_allowed = false;
  for (const EgressRecord& record : records) {
    if (!record.allowed && refused == nullptr) refused = &record;
    any_allowed = any_allowed || record.allowed;
  }
  // A connection that ended before a complete request (libcurl failed first) is not a
  // refusal of the destination: libcurl's error says what happened.
  const bool unsent = rc != CURLE_OK && refused != nullptr && refused->method.empty();
  std::optional<HttpError> denied;
  if (!any_allowed && refused != nullptr && !unsent) {
    denied = HttpError{HttpFailure::kDenied, "egress refused: " + refused->reason};
  }
  for (EgressRecord& record : records) {
    if (options_.on_record) options_.on_record(record);
    records_.push_back(std::move(record));
  }
  if (denied) return std::unexpected(std::move(*denied));

  if (rc == CURLE_OK) {
    return HttpResponse{.status = static_cast<int>(status),
                        .headers = std::move(transfer.headers),
                        .body = std::move(transfer.body)};
  }
  if (transfer.too_large) return Error(HttpFailure::kTooLarge, transfer.too_large_what);
  const std::string detail = curl_error[0] != '\0' ? curl_error : curl.easy_strerror(rc);
  if (rc == CURLE_OPERATION_TIMEDOUT) return Error(HttpFailure::kTimeout, detail);
  return Error(HttpFailure::kFailed, detail);
}

}  // namespace skillrt::net
