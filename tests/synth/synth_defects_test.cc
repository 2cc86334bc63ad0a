// Must show 5 of the foundation issue: `--defects 0.01` corrupts about 1 % of the clinical
// records, each in one of the listed ways, and truth/defects.csv says which and how; every
// other line stays intact.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "base/date.h"
#include "synth_test_util.h"

namespace p4dp::synth::testing {
namespace {

using nlohmann::json;

const std::set<std::string> kKnownSystems = {"http://hl7.org/fhir/sid/icpc-2",
                                             "http://hl7.org/fhir/sid/icd-10-fr",
                                             "http://www.whocc.no/atc",
                                             "urn:oid:1.2.250.1.213.2.3.1",
                                             "http://loinc.org",
                                             "http://snomed.info/sct",
                                             "http://hl7.org/fhir/sid/cvx",
                                             "urn:oid:1.2.250.1.213.2.5"};

const std::map<std::string, std::string> kDateField = {
    {"Encounter", "period.start"},          {"Condition", ""},
    {"Observation", "effectiveDateTime"},   {"MedicationRequest", "authoredOn"},
    {"Immunization", "occurrenceDateTime"}, {"Procedure", "performedDateTime"}};

// The clinical date value of a resource (Condition: onset, else recorded date).
json ClinicalDate(const std::string& type, const json& r) {
  if (type == "Encounter") return r.contains("period") ? r["period"]["start"] : json();
  if (type == "Condition")
    return r.contains("onsetDateTime") ? r["onsetDateTime"] : r["recordedDate"];
  std::string field = kDateField.at(type);
  return r.contains(field) ? r[field] : json();
}

int KnownCodings(const json& j) {
  int n = 0;
  if (j.is_object()) {
    if (j.contains("system") && j.contains("code") && j["system"].is_string() &&
        kKnownSystems.count(j["system"])) {
      ++n;
    }
    for (const auto& [k, v] : j.items()) n += KnownCodings(v);
  } else if (j.is_array()) {
    for (const auto& v : j) n += KnownCodings(v);
  }
  return n;
}

bool HasSubject(const json& r) {
  return (r.contains("subject") && r["subject"].contains("reference")) ||
         (r.contains("patient") && r["patient"].contains("reference"));
}

// Whether a line is intact: parses, has a subject, a known coding and a real date.
bool Intact(const std::string& type, const std::string& line) {
  json r = json::parse(line, nullptr, false);
  if (r.is_discarded() || !HasSubject(r) || KnownCodings(r) == 0) return false;
  json date = ClinicalDate(type, r);
  return date.is_string() && ParseIsoDate(date.get<std::string>()).ok();
}

TEST(SynthDefects, AboutOnePercentOfClinicalRecordsAreCorruptedInTheListedWays) {
  std::string dir = FreshDir("defects");
  ASSERT_EQ(
      RunCommand(P4dpBinary() + " synth --quiet --patients 3000 --seed 5 --defects 0.01 --out " +
                 dir + " > /dev/null"),
      0);
  // file -> line -> kind
  std::map<std::string, std::map<int64_t, std::string>> listed;
  std::map<std::string, int> by_kind;
  ForEachLine(dir + "/truth/defects.csv", [&](int64_t n, const std::string& line) {
    if (n == 1) {
      EXPECT_EQ(line, "file,line,resource_id,kind");
      return;
    }
    std::vector<std::string> f;
    std::string field;
    std::istringstream s(line);
    while (std::getline(s, field, ',')) f.push_back(field);
    ASSERT_EQ(f.size(), 4u) << line;
    listed[f[0]][std::stoll(f[1])] = f[3];
    ++by_kind[f[3]];
  });
  int64_t clinical = 0, corrupted = 0;
  for (const auto& [type, field] : kDateField) {
    std::string file = type + ".ndjson";
    ForEachLine(dir + "/" + file, [&](int64_t n, const std::string& line) {
      ++clinical;
      auto it = listed[file].find(n);
      if (it == listed[file].end()) {
        EXPECT_TRUE(Intact(type, line)) << file << ":" << n << " is damaged but not listed";
        return;
      }
      ++corrupted;
      const std::string& kind = it->second;
      json r = json::parse(line, nullptr, false);
      SCOPED_TRACE(file + ":" + std::to_string(n) + " " + kind);
      if (kind == "invalid_json") {
        EXPECT_TRUE(r.is_discarded());
        return;
      }
      ASSERT_FALSE(r.is_discarded());
      EXPECT_EQ(r["resourceType"], type);
      if (kind == "missing_subject") {
        EXPECT_FALSE(HasSubject(r));
      } else if (kind == "unknown_code_system") {
        EXPECT_EQ(KnownCodings(r), 0);
        EXPECT_NE(line.find("urn:p4dp:unknown-code-system"), std::string::npos);
      } else if (kind == "impossible_date") {
        json date = ClinicalDate(type, r);
        ASSERT_TRUE(date.is_string());
        EXPECT_FALSE(ParseIsoDate(date.get<std::string>()).ok());
      } else if (kind == "wrong_type") {
        EXPECT_TRUE(ClinicalDate(type, r).is_number());
      } else {
        ADD_FAILURE() << "unknown defect kind";
      }
    });
  }
  int64_t total_listed = 0;
  for (const auto& [file, lines] : listed) total_listed += static_cast<int64_t>(lines.size());
  EXPECT_EQ(corrupted, total_listed) << "every listed line exists in a clinical file";
  double rate = static_cast<double>(corrupted) / static_cast<double>(clinical);
  EXPECT_GT(rate, 0.008);
  EXPECT_LT(rate, 0.012);
  for (const char* kind : {"invalid_json", "missing_subject", "unknown_code_system",
                           "impossible_date", "wrong_type"}) {
    EXPECT_GT(by_kind[kind], static_cast<int>(corrupted / 10)) << kind;
  }
  // Patients and practices are never corrupted: the rest of the data can refer to them.
  ForEachLine(dir + "/Patient.ndjson", [&](int64_t n, const std::string& line) {
    EXPECT_FALSE(json::parse(line, nullptr, false).is_discarded()) << "Patient " << n;
  });
}

}  // namespace
}  // namespace p4dp::synth::testing
