// The cohort engine on a small hand-made population whose answers are worked out by hand
// in the comments: entry first/all, between, prior observation, windows before, after and
// around the index, at_least/at_most and absence, value filters, age at the birthday
// month's edge, sex, département, all/any/not, descendants (dots ignored), exclusions,
// patients without events, empty results, attrition, the patient list and small cells.
#include "query/engine.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <string>

#include "query/cohort.h"
#include "store/catalog.h"
#include "store/index.h"

namespace p4dp::query {
namespace {

using domain::Domain;

Days D(int y, int m, int d) { return ToDays({y, m, d}); }

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // One folder per test: CTest runs the tests of this file in parallel.
    std::string dir = std::string(P4DP_BINARY_DIR) + "/test-tmp/engine_" +
                      ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    auto created = store::Catalog::Create(dir + "/catalog.db");
    ASSERT_TRUE(created.ok());
    catalog_ = std::move(created).value();
    ASSERT_TRUE(catalog_->Begin().ok());
    // Patient 1: woman born 1960-06, Calvados (14), registered since 2015, T2D on
    // 2020-03-10 (E11.9) and again 2021-01-05 (E11), metformin 2020-03-20 and 2020-09-01,
    // HbA1c 7.5 on 2020-02-01 and 6.5 on 2020-03-01.
    Patient(1, domain::Sex::kFemale, 1960, 6, "14", {{0, D(2015, 1, 1), store::kNoDay}});
    Event(1, D(2020, 3, 10), Domain::kCondition, "icd10", "E11.9");
    Event(1, D(2021, 1, 5), Domain::kCondition, "icd10", "E11");
    Event(1, D(2020, 3, 20), Domain::kDrug, "atc", "A10BA02");
    Event(1, D(2020, 9, 1), Domain::kDrug, "atc", "A10BA02");
    Event(1, D(2020, 2, 1), Domain::kMeasurement, "loinc", "4548-4", 7.5);
    Event(1, D(2020, 3, 1), Domain::kMeasurement, "loinc", "4548-4", 6.5);
    // Patient 2: man born 1980-01, Paris (75), registered 2019-06-01 to 2019-12-31 and again
    // from 2020-01-01 (continuous), T2D 2020-03-01 (E119), insulin 2019-12-01.
    Patient(2, domain::Sex::kMale, 1980, 1, "75",
            {{0, D(2019, 6, 1), D(2019, 12, 31)}, {0, D(2020, 1, 1), store::kNoDay}});
    Event(2, D(2020, 3, 1), Domain::kCondition, "icd10", "E119");
    Event(2, D(2019, 12, 1), Domain::kDrug, "atc", "A10AB01");
    // Patient 3: woman born 1990-12, Rouen (76), never registered, hypertension only
    // (I10 on 2020-05-05) and a T2D code excluded below (E11.0 on 2022-02-02).
    Patient(3, domain::Sex::kFemale, 1990, 12, "76", {});
    Event(3, D(2020, 5, 5), Domain::kCondition, "icd10", "I10");
    Event(3, D(2022, 2, 2), Domain::kCondition, "icd10", "E11.0");
    // Patient 4: a row and no events at all.
    Patient(4, domain::Sex::kMale, 1950, 3, "2A", {{0, D(2010, 1, 1), store::kNoDay}});
    // Patient 5: events without a Patient row (sex unknown, no age), T2D 2023-07-07.
    Event(5, D(2023, 7, 7), Domain::kCondition, "icd10", "E11.8");
    ASSERT_TRUE(catalog_->Commit().ok());
    index_.Apply(batch_);
    Load(loaded_, batch_);
  }

  // What the warehouse does at its first read: versions judged first, then the events loaded
  // and laid out, with posting lists (Index::KindPostings) that the engine reads instead of
  // each patient's group table.
  static void Load(store::Index& index, const store::Batch& batch) {
    index.Apply(batch);
    index.AddEventsOf(batch);
    index.EndEventsLoad();
  }

  void Patient(uint8_t n, domain::Sex sex, int year, int month, const char* dep,
               std::vector<store::Registration> registrations) {
    store::PatientRecord r;
    r.key = Key(n);
    r.resource_key = 1000 + n;
    r.version = {1, 1, n};
    r.sex = sex;
    r.birth_year = static_cast<int16_t>(year);
    r.birth_month = static_cast<int8_t>(month);
    r.departement = dep;
    r.registrations = std::move(registrations);
    batch_.patients.push_back(r);
  }

