// Issue 6 must-show 5 for the surveillance routes: no count from 1 to threshold - 1 can be
// read from a week's table or derived by subtracting released counts (the nation less its
// départements, a région less its départements, "all" less the age bands), in the table
// itself (ProtectTable, random tables) and through GET /api/surveillance/{series,alerts} in a
// project whose threshold is 10; a project with threshold 1 sees every count; the perimeter
// (domains, period) applies; daily series are refused above threshold 1.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "access/control.h"
#include "base/clock.h"
#include "base/file_system.h"
#include "domain/departement.h"
#include "ingest/pipeline.h"
#include "server/access_routes.h"
#include "server/http_server.h"
#include "server/surveillance_disclosure.h"
#include "server/surveillance_routes.h"
#include "store/warehouse.h"
#include "surveil/indicators.h"
#include "surveil/series.h"

namespace p4dp::server {
namespace {

namespace fs = std::filesystem;
using access::CellState;
using nlohmann::json;
using surveil::kAllBands;
using surveil::Level;
using surveil::Place;

size_t Deps() { return domain::AllDepartements().size(); }
size_t Regs() { return domain::AllRegions().size(); }

size_t RegionOf(size_t d) {
  auto regions = domain::AllRegions();
  for (size_t r = 0; r < regions.size(); ++r) {
    if (regions[r].code == domain::AllDepartements()[d].region_code) return r;
  }
  return SIZE_MAX;
}

// One sum a reader can subtract: total = parts (+ a residual the reader may not know).
struct Relation {
  std::pair<Place, int> total;
  std::vector<std::pair<Place, int>> parts;
  std::vector<int64_t> residuals;  // the unknown département / unknown age cells, in truth
};

// Every sum of the released structure.
std::vector<Relation> Relations(const FineTable& t) {
  std::vector<Relation> out;
  const size_t unknown = Deps();
  auto place_value = [&](size_t d, int k) { return t.rows[d][static_cast<size_t>(k)]; };
  for (int band = 0; band <= kAllBands; ++band) {
    // The nation as the sum of the départements, and of the régions.
    Relation by_dep{{Place{Level::kNation, 0}, band}, {}, {}};
    Relation by_reg{{Place{Level::kNation, 0}, band}, {}, {}};
    for (size_t d = 0; d < Deps(); ++d)
      by_dep.parts.push_back({{Level::kDepartement, int(d)}, band});
    for (size_t r = 0; r < Regs(); ++r) by_reg.parts.push_back({{Level::kRegion, int(r)}, band});
    for (int k = 0; k < 5; ++k) {
      if (band == kAllBands || k == band) by_dep.residuals.push_back(place_value(unknown, k));
    }
    by_reg.residuals = by_dep.residuals;
    out.push_back(by_dep);
    out.push_back(by_reg);
    // Each région as the sum of its départements.
    for (size_t r = 0; r < Regs(); ++r) {
      Relation rel{{Place{Level::kRegion, int(r)}, band}, {}, {}};
      for (size_t d = 0; d < Deps(); ++d) {
        if (RegionOf(d) == r) rel.parts.push_back({{Level::kDepartement, int(d)}, band});
      }
      out.push_back(rel);
    }
  }
  // "all" as the sum of the bands, for every place.
  std::vector<Place> places = {Place{Level::kNation, 0}};
  for (size_t r = 0; r < Regs(); ++r) places.push_back({Level::kRegion, int(r)});
  for (size_t d = 0; d < Deps(); ++d) places.push_back({Level::kDepartement, int(d)});
  for (const Place& p : places) {
    Relation rel{{p, kAllBands}, {}, {}};
    for (int b = 0; b < 4; ++b) rel.parts.push_back({p, b});
    for (size_t d = 0; d <= Deps(); ++d) {
      bool in = p.level == Level::kNation ||
                (d < Deps() && (p.level == Level::kDepartement ? d == size_t(p.index)
                                                               : RegionOf(d) == size_t(p.index)));
      if (in) rel.residuals.push_back(t.rows[d][4]);
    }
    out.push_back(rel);
  }
  return out;
}

// The subtraction attacks on one released table: for each sum, what it leaves to its hidden
// cells must not pin one of them to a value in 1 .. t-1. The residuals (patients of unknown
// département or age) are never released; the reader is granted those that are 0 or at
// least t (what the protection assumes), and knows the others to be small. Returns the
// first attack that succeeds ("" if none).
std::string Attack(const FineTable& t, const TableStates& states, int64_t threshold) {
  for (const Relation& rel : Relations(t)) {
    std::vector<std::pair<Place, int>> hidden;
    int64_t known = 0;
    auto state = [&](const std::pair<Place, int>& c) {
      return states.cells[CellOf(c.first, c.second)];
    };
    bool total_hidden = state(rel.total) != CellState::kShown;
    for (const auto& c : rel.parts) {
      if (state(c) != CellState::kShown) {
        hidden.push_back(c);
      } else {
        known += ReleasedValue(t, c.first, c.second);
      }
    }
    int64_t small_residuals = 0;
    for (int64_t r : rel.residuals) {
      if (r == 0 || r >= threshold) {
        known += r;
      } else {
        ++small_residuals;
      }
    }
    if (total_hidden || hidden.empty()) continue;  // nothing to subtract from
    const int64_t left = ReleasedValue(t, rel.total.first, rel.total.second) - known;
    // One hidden cell: its value is `left`.
    if (hidden.size() == 1 && small_residuals == 0 && left > 0 && left < threshold) {
      return "one hidden cell recovered as " + std::to_string(left) + " (total " +
             surveil::PlaceCode(rel.total.first) + " band " + std::to_string(rel.total.second) +
             ", hidden " + surveil::PlaceCode(hidden[0].first) + " band " +
             std::to_string(hidden[0].second) + ", level " + std::to_string(int(states.level)) +
             ")";
    }
    // Hidden cells that are all small and leave their least or greatest possible sum.
    bool all_small = true;
    for (const auto& c : hidden) all_small &= state(c) == CellState::kSmall;
    const auto n = static_cast<int64_t>(hidden.size()) + small_residuals;
    if (all_small && (left == n || left == n * (threshold - 1))) {
      return std::to_string(n) + " small cells pinned by their sum " + std::to_string(left);
    }
  }
  return "";
}

FineTable Empty() {
  FineTable t;
  t.rows.assign(Deps() + 1, std::array<int64_t, 5>{});
  return t;
}

size_t DepIndex(std::string_view code) {
  for (size_t d = 0; d < Deps(); ++d) {
    if (domain::AllDepartements()[d].code == code) return d;
  }
  return SIZE_MAX;
}

TEST(ProtectTable, ThresholdOneShowsEverything) {
  FineTable t = Empty();
  t.rows[DepIndex("14")][2] = 3;
  auto states = ProtectTable(t, 1);
  ASSERT_TRUE(states.ok());
  for (CellState s : states->cells) EXPECT_EQ(s, CellState::kShown);
}

TEST(ProtectTable, TheNationLessTheOtherDepartementsDoesNotGiveASmallOne) {
  FineTable t = Empty();
  t.rows[DepIndex("75")][2] = 40;
  t.rows[DepIndex("14")][2] = 3;  // Normandie: alone in its région
  t.rows[DepIndex("69")][2] = 30;
  t.rows[DepIndex("13")][2] = 25;
  auto states = ProtectTable(t, 10);
  ASSERT_TRUE(states.ok()) << states.status().ToString();
  EXPECT_EQ(states->level, ReleasedLevel::kDepartement);
  const Place calvados{Level::kDepartement, int(DepIndex("14"))};
  EXPECT_EQ(states->cells[CellOf(calvados, 2)], CellState::kSmall);
  EXPECT_EQ(states->cells[CellOf(calvados, kAllBands)], CellState::kSmall);
  // Without complementary suppression 98 - 40 - 30 - 25 = 3: another département is hidden.
  int hidden_others = 0;
  for (size_t d = 0; d < Deps(); ++d) {
    if (d == DepIndex("14")) continue;
    hidden_others +=
        states->cells[CellOf({Level::kDepartement, int(d)}, kAllBands)] != CellState::kShown;
  }
  EXPECT_GE(hidden_others, 1);
  EXPECT_EQ(Attack(t, *states, 10), "");
  // The nation itself stays shown: the answer users want.
  EXPECT_EQ(states->cells[CellOf({Level::kNation, 0}, kAllBands)], CellState::kShown);
}

TEST(ProtectTable, AttackFindsWhatOnlyPrimarySuppressionWouldLeak) {
  // The checker is not vacuous: primary suppression alone fails it.
  FineTable t = Empty();
  t.rows[DepIndex("75")][2] = 40;
  t.rows[DepIndex("14")][2] = 3;
  TableStates primary;
  primary.cells.assign(ReleasedCells(), CellState::kShown);
  for (const Place& p : {Place{Level::kDepartement, int(DepIndex("14"))},
                         Place{Level::kRegion, int(RegionOf(DepIndex("14")))}}) {
    primary.cells[CellOf(p, 2)] = CellState::kSmall;
    primary.cells[CellOf(p, kAllBands)] = CellState::kSmall;
  }
  EXPECT_NE(Attack(t, primary, 10), "");
}

TEST(ProtectTable, RandomTablesResistTheSubtractionAttacks) {
  std::mt19937_64 rng(20261201);
  int departement_level = 0, coarser = 0, hidden_total = 0;
  for (int trial = 0; trial < 120; ++trial) {
    FineTable t = Empty();
    // From sparse weeks (most départements 0 to 3) to busy ones.
    const double mean = std::vector<double>{0.3, 2, 8, 30, 120}[trial % 5];
    for (size_t d = 0; d <= Deps(); ++d) {
      for (int k = 0; k < 4; ++k) {
        std::poisson_distribution<int> p(d == Deps() ? mean / 10 : mean / 4);
        // Most départements quiet, some busy: the shape of an epidemic's start.
        t.rows[d][k] = rng() % 4 == 0 ? p(rng) * 3 : p(rng);
      }
      // Patients of unknown age are rare: a few départements have some.
      std::poisson_distribution<int> unknown_age(mean / 10);
      t.rows[d][4] = rng() % 20 == 0 ? unknown_age(rng) : 0;
    }
    for (int64_t threshold : {5, 10}) {
      auto states = ProtectTable(t, threshold);
      ASSERT_TRUE(states.ok()) << states.status().ToString();
      EXPECT_EQ(Attack(t, *states, threshold), "") << "trial " << trial << " t " << threshold;
      // Every small released count is hidden.
      std::vector<Place> places = {Place{Level::kNation, 0}};
      for (size_t r = 0; r < Regs(); ++r) places.push_back({Level::kRegion, int(r)});
      for (size_t d = 0; d < Deps(); ++d) places.push_back({Level::kDepartement, int(d)});
      for (const Place& p : places) {
        for (int b = 0; b <= kAllBands; ++b) {
          int64_t v = ReleasedValue(t, p, b);
          CellState s = states->cells[CellOf(p, b)];
          if (v > 0 && v < threshold) {
            EXPECT_NE(s, CellState::kShown);
          }
          hidden_total += s != CellState::kShown;
        }
      }
      (states->level == ReleasedLevel::kDepartement ? departement_level : coarser)++;
      if (states->level != ReleasedLevel::kDepartement) {
        for (size_t d = 0; d < Deps(); ++d) {
          EXPECT_EQ(states->cells[CellOf({Level::kDepartement, int(d)}, kAllBands)],
                    CellState::kSuppressed);
        }
      }
    }
  }
  // Both paths ran: tables protected at the département level, and sparse ones coarsened.
  EXPECT_GT(departement_level, 0);
  EXPECT_GT(coarser, 0);
  EXPECT_GT(hidden_total, 0);
}

// Through the routes: a warehouse where week 2024-W10 has ILI in four départements, one of
// them (Calvados) with 4 patients; Paris has one case a week in weeks 1 to 8.
class SurveillanceRoutes : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::string(P4DP_BINARY_DIR) + "/test-tmp/surveillance_disclosure_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    ASSERT_TRUE(store::Warehouse::Init(RealFileSystem(), dir_, key_).ok());
    auto wh = store::Warehouse::Open(RealFileSystem(), dir_, key_);
    ASSERT_TRUE(wh.ok()) << wh.status().ToString();
    warehouse_ = std::move(*wh);
    std::string ndjson;
    int id = 0;
    for (auto [postal, n] : std::vector<std::pair<std::string, int>>{
             {"75011", 40}, {"14000", 4}, {"69001", 30}, {"13001", 25}, {"75011", 8}}) {
      for (int i = 0; i < n; ++i, ++id) {
        const std::string pid = "p" + std::to_string(id);
        ndjson +=
            R"({"resourceType":"Patient","id":")" + pid +
            R"(","extension":[{"url":"https://p4dp.fr/fhir/StructureDefinition/practice-registration","extension":[{"url":"practice","valueReference":{"reference":"Organization/o1"}},{"url":"period","valuePeriod":{"start":"2010-01-01"}}]}],"gender":"female","birthDate":"1980-01-01","address":[{"postalCode":")" +
            postal + R"(","country":"FR"}]})" + "\n";
        // The last 8 Parisians are the background of weeks 1 to 8 (a baseline for the
        // detectors); the others fall ill in week 10.
        std::string day = "2024-03-05";
        if (id >= 99) day = FormatIsoDate(*ParseIsoDate("2024-01-03") + 7 * (id - 99));
        if (postal == "69001") {  // the Lyonnais have type 2 diabetes: a project's population
          ndjson +=
              R"({"resourceType":"Condition","id":"d)" + pid +
              R"(","subject":{"reference":"Patient/)" + pid +
              R"("},"onsetDateTime":"2023-01-10","code":{"coding":[{"system":"http://hl7.org/fhir/sid/icpc-2","code":"T90"}]}})" +
              "\n";
        }
        ndjson +=
            R"({"resourceType":"Condition","id":"c)" + pid +
            R"(","subject":{"reference":"Patient/)" + pid + R"("},"onsetDateTime":")" + day +
            R"(","code":{"coding":[{"system":"http://hl7.org/fhir/sid/icpc-2","code":"R80"}]}})" +
            "\n";
      }
    }
    ingest::IngestOptions options;
    options.source = "test";
    options.today = SystemClock().Today();
    ingest::Ingester ingester(*warehouse_, options);
    ASSERT_TRUE(ingester.IngestBody(ndjson, "test.ndjson").ok());
    series_ = std::make_unique<surveil::SeriesStore>(surveil::DefaultIndicators());
    auto control = access::AccessControl::Open(
        dir_, key_, {.password_cost = crypto::PasswordCost::kMinimumForTesting});
    ASSERT_TRUE(control.ok()) << control.status().ToString();
    access_ = std::move(*control);
    AddAccessRoutes(router_, *access_);
    AddSurveillanceRoutes(router_, *warehouse_, *series_, *access_);
    access::AccessCatalog& c = access_->catalog();
    ASSERT_TRUE(c.AddUser("epi", access::Bit(access::Role::kEpidemiologist), "pw").ok());
    auto project = [&](access::Project p) {
      ASSERT_TRUE(c.CreateProject(p).ok());
      ASSERT_TRUE(c.AddMember(p.id, "epi").ok());
    };
    project({.id = "strict", .title = "t", .min_cell = 10});
    project({.id = "open", .title = "t", .min_cell = 1});
    project({.id = "drugs", .title = "t", .min_cell = 1, .domains = {"drug"}});
    project({.id = "later", .title = "t", .min_cell = 1, .from = *ParseIsoDate("2024-03-11")});
    project({.id = "diabetics",
             .title = "t",
             .min_cell = 1,
             .population = R"({"codesets": {"t2d": [{"system": "icpc2", "code": "T90"}]},
                              "entry": {"domain": "condition", "codeset": "t2d"}})"});
    Response r = Call("POST", "/api/login", R"({"user":"epi","password":"pw"})");
    ASSERT_EQ(r.status, 200) << r.body;
    token_ = json::parse(r.body)["token"];
  }

  Response Call(const std::string& method, const std::string& target,
                const std::string& body = "") {
    Request r;
    r.method = method;
    size_t q = target.find('?');
    r.path = target.substr(0, q);
    r.query = q == std::string::npos ? "" : target.substr(q + 1);
    r.body = body;
    r.remote_address = "127.0.0.1";
    if (!token_.empty()) r.headers["authorization"] = "Bearer " + token_;
    auto response = router_.Dispatch(r);
    return response ? *response : Response::Error(404, "no route");
  }

  // The week's rows of `level`, by place code.
  std::map<std::string, json> Week(const std::string& project, const std::string& level) {
    Response r = Call(
        "GET",
        "/api/surveillance/series?indicator=ili&algorithm=none&from=2024-W10&to=2024-W10&level=" +
            level + "&project=" + project);
    EXPECT_EQ(r.status, 200) << r.body;
    const json body = json::parse(r.body);
    std::map<std::string, json> out;
    for (const json& row : body["rows"]) out[row["place"].get<std::string>()] = row;
    return out;
  }

  crypto::Key key_ = crypto::Key::Random();
  std::string dir_, token_;
  std::unique_ptr<store::Warehouse> warehouse_;
  std::unique_ptr<surveil::SeriesStore> series_;
  std::unique_ptr<access::AccessControl> access_;
  Router router_;
};

