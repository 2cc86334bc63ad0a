// How the in-memory index holds events, read-optimised: each patient's events in columns of
// one allocation (PatientEvents), and what many events share (domain, source, unit and code
// list) interned once in a dictionary (EventKinds) that events refer to by a 4-byte kind id.
// Values and end dates are kept only for the events that have them. About 20 bytes an event;
// the cohort engine scans just the dates and kinds columns.
// Not thread-safe: the Index owns both, and the Warehouse guards the Index.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <new>
#include <span>
#include <vector>

#include "domain/patient.h"
#include "store/records.h"

namespace p4dp::store {

// What a kind id stands for. `codes` stays valid until the next EventKinds::Intern.
struct EventKind {
  domain::Domain domain = domain::Domain::kObservation;
  uint32_t source = 0;
  uint32_t unit = 0;
  std::span<const uint32_t> codes;  // catalog code ids, sorted, no repeats
};

// The dictionary of event kinds: each distinct (domain, source, unit, codes) once, numbered
// densely from 0 in the order first seen. Ids never change and are never removed (a kind no
// event uses any more stays: there are few of them, next to the events).
class EventKinds {
 public:
  // The id of this kind, added if new.
  uint32_t Intern(domain::Domain domain, uint32_t source, uint32_t unit,
                  std::span<const uint32_t> codes);
  uint32_t size() const { return static_cast<uint32_t>(rows_.size()); }
  EventKind operator[](uint32_t id) const;
  domain::Domain domain(uint32_t id) const { return rows_[id].domain; }
  std::span<const uint32_t> codes(uint32_t id) const {
    return {codes_.data() + rows_[id].codes_begin, rows_[id].codes_size};
  }
  size_t MemoryBytes() const;

 private:
  struct Row {
    uint64_t codes_begin = 0;  // into codes_
    uint32_t codes_size = 0;
    uint32_t source = 0;
    uint32_t unit = 0;
    domain::Domain domain = domain::Domain::kObservation;
  };
  bool Equals(uint32_t id, domain::Domain domain, uint32_t source, uint32_t unit,
              std::span<const uint32_t> codes) const;
  void Grow();

  std::vector<Row> rows_;
  std::vector<uint32_t> codes_;
  std::vector<uint64_t> hashes_;  // of each row, to rebuild the table without rehashing
  std::vector<uint32_t> table_;   // open addressing: id + 1, 0 = empty slot
};

// One event with every field: what readers see (Index::Events) and what Apply stages.
struct IndexEvent {
  Days date = 0;
  Days end_date = kNoDay;
  domain::Domain domain = domain::Domain::kObservation;
  uint32_t unit = 0;
  uint32_t source = 0;
  double value = std::numeric_limits<double>::quiet_NaN();  // NaN: none
  std::span<const uint32_t> codes;                          // valid while the index is unchanged
  uint64_t resource_key = 0;
};

// One patient's events in columns, in one allocation, in the order they were packed (the
// index keeps them sorted by date first, see index.cc). Move-only; immutable once packed
// (the index re-packs a patient whose events change).
//
// Kinds: a patient has few distinct kinds (tens), so when it has at most kNarrowKindsMax, its
// distinct kinds are listed once (palette(), sorted) and each event holds a 1-byte local id
// into that list (local_kinds()); otherwise each event holds its kind id (wide_kinds()).
class PatientEvents {
 public:
  static constexpr uint32_t kNarrowKindsMax = 256;

  // An event as packed: its kind interned, its value NaN if none, its end kNoDay if none.
  struct Row {
    Days date = 0;
    Days end_date = kNoDay;
    uint32_t kind = 0;
    domain::Domain domain = domain::Domain::kObservation;  // = the kind's, kept for sorting
    double value = std::numeric_limits<double>::quiet_NaN();
    uint64_t resource_key = 0;
  };

  PatientEvents() = default;
  // `scratch` is working memory (kept by the caller to reuse it).
  static PatientEvents Pack(std::span<const Row> rows, std::vector<uint32_t>& scratch);
  PatientEvents(PatientEvents&& other) noexcept;
  PatientEvents& operator=(PatientEvents&& other) noexcept;
  PatientEvents(const PatientEvents&) = delete;
  PatientEvents& operator=(const PatientEvents&) = delete;
  ~PatientEvents() { ::operator delete(data_); }

  uint32_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<const Days> dates() const { return {reinterpret_cast<const Days*>(data_), size_}; }

  bool narrow() const { return palette_ != 0; }
  std::span<const uint8_t> local_kinds() const;  // narrow(): one per event
  std::span<const uint32_t> palette() const;     // narrow(): the distinct kinds, sorted
  std::span<const uint32_t> wide_kinds() const;  // !narrow(): one per event
  uint32_t kind(uint32_t i) const {
    return narrow() ? palette()[local_kinds()[i]] : wide_kinds()[i];
  }
  std::span<const uint64_t> resource_keys() const {
    return {reinterpret_cast<const uint64_t*>(data_ + tail_), size_};
  }