  void Event(uint8_t n, Days date, Domain domain, const char* system, const char* code,
             double value = std::numeric_limits<double>::quiet_NaN()) {
    uint64_t rk = 100'000 + ++events_;
    store::ResourceRecord res;
    res.resource_key = rk;
    res.version = {1, 1, rk};
    res.patient = Key(n);
    batch_.resources.push_back(res);
    store::EventRecord e;
    e.patient = Key(n);
    e.date = date;
    e.domain = domain;
    e.codes = {*catalog_->CodeId(system, code)};
    e.value = value;
    e.resource_key = rk;
    e.content_hash = rk;
    batch_.events.push_back(e);
  }

  static domain::PatientKey Key(uint8_t n) {
    domain::PatientKey k;
    k.bytes.fill(n);
    return k;
  }

  // Runs the cohort on index_ (built by Apply: every patient read through its group table)
  // and checks that the loaded copy (read through posting lists) gives the same result.
  CohortResult Run(const std::string& json, bool members = false, Perimeter perimeter = {}) {
    auto cohort = ParseCohort(json);
    EXPECT_TRUE(cohort.ok()) << cohort.status().ToString();
    RunOptions options;
    options.with_members = members;
    options.threads = 2;
    options.perimeter = std::move(perimeter);
    CohortResult result = RunCohort(*cohort, index_, *catalog_, options);
    ExpectSame(RunCohort(*cohort, loaded_, *catalog_, options), result, json);
    return result;
  }

  static void ExpectSame(const CohortResult& got, const CohortResult& want,
                         const std::string& json) {
    EXPECT_EQ(got.count, want.count) << json;
    ASSERT_EQ(got.attrition.size(), want.attrition.size()) << json;
    for (size_t k = 0; k < want.attrition.size(); ++k) {
      EXPECT_EQ(got.attrition[k].patients, want.attrition[k].patients) << json << " row " << k;
    }
    ASSERT_EQ(got.members.size(), want.members.size()) << json;
    for (size_t m = 0; m < want.members.size(); ++m) {
      EXPECT_EQ(got.members[m].key, want.members[m].key) << json;
      EXPECT_EQ(got.members[m].index_date, want.members[m].index_date) << json;
    }
  }

  int64_t Count(const std::string& json, Perimeter perimeter = {}) {
    return Run(json, false, std::move(perimeter)).count;
  }

  // The PatientIndex of patient n (the same in index_ and loaded_: both applied batch_).
  domain::PatientIndex IndexOf(uint8_t n) const {
    auto i = index_.Find(Key(n));
    EXPECT_TRUE(i.has_value());
    EXPECT_EQ(loaded_.Find(Key(n)), i);
    return i.value_or(0);
  }

  std::unique_ptr<store::Catalog> catalog_;
  store::Batch batch_;
  store::Index index_;
  store::Index loaded_{/*with_events=*/false};
  uint64_t events_ = 0;
};

constexpr const char* kT2d =
    R"("codesets": {"t2d": [{"system": "icd10", "code": "E11", "descendants": true},
                            {"system": "icd10", "code": "E11.0", "exclude": true}],
                    "met": [{"system": "atc", "code": "A10BA02"}],
                    "ins": [{"system": "atc", "code": "A10A", "descendants": true}],
                    "a1c": [{"system": "loinc", "code": "4548-4"}]},)";

std::string With(const std::string& rest) { return "{" + std::string(kT2d) + rest + "}"; }

TEST_F(EngineTest, EntryFirstAllBetweenAndPriorObservation) {
  // T2D (E11 and descendants, dots ignored, E11.0 excluded): patients 1, 2, 5 (3's E11.0 is
  // excluded).
  EXPECT_EQ(Count(With(R"("entry": {"domain": "condition", "codeset": "t2d"})")), 3);
  // Without a domain: the same codes in any domain.
  EXPECT_EQ(Count(With(R"("entry": {"codeset": "t2d"})")), 3);
  // First occurrence then between 2021: patient 1's first is 2020-03-10, so nobody; with
  // "all", patient 1's 2021-01-05 counts.
  EXPECT_EQ(Count(With(R"("entry": {"codeset": "t2d", "between": ["2021-01-01", "2021-12-31"]})")),
            0);
  EXPECT_EQ(Count(With(R"("entry": {"codeset": "t2d", "occurrence": "all",
                                    "between": ["2021-01-01", "2021-12-31"]})")),
            1);
  // Prior observation at the first T2D: patient 1 registered since 2015; patient 2 since
  // 2019-06-01 without a break (two registrations that touch), and 2019-06-01..2020-03-01
  // is 275 days inclusive; patient 5 has no row, so is never observed.
  EXPECT_EQ(Count(With(R"("entry": {"codeset": "t2d", "prior_observation_days": 365})")), 1);
  EXPECT_EQ(Count(With(R"("entry": {"codeset": "t2d", "prior_observation_days": 275})")), 2);
  EXPECT_EQ(Count(With(R"("entry": {"codeset": "t2d", "prior_observation_days": 276})")), 1);
  // Any event of any kind: the four patients with events (4 has none).
  EXPECT_EQ(Count(R"({"entry": {}})"), 4);
}

