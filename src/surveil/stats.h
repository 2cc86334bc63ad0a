// Distribution functions and quantiles with R's semantics (the detectors compare their
// results with R's), computed with Boost.Math behind this small header so that only
// stats.cc includes Boost. Pure functions; thread-safe. NaN in gives NaN out; parameters
// outside a distribution's domain give NaN, as R does.
#pragma once

#include <span>

namespace p4dp::surveil {

// R's qnorm(p, mean, sd) and pnorm(x, mean, sd) (lower tail).
double QNorm(double p, double mean = 0, double sd = 1);
double PNorm(double x, double mean = 0, double sd = 1);

// R's qpois(p, lambda) and qnbinom(p, size, prob): the smallest integer y with
// P(Y <= y) >= p, with R's fuzz of 64 machine epsilons to the left.
double QPois(double p, double lambda);
double QNbinom(double p, double size, double prob);

// R's pt(x, df) (lower tail) and qt(p, df).
double PStudentT(double x, double df);
double QStudentT(double p, double df);

// R's quantile(x, p, type = 7) of the values in `sorted` (ascending, no NaN, not empty).
double QuantileType7(std::span<const double> sorted, double p);

// The exact (Garwood) confidence interval of a Poisson mean for an observed count x at
// `level` (0.95): [qgamma((1 - level) / 2, x), qgamma((1 + level) / 2, x + 1)], the lower
// bound 0 when x is 0 (R's poisson.test(x)$conf.int).
struct Interval {
  double low = 0;
  double high = 0;
};
Interval PoissonInterval(double x, double level = 0.95);

// R's max(a, b) and pmax(a, b): NaN if either is NaN.
inline double RMax(double a, double b) {
  if (a != a) return a;
  if (b != b) return b;
  return a < b ? b : a;
}

}  // namespace p4dp::surveil
