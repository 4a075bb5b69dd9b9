#include "colony/base/time.hpp"

#include <gtest/gtest.h>

namespace colony {
namespace {

TEST(Duration, ParsesUnitsCompoundsAndPlainMicroseconds) {
  EXPECT_EQ(parse_duration("250ms"), 250 * msec);
  EXPECT_EQ(parse_duration("2s"), 2 * sec);
  EXPECT_EQ(parse_duration("1.5h"), 90 * minute);
  EXPECT_EQ(parse_duration("30d"), 30 * day);
  EXPECT_EQ(parse_duration("10us"), 10);
  EXPECT_EQ(parse_duration("1h30min"), 90 * minute);
  EXPECT_EQ(parse_duration("2d12h"), 60 * hour);
  EXPECT_EQ(parse_duration("1min0.5s"), 60 * sec + 500 * msec);
  EXPECT_EQ(parse_duration("1500"), 1500);
  EXPECT_EQ(parse_duration("0"), 0);
}

TEST(Duration, RejectsWhatIsNotADuration) {
  for (const char* bad : {"", "ms", "3 days", "3days", "-1s", "1h-5min", "1h30", "5 s", "1e400s",
                          "nan", "1hh", "1h 30min"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}

TEST(Duration, FormatsWithTheLargestReadableUnit) {
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(250 * msec), "250ms");
  EXPECT_EQ(format_duration(90 * minute), "1.5h");
  EXPECT_EQ(format_duration(30 * day), "30d");
  EXPECT_EQ(format_duration(7), "7us");
}

}  // namespace
}  // namespace colony
