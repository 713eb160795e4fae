// `skillrt mcp --http`: the token rule and the listen address, then ServeHttp (docs/mcp.md).
#include <charconv>

#include "cli/cli.h"
#include "skillrt/mcp/http.h"
#include "skillrt/mcp/server.h"

namespace skillrt::cli {
namespace {

// "ADDR:PORT", "[V6]:PORT" or ":PORT".
Result<std::pair<std::string, uint16_t>> ParseListen(const std::string& text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) {
    return Fail(ErrorCode::kInvalidArgument, "--listen " + text + ": expected ADDR:PORT");
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "127.0.0.1";
  unsigned port = 0;
  const std::string digits = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc() || end != digits.data() + digits.size() || port > 65535) {
    return Fail(ErrorCode::kInvalidArgument, "--listen " + text + ": bad port");
  }
  return std::pair{host, static_cast<uint16_t>(port)};
}

}  // namespace

int McpHttpCommand(const GlobalOptions& global, const McpFlags& flags, mcp::Server& server) {
  auto listen = ParseListen(flags.listen);
  if (!listen) {
    PrintError(listen.error().message);
    return kExitUsage;
  }
  mcp::HttpOptions options;
  options.host = listen->first;
  options.port = listen->second;
  options.allowed_origins = flags.allowed_origins;
  // A token when one is named; for a listen beyond the loopback, one is required: made under
  // the home directory when none is named, and shown once.
  if (!flags.token_ref.empty()) {
    auto token = mcp::ReadTokenRef(flags.token_ref);
    if (!token) {
      PrintError("--token-ref: " + token.error().message);
      return kExitUsage;
    }
    options.token = std::make_shared<mcp::FixedToken>(*token);
  } else if (!mcp::IsLoopbackHost(options.host)) {
    bool created = false;
    auto token = mcp::HomeToken(server.engine().home(), &created);
    if (!token) {
      PrintError(token.error().message);
      return ExitCodeFor(token.error());
    }
    if (created) {
      WriteErr("skillrt mcp: a bearer token was made for this non-loopback listen; it is shown "
               "once and kept in " + (server.engine().home() / "mcp-token").string() +
               " (0600):\n" + *token + "\n");
    } else if (!global.quiet) {
      WriteErr("skillrt mcp: clients need the bearer token in " +
               (server.engine().home() / "mcp-token").string() + "\n");
    }
    options.token = std::make_shared<mcp::FixedToken>(*token);
  }
  options.on_listening = [&](uint16_t port) {
    // One line a script can read: the URL of the endpoint.
    WriteErr("skillrt mcp: listening on http://" +
             (options.host.find(':') != std::string::npos ? "[" + options.host + "]"
                                                          : options.host) +
             ":" + std::to_string(port) + options.path + "\n");
  };
  auto served = mcp::ServeHttp(server, options);
  if (!served) {
    PrintError(served.error().message);
    return ExitCodeFor(served.error());
  }
  return kExitOk;
}

}  // namespace skillrt::cli
