// Distribution functions and quantiles against values printed by R 4.2.2.
#include "surveil/stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace p4dp::surveil {
namespace {

constexpr double kRel = 1e-13;

void ExpectNear(double got, double want) {
  EXPECT_NEAR(got, want, std::abs(want) * kRel) << "want " << want;
}

TEST(Stats, NormalAsR) {
  ExpectNear(QNorm(0.975), 1.9599639845400536);
  ExpectNear(QNorm(0.999), 3.0902323061678132);
  ExpectNear(QNorm(0.2, 3, 2), 1.3167575328541716);
  ExpectNear(PNorm(1.3), 0.9031995154143897);
  ExpectNear(PNorm(-0.5, 1, 2), 0.22662735237686824);
  EXPECT_EQ(QNorm(0.3, 5, 0), 5);  // sd 0: the mean, as R
  EXPECT_EQ(QNorm(1), INFINITY);
  EXPECT_TRUE(std::isnan(QNorm(1.5)));
  EXPECT_TRUE(std::isnan(QNorm(NAN)));
}

TEST(Stats, DiscreteQuantilesAsR) {
  EXPECT_EQ(QPois(0.95, 3.2), 6);
  EXPECT_EQ(QPois(0.99, 0.01), 0);
  EXPECT_EQ(QPois(0.5, 1000.5), 1000);
  EXPECT_EQ(QPois(0.95, 1e-10), 0);
  EXPECT_EQ(QPois(0.999, 250), 300);
  EXPECT_EQ(QPois(0.95, 0), 0);
  EXPECT_EQ(QNbinom(0.95, 2.5, 0.4), 10);
  EXPECT_EQ(QNbinom(0.99, 0.01, 0.5), 0);
  EXPECT_EQ(QNbinom(0.95, 1e6, 0.999), 1053);
  EXPECT_EQ(QNbinom(0.9, 40, 0.2), 197);
  EXPECT_EQ(QNbinom(0.9, 0, 0.2), 0);  // size 0: R's special case
  EXPECT_TRUE(std::isnan(QNbinom(0.9, 1, 0)));
  EXPECT_TRUE(std::isnan(QPois(0.9, -1)));
}

TEST(Stats, StudentTAsR) {
  ExpectNear(PStudentT(-2.1, 7), 0.036935598106461298);
  ExpectNear(PStudentT(0.3, 3.5), 0.60943329508005517);
  ExpectNear(QStudentT(0.95, 10), 1.8124611228116756);
  ExpectNear(QStudentT(0.05, 251), -1.6509470251874283);
  ExpectNear(QStudentT(0.999, 2), 22.327124770119866);
  EXPECT_TRUE(std::isnan(PStudentT(1, 0)));  // no residual degrees of freedom
}

TEST(Stats, QuantileType7AsR) {
  std::vector<double> a = {1, 2, 3, 5, 7, 9};
  EXPECT_DOUBLE_EQ(QuantileType7(a, 0.85), 7.5);
  std::vector<double> b = {4, 4, 4, 5};
  EXPECT_DOUBLE_EQ(QuantileType7(b, 0.5), 4);
  std::vector<double> c;
  for (int i = 1; i <= 260; ++i) c.push_back(i);
  EXPECT_EQ(QuantileType7(c, 0.85), 221.15000000000001);
  std::vector<double> one = {3};
  EXPECT_EQ(QuantileType7(one, 0.85), 3);
}

TEST(Stats, RMaxPropagatesNaN) {
  EXPECT_TRUE(std::isnan(RMax(0, NAN)));
  EXPECT_TRUE(std::isnan(RMax(NAN, 0)));
  EXPECT_EQ(RMax(0, -INFINITY), 0);
  EXPECT_EQ(RMax(2, 1), 2);
}

TEST(PoissonInterval, IsRsPoissonTestConfInt) {
  // R: sprintf("%.10g", poisson.test(x)$conf.int) for x = 0, 5, 100.
  struct Case {
    double x, low, high;
  };
  for (const Case& c : {Case{0, 0, 3.688879454}, Case{5, 1.62348639, 11.66833208},
                        Case{100, 81.36399125, 121.6267938}}) {
    Interval i = PoissonInterval(c.x);
    EXPECT_NEAR(i.low, c.low, 1e-8 * std::max(1.0, c.low)) << c.x;
    EXPECT_NEAR(i.high, c.high, 1e-8 * c.high) << c.x;
  }
  EXPECT_TRUE(std::isnan(PoissonInterval(-1).low));
}

}  // namespace
}  // namespace p4dp::surveil
