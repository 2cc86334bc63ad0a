#include "base/random.h"

#include <sys/random.h>

#include "base/assert.h"

namespace p4dp {
namespace {

class KernelRandom final : public Random {
 public:
  uint64_t Next() override {
    uint64_t v = 0;
    ssize_t n = ::getrandom(&v, sizeof v, 0);
    P4DP_ASSERT(n == static_cast<ssize_t>(sizeof v));
    return v;
  }
};

}  // namespace

Random& SystemRandom() {
  static KernelRandom random;
  return random;
}

}  // namespace p4dp
