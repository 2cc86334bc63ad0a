// Must show 3 and 4 of the foundation issue, on 10,000 patients (seed 7): every line is a
// FHIR R4 resource of its file's type with its required elements, every reference resolves,
// codes exist in the French nomenclatures, every patient has a valid NIR and a postal code
// of its département, summary.json matches the files; and the population looks French: age
// and sex pyramid, adult prevalence of chronic conditions, influenza seasons, outbreaks.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "base/file_system.h"
#include "domain/departement.h"
#include "domain/patient.h"
#include "synth/synth.h"
#include "synth_test_util.h"

namespace p4dp::synth::testing {
namespace {

using nlohmann::json;

constexpr Days kFrom = 17'897;  // 2019-01-01
constexpr Days kTo = 20'088;    // 2024-12-31

struct Registration {
  std::string practice;
  Days start = 0;
  Days end = kTo;
};

struct PatientRow {
  bool male = false;
  Days birth = 0;
  int birth_year = 0, birth_month = 0;
  Days death = kTo + 1;
  std::vector<Registration> registrations;
};

struct Case {
  std::string patient;
  Days day;
};

// Everything the tests need, read once from the generated files.
struct Population {
  std::string load_error;  // set when the population could not be generated or read
  std::string dir;
  json summary;
  std::map<std::string, int64_t> lines;                     // by resource type
  std::vector<std::string> problems;                        // validity failures
  std::map<std::string, PatientRow> patients;               // by id
  std::map<std::string, std::string> practice_departement;  // by Organization id
  std::map<std::string, std::vector<Case>> cases_by_icd10;  // Conditions by code
  std::map<std::string, std::set<std::string>> patients_by_icd10;
};

Population* population = nullptr;

void Problem(Population& p, const std::string& where, const std::string& what) {
  if (p.problems.size() < 50) p.problems.push_back(where + ": " + what);
}

// FHIR R4 date and dateTime, as the specification's regular expressions say, plus a real
// calendar day.
bool ValidFhirDate(const json& v, bool allow_time) {
  if (!v.is_string()) return false;
  static const std::regex kDate(R"(^\d{4}-\d{2}-\d{2}$)");
  static const std::regex kDateTime(
      R"(^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?(Z|(\+|-)((0\d|1[0-3]):[0-5]\d|14:00))$)");
  const std::string s = v.get<std::string>();
  if (!std::regex_match(s, kDate) && !(allow_time && std::regex_match(s, kDateTime))) {
    return false;
  }
  return ParseIsoDate(s).ok();
}

Days DayOf(const json& v) { return *ParseIsoDate(v.get<std::string>()); }

std::set<std::string> ReadColumn(const std::string& path, char sep, size_t column) {
  std::set<std::string> values;
  ForEachLine(path, [&](int64_t n, const std::string& line) {
    if (n == 1) return;
    std::vector<std::string> fields;
    std::string field;
    std::istringstream s(line);
    while (std::getline(s, field, sep)) fields.push_back(field);
    if (fields.size() <= column) return;
    std::string v = fields[column];
    v.erase(std::remove(v.begin(), v.end(), '"'), v.end());
    values.insert(v);
  });
  return values;
}

struct Nomenclatures {
  std::set<std::string> cim10 = ReadColumn(SharedData() + "/codes/cim10/IR_CIM_V.csv", ';', 0);
  std::set<std::string> ccam = ReadColumn(SharedData() + "/codes/ccam/IR_CCAM_V63.csv", ';', 0);
  std::map<std::string, std::string> cip7_class = [] {
    std::map<std::string, std::string> m;
    ForEachLine(SharedData() + "/codes/cip/IR_CIP_V.csv", [&](int64_t n, const std::string& l) {
      if (n == 1) return;
      auto semi = l.find(';');
      auto semi2 = l.find(';', semi + 1);
      m[l.substr(0, semi)] = l.substr(semi + 1, semi2 - semi - 1);
    });
    return m;
  }();
};

bool ValidEan13(const std::string& code) {
  if (code.size() != 13) return false;
  int sum = 0;
  for (size_t i = 0; i < 12; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(code[i]))) return false;
    sum += (code[i] - '0') * (i % 2 == 0 ? 1 : 3);
  }
  return (10 - sum % 10) % 10 == code[12] - '0';
}

