// Asking the processor to start loading memory that will be read soon.
#pragma once

#include <cstddef>
#include <cstdint>

namespace p4dp {

// Starts loading every cache line of [from, from + bytes). A loop of nothing but
// __builtin_prefetch has no effect the compiler must keep, and GCC deletes it whole: the
// empty volatile asm in the body keeps the loop (and so the prefetches) without constraining
// anything else.
inline void PrefetchBytes(const void* from, size_t bytes) {
  const auto* p = static_cast<const std::byte*>(from);
  const auto offset = static_cast<size_t>(reinterpret_cast<uintptr_t>(p) % 64);
  for (size_t b = 0; b < bytes + offset; b += 64) {
    __builtin_prefetch(p - offset + b);
    asm volatile("");
  }
}

}  // namespace p4dp
