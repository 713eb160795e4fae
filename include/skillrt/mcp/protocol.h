// JSON-RPC 2.0 and MCP protocol constants and message helpers (MCP 2025-11-25 and the
// stateless revision 2026-07-28, schema/<revision>/schema.ts of the specification).
#ifndef SKILLRT_MCP_PROTOCOL_H_
#define SKILLRT_MCP_PROTOCOL_H_

#include <array>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace skillrt::mcp {

/// The stateless revision: no initialize, `_meta` on every request, `resultType` on results.
inline constexpr std::string_view kStatelessVersion = "2026-07-28";
/// The newest revision with an initialize handshake; what an unknown version is offered.
inline constexpr std::string_view kLatestSessionVersion = "2025-11-25";
/// Revisions with a handshake that the server speaks, newest first.
inline constexpr std::array<std::string_view, 3> kSessionVersions = {"2025-11-25", "2025-06-18",
                                                                     "2025-03-26"};

/// JSON-RPC 2.0 error codes (section 5.1) and MCP's (schema.ts, "MCP error codes").
enum RpcCode : int {
  kParseError = -32700,
  kInvalidRequest = -32600,
  kMethodNotFound = -32601,
  kInvalidParams = -32602,
  kInternalError = -32603,
  kHeaderMismatch = -32020,
  kMissingClientCapability = -32021,
  kUnsupportedProtocolVersion = -32022,
};

/// `_meta` keys of the stateless revision.
inline constexpr const char* kMetaProtocolVersion = "io.modelcontextprotocol/protocolVersion";
inline constexpr const char* kMetaClientInfo = "io.modelcontextprotocol/clientInfo";
inline constexpr const char* kMetaClientCapabilities = "io.modelcontextprotocol/clientCapabilities";
inline constexpr const char* kMetaLogLevel = "io.modelcontextprotocol/logLevel";
inline constexpr const char* kMetaServerInfo = "io.modelcontextprotocol/serverInfo";

/// The skills extension's identifier (SEP-2640, draft).
inline constexpr const char* kSkillsExtension = "io.modelcontextprotocol/skills";

/// A JSON-RPC error to send back.
struct RpcError {
  int code = kInternalError;
  std::string message = {};
  nlohmann::json data = nullptr;  ///< Omitted when null.
};

/// What a method handler returns: the `result` object or an error.
using RpcResult = std::expected<nlohmann::json, RpcError>;

/// Shorthand: `return RpcFail(kInvalidParams, "...")`.
inline std::unexpected<RpcError> RpcFail(int code, std::string message,
                                         nlohmann::json data = nullptr) {
  return std::unexpected(RpcError{code, std::move(message), std::move(data)});
}

/// {"jsonrpc": "2.0", "id": id, "result": result}.
nlohmann::json ResultMessage(const nlohmann::json& id, nlohmann::json result);

/// {"jsonrpc": "2.0", "id": id (null when unknown), "error": {code, message, data?}}.
nlohmann::json ErrorMessage(const nlohmann::json& id, const RpcError& error);

/// {"jsonrpc": "2.0", "method": method, "params": params} (params omitted when null).
nlohmann::json NotificationMessage(std::string_view method, nlohmann::json params = nullptr);

/// The kind of one incoming JSON-RPC message.
enum class MessageKind { kRequest, kNotification, kResponse, kInvalid };

/// Classifies `message`; for kInvalid, `*why` says what is wrong.
MessageKind Classify(const nlohmann::json& message, std::string* why);

/// The syslog levels of MCP logging (RFC 5424), lowest first; -1 for an unknown name.
int LogLevelRank(std::string_view level);

/// `value` as compact JSON text; invalid UTF-8 replaced, never thrown on.
std::string Dump(const nlohmann::json& value);

}  // namespace skillrt::mcp

#endif  // SKILLRT_MCP_PROTOCOL_H_