void CheckCodings(Population& p, const Nomenclatures& n, const std::string& where,
                  const json& codeable) {
  if (!codeable.is_object() || !codeable.contains("coding") || !codeable["coding"].is_array() ||
      codeable["coding"].empty()) {
    Problem(p, where, "no coding");
    return;
  }
  std::string atc;
  for (const json& c : codeable["coding"]) {
    if (!c.contains("system") || !c.contains("code") || !c["code"].is_string()) {
      Problem(p, where, "coding without system or code");
      continue;
    }
    std::string system = c["system"], code = c["code"];
    if (system == "http://hl7.org/fhir/sid/icd-10-fr" && !n.cim10.count(code)) {
      Problem(p, where, "CIM-10 code not in IR_CIM_V: " + code);
    }
    if (system == "urn:oid:1.2.250.1.213.2.5" && !n.ccam.count(code)) {
      Problem(p, where, "CCAM code not in IR_CCAM_V63: " + code);
    }
    if (system == "http://www.whocc.no/atc") atc = code;
    if (system == "urn:oid:1.2.250.1.213.2.3.1") {
      auto it = n.cip7_class.find(code.substr(5, 7));
      if (!ValidEan13(code) || code.substr(0, 5) != "34009" || it == n.cip7_class.end()) {
        Problem(p, where, "CIP13 not a valid code of IR_CIP_V: " + code);
      } else if (!atc.empty() && it->second != atc.substr(0, 3)) {
        Problem(p, where, "CIP13 of class " + it->second + " for ATC " + atc);
      }
    }
  }
}

std::string RefId(const json& ref, const std::string& type) {
  if (!ref.is_object() || !ref.contains("reference") || !ref["reference"].is_string()) return "";
  std::string r = ref["reference"];
  if (r.rfind(type + "/", 0) != 0) return "";
  return r.substr(type.size() + 1);
}

void ReadPatient(Population& p, const std::string& where, const json& r) {
  PatientRow row;
  std::string id = r.value("id", "");
  if (!r.contains("gender") || (r["gender"] != "male" && r["gender"] != "female")) {
    Problem(p, where, "gender");
  }
  row.male = r.value("gender", "") == "male";
  if (!ValidFhirDate(r["birthDate"], false)) return Problem(p, where, "birthDate");
  row.birth = DayOf(r["birthDate"]);
  YearMonthDay ymd = ToYearMonthDay(row.birth);
  row.birth_year = ymd.year;
  row.birth_month = ymd.month;
  if (r.contains("deceasedDateTime")) {
    if (!ValidFhirDate(r["deceasedDateTime"], true)) return Problem(p, where, "deceased");
    row.death = DayOf(r["deceasedDateTime"]);
  }
  std::string nir;
  for (const json& ident : r["identifier"]) {
    if (ident.value("system", "") == "urn:oid:1.2.250.1.213.1.4.8") nir = ident.value("value", "");
  }
  if (!domain::IsValidNir(nir)) Problem(p, where, "NIR with a wrong key or format");
  if (nir.size() == 15 && (nir[0] == '1') != row.male) Problem(p, where, "NIR sex digit");
  char yymm[8];
  std::snprintf(yymm, sizeof yymm, "%02d%02d", row.birth_year % 100, row.birth_month);
  if (nir.substr(1, 4) != yymm) Problem(p, where, "NIR birth year and month");
  for (const json& ext : r["extension"]) {
    Registration reg;
    for (const json& part : ext["extension"]) {
      if (part["url"] == "practice") reg.practice = RefId(part["valueReference"], "Organization");
      if (part["url"] == "period") {
        reg.start = DayOf(part["valuePeriod"]["start"]);
        if (part["valuePeriod"].contains("end")) reg.end = DayOf(part["valuePeriod"]["end"]);
      }
    }
    if (!p.practice_departement.count(reg.practice)) Problem(p, where, "registration practice");
    row.registrations.push_back(reg);
  }
  if (row.registrations.empty()) Problem(p, where, "no registration");
  std::string postal = r["address"][0].value("postalCode", "");
  auto dep = domain::DepartementOfPostalCode(postal);
  if (!dep) return Problem(p, where, "postal code of no département: " + postal);
  std::string gp = RefId(r["generalPractitioner"][0], "Organization");
  if (!p.practice_departement.count(gp) || p.practice_departement[gp] != *dep) {
    Problem(p, where, "postal code outside the département of the patient's practice");
  }
  p.patients[id] = row;
}

