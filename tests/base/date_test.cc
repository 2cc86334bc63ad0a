#include "base/date.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace p4dp {
namespace {

// Independent calendar rules, so the tests do not trust the code they test.
bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

Days D(int y, int m, int d) { return ToDays({y, m, d}); }

// ---------------------------------------------------------------------------------------
// Days <-> year-month-day

TEST(DateTest, KnownValues) {
  EXPECT_EQ(D(1970, 1, 1), 0);
  EXPECT_EQ(D(1970, 1, 2), 1);
  EXPECT_EQ(D(1969, 12, 31), -1);
  EXPECT_EQ(D(2000, 1, 1), 10957);
  EXPECT_EQ(D(2000, 3, 1), 11017);  // 2000 is a leap year: Jan 31 + Feb 29 after 10957
  EXPECT_EQ(D(2019, 1, 1), 17897);
  EXPECT_EQ(D(2024, 2, 29), 19782);
  EXPECT_EQ(D(2024, 12, 31), 20088);
  EXPECT_EQ(D(1900, 1, 1), -25567);  // 70 years, 17 leap days (1904..1968)

  EXPECT_EQ(ToYearMonthDay(0), (YearMonthDay{1970, 1, 1}));
  EXPECT_EQ(ToYearMonthDay(-1), (YearMonthDay{1969, 12, 31}));
  EXPECT_EQ(ToYearMonthDay(19782), (YearMonthDay{2024, 2, 29}));
  EXPECT_EQ(ToYearMonthDay(20088), (YearMonthDay{2024, 12, 31}));
  EXPECT_EQ(ToYearMonthDay(11017), (YearMonthDay{2000, 3, 1}));
}

TEST(DateTest, RoundTripEveryDay1900To2100) {
  Days expected = D(1900, 1, 1);
  int count = 0;
  for (int y = 1900; y <= 2100; ++y) {
    for (int m = 1; m <= 12; ++m) {
      for (int d = 1; d <= DaysInMonth(y, m); ++d) {
        YearMonthDay ymd{y, m, d};
        ASSERT_TRUE(IsValidDate(y, m, d)) << y << "-" << m << "-" << d;
        ASSERT_EQ(ToDays(ymd), expected) << y << "-" << m << "-" << d;
        ASSERT_EQ(ToYearMonthDay(expected), ymd) << expected;
        ++expected;
        ++count;
      }
    }
  }
  EXPECT_EQ(expected - 1, D(2100, 12, 31));
  // 201 years, 49 leap years between 1900 and 2100 (1900 and 2100 are not).
  EXPECT_EQ(count, 201 * 365 + 49);
}

TEST(DateTest, ExtremeYears) {
  YearMonthDay first{1, 1, 1};
  YearMonthDay last{9999, 12, 31};
  EXPECT_EQ(ToYearMonthDay(ToDays(first)), first);
  EXPECT_EQ(ToYearMonthDay(ToDays(last)), last);
  EXPECT_LT(ToDays(first), 0);
  EXPECT_GT(ToDays(last), 0);
}

TEST(DateTest, IsValidDate) {
  EXPECT_FALSE(IsValidDate(1900, 2, 29));  // divisible by 100, not by 400
  EXPECT_TRUE(IsValidDate(2000, 2, 29));   // divisible by 400
  EXPECT_TRUE(IsValidDate(2024, 2, 29));
  EXPECT_FALSE(IsValidDate(2023, 2, 29));
  EXPECT_FALSE(IsValidDate(2100, 2, 29));
  EXPECT_TRUE(IsValidDate(2023, 2, 28));
  EXPECT_FALSE(IsValidDate(2023, 13, 1));
  EXPECT_FALSE(IsValidDate(2023, 0, 1));
  EXPECT_FALSE(IsValidDate(2023, 1, 0));
  EXPECT_FALSE(IsValidDate(2023, 1, 32));
  EXPECT_FALSE(IsValidDate(2023, 4, 31));
  EXPECT_TRUE(IsValidDate(2023, 4, 30));
  EXPECT_TRUE(IsValidDate(2023, 12, 31));
  EXPECT_FALSE(IsValidDate(2023, -1, 1));
  EXPECT_FALSE(IsValidDate(2023, 1, -1));
  EXPECT_FALSE(IsValidDate(0, 1, 1));
  EXPECT_FALSE(IsValidDate(10000, 1, 1));
  EXPECT_TRUE(IsValidDate(1, 1, 1));
  EXPECT_TRUE(IsValidDate(9999, 12, 31));
}

// ---------------------------------------------------------------------------------------
// ISO 8601 parsing and formatting

TEST(DateTest, ParseIsoDateAccepts) {
  Result<Days> r = ParseIsoDate("2021-03-04");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, D(2021, 3, 4));

