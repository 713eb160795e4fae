#include "audit/audit_time.h"

#include <gtest/gtest.h>

namespace skillrt::audit {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using std::chrono::sys_days;

TimePoint At(int y, unsigned m, unsigned d) {
  return TimePoint(sys_days(std::chrono::year(y) / std::chrono::month(m) / std::chrono::day(d)));
}

TEST(AuditTimeTest, ParsesRfc3339DateTimes) {
  TimePoint base = At(2026, 11, 29) + hours(16) + minutes(41) + seconds(26);
  EXPECT_EQ(ParseRfc3339("2026-11-29T16:41:26Z"), base);
  EXPECT_EQ(ParseRfc3339("2026-11-29T16:41:26.123456Z"), base + microseconds(123456));
  EXPECT_EQ(ParseRfc3339("2026-11-29t16:41:26.5z"), base + std::chrono::milliseconds(500));
  EXPECT_EQ(ParseRfc3339("2026-11-29 18:41:26+02:00"), base);
  EXPECT_EQ(ParseRfc3339("2026-11-29T11:11:26-05:30"), base);
  EXPECT_EQ(ParseRfc3339("2026-11-29"), At(2026, 11, 29));
  EXPECT_EQ(ParseRfc3339("2024-02-29T00:00:00Z"), At(2024, 2, 29));
}

TEST(AuditTimeTest, RejectsWhatIsNotRfc3339) {
  for (const char* bad : {"", "2026", "2026-11", "2026-13-01", "2026-02-30", "2025-02-29",
                          "2026-11-29T16:41Z", "2026-11-29T24:00:00Z", "2026-11-29T16:41:26",
                          "2026-11-29T16:41:26.Z", "2026-11-29T16:41:26+0200",
                          "2026-11-29T16:41:26Zjunk", "29/11/2026", "2026-11-29x"}) {
    EXPECT_FALSE(ParseRfc3339(bad).has_value()) << bad;
  }
}

TEST(AuditTimeTest, TimeBoundsAreAbsoluteOrAges) {
  TimePoint now = At(2026, 11, 29) + hours(12);
  EXPECT_EQ(*ParseTimeBound("90s", now), now - seconds(90));
  EXPECT_EQ(*ParseTimeBound("30m", now), now - minutes(30));
  EXPECT_EQ(*ParseTimeBound("1h", now), now - hours(1));
  EXPECT_EQ(*ParseTimeBound("2d", now), now - hours(48));
  EXPECT_EQ(*ParseTimeBound("1w", now), now - hours(24 * 7));
  EXPECT_EQ(*ParseTimeBound("0s", now), now);
  EXPECT_EQ(*ParseTimeBound("2026-11-01", now), At(2026, 11, 1));
  for (const char* bad : {"", "h", "1", "-1h", "1y", "1.5h", "h1", "99999999999w", " 1h"}) {
    auto parsed = ParseTimeBound(bad, now);
    ASSERT_FALSE(parsed.has_value()) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message.find("'" + std::string(bad) + "'"), std::string::npos);
  }
}

}  // namespace
}  // namespace skillrt::audit
