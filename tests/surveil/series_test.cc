// The warehouse's indicator series (surveil/series.h) on hand-made patients whose counts are
// worked out in the comments (a patient once per indicator per day, the domain rule,
// descendants, age at the event, département, region and nation, the 1 July population),
// the incremental update against a full rebuild on random batches (new, replaced and removed
// resources, patients who move), and the default indicators against the codes the synthetic
// population writes.
#include "surveil/series.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>

#include "domain/code_system.h"
#include "domain/departement.h"
#include "store/catalog.h"
#include "store/index.h"
#include "surveil/indicators.h"
#include "synth/catalogue.h"

namespace p4dp::surveil {
namespace {

using domain::Domain;

Days D(int y, int m, int d) { return ToDays({y, m, d}); }

domain::PatientKey Key(int n) {
  domain::PatientKey k;
  k.bytes.fill(0);
  k.bytes[0] = static_cast<uint8_t>(n);
  k.bytes[1] = static_cast<uint8_t>(n >> 8);
  return k;
}

Place Dep(std::string_view code) { return *PlaceFromCode(Level::kDepartement, code); }
Place Reg(std::string_view code) { return *PlaceFromCode(Level::kRegion, code); }

class SeriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = std::string(P4DP_BINARY_DIR) + "/test-tmp/series_" +
                      ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    catalog_ = std::move(store::Catalog::Create(dir + "/catalog.db")).value();
    ASSERT_TRUE(catalog_->Begin().ok());
  }

  store::PatientRecord Patient(int n, int year, int month, const char* dep,
                               std::vector<store::Registration> registrations,
                               uint32_t version = 1) {
    store::PatientRecord r;
    r.key = Key(n);
    r.resource_key = 1'000'000 + static_cast<uint64_t>(n);
    r.version = {1, version, static_cast<uint64_t>(n)};
    r.birth_year = static_cast<int16_t>(year);
    r.birth_month = static_cast<int8_t>(month);
    r.departement = dep;
    r.registrations = std::move(registrations);
    return r;
  }

  // One resource with one event of these codes.
  void Event(store::Batch& batch, int n, uint64_t resource, uint32_t version, Days date,
             Domain domain, std::vector<std::pair<const char*, const char*>> codes,
             bool deleted = false) {
    store::ResourceRecord res;
    res.resource_key = resource;
    res.version = {1, version, resource * 31 + version};
    res.patient = Key(n);
    res.deleted = deleted;
    batch.resources.push_back(res);
    if (deleted) return;
    store::EventRecord e;
    e.patient = Key(n);
    e.date = date;
    e.domain = domain;
    for (auto [system, code] : codes) e.codes.push_back(*catalog_->CodeId(system, code));
    std::sort(e.codes.begin(), e.codes.end());
    e.resource_key = resource;
    e.content_hash = res.version.content_hash;
    batch.events.push_back(e);
  }

  std::unique_ptr<store::Catalog> catalog_;
  store::Index index_;
};

double At(const SeriesStore::View& v, const std::vector<double>& series, Granularity g, Days day) {
  for (int t = 0; t < v.periods(g); ++t) {
    Days start = v.PeriodStart(g, t);
    if (day >= start && day < start + (g == Granularity::kDay ? 1 : 7)) {
      return series[static_cast<size_t>(t)];
    }
  }
  return -1;  // outside the calendar
}