TEST_F(EngineTest, WindowsCountsAndValues) {
  const std::string entry = R"("entry": {"domain": "condition", "codeset": "t2d"},)";
  // Metformin within [0, 90] days after the first T2D: patient 1 (10 days after).
  EXPECT_EQ(Count(With(entry + R"("inclusion": [{"events": {"codeset": "met",
                                   "window": [0, 90]}}])")),
            1);
  // At least two metformin events at any time: patient 1; at least three: nobody.
  EXPECT_EQ(Count(With(entry + R"("inclusion": [{"events": {"codeset": "met", "at_least": 2}}])")),
            1);
  EXPECT_EQ(Count(With(entry + R"("inclusion": [{"events": {"codeset": "met", "at_least": 3}}])")),
            0);
  // No insulin in the year before: patient 2 had insulin 91 days before, so 1 and 5.
  EXPECT_EQ(Count(With(entry + R"("inclusion": [{"events": {"codeset": "ins",
                                   "window": [-365, -1], "at_most": 0}}])")),
            2);
  // Insulin exactly 91 days before (window edges are inclusive): [-91, -91] finds it.
  EXPECT_EQ(Count(With(entry + R"("inclusion": [{"events": {"codeset": "ins",
                                   "window": [-91, -91]}}])")),
            1);
  EXPECT_EQ(Count(With(entry + R"("inclusion": [{"events": {"codeset": "ins",
                                   "window": [-90, 0]}}])")),
            0);
  // HbA1c in the 180 days before above 7: patient 1 (7.5 on 2020-02-01); above 8: nobody;
  // between 6 and 7 (gte 6, lt 7): patient 1's 6.5.
  EXPECT_EQ(Count(With(entry + R"("inclusion": [{"events": {"codeset": "a1c",
                                   "window": [-180, 0], "value": {"gt": 7}}}])")),
            1);
  EXPECT_EQ(Count(With(entry + R"("inclusion": [{"events": {"codeset": "a1c",
                                   "window": [-180, 0], "value": {"gt": 8}}}])")),
            0);
  EXPECT_EQ(Count(With(entry + R"("inclusion": [{"events": {"codeset": "a1c",
                                   "value": {"gte": 6, "lt": 7}}}])")),
            1);
  // Exactly one HbA1c in a window around the index ([-40, 40]: 2020-02-01 is 38 days
  // before, 2020-03-01 is 9 days before): at_least 1, at_most 1 fails for patient 1.
  EXPECT_EQ(Count(With(entry + R"("inclusion": [{"events": {"codeset": "a1c",
                                   "window": [-40, 40], "at_least": 1, "at_most": 1}}])")),
            0);
  EXPECT_EQ(Count(With(entry + R"("inclusion": [{"events": {"codeset": "a1c",
                                   "window": [-20, 40], "at_least": 1, "at_most": 1}}])")),
            1);
}

TEST_F(EngineTest, DemographicsLogicAndAttrition) {
  const std::string entry = R"("entry": {"domain": "condition", "codeset": "t2d"},)";
  // Age at the first T2D: patient 1 born 1960-06, index 2020-03-10: 59 (birthday month not
  // reached); patient 2 born 1980-01, index 2020-03-01: 40; patient 5: no age.
  EXPECT_EQ(Count(With(entry + R"("inclusion": [{"age": {"min": 60}}])")), 0);
  EXPECT_EQ(Count(With(entry + R"("inclusion": [{"age": {"min": 59, "max": 59}}])")), 1);
  EXPECT_EQ(Count(With(entry + R"("inclusion": [{"age": {"max": 40}}])")), 1);
  EXPECT_EQ(Count(With(entry + R"("inclusion": [{"sex": "female"}])")), 1);
  EXPECT_EQ(Count(With(entry + R"("inclusion": [{"sex": "unknown"}])")), 1) << "patient 5";
  EXPECT_EQ(Count(With(entry + R"("inclusion": [{"departement": ["75", "2A"]}])")), 1);
  EXPECT_EQ(Count(With(entry + R"("inclusion": [{"any": [{"sex": "female"},
                                   {"departement": ["75"]}]}])")),
            2);
  EXPECT_EQ(Count(With(entry + R"("inclusion": [{"not": {"sex": "female"}}])")), 2);
  EXPECT_EQ(Count(With(entry + R"("inclusion": [{"all": [{"sex": "male"},
                                   {"age": {"min": 40}}]}])")),
            1);
  // Attrition: entry 3; age 40-75: 1 and 2 (59, 40); metformin within 90 days: 1.
  CohortResult r =
      Run(With(entry + R"("inclusion": [{"name": "40-75", "age": {"min": 40, "max": 75}},
                                  {"events": {"codeset": "met", "window": [0, 90]}}])"),
          true);
  ASSERT_EQ(r.attrition.size(), 3u);
  EXPECT_EQ(r.attrition[0].name, "entry");
  EXPECT_EQ(r.attrition[0].patients, 3);
  EXPECT_EQ(r.attrition[1].name, "40-75");
  EXPECT_EQ(r.attrition[1].patients, 2);
  EXPECT_EQ(r.attrition[2].name, "rule 2");
  EXPECT_EQ(r.attrition[2].patients, 1);
  EXPECT_EQ(r.count, 1);
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].key, Key(1));
  EXPECT_EQ(r.members[0].index_date, D(2020, 3, 10));
}