  // The date part of a date-time, taken as written (no time-zone shift).
  Result<Days> dt = ParseIsoDate("2021-03-04T10:00:00+01:00");
  ASSERT_TRUE(dt.ok()) << dt.status().ToString();
  EXPECT_EQ(*dt, D(2021, 3, 4));
  Result<Days> late = ParseIsoDate("2021-03-04T23:59:59-11:00");
  ASSERT_TRUE(late.ok()) << late.status().ToString();
  EXPECT_EQ(*late, D(2021, 3, 4));

  Result<Days> leap = ParseIsoDate("2024-02-29");
  ASSERT_TRUE(leap.ok());
  EXPECT_EQ(*leap, 19782);
  Result<Days> epoch = ParseIsoDate("1970-01-01");
  ASSERT_TRUE(epoch.ok());
  EXPECT_EQ(*epoch, 0);
}

TEST(DateTest, ParseIsoDateRejects) {
  const std::vector<std::string> bad = {
      "2021-3-4",   "2021-02-30", "20210304",   "2021-03-04x", "",           "abcd-ef-gh",
      "2021-13-01", "2021-00-10", "2021-01-00", "2023-02-29",  "2021/03/04", " 2021-03-04",
      "2021-03-4 ", "+021-03-04", "-021-03-04", "2021-+3-04",  "0000-01-01",
  };
  for (const std::string& text : bad) {
    SCOPED_TRACE("text: '" + text + "'");
    Result<Days> r = ParseIsoDate(text);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("'" + text + "'"), std::string::npos)
        << r.status().message();
  }
}

TEST(DateTest, ParseIsoDateLongTextIsNotEchoedInFull) {
  std::string text = "x" + std::string(1000, 'y');
  Result<Days> r = ParseIsoDate(text);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_LT(r.status().message().size(), 200u);
}

TEST(DateTest, FormatIsoDate) {
  EXPECT_EQ(FormatIsoDate(0), "1970-01-01");
  EXPECT_EQ(FormatIsoDate(-1), "1969-12-31");
  EXPECT_EQ(FormatIsoDate(19782), "2024-02-29");
  EXPECT_EQ(FormatIsoDate(D(2021, 3, 4)), "2021-03-04");
  EXPECT_EQ(FormatIsoDate(D(1, 1, 1)), "0001-01-01");
  EXPECT_EQ(FormatIsoDate(D(9999, 12, 31)), "9999-12-31");
}

TEST(DateTest, FormatParseRoundTrip) {
  for (Days d = D(1900, 1, 1); d <= D(2100, 12, 31); d += 7) {
    std::string text = FormatIsoDate(d);
    Result<Days> back = ParseIsoDate(text);
    ASSERT_TRUE(back.ok()) << text;
    ASSERT_EQ(*back, d) << text;
  }
}

// ---------------------------------------------------------------------------------------
// Weekdays and ISO weeks

TEST(DateTest, IsoWeekday) {
  EXPECT_EQ(IsoWeekday(0), 3);               // 1970-01-01 was a Thursday
  EXPECT_EQ(IsoWeekday(D(1970, 1, 5)), 0);   // Monday
  EXPECT_EQ(IsoWeekday(D(1970, 1, 4)), 6);   // Sunday
  EXPECT_EQ(IsoWeekday(-1), 2);              // Wednesday 1969-12-31
  EXPECT_EQ(IsoWeekday(D(2000, 1, 1)), 5);   // Saturday
  EXPECT_EQ(IsoWeekday(D(2024, 2, 29)), 3);  // Thursday
  EXPECT_EQ(IsoWeekday(D(1900, 1, 1)), 0);   // Monday
  for (Days d = D(1900, 1, 1); d <= D(2100, 12, 31); ++d) {
    int w = IsoWeekday(d);
    ASSERT_GE(w, 0);
    ASSERT_LE(w, 6);
    ASSERT_EQ(IsoWeekday(d + 1), (w + 1) % 7) << d;
  }
}