TEST_F(SeriesTest, CountsPatientsOncePerIndicatorPerDayInTheirPlaceAndBand) {
  store::Batch b;
  // A: girl born 2010-03 in Calvados (14, Normandie 28), registered since 2015. On
  // 2024-01-10 (a Wednesday of 2024-W02) two ILI consultations (J11.1 with R80, and R80
  // alone) and a gastroenteritis (A09.0); ILI again the next day (J10); a chronic code
  // (E11) and R80 as an observation (not a condition: not counted).
  b.patients.push_back(Patient(1, 2010, 3, "14", {{0, D(2015, 1, 1), store::kNoDay}}));
  Event(b, 1, 1, 1, D(2024, 1, 10), Domain::kCondition, {{"icd10", "J111"}, {"icpc2", "R80"}});
  Event(b, 1, 2, 1, D(2024, 1, 10), Domain::kCondition, {{"icpc2", "R80"}});
  Event(b, 1, 3, 1, D(2024, 1, 10), Domain::kCondition, {{"icd10", "A09.0"}});
  Event(b, 1, 4, 1, D(2024, 1, 11), Domain::kCondition, {{"icd10", "J10"}});
  Event(b, 1, 5, 1, D(2024, 1, 11), Domain::kCondition, {{"icd10", "E11"}});
  Event(b, 1, 6, 1, D(2024, 1, 12), Domain::kObservation, {{"icpc2", "R80"}});
  // B: man born 1950-01 in Seine-Maritime (76, Normandie), registered 2019 to 2023: ILI on
  // 2024-01-10 (65+; not in the 2024 population).
  b.patients.push_back(Patient(2, 1950, 1, "76", {{0, D(2019, 1, 1), D(2023, 12, 31)}}));
  Event(b, 2, 7, 1, D(2024, 1, 10), Domain::kCondition, {{"icd10", "J11"}});
  // C: no Patient row: ILI on 2024-01-12 counts for the nation, all ages, only.
  Event(b, 3, 8, 1, D(2024, 1, 12), Domain::kCondition, {{"icpc2", "R80"}});
  // D: boy born 2020-05 in Paris (75), registered since 2020-06: bronchiolitis J21.9.
  b.patients.push_back(Patient(4, 2020, 5, "75", {{0, D(2020, 6, 1), store::kNoDay}}));
  Event(b, 4, 9, 1, D(2024, 1, 9), Domain::kCondition, {{"icd10", "J21.9"}});
  ASSERT_TRUE(catalog_->Commit().ok());
  index_.Apply(b);

  SeriesStore s(DefaultIndicators());
  s.Build(index_, *catalog_);
  const int ili = *s.IndicatorIndex("ili"), gastro = *s.IndicatorIndex("gastro");
  const int bronchiolitis = *s.IndicatorIndex("bronchiolitis");
  const auto day = Granularity::kDay, week = Granularity::kWeek;
  s.Read([&](const SeriesStore::View& v) {
    EXPECT_EQ(v.first_day(), D(2024, 1, 8));  // the Monday of the first event's week
    Place nation;
    EXPECT_EQ(At(v, v.Counts(ili, nation, kAllBands, day), day, D(2024, 1, 10)), 2);  // A, B
    EXPECT_EQ(At(v, v.Counts(ili, nation, kAllBands, day), day, D(2024, 1, 11)), 1);  // A
    EXPECT_EQ(At(v, v.Counts(ili, nation, kAllBands, day), day, D(2024, 1, 12)), 1);  // C
    EXPECT_EQ(At(v, v.Counts(ili, nation, kAllBands, week), week, D(2024, 1, 10)), 4);
    EXPECT_EQ(At(v, v.Counts(ili, Reg("28"), kAllBands, week), week, D(2024, 1, 10)), 3);
    EXPECT_EQ(At(v, v.Counts(ili, Dep("14"), 1, week), week, D(2024, 1, 10)), 2);  // 5-14
    EXPECT_EQ(At(v, v.Counts(ili, Dep("14"), 2, week), week, D(2024, 1, 10)), 0);
    EXPECT_EQ(At(v, v.Counts(ili, Dep("76"), 3, week), week, D(2024, 1, 10)), 1);  // 65+
    EXPECT_EQ(At(v, v.Counts(ili, Dep("75"), kAllBands, week), week, D(2024, 1, 10)), 0);
    EXPECT_EQ(At(v, v.Counts(gastro, nation, kAllBands, week), week, D(2024, 1, 10)), 1);
    EXPECT_EQ(At(v, v.Counts(bronchiolitis, Dep("75"), 0, day), day, D(2024, 1, 9)), 1);
    // 2024 population (1 July): A (aged 14: 5-14) and D (0-4); B's registration ended.
    EXPECT_EQ(At(v, v.Population(nation, kAllBands, week), week, D(2024, 1, 10)), 2);
    EXPECT_EQ(At(v, v.Population(Dep("14"), 1, week), week, D(2024, 1, 10)), 1);
    EXPECT_EQ(At(v, v.Population(Reg("28"), kAllBands, day), day, D(2024, 1, 10)), 1);
    EXPECT_EQ(At(v, v.Population(Dep("76"), kAllBands, day), day, D(2024, 1, 10)), 0);
  });
}

