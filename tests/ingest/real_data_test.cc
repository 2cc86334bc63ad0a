// Maps every record of the real FHIR data kept beside the project (../shared/data/fhir:
// Synthea Bundles and a Synthea Bulk Data export, foreign data with US codes and addresses):
// nothing may crash, every record gets a kind, Patients give a birth year and a sex, and the
// clinical types mostly give events coded in SNOMED CT, LOINC, RxNorm or CVX. Prints the
// counts by type and kind.
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <string>

#include "ingest/fhir_mapper.h"
#include "ingest/reader.h"

namespace p4dp::ingest {
namespace {

std::string_view KindName(MappedKind kind) {
  switch (kind) {
    case MappedKind::kEvents: return "events";
    case MappedKind::kPatient: return "patient";
    case MappedKind::kOrganization: return "organization";
    case MappedKind::kMedication: return "medication";
    case MappedKind::kEnteredInError: return "entered_in_error";
    case MappedKind::kSkipped: return "skipped";
    case MappedKind::kQuarantined: return "quarantined";
  }
  return "?";
}

struct TypeCounts {
  std::map<std::string, int64_t> kinds;  // kind name (or "quarantined:reason") -> records
  int64_t records = 0;
  int64_t events = 0;
  int64_t with_expected_code = 0;  // records with an event coded in the expected system
};

TEST(RealData, SyntheaMapsWithoutLoss) {
  std::string root = std::string(P4DP_SOURCE_DIR) + "/../shared/data/fhir";
  if (!std::filesystem::exists(root)) GTEST_SKIP() << "no shared data at " << root;
  auto files = ListInputFiles({root});
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ASSERT_GT(files->size(), 10u);

  const std::map<std::string, std::set<std::string>> expected_systems = {
      {"Condition", {"snomed"}}, {"Observation", {"loinc"}}, {"MedicationRequest", {"rxnorm"}},
      {"Encounter", {"snomed"}}, {"Immunization", {"cvx"}},  {"Procedure", {"snomed"}}};

  FhirMapper mapper({.today = ToDays({2026, 1, 1})});
  std::map<std::string, TypeCounts> by_type;
  int64_t patients = 0, patients_complete = 0, too_large = 0;
  for (const std::string& file : *files) {
    Status status = ReadRecords(file, [&](const RawRecord& record) {
      if (record.too_large) {
        ++too_large;
        return;
      }
      MappedResource r = mapper.Map(record.json);
      std::string type = r.resource_type.empty() ? "(none)" : r.resource_type;
      TypeCounts& counts = by_type[type];
      ++counts.records;
      std::string kind(KindName(r.kind));
      if (r.kind == MappedKind::kQuarantined) {
        kind += ":" + std::string(QuarantineReasonName(r.reason)) + ":" + r.reason_detail;
      }
      ++counts.kinds[kind];
      counts.events += static_cast<int64_t>(r.events.size());
      if (r.kind == MappedKind::kPatient) {
        ++patients;
        if (r.patient.birth_year > 1900 && r.patient.sex != domain::Sex::kUnknown) {
          ++patients_complete;
        }
        EXPECT_EQ(r.patient.departement, "") << "US postal codes are not départements";
      }
      auto expected = expected_systems.find(type);
      if (expected != expected_systems.end() && r.kind == MappedKind::kEvents) {
        bool found = false;
        for (const auto& event : r.events) {
          EXPECT_NE(event.date, kNoDate) << type << " " << r.id;
          for (const auto& code : event.codes) found |= expected->second.count(code.system) > 0;
        }
        counts.with_expected_code += found;
      }
    });
    EXPECT_TRUE(status.ok()) << status.ToString();
  }
  EXPECT_EQ(too_large, 0);

  std::cout << "records by resource type and kind (" << files->size() << " files):\n";
  for (const auto& [type, counts] : by_type) {
    std::cout << "  " << type << ": " << counts.records << " records, " << counts.events
              << " events";
    for (const auto& [kind, n] : counts.kinds) std::cout << ", " << kind << " " << n;
    std::cout << "\n";
  }

  EXPECT_GE(patients, 35);  // 25 Bundles and 10 Bulk Data patients
  EXPECT_EQ(patients_complete, patients);
  for (const auto& [type, systems] : expected_systems) {
    const TypeCounts& counts = by_type[type];
    ASSERT_GT(counts.records, 0) << type;
    int64_t events = counts.kinds.count("events") ? counts.kinds.at("events") : 0;
    EXPECT_GE(events * 100, counts.records * 95) << type << ": too few mapped";
    EXPECT_GE(counts.with_expected_code * 100, events * 95) << type << ": too few coded";
  }
}

}  // namespace
}  // namespace p4dp::ingest