TEST_F(EngineTest, IndexDateIsTheEarliestCandidateThatSatisfiesTheRules) {
  // Every T2D is a candidate. Patient 1's 2020-03-10 has two metformin events in the 200
  // days after it (10 and 175 days); 2021-01-05 has none: the index date is 2020-03-10.
  CohortResult r = Run(With(R"("entry": {"codeset": "t2d", "occurrence": "all"},
                               "inclusion": [{"events": {"codeset": "met", "window": [1, 200],
                                              "at_least": 2}}])"),
                       true);
  ASSERT_EQ(r.members.size(), 1u);
  EXPECT_EQ(r.members[0].index_date, D(2020, 3, 10));
  // A rule that only the later candidate meets: no metformin in the 200 days after.
  r = Run(With(R"("entry": {"codeset": "t2d", "occurrence": "all"},
                  "inclusion": [{"events": {"codeset": "met", "window": [0, 200],
                                 "at_most": 0}}])"),
          true);
  // Patient 1 through 2021-01-05; patients 2 and 5 have no metformin at all.
  ASSERT_EQ(r.count, 3);
  EXPECT_EQ(r.members[0].key, Key(1));
  EXPECT_EQ(r.members[0].index_date, D(2021, 1, 5));
}

TEST_F(EngineTest, SmallCellsAreShownAsBelowTheThreshold) {
  CohortResult r = Run(With(R"("entry": {"codeset": "t2d"},
                               "inclusion": [{"sex": "male"}, {"sex": "female"}])"));
  EXPECT_EQ(r.count, 0);
  EXPECT_EQ(ShownCount(0, 10), "0");
  EXPECT_EQ(ShownCount(1, 10), "<10");
  EXPECT_EQ(ShownCount(9, 10), "<10");
  EXPECT_EQ(ShownCount(10, 10), "10");
  EXPECT_EQ(ShownCount(3, 3), "3");
  std::string json = ResultToJson(r, 10, "t", false);
  EXPECT_NE(json.find(R"("count":0)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"({"name":"entry","patients":"<10"})"), std::string::npos) << json;
  EXPECT_EQ(json.find("patients\":["), std::string::npos) << "no patient list unless asked";
  std::string threshold_three = ResultToJson(r, 3, "t", false);
  EXPECT_NE(threshold_three.find(R"({"name":"entry","patients":3})"), std::string::npos);
}

// The two ways the engine reaches a patient's events (posting lists of a few kinds; the group
// table for sets of many kinds, for an index built by Apply, and for a patient whose events
// changed after the load) give the same answers, on many patients (more than the engine's
// pipeline holds) with many kinds each.
TEST_F(EngineTest, PostingListsAndGroupTablesGiveTheSameAnswers) {
  store::Batch batch;
  std::swap(batch, batch_);
  ASSERT_TRUE(catalog_->Begin().ok());
  uint64_t state = 7;
  auto pick = [&](uint64_t n) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (state >> 33) % n;
  };
  // Patients 10..209, each with a row and events of 30 LOINC codes (distinct kinds).
  for (int n = 10; n < 210; ++n) {
    Patient(static_cast<uint8_t>(n % 256), pick(2) == 0 ? domain::Sex::kMale : domain::Sex::kFemale,
            static_cast<int>(1930 + pick(80)), static_cast<int>(1 + pick(12)), "14",
            {{0, D(2010, 1, 1), store::kNoDay}});
    for (int e = 0, events = static_cast<int>(pick(40)); e < events; ++e) {
      const std::string code = "L" + std::to_string(pick(30));
      const double value =
          pick(4) == 0 ? std::numeric_limits<double>::quiet_NaN() : static_cast<double>(pick(100));
      Event(static_cast<uint8_t>(n % 256), D(2018, 1, 1) + static_cast<Days>(pick(1500)),
            Domain::kMeasurement, "loinc", code.c_str(), value);
    }
  }
  ASSERT_TRUE(catalog_->Commit().ok());
  // Key(n) repeats past 255: patients 10..209 all have distinct keys.
  store::Index applied, loaded(/*with_events=*/false);
  applied.Apply(batch_);
  Load(loaded, batch_);
  std::string all_codes;
  for (int c = 0; c < 30; ++c) {
    all_codes += std::string(c ? "," : "") + R"({"system": "loinc", "code": "L)" +
                 std::to_string(c) + R"("})";
  }
  const std::vector<std::string> cohorts = {
      // Few kinds (posting lists) with values, windows and counts.
      R"({"codesets": {"a": [{"system": "loinc", "code": "L1"}], "b": [{"system": "loinc", "code": "L2"}, {"system": "loinc", "code": "L3"}]},
          "entry": {"codeset": "a", "occurrence": "all"},
          "inclusion": [{"events": {"codeset": "a", "window": [0, 0], "value": {"gte": 50}}},
                        {"age": {"min": 40}},
                        {"events": {"codeset": "b", "window": [1, 365], "at_least": 2}}]})",
      // Many kinds (group tables) for the entry and a rule, few for another.
      R"({"codesets": {"all": [)" + all_codes + R"(], "c": [{"system": "loinc", "code": "L4"}]},
          "entry": {"codeset": "all", "occurrence": "all", "between": ["2019-01-01", "2021-12-31"]},
          "inclusion": [{"events": {"codeset": "all", "window": [-30, 30], "value": {"lt": 20}, "at_least": 2}},
                        {"not": {"events": {"codeset": "c", "window": [-365, 0]}}}]})",
      // Any kind (no code set) and first occurrence.
      R"({"codesets": {"d": [{"system": "loinc", "code": "L5"}]},
          "entry": {"codeset": "d"},
          "inclusion": [{"events": {"window": [-100, 100], "at_least": 5}},
                        {"events": {"domain": "measurement", "codeset": "d", "window": [1, 2000], "value": {"gte": 10, "lte": 90}}}]})"};
  auto run = [&](const store::Index& index, const std::string& json) {
    auto cohort = ParseCohort(json);
    EXPECT_TRUE(cohort.ok()) << cohort.status().ToString();
    RunOptions options;
    options.with_members = true;
    options.threads = 2;
    return RunCohort(*cohort, index, *catalog_, options);
  };
  int64_t total = 0;
  for (const std::string& json : cohorts) {
    CohortResult want = run(applied, json);
    ExpectSame(run(loaded, json), want, json);
    total += want.count + want.attrition[0].patients;
  }
  EXPECT_GT(total, 100) << "the cohorts select patients";
  // A live write after the load: patients 10..19 get new events (re-packed: read through
  // their group tables, their old postings ignored).
  store::Batch more;
  std::swap(more, batch_);
  ASSERT_TRUE(catalog_->Begin().ok());
  for (int n = 10; n < 20; ++n) {
    for (int e = 0; e < 5; ++e) {
      Event(static_cast<uint8_t>(n), D(2019, 6, 1) + e, Domain::kMeasurement, "loinc", "L1", 60);
      Event(static_cast<uint8_t>(n), D(2019, 7, 1) + e, Domain::kMeasurement, "loinc", "L2");
    }
  }
  ASSERT_TRUE(catalog_->Commit().ok());
  applied.Apply(batch_);
  loaded.Apply(batch_);
  for (int n = 10; n < 20; ++n)
    EXPECT_FALSE(loaded.InPostings(*loaded.Find(Key(static_cast<uint8_t>(n)))));
  EXPECT_TRUE(loaded.InPostings(*loaded.Find(Key(100))));
  for (const std::string& json : cohorts) ExpectSame(run(loaded, json), run(applied, json), json);
}