// Every series as {period start: value} without zeros, so that two calendars compare.
std::map<std::string, std::map<Days, double>> Everything(const SeriesStore& s) {
  std::map<std::string, std::map<Days, double>> out;
  s.Read([&](const SeriesStore::View& v) {
    std::vector<Place> places = PlacesOf(Level::kDepartement);
    places.push_back(Place{});
    for (const Place& p : places) {
      for (int band = 0; band <= kAllBands; ++band) {
        for (size_t i = 0; i < s.indicators().size(); ++i) {
          auto c = v.Counts(static_cast<int>(i), p, band, Granularity::kDay);
          auto& m =
              out[s.indicators()[i].name + " " + PlaceCode(p) + " " + std::string(BandLabel(band))];
          for (size_t t = 0; t < c.size(); ++t) {
            if (c[t] != 0) m[v.PeriodStart(Granularity::kDay, static_cast<int>(t))] = c[t];
          }
        }
        // The population by year (the calendar of weeks grows with the events).
        auto pop = v.Population(p, band, Granularity::kWeek);
        auto& m = out["population " + PlaceCode(p) + " " + std::string(BandLabel(band))];
        for (size_t t = 0; t < pop.size(); ++t) {
          Days start = v.PeriodStart(Granularity::kWeek, static_cast<int>(t));
          if (pop[t] != 0) m[ToIsoWeek(start).year] = pop[t];
          out["calendar"][ToIsoWeek(start).year] = 1;  // the ISO years of the weeks kept
        }
      }
    }
  });
  return out;
}

