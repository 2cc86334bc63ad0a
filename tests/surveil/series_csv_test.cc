// The CSV form of series and detections: what is accepted, and errors that name the line
// and the field.
#include "surveil/series_csv.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace p4dp::surveil {
namespace {

void ExpectError(std::string_view text, const std::string& message) {
  auto s = ParseSeriesCsv(text);
  ASSERT_FALSE(s.ok()) << text;
  EXPECT_EQ(s.status().message(), message);
}

TEST(SeriesCsv, WeeksAcrossA53WeekYear) {
  auto s = ParseSeriesCsv("period,count\n2020-W52,3\n2020-W53,NA\r\n2021-W01,\n2021-W02,7.5\n");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->kind, PeriodKind::kIsoWeek);
  ASSERT_EQ(s->counts.size(), 4u);
  EXPECT_EQ(s->counts[0], 3);
  EXPECT_TRUE(std::isnan(s->counts[1]));
  EXPECT_TRUE(std::isnan(s->counts[2]));
  EXPECT_EQ(s->counts[3], 7.5);
  EXPECT_EQ(s->PeriodLabel(2), "2020-W53");
  EXPECT_EQ(s->PeriodLabel(4), "2021-W02");
  SeriesView v = s->View();
  EXPECT_EQ(v.frequency, 52);
  EXPECT_EQ(v.start_in_year, 52);
  EXPECT_TRUE(v.population.empty());
}

TEST(SeriesCsv, DaysAndAPopulationInAnyOrder) {
  auto s = ParseSeriesCsv("population,period,count\n1000,2019-02-28,1\n1000,2019-03-01,2\n");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->kind, PeriodKind::kDay);
  EXPECT_EQ(s->View().frequency, 365);
  EXPECT_EQ(s->View().start_in_year, 59);
  ASSERT_EQ(s->population.size(), 2u);
  EXPECT_EQ(s->PeriodLabel(2), "2019-03-01");
}

TEST(SeriesCsv, ErrorsNameTheLineAndTheField) {
  ExpectError("", "line 1: missing header (the input is empty)");
  ExpectError("2011-W01,5\n2011-W02,6\n",
              "line 1: missing header: expected a header line 'period,count' or "
              "'period,count,population'");
  ExpectError("period,cases\n",
              "line 1: unknown column 'cases': expected a header line 'period,count' or "
              "'period,count,population'");
  ExpectError("period,count,count\n", "line 1: column 'count' appears twice");
  ExpectError("period,count\n", "line 2: no period after the header");
  ExpectError("period,count\n2011-W01,5\n2011-W02,five\n",
              "line 3, field 'count': 'five' is not a number");
  ExpectError("period,count\n2011-W01,-1\n", "line 2, field 'count': '-1' is negative");
  ExpectError("period,count\n2011-W01,1\n2011-W02,1,3\n",
              "line 3: expected 2 fields as in the header, found 3");
  ExpectError("period,count\n2011-W01,1\n2011-W02,1\n2011-W04,1\n",
              "line 4, field 'period': '2011-W04' does not follow 2011-W02 (line 3): periods "
              "must be consecutive, one row each (expected 2011-W03)");
  ExpectError("period,count\n2011-01-01,1\n2011-01-01,1\n",
              "line 3, field 'period': '2011-01-01' does not follow 2011-01-01 (line 2): periods "
              "must be consecutive, one row each (expected 2011-01-02)");
  ExpectError("period,count\n2011-W54,1\n",
              "line 2, field 'period': '2011-W54' is not an ISO week (YYYY-Www)");
  ExpectError("period,count\n2011/01/01,1\n",
              "line 2, field 'period': '2011/01/01' is neither an ISO week (2011-W05) nor a "
              "date (2011-02-03)");
  ExpectError("period,count,population\n2011-W01,1,0\n",
              "line 2, field 'population': '0' is not positive");
}

TEST(SeriesCsv, BlankLinesAreSkipped) {
  auto s = ParseSeriesCsv("period,count\n\n2011-W01,1\n\n2011-W02,2\n\n");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->counts.size(), 2u);
}

TEST(SeriesCsv, FormatsTheDetection) {
  auto s = ParseSeriesCsv("period,count\n2011-W01,1\n2011-W02,NA\n2011-W03,4\n");
  ASSERT_TRUE(s.ok());
  Detection d{.range = {2, 3},
              .periods = {{.expected = NAN, .upper = NAN, .alarm = false},
                          {.expected = 1.0 / 3.0, .upper = 2.5, .alarm = true}}};
  EXPECT_EQ(FormatDetectionCsv(*s, d),
            "period,count,expected,upper,alarm\n"
            "2011-W02,NA,NA,NA,0\n"
            "2011-W03,4,0.3333333333333333,2.5,1\n");
  EXPECT_EQ(FormatNumber(INFINITY), "Inf");
  EXPECT_EQ(FormatNumber(123456789.125), "123456789.125");
}

}  // namespace
}  // namespace p4dp::surveil
