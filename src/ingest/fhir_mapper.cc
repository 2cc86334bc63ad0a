#include "ingest/fhir_mapper.h"

#include <simdjson.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

#include "domain/code_system.h"
#include "domain/departement.h"

namespace p4dp::ingest {
namespace {

namespace od = simdjson::ondemand;

constexpr std::string_view kRegistrationUrl =
    "https://p4dp.fr/fhir/StructureDefinition/practice-registration";
constexpr std::string_view kActCodeUri = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

// The identifier systems read as the national identifier, best first: INS-NIR, INS-NIR of
// test, INS-NIA (temporary number given while the NIR is unknown), INS-NIA of test.
constexpr std::array<std::string_view, 4> kNirSystems = {
    "urn:oid:1.2.250.1.213.1.4.8", "urn:oid:1.2.250.1.213.1.4.10", "urn:oid:1.2.250.1.213.1.4.9",
    "urn:oid:1.2.250.1.213.1.4.11"};

// The longest expectedSupplyDuration read, in days; longer ones are ignored as implausible.
constexpr double kSupplyDaysMax = 3660;

enum class Type : uint8_t {
  kOther,
  kPatient,
  kOrganization,
  kMedication,
  kEncounter,
  kCondition,
  kObservation,
  kMedicationRequest,
  kMedicationDispense,
  kImmunization,
  kProcedure,
};

Type TypeOf(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, Type>, 10> kTypes = {{
      {"Patient", Type::kPatient},
      {"Organization", Type::kOrganization},
      {"Medication", Type::kMedication},
      {"Encounter", Type::kEncounter},
      {"Condition", Type::kCondition},
      {"Observation", Type::kObservation},
      {"MedicationRequest", Type::kMedicationRequest},
      {"MedicationDispense", Type::kMedicationDispense},
      {"Immunization", Type::kImmunization},
      {"Procedure", Type::kProcedure},
  }};
  for (const auto& [type_name, type] : kTypes) {
    if (type_name == name) return type;
  }
  return Type::kOther;
}

domain::Domain DomainOf(Type type) {
  switch (type) {
    case Type::kEncounter: return domain::Domain::kVisit;
    case Type::kCondition: return domain::Domain::kCondition;
    case Type::kMedicationRequest: return domain::Domain::kDrug;
    case Type::kMedicationDispense: return domain::Domain::kDispensing;
    case Type::kImmunization: return domain::Domain::kImmunization;
    case Type::kProcedure: return domain::Domain::kProcedure;
    default: return domain::Domain::kObservation;
  }
}

// The alias of a known system, else the URI as written.
std::string SystemName(std::string_view uri) {
  if (auto system = domain::CodeSystemFromName(uri)) {
    return std::string(domain::InfoOf(*system).alias);
  }
  return std::string(uri);
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

bool AllDigits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

int Digits(std::string_view text) {
  int n = 0;
  for (char c : text) n = n * 10 + (c - '0');
  return n;
}

// The last Sunday of a 31-day month (March or October) of `year`.
Days LastSunday(int year, int month) {
  Days last = ToDays({year, month, 31});
  return last - (IsoWeekday(last) + 1) % 7;
}

// Whether a UTC instant (minutes since 1970) falls in EU summer time: from the last Sunday of
// March 01:00 UTC to the last Sunday of October 01:00 UTC.
struct SummerTime {
  int64_t start_minutes;  // UTC, since 1970
  int64_t end_minutes;
};

SummerTime SummerTimeOf(int year) {
  return {int64_t{LastSunday(year, 3)} * 1440 + 60, int64_t{LastSunday(year, 10)} * 1440 + 60};
}

// Summer time bounds of the years most dates fall in, computed once.
constexpr int kSummerTimeFirstYear = 1900;
constexpr int kSummerTimeYears = 300;

bool IsEuSummerTime(int64_t utc_minutes) {
  static const std::array<SummerTime, kSummerTimeYears> kTable = [] {
    std::array<SummerTime, kSummerTimeYears> table{};
    for (int i = 0; i < kSummerTimeYears; ++i) table[i] = SummerTimeOf(kSummerTimeFirstYear + i);
    return table;
  }();
  auto day = static_cast<Days>(FloorDiv(utc_minutes, 1440));
  // The year estimated at 365.2425 days a year is wrong only within days of 1 January, where
  // no year is in summer time, so the answer is right either way.
  int year = 1970 + static_cast<int>(FloorDiv(int64_t{day} * 400, 146097));
  int index = year - kSummerTimeFirstYear;
  if (index >= 0 && index < kSummerTimeYears) {
    const SummerTime& bounds = kTable[static_cast<size_t>(index)];
    return utc_minutes >= bounds.start_minutes && utc_minutes < bounds.end_minutes;
  }
  year = ToYearMonthDay(day).year;
  if (year < 1 || year > 9999) return false;
  SummerTime bounds = SummerTimeOf(year);
  return utc_minutes >= bounds.start_minutes && utc_minutes < bounds.end_minutes;
}

// A FHIR `date` of a Patient: "YYYY", "YYYY-MM" or "YYYY-MM-DD"; month 0 for a year only.
struct BirthDate {
  int year = 0;
  int month = 0;
  Days first_day = 0;  // the first day the text can mean
};

std::optional<BirthDate> ParseBirthDate(std::string_view text) {
  if (text.size() != 4 && text.size() != 7 && text.size() != 10) return std::nullopt;
  if (!AllDigits(text.substr(0, 4))) return std::nullopt;
  BirthDate birth{.year = Digits(text.substr(0, 4))};
  int day = 1;
  if (text.size() >= 7) {
    if (text[4] != '-' || !AllDigits(text.substr(5, 2))) return std::nullopt;
    birth.month = Digits(text.substr(5, 2));
  }
  if (text.size() == 10) {
    if (text[7] != '-' || !AllDigits(text.substr(8, 2))) return std::nullopt;
    day = Digits(text.substr(8, 2));
  }
  if (!IsValidDate(birth.year, birth.month == 0 ? 1 : birth.month, day)) return std::nullopt;
  birth.first_day = ToDays({birth.year, birth.month == 0 ? 1 : birth.month, day});
  return birth;
}

// A date-like field as found in the resource: absent, a string, or a value of another type.
struct DateField {
  enum class State : uint8_t { kAbsent, kText, kWrongType };
  State state = State::kAbsent;
  std::string_view text;  // in the parser's string buffer: valid during one Map()
};

struct Quantity {
  bool present = false;
  double value = std::numeric_limits<double>::quiet_NaN();
  std::string_view unit;  // the UCUM code when given, else the unit as written
};

struct Component {
  std::vector<MappedCode> codes;
  Quantity quantity;
};

struct ContainedMedication {
  std::string_view id;
  std::vector<MappedCode> codes;
};

// What one pass over a resource collects before the events are assembled. Views point into
// the parser's buffers and die with the document.
struct Scratch {
  std::string_view status;
  bool verification_entered_in_error = false;
  bool has_subject = false;
  std::vector<MappedCode> codes;
  Quantity quantity;
  std::vector<Component> components;
  std::vector<ContainedMedication> contained;
  // The date candidates of an event, in the order of the mapping table.
  DateField first, second, third;
  DateField birth, death;
  double supply_value = std::numeric_limits<double>::quiet_NaN();
  std::string_view supply_unit;
  int nir_rank = -1;
  bool practitioner_seen = false;
};

// One pass of simdjson On-Demand over one resource object, field by field, filling a
// MappedResource. Functions return false on a JSON error (the document is then unusable);
// the first mapping problem (wrong type, ...) is recorded and the walk goes on, so that the
// JSON is still checked to its end and an entered-in-error status is still seen.
class Walker {
 public:
  Walker(Type type, MappedResource& out, const MapperOptions& options)
      : type_(type), out_(out), options_(options) {}

  bool WalkResource(od::object& resource) {
    for (auto field_result : resource) {
      od::field field;
      if (auto e = std::move(field_result).get(field)) return Fail(e);
      std::string_view key;
      if (!KeyOf(field, key)) return false;
      if (!Top(key, field.value())) return false;
    }
    return true;
  }

  // Decides the kind of the result once every field has been read.
  void Finish();

 private:
  // A JSON error: the walk stops and the record is invalid JSON, whatever the error.
  static bool Fail(simdjson::error_code) { return false; }

  void Problem(QuarantineReason reason, std::string_view detail) {
    if (has_problem_) return;
    has_problem_ = true;
    problem_ = reason;
    problem_detail_.assign(detail);
  }

  // The JSON type of `value`. A null is read through, so that a broken literal is seen.
  bool TypeOf(od::value& value, od::json_type& type) {
    if (auto e = value.type().get(type)) return Fail(e);
    if (type == od::json_type::null) return Scalar(value, type);
    return true;
  }

  // Reads a scalar to its end: On-Demand checks a literal or number only when it is read.
  bool Scalar(od::value& value, od::json_type type) {
    simdjson::error_code e = simdjson::SUCCESS;
    if (type == od::json_type::boolean) {
      bool b;
      e = value.get_bool().get(b);
    } else if (type == od::json_type::number) {
      double d;
      e = value.get_double().get(d);
    } else if (type == od::json_type::null) {
      bool is_null;
      e = value.is_null().get(is_null);
      if (!e && !is_null) e = simdjson::N_ATOM_ERROR;
    } else if (type == od::json_type::string) {
      std::string_view text;
      e = value.get_string().get(text);
    }
    return e ? Fail(e) : true;
  }

  // A value of the wrong type where `path` is read: a problem (and a JSON check).
  bool Mismatch(od::value& value, od::json_type type, std::string_view path) {
    Problem(QuarantineReason::kWrongType, path);
    return Scalar(value, type);
  }

  // The key as written, without unescaping when it has no escape (FHIR keys never have).
  bool KeyOf(od::field& field, std::string_view& key) {
    const char* raw = field.key().raw();
    size_t n = 0;
    while (raw[n] != '"' && raw[n] != '\\') ++n;
    if (raw[n] == '"') {
      key = std::string_view(raw, n);
      return true;
    }
    if (auto e = field.unescaped_key().get(key)) return Fail(e);
    return true;
  }

  // Reads a string. `found` is false for null; a value of another type is a problem.
  bool String(od::value value, std::string_view path, std::string_view& out, bool& found) {
    found = false;
    od::json_type type;
    if (!TypeOf(value, type)) return false;
    if (type == od::json_type::null) return true;
    if (type != od::json_type::string) return Mismatch(value, type, path);
    if (auto e = value.get_string().get(out)) return Fail(e);
    found = true;
    return true;
  }

  bool String(od::value value, std::string_view path, std::string_view& out) {
    bool found;
    return String(value, path, out, found);
  }

  bool Date(od::value value, DateField& date) {
    od::json_type type;
    if (!TypeOf(value, type)) return false;
    if (type == od::json_type::null) return true;
    if (type != od::json_type::string) {
      date.state = DateField::State::kWrongType;
      return Scalar(value, type);
    }
    if (auto e = value.get_string().get(date.text)) return Fail(e);
    date.state = DateField::State::kText;
    return true;
  }

  bool Number(od::value value, std::string_view path, double& out) {
    od::json_type type;
    if (!TypeOf(value, type)) return false;
    if (type == od::json_type::null) return true;
    if (type != od::json_type::number) return Mismatch(value, type, path);
    if (auto e = value.get_double().get(out)) return Fail(e);
    return true;
  }

  // Calls fn(key, value) for each field of an object; null is taken as absent.
  template <typename Fn>
  bool Fields(od::value value, std::string_view path, Fn&& fn) {
    od::json_type type;
    if (!TypeOf(value, type)) return false;
    if (type == od::json_type::null) return true;
    if (type != od::json_type::object) return Mismatch(value, type, path);
    od::object object;
    if (auto e = value.get_object().get(object)) return Fail(e);
    for (auto field_result : object) {
      od::field field;
      if (auto e = std::move(field_result).get(field)) return Fail(e);
      std::string_view key;
      if (!KeyOf(field, key)) return false;
      if (!fn(key, field.value())) return false;
    }
    return true;
  }

  // Calls fn(index, element) for each element of an array; null is taken as absent.
  template <typename Fn>
  bool Elements(od::value value, std::string_view path, Fn&& fn) {
    od::json_type type;
    if (!TypeOf(value, type)) return false;
    if (type == od::json_type::null) return true;
    if (type != od::json_type::array) return Mismatch(value, type, path);
    od::array array;
    if (auto e = value.get_array().get(array)) return Fail(e);
    size_t index = 0;
    for (auto element_result : array) {
      od::value element;
      if (auto e = std::move(element_result).get(element)) return Fail(e);
      if (!fn(index++, element)) return false;
    }
    return true;
  }

  bool Top(std::string_view key, od::value value);
  bool Common(std::string_view key, od::value value, bool& handled);
  bool Clinical(std::string_view key, od::value value);
  bool PatientField(std::string_view key, od::value value);

  bool Coding(od::value value, std::string_view path, std::vector<MappedCode>& codes,
              std::string_view default_system = {});
  bool Concept(od::value value, std::string_view path, std::vector<MappedCode>& codes);
  bool ConceptList(od::value value, std::string_view path, std::vector<MappedCode>& codes);
  bool Reference(od::value value, std::string_view path, std::string& out, bool& found);
  bool PeriodStart(od::value value, std::string_view path, DateField& start);
  bool QuantityValue(od::value value, std::string_view path, Quantity& quantity);
  bool ComponentList(od::value value);
  bool ContainedList(od::value value);
  bool SupplyDuration(od::value value);
  bool Meta(od::value value);
  bool VerificationStatus(od::value value);

  bool Identifiers(od::value value);
  bool Address(od::value value);
  bool Extensions(od::value value);
  bool Registration(od::value value);
  bool GeneralPractitioners(od::value value);

  // Resolves a date candidate to a Paris day with the range checks; false (and a problem)
  // when it is present but unusable.
  bool UsableDay(const DateField& date, std::string_view name, Days& day);
  void FinishClinical();
  void FinishPatient();
  std::optional<Days> EventDate();

  Type type_;
  MappedResource& out_;
  const MapperOptions& options_;
  Scratch s_;
  bool has_problem_ = false;
  QuarantineReason problem_ = QuarantineReason::kInvalidJson;
  std::string problem_detail_;
};

bool Walker::Top(std::string_view key, od::value value) {
  bool handled = false;
  if (!Common(key, value, handled)) return false;
  if (handled) return true;
  switch (type_) {
    case Type::kOther: return true;
    case Type::kPatient: return PatientField(key, value);
    case Type::kOrganization:
      if (key == "name") {
        std::string_view name;
        if (!String(value, "name", name)) return false;
        out_.organization_name.assign(name);
      }
      return true;
    case Type::kMedication:
      if (key == "code") return Concept(value, "code", out_.medication_codes);
      return true;
    default: return Clinical(key, value);
  }
}

bool Walker::Common(std::string_view key, od::value value, bool& handled) {
  handled = true;
  if (key == "resourceType") return true;
  if (key == "id") {
    std::string_view id;
    if (!String(value, "id", id)) return false;
    out_.id.assign(id);
    return true;
  }
  if (key == "meta") return Meta(value);
  if (key == "status") return String(value, "status", s_.status);
  handled = false;
  return true;
}

bool Walker::Meta(od::value value) {
  return Fields(value, "meta", [&](std::string_view key, od::value v) {
    if (key == "versionId") {
      std::string_view version;
      if (!String(v, "meta.versionId", version)) return false;
      out_.version.assign(version);
    } else if (key == "lastUpdated") {
      DateField updated;
      if (!Date(v, updated)) return false;
      if (updated.state == DateField::State::kText) {
        auto day = ParisDay(updated.text);
        if (day.ok()) out_.last_updated = *day;
      }
    }
    return true;
  });
}

bool Walker::Clinical(std::string_view key, od::value value) {
  std::string_view subject_key = type_ == Type::kImmunization ? "patient" : "subject";
  if (key == subject_key) {
    return Reference(value, subject_key, out_.subject_reference, s_.has_subject);
  }
  switch (type_) {
    case Type::kEncounter:
      if (key == "period") return PeriodStart(value, "period", s_.first);
      if (key == "type") return ConceptList(value, "type", s_.codes);
      if (key == "class") {
        // R4 has one Coding; R5 a list of CodeableConcepts.
        od::json_type type;
        if (!TypeOf(value, type)) return false;
        if (type == od::json_type::array) return ConceptList(value, "class", s_.codes);
        return Coding(value, "class", s_.codes, kActCodeUri);
      }
      return true;
    case Type::kCondition:
      if (key == "code") return Concept(value, "code", s_.codes);
      if (key == "onsetDateTime") return Date(value, s_.first);
      if (key == "onsetPeriod") return PeriodStart(value, "onsetPeriod", s_.second);
      if (key == "recordedDate") return Date(value, s_.third);
      if (key == "verificationStatus") return VerificationStatus(value);
      if (key == "encounter") {
        bool found;
        return Reference(value, "encounter", out_.encounter_reference, found);
      }
      return true;
    case Type::kObservation:
      if (key == "code") return Concept(value, "code", s_.codes);
      if (key == "effectiveDateTime" || key == "effectiveInstant") return Date(value, s_.first);
      if (key == "effectivePeriod") return PeriodStart(value, "effectivePeriod", s_.second);
      if (key == "issued") return Date(value, s_.third);
      if (key == "valueQuantity") return QuantityValue(value, "valueQuantity", s_.quantity);
      if (key == "component") return ComponentList(value);
      return true;
    case Type::kMedicationRequest:
    case Type::kMedicationDispense: {
      bool request = type_ == Type::kMedicationRequest;
      if (key == "medicationCodeableConcept") {
        return Concept(value, "medicationCodeableConcept", s_.codes);
      }
      if (key == "medicationReference") {
        bool found;
        return Reference(value, "medicationReference", out_.medication_reference, found);
      }
      if (key == "contained") return ContainedList(value);
      if (request && key == "authoredOn") return Date(value, s_.first);
      if (request && key == "dispenseRequest") {
        return Fields(value, "dispenseRequest", [&](std::string_view k, od::value v) {
          return k == "expectedSupplyDuration" ? SupplyDuration(v) : true;
        });
      }
      if (!request && key == "whenHandedOver") return Date(value, s_.first);
      if (!request && key == "quantity") return QuantityValue(value, "quantity", s_.quantity);
      return true;
    }
    case Type::kImmunization:
      if (key == "vaccineCode") return Concept(value, "vaccineCode", s_.codes);
      if (key == "occurrenceDateTime") return Date(value, s_.first);
      return true;
    case Type::kProcedure:
      if (key == "code") return Concept(value, "code", s_.codes);
      if (key == "performedDateTime") return Date(value, s_.first);
      if (key == "performedPeriod") return PeriodStart(value, "performedPeriod", s_.second);
      return true;
    default: return true;
  }
}

bool Walker::Coding(od::value value, std::string_view path, std::vector<MappedCode>& codes,
                    std::string_view default_system) {
  std::string_view system = default_system, code;
  bool has_code = false;
  bool ok = Fields(value, path, [&](std::string_view key, od::value v) {
    if (key == "system") return String(v, path, system);
    if (key == "code") return String(v, path, code, has_code);
    return true;
  });
  if (!ok) return false;
  if (has_code && !code.empty()) {
    MappedCode& c = codes.emplace_back();
    c.system = SystemName(system);
    c.code.assign(code);
    c.hash = CodeHash(c.system, c.code);
  }
  return true;
}

bool Walker::Concept(od::value value, std::string_view path, std::vector<MappedCode>& codes) {
  return Fields(value, path, [&](std::string_view key, od::value v) {
    if (key != "coding") return true;
    return Elements(v, path, [&](size_t, od::value coding) { return Coding(coding, path, codes); });
  });
}

bool Walker::ConceptList(od::value value, std::string_view path, std::vector<MappedCode>& codes) {
  return Elements(value, path, [&](size_t, od::value v) { return Concept(v, path, codes); });
}

// A Reference: `reference` as written, else a logical reference by identifier written as the
// conditional form "Type?identifier=system|value" (the type from `type`, else "Patient" for
// a subject).
bool Walker::Reference(od::value value, std::string_view path, std::string& out, bool& found) {
  std::string_view reference, type, id_system, id_value;
  bool has_reference = false;
  bool ok = Fields(value, path, [&](std::string_view key, od::value v) {
    if (key == "reference") return String(v, path, reference, has_reference);
    if (key == "type") return String(v, path, type);
    if (key == "identifier") {
      return Fields(v, path, [&](std::string_view k, od::value iv) {
        if (k == "system") return String(iv, path, id_system);
        if (k == "value") return String(iv, path, id_value);
        return true;
      });
    }
    return true;
  });
  if (!ok) return false;
  if (has_reference && !reference.empty()) {
    out.assign(reference);
    found = true;
  } else if (!id_value.empty()) {
    if (type.empty()) type = path == "medicationReference" ? "Medication" : "Patient";
    out.assign(type).append("?identifier=");
    if (!id_system.empty()) out.append(id_system).append("|");
    out.append(id_value);
    found = true;
  }
  return true;
}

bool Walker::PeriodStart(od::value value, std::string_view path, DateField& start) {
  return Fields(value, path, [&](std::string_view key, od::value v) {
    return key == "start" ? Date(v, start) : true;
  });
}

bool Walker::QuantityValue(od::value value, std::string_view path, Quantity& quantity) {
  std::string_view unit, code;
  bool ok = Fields(value, path, [&](std::string_view key, od::value v) {
    quantity.present = true;
    if (key == "value") return Number(v, path, quantity.value);
    if (key == "unit") return String(v, path, unit);
    if (key == "code") return String(v, path, code);
    return true;
  });
  quantity.unit = code.empty() ? unit : code;
  return ok;
}

bool Walker::ComponentList(od::value value) {
  return Elements(value, "component", [&](size_t, od::value element) {
    Component component;
    bool ok = Fields(element, "component", [&](std::string_view key, od::value v) {
      if (key == "code") return Concept(v, "component.code", component.codes);
      if (key == "valueQuantity") {
        return QuantityValue(v, "component.valueQuantity", component.quantity);
      }
      return true;
    });
    if (ok && component.quantity.present && !component.codes.empty()) {
      s_.components.push_back(std::move(component));
    }
    return ok;
  });
}

bool Walker::ContainedList(od::value value) {
  return Elements(value, "contained", [&](size_t, od::value element) {
    ContainedMedication medication;
    std::string_view resource_type;
    bool ok = Fields(element, "contained", [&](std::string_view key, od::value v) {
      if (key == "resourceType") return String(v, "contained", resource_type);
      if (key == "id") return String(v, "contained", medication.id);
      if (key == "code") return Concept(v, "contained.code", medication.codes);
      return true;
    });
    if (ok && resource_type == "Medication" && !medication.id.empty()) {
      s_.contained.push_back(std::move(medication));
    }
    return ok;
  });
}

bool Walker::SupplyDuration(od::value value) {
  std::string_view unit, code;
  bool ok = Fields(value, "expectedSupplyDuration", [&](std::string_view key, od::value v) {
    if (key == "value") return Number(v, "expectedSupplyDuration", s_.supply_value);
    if (key == "unit") return String(v, "expectedSupplyDuration", unit);
    if (key == "code") return String(v, "expectedSupplyDuration", code);
    return true;
  });
  s_.supply_unit = code.empty() ? unit : code;
  return ok;
}

bool Walker::VerificationStatus(od::value value) {
  std::vector<MappedCode> codes;
  if (!Concept(value, "verificationStatus", codes)) return false;
  for (const auto& code : codes) {
    if (code.code == "entered-in-error") s_.verification_entered_in_error = true;
  }
  return true;
}

bool Walker::PatientField(std::string_view key, od::value value) {
  if (key == "identifier") return Identifiers(value);
  if (key == "gender") {
    std::string_view gender;
    if (!String(value, "gender", gender)) return false;
    out_.patient.sex = domain::SexFromName(gender).value_or(domain::Sex::kUnknown);
    return true;
  }
  if (key == "birthDate") return Date(value, s_.birth);
  if (key == "deceasedDateTime") return Date(value, s_.death);
  if (key == "deceasedBoolean") {
    od::json_type type;
    if (!TypeOf(value, type)) return false;
    if (type == od::json_type::null) return true;
    if (type != od::json_type::boolean) return Mismatch(value, type, "deceasedBoolean");
    // true or false, the death date comes from deceasedDateTime only.
    return Scalar(value, type);
  }
  if (key == "address") return Address(value);
  if (key == "extension") return Extensions(value);
  if (key == "generalPractitioner") return GeneralPractitioners(value);
  return true;
}

bool Walker::Identifiers(od::value value) {
  return Elements(value, "identifier", [&](size_t, od::value element) {
    std::string_view system, text;
    bool ok = Fields(element, "identifier", [&](std::string_view key, od::value v) {
      if (key == "system") return String(v, "identifier.system", system);
      if (key == "value") return String(v, "identifier.value", text);
      return true;
    });
    if (!ok) return false;
    for (size_t rank = 0; rank < kNirSystems.size(); ++rank) {
      if (system != kNirSystems[rank]) continue;
      if (s_.nir_rank >= 0 && static_cast<size_t>(s_.nir_rank) <= rank) break;
      std::string nir = NormaliseNir(text);
      if (nir.empty()) break;
      out_.patient.nir = std::move(nir);
      s_.nir_rank = static_cast<int>(rank);
    }
    return true;
  });
}

// The first address only: its postal code, when the country is France or not given (a
// foreign postal code would otherwise be read as a département).
bool Walker::Address(od::value value) {
  return Elements(value, "address", [&](size_t index, od::value element) {
    if (index > 0) return true;
    std::string_view postal_code, country;
    bool ok = Fields(element, "address", [&](std::string_view key, od::value v) {
      if (key == "postalCode") return String(v, "address.postalCode", postal_code);
      if (key == "country") return String(v, "address.country", country);
      return true;
    });
    if (!ok) return false;
    bool france = country.empty() || country == "FR" || country == "FRA" || country == "fr" ||
                  country == "France" || country == "FRANCE" || country == "france";
    if (!france) return true;
    if (auto departement = domain::DepartementOfPostalCode(postal_code)) {
      out_.patient.departement.assign(*departement);
    }
    return true;
  });
}

bool Walker::Extensions(od::value value) {
  return Elements(value, "extension",
                  [&](size_t, od::value element) { return Registration(element); });
}

// One top-level Patient extension; only the practice-registration one is read. Its dates
// are auxiliary: one that cannot be read is left as kNoDate.
bool Walker::Registration(od::value value) {
  std::string_view url;
  MappedRegistration registration;
  bool ok = Fields(value, "extension", [&](std::string_view key, od::value v) {
    if (key == "url") return String(v, "extension.url", url);
    if (key != "extension") return true;
    return Elements(v, "extension.extension", [&](size_t, od::value sub) {
      std::string_view sub_url;
      DateField start, end;
      std::string reference;
      bool ok_sub = Fields(sub, "extension.extension", [&](std::string_view k, od::value sv) {
        if (k == "url") return String(sv, "extension.extension.url", sub_url);
        if (k == "valueReference") {
          bool found;
          return Reference(sv, "extension.valueReference", reference, found);
        }
        if (k == "valuePeriod") {
          return Fields(sv, "extension.valuePeriod", [&](std::string_view pk, od::value pv) {
            if (pk == "start") return Date(pv, start);
            if (pk == "end") return Date(pv, end);
            return true;
          });
        }
        return true;
      });
      if (!ok_sub) return false;
      if (sub_url == "practice") registration.practice_reference = std::move(reference);
      if (sub_url == "period") {
        if (start.state == DateField::State::kText) {
          auto day = ParisDay(start.text);
          if (day.ok()) registration.start = *day;
        }
        if (end.state == DateField::State::kText) {
          auto day = ParisDay(end.text);
          if (day.ok()) registration.end = *day;
        }
      }
      return true;
    });
  });
  if (!ok) return false;
  if (url == kRegistrationUrl) out_.patient.registrations.push_back(std::move(registration));
  return true;
}

bool Walker::GeneralPractitioners(od::value value) {
  return Elements(value, "generalPractitioner", [&](size_t, od::value element) {
    if (s_.practitioner_seen) return true;
    bool found = false;
    if (!Reference(element, "generalPractitioner", out_.patient.general_practitioner, found)) {
      return false;
    }
    s_.practitioner_seen = found;
    return true;
  });
}

bool Walker::UsableDay(const DateField& date, std::string_view name, Days& day) {
  if (date.state == DateField::State::kWrongType) {
    Problem(QuarantineReason::kWrongType, name);
    return false;
  }
  auto parsed = ParisDay(date.text);
  if (!parsed.ok()) {
    Problem(QuarantineReason::kNoUsableDate, name);
    return false;
  }
  if (ToYearMonthDay(*parsed).year < 1900) {
    Problem(QuarantineReason::kDateBefore1900, name);
    return false;
  }
  if (*parsed > options_.today) {
    Problem(QuarantineReason::kDateInFuture, name);
    return false;
  }
  day = *parsed;
  return true;
}

// The event date from the first candidate present, in the order of the mapping table. A
// candidate that is present but unusable is a problem: no later candidate replaces it.
// nullopt with no problem: a Condition to be dated by its encounter.
std::optional<Days> Walker::EventDate() {
  struct Candidate {
    const DateField* field;
    std::string_view name;
  };
  std::array<Candidate, 3> candidates{};
  switch (type_) {
    case Type::kEncounter: candidates[0] = {&s_.first, "period.start"}; break;
    case Type::kCondition:
      candidates = {{{&s_.first, "onsetDateTime"},
                     {&s_.second, "onsetPeriod.start"},
                     {&s_.third, "recordedDate"}}};
      break;
    case Type::kObservation:
      candidates = {{{&s_.first, "effectiveDateTime"},
                     {&s_.second, "effectivePeriod.start"},
                     {&s_.third, "issued"}}};
      break;
    case Type::kMedicationRequest: candidates[0] = {&s_.first, "authoredOn"}; break;
    case Type::kMedicationDispense: candidates[0] = {&s_.first, "whenHandedOver"}; break;
    case Type::kImmunization: candidates[0] = {&s_.first, "occurrenceDateTime"}; break;
    case Type::kProcedure:
      candidates = {{{&s_.first, "performedDateTime"}, {&s_.second, "performedPeriod.start"}}};
      break;
    default: break;
  }
  for (const auto& candidate : candidates) {
    if (candidate.field == nullptr) break;
    if (candidate.field->state == DateField::State::kAbsent) continue;
    Days day = kNoDate;
    if (!UsableDay(*candidate.field, candidate.name, day)) return std::nullopt;
    return day;
  }
  if (type_ == Type::kCondition && !out_.encounter_reference.empty()) return std::nullopt;
  Problem(QuarantineReason::kNoUsableDate, candidates[0].name);
  return std::nullopt;
}

// Days in one unit of an expectedSupplyDuration (UCUM code or unit as written), 0 if unknown.
double SupplyUnitDays(std::string_view unit) {
  if (unit == "d" || unit == "day" || unit == "days") return 1;
  if (unit == "wk" || unit == "week" || unit == "weeks") return 7;
  if (unit == "mo" || unit == "month" || unit == "months") return 30;
  if (unit == "a" || unit == "year" || unit == "years") return 365;
  if (unit == "h" || unit == "hour" || unit == "hours") return 1.0 / 24;
  return 0;
}

void Walker::FinishClinical() {
  if (!s_.has_subject) {
    Problem(QuarantineReason::kNoSubject, type_ == Type::kImmunization ? "patient" : "subject");
  }
  std::optional<Days> date = EventDate();
  if (has_problem_) return;
  bool dated_by_encounter = !date.has_value();
  if (!dated_by_encounter) out_.encounter_reference.clear();
  if (!out_.medication_reference.empty() && out_.medication_reference[0] == '#') {
    std::string_view local = std::string_view(out_.medication_reference).substr(1);
    for (auto& medication : s_.contained) {
      if (medication.id != local) continue;
      s_.codes = std::move(medication.codes);
      out_.medication_reference.clear();
      break;
    }
  }
  MappedEvent event;
  event.domain = DomainOf(type_);
  event.date = date.value_or(kNoDate);
  event.codes = std::move(s_.codes);
  if (type_ == Type::kObservation && s_.quantity.present) {
    event.domain = domain::Domain::kMeasurement;
  }
  if (s_.quantity.present) {
    event.value = s_.quantity.value;
    event.unit.assign(s_.quantity.unit);
  }
  double unit_days = SupplyUnitDays(s_.supply_unit);
  double supply_days = s_.supply_value * unit_days;
  if (type_ == Type::kMedicationRequest && date && unit_days > 0 && supply_days >= 0 &&
      supply_days <= kSupplyDaysMax) {
    event.end_date = *date + static_cast<Days>(std::lround(supply_days));
  }
  out_.events.push_back(std::move(event));
  for (auto& component : s_.components) {
    MappedEvent extra;
    extra.domain = domain::Domain::kMeasurement;
    extra.date = date.value_or(kNoDate);
    extra.codes = std::move(component.codes);
    extra.value = component.quantity.value;
    extra.unit.assign(component.quantity.unit);
    out_.events.push_back(std::move(extra));
  }
  out_.kind = MappedKind::kEvents;
}

void Walker::FinishPatient() {
  MappedPatient& patient = out_.patient;
  if (s_.birth.state == DateField::State::kWrongType) {
    Problem(QuarantineReason::kWrongType, "birthDate");
  } else if (s_.birth.state == DateField::State::kText) {
    auto birth = ParseBirthDate(s_.birth.text);
    if (!birth) {
      Problem(QuarantineReason::kNoUsableDate, "birthDate");
    } else if (birth->year < 1900) {
      Problem(QuarantineReason::kDateBefore1900, "birthDate");
    } else if (birth->first_day > options_.today) {
      Problem(QuarantineReason::kDateInFuture, "birthDate");
    } else {
      patient.birth_year = birth->year;
      patient.birth_month = birth->month;
    }
  }
  // A partial deceasedDateTime ("2020") says the patient died, not when: no death date.
  bool partial_death = s_.death.state == DateField::State::kText && s_.death.text.size() < 10;
  if (s_.death.state != DateField::State::kAbsent && !partial_death) {
    Days day = kNoDate;
    if (UsableDay(s_.death, "deceasedDateTime", day)) patient.death = day;
  }
  if (!has_problem_) out_.kind = MappedKind::kPatient;
}

void Walker::Finish() {
  if (type_ == Type::kOther) {
    out_.kind = MappedKind::kSkipped;
    return;
  }
  if (s_.status == "entered-in-error" || s_.verification_entered_in_error) {
    out_.kind = MappedKind::kEnteredInError;
  } else if (type_ == Type::kPatient) {
    FinishPatient();
  } else if (type_ == Type::kOrganization) {
    if (!has_problem_) out_.kind = MappedKind::kOrganization;
  } else if (type_ == Type::kMedication) {
    if (!has_problem_) out_.kind = MappedKind::kMedication;
  } else {
    FinishClinical();
  }
  if (out_.kind == MappedKind::kEnteredInError || !has_problem_) return;
  out_.kind = MappedKind::kQuarantined;
  out_.reason = problem_;
  out_.reason_detail = std::move(problem_detail_);
}

// Keeps only what a quarantined record may say about itself.
// Empties `out` but keeps the capacity of its strings and vectors, so that a mapper
// reusing one MappedResource per slot does not allocate for every record.
void Reset(MappedResource& out, bool keep_header) {
  out.kind = MappedKind::kSkipped;
  if (!keep_header) {
    out.resource_type.clear();
    out.id.clear();
    out.version.clear();
  }
  out.last_updated = kNoDate;
  out.subject_reference.clear();
  out.encounter_reference.clear();
  out.medication_reference.clear();
  out.events.clear();
  MappedPatient& p = out.patient;
  p.nir.clear();
  p.sex = domain::Sex::kUnknown;
  p.birth_year = 0;
  p.birth_month = 0;
  p.death = kNoDate;
  p.departement.clear();
  p.registrations.clear();
  p.general_practitioner.clear();
  out.organization_name.clear();
  out.medication_codes.clear();
  out.reason = QuarantineReason::kInvalidJson;
  out.reason_detail.clear();
}

// Keeps only the resource type, id and version, with the reason.
void Quarantine(MappedResource& out, QuarantineReason reason, std::string_view detail) {
  std::string detail_copy(detail);  // `detail` may point into out.reason_detail
  Reset(out, /*keep_header=*/true);
  out.kind = MappedKind::kQuarantined;
  out.reason = reason;
  out.reason_detail = std::move(detail_copy);
}

// Nesting depth of JSON text (outside strings), to bound the recursion of nlohmann's DOM.
size_t JsonDepth(std::string_view json) {
  size_t depth = 0, depth_max = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      depth_max = std::max(depth_max, ++depth);
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return depth_max;
}

constexpr size_t kStripDepthMax = 256;

// Keys dropped at any depth: names, contact points, free text, photos and attachments.
bool IsDroppedKey(const std::string& key) {
  static constexpr std::array<std::string_view, 11> kDropped = {
      "name",    "telecom",     "text",          "note",          "photo",  "attachment",
      "content", "valueString", "valueMarkdown", "presentedForm", "comment"};
  for (std::string_view dropped : kDropped) {
    if (key == dropped) return true;
  }
  return false;
}

void StripObject(nlohmann::json& object, std::vector<nlohmann::json*>& pending) {
  for (auto it = object.begin(); it != object.end();) {
    if (IsDroppedKey(it.key())) {
      it = object.erase(it);
    } else {
      ++it;
    }
  }
  // `display` of a Reference can hold a patient's or practitioner's name; a Coding's
  // display (an object with a system or code) is a code's label and stays.
  if (object.contains("display") && !object.contains("code") && !object.contains("system")) {
    object.erase("display");
  }
  for (std::string_view address_key : {"address", "valueAddress"}) {
    auto it = object.find(std::string(address_key));
    if (it == object.end()) continue;
    auto keep_only = [](nlohmann::json& address) {
      if (!address.is_object()) return;
      nlohmann::json kept = nlohmann::json::object();
      for (const char* key : {"postalCode", "country"}) {
        if (address.contains(key)) kept[key] = std::move(address[key]);
      }
      address = std::move(kept);
    };
    if (it->is_array()) {
      for (auto& address : *it) keep_only(address);
    } else {
      keep_only(*it);
    }
  }
  for (auto& [key, value] : object.items()) {
    if (value.is_structured()) pending.push_back(&value);
  }
}

// Whether a document that is one scalar is valid JSON, with nothing after it.
bool IsValidRootScalar(od::document& doc, od::json_type type) {
  simdjson::error_code e = simdjson::SUCCESS;
  if (type == od::json_type::boolean) {
    bool b;
    e = doc.get_bool().get(b);
  } else if (type == od::json_type::number) {
    double d;
    e = doc.get_double().get(d);
  } else if (type == od::json_type::null) {
    bool is_null = false;
    e = doc.is_null().get(is_null);
    if (!e && !is_null) e = simdjson::N_ATOM_ERROR;
  } else if (type == od::json_type::string) {
    std::string_view text;
    e = doc.get_string().get(text);
  }
  const char* trailing = nullptr;
  return !e && doc.current_location().get(trailing) != simdjson::SUCCESS;
}

}  // namespace

std::string_view QuarantineReasonName(QuarantineReason reason) {
  static constexpr std::array<std::string_view, kQuarantineReasonCount> kNames = {
      "invalid_json",   "no_subject", "unresolvable_subject", "no_usable_date", "date_before_1900",
      "date_in_future", "wrong_type", "no_resource_type",     "too_large"};
  auto index = static_cast<size_t>(reason);
  return index < kNames.size() ? kNames[index] : "unknown";
}

struct FhirMapper::Impl {
  MapperOptions options;
  od::parser parser;
  std::unique_ptr<char[]> buffer;  // the input, copied with simdjson's padding
  size_t buffer_bytes = 0;

