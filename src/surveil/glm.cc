#include "surveil/glm.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <string>

#include "surveil/stats.h"

namespace p4dp::surveil {
namespace {

using Matrix = Eigen::MatrixXd;
using Vector = Eigen::VectorXd;

// R's tolerances: glm.fit asks its QR for min(1e-7, epsilon / 1000), lm.fit for 1e-7.
constexpr double kGlmRankTolerance = 1e-11;
constexpr double kLmRankTolerance = 1e-7;
// glm.control(): epsilon = 1e-8, maxit = 25.
constexpr double kGlmEpsilon = 1e-8;
constexpr int kGlmIterationsMax = 25;

// The least-squares solution of a * coef = rhs with R's rank rule (LINPACK dqrdc2, as lm.fit
// and glm.fit call it): columns are taken in order, and one whose part left after the
// columns kept before it is shorter than `tolerance` times its own length is aliased.
struct LeastSquares {
  std::vector<int> kept;
  Vector coefficients;  // one per kept column
  Matrix r_inverse;     // inverse of the triangular factor of the kept columns
  Matrix q_rows;        // a(:, kept) * r_inverse: the thin Q, whose row norms are leverages
};

// Solves over the columns `kept` of `a`, whose QR is `qr`.
LeastSquares Finish(const Eigen::HouseholderQR<Matrix>& qr, const Matrix& kept_cols,
                    const Vector& rhs, std::vector<int> kept) {
  LeastSquares out;
  out.kept = std::move(kept);
  const auto k = static_cast<Eigen::Index>(out.kept.size());
  out.coefficients = qr.solve(rhs);
  Matrix r = qr.matrixQR().topLeftCorner(k, k).triangularView<Eigen::Upper>();
  out.r_inverse = r.triangularView<Eigen::Upper>().solve(Matrix::Identity(k, k));
  out.q_rows = kept_cols * out.r_inverse;
  return out;
}

// dqrdc2's test: what is left of a column after the columns kept before it must be at least
// `tolerance` times its length (times 1 for a column of zeros).
bool Independent(double left, double length, double tolerance) {
  return left >= tolerance * (length == 0 ? 1.0 : length) && length != 0;
}

LeastSquares SolveLeastSquares(const Matrix& a, const Vector& rhs, double tolerance) {
  const Eigen::Index n = a.rows();
  const Eigen::Index p = a.cols();
  // Usually every column is kept: one QR of them all then says so, since the diagonal of its
  // triangular factor is what is left of each column after the ones before it.
  if (p <= n) {
    Eigen::HouseholderQR<Matrix> qr(a);
    bool all = true;
    for (Eigen::Index j = 0; j < p && all; ++j) {
      all = Independent(std::abs(qr.matrixQR()(j, j)), a.col(j).norm(), tolerance);
    }
    if (all) {
      std::vector<int> kept(static_cast<size_t>(p));
      for (Eigen::Index j = 0; j < p; ++j) kept[static_cast<size_t>(j)] = static_cast<int>(j);
      return Finish(qr, a, rhs, std::move(kept));
    }
  }
  // Otherwise columns are taken one by one, each tested against those kept so far.
  std::vector<int> kept;
  auto gather = [&] {
    Matrix cols(n, static_cast<Eigen::Index>(kept.size()));
    for (size_t c = 0; c < kept.size(); ++c)
      cols.col(static_cast<Eigen::Index>(c)) = a.col(kept[c]);
    return cols;
  };
  for (Eigen::Index j = 0; j < p; ++j) {
    const double length = a.col(j).norm();
    double left = length;
    if (!kept.empty()) {
      Matrix cols = gather();
      Eigen::HouseholderQR<Matrix> qr(cols);
      Vector rotated = qr.householderQ().transpose() * a.col(j);
      left = rotated.tail(n - cols.cols()).norm();
    }
    if (Independent(left, length, tolerance) && static_cast<Eigen::Index>(kept.size()) < n) {
      kept.push_back(static_cast<int>(j));
    }
  }
  if (kept.empty()) return LeastSquares{};
  Matrix cols = gather();
  Eigen::HouseholderQR<Matrix> qr(cols);
  return Finish(qr, cols, rhs, std::move(kept));
}

// Fills rank, coefficients, aliased and cov_unscaled from a solution over `cols` columns.
void TakeSolution(const LeastSquares& ls, int cols, LinearFit& fit) {
  fit.rank = static_cast<int>(ls.kept.size());
  fit.coefficients.assign(static_cast<size_t>(cols), 0.0);
  fit.aliased.assign(static_cast<size_t>(cols), true);
  fit.cov_unscaled.assign(static_cast<size_t>(cols) * cols, 0.0);
  if (fit.rank == 0) return;
  Matrix cov = ls.r_inverse * ls.r_inverse.transpose();
  for (size_t a = 0; a < ls.kept.size(); ++a) {
    fit.coefficients[static_cast<size_t>(ls.kept[a])] =
        ls.coefficients(static_cast<Eigen::Index>(a));
    fit.aliased[static_cast<size_t>(ls.kept[a])] = false;
    for (size_t b = 0; b < ls.kept.size(); ++b) {
      fit.cov_unscaled[static_cast<size_t>(ls.kept[b]) * cols + ls.kept[a]] =
          cov(static_cast<Eigen::Index>(a), static_cast<Eigen::Index>(b));
    }
  }
}

Matrix ToMatrix(const Design& x) {
  return Eigen::Map<const Matrix>(x.values.data(), x.rows, x.cols);
}

// The log link's inverse and derivative in R's poisson(): exp(eta), at least DBL_EPSILON.
double LogLinkInverse(double eta) { return std::max(std::exp(eta), DBL_EPSILON); }

// Poisson deviance, sum of poisson()$dev.resids.
double PoissonDeviance(std::span<const double> y, const Vector& mu, const Vector& weights) {
  double deviance = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const auto e = static_cast<Eigen::Index>(i);
    double r = mu(e) * weights(e);
    if (y[i] > 0) r = weights(e) * (y[i] * std::log(y[i] / mu(e)) - (y[i] - mu(e)));
    deviance += 2 * r;
  }
  return deviance;
}

}  // namespace

