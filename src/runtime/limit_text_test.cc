#include "runtime/limit_text.h"

#include <gtest/gtest.h>

namespace skillrt {
namespace {

TEST(LimitTextTest, EachLimitReadsTheSameInEveryRuntime) {
  Limits limits;
  limits.wall_time = std::chrono::milliseconds(1500);
  limits.cpu_time = std::chrono::milliseconds(900);
  limits.memory_max_bytes = 64ull << 20;
  limits.file_size_max_bytes = 4096;
  limits.output_max_bytes = 1024;
  EXPECT_EQ(LimitReachedText("wall_time", limits), "wall-clock limit of 1500 ms reached");
  EXPECT_EQ(LimitReachedText("cpu_time", limits), "CPU time limit of 900 ms reached");
  EXPECT_EQ(LimitReachedText("memory", limits), "memory limit of 64 MiB reached");
  EXPECT_EQ(LimitReachedText("file_size", limits), "file size limit of 4096 bytes reached");
  EXPECT_EQ(LimitReachedText("output", limits), "output limit of 1024 bytes per stream exceeded");
  EXPECT_EQ(LimitReachedText("scratch", limits), "scratch limit reached");

  Outcome outcome;
  MarkLimitReached(outcome, "wall_time", limits, "; killed");
  EXPECT_EQ(outcome.limits_hit, std::vector<std::string>{"wall_time"});
  EXPECT_EQ(outcome.message, "wall-clock limit of 1500 ms reached; killed");
}

}  // namespace
}  // namespace skillrt