TEST_F(SeriesTest, LiveBatchesChangeOnlyTheirSeriesAndEqualAFullRebuild) {
  // A new seed each run (printed on failure); P4DP_TEST_SEED replays one.
  const char* forced = std::getenv("P4DP_TEST_SEED");
  const uint64_t seed = forced ? std::stoull(forced) : std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  const std::vector<std::pair<const char*, const char*>> codes = {
      {"icd10", "J111"}, {"icpc2", "R80"},  {"icd10", "A099"}, {"icpc2", "A72"},
      {"icd10", "U071"}, {"icd10", "B059"}, {"icd10", "J219"}, {"icd10", "E119"}};
  const char* deps[] = {"14", "75", "971", "2A", ""};
  constexpr int kPatients = 60;
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  // The first batch: every patient, a few events each.
  store::Batch first;
  std::map<uint64_t, uint32_t> versions;  // resource -> latest version
  std::map<uint64_t, int> owner;
  uint64_t next_resource = 1;
  std::vector<uint32_t> row_versions(kPatients + 1, 1);
  auto new_event = [&](store::Batch& b, int n) {
    uint64_t r = next_resource++;
    versions[r] = 1;
    owner[r] = n;
    Event(b, n, r, 1, D(2023, 1, 1) + pick(500), Domain::kCondition,
          {codes[static_cast<size_t>(pick(static_cast<int>(codes.size())))]});
  };
  for (int n = 1; n <= kPatients; ++n) {
    if (n % 7 != 0) {
      first.patients.push_back(Patient(n, 1930 + pick(94), 1 + pick(12), deps[pick(5)],
                                       {{0, D(2015, 1, 1) + pick(4000), store::kNoDay}}));
    }
    for (int e = pick(4); e > 0; --e) new_event(first, n);
  }
  SeriesStore live(DefaultIndicators());
  index_.Apply(first);
  live.Build(index_, *catalog_);
  for (int step = 0; step < 40; ++step) {
    store::Batch b;
    const int n = 1 + pick(kPatients);
    switch (pick(4)) {
      case 0: new_event(b, n); break;
      case 1:
      case 2: {  // a newer version of a resource (another day, another code) or its removal
        auto it = std::next(owner.begin(), pick(static_cast<int>(owner.size())));
        uint32_t v = ++versions[it->first];
        Event(b, it->second, it->first, v, D(2023, 1, 1) + pick(500), Domain::kCondition,
              {codes[static_cast<size_t>(pick(static_cast<int>(codes.size())))]}, pick(3) == 0);
        break;
      }
      default:  // the patient moves, or is born anew in the records
        b.patients.push_back(Patient(n, 1930 + pick(94), 1 + pick(12), deps[pick(5)],
                                     {{0, D(2015, 1, 1) + pick(4000), store::kNoDay}},
                                     ++row_versions[static_cast<size_t>(n)]));
        break;
    }
    auto before = Everything(live);
    index_.Apply(b);
    live.NoteBatch(b);
    EXPECT_EQ(live.CatchUp(index_, *catalog_), 1u);
    auto after = Everything(live);
    // Only the series of the patient's département (old or new) and the nation change.
    std::set<std::string> places_of_patient = {"FR"};
    for (const char* d : deps) places_of_patient.insert(d);
    for (const auto& [name, values] : after) {
      if (name == "calendar") continue;  // grows with the events' weeks
      std::string place = name.substr(name.find(' ') + 1);
      place = place.substr(0, place.find(' '));
      if (before[name] != values) {
        EXPECT_TRUE(places_of_patient.count(place)) << name;
      }
    }
    for (const auto& [name, values] : before) {
      if (!after.count(name)) {
        EXPECT_TRUE(values.empty()) << name;
      }
    }
  }
  ASSERT_TRUE(catalog_->Commit().ok());
  SeriesStore rebuilt(DefaultIndicators());
  rebuilt.Build(index_, *catalog_);
  auto got = Everything(live), want = Everything(rebuilt);
  // The live calendar of weeks never shrinks: a week that only a since-removed event opened
  // (2023-01-01 is in ISO week 2022-W52) stays, with no cases and with the population of its
  // year. The rebuilt calendar starts at the first remaining event. So the live calendar
  // holds the rebuilt one, and populations are compared over the years the rebuilt one has.
  const std::map<Days, double>& years = want["calendar"];
  for (const auto& [year, one] : years) EXPECT_EQ(got["calendar"].count(year), 1u) << year;
  for (const auto& [name, values] : want) {
    if (name == "calendar") continue;
    std::map<Days, double> mine = got[name];
    if (name.starts_with("population ")) {
      std::erase_if(mine, [&](const auto& entry) { return !years.count(entry.first); });
    }
    EXPECT_EQ(mine, values) << name;
  }
  for (const auto& [name, values] : got) {
    if (!want.count(name) && !name.starts_with("population ")) {
      EXPECT_TRUE(values.empty()) << name;
    }
  }
}

TEST_F(SeriesTest, OnlyAPopulationCountsAndInvalidateAsksForARebuild) {
  store::Batch b;
  b.patients.push_back(Patient(1, 2010, 3, "14", {{0, D(2015, 1, 1), store::kNoDay}}));
  Event(b, 1, 1, 1, D(2024, 1, 10), Domain::kCondition, {{"icpc2", "R80"}});
  b.patients.push_back(Patient(2, 1980, 3, "75", {{0, D(2015, 1, 1), store::kNoDay}}));
  Event(b, 2, 2, 1, D(2024, 1, 10), Domain::kCondition, {{"icpc2", "R80"}});
  ASSERT_TRUE(catalog_->Commit().ok());
  index_.Apply(b);
  SeriesStore all(DefaultIndicators()), only(DefaultIndicators());
  all.Build(index_, *catalog_);
  // The population of the Parisian alone (PatientIndex values of the index).
  store::PatientSet paris;
  for (size_t p = 0; p < index_.patient_count(); ++p) {
    const auto index = static_cast<domain::PatientIndex>(p);
    const auto& row = index_.patient(index).row;
    if (row && row->departement == "75") paris.Add(index);
  }
  ASSERT_EQ(paris.Cardinality(), 1u);
  only.Build(index_, *catalog_, &paris);
  const int ili = *all.IndicatorIndex("ili");
  auto nation = [&](const SeriesStore& s) {
    double count = 0, population = 0;
    s.Read([&](const SeriesStore::View& v) {
      for (double c : v.Counts(ili, Place{}, kAllBands, Granularity::kWeek)) count += c;
      auto pop = v.Population(Place{}, kAllBands, Granularity::kWeek);
      population = pop.empty() ? 0 : pop.back();
    });
    return std::pair{count, population};
  };
  EXPECT_EQ(nation(all), std::pair(2.0, 2.0));
  EXPECT_EQ(nation(only), std::pair(1.0, 1.0));
  // Invalidate: built() is false until the next Build (the server then rebuilds).
  EXPECT_TRUE(all.built());
  all.Invalidate();
  EXPECT_FALSE(all.built());
  all.Build(index_, *catalog_);
  EXPECT_TRUE(all.built());
}

