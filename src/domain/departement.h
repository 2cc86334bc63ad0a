// The 101 French départements (96 metropolitan including 2A/2B, 5 overseas), their region
// and population, and the postal-code rules that map an address to its département.
// The table is static data; every function is pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace p4dp::domain {

struct Region {
  std::string_view code;  // INSEE region code, "84" (Auvergne-Rhône-Alpes), "01" (Guadeloupe)
  std::string_view name;
};

struct Departement {
  std::string_view code;         // INSEE code: "01".."95" (no "20"), "2A", "2B", "971".."976"
  std::string_view name;         // "Ain"
  std::string_view region_code;  // INSEE region code
  int32_t population;            // INSEE legal population (see docs/sources.md for the year)
};

// All 101, ordered by code ("01", "02", ..., "19", "2A", "2B", "21", ..., "976").
std::span<const Departement> AllDepartements();
// The 18 regions, ordered by code.
std::span<const Region> AllRegions();

// nullptr if `code` is not a département code.
const Departement* FindDepartement(std::string_view code);
const Region* FindRegion(std::string_view code);

// The département of a five-digit French postal code, by the rule of the FHIR mapping:
// 97x → three digits ("97411" → "974"); 20xxx → "2A" for 200–201 and "2B" for 202–206;
// otherwise the first two digits. nullopt for anything that is not five digits naming an
// existing département (including "00xxx", "96xxx", "98xxx" and "99xxx").
std::optional<std::string_view> DepartementOfPostalCode(std::string_view postal_code);

}  // namespace p4dp::domain
