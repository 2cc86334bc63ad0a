// The web dashboard's computations (query/dashboards.h) on a small hand-made population whose
// answers are worked out in the comments: code search (prefix, dots and case ignored, system
// filter, order by patients, limit), age pyramid (deaths and unknown birth years left out),
// prevalence by département (CIM-10 prefixes, CISP-2 exact codes, each patient once), and
// weekly consultations and prescriptions by ATC group (ISO weeks, empty weeks kept); and each
// of them inside a perimeter (population, domains, period).
#include "query/dashboards.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "store/catalog.h"
#include "store/index.h"

namespace p4dp::query {
namespace {

using domain::Domain;

Days D(int y, int m, int d) { return ToDays({y, m, d}); }

class DashboardsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = std::string(P4DP_BINARY_DIR) + "/test-tmp/dashboards_" +
                      ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    auto created = store::Catalog::Create(dir + "/catalog.db");
    ASSERT_TRUE(created.ok());
    catalog_ = std::move(created).value();
    ASSERT_TRUE(catalog_->Begin().ok());
    // 1: woman born 1960, Calvados, T2D as E11.9 twice and as T90, metformin (A10BA02) on
    //    Monday 2024-03-04 and Sunday 2024-03-10 (both ISO week 2024-W10), a visit 2024-03-04.
    Patient(1, domain::Sex::kFemale, 1960, "14");
    Event(1, D(2024, 3, 4), Domain::kCondition, "icd10", "E11.9");
    Event(1, D(2024, 4, 4), Domain::kCondition, "icd10", "E11.9");
    Event(1, D(2024, 4, 5), Domain::kCondition, "icpc2", "T90");
    Event(1, D(2024, 3, 4), Domain::kDrug, "atc", "A10BA02");
    Event(1, D(2024, 3, 10), Domain::kDrug, "atc", "A10BA02");
    Event(1, D(2024, 3, 4), Domain::kVisit, "icpc2", "A97");
    // 2: man born 1985, Calvados, hypertension K86 (not T2D), amlodipine (C08CA01) and a
    //    visit on 2024-03-18 (2024-W12: week 11 has nothing and stays, with zeros).
    Patient(2, domain::Sex::kMale, 1985, "14");
    Event(2, D(2024, 3, 18), Domain::kCondition, "icpc2", "K86");
    Event(2, D(2024, 3, 18), Domain::kDrug, "atc", "C08CA01");
    Event(2, D(2024, 3, 18), Domain::kVisit, "icpc2", "A97");
    // 3: woman born 2000, Paris, T2D by CISP-2 only (T90).
    Patient(3, domain::Sex::kFemale, 2000, "75");
    Event(3, D(2023, 1, 2), Domain::kCondition, "icpc2", "T90");
    // 4: man, birth year unknown, Paris: in neither the pyramid nor the prevalence (both count
    //    the same patients).
    Patient(4, domain::Sex::kMale, 0, "75");
    // 5: woman born 1950, Paris, dead: in neither; E11 code still found by the search.
    Patient(5, domain::Sex::kFemale, 1950, "75", D(2022, 1, 1));
    Event(5, D(2021, 1, 1), Domain::kCondition, "icd10", "E110");
    // 6: woman born 1990, département unknown: in neither (the prevalence could not place her).
    Patient(6, domain::Sex::kFemale, 1990, "");
    ASSERT_TRUE(catalog_->Commit().ok());
    index_.Apply(batch_);
  }

  void Patient(uint8_t n, domain::Sex sex, int year, const char* dep, Days death = store::kNoDay) {
    store::PatientRecord r;
    r.key = Key(n);
    r.resource_key = 1000 + n;
    r.version = {1, 1, n};
    r.sex = sex;
    r.birth_year = static_cast<int16_t>(year);
    r.birth_month = 1;
    r.departement = dep;
    r.death = death;
    batch_.patients.push_back(r);
  }

  void Event(uint8_t n, Days date, Domain domain, const char* system, const char* code) {
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
    e.resource_key = rk;
    e.content_hash = rk;
    batch_.events.push_back(e);
  }

  static domain::PatientKey Key(uint8_t n) {
    domain::PatientKey k;
    k.bytes.fill(n);
    return k;
  }

  std::unique_ptr<store::Catalog> catalog_;
  store::Batch batch_;
  store::Index index_;
  uint64_t events_ = 0;
};

// Search options for `query` within `perimeter`.
CodeSearchOptions Search(const char* query, const Perimeter* perimeter) {
  CodeSearchOptions options;
  options.query = query;
  options.perimeter = perimeter;
  return options;
}