TEST_F(SeriesTest, ALiveEventChangesItsSeriesByOneAndNoOther) {
  store::Batch b;
  b.patients.push_back(Patient(1, 1990, 6, "33", {{0, D(2015, 1, 1), store::kNoDay}}));
  b.patients.push_back(Patient(2, 2015, 6, "69", {{0, D(2015, 1, 1), store::kNoDay}}));
  Event(b, 1, 1, 1, D(2024, 2, 1), Domain::kCondition, {{"icd10", "A099"}});
  Event(b, 2, 2, 1, D(2024, 2, 2), Domain::kCondition, {{"icpc2", "A72"}});
  index_.Apply(b);
  SeriesStore s(DefaultIndicators());
  s.Build(index_, *catalog_);
  auto before = Everything(s);
  store::Batch push;
  Event(push, 2, 3, 1, D(2024, 2, 5), Domain::kCondition, {{"icpc2", "A72"}});  // varicella
  index_.Apply(push);
  s.NoteBatch(push);
  EXPECT_EQ(s.CatchUp(index_, *catalog_), 1u);
  auto after = Everything(s);
  std::set<std::string> changed;
  for (const auto& [name, values] : after) {
    if (before[name] != values) changed.insert(name);
  }
  // Patient 2 is 8 (5-14) in the Rhône (69).
  EXPECT_EQ(changed, (std::set<std::string>{"varicella 69 5-14", "varicella 69 all",
                                            "varicella FR 5-14", "varicella FR all"}));
  EXPECT_EQ(after["varicella 69 all"][D(2024, 2, 5)], 1);
  ASSERT_TRUE(catalog_->Commit().ok());
}

TEST(Indicators, TheDefaultsAreTheContractsAndFindTheSyntheticCases) {
  std::vector<Indicator> defaults = DefaultIndicators();
  std::vector<std::string> names;
  for (const Indicator& i : defaults) names.push_back(i.name);
  EXPECT_EQ(names, (std::vector<std::string>{"ili", "gastro", "bronchiolitis", "covid", "varicella",
                                             "measles"}));
  // Every code the synthetic population writes for an acute consultation, CISP-2 or
  // CIM-10, falls in the indicator of the same name (checked through a series count).
  std::string dir = std::string(P4DP_BINARY_DIR) + "/test-tmp/series_synth_codes";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto catalog = std::move(store::Catalog::Create(dir + "/catalog.db")).value();
  ASSERT_TRUE(catalog->Begin().ok());
  store::Index index;
  store::Batch b;
  int n = 0;
  std::map<std::string, int> expected;
  for (const synth::IndicatorInfo& info : synth::Indicators()) {
    for (const synth::Coding& c : {info.icpc2, info.icd10}) {
      ++n;
      auto system = domain::CodeSystemFromName(c.system_uri);
      ASSERT_TRUE(system.has_value()) << c.system_uri;
      store::EventRecord e;
      e.patient = Key(n);
      e.date = D(2024, 1, 1);
      e.domain = Domain::kCondition;
      e.codes.push_back(*catalog->CodeId(domain::InfoOf(*system).alias, c.code));
      e.resource_key = static_cast<uint64_t>(n);
      e.content_hash = static_cast<uint64_t>(n);
      store::ResourceRecord r;
      r.resource_key = e.resource_key;
      r.version = {1, 1, e.content_hash};
      r.patient = e.patient;
      b.resources.push_back(r);
      b.events.push_back(e);
      // CISP-2 A77 ("other viral disease") is not COVID-19 and R78 is bronchitis as well as
      // bronchiolitis: the contract takes CIM-10 U07.1 and J21 only for those two.
      bool broader = c.code == "A77" || c.code == "R78";
      expected[std::string(info.key)] += broader ? 0 : 1;
    }
  }
  index.Apply(b);
  SeriesStore s(defaults);
  s.Build(index, *catalog);
  s.Read([&](const SeriesStore::View& v) {
    for (const auto& [name, count] : expected) {
      auto c = v.Counts(*s.IndicatorIndex(name), Place{}, kAllBands, Granularity::kDay);
      EXPECT_EQ(At(v, c, Granularity::kDay, D(2024, 1, 1)), count) << name;
    }
  });
  ASSERT_TRUE(catalog->Commit().ok());
}

