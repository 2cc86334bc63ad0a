// CodeList: inline up to three codes, on the heap beyond, with value semantics (copies are
// deep, moves leave the source empty) and the order of std::vector.
#include "store/code_list.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace p4dp::store {
namespace {

std::vector<uint32_t> V(const CodeList& c) { return c.ToVector(); }

TEST(CodeList, HoldsAnyLengthInlineOrOnTheHeap) {
  for (uint32_t n = 0; n <= 9; ++n) {
    CodeList list;
    std::vector<uint32_t> expected;
    for (uint32_t i = 0; i < n; ++i) {
      list.push_back(100 + i);
      expected.push_back(100 + i);
    }
    EXPECT_EQ(list.size(), n);
    EXPECT_EQ(V(list), expected);
    list.resize(2);
    expected.resize(2);
    EXPECT_EQ(V(list), expected) << "shrinking from " << n;
    list.resize(5);
    expected.resize(5);
    EXPECT_EQ(V(list), expected) << "new elements are zero";
  }
}

TEST(CodeList, CopiesAreDeepAndMovesEmptyTheSource) {
  for (CodeList original : {CodeList{1, 2}, CodeList{1, 2, 3, 4, 5}}) {
    CodeList copy = original;
    copy.push_back(9);
    EXPECT_EQ(copy.size(), original.size() + 1);
    EXPECT_NE(V(copy), V(original));
    CodeList moved = std::move(copy);
    EXPECT_TRUE(copy.empty());  // NOLINT: moved-from state is specified
    EXPECT_EQ(moved.size(), original.size() + 1);
    moved = original;
    EXPECT_TRUE(moved == original);
    CodeList& self = moved;
    moved = self;
    EXPECT_TRUE(moved == original);
  }
}

TEST(CodeList, SortsUniquesAndComparesLikeAVector) {
  CodeList list{7, 3, 7, 1, 3, 9};
  std::sort(list.begin(), list.end());
  list.erase(std::unique(list.begin(), list.end()), list.end());
  EXPECT_TRUE(list == (std::vector<uint32_t>{1, 3, 7, 9}));
  std::vector<std::vector<uint32_t>> vectors = {{}, {1}, {1, 2}, {1, 2, 3, 4}, {2}, {1, 3}};
  for (const auto& a : vectors) {
    for (const auto& b : vectors) {
      CodeList ca, cb;
      ca.assign(a.begin(), a.end());
      cb.assign(b.begin(), b.end());
      EXPECT_EQ(ca < cb, a < b);
      EXPECT_EQ(ca == cb, a == b);
    }
  }
  static_assert(sizeof(CodeList) == 16);
}

}  // namespace
}  // namespace p4dp::store
