// Tests of ParisDay: dates as written, dateTimes converted from their offset to the day in
// Europe/Paris with the EU summer-time rule (last Sunday of March 01:00 UTC to the last
// Sunday of October 01:00 UTC), local dateTimes taken as Paris time, partial dates refused.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "ingest/fhir_mapper.h"

namespace p4dp::ingest {
namespace {

Days Day(int y, int m, int d) { return ToDays({y, m, d}); }

Days Paris(std::string_view text) {
  auto day = ParisDay(text);
  EXPECT_TRUE(day.ok()) << text << ": " << day.status().ToString();
  return day.ok() ? *day : kNoDate;
}

TEST(ParisDay, DateOnlyAndLocalTimeAsWritten) {
  EXPECT_EQ(Paris("2021-03-04"), Day(2021, 3, 4));
  EXPECT_EQ(Paris("2021-03-04T23:59:59"), Day(2021, 3, 4));
  EXPECT_EQ(Paris("2021-03-04T23:59"), Day(2021, 3, 4));
  EXPECT_EQ(Paris("1900-01-01"), Day(1900, 1, 1));
}

TEST(ParisDay, AcrossSummerTime) {
  // 2021: summer time from 2021-03-28 01:00 UTC to 2021-10-31 01:00 UTC.
  EXPECT_EQ(Paris("2021-03-28T00:30:00Z"), Day(2021, 3, 28));
  EXPECT_EQ(Paris("2021-10-30T22:30:00Z"), Day(2021, 10, 31));  // 00:30, UTC+2
  EXPECT_EQ(Paris("2021-12-31T23:30:00Z"), Day(2022, 1, 1));
  EXPECT_EQ(Paris("2021-07-14T22:30:00-04:00"), Day(2021, 7, 15));
  // Either side of midnight Paris time, in winter (UTC+1) and summer (UTC+2).
  EXPECT_EQ(Paris("2021-03-27T22:59:00Z"), Day(2021, 3, 27));
  EXPECT_EQ(Paris("2021-03-27T23:00:00Z"), Day(2021, 3, 28));
  EXPECT_EQ(Paris("2021-10-30T21:59:00Z"), Day(2021, 10, 30));
  EXPECT_EQ(Paris("2021-10-30T22:00:00Z"), Day(2021, 10, 31));
  EXPECT_EQ(Paris("2021-10-31T22:59:00Z"), Day(2021, 10, 31));  // 23:59, UTC+1 again
  EXPECT_EQ(Paris("2021-10-31T23:00:00Z"), Day(2021, 11, 1));
  EXPECT_EQ(Paris("2021-06-30T21:59:59.999Z"), Day(2021, 6, 30));
  EXPECT_EQ(Paris("2021-06-30T22:00:00.5+00:00"), Day(2021, 7, 1));
}

// The rule written out plainly: UTC+2 from the last Sunday of March 01:00 UTC to the last
// Sunday of October 01:00 UTC, else UTC+1.
Days ReferenceParisDay(Days utc_day, int utc_minute) {
  int year = ToYearMonthDay(utc_day).year;
  auto last_sunday = [&](int month) {
    Days d = ToDays({year, month, 31});
    while (IsoWeekday(d) != 6) --d;
    return d;
  };
  int64_t t = int64_t{utc_day} * 1440 + utc_minute;
  bool summer =
      t >= int64_t{last_sunday(3)} * 1440 + 60 && t < int64_t{last_sunday(10)} * 1440 + 60;
  int64_t paris = t + (summer ? 120 : 60);
  return static_cast<Days>(paris >= 0 ? paris / 1440 : (paris - 1439) / 1440);
}

TEST(ParisDay, EveryDayAgainstThePlainRule) {
  for (Days day = ToDays({1900, 1, 1}); day <= ToDays({2250, 12, 31}); ++day) {
    for (int minute : {0, 59, 60, 61, 21 * 60 + 59, 22 * 60, 22 * 60 + 59, 23 * 60, 23 * 60 + 59}) {
      char text[32];
      std::snprintf(text, sizeof text, "%sT%02d:%02d:00Z", FormatIsoDate(day).c_str(), minute / 60,
                    minute % 60);
      auto got = ParisDay(text);
      ASSERT_TRUE(got.ok()) << text;
      ASSERT_EQ(*got, ReferenceParisDay(day, minute)) << text;
    }
  }
}

TEST(ParisDay, Offsets) {
  EXPECT_EQ(Paris("2021-03-04T23:30:00+01:00"), Day(2021, 3, 4));
  EXPECT_EQ(Paris("2021-03-05T00:30:00+14:00"), Day(2021, 3, 4));
  EXPECT_EQ(Paris("1989-10-04T02:25:16-04:00"), Day(1989, 10, 4));
  EXPECT_EQ(Paris("2020-01-01T00:00:00-12:00"), Day(2020, 1, 1));
  EXPECT_EQ(Paris("2020-01-01T23:30:00-12:00"), Day(2020, 1, 2));
}

TEST(ParisDay, Refused) {
  for (std::string_view text :
       {"2021", "2021-03", "", "2021-3-4", "2021-02-30", "2021-13-01", "20210304", "2021-03-04X",
        "2021-03-04T", "2021-03-04T24:00:00Z", "2021-03-04T10:61:00Z", "2021-03-04T10:00:00+0100",
        "2021-03-04T10:00:00+01", "2021-03-04T10:00:00 Z", "2021-03-04T10:00:00.Z",
        "2021-03-04T10:00:00Zjunk", "abcd-ef-gh"}) {
    auto day = ParisDay(text);
    EXPECT_FALSE(day.ok()) << text;
    if (!day.ok()) {
      EXPECT_EQ(day.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace p4dp::ingest
