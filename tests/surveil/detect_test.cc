// The detectors' contracts on small series worked out by hand: what each computes, its
// default range, its errors, and Serfling's epidemic rule. (Agreement with R on real
// datasets is detect_golden_test's job.)
#include "surveil/detect.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace p4dp::surveil {
namespace {

SeriesView Weekly(const std::vector<double>& counts) {
  return SeriesView{.counts = counts, .population = {}, .frequency = 52, .start_in_year = 1};
}

void ExpectError(const Status& status, const std::string& part) {
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find(part), std::string::npos) << status.message();
}

TEST(Ears, C1ByHand) {
  const std::vector<double> counts = {1, 2, 3, 4, 5, 6, 7, 8, 20};
  auto d = EarsC(Weekly(counts), std::nullopt, {});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->range, (PeriodRange{8, 9}));  // default: baseline + 1 to the end
  // Period 8: reference 1..7, mean 4, sd sqrt(14/3); z = qnorm(0.999).
  const double z = 3.0902323061678132;
  const double sd = std::sqrt(14.0 / 3.0);
  EXPECT_DOUBLE_EQ(d->periods[0].expected, 4);
  EXPECT_NEAR(d->periods[0].upper, 4 + z * sd, 1e-12);
  EXPECT_FALSE(d->periods[0].alarm);
  EXPECT_NEAR(d->periods[1].upper, 5 + z * sd, 1e-12);
  EXPECT_TRUE(d->periods[1].alarm);
  // min_sigma raises a flat baseline's bound.
  const std::vector<double> flat = {3, 3, 3, 3, 3, 3, 3, 4};
  auto f = EarsC(Weekly(flat), std::nullopt, {});
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->periods[0].alarm);  // sd 0: any rise alarms
  auto g = EarsC(Weekly(flat), std::nullopt, {.min_sigma = 1});
  ASSERT_TRUE(g.ok());
  EXPECT_FALSE(g->periods[0].alarm);
  EXPECT_NEAR(g->periods[0].upper, 3 + z, 1e-12);
}

TEST(Ears, MissingCountsGiveNoBoundAndNoAlarm) {
  std::vector<double> counts = {1, 2, 3, NAN, 5, 6, 7, 8, 20};
  auto d = EarsC(Weekly(counts), std::nullopt, {});
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(std::isnan(d->periods[1].upper));
  EXPECT_FALSE(d->periods[1].alarm);
}

TEST(Ears, RefusesWhatTheReferenceRefuses) {
  const std::vector<double> counts(30, 2.0);
  ExpectError(EarsC(Weekly(counts), std::nullopt, {.baseline = 2}).status(), "--baseline");
  ExpectError(EarsC(Weekly(counts), std::nullopt, {.alpha = 1.5}).status(), "--alpha");
  ExpectError(EarsC(Weekly(counts), PeriodRange{5, 20}, {}).status(), "7 earlier periods");
  ExpectError(EarsC(Weekly(counts), PeriodRange{10, 31}, {}).status(),
              "outside the series: the series has periods 1 to 30");
  ExpectError(EarsC(Weekly(counts), PeriodRange{12, 10}, {}).status(), "empty");
  ExpectError(EarsC(Weekly({1, 2, 3}), std::nullopt, {}).status(), "too short");
}

std::vector<double> Seasonal(int n) {
  std::vector<double> counts;
  for (int t = 1; t <= n; ++t) {
    counts.push_back(std::round(10 + 5 * std::cos(2 * M_PI * t / 52) + (t % 3)));
  }
  return counts;
}

TEST(Farrington, DefaultRangeAndAnOutbreak) {
  std::vector<double> counts = Seasonal(300);
  counts[289] = 60;
  auto d = Farrington(Weekly(counts), std::nullopt, {});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->range, (PeriodRange{257, 300}));  // 52 * 5 - 3
  for (int k = 257; k <= 300; ++k) {
    const Evaluation& e = d->periods[static_cast<size_t>(k - 257)];
    EXPECT_GT(e.expected, 3) << k;
    EXPECT_GT(e.upper, e.expected) << k;
    EXPECT_EQ(e.alarm, k == 290) << k;
  }
}

TEST(Farrington, Limit54HoldsAlarmsBackWithAZeroBound) {
  std::vector<double> counts(300, 0.0);
  counts[299] = 3;  // 3 cases in the last 4 weeks: fewer than 5
  auto d = Farrington(Weekly(counts), PeriodRange{300, 300}, {});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->periods[0].upper, 0);
  EXPECT_FALSE(d->periods[0].alarm);
  auto off = Farrington(Weekly(counts), PeriodRange{300, 300}, {.limit54 = {0, 4}});
  ASSERT_TRUE(off.ok());
  EXPECT_TRUE(off->periods[0].alarm);
}

TEST(Farrington, MissingBaselineWeekIsAnErrorNamingIt) {
  std::vector<double> counts = Seasonal(300);
  counts[139] = NAN;  // period 140 = 296 - 3 * 52
  ExpectError(Farrington(Weekly(counts), PeriodRange{290, 300}, {}).status(),
              "period 140 is missing");
}

TEST(FarringtonFlexible, NeedsItsReferenceYears) {
  const std::vector<double> counts = Seasonal(300);
  ExpectError(FarringtonFlexible(Weekly(counts), PeriodRange{200, 210}, {}).status(),
              "period 200 needs its reference period 5 years back");
  auto d = FarringtonFlexible(Weekly(counts), std::nullopt, {});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->range, (PeriodRange{264, 300}));
}