TEST_F(SurveillanceRoutes, SmallCountsAreHiddenAndCannotBeSubtracted) {
  auto deps = Week("strict", "departement");
  auto nation = Week("strict", "nation");
  ASSERT_EQ(deps.size(), Deps());
  EXPECT_EQ(deps["14"]["count"], "<10");
  EXPECT_TRUE(deps["14"]["incidence"].is_null());
  EXPECT_EQ(nation["FR"]["count"], 99);
  // The subtraction: the nation less every département shown leaves the hidden ones, which
  // must be at least two (so 4 is not recovered).
  int64_t shown = 0;
  int hidden_nonzero = 0;
  for (auto& [code, row] : deps) {
    if (row["count"].is_number()) {
      shown += row["count"].get<int64_t>();
    } else {
      ++hidden_nonzero;
    }
  }
  EXPECT_GE(hidden_nonzero, 2);
  EXPECT_GE(99 - shown, 10);
  // The same through the régions.
  auto regions = Week("strict", "region");
  int64_t shown_regions = 0;
  int hidden_regions = 0;
  for (auto& [code, row] : regions) {
    if (row["count"].is_number()) {
      shown_regions += row["count"].get<int64_t>();
    } else {
      ++hidden_regions;
    }
  }
  EXPECT_NE(hidden_regions, 1);
  EXPECT_TRUE(hidden_regions == 0 || 99 - shown_regions >= 10);
  // A project with threshold 1 sees the count.
  EXPECT_EQ(Week("open", "departement")["14"]["count"], 4);
}

