// The pseudonymised patient and event as the warehouse stores them, and the INS/NIR key
// check. No type here holds a source identifier: a NIR exists only as text inside ingest/
// (and the synthetic generator); downstream code sees PatientKey or PatientIndex. Plain
// values; thread-safe to share once built.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/date.h"

namespace p4dp::domain {

// Keyed hash (HMAC-SHA-256) of a patient's national identifier or (source, local id).
struct PatientKey {
  std::array<uint8_t, 32> bytes{};
  bool operator==(const PatientKey&) const = default;
  auto operator<=>(const PatientKey&) const = default;
  std::string ToHex() const;
};

// Dense number of a patient inside one warehouse (0..patients-1).
using PatientIndex = uint32_t;

enum class Sex : uint8_t { kUnknown, kFemale, kMale, kOther };
std::string_view SexName(Sex sex);  // "female", "male", "other", "unknown"
std::optional<Sex> SexFromName(std::string_view name);

enum class Domain : uint8_t {
  kVisit,
  kCondition,
  kDrug,
  kMeasurement,
  kObservation,
  kProcedure,
  kImmunization,
  kDispensing,
  kHospitalStay,
  kDeath,
};
inline constexpr int kDomainCount = 10;
std::string_view DomainName(Domain domain);  // "visit", ..., "hospital_stay", "death"
std::optional<Domain> DomainFromName(std::string_view name);

// INS/NIR: 13 characters (digits, or 2A/2B in positions 6-7 for Corsica) followed by a
// two-digit key equal to 97 - (number mod 97), with 2A read as 19 and 2B as 18.
// Returns the key of the first 13 characters, or nullopt if they are malformed.
std::optional<int> NirKey(std::string_view first13);
// True if `nir` has 15 characters whose last two are the key of the first 13.
bool IsValidNir(std::string_view nir);

}  // namespace p4dp::domain
