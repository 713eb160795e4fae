// Event streams: Server-Sent Events (html.spec.whatwg.org, "Server-sent events") with the
// event's seq as its id, so a client that reconnects with Last-Event-ID gets every event after
// it once; or JSON Lines (one event per line, resumed with ?after=SEQ). Each open stream holds
// one server thread, so their number is bounded (ApiOptions::max_event_streams) and a reader
// that stops reading is dropped after the server's write timeout.
#include <charconv>
#include <memory>

#include "service/api.h"

namespace skillrt::service {
namespace {

using namespace std::chrono_literals;

enum class StreamFormat { kSse, kJsonLines };

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<uint64_t> ParseSeq(const std::string& text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

}  // namespace

void Api::Stream(const httplib::Request& req, httplib::Response& res, EventSource source) {
  StreamFormat format = StreamFormat::kSse;
  const std::string asked = req.get_param_value("format");
  const std::string accept = req.get_header_value("Accept");
  if (asked == "jsonl" || (asked.empty() && (accept.find("application/x-ndjson") != std::string::npos ||
                                             accept.find("application/jsonl") != std::string::npos))) {
    format = StreamFormat::kJsonLines;
  } else if (!asked.empty() && asked != "sse") {
    return SetError(res, ApiError::kBadRequest, "format: sse or jsonl");
  }
  // Where to resume: Last-Event-ID (SSE reconnection), else ?after=SEQ.
  std::string resume = req.get_header_value("Last-Event-ID");
  if (resume.empty()) resume = req.get_param_value("after");
  uint64_t after = 0;
  if (!resume.empty()) {
    auto seq = ParseSeq(resume);
    if (!seq) return SetError(res, ApiError::kBadRequest, "Last-Event-ID/after: not a sequence number");
    after = *seq;
  }
  if (streams_.fetch_add(1) >= options_.max_event_streams) {
    streams_.fetch_sub(1);
    return SetError(res, ApiError::kBusy, "too many open event streams; try again shortly");
  }
  struct State {
    uint64_t after;
    std::chrono::steady_clock::time_point last_write;
  };
  auto state = std::make_shared<State>(State{after, std::chrono::steady_clock::now()});
  const std::chrono::milliseconds keepalive = options_.stream_keepalive;
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Accel-Buffering", "no");  // Reverse proxies: pass events on at once.
  res.set_chunked_content_provider(
      format == StreamFormat::kSse ? "text/event-stream" : "application/x-ndjson",
      [this, source = std::move(source), state, format, keepalive](size_t, httplib::DataSink& sink) {
        if (stopping_) {
          sink.done();
          return true;
        }
        if (CurrentPeerClosed()) return false;  // The reader left: free the stream's slot.
        EventPage page = source(state->after, 500ms);
        std::string out;
        if (page.dropped > 0) {
          nlohmann::json gap = {{"type", "gap"}, {"dropped", page.dropped}};
          out += format == StreamFormat::kSse ? "event: gap\ndata: " + Dump(gap) + "\n\n"
                                              : Dump(gap) + "\n";
        }
        for (const auto& [seq, event] : page.events) {
          state->after = seq;
          if (format == StreamFormat::kSse) {
            out += "id: " + std::to_string(seq) + "\nevent: " + event.value("type", "event") +
                   "\ndata: " + Dump(event) + "\n\n";
          } else {
            out += Dump(event) + "\n";
          }
        }
        const auto now = std::chrono::steady_clock::now();
        if (out.empty() && format == StreamFormat::kSse && now - state->last_write >= keepalive) {
          out = ": keep-alive\n\n";
        }
        if (!out.empty()) {
          if (!sink.write(out.data(), out.size())) return false;  // The reader is gone or stuck.
          state->last_write = now;
        }
        if (page.finished) sink.done();
        return true;
      },
      [this](bool) { streams_.fetch_sub(1); });
}

}  // namespace skillrt::service
