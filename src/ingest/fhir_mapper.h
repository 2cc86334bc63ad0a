// Maps one FHIR R4 resource (JSON text) to what the warehouse keeps of it, following
// shared/spec/fhir-mapping.md: the events of a clinical resource, the demographic row of a
// Patient, the name of an Organization, or the reason it cannot be used. Identifying
// fields (names, telecom, address lines, free text) are never copied out, except the
// national identifier, which stays inside ingest/ until it is pseudonymised.
// A FhirMapper holds a simdjson parser: one per thread.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/date.h"
#include "domain/patient.h"

namespace p4dp::ingest {

inline constexpr Days kNoDate = std::numeric_limits<Days>::min();
inline constexpr size_t kResourceBytesMax = 16 << 20;  // one resource, one NDJSON line

struct MappedCode {
  std::string system;  // the alias for known systems ("icd10", "loinc"), else the URI as given
  std::string code;
  uint64_t hash = 0;  // CodeHash(system, code), computed where the record is mapped
};

// A 64-bit hash of (system, code), so that the ingesting thread looks codes up by number
// (the catalog checks the strings of what it finds).
uint64_t CodeHash(std::string_view system, std::string_view code);

struct MappedEvent {
  domain::Domain domain = domain::Domain::kObservation;
  Days date = kNoDate;
  Days end_date = kNoDate;  // drug: start + expectedSupplyDuration when given
  std::vector<MappedCode> codes;
  double value = std::numeric_limits<double>::quiet_NaN();
  std::string unit;
};

struct MappedRegistration {
  std::string practice_reference;  // as written: "Organization/abc", "urn:uuid:..."
  Days start = kNoDate;
  Days end = kNoDate;
};

// A Patient's row, with the identifier still in clear: only inside ingest/.
struct MappedPatient {
  std::string nir;  // 15 characters, upper case, no spaces; empty if none or invalid key
  domain::Sex sex = domain::Sex::kUnknown;
  int birth_year = 0;   // 0 if unknown
  int birth_month = 0;  // 0 if unknown (year only)
  Days death = kNoDate;
  std::string departement;  // INSEE code from address[0].postalCode, empty if none
  std::vector<MappedRegistration> registrations;  // the practice-registration extension
  std::string general_practitioner;               // first generalPractitioner reference, as written
};

enum class MappedKind : uint8_t {
  kEvents,        // a clinical resource: `events`, `subject_reference`
  kPatient,       // `patient`
  kOrganization,  // a practice: `organization_name`
  kMedication,    // a Medication: its codes in `medication_codes`, for references to it
  kEnteredInError,
  kSkipped,      // a resource type outside the mapping table: counted, not stored
  kQuarantined,  // unusable: `reason`
};

// Why a record is quarantined; the names are stable (summaries, `p4dp quarantine`).
enum class QuarantineReason : uint8_t {
  kInvalidJson,
  kNoSubject,
  kUnresolvableSubject,  // set by the caller when the subject reference resolves to nothing
  kNoUsableDate,
  kDateBefore1900,
  kDateInFuture,
  kWrongType,  // a field of the wrong JSON type where the mapping needs it
  kNoResourceType,
  kTooLarge,
};
inline constexpr int kQuarantineReasonCount = 9;
std::string_view QuarantineReasonName(QuarantineReason reason);  // "invalid_json", ...

struct MappedResource {
  MappedKind kind = MappedKind::kSkipped;
  std::string resource_type;    // as written ("Condition"); empty if unreadable
  std::string id;               // the resource id, empty if none
  std::string version;          // meta.versionId, empty if none
  Days last_updated = kNoDate;  // meta.lastUpdated (Paris day), kNoDate if none
  // The reference to the patient as written: subject (or patient for Immunization). A
  // logical reference by identifier only is written "Patient?identifier=system|value".
  std::string subject_reference;
  // Set only for a Condition with no date of its own (no onsetDateTime, onsetPeriod.start
  // or recordedDate) but an `encounter`: its events then carry date kNoDate, and the caller
  // dates them with that Encounter's period.start (applying the 1900 and future checks), or
  // quarantines the Condition (kNoUsableDate, "encounter") when the encounter is unknown.
  // Empty in every other case.
  std::string encounter_reference;
  // MedicationRequest/Dispense with a medicationReference, as written; the events then have
  // no codes and the caller takes them from that Medication (kMedication). A reference to a
  // contained Medication ("#id") is resolved here: codes filled, this left empty.
  std::string medication_reference;
  std::vector<MappedEvent> events;
  MappedPatient patient;
  std::string organization_name;
  std::vector<MappedCode> medication_codes;
  QuarantineReason reason = QuarantineReason::kInvalidJson;
  std::string reason_detail;  // e.g. the field at fault: "onsetDateTime"; never data
};

struct MapperOptions {
  Days today = 0;  // dates after this day are "in the future"
};

class FhirMapper {
 public:
  explicit FhirMapper(MapperOptions options);
  ~FhirMapper();
  FhirMapper(const FhirMapper&) = delete;
  FhirMapper& operator=(const FhirMapper&) = delete;