// Perimeters (every test runs on index_, read through group tables, and on loaded_, read
// through posting lists: Run compares them).
Perimeter Domains(std::vector<Domain> domains) {
  Perimeter p;
  p.domains = std::move(domains);
  return p;
}

Perimeter Period(std::optional<Days> from, std::optional<Days> to) {
  Perimeter p;
  p.from = from;
  p.to = to;
  return p;
}

TEST_F(EngineTest, PerimeterDomainsHideOtherDomainsEvents) {
  // T2D in any domain: patients 1, 2, 5 (conditions). Seen from a drug-only project: nobody.
  const std::string t2d_any = With(R"("entry": {"codeset": "t2d"})");
  EXPECT_EQ(Count(t2d_any), 3);
  EXPECT_EQ(Count(t2d_any, Domains({Domain::kDrug})), 0);
  EXPECT_EQ(Count(t2d_any, Domains({Domain::kCondition})), 3);
  EXPECT_EQ(Count(t2d_any, Domains({})), 0) << "no domain allowed: nothing visible";
  // Any event at all: the four patients with events; drugs only: 1 (metformin) and 2
  // (insulin); measurements only: 1.
  EXPECT_EQ(Count(R"({"entry": {}})"), 4);
  EXPECT_EQ(Count(R"({"entry": {}})", Domains({Domain::kDrug})), 2);
  EXPECT_EQ(Count(R"({"entry": {}})", Domains({Domain::kMeasurement})), 1);
  // A rule reading another domain: "no insulin in the year before" excludes patient 2,
  // unless drugs are outside the perimeter (then nobody has insulin: absence holds).
  const std::string no_insulin = With(R"("entry": {"domain": "condition", "codeset": "t2d"},
              "inclusion": [{"events": {"codeset": "ins", "window": [-365, -1],
                             "at_most": 0}}])");
  EXPECT_EQ(Count(no_insulin), 2);
  EXPECT_EQ(Count(no_insulin, Domains({Domain::kCondition, Domain::kDrug})), 2);
  EXPECT_EQ(Count(no_insulin, Domains({Domain::kCondition, Domain::kMeasurement})), 3);
  // An events criterion without domain or code set counts only visible events: patient 1 has
  // 6 events (2 conditions, 2 drugs, 2 measurements), 4 without measurements.
  const std::string six = With(R"("entry": {"domain": "condition", "codeset": "t2d"},
                                  "inclusion": [{"events": {"at_least": 6}}])");
  EXPECT_EQ(Count(six), 1);
  EXPECT_EQ(Count(six, Domains({Domain::kCondition, Domain::kDrug})), 0);
  const std::string four = With(R"("entry": {"domain": "condition", "codeset": "t2d"},
                                   "inclusion": [{"events": {"at_least": 4}}])");
  EXPECT_EQ(Count(four, Domains({Domain::kCondition, Domain::kDrug})), 1);
}

