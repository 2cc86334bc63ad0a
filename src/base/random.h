// Randomness. `Random` is the interface code takes when it needs random numbers, so tests
// can pass a seeded generator; `SeededRandom` is deterministic (xoshiro256**, seeded by
// SplitMix64) and `SystemRandom()` draws from the kernel. `Xoshiro256` is the concrete,
// inlinable generator behind SeededRandom, for hot loops such as the synthetic population.
// A generator is used by one thread at a time.
#pragma once

#include <cmath>
#include <cstdint>

namespace p4dp {

// SplitMix64 step: a good 64-bit mixer, also used to derive independent seeds.
constexpr uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Mixes two 64-bit values into one seed: a stream per (seed, stream id).
constexpr uint64_t MixSeed(uint64_t seed, uint64_t stream) {
  uint64_t s = seed ^ (stream * 0xD1B54A32D192ED03ULL);
  SplitMix64(s);
  return SplitMix64(s);
}

class Xoshiro256 {
 public:
  explicit Xoshiro256(uint64_t seed) {
    for (auto& word : s_) word = SplitMix64(seed);
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n); requires n > 0. Lemire's multiply-shift (tiny bias, fine for
  // simulation, and identical on every machine).
  uint64_t Below(uint64_t n) {
    __extension__ using U128 = unsigned __int128;
    return static_cast<uint64_t>((static_cast<U128>(Next()) * n) >> 64);
  }
  // Uniform integer in [lo, hi], requires lo <= hi.
  int64_t Between(int64_t lo, int64_t hi) {
    // Unsigned arithmetic: the width of [INT64_MIN, INT64_MAX] does not fit an int64_t.
    uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
    uint64_t offset = span == UINT64_MAX ? Next() : Below(span + 1);
    return static_cast<int64_t>(static_cast<uint64_t>(lo) + offset);
  }
  bool Bernoulli(double p) { return Uniform() < p; }
  // Standard normal by Box-Muller (std::normal_distribution is not portable across
  // standard libraries, and the output must be identical everywhere).
  double Normal() {
    double u1 = Uniform();
    double u2 = Uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  double Normal(double mean, double sd) { return mean + sd * Normal(); }
  // Exponential with the given mean.
  double Exponential(double mean) { return -mean * std::log(1.0 - Uniform()); }

 private:
  static constexpr uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

class Random {
 public:
  virtual ~Random() = default;
  virtual uint64_t Next() = 0;
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
};

class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed) : gen_(seed) {}
  uint64_t Next() override { return gen_.Next(); }

 private:
  Xoshiro256 gen_;
};

// Kernel randomness (getrandom), for keys and tokens. Thread-safe.
Random& SystemRandom();

}  // namespace p4dp