TEST_F(SurveillanceRoutes, AlertsNeverShowASmallObservedCount) {
  for (const std::string project : {"strict", "open"}) {
    Response r = Call(
        "GET", "/api/surveillance/alerts?level=departement&algorithm=ears-c1&min-sigma=1&project=" +
                   project);
    ASSERT_EQ(r.status, 200) << r.body;
    json alerts = json::parse(r.body)["alerts"];
    bool calvados = false;
    for (const json& a : alerts) {
      if (project == "strict" && a["observed"].is_number()) {
        EXPECT_FALSE(a["observed"].get<double>() > 0 && a["observed"].get<double>() < 10) << a;
      }
      if (a["place"] == "14") {
        calvados = true;
        if (project == "strict") {
          EXPECT_EQ(a["observed"], "<10") << a;
        }
        if (project == "open") {
          EXPECT_EQ(a["observed"], 4) << a;
        }
      }
    }
    // Calvados' 4 cases after 8 weeks of none pass EARS C1's threshold (3.09 with a least
    // sigma of 1): listed in both projects, hidden as "<10" in the strict one (its alarm is
    // told: 1..3 and 4..9 both leave several values).
    EXPECT_TRUE(calvados) << project << ": " << alerts;
  }
}

TEST_F(SurveillanceRoutes, AProjectsPopulationCountsItsMembersAlone) {
  // The 30 Lyonnais with diabetes are the project's population: week 10 counts them alone,
  // in Rhône, and the population is theirs.
  auto nation = Week("diabetics", "nation");
  EXPECT_EQ(nation["FR"]["count"], 30);
  EXPECT_EQ(nation["FR"]["population"], 30);
  auto deps = Week("diabetics", "departement");
  EXPECT_EQ(deps["69"]["count"], 30);
  EXPECT_EQ(deps["75"]["count"], 0);
  // Everyone else's project still sees the whole warehouse.
  EXPECT_EQ(Week("open", "nation")["FR"]["count"], 99);
}