TEST_F(EngineTest, PerimeterPeriodHidesEventsOutsideIt) {
  // First T2D from 2021 on: patient 1's first visible T2D is 2021-01-05 (2020-03-10 is
  // before the period), patient 2's only one (2020-03-01) is invisible, patient 5's is
  // 2023-07-07. Without a perimeter, the first occurrence over all data is in 2020 for
  // patient 1, so `between` 2021 keeps only patient 5.
  const std::string first_t2d = With(R"("entry": {"codeset": "t2d"})");
  CohortResult r = Run(first_t2d, true, Period(D(2021, 1, 1), std::nullopt));
  EXPECT_EQ(r.count, 2);
  ASSERT_EQ(r.members.size(), 2u);
  EXPECT_EQ(r.members[0].key, Key(1));
  EXPECT_EQ(r.members[0].index_date, D(2021, 1, 5));
  EXPECT_EQ(Count(With(R"("entry": {"codeset": "t2d", "between": ["2021-01-01", "2030-01-01"]})")),
            1);
  // Up to 2020-12-31: patients 1 and 2; up to 2020-03-09: patient 2 only.
  EXPECT_EQ(Count(first_t2d, Period(std::nullopt, D(2020, 12, 31))), 2);
  EXPECT_EQ(Count(first_t2d, Period(std::nullopt, D(2020, 3, 9))), 1);
  EXPECT_EQ(Count(first_t2d, Period(D(2020, 3, 2), D(2020, 3, 9))), 0);
  // `between` and the period both apply.
  EXPECT_EQ(Count(With(R"("entry": {"codeset": "t2d", "occurrence": "all",
                                    "between": ["2020-01-01", "2020-12-31"]})"),
                  Period(D(2020, 3, 5), std::nullopt)),
            1);
  // Rules count only visible events: two metformin events (2020-03-20, 2020-09-01), one
  // visible up to 2020-06-30.
  const std::string two_met = With(R"("entry": {"domain": "condition", "codeset": "t2d"},
                                      "inclusion": [{"events": {"codeset": "met",
                                                     "at_least": 2}}])");
  EXPECT_EQ(Count(two_met), 1);
  EXPECT_EQ(Count(two_met, Period(std::nullopt, D(2020, 6, 30))), 0);
  EXPECT_EQ(Count(two_met, Period(std::nullopt, D(2020, 9, 1))), 1);
  // A window reaching before the period: patient 2's insulin (2019-12-01, 91 days before)
  // is found from 2019 on, not from 2020 on.
  const std::string insulin_before = With(R"("entry": {"domain": "condition", "codeset": "t2d"},
              "inclusion": [{"events": {"codeset": "ins", "window": [-365, -1]}}])");
  EXPECT_EQ(Count(insulin_before), 1);
  EXPECT_EQ(Count(insulin_before, Period(D(2019, 12, 1), std::nullopt)), 1);
  EXPECT_EQ(Count(insulin_before, Period(D(2019, 12, 2), std::nullopt)), 0);
  // Value filters too: patient 1's HbA1c 7.5 (2020-02-01) is invisible from 2020-02-02.
  const std::string high_a1c = With(R"("entry": {"domain": "condition", "codeset": "t2d"},
                                       "inclusion": [{"events": {"codeset": "a1c",
                                                      "value": {"gt": 7}}}])");
  EXPECT_EQ(Count(high_a1c), 1);
  EXPECT_EQ(Count(high_a1c, Period(D(2020, 2, 1), std::nullopt)), 1);
  EXPECT_EQ(Count(high_a1c, Period(D(2020, 2, 2), std::nullopt)), 0);
}

