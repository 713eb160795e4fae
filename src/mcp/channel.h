// A ClientChannel over a message writer: the part the stdio and HTTP transports share
// (server-to-client requests matched with the client's responses by id).
#ifndef SKILLRT_MCP_CHANNEL_H_
#define SKILLRT_MCP_CHANNEL_H_

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "skillrt/mcp/server.h"

namespace skillrt::mcp {

/// Sends through `write` (thread-safe: called under this channel's lock) and matches
/// responses the transport hands to Deliver with the requests made by Request.
class WriterChannel : public ClientChannel {
 public:
  /// `write` sends one message; returns false when the client is gone.
  /// `alive`, when given, says whether the client can still receive (a stream's state).
  explicit WriterChannel(std::function<bool(const nlohmann::json&)> write,
                         std::function<bool()> alive = nullptr)
      : write_(std::move(write)), alive_(std::move(alive)) {}

  void Send(const nlohmann::json& message) override;
  Result<nlohmann::json> Request(std::string_view method, const nlohmann::json& params,
                                 std::chrono::milliseconds timeout) override;
  bool Alive() override;

  /// A response from the client; true when it answered a request of this channel.
  bool Deliver(const nlohmann::json& response);

  /// The client is gone: every waiting Request fails at once, later ones too.
  void Close();

  /// The client sends no more (its input ended) but may still read: Requests fail at once,
  /// since no answer can come; Send still delivers.
  void EndInput();

 private:
  std::function<bool(const nlohmann::json&)> write_;
  std::function<bool()> alive_;
  std::mutex mu_;
  std::condition_variable answered_;
  uint64_t next_id_ = 1;
  bool closed_ = false;
  bool input_ended_ = false;
  std::map<std::string, std::optional<nlohmann::json>> pending_;  // By id text.
};

}  // namespace skillrt::mcp

#endif  // SKILLRT_MCP_CHANNEL_H_