// Checks one clinical resource: its required elements, subject, encounter and dates.
void ReadClinical(Population& p, const Nomenclatures& n, const std::string& type,
                  const std::string& where, const json& r, std::set<std::string>& encounters) {
  std::string subject = RefId(r.contains("patient") ? r["patient"] : r["subject"], "Patient");
  if (!p.patients.count(subject)) Problem(p, where, "subject does not resolve");
  // Condition has no status in R4; its clinical status stands for it.
  std::string status_field = type == "Condition" ? "clinicalStatus" : "status";
  if (!r.contains(status_field)) Problem(p, where, "no " + status_field);
  if (r.contains("encounter") && !encounters.count(RefId(r["encounter"], "Encounter"))) {
    Problem(p, where, "encounter does not resolve");
  }
  static const std::map<std::string, std::pair<std::string, std::string>> kDateAndCode = {
      {"Encounter", {"", "type"}},
      {"Condition", {"recordedDate", "code"}},
      {"Observation", {"effectiveDateTime", "code"}},
      {"MedicationRequest", {"authoredOn", "medicationCodeableConcept"}},
      {"Immunization", {"occurrenceDateTime", "vaccineCode"}},
      {"Procedure", {"performedDateTime", "code"}}};
  const auto& [date_field, code_field] = kDateAndCode.at(type);
  json date = type == "Encounter" ? r["period"]["start"] : r[date_field];
  if (!ValidFhirDate(date, true)) return Problem(p, where, "clinical date");
  Days day = DayOf(date);
  if (day < kFrom || day > kTo) Problem(p, where, "date outside the period");
  const PatientRow& patient = p.patients[subject];
  if (day < patient.birth || day > patient.death) Problem(p, where, "date outside the life");
  if (type == "Encounter") {
    if (!r.contains("class")) Problem(p, where, "no class");
    if (!p.practice_departement.count(RefId(r["serviceProvider"], "Organization"))) {
      Problem(p, where, "serviceProvider does not resolve");
    }
    encounters.insert(r.value("id", ""));
    for (const json& t : r["type"]) CheckCodings(p, n, where, t);
    return;
  }
  CheckCodings(p, n, where, r[code_field]);
  if (type == "MedicationRequest" && (!r.contains("intent") || !r.contains("subject"))) {
    Problem(p, where, "MedicationRequest without intent or subject");
  }
  if (type == "Observation") {
    bool has_value = r.contains("valueQuantity") && r["valueQuantity"]["value"].is_number();
    bool has_components = r.contains("component") && r["component"].size() == 2 &&
                          r["component"][0]["valueQuantity"]["value"].is_number();
    if (!has_value && !has_components) Problem(p, where, "Observation without a value");
  }
  if (type == "Condition") {
    if (r.contains("onsetDateTime") &&
        (!ValidFhirDate(r["onsetDateTime"], true) || DayOf(r["onsetDateTime"]) < patient.birth ||
         DayOf(r["onsetDateTime"]) > day)) {
      Problem(p, where, "onsetDateTime");
    }
    for (const json& c : r["code"]["coding"]) {
      if (c["system"] == "http://hl7.org/fhir/sid/icd-10-fr") {
        p.cases_by_icd10[c["code"]].push_back({subject, day});
        p.patients_by_icd10[c["code"]].insert(subject);
      }
    }
  }
}

