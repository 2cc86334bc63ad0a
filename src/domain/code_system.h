// Code systems: the short aliases users write (`icd10`, `atc`, ...) and the FHIR URIs that
// identify them in data, and whether a system is hierarchical by prefix. Static data;
// thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace p4dp::domain {

enum class CodeSystem : uint8_t {
  kIcd10,  // CIM-10 (French ICD-10)
  kIcpc2,  // CISP-2 (ICPC-2)
  kAtc,    // WHO ATC
  kCip13,  // French drug presentation code (13 digits)
  kUcd,    // French dispensing unit code
  kLoinc,
  kCcam,  // French procedure classification
  kNabm,  // French lab test nomenclature
  kSnomed,
  kRxnorm,
  kCvx,
};

struct CodeSystemInfo {
  CodeSystem system;
  std::string_view alias;       // "icd10"
  std::string_view uri;         // the URI p4dp writes
  bool hierarchical_by_prefix;  // descendants are the codes that start with a code
};

std::span<const CodeSystemInfo> AllCodeSystems();
const CodeSystemInfo& InfoOf(CodeSystem system);
// Accepts an alias or any URI known for the system (several URIs are in use for some).
std::optional<CodeSystem> CodeSystemFromName(std::string_view alias_or_uri);

}  // namespace p4dp::domain
