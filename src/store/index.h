// The in-memory index of the warehouse: the patient table (dense PatientIndex per
// PatientKey), each patient's events sorted by date, and for each code the set of patients
// with an event of that code. It applies batches with the version rule of records.h
// (the winning version of each resource is the greatest, whatever the order of arrival;
// a deleted winner removes the resource), so its content never depends on ingest order.
// Not thread-safe: the Warehouse guards it (one writer, readers under its lock).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <vector>

#include "store/flat_map.h"
#include "store/patient_set.h"
#include "store/records.h"

namespace p4dp::store {

struct IndexEvent {
  Days date = 0;
  Days end_date = kNoDay;
  domain::Domain domain = domain::Domain::kObservation;
  uint32_t unit = 0;
  uint32_t source = 0;
  double value = 0;
  CodeList codes;  // sorted, no repeats
  uint64_t resource_key = 0;
};

struct IndexPatient {
  domain::PatientKey key;
  std::optional<PatientRecord> row;  // the winning Patient resource, if any
  std::vector<IndexEvent> events;    // sorted by date
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

  size_t patient_count() const { return patients_.size(); }
  const IndexPatient& patient(domain::PatientIndex i) const { return patients_[i]; }
  std::optional<domain::PatientIndex> Find(const domain::PatientKey& key) const;
  int64_t event_count() const { return events_; }
  // Patients with at least one event of code `code_id` (empty set if none).
  const PatientSet& PatientsWithCode(uint32_t code_id) const;
  size_t resource_count() const { return resources_.size(); }

 private:
  struct Winner {
    Version version;
    bool deleted = false;
    domain::PatientIndex patient = 0;
    bool is_patient_row = false;
  };
  domain::PatientIndex PatientFor(const domain::PatientKey& key);
  void RemoveResourceEvents(domain::PatientIndex p, uint64_t resource_key);
  void Reindex(domain::PatientIndex p, const std::vector<uint32_t>& codes_before);

  std::vector<IndexPatient> patients_;
  std::unordered_map<domain::PatientKey, domain::PatientIndex, PatientKeyHasher> by_key_;
  FlatMap64<Winner> resources_;
  std::vector<PatientSet> by_code_;
  // Apply's per-batch maps, kept to reuse their memory.
  FlatMap64<const Version*> scratch_best_;
  FlatMap64<bool> scratch_winners_;
  int64_t events_ = 0;
  bool with_events_ = true;
};

}  // namespace p4dp::store
