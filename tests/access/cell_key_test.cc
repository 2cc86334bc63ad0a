// Draft counts by the cell-key method (access/cell_key.h): the same set of patients always
// gets the same answer, sets differing by one patient get independent noise (so subtracting
// two drafts does not give the difference), zeros stay zero, small counts stay "<t", and no
// count at or over the threshold is shown under it.
#include "access/cell_key.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <vector>

namespace p4dp::access {
namespace {

std::vector<query::CohortMember> RandomMembers(std::mt19937_64& rng, size_t n) {
  std::vector<query::CohortMember> members(n);
  for (query::CohortMember& m : members) {
    for (uint8_t& b : m.key.bytes) b = static_cast<uint8_t>(rng());
  }
  return members;
}

class CellKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = std::random_device{}();
    rng_.seed(seed_);
    RecordProperty("seed", std::to_string(seed_));
  }
  uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  CellKeys keys_{CellKeys::SecretFor(crypto::Key::Random())};
};

TEST_F(CellKeyTest, TheSameSetGetsTheSameAnswerWhateverTheOrder) {
  SCOPED_TRACE("seed " + std::to_string(seed_));
  std::vector<query::CohortMember> members = RandomMembers(rng_, 500);
  uint32_t key = keys_.SetKey(members);
  std::shuffle(members.begin(), members.end(), rng_);
  EXPECT_EQ(keys_.SetKey(members), key);
  ShownCount a = DraftCount(500, key, 10);
  ShownCount b = DraftCount(500, keys_.SetKey(members), 10);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.value, b.value);
  // Another warehouse (another secret) keys the same patients differently.
  CellKeys other{CellKeys::SecretFor(crypto::Key::Random())};
  EXPECT_NE(other.PatientKey(members[0].key), keys_.PatientKey(members[0].key));
}

TEST_F(CellKeyTest, SetsDifferingByOnePatientGetIndependentNoise) {
  SCOPED_TRACE("seed " + std::to_string(seed_));
  constexpr int kTrials = 2000;
  std::map<int64_t, int> differences;
  std::map<int, int> perturbations;
  for (int t = 0; t < kTrials; ++t) {
    size_t n = 20 + rng_() % 200;
    std::vector<query::CohortMember> members = RandomMembers(rng_, n + 1);
    uint32_t with = keys_.SetKey(members);
    uint32_t without = keys_.SetKey(std::span(members).first(n));
    ShownCount big = DraftCount(static_cast<int64_t>(n + 1), with, 10);
    ShownCount small = DraftCount(static_cast<int64_t>(n), without, 10);
    ASSERT_EQ(big.state, CellState::kShown);
    ++differences[big.value - small.value];
    ++perturbations[Perturbation(with)];
  }
  // Were the noise shared, every difference would be 1: the patient's presence revealed.
  EXPECT_LT(differences[1], kTrials / 2);
  EXPECT_GE(differences.size(), 5u);
  for (const auto& [d, n] : differences) EXPECT_LE(std::abs(d - 1), 2 * kPerturbationMax) << d;
  // Every perturbation of -2 .. +2 occurs, and they average near 0.
  ASSERT_EQ(perturbations.size(), 5u);
  double sum = 0;
  for (const auto& [p, n] : perturbations) sum += p * n;
  EXPECT_NEAR(sum / kTrials, 0.0, 0.15);
}

TEST_F(CellKeyTest, ZerosStayZeroSmallCountsStayHiddenAndNothingFallsUnderTheThreshold) {
  SCOPED_TRACE("seed " + std::to_string(seed_));
  for (int i = 0; i < 5000; ++i) {
    uint32_t key = static_cast<uint32_t>(rng_());
    int64_t threshold = 1 + static_cast<int64_t>(rng_() % 12);
    ShownCount zero = DraftCount(0, key, threshold);
    EXPECT_EQ(zero.state, CellState::kShown);
    EXPECT_EQ(zero.value, 0);
    int64_t count = 1 + static_cast<int64_t>(rng_() % 40);
    ShownCount c = DraftCount(count, key, threshold);
    if (count < threshold) {
      EXPECT_EQ(c.state, CellState::kSmall) << count << " under " << threshold;
    } else {
      ASSERT_EQ(c.state, CellState::kShown);
      EXPECT_GE(c.value, threshold) << count << " shown under " << threshold;
      EXPECT_LE(std::abs(c.value - count), kPerturbationMax);
    }
  }
}

}  // namespace
}  // namespace p4dp::access