  // Values: values() holds those of the events that have one, in event order; the value of
  // event i, if has_value(i), is values()[ValuesBefore(i)]. ValuesBefore costs i / 64 steps.
  bool has_value(uint32_t i) const { return Bit(value_bits(), i); }
  // The bitmap of the events with a value (bit i % 64 of word i / 64); empty if none has one.
  std::span<const uint64_t> value_words() const {
    return values_ == 0 ? std::span<const uint64_t>() : std::span(value_bits(), BitWords(size_));
  }
  std::span<const double> values() const {
    return {reinterpret_cast<const double*>(data_ + tail_) + size_, values_};
  }
  uint32_t ValuesBefore(uint32_t i) const { return Rank(value_bits(), i); }
  double value(uint32_t i) const;  // NaN if none
  // End dates, likewise.
  bool has_end_date(uint32_t i) const { return Bit(end_bits(), i); }
  std::span<const Days> end_dates() const {
    return {reinterpret_cast<const Days*>(data_ + EndsOffset()), ends_};
  }
  uint32_t EndsBefore(uint32_t i) const { return Rank(end_bits(), i); }
  Days end_date(uint32_t i) const;  // kNoDay if none

  Row row(uint32_t i, domain::Domain domain) const;
  // Starts loading the dates and kinds (for loops over many patients, a few ahead).
  void Prefetch() const {
    const size_t bytes = EndsOffset();
    for (size_t b = 0; b < bytes; b += 64) __builtin_prefetch(data_ + b);
  }
  size_t MemoryBytes() const;

 private:
  static size_t BitWords(uint32_t n) { return (n + 63) / 64; }
  // Layout, in bytes: dates (4 each), kinds (1 or 4 each), end dates (4 each, from a multiple
  // of 4), the palette (4 each); then from tail_ (a multiple of 8): resource keys and values
  // (8 each), the value bitmap, the end date bitmap (a bitmap only when some event has the
  // field).
  size_t EndsOffset() const {
    return (size_t{4} * size_ + (narrow() ? size_ : size_t{4} * size_) + 3) / 4 * 4;
  }
  const uint64_t* value_bits() const {
    if (values_ == 0) return nullptr;
    return reinterpret_cast<const uint64_t*>(data_ + tail_) + size_ + values_;
  }
  const uint64_t* end_bits() const {
    if (ends_ == 0) return nullptr;
    return reinterpret_cast<const uint64_t*>(data_ + tail_) + size_ + values_ +
           (values_ == 0 ? 0 : BitWords(size_));
  }
  static bool Bit(const uint64_t* bits, uint32_t i) {
    return bits != nullptr && ((bits[i / 64] >> (i % 64)) & 1) != 0;
  }
  static uint32_t Rank(const uint64_t* bits, uint32_t i);

  std::byte* data_ = nullptr;
  uint32_t size_ = 0;
  uint32_t values_ = 0;   // events with a value
  uint32_t ends_ = 0;     // events with an end date
  uint32_t palette_ = 0;  // distinct kinds when narrow, else 0
  uint32_t tail_ = 0;     // byte offset of the 8-byte columns
};

// A patient's events as IndexEvent values, in order (what export, statistics and tests read;
// the engine reads the columns).
class EventRange {
 public:
  EventRange(const PatientEvents& events, const EventKinds& kinds)
      : events_(&events), kinds_(&kinds) {}

  class Iterator {
   public:
    using value_type = IndexEvent;
    using difference_type = std::ptrdiff_t;
    IndexEvent operator*() const;
    Iterator& operator++();
    bool operator==(const Iterator& other) const { return i_ == other.i_; }

   private:
    friend class EventRange;
    Iterator(const PatientEvents* events, const EventKinds* kinds, uint32_t i)
        : events_(events), kinds_(kinds), i_(i) {}
    const PatientEvents* events_;
    const EventKinds* kinds_;
    uint32_t i_;
    uint32_t value_rank_ = 0;  // events with a value before event i_
    uint32_t end_rank_ = 0;    // events with an end date before event i_
  };

  Iterator begin() const { return {events_, kinds_, 0}; }
  Iterator end() const { return {events_, kinds_, events_->size()}; }
  uint32_t size() const { return events_->size(); }
  bool empty() const { return events_->empty(); }
  IndexEvent operator[](uint32_t i) const;

 private:
  const PatientEvents* events_;
  const EventKinds* kinds_;
};

}  // namespace p4dp::store
