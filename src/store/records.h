// What the store keeps: pseudonymised patient rows, resource versions and events, as the
// ingestion hands them over and as segments hold them. No field here holds a source
// identifier: patients are PatientKey values (keyed hashes) and resources are 64-bit keyed
// hashes of (source, type, id). Plain values.
#pragma once

#include <compare>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "base/date.h"
#include "domain/patient.h"
#include "store/code_list.h"

namespace p4dp::store {

inline constexpr Days kNoDay = std::numeric_limits<Days>::min();

// Which of two versions of the same resource wins, whatever the order they arrived in:
// the later meta.lastUpdated, then the higher numeric meta.versionId, then the content hash.
struct Version {
  Days last_updated = kNoDay;
  uint32_t version_id = 0;
  uint64_t content_hash = 0;
  auto operator<=>(const Version&) const = default;
};

struct Registration {
  uint64_t practice = 0;  // keyed hash of (source, Organization id); 0 if unknown
  Days start = kNoDay;
  Days end = kNoDay;  // kNoDay: still registered
};

struct PatientRecord {
  domain::PatientKey key;
  uint64_t resource_key = 0;  // the Patient resource this row comes from
  Version version;
  bool deleted = false;  // entered-in-error
  uint32_t source = 0;
  domain::Sex sex = domain::Sex::kUnknown;
  int16_t birth_year = 0;
  int8_t birth_month = 0;
  Days death = kNoDay;
  std::string departement;  // INSEE code, empty if unknown
  std::vector<Registration> registrations;
};

// One version of a clinical resource: whether it is deleted and whose it is.
struct ResourceRecord {
  uint64_t resource_key = 0;
  Version version;
  bool deleted = false;
  domain::PatientKey patient;
  uint32_t source = 0;
  uint8_t resource_type = 0;  // ingest's numbering, for statistics
};

struct EventRecord {
  domain::PatientKey patient;
  Days date = 0;
  Days end_date = kNoDay;
  domain::Domain domain = domain::Domain::kObservation;
  CodeList codes;  // catalog code ids, sorted, no repeats
  double value = std::numeric_limits<double>::quiet_NaN();
  uint32_t unit = 0;  // catalog unit id, 0 = none
  uint32_t source = 0;
  uint64_t resource_key = 0;
  uint64_t content_hash = 0;  // = the version's content hash of the resource it comes from
};

struct Batch {
  std::vector<PatientRecord> patients;
  std::vector<ResourceRecord> resources;
  std::vector<EventRecord> events;
  // Set by a producer that guarantees each resource key at most once among the rows (and
  // so one version of each resource's events): Index::Apply then skips judging versions
  // within the batch. Not stored.
  bool unique_keys = false;
  bool empty() const { return patients.empty() && resources.empty() && events.empty(); }
};

}  // namespace p4dp::store
