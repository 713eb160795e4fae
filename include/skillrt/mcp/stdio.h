// The stdio transport (MCP 2025-11-25 "Transports", stdio): newline-delimited JSON-RPC on
// stdin and stdout. stdout carries only protocol messages; logs go to stderr.
#ifndef SKILLRT_MCP_STDIO_H_
#define SKILLRT_MCP_STDIO_H_

#include <cstddef>

#include "skillrt/mcp/server.h"
#include "skillrt/error.h"

namespace skillrt::mcp {

struct StdioOptions {
  int in_fd = 0;
  int out_fd = 1;
  /// A line longer than this is answered with a parse error and skipped.
  size_t max_message_bytes = 4u << 20;
  /// Requests handled at once; more wait for a free worker.
  size_t max_concurrent_requests = 16;
  /// How often the skill roots are checked for changes (notifications/*/list_changed).
  std::chrono::milliseconds poll_interval{1000};
};

/// Serves one client on `options.in_fd`/`out_fd` until end of input; then cancels the
/// client's runs, waits for its requests to finish and returns. kIo when reading fails.
Result<void> ServeStdio(Server& server, const StdioOptions& options);

}  // namespace skillrt::mcp

#endif  // SKILLRT_MCP_STDIO_H_
