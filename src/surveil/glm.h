// Model fits for the detectors: the Poisson (and quasi-Poisson) log-linear GLM fitted by
// iteratively reweighted least squares exactly as R's glm.fit does it (same start, same
// steps, same stopping rule, same rank rule), and ordinary least squares as R's lm. Eigen
// does the linear algebra inside glm.cc only. Pure functions; thread-safe.
#pragma once

#include <span>
#include <vector>

#include "base/status.h"

namespace p4dp::surveil {

// A design matrix, column-major: `values[col * rows + row]`.
struct Design {
  int rows = 0;
  int cols = 0;
  std::vector<double> values;

  Design(int rows_in, int cols_in)
      : rows(rows_in), cols(cols_in), values(static_cast<size_t>(rows_in) * cols_in, 0.0) {}
  // Makes it a rows x cols matrix of zeros, reusing its storage.
  void Reset(int rows_in, int cols_in) {
    rows = rows_in;
    cols = cols_in;
    values.assign(static_cast<size_t>(rows_in) * cols_in, 0.0);
  }
  double& at(int row, int col) { return values[static_cast<size_t>(col) * rows + row]; }
  double at(int row, int col) const { return values[static_cast<size_t>(col) * rows + row]; }
};

// What the detectors read of a fit: R's glm object and its summary.
struct LinearFit {
  int rank = 0;
  int df_residual = 0;
  // Coefficients in the design's column order; 0 for an aliased column (R reports NA and
  // predicts without it).
  std::vector<double> coefficients;
  std::vector<bool> aliased;
  // (X'WX)^-1 over the columns, column-major, zero in the rows and columns of aliased ones.
  std::vector<double> cov_unscaled;
  // GLM: summary.glm's dispersion, sum(w r^2) / df_residual with the working weights and
  // residuals; OLS: the residual variance. NaN when df_residual is 0.
  double dispersion = 0;
  // GLM only.
  bool converged = false;
  int iterations = 0;
  std::vector<double> fitted;  // mu
  std::vector<double> hat;     // leverages, as R's hatvalues()
};

// glm.fit(x, y, weights = prior_weights, family = poisson(link = "log")) (quasi-Poisson
// fits the same coefficients). `y` >= 0, no NaN; `prior_weights` empty (all 1) or one per
// row, > 0. A fit that does not converge in 25 iterations is returned with
// converged = false, as R does. Errors: a deviance that is not finite.
Result<LinearFit> FitPoissonGlm(const Design& x, std::span<const double> y,
                                std::span<const double> prior_weights = {});

// Scratch buffers of the fit below, kept from one fit to the next so that a detector fitting
// many small models (one or more per evaluated period) allocates only when a fit is larger
// than every one before it. One per thread; what it holds between calls means nothing.
struct GlmWorkspace {
  std::vector<double> weights, eta, mu, log_y, w, z, a, norms, tau, coefficients, r_inverse;
  std::vector<double> centred, mu_last;
};

// The same fit, written into `fit` (whose storage is reused) with the scratch space of
// `workspace`: the same answers as the function above, without allocating once the buffers
// have grown to the sizes in use.
Status FitPoissonGlm(const Design& x, std::span<const double> y,
                     std::span<const double> prior_weights, GlmWorkspace& workspace,
                     LinearFit& fit);

// The same fit by the general path only (a Householder QR of the weighted design at every
// step), which the function above skips for a design of an intercept and at most one more
// column: tests compare the two.
Status FitPoissonGlmByQrForTesting(const Design& x, std::span<const double> y,
                                   std::span<const double> prior_weights, GlmWorkspace& workspace,
                                   LinearFit& fit);

// lm(y ~ x - 1) (the design carries its own intercept column).
Result<LinearFit> FitOls(const Design& x, std::span<const double> y);

// x0' beta over the non-aliased columns (R's predict on the link scale).
double LinearPredictor(const LinearFit& fit, std::span<const double> x0);
// x0' (X'WX)^-1 x0 over the non-aliased columns: multiply by the dispersion for the
// variance of the linear predictor.
double PredictorVarianceUnscaled(const LinearFit& fit, std::span<const double> x0);

// p-value of the two-sided t test of coefficient `col` with `dispersion` (normally the fit's
// own), as summary.glm and summary.lm give it for a family with estimated dispersion. NaN if
// the column is aliased.
double CoefficientPValue(const LinearFit& fit, int col, double dispersion);

}  // namespace p4dp::surveil