TEST_F(EngineTest, PerimeterPeriodClipsObservation) {
  // From 2020-01-01, patient 1 (registered since 2015, first T2D 2020-03-10) is observed 70
  // days up to its index; patient 2 (registered since 2019-06-01, T2D 2020-03-01) 61 days.
  const auto from_2020 = [] { return Period(D(2020, 1, 1), std::nullopt); };
  auto prior = [&](int days) {
    return With(R"("entry": {"codeset": "t2d", "prior_observation_days": )" + std::to_string(days) +
                "}");
  };
  EXPECT_EQ(Count(prior(275)), 2);
  EXPECT_EQ(Count(prior(275), from_2020()), 0);
  EXPECT_EQ(Count(prior(61), from_2020()), 2);
  EXPECT_EQ(Count(prior(62), from_2020()), 1);
  EXPECT_EQ(Count(prior(70), from_2020()), 1);
  EXPECT_EQ(Count(prior(71), from_2020()), 0);
}

TEST_F(EngineTest, PerimeterPopulationHidesOtherPatients) {
  Perimeter p15;
  auto set = std::make_shared<store::PatientSet>();
  set->Add(IndexOf(1));
  set->Add(IndexOf(5));
  p15.population = set;
  // T2D: patients 1, 2, 5; in the population {1, 5}: 2. Any event: 1 and 5.
  EXPECT_EQ(Count(With(R"("entry": {"codeset": "t2d"})"), p15), 2);
  EXPECT_EQ(Count(R"({"entry": {}})", p15), 2);
  // A population cohort run first (women: patients 1 and 3), then T2D within it: patient 1
  // (patient 3's E11.0 is excluded from the code set).
  CohortResult women = Run(R"({"entry": {}, "inclusion": [{"sex": "female"}]})", true);
  ASSERT_EQ(women.count, 2);
  Perimeter in_women;
  in_women.population = std::make_shared<store::PatientSet>(PopulationOf(women));
  EXPECT_EQ(in_women.population->Cardinality(), 2u);
  CohortResult r = Run(With(R"("entry": {"codeset": "t2d"})"), true, in_women);
  ASSERT_EQ(r.count, 1);
  EXPECT_EQ(r.members[0].key, Key(1));
  // Hypertension (I10): only patient 3, a woman; outside a population of men: nobody.
  const std::string htn = R"({"codesets": {"h": [{"system": "icd10", "code": "I10"}]},
                              "entry": {"codeset": "h"}})";
  EXPECT_EQ(Count(htn, in_women), 1);
  CohortResult men = Run(R"({"entry": {}, "inclusion": [{"sex": "male"}]})", true);
  Perimeter in_men;
  in_men.population = std::make_shared<store::PatientSet>(PopulationOf(men));
  EXPECT_EQ(Count(htn, in_men), 0);
  // An empty population sees nobody; the default perimeter is everything.
  Perimeter none;
  none.population = std::make_shared<store::PatientSet>();
  EXPECT_EQ(Count(R"({"entry": {}})", none), 0);
  EXPECT_TRUE(Perimeter{}.Everything());
  EXPECT_FALSE(none.Everything());
}

