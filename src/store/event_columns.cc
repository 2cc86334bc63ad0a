#include "store/event_columns.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <utility>

#include "base/assert.h"

namespace p4dp::store {
namespace {

uint64_t Mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
  return h * 0xBF58476D1CE4E5B9ULL;
}

uint64_t KindHash(domain::Domain domain, uint32_t source, uint32_t unit,
                  std::span<const uint32_t> codes) {
  uint64_t h = Mix(static_cast<uint64_t>(domain), (uint64_t{source} << 32) | unit);
  for (uint32_t c : codes) h = Mix(h, c);
  return h ^ (h >> 31);
}

}  // namespace

bool EventKinds::Equals(uint32_t id, domain::Domain domain, uint32_t source, uint32_t unit,
                        std::span<const uint32_t> codes) const {
  const Row& r = rows_[id];
  if (r.domain != domain || r.source != source || r.unit != unit) return false;
  std::span<const uint32_t> mine = this->codes(id);
  return std::equal(mine.begin(), mine.end(), codes.begin(), codes.end());
}

void EventKinds::Grow() {
  std::vector<uint32_t> table(table_.empty() ? 1024 : table_.size() * 2, 0);
  const size_t mask = table.size() - 1;
  for (uint32_t id = 0; id < rows_.size(); ++id) {
    size_t slot = hashes_[id] & mask;
    while (table[slot] != 0) slot = (slot + 1) & mask;
    table[slot] = id + 1;
  }
  table_ = std::move(table);
}

uint32_t EventKinds::Intern(domain::Domain domain, uint32_t source, uint32_t unit,
                            std::span<const uint32_t> codes) {
  const uint64_t hash = KindHash(domain, source, unit, codes);
  // At most half full: probes stay short.
  if ((rows_.size() + 1) * 2 > table_.size()) Grow();
  const size_t mask = table_.size() - 1;
  size_t slot = hash & mask;
  for (; table_[slot] != 0; slot = (slot + 1) & mask) {
    uint32_t id = table_[slot] - 1;
    if (hashes_[id] == hash && Equals(id, domain, source, unit, codes)) return id;
  }
  P4DP_ASSERT(rows_.size() < std::numeric_limits<uint32_t>::max() - 1);
  const auto id = static_cast<uint32_t>(rows_.size());
  rows_.push_back({codes_.size(), static_cast<uint32_t>(codes.size()), source, unit, domain});
  codes_.insert(codes_.end(), codes.begin(), codes.end());
  hashes_.push_back(hash);
  table_[slot] = id + 1;
  return id;
}

EventKind EventKinds::operator[](uint32_t id) const {
  const Row& r = rows_[id];
  return {r.domain, r.source, r.unit, codes(id)};
}

size_t EventKinds::MemoryBytes() const {
  return rows_.capacity() * sizeof(Row) + codes_.capacity() * sizeof(uint32_t) +
         hashes_.capacity() * sizeof(uint64_t) + table_.capacity() * sizeof(uint32_t);
}