TEST_F(DashboardsTest, CodeSearchByPrefixIgnoringDotsAndCase) {
  // "e11." matches E11.9 (patient 1) and E110 (patient 5): one patient each, then by code.
  auto hits = SearchCodes(index_, *catalog_, {.query = "e11.", .system = std::nullopt});
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].code, "E11.9");
  EXPECT_EQ(hits[0].system, "icd10");
  EXPECT_EQ(hits[0].patients, 1u);
  EXPECT_EQ(hits[1].code, "E110");
  // T90: two patients, and only in CISP-2.
  hits = SearchCodes(index_, *catalog_, {.query = "T", .system = domain::CodeSystem::kIcpc2});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].code, "T90");
  EXPECT_EQ(hits[0].patients, 2u);
  // A: CISP-2 A97 (two patients) before ATC A10BA02 (one); limit 1 keeps the first.
  hits = SearchCodes(index_, *catalog_, {.query = "a", .system = std::nullopt, .limit = 1});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].code, "A97");
  EXPECT_TRUE(SearchCodes(index_, *catalog_, {.query = "", .system = std::nullopt}).empty());
  EXPECT_TRUE(SearchCodes(index_, *catalog_, {.query = "Z99", .system = std::nullopt}).empty());
}

TEST_F(DashboardsTest, PyramidLeavesOutTheDeadAndUnknownBirthYearsOrDepartements) {
  auto bands = AgePyramid(index_, 2024);
  EXPECT_EQ(bands[2].band, "20-29");
  EXPECT_EQ(bands[9].band, "90+");
  EXPECT_EQ(bands[2].female, 1);  // patient 3, 24
  EXPECT_EQ(bands[3].male, 1);    // patient 2, 39
  EXPECT_EQ(bands[6].female, 1);  // patient 1, 64
  int64_t total = 0;
  for (const auto& b : bands) total += b.male + b.female;
  EXPECT_EQ(total, 3);  // not 4 (no birth year), 5 (dead) nor 6 (no département)
}

TEST_F(DashboardsTest, PrevalenceByDepartement) {
  auto rows = Prevalence(index_, *catalog_, *FindChronicCondition("type2_diabetes"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].departement, "14");
  EXPECT_EQ(rows[0].population, 2);
  EXPECT_EQ(rows[0].patients, 1);  // patient 1 once, whatever its three T2D events
  EXPECT_EQ(rows[1].departement, "75");
  EXPECT_EQ(rows[1].population, 1);  // patient 3; 4 has no birth year, 5 is dead
  EXPECT_EQ(rows[1].patients, 1);    // patient 3 by T90
  rows = Prevalence(index_, *catalog_, *FindChronicCondition("hypertension"));
  EXPECT_EQ(rows[0].patients, 1);  // patient 2 by K86
  EXPECT_EQ(rows[1].patients, 0);
  EXPECT_EQ(FindChronicCondition("moon"), nullptr);
}

TEST_F(DashboardsTest, WeeklyConsultationsAndPrescriptions) {
  WeeklySeries visits = ConsultationsPerWeek(index_);
  ASSERT_EQ(visits.weeks.size(), 3u);
  EXPECT_EQ(visits.weeks[0], "2024-W10");
  EXPECT_EQ(visits.weeks[2], "2024-W12");
  ASSERT_EQ(visits.values.size(), 1u);
  EXPECT_EQ(visits.values[0], (std::vector<int64_t>{1, 0, 1}));
  WeeklySeries drugs = PrescriptionsPerWeek(index_, *catalog_);
  EXPECT_EQ(drugs.names, (std::vector<std::string>{"A", "C"}));
  ASSERT_EQ(drugs.values.size(), 2u);
  EXPECT_EQ(drugs.values[0], (std::vector<int64_t>{2, 0, 0}));  // Monday and Sunday of W10
  EXPECT_EQ(drugs.values[1], (std::vector<int64_t>{0, 0, 1}));
}

// The pyramid and the prevalence count the same patients, so a reader subtracting the
// national population from the pyramid's total learns nothing (here: patients 1, 2 and 3).
TEST_F(DashboardsTest, PyramidAndPrevalenceCountTheSamePatients) {
  int64_t pyramid = 0;
  for (const auto& b : AgePyramid(index_, 2024)) pyramid += b.male + b.female;
  int64_t prevalence = 0;
  for (const auto& r : Prevalence(index_, *catalog_, *FindChronicCondition("asthma"))) {
    prevalence += r.population;
  }
  EXPECT_EQ(pyramid, 3);
  EXPECT_EQ(prevalence, pyramid);
}