TEST(Indicators, ErrorsNameTheFileTheLineAndTheField) {
  struct Case {
    std::string json;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"{\"indicators\": [\n{\"name\": \"x\",\n \"codes\": [}]}",
            "f.json: line 3: invalid JSON"},
           {"[]", "f.json: (document): must be an object"},
           {"{\"indicators\": []}", "f.json: indicators: is empty"},
           {"{\"indicators\": [], \"more\": 1}", "f.json: more: unknown field"},
           {"{\"indicators\": [{\"codes\": []}]}", "f.json: indicators[0].name: missing"},
           {"{\"indicators\": [{\"name\": \"ILI\", \"codes\": []}]}", "indicators[0].name: 'ILI'"},
           {"{\"indicators\": [{\"name\": \"x\"}]}", "f.json: indicators[0].codes: missing"},
           {"{\"indicators\": [{\"name\": \"x\", \"codes\": []}]}",
            "f.json: indicators[0].codes: is empty"},
           {"{\"indicators\": [{\"name\": \"x\", \"codes\": [{\"system\": \"icd11\", \"code\": "
            "\"A\"}]}]}",
            "f.json: indicators[0].codes[0].system: unknown code system 'icd11'"},
           {"{\"indicators\": [{\"name\": \"x\", \"domain\": \"consultation\", \"codes\": "
            "[{\"system\": \"icd10\", \"code\": \"A\"}]}]}",
            "f.json: indicators[0].domain: unknown domain 'consultation'"},
           {"{\"indicators\": [{\"name\": \"x\", \"colour\": 1, \"codes\": []}]}",
            "f.json: indicators[0].colour: unknown field"},
           {"{\"indicators\": [{\"name\": \"x\", \"codes\": [{\"system\": \"icd10\", \"code\": "
            "\"A\"}]}, {\"name\": \"x\", \"codes\": [{\"system\": \"icd10\", \"code\": "
            "\"B\"}]}]}",
            "f.json: indicators[1].name: 'x' is defined twice"},
       }) {
    auto parsed = ParseIndicators(c.json, "f.json");
    ASSERT_FALSE(parsed.ok()) << c.json;
    EXPECT_NE(parsed.status().message().find(c.message), std::string::npos)
        << parsed.status().message() << "\nwanted: " << c.message;
  }
  auto any = ParseIndicators(
      "{\"indicators\": [{\"name\": \"x\", \"domain\": \"any\", \"codes\": [{\"system\": "
      "\"icd10\", \"code\": \"A\", \"descendants\": true}]}]}",
      "f.json");
  ASSERT_TRUE(any.ok()) << any.status().ToString();
  EXPECT_FALSE((*any)[0].domain.has_value());
  EXPECT_FALSE(LoadIndicators("/nonexistent/indicators.json").ok());
}

}  // namespace
}  // namespace p4dp::surveil
