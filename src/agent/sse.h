// Server-Sent Events read incrementally (WHATWG HTML, "Server-sent events", 9.2.6 "Interpreting
// an event stream"): the stream of an LLM's streaming response, fed as bytes arrive.
#ifndef SKILLRT_AGENT_SSE_H_
#define SKILLRT_AGENT_SSE_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace skillrt::agent {

/// One dispatched event: its `event:` name ("message" when none was given), its `data:` lines
/// joined with '\n', and its `id:`.
struct SseEvent {
  std::string event = "message";
  std::string data = {};
  std::string id = {};
};

/// Splits a byte stream into events. Lines end in LF, CRLF or CR (a CR at the end of one chunk
/// and an LF at the start of the next are one line end); lines starting with ':' are comments;
/// a field without ':' has an empty value; one space after the ':' is dropped; a blank line
/// dispatches the event (nothing is dispatched when no data line came, as the spec says).
/// Not thread-safe: one reader per stream.
class SseParser {
 public:
  /// The most bytes one event (its pending line and data) may hold; past it Feed reports an
  /// overflow and the stream should be dropped.
  explicit SseParser(size_t max_event_bytes = 8u << 20) : max_event_bytes_(max_event_bytes) {}

  /// Appends `bytes` (any split, even inside a line or a UTF-8 sequence) and returns the
  /// events they completed, in order. Sets overflow() when an event outgrew the limit.
  std::vector<SseEvent> Feed(std::string_view bytes);

  /// True once an event was larger than the limit.
  bool overflow() const { return overflow_; }

  /// True when bytes of an unfinished event are pending (a stream that ends here was cut).
  bool pending() const { return !line_.empty() || has_data_; }

 private:
  void Line(std::string_view line, std::vector<SseEvent>* out);

  size_t max_event_bytes_;
  std::string line_;
  bool skip_lf_ = false;  // The last byte was a CR: an LF right after it ends nothing.
  bool has_data_ = false;
  bool first_line_ = true;  // A UTF-8 BOM at the very start is dropped.
  SseEvent current_;
  bool overflow_ = false;
};

}  // namespace skillrt::agent

#endif  // SKILLRT_AGENT_SSE_H_