  // Maps one resource. `json` need not be padded; the mapper copies it when it must.
  // Never throws; anything unusable comes back as kQuarantined with a reason, and then only
  // resource_type, id and version (when they could be read) are filled besides the reason.
  // Rules beyond the table of the spec:
  // - A field the mapping reads that has the wrong JSON type gives kWrongType (detail: the
  //   field); null counts as absent. The JSON is checked where it is read and for balance
  //   and trailing text elsewhere (On-Demand does not validate skipped values in depth).
  // - The event date comes from the first candidate present in the table's order; one that
  //   is present but unusable (partial, malformed, wrong type, before 1900, after
  //   options.today) quarantines the record: no later candidate replaces it.
  // - Codings without a code are skipped; a coding with an unknown system keeps its URI as
  //   system (empty if none); an event without any coding has no codes.
  // - Observation: the main event (measurement with valueQuantity, else observation) plus
  //   one measurement per component that has a code and a valueQuantity, same date. Units
  //   are the UCUM `code` when given, else `unit`.
  // - MedicationRequest end_date: authoredOn + expectedSupplyDuration in units d, wk, mo
  //   (30 days), a (365 days), h (UCUM code, else unit words like "days"); other units,
  //   negative or over ten years: no end date. MedicationDispense value: quantity.value.
  // - Patient: nir from identifier systems urn:oid:1.2.250.1.213.1.4.8 (INS-NIR), .10
  //   (INS-NIR test), .9 (INS-NIA), .11 (INS-NIA test), best first, only with a valid key;
  //   birthDate "YYYY", "YYYY-MM" or "YYYY-MM-DD" (absent: year 0; malformed, before 1900 or
  //   in the future: quarantined); deceasedDateTime gives `death`, checked like an event
  //   date, but a partial one or deceasedBoolean gives no death date (the caller makes the
  //   death event); département from address[0].postalCode only when address[0].country is
  //   France or absent; registration dates that cannot be read are kNoDate.
  // - status "entered-in-error" (Condition: also verificationStatus) gives kEnteredInError
  //   whatever else is wrong, except invalid JSON.
  // `padded`: at least simdjson::SIMDJSON_PADDING (64) readable bytes follow `json` (their
  // content does not matter), so it is parsed where it lies instead of copied.
  MappedResource Map(std::string_view json, bool padded = false);
  // The same into `out`, whose strings and vectors keep their capacity (no allocation per
  // record once warm).
  void Map(std::string_view json, bool padded, MappedResource& out);

  // The resource with every dropped field removed (name, telecom, address lines, text, note,
  // photo, attachments: at any depth), as compact JSON, for the encrypted quarantine.
  // Precisely: the keys name, telecom, text, note, comment, photo, attachment, content,
  // presentedForm, valueString and valueMarkdown at any depth; `display` in objects that are
  // not Codings (a Reference's display may be a name); in `address` and `valueAddress`
  // objects everything but postalCode and country. Empty if `json` is not valid JSON or is
  // nested deeper than 256 levels.
  static std::string StripForQuarantine(std::string_view json);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The day of an ISO 8601 date or dateTime in Europe/Paris time: "2021-03-04" as is;
// "2021-03-04T23:30:00Z" → 2021-03-05 (converted from UTC with the EU summer-time rule).
// Partial dates ("2021", "2021-03") give an InvalidArgument status.
Result<Days> ParisDay(std::string_view text);

// Normalises a NIR or INS as written (spaces removed, upper case); empty if it is not 15
// characters with a valid key.
std::string NormaliseNir(std::string_view text);

}  // namespace p4dp::ingest
