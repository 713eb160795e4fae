// The event stream's line grammar, one byte at a time so that any split of the input gives the
// same events.
#include "agent/sse.h"

namespace skillrt::agent {

std::vector<SseEvent> SseParser::Feed(std::string_view bytes) {
  std::vector<SseEvent> out;
  for (char ch : bytes) {
    if (skip_lf_) {
      skip_lf_ = false;
      if (ch == '\n') continue;
    }
    if (ch == '\r' || ch == '\n') {
      skip_lf_ = ch == '\r';
      Line(line_, &out);
      line_.clear();
      continue;
    }
    line_.push_back(ch);
    if (line_.size() + current_.data.size() > max_event_bytes_) {
      overflow_ = true;
      line_.clear();
      current_ = SseEvent{};
      has_data_ = false;
    }
  }
  return out;
}

void SseParser::Line(std::string_view line, std::vector<SseEvent>* out) {
  if (first_line_) {
    first_line_ = false;
    if (line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
  }
  if (line.empty()) {  // Dispatch.
    if (has_data_) {
      if (current_.event.empty()) current_.event = "message";
      out->push_back(std::move(current_));
    }
    current_ = SseEvent{};
    has_data_ = false;
    return;
  }
  if (line.front() == ':') return;  // A comment (servers send them as keep-alives).
  const size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (value.starts_with(' ')) value.remove_prefix(1);
  }
  if (field == "data") {
    if (has_data_) current_.data.push_back('\n');
    current_.data.append(value);
    has_data_ = true;
  } else if (field == "event") {
    current_.event = std::string(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) current_.id = std::string(value);
  }
  // `retry` and unknown fields are ignored: a client of one request does not reconnect.
}

}  // namespace skillrt::agent
