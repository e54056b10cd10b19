#include "core/civil_time.h"

#include <gtest/gtest.h>

namespace rebound {
namespace {

TEST(CivilTime, EpochOfCivilDates) {
  EXPECT_EQ(CivilToEpoch(1970, 1, 1, 0, 0, 0), 0);
  EXPECT_EQ(CivilToEpoch(2000, 3, 1, 0, 0, 0), 951868800);
  EXPECT_EQ(CivilToEpoch(1969, 12, 31, 23, 0, 0), -3600);
  // A day past the month's end rolls over.
  EXPECT_EQ(CivilToEpoch(2026, 2, 29, 0, 0, 0), CivilToEpoch(2026, 3, 1, 0, 0, 0));
  EXPECT_EQ(UtcYear(CivilToEpoch(2026, 12, 31, 23, 59, 59)), 2026);
  EXPECT_EQ(UtcYear(-1), 1969);
}

TEST(CivilTime, MonthAbbreviationsInAnyCase) {
  EXPECT_EQ(MonthFromAbbrev("Jan"), 1);
  EXPECT_EQ(MonthFromAbbrev("dec 7"), 12);
  EXPECT_EQ(MonthFromAbbrev("SEPTEMBER"), 9);
  EXPECT_EQ(MonthFromAbbrev("Ja"), 0);
  EXPECT_EQ(MonthFromAbbrev("J@n"), 0);
  EXPECT_EQ(MonthFromAbbrev("Mon"), 0);
}

TEST(CivilTime, EveryFormat) {
  const int64_t ms = CivilToEpoch(2026, 11, 27, 22, 45, 5) * 1000 + 7;
  EXPECT_EQ(FormatTime(ms, TimeFormat::kIso), "2026-11-27T22:45:05Z");
  EXPECT_EQ(FormatTime(ms, TimeFormat::kIsoMillis), "2026-11-27T22:45:05.007Z");
  EXPECT_EQ(FormatTime(ms, TimeFormat::kMinute), "2026-11-27 22:45");
  EXPECT_EQ(FormatTime(ms, TimeFormat::kClock), "22:45");
  EXPECT_EQ(FormatTime(ms, TimeFormat::kRfc5322), "Fri, 27 Nov 2026 22:45:05 +0000");
  EXPECT_EQ(FormatTime(-1, TimeFormat::kIsoMillis), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatTime(CivilToEpoch(10000, 1, 2, 3, 4, 5) * 1000, TimeFormat::kIso), "10000-01-02T03:04:05Z");
}

}  // namespace
}  // namespace rebound
