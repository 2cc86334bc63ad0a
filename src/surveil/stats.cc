#include "surveil/stats.h"

#include <algorithm>
#include <boost/math/distributions/negative_binomial.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/poisson.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <cfloat>
#include <cmath>
#include <limits>

#include "base/assert.h"

namespace p4dp::surveil {
namespace {

namespace bm = boost::math;
namespace bp = boost::math::policies;

// Domain errors and overflows become NaN and infinities, as in R, instead of exceptions.
using Policy = bp::policy<bp::domain_error<bp::ignore_error>, bp::overflow_error<bp::ignore_error>,
                          bp::evaluation_error<bp::ignore_error>, bp::pole_error<bp::ignore_error>,
                          bp::rounding_error<bp::ignore_error>>;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// The smallest y >= 0 with cdf(y) >= p, searched from the Cornish-Fisher guess `y0` as R's
// discrete quantiles do (R compares with p reduced by 64 epsilons so that a cdf equal to p
// up to rounding counts as reaching it).
template <typename Cdf>
double DiscreteQuantile(double p, double mu, double sigma, double gamma, Cdf cdf) {
  if (p + 1.01 * DBL_EPSILON >= 1.0) return kInf;
  double z = QNorm(p);
  double y = std::nearbyint(mu + sigma * (z + gamma * (z * z - 1) / 6));
  if (!(y >= 0)) y = 0;
  p *= 1 - 64 * DBL_EPSILON;
  if (cdf(y) >= p) {
    // Walk left in steps that halve, keeping cdf(y) >= p.
    for (double step = std::max(1.0, std::floor(y * 0.001)); y > 0;) {
      double left = std::max(0.0, y - step);
      if (cdf(left) >= p) {
        y = left;
      } else if (step > 1) {
        step = std::max(1.0, std::floor(step / 2));
      } else {
        break;
      }
    }
    return y;
  }
  // Walk right until the cdf reaches p, then come back to the smallest such y.
  double step = std::max(1.0, std::floor(y * 0.001));
  double lo = y;  // cdf(lo) < p
  double hi = y + step;
  while (!(cdf(hi) >= p)) {
    if (!std::isfinite(hi)) return kNaN;
    lo = hi;
    step *= 2;
    hi = lo + step;
  }
  while (hi - lo > 1) {
    double mid = std::floor((lo + hi) / 2);
    if (cdf(mid) >= p) {
      hi = mid;
    } else {
      lo = mid;
    }
  }
  return hi;
}

}  // namespace

double QNorm(double p, double mean, double sd) {
  if (std::isnan(p) || std::isnan(mean) || std::isnan(sd)) return kNaN;
  if (p < 0 || p > 1 || sd < 0) return kNaN;
  if (p == 0) return -kInf;
  if (p == 1) return kInf;
  if (sd == 0) return mean;
  return mean + sd * bm::quantile(bm::normal_distribution<double, Policy>(0, 1), p);
}

double PNorm(double x, double mean, double sd) {
  if (std::isnan(x) || std::isnan(mean) || std::isnan(sd) || sd < 0) return kNaN;
  if (sd == 0) return x < mean ? 0 : 1;
  double z = (x - mean) / sd;
  if (std::isinf(z)) return z > 0 ? 1 : 0;
  return bm::cdf(bm::normal_distribution<double, Policy>(0, 1), z);
}

double QPois(double p, double lambda) {
  if (std::isnan(p) || std::isnan(lambda)) return kNaN;
  if (!std::isfinite(lambda) || lambda < 0 || p < 0 || p > 1) return kNaN;
  if (lambda == 0 || p == 0) return 0;
  if (p == 1) return kInf;
  bm::poisson_distribution<double, Policy> dist(lambda);
  double sigma = std::sqrt(lambda);
  return DiscreteQuantile(p, lambda, sigma, 1.0 / sigma,
                          [&](double y) { return bm::cdf(dist, y); });
}

double QNbinom(double p, double size, double prob) {
  if (std::isnan(p) || std::isnan(size) || std::isnan(prob)) return kNaN;
  if (prob <= 0 || prob > 1 || size < 0 || p < 0 || p > 1) return kNaN;
  if (prob == 1 || size == 0 || p == 0) return 0;
  if (p == 1) return kInf;
  if (!std::isfinite(size)) return kNaN;
  bm::negative_binomial_distribution<double, Policy> dist(size, prob);
  double q = 1.0 / prob;
  double pq = (1 - prob) * q;
  double mu = size * pq;
  double sigma = std::sqrt(size * pq * q);
  return DiscreteQuantile(p, mu, sigma, (q + pq) / sigma,
                          [&](double y) { return bm::cdf(dist, y); });
}

double PStudentT(double x, double df) {
  if (std::isnan(x) || std::isnan(df) || df <= 0) return kNaN;
  if (std::isinf(x)) return x > 0 ? 1 : 0;
  if (std::isinf(df)) return PNorm(x);
  return bm::cdf(bm::students_t_distribution<double, Policy>(df), x);
}

double QStudentT(double p, double df) {
  if (std::isnan(p) || std::isnan(df) || df <= 0 || p < 0 || p > 1) return kNaN;
  if (p == 0) return -kInf;
  if (p == 1) return kInf;
  if (std::isinf(df)) return QNorm(p);
  return bm::quantile(bm::students_t_distribution<double, Policy>(df), p);
}

double QuantileType7(std::span<const double> sorted, double p) {
  P4DP_ASSERT(!sorted.empty());
  double index = 1 + static_cast<double>(sorted.size() - 1) * p;
  double lo = std::floor(index);
  double hi = std::ceil(index);
  double q = sorted[static_cast<size_t>(lo) - 1];
  double at_hi = sorted[static_cast<size_t>(hi) - 1];
  if (index > lo && at_hi != q) {
    double h = index - lo;
    q = (1 - h) * q + h * at_hi;
  }
  return q;
}

Interval PoissonInterval(double x, double level) {
  if (!(x >= 0) || !(level > 0 && level < 1)) return {std::nan(""), std::nan("")};
  const double tail = (1 - level) / 2;
  Interval out;
  out.low = x == 0 ? 0 : bm::gamma_p_inv(x, tail);
  out.high = bm::gamma_p_inv(x + 1, 1 - tail);
  return out;
}

}  // namespace p4dp::surveil
