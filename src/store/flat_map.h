// FlatMap64: an open-addressing hash map from uint64_t keys to small values, for the
// warehouse's per-resource bookkeeping (tens of millions of entries), where a node-based
// std::unordered_map spends its time in allocation and cache misses. Linear probing, power-of-
// two capacity, load at most 7/10; key 0 is stored aside. No erase (not needed); clear keeps
// the capacity.
// Not thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace p4dp::store {

template <typename V>
class FlatMap64 {
 public:
  size_t size() const { return size_ + (has_zero_ ? 1 : 0); }

  void reserve(size_t n) {
    size_t needed = 16;
    while (needed * 7 / 10 < n) needed *= 2;
    if (needed > slots_.size()) Rehash(needed);
  }

  // Removes every entry but keeps the capacity (no allocation when refilled).
  void clear() {
    std::fill(slots_.begin(), slots_.end(), Slot{});
    size_ = 0;
    has_zero_ = false;
    zero_ = V{};
  }

  // Starts loading the cache line where `key` would be: for loops over many keys of a
  // large map, a few iterations ahead.
  void prefetch(uint64_t key) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[Home(key)]);
  }

  V* find(uint64_t key) {
    if (key == 0) return has_zero_ ? &zero_ : nullptr;
    if (slots_.empty()) return nullptr;
    for (size_t i = Home(key);; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return &slots_[i].value;
      if (slots_[i].key == 0) return nullptr;
    }
  }
  const V* find(uint64_t key) const { return const_cast<FlatMap64*>(this)->find(key); }

  // The value of `key` and whether it was inserted (default-constructed) just now. The
  // pointer stays valid until the next insertion that grows the map.
  std::pair<V*, bool> try_emplace(uint64_t key) {
    if (key == 0) {
      bool inserted = !has_zero_;
      has_zero_ = true;
      return {&zero_, inserted};
    }
    if ((size_ + 1) * 10 > slots_.size() * 7) Rehash(slots_.empty() ? 16 : slots_.size() * 2);
    for (size_t i = Home(key);; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return {&slots_[i].value, false};
      if (slots_[i].key == 0) {
        slots_[i].key = key;
        ++size_;
        return {&slots_[i].value, true};
      }
    }
  }

  // Calls fn(value) for every entry, in no particular order.
  template <typename Fn>
  void for_each_value(Fn&& fn) {
    for (Slot& s : slots_) {
      if (s.key != 0) fn(s.value);
    }
    if (has_zero_) fn(zero_);
  }

  // The memory it holds (its slots), in bytes.
  size_t memory_bytes() const { return slots_.capacity() * sizeof(Slot); }

  // The value of `key`, inserted default-constructed if missing.
  V& operator[](uint64_t key) {
    if (key == 0) {
      has_zero_ = true;
      return zero_;
    }
    if ((size_ + 1) * 10 > slots_.size() * 7) Rehash(slots_.empty() ? 16 : slots_.size() * 2);
    for (size_t i = Home(key);; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return slots_[i].value;
      if (slots_[i].key == 0) {
        slots_[i].key = key;
        ++size_;
        return slots_[i].value;
      }
    }
  }

 private:
  struct Slot {
    uint64_t key = 0;
    V value{};
  };
  size_t Home(uint64_t key) const {
    return static_cast<size_t>((key * 0x9E3779B97F4A7C15ULL) >> shift_) & mask_;
  }
  void Rehash(size_t capacity) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    shift_ = 64;
    for (size_t c = capacity; c > 1; c >>= 1) --shift_;
    size_ = 0;
    for (Slot& s : old) {
      if (s.key != 0) (*this)[s.key] = std::move(s.value);
    }
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  int shift_ = 64;
  size_t size_ = 0;
  bool has_zero_ = false;
  V zero_{};
};

}  // namespace p4dp::store
