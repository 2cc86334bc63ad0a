// How the in-memory index holds events, read-optimised: what many events share (domain,
// source, unit and code list) is interned once in a dictionary (EventKinds) and numbered (a
// kind id); each patient's events are in columns of one allocation (PatientEvents), grouped by
// kind and sorted by date within a group, so that the cohort engine reaches the events of the
// kinds it wants by a binary search in their group without reading the others. Values and end
// dates are kept only for the events that have them. About 17 bytes an event.
// Not thread-safe: the Index owns both, and the Warehouse guards the Index.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <new>
#include <span>
#include <vector>

#include "base/prefetch.h"
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

// One event with every field, as readers see it (Index::Events).
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

// One patient's events in columns, in one allocation. Events are grouped by kind (groups in
// increasing kind id) and each group is sorted by date, then resource key, end date and value
// (RowBefore): an order that does not depend on the order of arrival. Move-only; immutable
// once packed (the index re-packs a patient whose events change). Its memory is its own, or
// (CopyTo) a part of a larger block that its owner keeps.
class PatientEvents {
 public:
  // An event as packed: its kind interned, its value NaN if none, its end kNoDay if none.
  struct Row {
    Days date = 0;
    Days end_date = kNoDay;
    uint32_t kind = 0;
    double value = std::numeric_limits<double>::quiet_NaN();
    uint64_t resource_key = 0;
  };
  // The order of events in a PatientEvents.
  static bool RowBefore(const Row& a, const Row& b);

  // The events of one kind: positions [end of the previous group, end).
  struct Group {
    uint32_t kind = 0;
    uint32_t end = 0;
  };

  PatientEvents() = default;
  // Requires `rows` sorted by RowBefore.
  static PatientEvents Pack(std::span<const Row> rows);
  PatientEvents(PatientEvents&& other) noexcept;
  PatientEvents& operator=(PatientEvents&& other) noexcept;
  PatientEvents(const PatientEvents&) = delete;
  PatientEvents& operator=(const PatientEvents&) = delete;
  ~PatientEvents() {
    if (owned_) ::operator delete(data_);
  }
  // A copy of the columns at `where` (MemoryBytes() bytes, 8-byte aligned), which the caller
  // owns and keeps alive as long as the copy: how the index lays every patient's events out
  // next to each other once they are loaded.
  PatientEvents CopyTo(std::byte* where) const;
  bool owns_memory() const { return owned_; }

  uint32_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<const Group> groups() const { return {reinterpret_cast<const Group*>(data_), groups_}; }
  uint32_t GroupBegin(size_t g) const { return g == 0 ? 0 : groups()[g - 1].end; }
  // In group order: sorted within each group.
  std::span<const Days> dates() const {
    return {reinterpret_cast<const Days*>(data_ + DatesOffset()), size_};
  }
  std::span<const uint64_t> resource_keys() const {
    return {reinterpret_cast<const uint64_t*>(data_ + tail_) + BitmapWords() + values_, size_};
  }

  // Values: values() holds those of the events that have one, in event order; the value of
  // event i, if has_value(i), is values()[ValuesBefore(i)]. ValuesBefore costs i / 64 steps.
  bool has_value(uint32_t i) const { return Bit(value_bits(), i); }
  std::span<const double> values() const {
    return {reinterpret_cast<const double*>(data_ + tail_) + BitmapWords(), values_};
  }
  uint32_t ValuesBefore(uint32_t i) const { return Rank(value_bits(), i); }
  double value(uint32_t i) const;  // NaN if none
  // End dates, likewise.
  bool has_end_date(uint32_t i) const { return Bit(end_bits(), i); }
  std::span<const Days> end_dates() const {
    return {reinterpret_cast<const Days*>(data_ + DatesOffset()) + size_, ends_};
  }
  uint32_t EndsBefore(uint32_t i) const { return Rank(end_bits(), i); }
  Days end_date(uint32_t i) const;  // kNoDay if none

  // Appends every event, in order.
  void AppendRows(std::vector<Row>& out) const;
  // Starts loading the group table and the first dates (for loops over many patients, a few
  // patients ahead).
  void Prefetch() const {
    if (data_ != nullptr) PrefetchBytes(data_, DatesOffset() + 64);
  }
  // Starts loading what reading events [begin, end) needs: their dates, and with
  // `with_values` their value bits (then, once those are loaded, PrefetchValues).
  void PrefetchEvents(uint32_t begin, uint32_t end, bool with_values) const {
    PrefetchBytes(data_ + DatesOffset() + size_t{4} * begin, size_t{4} * (end - begin));
    if (with_values && values_ != 0) {
      PrefetchBytes(value_bits() + begin / 64, size_t{8} * ((end + 63) / 64 - begin / 64));
    }
  }
  // Starts loading `count` values from values()[rank].
  void PrefetchValues(uint32_t rank, uint32_t count) const {
    if (count > 0) PrefetchBytes(values().data() + rank, size_t{8} * count);
  }
  size_t MemoryBytes() const;

 private:
  static size_t BitWords(uint32_t n) { return (n + 63) / 64; }
  // Layout, in bytes: the groups (8 each), dates and end dates (4 each); then from tail_ (a
  // multiple of 8): the value bitmap and the end date bitmap (each only when some event has
  // the field), the values and the resource keys (8 each). What the engine reads comes first;
  // the keys, which only re-packing reads, last.
  size_t DatesOffset() const { return size_t{8} * groups_; }
  size_t BitmapWords() const {
    return (values_ == 0 ? 0 : BitWords(size_)) + (ends_ == 0 ? 0 : BitWords(size_));
  }
  const uint64_t* value_bits() const {
    if (values_ == 0) return nullptr;
    return reinterpret_cast<const uint64_t*>(data_ + tail_);
  }
  const uint64_t* end_bits() const {
    if (ends_ == 0) return nullptr;
    return reinterpret_cast<const uint64_t*>(data_ + tail_) + (values_ == 0 ? 0 : BitWords(size_));
  }
  static bool Bit(const uint64_t* bits, uint32_t i) {
    return bits != nullptr && ((bits[i / 64] >> (i % 64)) & 1) != 0;
  }
  static uint32_t Rank(const uint64_t* bits, uint32_t i);

  std::byte* data_ = nullptr;
  uint32_t size_ = 0;
  uint32_t groups_ = 0;
  uint32_t values_ = 0;  // events with a value
  uint32_t ends_ = 0;    // events with an end date
  uint32_t tail_ = 0;    // byte offset of the 8-byte columns
  bool owned_ = true;    // data_ was allocated by Pack (else it is in the caller's memory)
};

// A patient's events with every field, sorted by date, then domain, resource key, codes,
// source, unit, end date and value (what export, statistics and tests read; the engine reads
// the columns). Built by Index::Events; holds views into the index's kinds.
class EventRange {
 public:
  EventRange(const PatientEvents& events, const EventKinds& kinds);
  std::vector<IndexEvent>::const_iterator begin() const { return events_.begin(); }
  std::vector<IndexEvent>::const_iterator end() const { return events_.end(); }
  size_t size() const { return events_.size(); }
  bool empty() const { return events_.empty(); }
  const IndexEvent& operator[](size_t i) const { return events_[i]; }

 private:
  std::vector<IndexEvent> events_;
};

}  // namespace p4dp::store
