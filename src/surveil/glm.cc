#include "surveil/glm.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <string>
#include <vector>

#include "surveil/stats.h"

namespace p4dp::surveil {
namespace {

// The log link's inverse and derivative in R's poisson(): exp(eta), at least DBL_EPSILON.
double LogLinkInverse(double eta) { return std::max(std::exp(eta), DBL_EPSILON); }

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

// Poisson deviance, sum of poisson()$dev.resids, with log(y / mu) taken as log(y) - log(mu):
// the logarithms of y are computed once per fit and log(mu) is eta unless mu was held at
// DBL_EPSILON. The deviance only decides when the iterations stop, where a difference in the
// last bits does not matter.
double PoissonDeviance(std::span<const double> y, std::span<const double> log_y,
                       std::span<const double> eta, std::span<const double> mu,
                       std::span<const double> weights) {
  const double log_epsilon = std::log(DBL_EPSILON);
  double deviance = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    double r = mu[i] * weights[i];
    if (y[i] > 0) {
      const double log_mu = mu[i] == DBL_EPSILON ? log_epsilon : eta[i];
      r = weights[i] * (y[i] * (log_y[i] - log_mu) - (y[i] - mu[i]));
    }
    deviance += 2 * r;
  }
  return deviance;
}

// What the start of a fit computes of each count: log(y), log(y + 0.1) and exp(log(y + 0.1)),
// looked up for the small whole counts most series are made of.
struct CountLogs {
  double log_y = 0;
  double eta = 0;
  double mu = 0;
};
constexpr int kCountTableSize = 1024;

CountLogs ComputeCountLogs(double y) {
  CountLogs c;
  c.log_y = y > 0 ? std::log(y) : 0;
  c.eta = std::log(y + 0.1);
  c.mu = LogLinkInverse(c.eta);
  return c;
}

CountLogs LookUpCountLogs(double y) {
  static const std::vector<CountLogs> table = [] {
    std::vector<CountLogs> t(kCountTableSize);
    for (int i = 0; i < kCountTableSize; ++i) t[static_cast<size_t>(i)] = ComputeCountLogs(i);
    return t;
  }();
  if (y >= 0 && y < kCountTableSize && y == std::floor(y)) {
    return table[static_cast<size_t>(y)];
  }
  return ComputeCountLogs(y);
}

// Applies the reflector I - tau v v', v = (1, essential), to the m values of `x`, as Eigen's
// applyHouseholderOnTheLeft does.
void ApplyReflector(const double* essential, int m, double tau, double* x) {
  if (m == 1) {
    x[0] *= 1 - tau;
    return;
  }
  if (tau == 0) return;
  double dot = 0;
  for (int i = 1; i < m; ++i) dot += essential[i] * x[i];
  dot += x[0];
  x[0] -= tau * dot;
  for (int i = 1; i < m; ++i) x[i] -= tau * dot * essential[i];
}

// The Householder QR of the n x p column-major matrix `a` (p <= n) in place, with Eigen's
// HouseholderQR steps (makeHouseholder): R on and above the diagonal, each reflector's
// essential part below it, its coefficient in `tau`.
void HouseholderQrInPlace(double* a, int n, int p, double* tau) {
  for (int k = 0; k < p; ++k) {
    double* column = a + static_cast<size_t>(k) * static_cast<size_t>(n);
    double tail = 0;
    for (int i = k + 1; i < n; ++i) tail += column[i] * column[i];
    const double c0 = column[k];
    double beta = c0;
    tau[k] = 0;
    if (tail <= std::numeric_limits<double>::min()) {
      for (int i = k + 1; i < n; ++i) column[i] = 0;
    } else {
      beta = std::sqrt(c0 * c0 + tail);
      if (c0 >= 0) beta = -beta;
      const double scale = 1 / (c0 - beta);
      for (int i = k + 1; i < n; ++i) column[i] *= scale;
      tau[k] = (beta - c0) / beta;
    }
    column[k] = beta;
    for (int j = k + 1; j < p; ++j) {
      ApplyReflector(column + k, n - k, tau[k],
                     a + static_cast<size_t>(j) * static_cast<size_t>(n) + k);
    }
  }
}

// One IRLS step's weighted least squares, when every column is kept (the usual case): the
// QR of diag(w) x into ws.a and ws.tau, the coefficients into ws.coefficients. False, with
// nothing to read, when a column is aliased by R's rank rule (or x has more columns than
// rows): the general path then decides which columns to keep.
bool SolveAllColumns(const Design& x, GlmWorkspace& ws, double tolerance) {
  const int n = x.rows;
  const int p = x.cols;
  if (p > n || p == 0) return false;
  const auto un = static_cast<size_t>(n);
  for (int c = 0; c < p; ++c) {
    const double* from = x.values.data() + static_cast<size_t>(c) * un;
    double* to = ws.a.data() + static_cast<size_t>(c) * un;
    double squares = 0;
    for (size_t i = 0; i < un; ++i) {
      to[i] = ws.w[i] * from[i];
      squares += to[i] * to[i];
    }
    ws.norms[static_cast<size_t>(c)] = std::sqrt(squares);
  }
  HouseholderQrInPlace(ws.a.data(), n, p, ws.tau.data());
  for (int j = 0; j < p; ++j) {
    const double r = ws.a[static_cast<size_t>(j) * un + static_cast<size_t>(j)];
    if (!Independent(std::abs(r), ws.norms[static_cast<size_t>(j)], tolerance)) return false;
  }
  // Q' (w z), then back substitution through R.
  for (size_t i = 0; i < un; ++i) ws.z[i] *= ws.w[i];
  for (int k = 0; k < p; ++k) {
    ApplyReflector(ws.a.data() + static_cast<size_t>(k) * un + static_cast<size_t>(k), n - k,
                   ws.tau[static_cast<size_t>(k)], ws.z.data() + k);
  }
  for (int i = p - 1; i >= 0; --i) {
    double sum = ws.z[static_cast<size_t>(i)];
    for (int j = i + 1; j < p; ++j) {
      sum -= ws.a[static_cast<size_t>(j) * un + static_cast<size_t>(i)] *
             ws.coefficients[static_cast<size_t>(j)];
    }
    ws.coefficients[static_cast<size_t>(i)] =
        sum / ws.a[static_cast<size_t>(i) * un + static_cast<size_t>(i)];
  }
  return true;
}

// Fills rank, coefficients, aliased, cov_unscaled and hat from the QR of every column that
// SolveAllColumns left in `ws` (hat: the squared row norms of diag(w) x R^-1).
void TakeAllColumns(const Design& x, GlmWorkspace& ws, LinearFit& fit) {
  const int n = x.rows;
  const int p = x.cols;
  const auto un = static_cast<size_t>(n);
  const auto up = static_cast<size_t>(p);
  fit.rank = p;
  fit.coefficients.assign(ws.coefficients.begin(), ws.coefficients.end());
  fit.aliased.assign(up, false);
  // R^-1, column-major p x p, upper triangular.
  ws.r_inverse.assign(up * up, 0.0);
  auto r = [&](int i, int j) { return ws.a[static_cast<size_t>(j) * un + static_cast<size_t>(i)]; };
  auto inv = [&](int i, int j) -> double& {
    return ws.r_inverse[static_cast<size_t>(j) * up + static_cast<size_t>(i)];
  };
  for (int j = 0; j < p; ++j) {
    inv(j, j) = 1 / r(j, j);
    for (int i = j - 1; i >= 0; --i) {
      double sum = 0;
      for (int l = i + 1; l <= j; ++l) sum += r(i, l) * inv(l, j);
      inv(i, j) = -sum / r(i, i);
    }
  }
  fit.cov_unscaled.assign(up * up, 0.0);
  for (int a = 0; a < p; ++a) {
    for (int b = 0; b < p; ++b) {
      double sum = 0;
      for (int l = std::max(a, b); l < p; ++l) sum += inv(a, l) * inv(b, l);
      fit.cov_unscaled[static_cast<size_t>(b) * up + static_cast<size_t>(a)] = sum;
    }
  }
  fit.hat.assign(un, 0.0);
  for (size_t i = 0; i < un; ++i) {
    double h = 0;
    for (int c = 0; c < p; ++c) {
      double q = 0;
      for (int l = 0; l <= c; ++l) {
        q += ws.w[i] * x.values[static_cast<size_t>(l) * un + i] * inv(l, c);
      }
      h += q * q;
    }
    fit.hat[i] = h;
  }
}

// Checks the responses and prior weights and fills ws.weights (all 1 when `prior_weights` is
// empty).
Status TakeWeights(std::span<const double> y, std::span<const double> prior_weights,
                   GlmWorkspace& ws) {
  ws.weights.assign(y.size(), 1.0);
  for (size_t i = 0; i < y.size(); ++i) {
    if (!(y[i] >= 0) || !std::isfinite(y[i])) {
      return Status::InvalidArgument("Poisson GLM: a response is negative or not finite");
    }
    if (!prior_weights.empty()) ws.weights[i] = prior_weights[i];
    if (!(ws.weights[i] > 0) || !std::isfinite(ws.weights[i])) {
      return Status::InvalidArgument("Poisson GLM: a weight is not a positive number");
    }
  }
  return Status::Ok();
}

// poisson()$initialize, mustart = y + 0.1: the start of every fit, into ws.eta, ws.mu and
// ws.log_y. Returns the deviance of the start.
double StartFit(std::span<const double> y, GlmWorkspace& ws) {
  const size_t un = y.size();
  ws.eta.resize(un);
  ws.mu.resize(un);
  ws.log_y.resize(un);
  for (size_t i = 0; i < un; ++i) {
    const CountLogs c = LookUpCountLogs(y[i]);
    ws.log_y[i] = c.log_y;
    ws.eta[i] = c.eta;
    ws.mu[i] = c.mu;
  }
  return PoissonDeviance(y, ws.log_y, ws.eta, ws.mu, ws.weights);
}

// The general fit: each IRLS step solves its weighted least squares by a Householder QR of
// every column (Eigen's rank-revealing path when a column is aliased). ws.weights must hold
// the prior weights (TakeWeights).
Status FitByQr(const Design& x, std::span<const double> y, GlmWorkspace& ws, LinearFit& fit) {
  const int n = x.rows;
  const int p = x.cols;
  const auto un = static_cast<size_t>(n);
  double deviance_old = StartFit(y, ws);
  ws.w.resize(un);
  ws.z.resize(un);
  ws.a.resize(un * static_cast<size_t>(p));
  ws.norms.resize(static_cast<size_t>(p));
  ws.tau.resize(static_cast<size_t>(p));
  ws.coefficients.resize(static_cast<size_t>(p));
  fit.converged = false;
  // Whether the last solution came from the QR of every column (kept in ws.a and ws.tau);
  // otherwise from `ls`, the general path that drops aliased columns.
  bool all_columns = false;
  LeastSquares ls;
  for (fit.iterations = 1; fit.iterations <= kGlmIterationsMax; ++fit.iterations) {
    // mu.eta(eta) of the log link is linkinv(eta), which is mu itself: the working weight
    // weights mu.eta^2 / variance is weights mu.
    // Distinct buffers, which lets the compiler work on two rows at a time.
    double* __restrict z_out = ws.z.data();
    double* __restrict w_out = ws.w.data();
    const double* __restrict eta = ws.eta.data();
    const double* __restrict mu = ws.mu.data();
    const double* __restrict weights = ws.weights.data();
    const double* __restrict counts = y.data();
    for (size_t i = 0; i < un; ++i) {
      z_out[i] = eta[i] + (counts[i] - mu[i]) / mu[i];
      w_out[i] = std::sqrt(weights[i] * mu[i]);
    }
    all_columns = SolveAllColumns(x, ws, kGlmRankTolerance);
    if (!all_columns) {
      const Matrix design = ToMatrix(x);
      Vector w = Eigen::Map<const Vector>(ws.w.data(), n);
      Vector z = Eigen::Map<const Vector>(ws.z.data(), n);
      ls = SolveLeastSquares(w.asDiagonal() * design, z.cwiseProduct(w), kGlmRankTolerance);
      std::fill(ws.coefficients.begin(), ws.coefficients.end(), 0.0);
      for (size_t c = 0; c < ls.kept.size(); ++c) {
        ws.coefficients[static_cast<size_t>(ls.kept[c])] =
            ls.coefficients(static_cast<Eigen::Index>(c));
      }
    }
    std::fill(ws.eta.begin(), ws.eta.end(), 0.0);
    for (int c = 0; c < p; ++c) {
      const double beta = ws.coefficients[static_cast<size_t>(c)];
      const double* column = x.values.data() + static_cast<size_t>(c) * un;
      for (size_t i = 0; i < un; ++i) ws.eta[i] += column[i] * beta;
    }
    // Rows with the same linear predictor (all of them without a trend) share one exp().
    bool finite = true;
    for (size_t i = 0; i < un; ++i) {
      ws.mu[i] = i > 0 && ws.eta[i] == ws.eta[i - 1] ? ws.mu[i - 1] : LogLinkInverse(ws.eta[i]);
      finite = finite && std::isfinite(ws.mu[i]);
    }
    double deviance = PoissonDeviance(y, ws.log_y, ws.eta, ws.mu, ws.weights);
    if (!std::isfinite(deviance) || !finite) {
      return Status::InvalidArgument("Poisson GLM: the fit diverged (deviance not finite)");
    }
    if (std::abs(deviance - deviance_old) / (std::abs(deviance) + 0.1) < kGlmEpsilon) {
      fit.converged = true;
      break;
    }
    deviance_old = deviance;
  }
  if (!fit.converged) fit.iterations = kGlmIterationsMax;
  if (all_columns) {
    TakeAllColumns(x, ws, fit);
  } else {
    TakeSolution(ls, p, fit);
    fit.hat.assign(un, 0.0);
    for (size_t i = 0; i < un && fit.rank > 0; ++i) {
      fit.hat[i] = ls.q_rows.row(static_cast<Eigen::Index>(i)).squaredNorm();
    }
  }
  fit.df_residual = n - fit.rank;
  // R keeps the working weights of the last iteration (computed before its update) with
  // the residuals of the final fit: summary(), hatvalues() and predict() read those.
  double pearson = 0;
  fit.fitted.resize(un);
  for (size_t i = 0; i < un; ++i) {
    double residual = (y[i] - ws.mu[i]) / ws.mu[i];
    pearson += ws.w[i] * ws.w[i] * residual * residual;
    fit.fitted[i] = ws.mu[i];
    if (fit.hat[i] > 1 - 10 * DBL_EPSILON) fit.hat[i] = 1.0;
  }
  fit.dispersion =
      fit.df_residual > 0 ? pearson / fit.df_residual : std::numeric_limits<double>::quiet_NaN();
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
// The detectors' usual design, an intercept and at most one more column (Farrington's trend):
// the same IRLS steps as glm.fit, with each step's weighted least squares solved from its
// normal equations in closed form instead of a QR. The second column is centred (on a whole
// number in the middle of its range) for the solve, which changes nothing but the rounding;
// after the first step, whose start is not linear in the coefficients, a step is the Newton
// update b + (X'WX)^-1 X'(y - mu), algebraically glm.fit's (X'WX)^-1 X'Wz, and its sums take
// one pass over the rows. The deviance is sum(w y log y) - sum(w y log mu) - sum(w y) +
// sum(w mu), whose first and third terms are fixed for a fit.

// Above this fraction of leverage, or below this ratio of what is left of the second column
// after the intercept to its whole length (weighted sums of squares: R's rank rule aliases it
// below 1e-22), the closed form hands the fit to the QR path: its rounding could no longer be
// trusted to stay far below the tolerance of the comparisons with R.
// The same when the fitted values span more than e^15 (a steep trend through an outlier, or a
// baseline whose only cases are at one end, which has no finite MLE): the fitted values far
// from the cases then hang on the last digits of the slope, where the QR's rounding is R's.
constexpr double kInterceptDesignLeverageMax = 0.9;
constexpr double kInterceptDesignLeftMin = 1e-6;
constexpr double kInterceptDesignEtaRangeMax = 15;
// Chains of e^b products (see FitInterceptDesign): at most this many after an exp(), and only
// where every linear predictor lies in this range.
constexpr int kExpChainMax = 7;
constexpr double kExpChainEtaMin = -30;
constexpr double kExpChainEtaMax = 700;

// Whether `x` is a column of ones followed by at most one more column, with no more columns
// than rows.
bool IsInterceptDesign(const Design& x) {
  if (x.cols < 1 || x.cols > 2 || x.rows < x.cols) return false;
  for (int i = 0; i < x.rows; ++i) {
    if (x.values[static_cast<size_t>(i)] != 1.0) return false;
  }
  return true;
}

// The weighted normal equations' matrix X'WX of one step over the columns (1, s).
struct NormalMatrix {
  double s0 = 0;  // sum(W)
  double s1 = 0;  // sum(W s)
  double s2 = 0;  // sum(W s^2)
};

// Solves X'WX d = rhs: false when the second column is too close to aliased (see above).
// `centre` is what was taken off the second column, for the rank test on the original one.
bool SolveNormal(const NormalMatrix& h, bool trend, double centre, double rhs0, double rhs1,
                 double& d0, double& d1) {
  if (!trend) {
    d0 = rhs0 / h.s0;
    d1 = 0;
    return true;
  }
  const double ratio = h.s1 / h.s0;
  const double left = h.s2 - ratio * h.s1;
  const double length = h.s2 + centre * (2 * h.s1 + centre * h.s0);
  if (!(left > kInterceptDesignLeftMin * length)) return false;
  d1 = (rhs1 - ratio * rhs0) / left;
  d0 = (rhs0 - h.s1 * d1) / h.s0;
  return true;
}

// An intercept design's fit between two steps: the centred second column, the sums of the
// data, the coefficients over the centred columns, and the normal equations at the current mu.
struct InterceptFit {
  bool trend = false;
  double centre = 0;
  double span = 0;               // of the second column
  double s_low = 0, s_high = 0;  // of the centred one
  double sum_y = 0, sum_ys = 0, sum_y_log_y = 0, weight_sum = 0;
  double a = 0, b = 0;
  double same_mu = 0, same_mu_last = 0;  // without trend: mu after this step and the one before
  NormalMatrix h;                        // at the current mu
  NormalMatrix last;                     // of the last step (the working weights R keeps)
};

// Centres the second column of `x` (if any) into ws.centred. False if it is not finite.
bool CentreSecondColumn(const Design& x, GlmWorkspace& ws, InterceptFit& f) {
  const auto un = static_cast<size_t>(x.rows);
  ws.centred.assign(un, 0.0);
  if (!f.trend) return true;
  const double* column = x.values.data() + un;
  const auto [low, high] = std::minmax_element(column, column + un);
  f.centre = std::floor((*low + *high) / 2);
  f.span = *high - *low;
  f.s_low = *low - f.centre;
  f.s_high = *high - f.centre;
  if (!std::isfinite(f.centre) || !std::isfinite(f.span)) return false;
  for (size_t i = 0; i < un; ++i) ws.centred[i] = column[i] - f.centre;
  return true;
}

// The sums of the data and the first step's normal equations from the start of StartFit
// (eta is not a + b s there), whose right-hand side X'Wz goes to rhs0 and rhs1.
void FirstStepSums(std::span<const double> y, const GlmWorkspace& ws, InterceptFit& f, double& rhs0,
                   double& rhs1) {
  const double* s = ws.centred.data();
  const double* pw = ws.weights.data();
  f.h = NormalMatrix{};
  rhs0 = rhs1 = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const double wy = pw[i] * y[i];
    f.weight_sum += pw[i];
    f.sum_y += wy;
    f.sum_ys += wy * s[i];
    f.sum_y_log_y += wy * ws.log_y[i];
    const double w = pw[i] * ws.mu[i];
    f.h.s0 += w;
    f.h.s1 += w * s[i];
    f.h.s2 += w * s[i] * s[i];
    const double wz = w * ws.eta[i] + pw[i] * (y[i] - ws.mu[i]);
    rhs0 += wz;
    rhs1 += wz * s[i];
  }
}

// mu = exp(a + b s) of every row into ws.mu, and the normal equations there into f.h.
// Returns sum(w y log mu); `finite` false if a mu is not finite. Where no mu can reach the
// DBL_EPSILON floor or overflow, a row one period after the row before takes its mu times e^b
// instead of an exp() (a few ulps apart at most: exp() anchors every kExpChainMax rows).
double TrendPass(std::span<const double> y, GlmWorkspace& ws, InterceptFit& f, bool& finite) {
  const double* s = ws.centred.data();
  const double* pw = ws.weights.data();
  const double log_epsilon = std::log(DBL_EPSILON);
  const double a = f.a, b = f.b;
  const double eta_low = a + std::min(b * f.s_low, b * f.s_high);
  const double eta_high = a + std::max(b * f.s_low, b * f.s_high);
  const bool chain = eta_low > kExpChainEtaMin && eta_high < kExpChainEtaMax;
  const double step = chain ? std::exp(b) : 0;
  int chained = 0;
  NormalMatrix h;
  double sum_y_log_mu = 0;
  finite = true;
  for (size_t i = 0; i < y.size(); ++i) {
    const double eta = a + b * s[i];
    double mu = 0;
    if (chain && i > 0 && s[i] == s[i - 1] + 1 && chained < kExpChainMax) {
      mu = ws.mu[i - 1] * step;
      ++chained;
    } else {
      mu = LogLinkInverse(eta);
      chained = 0;
    }
    ws.mu[i] = mu;
    finite = finite && std::isfinite(mu);
    const double w = pw[i] * mu;
    h.s0 += w;
    h.s1 += w * s[i];
    h.s2 += w * s[i] * s[i];
    sum_y_log_mu += pw[i] * y[i] * (mu == DBL_EPSILON ? log_epsilon : eta);
  }
  f.h = h;
  return sum_y_log_mu;
}

// The IRLS steps from the first one's right-hand side, until the deviance settles or
// kGlmIterationsMax steps (fit.converged and fit.iterations as glm.fit reports them). False
// when a step's normal equations are too close to singular for the closed form.
Result<bool> IterateInterceptFit(std::span<const double> y, double deviance_old, double rhs0,
                                 double rhs1, GlmWorkspace& ws, InterceptFit& f, LinearFit& fit) {
  const double log_epsilon = std::log(DBL_EPSILON);
  ws.mu_last.resize(y.size());
  fit.converged = false;
  for (fit.iterations = 1; fit.iterations <= kGlmIterationsMax; ++fit.iterations) {
    const bool first = fit.iterations == 1;
    if (!first) {
      rhs0 = f.sum_y - f.h.s0;
      rhs1 = f.sum_ys - f.h.s1;
    }
    double d0 = 0, d1 = 0;
    if (!SolveNormal(f.h, f.trend, f.centre, rhs0, rhs1, d0, d1)) return false;
    f.a = first ? d0 : f.a + d0;
    f.b = first ? d1 : f.b + d1;
    f.last = f.h;
    double sum_y_log_mu = 0;
    bool finite = true;
    if (f.trend) {
      ws.mu.swap(ws.mu_last);
      sum_y_log_mu = TrendPass(y, ws, f, finite);
    } else {
      // Without trend every row has the same mu after the first step: no pass over the rows.
      if (first) ws.mu.swap(ws.mu_last);
      f.same_mu_last = f.same_mu;
      f.same_mu = LogLinkInverse(f.a);
      finite = std::isfinite(f.same_mu);
      f.h = NormalMatrix{.s0 = f.weight_sum * f.same_mu};
      sum_y_log_mu = f.sum_y * (f.same_mu == DBL_EPSILON ? log_epsilon : f.a);
    }
    const double deviance = 2 * (f.sum_y_log_y - sum_y_log_mu - f.sum_y + f.h.s0);
    if (!std::isfinite(deviance) || !finite) {
      return Status::InvalidArgument("Poisson GLM: the fit diverged (deviance not finite)");
    }
    if (std::abs(deviance - deviance_old) / (std::abs(deviance) + 0.1) < kGlmEpsilon) {
      fit.converged = true;
      break;
    }
    deviance_old = deviance;
  }
  if (!fit.converged) fit.iterations = kGlmIterationsMax;
  if (!f.trend) {
    std::fill(ws.mu.begin(), ws.mu.end(), f.same_mu);
    // After the first step, the last one's weights came from the same mu of the step before.
    if (fit.iterations > 1) std::fill(ws.mu_last.begin(), ws.mu_last.end(), f.same_mu_last);
  }
  return true;
}

// Fills the rest of `fit` from the last step: (X'WX)^-1 with its working weights, the
// leverages, the dispersion, the coefficients and covariance back on the original columns.
// False when a leverage is above kInterceptDesignLeverageMax.
bool TakeInterceptFit(std::span<const double> y, const GlmWorkspace& ws, const InterceptFit& f,
                      LinearFit& fit) {
  const double* s = ws.centred.data();
  const double* pw = ws.weights.data();
  double c00 = 1 / f.last.s0, c01 = 0, c11 = 0;
  if (f.trend) {
    const double ratio = f.last.s1 / f.last.s0;
    c11 = 1 / (f.last.s2 - ratio * f.last.s1);
    c01 = -ratio * c11;
    c00 += ratio * ratio * c11;
  }
  const size_t un = y.size();
  fit.hat.resize(un);
  fit.fitted.resize(un);
  double pearson = 0;
  for (size_t i = 0; i < un; ++i) {
    const double w = pw[i] * ws.mu_last[i];
    fit.hat[i] = w * (c00 + s[i] * (2 * c01 + s[i] * c11));
    if (!(fit.hat[i] <= kInterceptDesignLeverageMax)) return false;
    const double residual = (y[i] - ws.mu[i]) / ws.mu[i];
    pearson += w * residual * residual;
    fit.fitted[i] = ws.mu[i];
  }
  const int p = f.trend ? 2 : 1;
  const auto up = static_cast<size_t>(p);
  fit.rank = p;
  fit.aliased.assign(up, false);
  fit.coefficients.assign(up, f.a);
  fit.cov_unscaled.assign(up * up, c00);
  if (f.trend) {
    // Back to the original second column: intercept a - centre b.
    fit.coefficients = {f.a - f.centre * f.b, f.b};
    const double cov01 = c01 - f.centre * c11;
    fit.cov_unscaled = {c00 - f.centre * (2 * c01 - f.centre * c11), cov01, cov01, c11};
  }
  fit.df_residual = static_cast<int>(un) - p;
  fit.dispersion =
      fit.df_residual > 0 ? pearson / fit.df_residual : std::numeric_limits<double>::quiet_NaN();
  return true;
}

// The fit of an intercept design (IsInterceptDesign), into `fit`. ws.weights must hold the
// prior weights. False, with nothing to read, when the closed form hands the fit to FitByQr.
Result<bool> FitInterceptDesign(const Design& x, std::span<const double> y, GlmWorkspace& ws,
                                LinearFit& fit) {
  InterceptFit f;
  f.trend = x.cols == 2;
  const double deviance_start = StartFit(y, ws);
  if (!CentreSecondColumn(x, ws, f)) return false;
  double rhs0 = 0, rhs1 = 0;
  FirstStepSums(y, ws, f, rhs0, rhs1);
  if (!P4DP_TRY(IterateInterceptFit(y, deviance_start, rhs0, rhs1, ws, f, fit))) return false;
  if (!(std::abs(f.b) * f.span <= kInterceptDesignEtaRangeMax)) return false;
  return TakeInterceptFit(y, ws, f, fit);
}

}  // namespace

