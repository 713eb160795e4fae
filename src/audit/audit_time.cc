// RFC 3339 timestamps and relative ages (audit_time.h).
#include "audit/audit_time.h"

#include <cctype>
#include <charconv>
#include <cstdint>
#include <string>

#include "skillrt/audit.h"

namespace skillrt::audit {
namespace {

// Reads exactly `width` digits at `*pos` of `text`.
std::optional<int> Digits(std::string_view text, size_t* pos, size_t width) {
  if (*pos + width > text.size()) return std::nullopt;
  int value = 0;
  for (size_t i = 0; i < width; ++i) {
    char c = text[*pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  *pos += width;
  return value;
}

bool Expect(std::string_view text, size_t* pos, char c) {
  if (*pos >= text.size() || text[*pos] != c) return false;
  ++*pos;
  return true;
}

}  // namespace

std::optional<TimePoint> ParseRfc3339(std::string_view text) {
  using namespace std::chrono;
  size_t pos = 0;
  auto year = Digits(text, &pos, 4);
  if (!year || !Expect(text, &pos, '-')) return std::nullopt;
  auto month = Digits(text, &pos, 2);
  if (!month || !Expect(text, &pos, '-')) return std::nullopt;
  auto day = Digits(text, &pos, 2);
  if (!day) return std::nullopt;
  year_month_day date{std::chrono::year(*year), std::chrono::month(static_cast<unsigned>(*month)),
                      std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok()) return std::nullopt;
  TimePoint midnight = time_point_cast<system_clock::duration>(sys_days(date));
  if (pos == text.size()) return midnight;

  if (pos >= text.size() || (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ')) {
    return std::nullopt;
  }
  ++pos;
  auto hour = Digits(text, &pos, 2);
  if (!hour || !Expect(text, &pos, ':')) return std::nullopt;
  auto minute = Digits(text, &pos, 2);
  if (!minute || !Expect(text, &pos, ':')) return std::nullopt;
  auto second = Digits(text, &pos, 2);
  if (!second || *hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
  nanoseconds fraction{0};
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t start = pos;
    int64_t nanos = 0;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      if (pos - start < 9) nanos = nanos * 10 + (text[pos] - '0');
      ++pos;
    }
    if (pos == start) return std::nullopt;
    for (size_t n = pos - start; n < 9; ++n) nanos *= 10;
    fraction = nanoseconds(nanos);
  }
  minutes offset{0};
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    auto off_hour = Digits(text, &pos, 2);
    if (!off_hour || !Expect(text, &pos, ':')) return std::nullopt;
    auto off_minute = Digits(text, &pos, 2);
    if (!off_minute || *off_hour > 23 || *off_minute > 59) return std::nullopt;
    offset = minutes(sign * (*off_hour * 60 + *off_minute));
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  auto local = midnight + hours(*hour) + minutes(*minute) + seconds(*second) +
               duration_cast<system_clock::duration>(fraction);
  return local - offset;  // 18:00+02:00 is 16:00Z.
}

Result<TimePoint> ParseTimeBound(std::string_view text, TimePoint now) {
  if (auto absolute = ParseRfc3339(text)) return *absolute;
  if (text.size() >= 2) {
    uint64_t count = 0;
    std::string_view digits = text.substr(0, text.size() - 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
    // At most ~30 years in seconds keeps the arithmetic far from overflow.
    if (ec == std::errc() && end == digits.data() + digits.size() && count <= 1'000'000'000) {
      std::chrono::seconds unit{0};
      switch (text.back()) {
        case 's': unit = std::chrono::seconds(1); break;
        case 'm': unit = std::chrono::minutes(1); break;
        case 'h': unit = std::chrono::hours(1); break;
        case 'd': unit = std::chrono::days(1); break;
        case 'w': unit = std::chrono::weeks(1); break;
        default: break;
      }
      if (unit.count() > 0 && count * static_cast<uint64_t>(unit.count()) <= 1'000'000'000) {
        return now - unit * static_cast<int64_t>(count);
      }
    }
  }
  return Fail(ErrorCode::kInvalidArgument,
              "'" + std::string(text) +
                  "' is not a time: expected RFC 3339 (2026-11-29T16:41:26Z, 2026-11-29) or an "
                  "age such as 90s, 30m, 1h, 2d, 1w");
}

}  // namespace skillrt::audit

namespace skillrt {

Result<std::chrono::system_clock::time_point> ParseAuditTimeBound(
    std::string_view text, std::chrono::system_clock::time_point now) {
  return audit::ParseTimeBound(text, now);
}

std::optional<std::chrono::system_clock::time_point> ParseAuditTime(std::string_view text) {
  return audit::ParseRfc3339(text);
}

}  // namespace skillrt
