// Assertions for programmer errors. P4DP_ASSERT stays on in release builds; P4DP_DASSERT is
// for O(n) checks and only runs in debug builds. Nothing a user or a file sends may trigger
// an assertion: such input is validated and answered with a Status.
#pragma once

namespace p4dp::internal {
[[noreturn]] void AssertFail(const char* expr, const char* file, int line);
}  // namespace p4dp::internal

#define P4DP_ASSERT(cond)                                      \
  do {                                                         \
    if (!(cond)) [[unlikely]]                                  \
      ::p4dp::internal::AssertFail(#cond, __FILE__, __LINE__); \
  } while (0)

#ifdef NDEBUG
#define P4DP_DASSERT(cond) \
  do {                     \
  } while (0)
#else
#define P4DP_DASSERT(cond) P4DP_ASSERT(cond)
#endif
