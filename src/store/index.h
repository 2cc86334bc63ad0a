// The in-memory index of the warehouse: the patient table (dense PatientIndex per
// PatientKey), each patient's events sorted by date (in columns: store/event_columns.h), and
// for each code the set of patients with an event of that code. It applies batches with the
// version rule of records.h (the winning version of each resource is the greatest, whatever
// the order of arrival; a deleted winner removes the resource), so its content never depends
// on ingest order.
// Not thread-safe: the Warehouse guards it (one writer, readers under its lock).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "store/event_columns.h"
#include "store/flat_map.h"
#include "store/patient_set.h"
#include "store/records.h"

namespace p4dp::store {

struct IndexPatient {
  domain::PatientKey key;
  std::optional<PatientRecord> row;  // the winning Patient resource, if any
  PatientEvents events;              // grouped by kind, by date within a group
};

// Where one patient's events of one kind lie in its columns (IndexPatient::events): listed
// per kind, in patient order (Index::KindPostings), so that a reader after the events of a
// few kinds walks these lists along with the patients instead of searching each patient's
// group table, and knows where the dates and values are before reading anything of the
// patient.
struct KindPosting {
  domain::PatientIndex patient = 0;
  uint32_t begin = 0;  // the group's events: [begin, end)
  uint32_t end = 0;
  uint32_t value_rank = 0;  // events.ValuesBefore(begin)
  uint32_t values = 0;      // how many of the group's events have a value
};

// What the index holds in memory, in bytes (allocated sizes, not counting the allocator's own
// overhead).
struct IndexMemory {
  // The patient table, events, event kinds and by-code sets: what readers use.
  int64_t index_bytes = 0;
  // The version of every resource: what judging new records needs (ingestion, live writes).
  int64_t version_map_bytes = 0;
};

struct PatientKeyHasher {
  size_t operator()(const domain::PatientKey& k) const {
    size_t v;
    std::memcpy(&v, k.bytes.data(), sizeof v);
    return v;
  }
};

// What applying a batch did to each resource, for the ingest summary.
struct ApplyCounts {
  int64_t added = 0;       // a resource not stored before
  int64_t replaced = 0;    // a newer version replaced a stored one
  int64_t duplicates = 0;  // this exact version was stored already
  int64_t outdated = 0;    // an older version than the stored one: ignored
  int64_t removed = 0;     // entered-in-error removed a stored resource
  // Events of the resources that won (added or replaced), by domain.
  std::array<int64_t, domain::kDomainCount> events_by_domain{};
};

class Index {
 public:
  // An index without events keeps only the versions of resources and the patient rows:
  // enough to judge new records during ingestion, for a fraction of the memory.
  explicit Index(bool with_events = true) : with_events_(with_events) {}
  bool with_events() const { return with_events_; }

  ApplyCounts Apply(const Batch& batch);

  // Loading the events of an index built without them, from the same batches in the same
  // order (the warehouse's live segments): AddEventsOf for each batch, then EndEventsLoad,
  // after which with_events() is true. Gives the events Apply would have kept, without judging
  // versions again: those of the winning version of each resource, from the first batch that
  // holds it. EndEventsLoad lays the events out next to each other in patient order (in
  // 2 MiB pages where the system allows: the engine walks patients in that order). DropEvents
  // undoes a load that could not finish. Requires !with_events().
  void AddEventsOf(const Batch& batch);
  void EndEventsLoad();
  void DropEvents();

  size_t patient_count() const { return patients_.size(); }
  const IndexPatient& patient(domain::PatientIndex i) const { return patients_[i]; }
  // A patient's events with every field, sorted by date (the columns are in
  // patient(i).events). Builds them: O(events of the patient).
  EventRange Events(domain::PatientIndex i) const { return {patients_[i].events, kinds_}; }
  const EventKinds& kinds() const { return kinds_; }
  std::optional<domain::PatientIndex> Find(const domain::PatientKey& key) const;
  int64_t event_count() const { return events_; }
  // The events of kind `kind` laid out by EndEventsLoad, in patient order; they describe
  // patient i's columns only while InPostings(i). Empty for a kind first seen since.
  std::span<const KindPosting> KindPostings(uint32_t kind) const {
    if (kind >= postings_.size()) return {};
    return postings_[kind];
  }
  // Whether KindPostings lists patient i's events: those laid out by EndEventsLoad, until the
  // patient's events change (a patient re-packed since has columns of its own). False for
  // every patient of an index built by Apply.
  bool InPostings(domain::PatientIndex i) const { return !patients_[i].events.owns_memory(); }
  // Patients with at least one event of code `code_id` (empty set if none).
  const PatientSet& PatientsWithCode(uint32_t code_id) const;
  size_t resource_count() const { return resources_.size(); }
  // Walks every patient: O(patients).
  IndexMemory Memory() const;

 private:
  struct Winner {
    Version version;
    bool deleted = false;
    bool events_loaded = false;  // AddEventsOf took its events (fits in the padding)
    domain::PatientIndex patient = 0;
    bool is_patient_row = false;
  };
  // An event to add, or (removal) a resource whose stored events go, by the next Repack.
  struct Staged {
    domain::PatientIndex patient = 0;
    PatientEvents::Row row;
  };
  struct Removal {
    domain::PatientIndex patient = 0;
    uint64_t resource_key = 0;
  };
  // What AddEventsOf takes from one batch: the events of these resources, for this patient.
  struct Take {
    domain::PatientIndex patient = 0;
    uint64_t content_hash = 0;
  };
  domain::PatientIndex PatientFor(const domain::PatientKey& key);
  void Stage(domain::PatientIndex p, const EventRecord& e);
  // Applies the staged events and removals, re-packing each patient they touch once.
  void Repack();
  void RepackPatient(domain::PatientIndex p, std::span<const Staged> added,
                     std::span<const Removal> removed);
  // Moves every patient's events into large blocks, in patient order, and lists their groups
  // by kind (postings_).
  void Compact();
  void AddPostings(domain::PatientIndex p, const PatientEvents& events);
  struct FreeDeleter {
    void operator()(std::byte* p) const;
  };

  std::vector<IndexPatient> patients_;
  std::unordered_map<domain::PatientKey, domain::PatientIndex, PatientKeyHasher> by_key_;
  FlatMap64<Winner> resources_;
  std::vector<PatientSet> by_code_;
  EventKinds kinds_;
  // Where the events loaded at once lie (Compact); a patient re-packed since has its own.
  std::vector<std::unique_ptr<std::byte[], FreeDeleter>> arenas_;
  int64_t arena_bytes_ = 0;
  std::vector<std::vector<KindPosting>> postings_;  // by kind, built with the arenas
  // Apply's per-batch maps and lists, kept to reuse their memory.
  FlatMap64<const Version*> scratch_best_;
  FlatMap64<bool> scratch_winners_;
  FlatMap64<Take> scratch_take_;
  std::vector<Staged> staged_;
  std::vector<Removal> removals_;
  std::vector<PatientEvents::Row> rows_;
  std::vector<uint64_t> scratch_keys_;
  int64_t events_ = 0;
  bool with_events_ = true;
};

}  // namespace p4dp::store
