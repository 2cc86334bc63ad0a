// The ingestion pipeline: reads FHIR records (files or a request body), maps them, resolves
// each clinical resource's patient, pseudonymises, sets unusable records aside in the
// encrypted quarantine, and publishes batches to the warehouse (one segment and one catalog
// transaction each: when IngestPaths or IngestBody returns OK, everything is durable).
// An Ingester is used by one thread (IngestPaths runs a reader thread of its own); the
// Warehouse serialises it with other writers.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/date.h"
#include "domain/patient.h"
#include "ingest/fhir_mapper.h"
#include "ingest/pseudonymiser.h"
#include "ingest/reader.h"
#include "store/flat_map.h"
#include "store/warehouse.h"

namespace p4dp::ingest {

inline constexpr int64_t kIngestBatchResourcesMax = 100'000;
inline constexpr int64_t kIngestBatchEventsMax = 1'000'000;

struct IngestProgress {
  int64_t records = 0;
  int64_t bytes = 0;
  std::string file;
};

struct IngestOptions {
  std::string source = "default";  // the name of the sending source
  Days today = 0;                  // records dated after today are quarantined
  int64_t batch_resources_max = kIngestBatchResourcesMax;
  std::function<void(const IngestProgress&)> on_progress;  // every few seconds
};

struct IngestSummary {
  int64_t files = 0;
  int64_t records = 0;
  int64_t accepted = 0;    // resources stored that were not before
  int64_t replaced = 0;    // newer versions that replaced stored ones
  int64_t duplicates = 0;  // exactly what was stored already (or twice in the input)
  int64_t outdated = 0;    // older versions than those stored: ignored
  int64_t removed = 0;     // entered-in-error resources that removed stored ones
  int64_t rejected = 0;    // quarantined
  std::map<std::string, int64_t> rejected_by_reason;
  // Refused without being stored or quarantined: records of patients who objected
  // ("opted_out").
  int64_t refused = 0;
  std::map<std::string, int64_t> refused_by_reason;
  std::map<std::string, int64_t> skipped_by_type;  // types outside the mapping table
  int64_t practices = 0;
  int64_t medications = 0;
  std::array<int64_t, domain::kDomainCount> events_by_domain{};
  int64_t bytes = 0;
  double seconds = 0;
  double publish_seconds = 0;  // of which spent handing batches over and waiting to publish
  std::string ToJson() const;
};

class Ingester {
 public:
  Ingester(store::Warehouse& warehouse, IngestOptions options);
  ~Ingester();

  // Ingests files and folders (see reader.h for formats and order). Errors name the file.
  Status IngestPaths(const std::vector<std::string>& paths);
  // Ingests a request body (NDJSON or a Bundle).
  Status IngestBody(std::string_view body, const std::string& name);
  const IngestSummary& summary() const { return summary_; }

 private:
  struct Staged;
  Status OnRecord(const RawRecord& record);
  Status OnMapped(const RawRecord& record, MappedResource& mapped, uint64_t content_hash);
  Status HandleMapped(const RawRecord& record, MappedResource& mapped, uint64_t content_hash);
  Status HandlePatient(const RawRecord& record, const MappedResource& m, const store::Version& v);
  Status HandleEvents(const RawRecord& record, MappedResource& m, const store::Version& v);
  Status Quarantine(const RawRecord& record, QuarantineReason reason,
                    const std::string& resource_type, const std::string& id,
                    const std::string& detail);
  std::optional<domain::PatientKey> ResolvePatient(std::string_view reference);
  bool OfObjectingPatient(const RawRecord& record, const MappedResource& m);
  uint64_t KeyOf(const std::string& type, const std::string& id, uint64_t content_hash) const;
  void Admit(uint64_t resource_key, const store::Version& version, bool is_patient);
  void ResolveRepeats();
  void ReserveBatch();
  Status EnsureTransaction();
  // Hands the staged batch to the transaction's writer; Finish also commits and ends it.
  Status Flush();
  Status Finish();
  void Progress(bool force);

  store::Warehouse& warehouse_;
  IngestOptions options_;
  Pseudonymiser pseudonymiser_;
  FhirMapper mapper_;
  uint32_t source_id_ = 0;
  std::unique_ptr<store::Warehouse::Transaction> txn_;
  // The batch being built, rows and events appended as records come; one slot per
  // resource version staged. Versions that lose to another of the same resource within
  // the batch leave dead rows and events, removed at Flush.
  store::Batch staged_;
  std::vector<Staged> staged_slots_;
  std::vector<std::pair<uint64_t, uint32_t>> repeat_order_;  // (resource key, slot)
  std::vector<uint32_t> dead_patients_, dead_resources_, dead_events_;
  std::vector<uint32_t> code_scratch_, unit_scratch_;
  bool bulk_ = false;  // ingesting files: batches are reserved whole
  // Resolved patient references of this run (links never change once made), by the
  // 128-bit hash of the reference, as encounter dates below.
  struct ResolvedReference {
    uint64_t check = 0;
    domain::PatientKey key;
  };
  store::FlatMap64<ResolvedReference> resolved_;
  // Codes of Medication resources and dates of Encounters seen in this run, by reference.
  std::unordered_map<std::string, std::vector<MappedCode>> medications_;
  // Encounter dates by a 128-bit hash of the reference (64 bits as the key, 64 to check):
  // millions of them in a large ingest, where strings would cost more than the rest.
  struct ReferenceHash {
    uint64_t key, check;
  };
  struct DatedReference {
    uint64_t check = 0;
    Days date = 0;
  };
  ReferenceHash HashReference(std::string_view prefix, std::string_view id);
  store::FlatMap64<DatedReference> encounter_dates_;
  std::string reference_scratch_;
  IngestSummary summary_;
  int64_t last_progress_us_ = 0;
  int64_t start_us_ = 0;
  std::string current_file_;
  Status deferred_;  // the first error raised inside a reader callback
};

// The warehouse statistics as JSON (`p4dp stats`, GET /api/stats); indent < 0: compact.
std::string StatsToJson(const store::Stats& stats, int indent);

// Decrypts the first `limit` quarantined records: JSON objects with file, line, resource
// type and id, reason, detail, and the resource stripped of identifying fields.
Result<std::vector<std::string>> ReadQuarantine(store::Warehouse& warehouse, int64_t limit);

}  // namespace p4dp::ingest
