// JSON-RPC message helpers for the MCP server.
#include "skillrt/mcp/protocol.h"

#include <array>

namespace skillrt::mcp {

using nlohmann::json;

json ResultMessage(const json& id, json result) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

json ErrorMessage(const json& id, const RpcError& error) {
  json body = {{"code", error.code}, {"message", error.message}};
  if (!error.data.is_null()) body["data"] = error.data;
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(body)}};
}

json NotificationMessage(std::string_view method, json params) {
  json message = {{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.is_null()) message["params"] = std::move(params);
  return message;
}

MessageKind Classify(const json& message, std::string* why) {
  if (!message.is_object()) {
    *why = "a JSON-RPC message must be an object";
    return MessageKind::kInvalid;
  }
  if (message.value("jsonrpc", json()) != "2.0") {
    *why = "\"jsonrpc\" must be \"2.0\"";
    return MessageKind::kInvalid;
  }
  const bool has_id = message.contains("id");
  if (has_id) {
    const json& id = message["id"];
    // MCP forbids null ids (schema.ts RequestId: string | number).
    if (!id.is_string() && !id.is_number_integer()) {
      *why = "\"id\" must be a string or an integer";
      return MessageKind::kInvalid;
    }
  }
  if (message.contains("method")) {
    if (!message["method"].is_string()) {
      *why = "\"method\" must be a string";
      return MessageKind::kInvalid;
    }
    if (message.contains("params") && !message["params"].is_object()) {
      *why = "\"params\" must be an object";
      return MessageKind::kInvalid;
    }
    return has_id ? MessageKind::kRequest : MessageKind::kNotification;
  }
  if (has_id && (message.contains("result") || message.contains("error"))) {
    return MessageKind::kResponse;
  }
  *why = "neither a request (\"method\") nor a response (\"result\" or \"error\")";
  return MessageKind::kInvalid;
}

int LogLevelRank(std::string_view level) {
  static constexpr std::array<std::string_view, 8> kLevels = {
      "debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"};
  for (size_t i = 0; i < kLevels.size(); ++i) {
    if (kLevels[i] == level) return static_cast<int>(i);
  }
  return -1;
}

std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace skillrt::mcp
