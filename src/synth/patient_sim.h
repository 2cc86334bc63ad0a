// Simulation of one synthetic patient's life over the period and its FHIR resources,
// appended to a ChunkOutput. A patient's randomness comes only from (seed, patient number),
// so chunks can be simulated in any order on any thread and give the same bytes.
// A ChunkOutput is filled by one thread at a time.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "synth/catalogue.h"
#include "synth/synth.h"
#include "synth/world.h"

namespace p4dp::synth {

enum class ResourceType : uint8_t {
  kPatient,
  kOrganization,
  kEncounter,
  kCondition,
  kObservation,
  kMedicationRequest,
  kImmunization,
  kProcedure,
};
inline constexpr int kResourceTypeCount = 8;
std::string_view ResourceTypeName(ResourceType type);

// The ways --defects corrupts a clinical record (see docs/synth.md).
enum class DefectKind : uint8_t {
  kInvalidJson,
  kMissingSubject,
  kUnknownCodeSystem,
  kImpossibleDate,
  kWrongType,
};
inline constexpr int kDefectKindCount = 5;
std::string_view DefectKindName(DefectKind kind);

struct DefectRecord {
  ResourceType type;
  int64_t line_in_chunk;  // 0-based line within this chunk's text for the type
  std::string resource_id;
  DefectKind kind;
};

// What one chunk of patients produced, and the counts the truth files need.
struct ChunkOutput {
  std::array<std::string, kResourceTypeCount> text;
  std::array<int64_t, kResourceTypeCount> lines{};
  std::vector<DefectRecord> defects;
  std::vector<int64_t> outbreak_cases;  // one per World::outbreaks()
  int64_t adults = 0;                   // born at least 18 years before the period's end
  std::array<int64_t, kConditionCount> adults_with_condition{};
  int64_t patients = 0;
  int64_t deaths = 0;
};

// Simulates patient number `index` and appends its resources to `out`.
void SimulatePatient(const World& world, const SynthOptions& options, int64_t index,
                     ChunkOutput& out);

// Writes the Organization resource of a practice.
void WritePractice(const Practice& practice, ChunkOutput& out);

// Corrupts the last line of `text` (which ends with '\n') in the given way; returns false
// if this kind does not apply to the line (the caller then picks another).
bool ApplyDefect(DefectKind kind, std::string& text, size_t line_start);

}  // namespace p4dp::synth