// A population without patient 1: the pyramid, the prevalence, the weekly series and the code
// search lose what is hers, exactly.
TEST_F(DashboardsTest, APopulationLeavesOutItsOtherPatients) {
  auto population = std::make_shared<store::PatientSet>();
  for (uint8_t n = 2; n <= 5; ++n) population->Add(*index_.Find(Key(n)));
  Perimeter perimeter;
  perimeter.population = population;
  auto bands = AgePyramid(index_, 2024, &perimeter);
  EXPECT_EQ(bands[6].female, 0);  // patient 1 was there
  EXPECT_EQ(bands[2].female, 1);
  EXPECT_EQ(bands[3].male, 1);
  auto rows = Prevalence(index_, *catalog_, *FindChronicCondition("type2_diabetes"), &perimeter);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].population, 1);  // Calvados: patient 2 only
  EXPECT_EQ(rows[0].patients, 0);
  EXPECT_EQ(rows[1].patients, 1);
  WeeklySeries visits = ConsultationsPerWeek(index_, &perimeter);
  EXPECT_EQ(visits.weeks, (std::vector<std::string>{"2024-W12"}));
  EXPECT_EQ(visits.values[0], (std::vector<int64_t>{1}));
  WeeklySeries drugs = PrescriptionsPerWeek(index_, *catalog_, &perimeter);
  EXPECT_EQ(drugs.names, (std::vector<std::string>{"C"}));
  auto hits = SearchCodes(index_, *catalog_, Search("T90", &perimeter));
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].patients, 1u);  // patient 3
  // E11.9 is only patient 1's: inside the perimeter it is not in the warehouse.
  hits = SearchCodes(index_, *catalog_, Search("E11", &perimeter));
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].code, "E110");
}

// Domains and period: only the events of the allowed domains within the period count.
TEST_F(DashboardsTest, DomainsAndPeriodHideEvents) {
  Perimeter drugs_only;
  drugs_only.domains = std::vector<Domain>{Domain::kDrug};
  auto rows = Prevalence(index_, *catalog_, *FindChronicCondition("type2_diabetes"), &drugs_only);
  EXPECT_EQ(rows[0].patients, 0);    // conditions are outside the perimeter
  EXPECT_EQ(rows[0].population, 2);  // demographics are the patient's
  EXPECT_TRUE(ConsultationsPerWeek(index_, &drugs_only).weeks.empty());
  EXPECT_EQ(PrescriptionsPerWeek(index_, *catalog_, &drugs_only).names,
            (std::vector<std::string>{"A", "C"}));
  EXPECT_TRUE(SearchCodes(index_, *catalog_, Search("T90", &drugs_only)).empty());
  // March 2024 only: patient 1's E11.9 of 4 March counts, her T90 of 5 April does not, and
  // patient 3's T90 of 2023 neither.
  Perimeter march;
  march.from = D(2024, 3, 1);
  march.to = D(2024, 3, 31);
  rows = Prevalence(index_, *catalog_, *FindChronicCondition("type2_diabetes"), &march);
  EXPECT_EQ(rows[0].patients, 1);
  EXPECT_EQ(rows[1].patients, 0);
  EXPECT_TRUE(SearchCodes(index_, *catalog_, Search("T90", &march)).empty());
  auto hits = SearchCodes(index_, *catalog_, Search("E11.9", &march));
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].patients, 1u);
  Perimeter w12;
  w12.from = D(2024, 3, 11);
  WeeklySeries visits = ConsultationsPerWeek(index_, &w12);
  EXPECT_EQ(visits.weeks, (std::vector<std::string>{"2024-W12"}));
  EXPECT_EQ(PrescriptionsPerWeek(index_, *catalog_, &w12).names, (std::vector<std::string>{"C"}));
}

// A warehouse without any visit or prescription: each named series is there, with no week
// (the route once read past the end of the values here).
TEST(DashboardsEmpty, WeeklySeriesOfAnEmptyIndexHaveOneEmptySeriesPerName) {
  store::Index empty;
  WeeklySeries visits = ConsultationsPerWeek(empty);
  EXPECT_TRUE(visits.weeks.empty());
  ASSERT_EQ(visits.names.size(), 1u);
  ASSERT_EQ(visits.values.size(), visits.names.size());
  EXPECT_TRUE(visits.values[0].empty());
}

}  // namespace
}  // namespace p4dp::query