Result<LinearFit> FitPoissonGlm(const Design& x, std::span<const double> y,
                                std::span<const double> prior_weights) {
  P4DP_ASSERT(static_cast<size_t>(x.rows) == y.size());
  P4DP_ASSERT(prior_weights.empty() || prior_weights.size() == y.size());
  const Eigen::Index n = x.rows;
  const Matrix design = ToMatrix(x);
  Vector weights = Vector::Ones(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double yi = y[static_cast<size_t>(i)];
    if (!(yi >= 0) || !std::isfinite(yi)) {
      return Status::InvalidArgument("Poisson GLM: a response is negative or not finite");
    }
    if (!prior_weights.empty()) weights(i) = prior_weights[static_cast<size_t>(i)];
    if (!(weights(i) > 0) || !std::isfinite(weights(i))) {
      return Status::InvalidArgument("Poisson GLM: a weight is not a positive number");
    }
  }
  // poisson()$initialize: mustart = y + 0.1.
  Vector eta(n), mu(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    eta(i) = std::log(y[static_cast<size_t>(i)] + 0.1);
    mu(i) = LogLinkInverse(eta(i));
  }
  double deviance_old = PoissonDeviance(y, mu, weights);
  LinearFit fit;
  Vector w(n);
  Vector coefficients = Vector::Zero(x.cols);
  LeastSquares ls;
  for (fit.iterations = 1; fit.iterations <= kGlmIterationsMax; ++fit.iterations) {
    Vector z(n);
    for (Eigen::Index i = 0; i < n; ++i) {
      double mu_eta = LogLinkInverse(eta(i));
      z(i) = eta(i) + (y[static_cast<size_t>(i)] - mu(i)) / mu_eta;
      w(i) = std::sqrt(weights(i) * mu_eta * mu_eta / mu(i));
    }
    ls = SolveLeastSquares(w.asDiagonal() * design, z.cwiseProduct(w), kGlmRankTolerance);
    coefficients.setZero();
    for (size_t c = 0; c < ls.kept.size(); ++c) {
      coefficients(ls.kept[c]) = ls.coefficients(static_cast<Eigen::Index>(c));
    }
    eta = design * coefficients;
    for (Eigen::Index i = 0; i < n; ++i) mu(i) = LogLinkInverse(eta(i));
    double deviance = PoissonDeviance(y, mu, weights);
    if (!std::isfinite(deviance) || !mu.allFinite()) {
      return Status::InvalidArgument("Poisson GLM: the fit diverged (deviance not finite)");
    }
    if (std::abs(deviance - deviance_old) / (std::abs(deviance) + 0.1) < kGlmEpsilon) {
      fit.converged = true;
      break;
    }
    deviance_old = deviance;
  }
  if (!fit.converged) fit.iterations = kGlmIterationsMax;
  TakeSolution(ls, x.cols, fit);
  fit.df_residual = x.rows - fit.rank;
  // R keeps the working weights of the last iteration (computed before its update) with
  // the residuals of the final fit: summary(), hatvalues() and predict() read those.
  double pearson = 0;
  fit.fitted.resize(static_cast<size_t>(n));
  fit.hat.assign(static_cast<size_t>(n), 0.0);
  for (Eigen::Index i = 0; i < n; ++i) {
    const auto u = static_cast<size_t>(i);
    double residual = (y[u] - mu(i)) / LogLinkInverse(eta(i));
    pearson += w(i) * w(i) * residual * residual;
    fit.fitted[u] = mu(i);
    if (fit.rank > 0) {
      double h = ls.q_rows.row(i).squaredNorm();
      fit.hat[u] = h > 1 - 10 * DBL_EPSILON ? 1.0 : h;
    }
  }
  fit.dispersion =
      fit.df_residual > 0 ? pearson / fit.df_residual : std::numeric_limits<double>::quiet_NaN();
  return fit;
}