TEST_F(SurveillanceRoutes, DailySeriesNeedThresholdOne) {
  EXPECT_EQ(
      Call("GET", "/api/surveillance/series?indicator=ili&algorithm=none&period=day&project=strict")
          .status,
      400);
  EXPECT_EQ(
      Call("GET", "/api/surveillance/series?indicator=ili&algorithm=none&period=day&project=open")
          .status,
      200);
}

TEST_F(SurveillanceRoutes, ThePerimeterApplies) {
  // Domains: ILI is a condition indicator.
  EXPECT_EQ(
      Call("GET", "/api/surveillance/series?indicator=ili&algorithm=none&project=drugs").status,
      403);
  Response list = Call("GET", "/api/surveillance/indicators?project=drugs");
  ASSERT_EQ(list.status, 200);
  EXPECT_TRUE(json::parse(list.body)["indicators"].empty()) << list.body;
  // Period: the project starts the week after the outbreak.
  Response later = Call(
      "GET", "/api/surveillance/series?indicator=ili&algorithm=none&level=nation&project=later");
  ASSERT_EQ(later.status, 200);
  const json rows = json::parse(later.body)["rows"];
  for (const json& row : rows) {
    EXPECT_NE(row["period"], "2024-W10") << row;
  }
  // The same request in a project without a period has week 10.
  Response all = Call(
      "GET", "/api/surveillance/series?indicator=ili&algorithm=none&level=nation&project=open");
  ASSERT_EQ(all.status, 200);
  EXPECT_NE(all.body.find("2024-W10"), std::string::npos);
}

}  // namespace
}  // namespace p4dp::server