TEST(DateTest, IsoWeekKnownCases) {
  EXPECT_EQ(ToIsoWeek(D(2020, 12, 31)), (IsoWeek{2020, 53}));
  EXPECT_EQ(ToIsoWeek(D(2021, 1, 3)), (IsoWeek{2020, 53}));
  EXPECT_EQ(ToIsoWeek(D(2021, 1, 4)), (IsoWeek{2021, 1}));
  EXPECT_EQ(ToIsoWeek(D(2019, 12, 30)), (IsoWeek{2020, 1}));
  EXPECT_EQ(ToIsoWeek(D(2024, 12, 30)), (IsoWeek{2025, 1}));
  EXPECT_EQ(ToIsoWeek(D(2021, 3, 4)), (IsoWeek{2021, 9}));
  EXPECT_EQ(ToIsoWeek(D(2015, 12, 31)), (IsoWeek{2015, 53}));
  EXPECT_EQ(ToIsoWeek(D(2016, 1, 3)), (IsoWeek{2015, 53}));
  EXPECT_EQ(ToIsoWeek(D(2016, 1, 4)), (IsoWeek{2016, 1}));
}

TEST(DateTest, IsoWeekOrdering) {
  EXPECT_LT((IsoWeek{2020, 53}), (IsoWeek{2021, 1}));
  EXPECT_LT((IsoWeek{2021, 1}), (IsoWeek{2021, 2}));
  EXPECT_GT((IsoWeek{2022, 1}), (IsoWeek{2021, 52}));
}

TEST(DateTest, IsoWeeksInYear) {
  EXPECT_EQ(IsoWeeksInYear(2020), 53);
  EXPECT_EQ(IsoWeeksInYear(2021), 52);
  EXPECT_EQ(IsoWeeksInYear(2026), 53);
  EXPECT_EQ(IsoWeeksInYear(2015), 53);
  EXPECT_EQ(IsoWeeksInYear(2024), 52);
  // Independent rule: 53 weeks when January 1 is a Thursday, or a Wednesday in a leap year.
  for (int y = 1900; y <= 2100; ++y) {
    int jan1 = IsoWeekday(D(y, 1, 1));
    int expected = (jan1 == 3 || (jan1 == 2 && IsLeap(y))) ? 53 : 52;
    EXPECT_EQ(IsoWeeksInYear(y), expected) << y;
  }
}

TEST(DateTest, IsoWeekMatchesIndependentRuleAndMondayInverts) {
  for (Days d = D(2015, 1, 1); d <= D(2030, 12, 31); ++d) {
    // The ISO week of a day is the week of its Thursday; week 1 holds the year's first
    // Thursday.
    Days thursday = d - IsoWeekday(d) + 3;
    YearMonthDay t = ToYearMonthDay(thursday);
    int week = (thursday - D(t.year, 1, 1)) / 7 + 1;
    IsoWeek w = ToIsoWeek(d);
    ASSERT_EQ(w, (IsoWeek{t.year, week})) << FormatIsoDate(d);
    ASSERT_GE(w.week, 1);
    ASSERT_LE(w.week, IsoWeeksInYear(w.year));

    Days monday = IsoWeekMonday(w);
    ASSERT_EQ(IsoWeekday(monday), 0) << FormatIsoDate(d);
    ASSERT_LE(monday, d);
    ASSERT_GT(monday + 7, d);
    ASSERT_EQ(ToIsoWeek(monday), w);
  }
}

TEST(DateTest, IsoWeekMondayKnownValues) {
  EXPECT_EQ(IsoWeekMonday({2021, 1}), D(2021, 1, 4));
  EXPECT_EQ(IsoWeekMonday({2020, 1}), D(2019, 12, 30));
  EXPECT_EQ(IsoWeekMonday({2020, 53}), D(2020, 12, 28));
  EXPECT_EQ(IsoWeekMonday({2025, 1}), D(2024, 12, 30));
  // Consecutive weeks are 7 days apart, across year boundaries too.
  for (int y = 2015; y <= 2030; ++y) {
    for (int wk = 1; wk < IsoWeeksInYear(y); ++wk) {
      ASSERT_EQ(IsoWeekMonday({y, wk + 1}) - IsoWeekMonday({y, wk}), 7);
    }
    ASSERT_EQ(IsoWeekMonday({y + 1, 1}) - IsoWeekMonday({y, IsoWeeksInYear(y)}), 7);
  }
}