Result<LinearFit> FitOls(const Design& x, std::span<const double> y) {
  P4DP_ASSERT(static_cast<size_t>(x.rows) == y.size());
  const Matrix design = ToMatrix(x);
  Vector response = Eigen::Map<const Vector>(y.data(), x.rows);
  if (!response.allFinite()) return Status::InvalidArgument("OLS: a response is not finite");
  LeastSquares ls = SolveLeastSquares(design, response, kLmRankTolerance);
  LinearFit fit;
  TakeSolution(ls, x.cols, fit);
  fit.converged = true;
  fit.df_residual = x.rows - fit.rank;
  Vector beta = Eigen::Map<const Vector>(fit.coefficients.data(), x.cols);
  double rss = (response - design * beta).squaredNorm();
  fit.dispersion =
      fit.df_residual > 0 ? rss / fit.df_residual : std::numeric_limits<double>::quiet_NaN();
  return fit;
}

double LinearPredictor(const LinearFit& fit, std::span<const double> x0) {
  P4DP_ASSERT(x0.size() == fit.coefficients.size());
  double eta = 0;
  for (size_t j = 0; j < x0.size(); ++j) {
    if (!fit.aliased[j]) eta += x0[j] * fit.coefficients[j];
  }
  return eta;
}

double PredictorVarianceUnscaled(const LinearFit& fit, std::span<const double> x0) {
  const size_t p = fit.coefficients.size();
  P4DP_ASSERT(x0.size() == p);
  double v = 0;
  for (size_t a = 0; a < p; ++a) {
    for (size_t b = 0; b < p; ++b) v += x0[a] * fit.cov_unscaled[b * p + a] * x0[b];
  }
  return v;
}

double CoefficientPValue(const LinearFit& fit, int col, double dispersion) {
  const auto c = static_cast<size_t>(col);
  if (fit.aliased[c]) return std::numeric_limits<double>::quiet_NaN();
  const size_t p = fit.coefficients.size();
  double se = std::sqrt(fit.cov_unscaled[c * p + c] * dispersion);
  double t = fit.coefficients[c] / se;
  return 2 * PStudentT(-std::abs(t), fit.df_residual);
}

}  // namespace p4dp::surveil