Population* Load() {
  auto* p = new Population;
  p->dir = FreshDir("population_10k_seed7");
  SynthOptions options;
  options.patients = 10'000;
  options.seed = 7;
  options.out_dir = p->dir;
  auto result = GenerateSyntheticPopulation(options, RealFileSystem());
  if (!result.ok()) {
    p->load_error = "synth failed: " + result.status().ToString();
    return p;
  }
  p->summary = json::parse(ReadFile(p->dir + "/truth/summary.json"), nullptr, false);
  if (p->summary.is_discarded()) {
    p->load_error = "truth/summary.json is not JSON";
    return p;
  }
  Nomenclatures n;
  std::set<std::string> encounters;
  // Practices first, then patients, then what refers to them.
  for (std::string type : {"Organization", "Patient", "Encounter", "Condition", "Observation",
                           "MedicationRequest", "Immunization", "Procedure"}) {
    ForEachLine(p->dir + "/" + type + ".ndjson", [&](int64_t line, const std::string& text) {
      ++p->lines[type];
      std::string where = type + ".ndjson:" + std::to_string(line);
      json r = json::parse(text, nullptr, false);
      if (r.is_discarded()) return Problem(*p, where, "not JSON");
      if (r.value("resourceType", "") != type) return Problem(*p, where, "resourceType");
      static const std::regex kId(R"(^[A-Za-z0-9\-\.]{1,64}$)");
      if (!r.contains("id") || !std::regex_match(r.value("id", ""), kId)) {
        return Problem(*p, where, "id");
      }
      if (type == "Organization") {
        auto dep = domain::DepartementOfPostalCode(r["address"][0].value("postalCode", ""));
        if (!dep || !r.contains("name")) return Problem(*p, where, "practice postal code");
        p->practice_departement[r["id"]] = std::string(*dep);
      } else if (type == "Patient") {
        ReadPatient(*p, where, r);
      } else {
        ReadClinical(*p, n, type, where, r, encounters);
      }
    });
  }
  return p;
}

class SynthPopulation : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (population != nullptr) return;
    try {
      population = Load();
    } catch (const std::exception& e) {
      population = new Population;
      population->load_error = std::string("exception while loading: ") + e.what();
    }
  }
  // A failure to load fails every test (gtest would report a throwing SetUpTestSuite as a
  // skip, which must not pass for success).
  void SetUp() override { ASSERT_EQ(population->load_error, "") << "population not loaded"; }
  const Population& pop() { return *population; }
};