PatientEvents::PatientEvents(PatientEvents&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      values_(std::exchange(other.values_, 0)),
      ends_(std::exchange(other.ends_, 0)),
      palette_(std::exchange(other.palette_, 0)),
      tail_(std::exchange(other.tail_, 0)) {}

PatientEvents& PatientEvents::operator=(PatientEvents&& other) noexcept {
  if (this != &other) {
    ::operator delete(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    values_ = std::exchange(other.values_, 0);
    ends_ = std::exchange(other.ends_, 0);
    palette_ = std::exchange(other.palette_, 0);
    tail_ = std::exchange(other.tail_, 0);
  }
  return *this;
}

PatientEvents PatientEvents::Pack(std::span<const Row> rows, std::vector<uint32_t>& palette) {
  PatientEvents out;
  if (rows.empty()) return out;
  P4DP_ASSERT(rows.size() < (uint64_t{1} << 28));
  const auto n = static_cast<uint32_t>(rows.size());
  out.size_ = n;
  palette.clear();
  for (const Row& r : rows) {
    if (!std::isnan(r.value)) ++out.values_;
    if (r.end_date != kNoDay) ++out.ends_;
    palette.push_back(r.kind);
  }
  std::sort(palette.begin(), palette.end());
  palette.erase(std::unique(palette.begin(), palette.end()), palette.end());
  if (palette.size() <= kNarrowKindsMax) out.palette_ = static_cast<uint32_t>(palette.size());
  const size_t palette_offset = out.EndsOffset() + size_t{4} * out.ends_;
  out.tail_ = static_cast<uint32_t>((palette_offset + size_t{4} * out.palette_ + 7) / 8 * 8);
  const size_t bytes = out.MemoryBytes();
  // Raw storage (each region is then only accessed as its own type); the bitmaps are zeroed
  // because they are only set below.
  out.data_ = static_cast<std::byte*>(::operator new(bytes));
  Days* dates = reinterpret_cast<Days*>(out.data_);
  uint8_t* local = reinterpret_cast<uint8_t*>(out.data_ + size_t{4} * n);
  uint32_t* wide = reinterpret_cast<uint32_t*>(out.data_ + size_t{4} * n);
  Days* ends = reinterpret_cast<Days*>(out.data_ + out.EndsOffset());
  if (out.narrow()) {
    std::memcpy(out.data_ + palette_offset, palette.data(), size_t{4} * out.palette_);
  }
  uint64_t* keys = reinterpret_cast<uint64_t*>(out.data_ + out.tail_);
  double* values = reinterpret_cast<double*>(keys + n);
  auto* value_bits = const_cast<uint64_t*>(out.value_bits());
  auto* end_bits = const_cast<uint64_t*>(out.end_bits());
  if (value_bits != nullptr) std::memset(value_bits, 0, BitWords(n) * sizeof(uint64_t));
  if (end_bits != nullptr) std::memset(end_bits, 0, BitWords(n) * sizeof(uint64_t));
  for (uint32_t i = 0; i < n; ++i) {
    const Row& r = rows[i];
    dates[i] = r.date;
    if (out.narrow()) {
      local[i] = static_cast<uint8_t>(std::lower_bound(palette.begin(), palette.end(), r.kind) -
                                      palette.begin());
    } else {
      wide[i] = r.kind;
    }
    keys[i] = r.resource_key;
    if (!std::isnan(r.value)) {
      value_bits[i / 64] |= uint64_t{1} << (i % 64);
      *values++ = r.value;
    }
    if (r.end_date != kNoDay) {
      end_bits[i / 64] |= uint64_t{1} << (i % 64);
      *ends++ = r.end_date;
    }
  }
  return out;
}

size_t PatientEvents::MemoryBytes() const {
  if (size_ == 0) return 0;
  const size_t words = size_t{size_} + values_ + (values_ == 0 ? 0 : BitWords(size_)) +
                       (ends_ == 0 ? 0 : BitWords(size_));
  return tail_ + words * sizeof(uint64_t);
}

std::span<const uint8_t> PatientEvents::local_kinds() const {
  if (!narrow()) return {};
  return {reinterpret_cast<const uint8_t*>(data_ + size_t{4} * size_), size_};
}

std::span<const uint32_t> PatientEvents::palette() const {
  if (!narrow()) return {};
  return {reinterpret_cast<const uint32_t*>(data_ + EndsOffset() + size_t{4} * ends_), palette_};
}

std::span<const uint32_t> PatientEvents::wide_kinds() const {
  if (narrow() || size_ == 0) return {};
  return {reinterpret_cast<const uint32_t*>(data_ + size_t{4} * size_), size_};
}

uint32_t PatientEvents::Rank(const uint64_t* bits, uint32_t i) {
  if (bits == nullptr) return 0;
  uint32_t rank = 0;
  for (uint32_t w = 0; w < i / 64; ++w) rank += static_cast<uint32_t>(std::popcount(bits[w]));
  if (i % 64 != 0) {
    rank += static_cast<uint32_t>(std::popcount(bits[i / 64] & ((uint64_t{1} << (i % 64)) - 1)));
  }
  return rank;
}

double PatientEvents::value(uint32_t i) const {
  return has_value(i) ? values()[ValuesBefore(i)] : std::numeric_limits<double>::quiet_NaN();
}

Days PatientEvents::end_date(uint32_t i) const {
  return has_end_date(i) ? end_dates()[EndsBefore(i)] : kNoDay;
}

PatientEvents::Row PatientEvents::row(uint32_t i, domain::Domain domain) const {
  return {dates()[i], end_date(i), kind(i), domain, value(i), resource_keys()[i]};
}

IndexEvent EventRange::Iterator::operator*() const {
  const PatientEvents& e = *events_;
  EventKind kind = (*kinds_)[e.kind(i_)];
  return {e.dates()[i_],
          e.has_end_date(i_) ? e.end_dates()[end_rank_] : kNoDay,
          kind.domain,
          kind.unit,
          kind.source,
          e.has_value(i_) ? e.values()[value_rank_] : std::numeric_limits<double>::quiet_NaN(),
          kind.codes,
          e.resource_keys()[i_]};
}

EventRange::Iterator& EventRange::Iterator::operator++() {
  if (events_->has_value(i_)) ++value_rank_;
  if (events_->has_end_date(i_)) ++end_rank_;
  ++i_;
  return *this;
}

IndexEvent EventRange::operator[](uint32_t i) const {
  EventKind kind = (*kinds_)[events_->kind(i)];
  return {events_->dates()[i], events_->end_date(i), kind.domain, kind.unit,
          kind.source,         events_->value(i),    kind.codes,  events_->resource_keys()[i]};
}

}  // namespace p4dp::store
