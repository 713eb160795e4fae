// The requestState of an input_required result (MCP 2026-07-28, "Multi round-trip requests"):
// what the server needs back on the client's retry, sealed with an HMAC so that a client
// cannot forge or alter it. For approvals it names the approval key the elicitation was about
// and when it expires, so that an answer counts only for that one call.
#ifndef SKILLRT_MCP_REQUEST_STATE_H_
#define SKILLRT_MCP_REQUEST_STATE_H_

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include "skillrt/error.h"

namespace skillrt::mcp {

/// "<payload hex>.<HMAC-SHA256 hex>" of {"approval_key", "expires"}; the key is
/// <home>/mcp-state.key (32 random bytes, made 0600 on first use). kIo when the key cannot be
/// read or made.
Result<std::string> SealApprovalState(const std::filesystem::path& home,
                                      std::string_view approval_key,
                                      std::chrono::seconds lifetime);

/// The approval key sealed in `state`. kDenied when the MAC does not match (forged or
/// altered), the text is malformed, or the state has expired.
Result<std::string> OpenApprovalState(const std::filesystem::path& home, std::string_view state);

}  // namespace skillrt::mcp

#endif  // SKILLRT_MCP_REQUEST_STATE_H_