  // Copies `json` into the padded buffer, growing it when needed.
  simdjson::padded_string_view Pad(std::string_view json) {
    size_t needed = json.size() + simdjson::SIMDJSON_PADDING;
    if (needed > buffer_bytes) {
      buffer_bytes = std::max(needed, buffer_bytes * 2);
      buffer = std::make_unique<char[]>(buffer_bytes);
    }
    std::memcpy(buffer.get(), json.data(), json.size());
    std::memset(buffer.get() + json.size(), 0, simdjson::SIMDJSON_PADDING);
    return simdjson::padded_string_view(buffer.get(), json.size(), buffer_bytes);
  }
};

FhirMapper::FhirMapper(MapperOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
}

FhirMapper::~FhirMapper() = default;

MappedResource FhirMapper::Map(std::string_view json, bool padded) {
  MappedResource out;
  Map(json, padded, out);
  return out;
}

void FhirMapper::Map(std::string_view json, bool padded, MappedResource& out) {
  Reset(out, /*keep_header=*/false);
  if (json.size() > kResourceBytesMax) {
    Quarantine(out, QuarantineReason::kTooLarge, "");
    return;
  }
  od::document doc;
  simdjson::padded_string_view input =
      padded ? simdjson::padded_string_view(json.data(), json.size(),
                                            json.size() + simdjson::SIMDJSON_PADDING)
             : impl_->Pad(json);
  if (impl_->parser.iterate(input).get(doc)) {
    Quarantine(out, QuarantineReason::kInvalidJson, "");
    return;
  }
  od::json_type root_type;
  if (doc.type().get(root_type)) {
    Quarantine(out, QuarantineReason::kInvalidJson, "");
    return;
  }
  if (root_type != od::json_type::object) {
    // An array or a valid scalar is JSON but not a resource.
    bool valid = root_type == od::json_type::array || IsValidRootScalar(doc, root_type);
    Quarantine(out, valid ? QuarantineReason::kNoResourceType : QuarantineReason::kInvalidJson, "");
    return;
  }
  od::object resource;
  if (doc.get_object().get(resource)) {
    Quarantine(out, QuarantineReason::kInvalidJson, "");
    return;
  }
  std::string_view resource_type;
  auto type_error = resource.find_field_unordered("resourceType").get_string().get(resource_type);
  if (!type_error) out.resource_type.assign(resource_type);
  bool rewound = false;
  if (resource.reset().get(rewound)) {
    Quarantine(out, QuarantineReason::kInvalidJson, "");
    return;
  }
  Walker walker(TypeOf(out.resource_type), out, impl_->options);
  const char* trailing = nullptr;
  if (!walker.WalkResource(resource) || !doc.current_location().get(trailing)) {
    // A JSON error in what was read, or text after the resource.
    Quarantine(out, QuarantineReason::kInvalidJson, "");
    return;
  }
  if (out.resource_type.empty()) {
    Quarantine(out, QuarantineReason::kNoResourceType, "resourceType");
    return;
  }
  walker.Finish();
  if (out.kind == MappedKind::kQuarantined) {
    Quarantine(out, out.reason, std::string(out.reason_detail));
  }
  return;
}

std::string FhirMapper::StripForQuarantine(std::string_view json) {
  if (JsonDepth(json) > kStripDepthMax) return "";
  try {
    nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return "";
    std::vector<nlohmann::json*> pending = {&doc};
    while (!pending.empty()) {
      nlohmann::json* node = pending.back();
      pending.pop_back();
      if (node->is_object()) {
        StripObject(*node, pending);
      } else if (node->is_array()) {
        for (auto& element : *node) {
          if (element.is_structured()) pending.push_back(&element);
        }
      }
    }
    return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } catch (const std::exception&) {
    return "";
  }
}

Result<Days> ParisDay(std::string_view text) {
  if (text.size() < 10) {
    return Status::InvalidArgument("not a full date (a year or year-month only, or malformed)");
  }
  if (text[4] != '-' || text[7] != '-' || !AllDigits(text.substr(0, 4)) ||
      !AllDigits(text.substr(5, 2)) || !AllDigits(text.substr(8, 2))) {
    return Status::InvalidArgument("malformed date: expected YYYY-MM-DD");
  }
  int year = Digits(text.substr(0, 4)), month = Digits(text.substr(5, 2));
  int day = Digits(text.substr(8, 2));
  if (!IsValidDate(year, month, day)) return Status::InvalidArgument("no such calendar day");
  Days days = ToDays({year, month, day});
  if (text.size() == 10) return days;
  // hh:mm[:ss[.fraction]] then Z, +hh:mm, -hh:mm or nothing (local Paris time).
  std::string_view rest = text.substr(10);
  auto bad_time = [] { return Status::InvalidArgument("malformed time in a dateTime"); };
  if (rest.size() < 6 || rest[0] != 'T' || rest[3] != ':' || !AllDigits(rest.substr(1, 2)) ||
      !AllDigits(rest.substr(4, 2))) {
    return bad_time();
  }
  int hour = Digits(rest.substr(1, 2)), minute = Digits(rest.substr(4, 2));
  if (hour > 23 || minute > 59) return bad_time();
  rest.remove_prefix(6);
  if (!rest.empty() && rest[0] == ':') {
    if (rest.size() < 3 || !AllDigits(rest.substr(1, 2)) || Digits(rest.substr(1, 2)) > 60) {
      return bad_time();
    }
    rest.remove_prefix(3);
    if (!rest.empty() && rest[0] == '.') {
      size_t n = 1;
      while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
      if (n == 1) return bad_time();
      rest.remove_prefix(n);
    }
  }
  if (rest.empty()) return days;
  int offset_minutes = 0;
  if (rest != "Z") {
    if (rest.size() != 6 || (rest[0] != '+' && rest[0] != '-') || rest[3] != ':' ||
        !AllDigits(rest.substr(1, 2)) || !AllDigits(rest.substr(4, 2))) {
      return Status::InvalidArgument("malformed time zone in a dateTime");
    }
    int hours = Digits(rest.substr(1, 2)), minutes = Digits(rest.substr(4, 2));
    if (hours > 23 || minutes > 59) {
      return Status::InvalidArgument("malformed time zone in a dateTime");
    }
    offset_minutes = (rest[0] == '-' ? -1 : 1) * (hours * 60 + minutes);
  }
  int64_t utc = int64_t{days} * 1440 + hour * 60 + minute - offset_minutes;
  int64_t paris = utc + (IsEuSummerTime(utc) ? 120 : 60);
  return static_cast<Days>(FloorDiv(paris, 1440));
}

std::string NormaliseNir(std::string_view text) {
  std::string nir;
  nir.reserve(15);
  for (char c : text) {
    if (c == ' ' || c == '\t') continue;
    if (nir.size() == 15) return "";
    nir.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return domain::IsValidNir(nir) ? nir : "";
}

uint64_t CodeHash(std::string_view system, std::string_view code) {
  // The code's hash seeded with the system's: no buffer needed.
  return XXH3_64bits_withSeed(code.data(), code.size(), XXH3_64bits(system.data(), system.size()));
}

}  // namespace p4dp::ingest