Status FitPoissonGlm(const Design& x, std::span<const double> y,
                     std::span<const double> prior_weights, GlmWorkspace& ws, LinearFit& fit) {
  P4DP_ASSERT(static_cast<size_t>(x.rows) == y.size());
  P4DP_ASSERT(prior_weights.empty() || prior_weights.size() == y.size());
  P4DP_TRY(TakeWeights(y, prior_weights, ws));
  if (IsInterceptDesign(x)) {
    const bool done = P4DP_TRY(FitInterceptDesign(x, y, ws, fit));
    if (done) return Status::Ok();
  }
  return FitByQr(x, y, ws, fit);
}

Result<LinearFit> FitPoissonGlm(const Design& x, std::span<const double> y,
                                std::span<const double> prior_weights) {
  GlmWorkspace workspace;
  LinearFit fit;
  P4DP_TRY(FitPoissonGlm(x, y, prior_weights, workspace, fit));
  return fit;
}

Status FitPoissonGlmByQrForTesting(const Design& x, std::span<const double> y,
                                   std::span<const double> prior_weights, GlmWorkspace& ws,
                                   LinearFit& fit) {
  P4DP_ASSERT(static_cast<size_t>(x.rows) == y.size());
  P4DP_ASSERT(prior_weights.empty() || prior_weights.size() == y.size());
  P4DP_TRY(TakeWeights(y, prior_weights, ws));
  return FitByQr(x, y, ws, fit);
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
