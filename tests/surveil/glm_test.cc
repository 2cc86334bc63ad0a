// The GLM and OLS fits against R 4.2.2's glm() and lm() on small data.
#include "surveil/glm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace p4dp::surveil {
namespace {

void ExpectNear(double got, double want, double rel = 1e-10) {
  EXPECT_NEAR(got, want, std::abs(want) * rel) << "want " << want;
}

const std::vector<double> kY = {2, 0, 5, 3, 1, 4, 8, 2, 3, 6};

Design Trend(int n) {
  Design x(n, 2);
  for (int i = 0; i < n; ++i) {
    x.at(i, 0) = 1;
    x.at(i, 1) = i + 1;
  }
  return x;
}

TEST(Glm, QuasiPoissonAsR) {
  auto fit = FitPoissonGlm(Trend(10), kY);
  ASSERT_TRUE(fit.ok()) << fit.status().ToString();
  EXPECT_TRUE(fit->converged);
  EXPECT_EQ(fit->iterations, 5);  // R: m$iter
  EXPECT_EQ(fit->rank, 2);
  EXPECT_EQ(fit->df_residual, 8);
  ExpectNear(fit->coefficients[0], 0.57526028809676399);
  ExpectNear(fit->coefficients[1], 0.10907631707150213);
  ExpectNear(fit->dispersion, 1.6066386098515495);
  ExpectNear(fit->hat[0], 0.27551226283703673);
  ExpectNear(fit->hat[4], 0.1123646148713464);
  ExpectNear(fit->hat[9], 0.41750978978850473);
  ExpectNear(CoefficientPValue(*fit, 1, fit->dispersion), 0.19928141650767811);
}

TEST(Glm, PriorWeightsAsR) {
  const std::vector<double> w = {1, 1, 0.5, 2, 1, 1, 1, 1, 0.3, 1};
  auto fit = FitPoissonGlm(Trend(10), kY, w);
  ASSERT_TRUE(fit.ok());
  ExpectNear(fit->coefficients[0], 0.4029956017080959);
  ExpectNear(fit->coefficients[1], 0.13813282301536559);
  ExpectNear(fit->dispersion, 1.3861375615193525);
  EXPECT_EQ(fit->iterations, 5);
}

TEST(Glm, AllZeroResponseConvergesLikeR) {
  // R: glm(rep(0, 8) ~ 1, family = poisson) converges after 22 iterations at log(1e-10.55).
  Design x(8, 1);
  for (int i = 0; i < 8; ++i) x.at(i, 0) = 1;
  auto fit = FitPoissonGlm(x, std::vector<double>(8, 0.0));
  ASSERT_TRUE(fit.ok());
  EXPECT_TRUE(fit->converged);
  EXPECT_EQ(fit->iterations, 22);
  ExpectNear(fit->coefficients[0], -24.302585092994043, 1e-12);
}

TEST(Glm, AliasedColumnIsDroppedAsR) {
  Design x(10, 3);
  for (int i = 0; i < 10; ++i) {
    x.at(i, 0) = 1;
    x.at(i, 1) = i + 1;
    x.at(i, 2) = 2 * (i + 1);
  }
  auto fit = FitPoissonGlm(x, kY);
  ASSERT_TRUE(fit.ok());
  EXPECT_EQ(fit->rank, 2);
  EXPECT_FALSE(fit->aliased[1]);
  EXPECT_TRUE(fit->aliased[2]);
  ExpectNear(fit->coefficients[0], 0.57526028809676399);
  ExpectNear(fit->coefficients[1], 0.10907631707150213);
  EXPECT_TRUE(std::isnan(CoefficientPValue(*fit, 2, fit->dispersion)));
}

TEST(Glm, RefusesNegativeOrMissingResponses) {
  std::vector<double> y = kY;
  y[3] = -1;
  EXPECT_FALSE(FitPoissonGlm(Trend(10), y).ok());
  y[3] = NAN;
  EXPECT_FALSE(FitPoissonGlm(Trend(10), y).ok());
}

TEST(Ols, AsLmWithPredictionInterval) {
  Design x(10, 3);
  for (int i = 0; i < 10; ++i) {
    x.at(i, 0) = 1;
    x.at(i, 1) = i + 1;
    x.at(i, 2) = std::cos(i + 1);
  }
  auto fit = FitOls(x, kY);
  ASSERT_TRUE(fit.ok());
  ExpectNear(fit->coefficients[0], 1.3585174723769291);
  ExpectNear(fit->coefficients[1], 0.38398045733343789);
  ExpectNear(fit->coefficients[2], 0.4967378013537791);
  ExpectNear(fit->dispersion, 5.7630344031370502);
  const std::vector<double> x0 = {1, 11, std::cos(11.0)};
  ExpectNear(LinearPredictor(*fit, x0), 5.5845009145327857);
  // predict(lm, interval = "prediction", level = 0.9): the half-width with t(0.95, 7).
  const double half = 11.147949115651109 - 5.5845009145327857;
  ExpectNear(
      std::sqrt(fit->dispersion * (1 + PredictorVarianceUnscaled(*fit, x0))) * 1.8945786050900062,
      half, 1e-12);
}

}  // namespace
}  // namespace p4dp::surveil