// A perimeter gives what running without one on a warehouse holding only what it lets see
// gives: random patients with events of two domains, a random period, domain and population,
// against an index built from the batch with every hidden event removed.
TEST_F(EngineTest, PerimeterEqualsRemovingWhatItHides) {
  const uint64_t seed = 20261201;
  std::cout << "seed " << seed << "\n";
  uint64_t state = seed;
  auto pick = [&](uint64_t n) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (state >> 33) % n;
  };
  store::Batch old;
  std::swap(old, batch_);
  ASSERT_TRUE(catalog_->Begin().ok());
  for (int n = 10; n < 210; ++n) {
    Patient(static_cast<uint8_t>(n % 256), pick(2) ? domain::Sex::kMale : domain::Sex::kFemale,
            static_cast<int>(1930 + pick(80)), 1, "14", {});
    for (int e = 0, events = static_cast<int>(pick(30)); e < events; ++e) {
      const std::string code = "L" + std::to_string(pick(8));
      Event(static_cast<uint8_t>(n % 256), D(2018, 1, 1) + static_cast<Days>(pick(1500)),
            pick(2) ? Domain::kMeasurement : Domain::kDrug, "loinc", code.c_str(),
            static_cast<double>(pick(100)));
    }
  }
  ASSERT_TRUE(catalog_->Commit().ok());
  store::Index full, full_loaded(false);
  full.Apply(batch_);
  Load(full_loaded, batch_);
  const std::vector<std::string> cohorts = {
      R"({"codesets": {"a": [{"system": "loinc", "code": "L1"}], "b": [{"system": "loinc", "code": "L2"}, {"system": "loinc", "code": "L3"}]},
          "entry": {"codeset": "a", "occurrence": "all"},
          "inclusion": [{"events": {"codeset": "b", "window": [-200, 200], "value": {"gte": 30}}},
                        {"not": {"events": {"domain": "drug", "codeset": "a", "window": [1, 100]}}}]})",
      R"({"codesets": {"a": [{"system": "loinc", "code": "L4"}]},
          "entry": {"codeset": "a"},
          "inclusion": [{"events": {"window": [-300, 0], "at_least": 3}},
                        {"events": {"domain": "measurement", "window": [0, 400], "at_most": 2}}]})",
      R"({"entry": {"domain": "drug", "between": ["2019-01-01", "2021-06-30"]},
          "inclusion": [{"age": {"min": 30}}, {"events": {"value": {"lt": 10}}}]})"};
  for (int trial = 0; trial < 6; ++trial) {
    Perimeter perimeter;
    if (trial % 2 == 0) perimeter.domains = {pick(2) ? Domain::kMeasurement : Domain::kDrug};
    if (trial % 3 != 2) perimeter.from = D(2018, 6, 1) + static_cast<Days>(pick(400));
    if (trial % 3 != 1) perimeter.to = D(2019, 6, 1) + static_cast<Days>(pick(700));
    auto population = std::make_shared<store::PatientSet>();
    for (uint32_t i = 0; i < full.patient_count(); ++i) {
      if (trial >= 3 || pick(3) != 0) population->Add(i);
    }
    perimeter.population = population;
    // The same warehouse without what the perimeter hides.
    store::Batch visible = batch_;
    std::erase_if(visible.events, [&](const store::EventRecord& e) {
      auto i = full.Find(e.patient);
      return !population->Contains(*i) || (perimeter.from && e.date < *perimeter.from) ||
             (perimeter.to && e.date > *perimeter.to) ||
             (perimeter.domains && e.domain != perimeter.domains->front());
    });
    store::Index reduced;
    reduced.Apply(visible);
    for (const std::string& json : cohorts) {
      auto cohort = ParseCohort(json);
      ASSERT_TRUE(cohort.ok()) << cohort.status().ToString();
      RunOptions plain;
      plain.with_members = true;
      plain.threads = 2;
      RunOptions seen = plain;
      seen.perimeter = perimeter;
      CohortResult want = RunCohort(*cohort, reduced, *catalog_, plain);
      for (CohortMember& m : want.members) m.patient = *full.Find(m.key);
      ExpectSame(RunCohort(*cohort, full, *catalog_, seen), want, json);
      ExpectSame(RunCohort(*cohort, full_loaded, *catalog_, seen), want, json);
      CohortResult everything = RunCohort(*cohort, full, *catalog_, plain);
      if (trial == 0) {
        EXPECT_NE(everything.attrition[0].patients, want.attrition[0].patients)
            << "the perimeter hides something: " << json;
      }
    }
  }
}

}  // namespace
}  // namespace p4dp::query