TEST_F(SynthPopulation, EveryLineIsAValidResourceWhoseReferencesResolve) {
  for (const auto& problem : pop().problems) ADD_FAILURE() << problem;
  EXPECT_EQ(pop().lines.at("Patient"), 10'000);
  EXPECT_GT(pop().lines.at("Encounter"), 100'000);
}

TEST_F(SynthPopulation, SummaryMatchesTheFiles) {
  const json& s = pop().summary;
  for (const std::string& type : ResourceTypes()) {
    EXPECT_EQ(s["resources"][type].get<int64_t>(), pop().lines.at(type)) << type;
  }
  EXPECT_EQ(s["patients"].get<int64_t>(), 10'000);
  int64_t deaths = 0, adults = 0;
  for (const auto& [id, row] : pop().patients) {
    deaths += row.death <= kTo;
    adults += AgeInYears(row.birth_year, row.birth_month, kTo) >= 18;
  }
  EXPECT_EQ(s["deaths"].get<int64_t>(), deaths);
  EXPECT_EQ(s["adults"].get<int64_t>(), adults);
  for (const auto& [key, row] : s["adult_prevalence"].items()) {
    int64_t cases = 0;
    auto it = pop().patients_by_icd10.find(row["icd10"]);
    if (it != pop().patients_by_icd10.end()) {
      for (const auto& id : it->second) {
        const PatientRow& pr = pop().patients.at(id);
        cases += AgeInYears(pr.birth_year, pr.birth_month, kTo) >= 18;
      }
    }
    EXPECT_EQ(row["adults_with_diagnosis"].get<int64_t>(), cases) << key;
  }
}

// INSEE, population on 1 January 2024 by sex and 10-year band (percent of the total):
// the reference the generator must reproduce (see docs/sources.md).
constexpr double kInseeMale[10] = {5.53, 6.21, 5.62, 5.93, 6.13, 6.34, 5.75, 4.39, 1.98, 0.39};
constexpr double kInseeFemale[10] = {5.28, 5.93, 5.56, 6.16, 6.30, 6.62, 6.33, 5.24, 2.93, 0.99};

TEST_F(SynthPopulation, AgeAndSexPyramidIsTheFrenchOneWithinTwoPoints) {
  double count[2][10] = {};
  double total = 0;
  for (const auto& [id, row] : pop().patients) {
    if (row.birth >= kFrom) continue;  // born during the period
    YearMonthDay b = ToYearMonthDay(row.birth), f = ToYearMonthDay(kFrom);
    int age = f.year - b.year - ((f.month < b.month || (f.month == b.month && f.day < b.day)));
    count[row.male ? 0 : 1][std::min(age / 10, 9)] += 1;
    total += 1;
  }
  double insee_total = 0;
  for (int b = 0; b < 10; ++b) insee_total += kInseeMale[b] + kInseeFemale[b];
  for (int b = 0; b < 10; ++b) {
    double male = 100 * count[0][b] / total, female = 100 * count[1][b] / total;
    EXPECT_NEAR(male, 100 * kInseeMale[b] / insee_total, 2.0) << "men, band " << b * 10;
    EXPECT_NEAR(female, 100 * kInseeFemale[b] / insee_total, 2.0) << "women, band " << b * 10;
  }
}

// Published adult prevalence ranges in France (percent); sources in docs/sources.md.
struct PublishedRange {
  const char* key;
  const char* icd10;
  double min_percent, max_percent;
};
constexpr PublishedRange kPublished[] = {
    {"hypertension", "I10", 20, 35},
    {"type2_diabetes", "E119", 5, 9},
    {"dyslipidaemia", "E785", 10, 25},
    {"asthma", "J459", 5, 8},
    {"copd", "J449", 3, 8},
    {"depression", "F329", 8, 15},
    {"hypothyroidism", "E039", 3, 6},
    {"atrial_fibrillation", "I489", 1, 3},
    {"chronic_kidney_disease", "N183", 4, 10},
};

TEST_F(SynthPopulation, AdultPrevalenceOfChronicConditionsIsInThePublishedRange) {
  int64_t adults = 0;
  for (const auto& [id, row] : pop().patients) {
    adults += AgeInYears(row.birth_year, row.birth_month, kTo) >= 18;
  }
  for (const PublishedRange& r : kPublished) {
    int64_t cases = 0;
    for (const auto& id : pop().patients_by_icd10.at(r.icd10)) {
      const PatientRow& pr = pop().patients.at(id);
      cases += AgeInYears(pr.birth_year, pr.birth_month, kTo) >= 18;
    }
    double percent = 100.0 * static_cast<double>(cases) / static_cast<double>(adults);
    EXPECT_GE(percent, r.min_percent) << r.key;
    EXPECT_LE(percent, r.max_percent) << r.key;
  }
}

// Patients registered (and alive) on a day.
int64_t Registered(const Population& p, Days day) {
  int64_t n = 0;
  for (const auto& [id, row] : p.patients) {
    if (day > row.death || day < row.birth) continue;
    for (const auto& reg : row.registrations) {
      if (reg.start <= day && day <= reg.end) {
        ++n;
        break;
      }
    }
  }
  return n;
}

TEST_F(SynthPopulation, InfluenzaPeaksInWinterEverySeasonWithVaryingTiming) {
  const Days monday0 = kFrom - IsoWeekday(kFrom);
  std::map<int, int64_t> cases;  // by week index
  for (const Case& c : pop().cases_by_icd10.at("J111")) ++cases[(c.day - monday0) / 7];
  std::set<int> peak_weeks;
  for (int season = 2019; season <= 2023; ++season) {
    Days first = ToDays({season, 9, 1}), last = ToDays({season + 1, 6, 30});
    double peak = 0;
    Days peak_monday = 0;
    for (int w = (first - monday0) / 7; w <= (last - monday0) / 7; ++w) {
      Days monday = monday0 + 7 * w;
      double incidence =
          1e5 * static_cast<double>(cases[w]) / static_cast<double>(Registered(pop(), monday + 3));
      if (incidence > peak) {
        peak = incidence;
        peak_monday = monday;
      }
    }
    std::printf("ILI season %d-%d: peak %.0f per 100,000 in %s\n", season, season + 1, peak,
                FormatIsoWeek(ToIsoWeek(peak_monday)).c_str());
    SCOPED_TRACE("season " + std::to_string(season) + ", peak week of " +
                 FormatIsoDate(peak_monday));
    EXPECT_GE(peak_monday + 6, ToDays({season, 12, 1}));
    EXPECT_LE(peak_monday, ToDays({season + 1, 3, 31}));
    EXPECT_GE(peak, 300);
    EXPECT_LE(peak, 1500);
    peak_weeks.insert(ToIsoWeek(peak_monday).week);
  }
  EXPECT_GE(peak_weeks.size(), 3u) << "peak weeks should differ across seasons";
}

TEST_F(SynthPopulation, EachInjectedOutbreakShowsAsExtraCasesInItsDepartementAndWindow) {
  static const std::map<std::string, std::string> kIcd10 = {
      {"ili", "J111"},     {"gastro", "A099"},        {"varicella", "B019"},
      {"measles", "B059"}, {"bronchiolitis", "J219"}, {"covid", "U071"}};
  int outbreaks = 0;
  ForEachLine(pop().dir + "/truth/outbreaks.csv", [&](int64_t n, const std::string& line) {
    if (n == 1) return;
    std::vector<std::string> f;
    std::string field;
    std::istringstream s(line);
    while (std::getline(s, field, ',')) f.push_back(field);
    ASSERT_EQ(f.size(), 5u) << line;
    ++outbreaks;
    Days first = *ParseIsoDate(f[2]), last = *ParseIsoDate(f[3]);
    int64_t extra = std::stoll(f[4]);
    // Cases of the indicator among residents of the département within [a, b].
    auto count = [&](Days a, Days b) {
      int64_t k = 0;
      for (const Case& c : pop().cases_by_icd10.at(kIcd10.at(f[0]))) {
        if (c.day < a || c.day > b) continue;
        for (const auto& reg : pop().patients.at(c.patient).registrations) {
          if (reg.start <= c.day && c.day <= reg.end &&
              pop().practice_departement.at(reg.practice) == f[1]) {
            ++k;
            break;
          }
        }
      }
      return k;
    };
    int64_t observed = count(first, last);
    // Expected without the outbreak: the same window in the other years (whole weeks).
    double baseline = 0;
    int years = 0;
    for (int k = -6; k <= 6; ++k) {
      Days a = first + 364 * k, b = last + 364 * k;
      if (k == 0 || a < kFrom || b > kTo) continue;
      baseline += static_cast<double>(count(a, b));
      ++years;
    }
    baseline /= std::max(1, years);
    std::printf("outbreak %s: observed %lld, baseline %.1f, extra %lld\n", line.c_str(),
                static_cast<long long>(observed), baseline, static_cast<long long>(extra));
    SCOPED_TRACE(line + ": observed " + std::to_string(observed) + ", baseline " +
                 std::to_string(baseline));
    EXPECT_GE(extra, 5);
    EXPECT_GE(static_cast<double>(observed) - baseline, 0.5 * static_cast<double>(extra));
    EXPECT_GE(observed, extra);
  });
  EXPECT_GE(outbreaks, 6);
}

}  // namespace
}  // namespace p4dp::synth::testing
