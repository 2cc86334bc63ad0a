// CodeList: the catalog code ids of one event, in 16 bytes. Events have one to three
// codes almost always: those are kept inline, longer lists on the heap. There are tens of
// millions of events in an ingest and in the index, where a std::vector (24 bytes and one
// allocation each) costs more than the rest of the event.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <vector>

namespace p4dp::store {

class CodeList {
 public:
  static constexpr uint32_t kInline = 3;

  CodeList() = default;
  CodeList(std::initializer_list<uint32_t> codes) { assign(codes.begin(), codes.end()); }
  CodeList(const CodeList& other) { assign(other.begin(), other.end()); }
  CodeList(CodeList&& other) noexcept { Steal(other); }
  CodeList& operator=(const CodeList& other) {
    if (this != &other) assign(other.begin(), other.end());
    return *this;
  }
  CodeList& operator=(CodeList&& other) noexcept {
    if (this != &other) {
      Free();
      Steal(other);
    }
    return *this;
  }
  ~CodeList() { Free(); }

  uint32_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  uint32_t* begin() { return data(); }
  uint32_t* end() { return data() + size_; }
  const uint32_t* begin() const { return data(); }
  const uint32_t* end() const { return data() + size_; }
  uint32_t operator[](size_t i) const { return data()[i]; }

  template <typename It>
  void assign(It first, It last) {
    resize(static_cast<size_t>(std::distance(first, last)));
    std::copy(first, last, begin());
  }
  // New elements are zero.
  void resize(size_t n) {
    auto count = static_cast<uint32_t>(n);
    if (count == size_) return;
    if (count <= kInline) {
      uint32_t keep[kInline] = {0, 0, 0};
      std::copy(begin(), begin() + std::min(size_, count), keep);
      Free();
      std::memcpy(inline_, keep, sizeof keep);
    } else {
      auto* grown = new uint32_t[count]();
      std::copy(begin(), begin() + std::min(size_, count), grown);
      Free();
      SetHeap(grown);
    }
    size_ = count;
  }
  void push_back(uint32_t code) {
    resize(size_ + 1);
    data()[size_ - 1] = code;
  }
  // Removes [first, end()): what std::unique leaves behind.
  void erase(uint32_t* first, uint32_t* last) {
    if (last == end()) resize(static_cast<size_t>(first - begin()));
  }
  void clear() { resize(0); }

  friend bool operator==(const CodeList& a, const CodeList& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }
  friend bool operator<(const CodeList& a, const CodeList& b) {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
  }
  friend bool operator==(const CodeList& a, const std::vector<uint32_t>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }
  std::vector<uint32_t> ToVector() const { return {begin(), end()}; }

 private:
  // A longer list's heap pointer is kept in the inline words (copied, not aliased: the
  // class stays 16 bytes with 4-byte alignment).
  uint32_t* Heap() const {
    uint32_t* p;
    std::memcpy(&p, inline_, sizeof p);
    return p;
  }
  void SetHeap(uint32_t* p) { std::memcpy(inline_, &p, sizeof p); }
  uint32_t* data() { return size_ <= kInline ? inline_ : Heap(); }
  const uint32_t* data() const { return size_ <= kInline ? inline_ : Heap(); }
  void Free() {
    if (size_ > kInline) delete[] Heap();
    size_ = 0;
  }
  void Steal(CodeList& other) {
    size_ = other.size_;
    std::memcpy(inline_, other.inline_, sizeof inline_);
    other.size_ = 0;
  }

  uint32_t size_ = 0;
  uint32_t inline_[kInline] = {0, 0, 0};
};
static_assert(sizeof(CodeList) == 16);

}  // namespace p4dp::store
