#include "domain/code_system.h"

#include <array>

#include "base/assert.h"

namespace p4dp::domain {
namespace {

constexpr std::array<CodeSystemInfo, 11> kSystems = {{
    {CodeSystem::kIcd10, "icd10", "http://hl7.org/fhir/sid/icd-10-fr", true},
    {CodeSystem::kIcpc2, "icpc2", "http://hl7.org/fhir/sid/icpc-2", true},
    {CodeSystem::kAtc, "atc", "http://www.whocc.no/atc", true},
    {CodeSystem::kCip13, "cip13", "urn:oid:1.2.250.1.213.2.3.1", false},
    {CodeSystem::kUcd, "ucd", "urn:oid:1.2.250.1.213.2.3.2", false},
    {CodeSystem::kLoinc, "loinc", "http://loinc.org", false},
    {CodeSystem::kCcam, "ccam", "urn:oid:1.2.250.1.213.2.5", true},
    {CodeSystem::kNabm, "nabm", "urn:oid:1.2.250.1.213.2.12", false},
    {CodeSystem::kSnomed, "snomed", "http://snomed.info/sct", false},
    {CodeSystem::kRxnorm, "rxnorm", "http://www.nlm.nih.gov/research/umls/rxnorm", false},
    {CodeSystem::kCvx, "cvx", "http://hl7.org/fhir/sid/cvx", false},
}};

struct OtherUri {
  std::string_view uri;
  CodeSystem system;
};

// Other URIs seen in French and international data for the same systems.
constexpr std::array<OtherUri, 6> kOtherUris = {{
    {"http://hl7.org/fhir/sid/icd-10", CodeSystem::kIcd10},
    {"urn:oid:2.16.840.1.113883.6.3", CodeSystem::kIcd10},
    {"https://smt.esante.gouv.fr/terminologie-cim-10/", CodeSystem::kIcd10},
    {"urn:oid:2.16.840.1.113883.6.139", CodeSystem::kIcpc2},
    {"urn:oid:2.16.840.1.113883.6.73", CodeSystem::kAtc},
    {"urn:oid:2.16.840.1.113883.6.1", CodeSystem::kLoinc},
}};

}  // namespace

std::span<const CodeSystemInfo> AllCodeSystems() { return kSystems; }

const CodeSystemInfo& InfoOf(CodeSystem system) {
  auto i = static_cast<size_t>(system);
  P4DP_ASSERT(i < kSystems.size());
  return kSystems[i];
}

std::optional<CodeSystem> CodeSystemFromName(std::string_view alias_or_uri) {
  for (const auto& info : kSystems) {
    if (info.alias == alias_or_uri || info.uri == alias_or_uri) return info.system;
  }
  for (const auto& other : kOtherUris) {
    if (other.uri == alias_or_uri) return other.system;
  }
  return std::nullopt;
}

}  // namespace p4dp::domain
