// Farrington (surveillance::algo.farrington with algo.farrington.fitGLM.fast) and Farrington
// flexible (surveillance::farringtonFlexible), periods counted by index (epochAsDate = FALSE).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "surveil/common.h"
#include "surveil/detect.h"
#include "surveil/glm.h"
#include "surveil/stats.h"

namespace p4dp::surveil {
namespace {

double Exponent(PowerTransform t) {
  switch (t) {
    case PowerTransform::kNone: return 1.0;
    case PowerTransform::kHalf: return 1.0 / 2.0;
    case PowerTransform::kTwoThirds: return 2.0 / 3.0;
  }
  return 1.0;
}

// The upper end of Farrington's interval (algo.farrington.threshold and
// algo.farrington.threshold.farrington): (mu0^e + z se)^(1/e) on the transformed scale, where
// R sorts the two ends with NaN first and keeps the second.
double PowerThreshold(double mu0, double se_fit, double phi, double z, PowerTransform t) {
  const double tau = phi + (se_fit * se_fit) / mu0;
  double se = 0;
  switch (t) {
    case PowerTransform::kNone: se = std::sqrt(mu0 * tau); break;
    case PowerTransform::kHalf: se = std::sqrt(1.0 / 4.0 * tau); break;
    case PowerTransform::kTwoThirds:
      se = std::sqrt(4.0 / 9.0 * std::pow(mu0, 1.0 / 3.0) * tau);
      break;
  }
  const double e = Exponent(t);
  const double lower = std::pow(std::pow(mu0, e) - z * se, 1 / e);
  const double upper = std::pow(std::pow(mu0, e) + z * se, 1 / e);
  if (std::isnan(lower)) return upper;
  if (std::isnan(upper)) return lower;
  return std::max(lower, upper);
}

// Anscombe residuals of a Poisson fit scaled by phi (surveillance's anscombe.residuals), into
// `s` (its storage reused).
// y^(2/3), looked up for the small whole counts most series are made of (the same std::pow,
// computed once).
double TwoThirdsPower(double y) {
  constexpr int kSize = 1024;
  static const std::vector<double> table = [] {
    std::vector<double> t(kSize);
    for (int i = 0; i < kSize; ++i) t[static_cast<size_t>(i)] = std::pow(i, 2.0 / 3.0);
    return t;
  }();
  if (y >= 0 && y < kSize && y == std::floor(y)) return table[static_cast<size_t>(y)];
  return std::pow(y, 2.0 / 3.0);
}

void AnscombeResiduals(const LinearFit& fit, std::span<const double> y, double phi,
                       std::vector<double>& s) {
  s.resize(y.size());
  double last_mu = std::numeric_limits<double>::quiet_NaN();
  double mu_power = 0;  // mu^(-1/6) of last_mu: rows without trend share one mu
  for (size_t i = 0; i < y.size(); ++i) {
    const double mu = fit.fitted[i];
    if (!(mu == last_mu)) {
      mu_power = std::pow(mu, -1.0 / 6.0);
      last_mu = mu;
    }
    double a = 3.0 / 2.0 * (TwoThirdsPower(y[i]) * mu_power - std::sqrt(mu));
    s[i] = a / std::sqrt(phi * (1 - fit.hat[i]));
  }
}

// algo.farrington.assign.weights: residuals above the threshold are down-weighted by s^-2,
// and the weights are scaled to sum to the number of observations. Into `omega` (its storage
// reused).
void AssignWeights(std::span<const double> s, double threshold, std::vector<double>& omega) {
  double sum = 0;
  for (double v : s) sum += v > threshold ? std::pow(v, -2.0) : 1.0;
  const double gamma = static_cast<double>(s.size()) / sum;
  omega.resize(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    omega[i] = s[i] > threshold ? gamma * std::pow(s[i], -2.0) : gamma;
  }
}

// A quasi-Poisson fit and its dispersion phi = max(dispersion, 1).
struct Model {
  LinearFit fit;
  Design design{0, 0};
  double phi = 0;
  bool has_trend = false;
  // What summary() of the reference's model reports as its dispersion. farringtonFlexible
  // replaces the model's working weights by the prior weights omega after the reweighted
  // fit, so summary() (hence the trend test and predict()'s standard error) reads
  // sum(omega r^2) / df there instead of the fit's own estimate.
  double summary_dispersion = 0;
};

// The fitted mean and its standard error at x0 (predict.glm, type = "response").
struct Prediction {
  double eta = 0;
  double fit = 0;
  double se_link = 0;
};

Prediction Predict(const LinearFit& fit, std::span<const double> x0, double dispersion) {
  Prediction p;
  p.eta = LinearPredictor(fit, x0);
  p.fit = std::max(std::exp(p.eta), 2.220446049250313e-16);
  p.se_link = std::sqrt(PredictorVarianceUnscaled(fit, x0) * dispersion);
  return p;
}

// ---------------------------------------------------------------------------------------
// algo.farrington

// algo.farrington.fitGLM.fast: the fit, refitted without trend if it did not converge,
// then reweighted once by the Anscombe residuals.
Result<Model> FitFast(std::span<const double> response, std::span<const int> wtime, bool trend,
                      bool reweight) {
  const int n = static_cast<int>(response.size());
  auto make_design = [&](bool with_trend) {
    Design d(n, with_trend ? 2 : 1);
    for (int i = 0; i < n; ++i) {
      d.at(i, 0) = 1;
      if (with_trend) d.at(i, 1) = wtime[static_cast<size_t>(i)];
    }
    return d;
  };
  Model m;
  m.has_trend = trend;
  m.design = make_design(trend);
  m.fit = P4DP_TRY(FitPoissonGlm(m.design, response));
  if (!m.fit.converged && trend) {
    m.has_trend = false;
    m.design = make_design(false);
    m.fit = P4DP_TRY(FitPoissonGlm(m.design, response));
  }
  m.phi = RMax(m.fit.dispersion, 1);
  if (reweight) {
    std::vector<double> residuals, omega;
    AnscombeResiduals(m.fit, response, m.phi, residuals);
    AssignWeights(residuals, 1.0, omega);
    m.fit = P4DP_TRY(FitPoissonGlm(m.design, response, omega));
    m.phi = RMax(m.fit.dispersion, 1);
  }
  return m;
}

Result<Evaluation> FarringtonAt(const SeriesView& series, int k, const FarringtonOptions& o) {
  const int freq = series.frequency;
  std::vector<int> wtime;
  for (int i = o.b; i >= 1; --i) {
    for (int t = k - freq * i - o.w; t <= k - freq * i + o.w; ++t) {
      if (t > 0) wtime.push_back(t);
    }
  }
  if (wtime.empty()) {
    return Status::InvalidArgument("farrington: period " + std::to_string(k) +
                                   " has no reference period in the series (lower --b or "
                                   "start the range later)");
  }
  std::vector<double> response;
  for (int t : wtime) {
    double y = CountAt(series, t);
    if (std::isnan(y)) {
      return Status::InvalidArgument(
          "farrington: period " + std::to_string(t) + " is missing and is a reference period of " +
          std::to_string(k) +
          " (the reference's fit fails there; farrington-flexible leaves "
          "missing periods out)");
    }
    response.push_back(y);
  }
  Model m = P4DP_TRY(FitFast(response, wtime, o.trend, o.reweight));
  if (m.has_trend) {
    const double p = CoefficientPValue(m.fit, 1, m.fit.dispersion);
    const double x0[] = {1.0, static_cast<double>(k)};
    const double mu0_hat = Predict(m.fit, x0, m.phi).fit;
    const bool significant = p < 0.05;
    const bool no_extrapolation = mu0_hat <= *std::max_element(response.begin(), response.end());
    if (!(o.b >= 3 && significant && no_extrapolation)) {
      m = P4DP_TRY(FitFast(response, wtime, false, o.reweight));
    }
  }
  std::vector<double> x0 = {1.0};
  if (m.has_trend) x0.push_back(k);
  const Prediction pred = Predict(m.fit, x0, m.phi);
  const double se_fit = pred.se_link * pred.fit;
  const double upper =
      PowerThreshold(pred.fit, se_fit, m.phi, QNorm(1 - o.alpha / 2), o.powertrans);
  const double enough = P4DP_TRY(EnoughCases("farrington", series, k, o.limit54));
  const double observed = CountAt(series, k);
  Evaluation e;
  e.expected = pred.fit;
  if (std::isnan(enough)) {
    e.upper = kNA;
    e.alarm = false;
  } else if (enough == 1) {
    e.upper = upper;
    e.alarm = (observed - pred.fit) / (upper - pred.fit) > 1;
  } else {
    e.upper = 0;
    e.alarm = false;
  }
  return e;
}

Status CheckCommon(std::string_view name, int b, int w, double alpha, const Limit54& limit,
                   int frequency) {
  const std::string n(name);
  if (b < 1) return Status::InvalidArgument(n + ": --b must be at least 1");
  if (w < 0 || 2 * w + 1 > frequency) {
    return Status::InvalidArgument(n + ": --w must be between 0 and " +
                                   std::to_string((frequency - 1) / 2));
  }
  P4DP_TRY(CheckOpenUnit(name, "alpha", alpha));
  if (!(limit.cases >= 0) || limit.periods < 1) {
    return Status::InvalidArgument(n + ": --limit54 needs cases >= 0 and periods >= 1");
  }
  return Status::Ok();
}

}  // namespace

Result<Detection> Farrington(const SeriesView& series, std::optional<PeriodRange> range,
                             const FarringtonOptions& options) {
  P4DP_TRY(CheckCommon("farrington", options.b, options.w, options.alpha, options.limit54,
                       series.frequency));
  const int periods = static_cast<int>(series.counts.size());
  const int default_first = std::max(1, series.frequency * options.b - options.w);
  PeriodRange r = P4DP_TRY(ResolveRange("farrington", range, default_first, periods));
  Detection out{.range = r, .periods = {}};
  for (int k = r.first; k <= r.last; ++k) {
    out.periods.push_back(P4DP_TRY(FarringtonAt(series, k, options)));
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// farringtonFlexible

namespace {

// R's a:b, which counts down when b < a.
template <typename F>
void ForColon(int a, int b, F f) {
  if (a <= b) {
    for (int t = a; t <= b; ++t) f(t);
  } else {
    for (int t = a; t >= b; --t) f(t);
  }
}

// The baseline of period k (algo.farrington.data.glm and blocks): its periods, their
// seasonal block (1..noPeriods), and the block labels present before missing counts are
// dropped (R builds the factor first).
struct FlexibleData {
  std::vector<int> wtime;
  std::vector<double> response;
  std::vector<int> block;
  std::vector<int> levels;  // sorted
};

// What the evaluation of one period needs beyond its inputs, kept from one period to the next
// of a series so that evaluating a period allocates nothing once the buffers have grown.
struct FlexibleScratch {
  FlexibleData data;
  // The trend test's critical |t| by residual degrees of freedom, NaN until computed.
  std::vector<double> critical_t;
  std::vector<int> blocks;  // blocks[t] for t = 1..n; 0 stands for R's NA
  Model model;
  std::vector<double> residuals;
  std::vector<double> omega;
  std::vector<double> x0;
  GlmWorkspace glm;
};

// Fills scratch.data with the baseline of period k.
Status FlexibleBaseline(const SeriesView& series, int k, const FarringtonFlexibleOptions& o,
                        FlexibleScratch& scratch) {
  const int n = static_cast<int>(series.counts.size());
  const int freq = series.frequency;
  const int p = o.no_periods;
  // Error messages are built only when needed: this runs for every evaluated period.
  auto at = [&] { return "farrington-flexible: period " + std::to_string(k); };
  // The first period the reference's default range evaluates, which always can be.
  auto advice = [&] {
    return ": start the range at " + std::to_string(freq * o.b + o.w + 1) +
           " or later, or lower --b or --w";
  };
  if (k - freq * o.b < 1) {
    return Status::InvalidArgument(at() + " needs its reference period " + std::to_string(o.b) +
                                   " years back (period " + std::to_string(k - freq * o.b) + ")" +
                                   advice());
  }
  // R ignores an index 0 in an assignment and fails on a negative one.
  std::vector<int>& blocks = scratch.blocks;
  blocks.assign(static_cast<size_t>(n) + 1, 0);
  bool before_series = false;
  auto set = [&](int t, int value) {
    if (t < 0) {
      before_series = true;
    } else if (t > 0 && t <= n) {
      blocks[static_cast<size_t>(t)] = value;
    }
  };
  ForColon(k - o.w, k, [&](int t) { set(t, p); });
  for (int i = 1; i <= o.b; ++i) {
    const int newer = k - freq * (i - 1);
    const int ref = k - freq * i;
    ForColon(ref - o.w, ref + o.w, [&](int t) { set(t, p); });
    if (p == 1) continue;
    const int gap = newer - 2 * o.w - 1 - ref;
    if (gap < p - (2 * o.w + 1)) {
      return Status::InvalidArgument("farrington-flexible: --no-periods " + std::to_string(p) +
                                     " is too big for --w " + std::to_string(o.w));
    }
    int cumulative = 0;
    for (int j = 1; j <= p - 1; ++j) {
      const int length = gap / (p - 1) + (j <= gap % (p - 1) ? 1 : 0);
      const int from = ref + o.w + 1 + cumulative;
      const int to = ref + o.w + 1 + cumulative + length - 1;
      ForColon(from, to, [&](int t) { set(t, j); });
      cumulative += length;
    }
  }
  if (before_series) {
    return Status::InvalidArgument(at() + ": its baseline window reaches before the series" +
                                   advice());
  }
  const int skip = o.past_weeks_not_included.value_or(o.w);
  if (k - skip < 0) {
    return Status::InvalidArgument(at() + ": --past-weeks-not-included reaches before the series");
  }
  for (int t = std::max(k - skip, 1); t <= k; ++t) blocks[static_cast<size_t>(t)] = 0;
  FlexibleData& d = scratch.data;
  d.wtime.clear();
  d.response.clear();
  d.block.clear();
  d.levels.clear();
  // Every labelled period lies between the oldest reference window's start and k.
  for (int t = std::max(k - freq * o.b - o.w, 1); t <= std::min(k, n); ++t) {
    const int label = blocks[static_cast<size_t>(t)];
    if (label == 0) continue;
    if (std::find(d.levels.begin(), d.levels.end(), label) == d.levels.end()) {
      d.levels.push_back(label);
    }
    const double y = CountAt(series, t);
    if (std::isnan(y)) continue;
    d.wtime.push_back(t);
    d.response.push_back(y);
    d.block.push_back(label);
  }
  std::sort(d.levels.begin(), d.levels.end());
  if (d.response.empty()) {
    return Status::InvalidArgument(at() + " has no baseline period with a count");
  }
  return Status::Ok();
}

// The row of the design for a period at `wtime` in seasonal block `block`: intercept, trend,
// then one indicator per level after the first (R's treatment contrasts). Into `row`.
void FlexibleRow(const FlexibleData& d, bool trend, bool factors, int wtime, int block,
                 std::vector<double>& row) {
  row.assign(1, 1.0);
  if (trend) row.push_back(wtime);
  if (factors) {
    for (size_t l = 1; l < d.levels.size(); ++l) row.push_back(block == d.levels[l] ? 1.0 : 0.0);
  }
}

// The design of the baseline, into `x`.
void FlexibleDesign(const FlexibleData& d, bool trend, bool factors, Design& x) {
  const int n = static_cast<int>(d.response.size());
  const int levels = static_cast<int>(d.levels.size());
  const int cols = 1 + (trend ? 1 : 0) + (factors ? std::max(levels - 1, 0) : 0);
  x.Reset(n, cols);
  for (int i = 0; i < n; ++i) {
    const auto u = static_cast<size_t>(i);
    x.at(i, 0) = 1;
    if (trend) x.at(i, 1) = d.wtime[u];
    if (!factors) continue;
    for (int l = 1; l < levels; ++l) {
      if (d.block[u] == d.levels[static_cast<size_t>(l)]) x.at(i, (trend ? 1 : 0) + l) = 1;
    }
  }
}

// algo.farrington.fitGLM.flexible, into scratch.model: false when neither the fit nor the one
// without trend converges.
Result<bool> FitFlexible(bool trend, bool factors, const FarringtonFlexibleOptions& o,
                         FlexibleScratch& scratch) {
  const FlexibleData& d = scratch.data;
  Model& m = scratch.model;
  m.has_trend = trend;
  FlexibleDesign(d, trend, factors, m.design);
  P4DP_TRY(FitPoissonGlm(m.design, d.response, {}, scratch.glm, m.fit));
  if (!m.fit.converged) {
    if (trend) {
      m.has_trend = false;
      FlexibleDesign(d, false, factors, m.design);
      P4DP_TRY(FitPoissonGlm(m.design, d.response, {}, scratch.glm, m.fit));
    }
    if (!m.fit.converged) return false;
  }
  m.phi = RMax(m.fit.dispersion, 1);
  m.summary_dispersion = m.fit.dispersion;
  if (o.reweight) {
    AnscombeResiduals(m.fit, d.response, m.phi, scratch.residuals);
    AssignWeights(scratch.residuals, o.weights_threshold, scratch.omega);
    const std::vector<double>& omega = scratch.omega;
    P4DP_TRY(FitPoissonGlm(m.design, d.response, omega, scratch.glm, m.fit));
    m.phi = RMax(m.fit.dispersion, 1);
    double sum = 0;
    for (size_t i = 0; i < omega.size(); ++i) {
      const double residual = (d.response[i] - m.fit.fitted[i]) / m.fit.fitted[i];
      sum += omega[i] * residual * residual;
    }
    m.summary_dispersion = m.fit.df_residual > 0 ? sum / m.fit.df_residual : kNA;
  }
  return true;
}

// The quantiles of the normal distribution the thresholds read, computed once per series.
struct FlexibleQuantiles {
  double z = 0;  // qnorm(1 - alpha)
};

// algo.farrington.threshold.farrington (delta) and algo.farrington.threshold.noufaily
// (nbPlugin, muan): the upper bound from the prediction on the response (delta) or link
// scale.
double FlexibleThreshold(const Prediction& pred, double phi, const FarringtonFlexibleOptions& o,
                         const FlexibleQuantiles& q) {
  if (o.threshold_method == ThresholdMethod::kDelta) {
    return PowerThreshold(pred.fit, pred.se_link * pred.fit, phi, q.z, o.powertrans);
  }
  const double mu0 = o.threshold_method == ThresholdMethod::kNbPlugin
                         ? std::exp(pred.eta)
                         : std::exp(QNorm(1 - o.alpha, pred.eta, pred.se_link));
  if (std::isinf(mu0)) return kNA;
  if (phi > 1) return QNbinom(1 - o.alpha, mu0 / (phi - 1), 1 / phi);
  return QPois(1 - o.alpha, mu0);
}

// Whether the trend coefficient's two-sided t test has a p-value under `threshold`
// (CoefficientPValue(...) < threshold): |t| against the critical value of its degrees of
// freedom (cached in `critical_t`), the exact p-value only within a hair of it.
bool TrendSignificant(const Model& m, double threshold, std::vector<double>& critical_t) {
  const LinearFit& fit = m.fit;
  const int df = fit.df_residual;
  const size_t p = fit.coefficients.size();
  if (df > 0 && !fit.aliased[1]) {
    const double t =
        std::abs(fit.coefficients[1] / std::sqrt(fit.cov_unscaled[p + 1] * m.summary_dispersion));
    const auto u = static_cast<size_t>(df);
    if (critical_t.size() <= u) {
      critical_t.resize(u + 1, std::numeric_limits<double>::quiet_NaN());
    }
    if (std::isnan(critical_t[u])) critical_t[u] = QStudentT(1 - threshold / 2, df);
    const double c = critical_t[u];
    constexpr double kMargin = 1e-9;
    if (t > c * (1 + kMargin)) return true;
    if (t < c * (1 - kMargin)) return false;
  }
  return CoefficientPValue(fit, 1, m.summary_dispersion) < threshold;
}

// Whether the fit of the baseline without trend (unweighted, as FitFlexible starts it)
// converges.
Result<bool> NoTrendFitConverges(bool factors, FlexibleScratch& scratch) {
  Model& m = scratch.model;
  FlexibleDesign(scratch.data, false, factors, m.design);
  P4DP_TRY(FitPoissonGlm(m.design, scratch.data.response, {}, scratch.glm, m.fit));
  return m.fit.converged;
}

Result<Evaluation> FlexibleAt(const SeriesView& series, int k, const FarringtonFlexibleOptions& o,
                              const FlexibleQuantiles& q, FlexibleScratch& scratch) {
  P4DP_TRY(FlexibleBaseline(series, k, o, scratch));
  const FlexibleData& d = scratch.data;
  const Model& m = scratch.model;
  const bool factors = o.no_periods != 1;
  // Checked before the fits rather than after: the only error it gives (a limit54 window
  // reaching before the series) is the one the evaluation would end with, since the fits do
  // not fail on a baseline of counts.
  const double enough = P4DP_TRY(EnoughCases("farrington-flexible", series, k, o.limit54));
  // Where the limit54 rule is not met (most periods of a sparse series), R reports NA for the
  // expected value and the bound, and no alarm, whatever the fits give, unless no fit
  // converges (expected 0). The fit without trend converging is enough to know that some fit
  // does, wherever the evaluation below would end (with the trend kept, dropped, or the fit
  // with trend not converging): the other fits are then skipped.
  if (enough != 1 && P4DP_TRY(NoTrendFitConverges(factors, scratch))) {
    return Evaluation{.expected = kNA, .upper = kNA, .alarm = false};
  }
  Evaluation e{.expected = 0, .upper = kNA, .alarm = false};
  // R leaves expected at 0 and the bound and alarm NA when no fit converges.
  if (!P4DP_TRY(FitFlexible(o.trend, factors, o, scratch))) return e;
  if (m.has_trend) {
    FlexibleRow(d, true, factors, k, o.no_periods, scratch.x0);
    const double fit = Predict(m.fit, scratch.x0, m.summary_dispersion).fit;
    const bool significant = TrendSignificant(m, o.p_threshold_trend, scratch.critical_t);
    const bool no_extrapolation = fit <= *std::max_element(d.response.begin(), d.response.end());
    if (!(o.b >= 3 && significant && no_extrapolation)) {
      if (!P4DP_TRY(FitFlexible(false, factors, o, scratch))) return e;
    }
  }
  FlexibleRow(d, m.has_trend, factors, k, o.no_periods, scratch.x0);
  // R passes phi to predict() inside its newdata, where predict() does not read it: the
  // standard error comes from summary()'s dispersion.
  const Prediction pred = Predict(m.fit, scratch.x0, m.summary_dispersion);
  const double upper = FlexibleThreshold(pred, m.phi, o, q);
  const double observed = CountAt(series, k);
  const double fit = o.threshold_method == ThresholdMethod::kDelta ? pred.fit : pred.eta;
  if (enough == 1) {
    const double score = std::isnan(upper) ? kNA : (observed - fit) / (upper - fit);
    e.alarm = score > 1 && observed != 0;
    e.upper = upper;
  }
  if (enough == 1 && !std::isnan(upper)) {
    e.expected = o.threshold_method == ThresholdMethod::kDelta ? pred.fit : std::exp(pred.eta);
  } else {
    e.expected = kNA;
  }
  return e;
}

}  // namespace

Result<Detection> FarringtonFlexible(const SeriesView& series, std::optional<PeriodRange> range,
                                     const FarringtonFlexibleOptions& options) {
  const char* name = "farrington-flexible";
  P4DP_TRY(
      CheckCommon(name, options.b, options.w, options.alpha, options.limit54, series.frequency));
  if (options.no_periods < 1) {
    return Status::InvalidArgument(std::string(name) + ": --no-periods must be at least 1");
  }
  if (options.past_weeks_not_included && *options.past_weeks_not_included < 0) {
    return Status::InvalidArgument(std::string(name) +
                                   ": --past-weeks-not-included must be 0 or more");
  }
  if (!(options.weights_threshold > 0)) {
    return Status::InvalidArgument(std::string(name) + ": --weights-threshold must be positive");
  }
  if (!(options.p_threshold_trend >= 0 && options.p_threshold_trend <= 1)) {
    return Status::InvalidArgument(std::string(name) +
                                   ": --p-threshold-trend must be between 0 and 1");
  }
  const int periods = static_cast<int>(series.counts.size());
  const int default_first = series.frequency * options.b + options.w + 1;
  PeriodRange r = P4DP_TRY(ResolveRange(name, range, default_first, periods));
  Detection out{.range = r, .periods = {}};
  out.periods.reserve(static_cast<size_t>(r.last - r.first + 1));
  const FlexibleQuantiles q{.z = QNorm(1 - options.alpha)};
  FlexibleScratch scratch;
  for (int k = r.first; k <= r.last; ++k) {
    out.periods.push_back(P4DP_TRY(FlexibleAt(series, k, options, q, scratch)));
  }
  return out;
}

}  // namespace p4dp::surveil
