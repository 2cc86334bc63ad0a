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

constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

// A total order on values in which no value (NaN) comes first.
bool ValueBefore(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && !std::isnan(b);
  return a < b;
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

bool PatientEvents::RowBefore(const Row& a, const Row& b) {
  if (a.kind != b.kind) return a.kind < b.kind;
  if (a.date != b.date) return a.date < b.date;
  if (a.resource_key != b.resource_key) return a.resource_key < b.resource_key;
  if (a.end_date != b.end_date) return a.end_date < b.end_date;
  return ValueBefore(a.value, b.value);
}

PatientEvents::PatientEvents(PatientEvents&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      groups_(std::exchange(other.groups_, 0)),
      values_(std::exchange(other.values_, 0)),
      ends_(std::exchange(other.ends_, 0)),
      tail_(std::exchange(other.tail_, 0)),
      owned_(std::exchange(other.owned_, true)) {}

PatientEvents& PatientEvents::operator=(PatientEvents&& other) noexcept {
  if (this != &other) {
    if (owned_) ::operator delete(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    groups_ = std::exchange(other.groups_, 0);
    values_ = std::exchange(other.values_, 0);
    ends_ = std::exchange(other.ends_, 0);
    tail_ = std::exchange(other.tail_, 0);
    owned_ = std::exchange(other.owned_, true);
  }
  return *this;
}

PatientEvents PatientEvents::CopyTo(std::byte* where) const {
  PatientEvents copy;
  if (size_ == 0) return copy;
  std::memcpy(where, data_, MemoryBytes());
  copy.data_ = where;
  copy.size_ = size_;
  copy.groups_ = groups_;
  copy.values_ = values_;
  copy.ends_ = ends_;
  copy.tail_ = tail_;
  copy.owned_ = false;
  return copy;
}

PatientEvents PatientEvents::Pack(std::span<const Row> rows) {
  PatientEvents out;
  if (rows.empty()) return out;
  P4DP_ASSERT(rows.size() < (uint64_t{1} << 28));
  P4DP_DASSERT(std::is_sorted(rows.begin(), rows.end(), RowBefore));
  const auto n = static_cast<uint32_t>(rows.size());
  out.size_ = n;
  for (uint32_t i = 0; i < n; ++i) {
    if (!std::isnan(rows[i].value)) ++out.values_;
    if (rows[i].end_date != kNoDay) ++out.ends_;
    if (i == 0 || rows[i].kind != rows[i - 1].kind) ++out.groups_;
  }
  out.tail_ = static_cast<uint32_t>(
      (out.DatesOffset() + size_t{4} * n + size_t{4} * out.ends_ + 7) / 8 * 8);
  // Raw storage (each region is then only accessed as its own type); the bitmaps are zeroed
  // because they are only set below.
  out.data_ = static_cast<std::byte*>(::operator new(out.MemoryBytes()));
  Group* groups = reinterpret_cast<Group*>(out.data_);
  Days* dates = reinterpret_cast<Days*>(out.data_ + out.DatesOffset());
  Days* ends = dates + n;
  double* values = reinterpret_cast<double*>(out.data_ + out.tail_) + out.BitmapWords();
  uint64_t* keys =
      reinterpret_cast<uint64_t*>(out.data_ + out.tail_) + out.BitmapWords() + out.values_;
  auto* value_bits = const_cast<uint64_t*>(out.value_bits());
  auto* end_bits = const_cast<uint64_t*>(out.end_bits());
  if (value_bits != nullptr) std::memset(value_bits, 0, BitWords(n) * sizeof(uint64_t));
  if (end_bits != nullptr) std::memset(end_bits, 0, BitWords(n) * sizeof(uint64_t));
  uint32_t g = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const Row& r = rows[i];
    if (i > 0 && r.kind != rows[i - 1].kind) ++g;
    groups[g] = {r.kind, i + 1};
    dates[i] = r.date;
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

void PatientEvents::AppendRows(std::vector<Row>& out) const {
  std::span<const Days> d = dates(), e = end_dates();
  std::span<const uint64_t> keys = resource_keys();
  std::span<const double> v = values();
  uint32_t value_rank = 0, end_rank = 0, i = 0;
  for (const Group& group : groups()) {
    for (; i < group.end; ++i) {
      double value = has_value(i) ? v[value_rank++] : kNoValue;
      Days end = has_end_date(i) ? e[end_rank++] : kNoDay;
      out.push_back({d[i], end, group.kind, value, keys[i]});
    }
  }
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
  return has_value(i) ? values()[ValuesBefore(i)] : kNoValue;
}

Days PatientEvents::end_date(uint32_t i) const {
  return has_end_date(i) ? end_dates()[EndsBefore(i)] : kNoDay;
}

EventRange::EventRange(const PatientEvents& events, const EventKinds& kinds) {
  std::vector<PatientEvents::Row> rows;
  rows.reserve(events.size());
  events.AppendRows(rows);
  events_.reserve(rows.size());
  for (const PatientEvents::Row& r : rows) {
    EventKind kind = kinds[r.kind];
    events_.push_back({r.date, r.end_date, kind.domain, kind.unit, kind.source, r.value, kind.codes,
                       r.resource_key});
  }
  std::sort(events_.begin(), events_.end(), [](const IndexEvent& a, const IndexEvent& b) {
    if (a.date != b.date) return a.date < b.date;
    if (a.domain != b.domain) return a.domain < b.domain;
    if (a.resource_key != b.resource_key) return a.resource_key < b.resource_key;
    if (!std::equal(a.codes.begin(), a.codes.end(), b.codes.begin(), b.codes.end())) {
      return std::lexicographical_compare(a.codes.begin(), a.codes.end(), b.codes.begin(),
                                          b.codes.end());
    }
    if (a.source != b.source) return a.source < b.source;
    if (a.unit != b.unit) return a.unit < b.unit;
    if (a.end_date != b.end_date) return a.end_date < b.end_date;
    return ValueBefore(a.value, b.value);
  });
}

}  // namespace p4dp::store
