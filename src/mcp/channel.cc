// WriterChannel: server-to-client messages and requests over one writer.
#include "mcp/channel.h"

namespace skillrt::mcp {

using nlohmann::json;

void WriterChannel::Send(const json& message) {
  std::lock_guard lock(mu_);
  if (!closed_ && !write_(message)) closed_ = true;
}

Result<json> WriterChannel::Request(std::string_view method, const json& params,
                                    std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (closed_ || input_ended_) return Fail(ErrorCode::kIo, "the client is gone");
  // Ids of server requests are strings with a prefix, so they never look like a client's.
  const std::string id = "skillrt-" + std::to_string(next_id_++);
  const std::string key = Dump(json(id));
  pending_[key] = std::nullopt;
  json message = {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}};
  if (!write_(message)) {
    closed_ = true;
    pending_.erase(key);
    return Fail(ErrorCode::kIo, "the client is gone");
  }
  const bool done = answered_.wait_for(lock, timeout, [&] {
    return closed_ || input_ended_ || pending_[key].has_value();
  });
  std::optional<json> response = std::move(pending_[key]);
  pending_.erase(key);
  if (!done || !response) {
    return Fail(ErrorCode::kIo, closed_ ? "the client is gone"
                                        : "no answer from the client to " + std::string(method));
  }
  if (response->contains("error")) {
    return Fail(ErrorCode::kDenied, "the client answered " + std::string(method) +
                                        " with an error: " + Dump((*response)["error"]));
  }
  return response->value("result", json::object());
}

bool WriterChannel::Deliver(const json& response) {
  std::lock_guard lock(mu_);
  auto it = pending_.find(Dump(response.value("id", json())));
  if (it == pending_.end()) return false;
  it->second = response;
  answered_.notify_all();
  return true;
}

bool WriterChannel::Alive() {
  std::lock_guard lock(mu_);
  if (closed_) return false;
  if (alive_ && !alive_()) closed_ = true;
  return !closed_;
}

void WriterChannel::EndInput() {
  std::lock_guard lock(mu_);
  input_ended_ = true;
  answered_.notify_all();
}

void WriterChannel::Close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  answered_.notify_all();
}

}  // namespace skillrt::mcp