TEST(DateTest, FormatIsoWeek) {
  EXPECT_EQ(FormatIsoWeek({2021, 9}), "2021-W09");
  EXPECT_EQ(FormatIsoWeek({2020, 53}), "2020-W53");
  EXPECT_EQ(FormatIsoWeek({2021, 1}), "2021-W01");
  EXPECT_EQ(FormatIsoWeek({999, 10}), "0999-W10");
}

TEST(DateTest, ParseIsoWeekRoundTrip) {
  for (int y = 2015; y <= 2030; ++y) {
    for (int wk = 1; wk <= IsoWeeksInYear(y); ++wk) {
      IsoWeek w{y, wk};
      std::string text = FormatIsoWeek(w);
      Result<IsoWeek> back = ParseIsoWeek(text);
      ASSERT_TRUE(back.ok()) << text << ": " << back.status().ToString();
      ASSERT_EQ(*back, w) << text;
    }
  }
}

TEST(DateTest, ParseIsoWeekRejects) {
  const std::vector<std::string> bad = {
      "2021-W54", "2021W01",  "2021-W53", "2021-W00", "2021-W1",  "2021-w01",  "2021-W001",
      "",         "abcd-Wef", "2021-01",  "0000-W01", "2021-W+1", "2021-W01x", " 2021-W01",
  };
  for (const std::string& text : bad) {
    SCOPED_TRACE("text: '" + text + "'");
    Result<IsoWeek> r = ParseIsoWeek(text);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("'" + text + "'"), std::string::npos)
        << r.status().message();
  }
  // 2020 has 53 weeks, so W53 is fine there.
  Result<IsoWeek> w53 = ParseIsoWeek("2020-W53");
  ASSERT_TRUE(w53.ok());
  EXPECT_EQ(*w53, (IsoWeek{2020, 53}));
}

// ---------------------------------------------------------------------------------------
// Age

TEST(DateTest, AgeInYearsCohortRule) {
  // Born June 1980: the birthday counts from the first of the birth month.
  EXPECT_EQ(AgeInYears(1980, 6, D(2020, 5, 31)), 39);
  EXPECT_EQ(AgeInYears(1980, 6, D(2020, 6, 1)), 40);
  EXPECT_EQ(AgeInYears(1980, 6, D(2020, 6, 30)), 40);
  EXPECT_EQ(AgeInYears(1980, 6, D(2020, 12, 31)), 40);
  EXPECT_EQ(AgeInYears(1980, 6, D(2021, 1, 1)), 40);
  EXPECT_EQ(AgeInYears(1980, 6, D(1980, 6, 1)), 0);
  EXPECT_EQ(AgeInYears(1980, 6, D(1981, 5, 31)), 0);
  EXPECT_EQ(AgeInYears(1980, 6, D(1981, 6, 1)), 1);
  // January births age on January 1; December births on December 1.
  EXPECT_EQ(AgeInYears(2000, 1, D(2020, 1, 1)), 20);
  EXPECT_EQ(AgeInYears(2000, 1, D(2019, 12, 31)), 19);
  EXPECT_EQ(AgeInYears(2000, 12, D(2020, 11, 30)), 19);
  EXPECT_EQ(AgeInYears(2000, 12, D(2020, 12, 1)), 20);
}

TEST(DateTest, AgeInYearsMatchesRuleOverManyDays) {
  for (int birth_month = 1; birth_month <= 12; ++birth_month) {
    for (Days d = D(2000, 1, 1); d <= D(2003, 12, 31); ++d) {
      YearMonthDay ymd = ToYearMonthDay(d);
      int expected = ymd.year - 1990 - (ymd.month < birth_month ? 1 : 0);
      ASSERT_EQ(AgeInYears(1990, birth_month, d), expected) << FormatIsoDate(d);
    }
  }
}

}  // namespace
}  // namespace p4dp

TEST(FormatIsoTimeMs, WritesUtcToTheMillisecondOnBothSidesOfTheEpoch) {
  EXPECT_EQ(p4dp::FormatIsoTimeMs(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(p4dp::FormatIsoTimeMs(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(p4dp::FormatIsoTimeMs(1'764'624'367'123), "2025-12-01T21:26:07.123Z");
}