TEST(FarringtonFlexible, MissingWeeksAreLeftOut) {
  std::vector<double> counts = Seasonal(300);
  counts[139] = NAN;
  counts[298] = NAN;
  auto d = FarringtonFlexible(Weekly(counts), PeriodRange{290, 300}, {});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(std::isnan(d->periods[9].upper));  // period 299: limit54 window has an NA
  EXPECT_FALSE(d->periods[9].alarm);
  EXPECT_GT(d->periods[0].upper, 0);
}

// Below the limit54 rule R reports NA for the expected value, unless no fit converges: then
// 0. An all-zero baseline of 35 periods converges (in 24 steps); one of 300 (b = w = 12) does
// not within 25 (R 4.2.2, surveillance 1.20.3: farringtonFlexible(sts(rep(0, 700)),
// control = list(b = 12, w = 12, range = 690:700))@control$expected is 0, NA with the
// defaults).
TEST(FarringtonFlexible, BelowLimit54ExpectedIsNaUnlessNoFitConverges) {
  const std::vector<double> zeros(700, 0.0);
  auto d = FarringtonFlexible(Weekly(zeros), PeriodRange{690, 700}, {});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  auto none = FarringtonFlexible(Weekly(zeros), PeriodRange{690, 700}, {.b = 12, .w = 12});
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  for (size_t i = 0; i < 11; ++i) {
    EXPECT_TRUE(std::isnan(d->periods[i].expected)) << i;
    EXPECT_TRUE(std::isnan(d->periods[i].upper)) << i;
    EXPECT_FALSE(d->periods[i].alarm) << i;
    EXPECT_EQ(none->periods[i].expected, 0) << i;
    EXPECT_TRUE(std::isnan(none->periods[i].upper)) << i;
    EXPECT_FALSE(none->periods[i].alarm) << i;
  }
}

TEST(Cusum, StandardByHand) {
  const std::vector<double> counts = {2, 2, 2, 2, 2, 8, 2};
  auto d = Cusum(Weekly(counts), PeriodRange{5, 7}, {});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  const double s6 = 6 / std::sqrt(2.0);
  EXPECT_EQ(d->periods[0].expected, 0);
  EXPECT_NEAR(d->periods[1].expected, s6 - 1.04, 1e-12);
  EXPECT_NEAR(d->periods[2].expected, s6 - 2.08, 1e-12);
  EXPECT_EQ(d->periods[1].upper, std::ceil(std::sqrt(2.0) * (2.26 + 1.04) + 2));
  EXPECT_FALSE(d->periods[0].alarm);
  EXPECT_TRUE(d->periods[1].alarm);
  EXPECT_FALSE(d->periods[2].alarm);
}

TEST(Cusum, NeedsARange) {
  const std::vector<double> counts(20, 1.0);
  ExpectError(Cusum(Weekly(counts), std::nullopt, {}).status(), "--range is required");
  ExpectError(Cusum(Weekly(counts), PeriodRange{1, 5}, {}).status(), "period 2 or later");
}

// A flat weekly series (10, 11, 12, ...) whose last weeks are set high (above) or low.
std::vector<double> WithPattern(const std::vector<bool>& high) {
  std::vector<double> counts;
  for (int t = 0; t < 300; ++t) counts.push_back(10 + t % 3);
  for (bool h : high) counts.push_back(h ? 100 : 9);
  return counts;
}

TEST(Serfling, EpidemicFromTwoWeeksAboveToTheLastAboveBeforeTwoBelow) {
  const std::vector<bool> high = {true, true,  false, true, false, false,
                                  true, false, true,  true, false};
  std::vector<double> counts = WithPattern(high);
  auto d = Serfling(Weekly(counts), PeriodRange{301, 311}, {});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  const std::vector<bool> epidemic = {true,  true,  true, true, false, false,
                                      false, false, true, true, false};
  for (size_t i = 0; i < high.size(); ++i) {
    EXPECT_EQ(counts[300 + i] > d->periods[i].upper, high[i]) << i;
    EXPECT_EQ(d->periods[i].alarm, epidemic[i]) << i;
  }
}

TEST(Serfling, IncidenceWithAPopulation) {
  std::vector<double> counts = WithPattern({false, true});
  std::vector<double> population(counts.size(), 50'000);
  SeriesView with = Weekly(counts);
  with.population = population;
  auto a = Serfling(with, PeriodRange{301, 302}, {});
  auto b = Serfling(Weekly(counts), PeriodRange{301, 302}, {});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NEAR(a->periods[0].expected, b->periods[0].expected * 2, 1e-9);
  EXPECT_NEAR(a->periods[0].upper, b->periods[0].upper * 2, 1e-9);
}

TEST(Serfling, RefusesDailySeriesAndShortWindows) {
  const std::vector<double> counts(400, 1.0);
  SeriesView daily = Weekly(counts);
  daily.frequency = 365;
  ExpectError(Serfling(daily, std::nullopt, {}).status(), "weekly");
  ExpectError(Serfling(Weekly(counts), PeriodRange{100, 120}, {}).status(), "260 earlier weeks");
}

}  // namespace
}  // namespace p4dp::surveil
