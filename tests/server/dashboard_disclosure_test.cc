// Issue 6, must-show 5, for the dashboards: no count from 1 to t - 1 can be read or derived
// from what the population dashboards, the code search and /api/stats release. The
// renderings (server/dashboard_routes.h) are read back as a user would read them, and the
// reader's attacks are run on them: a total minus the shown cells, a row total minus the
// shown cells, the national row minus the départements, a percentage times the population,
// and, by brute force, every assignment of the hidden cells that agrees with what is shown.
// Then, through the routes and an AccessControl: the project's population cuts the
// dashboards, the project's min_cell (not the default 10) is the threshold, and /api/stats
// gives counts to the data manager only.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "access/control.h"
#include "access/disclosure.h"
#include "base/clock.h"
#include "base/file_system.h"
#include "crypto/totp.h"
#include "ingest/pipeline.h"
#include "server/access_routes.h"
#include "server/dashboard_routes.h"
#include "server/http_server.h"
#include "server/warehouse_routes.h"
#include "store/warehouse.h"

namespace p4dp {
namespace {

using access::CellState;
using access::DisclosurePolicy;
using access::GridStates;
using nlohmann::json;

// What a released count says: a number is shown, "<t" is small, "suppressed" is suppressed.
CellState StateOf(const json& released, int64_t t) {
  if (released.is_number_integer()) return CellState::kShown;
  EXPECT_TRUE(released.is_string()) << released.dump();
  std::string text = released.get<std::string>();
  if (text == "suppressed") return CellState::kSuppressed;
  EXPECT_EQ(text, "<" + std::to_string(t));
  return CellState::kSmall;
}

// A released count agrees with the truth: a shown one is the true number, a small one is in
// 1..t-1, a suppressed one is not 0 unless the whole table was withheld.
void ExpectTrue(const json& released, int64_t truth, int64_t t, const std::string& what) {
  switch (StateOf(released, t)) {
    case CellState::kShown: EXPECT_EQ(released.get<int64_t>(), truth) << what; break;
    case CellState::kSmall: EXPECT_TRUE(truth >= 1 && truth < t) << what << ": " << truth; break;
    case CellState::kSuppressed: break;
  }
  if (truth >= 1 && truth < t) {
    EXPECT_FALSE(released.is_number()) << what << " is small";
  }
}

// Every assignment of the hidden cells of a released grid (with its row, column and grand
// totals) that agrees with what a reader sees (shown cells and totals; small cells in 1..t-1,
// suppressed ones from t up to a cap, which only makes the reader's choice smaller; when the
// table is withheld, suppressed cells may be anything), enumerated; the reader's range of each
// hidden cell and total. The same reader as tests/access/disclosure_test.cc's, here on what
// the dashboards' JSON says.
class GridReader {
 public:
  GridReader(const std::vector<int64_t>& grid, size_t rows, size_t cols, const GridStates& s,
             int64_t t, int64_t cap)
      : grid_(grid), rows_(rows), cols_(cols), s_(s), t_(t), cap_(cap) {
    withheld_ = true;
    for (CellState c : s.cells) withheld_ = withheld_ && c == CellState::kSuppressed;
    for (size_t r = 0; r < rows; ++r) {
      int64_t sum = 0;
      for (size_t c = 0; c < cols; ++c) sum += grid[r * cols + c];
      truth_row_.push_back(sum);
    }
    for (size_t c = 0; c < cols; ++c) {
      int64_t sum = 0;
      for (size_t r = 0; r < rows; ++r) sum += grid[r * cols + c];
      truth_col_.push_back(sum);
    }
  }

  // The hidden cells and totals that have a single possible value (by their index: cells,
  // then row totals, then column totals, then the grand total). Fails the test if the
  // enumeration had to stop.
  std::vector<size_t> PinnedHiddenCells() {
    const size_t n = rows_ * cols_ + rows_ + cols_ + 1;
    lo_.assign(n, std::numeric_limits<int64_t>::max());
    hi_.assign(n, std::numeric_limits<int64_t>::min());
    value_.assign(rows_ * cols_, 0);
    nodes_ = 0;
    Walk(0);
    EXPECT_LE(nodes_, kNodesMax) << "the enumeration gave up";
    EXPECT_LE(lo_.back(), hi_.back()) << "the true counts are among the assignments";
    std::vector<size_t> pinned;
    for (size_t i = 0; i < n; ++i) {
      if (Hidden(i) && lo_[i] == hi_[i]) pinned.push_back(i);
    }
    return pinned;
  }

 private:
  static constexpr int64_t kNodesMax = 20'000'000;
  CellState StateAt(size_t i) const {
    const size_t cells = rows_ * cols_;
    if (i < cells) return s_.cells[i];
    if (i < cells + rows_) return s_.row_totals[i - cells];
    if (i < cells + rows_ + cols_) return s_.col_totals[i - cells - rows_];
    return s_.total;
  }
  bool Hidden(size_t i) const { return StateAt(i) != CellState::kShown; }
  bool Allowed(size_t i, int64_t v) const {
    switch (StateAt(i)) {
      case CellState::kSmall: return v >= 1 && v < t_;
      case CellState::kSuppressed: return withheld_ ? v >= 0 : v >= t_;
      case CellState::kShown: return true;
    }
    return false;
  }
  int64_t Value(size_t i) const { return Hidden(i) ? value_[i] : grid_[i]; }

  void Walk(size_t k) {
    if (++nodes_ > kNodesMax) return;
    const size_t cells = rows_ * cols_;
    if (k == cells) {
      Leaf();
      return;
    }
    if (!Hidden(k)) {
      value_[k] = grid_[k];
      Walk(k + 1);
      return;
    }
    const size_t r = k / cols_, c = k % cols_;
    // The last hidden cell of its row under a shown row total is determined by it.
    bool last_in_row = true;
    for (size_t c2 = c + 1; c2 < cols_; ++c2) last_in_row = last_in_row && !Hidden(r * cols_ + c2);
    if (last_in_row && !Hidden(cells + r)) {
      int64_t rest = 0;
      for (size_t c2 = 0; c2 < cols_; ++c2) rest += c2 == c ? 0 : Value(r * cols_ + c2);
      int64_t forced = truth_row_[r] - rest;
      if (forced < 0 || !Allowed(k, forced) || forced > cap_) return;
      value_[k] = forced;
      Walk(k + 1);
      return;
    }
    for (int64_t v = 0; v <= cap_; ++v) {
      if (!Allowed(k, v)) continue;
      value_[k] = v;
      Walk(k + 1);
    }
  }

  void Leaf() {
    const size_t cells = rows_ * cols_;
    std::vector<int64_t> all(value_), truth(grid_);
    int64_t total = 0, truth_total = 0;
    for (size_t r = 0; r < rows_; ++r) {
      int64_t sum = 0;
      for (size_t c = 0; c < cols_; ++c) sum += value_[r * cols_ + c];
      all.push_back(sum);
      truth.push_back(truth_row_[r]);
      total += sum;
      truth_total += truth_row_[r];
    }
    for (size_t c = 0; c < cols_; ++c) {
      int64_t sum = 0;
      for (size_t r = 0; r < rows_; ++r) sum += value_[r * cols_ + c];
      all.push_back(sum);
      truth.push_back(truth_col_[c]);
    }
    all.push_back(total);
    truth.push_back(truth_total);
    for (size_t i = cells; i < all.size(); ++i) {
      if (Hidden(i) ? !Allowed(i, all[i]) : all[i] != truth[i]) return;
    }
    for (size_t i = 0; i < all.size(); ++i) {
      lo_[i] = std::min(lo_[i], all[i]);
      hi_[i] = std::max(hi_[i], all[i]);
    }
  }

  const std::vector<int64_t>& grid_;
  size_t rows_, cols_;
  const GridStates& s_;
  int64_t t_, cap_;
  bool withheld_ = false;
  std::vector<int64_t> truth_row_, truth_col_;
  std::vector<int64_t> value_, lo_, hi_;
  int64_t nodes_ = 0;
};

// The subtraction attack on each sum, as a reader would run it: a shown total minus its shown
// parts when exactly one part (or the total alone) is hidden. Returns what it recovered.
std::vector<std::string> SubtractionAttacks(const GridStates& s, size_t rows, size_t cols) {
  std::vector<std::string> recovered;
  auto hidden = [](CellState c) { return c != CellState::kShown; };
  for (size_t r = 0; r < rows; ++r) {
    int n = hidden(s.row_totals[r]);
    for (size_t c = 0; c < cols; ++c) n += hidden(s.cells[r * cols + c]);
    if (n == 1) recovered.push_back("row " + std::to_string(r));
  }
  for (size_t c = 0; c < cols; ++c) {
    int n = hidden(s.col_totals[c]);
    for (size_t r = 0; r < rows; ++r) n += hidden(s.cells[r * cols + c]);
    if (n == 1) recovered.push_back("column " + std::to_string(c));
  }
  int by_rows = hidden(s.total), by_cols = hidden(s.total);
  for (CellState c : s.row_totals) by_rows += hidden(c);
  for (CellState c : s.col_totals) by_cols += hidden(c);
  if (by_rows == 1) recovered.push_back("grand total minus the row totals");
  if (by_cols == 1) recovered.push_back("grand total minus the column totals");
  return recovered;
}

// The pyramid and the prevalence count the same patients, so their grand totals are the same
// number: a table that hid its grand total (not small) while the other shows it would have lost
// a sum it relied on. So a grand total is shown, small, or the whole table is withheld.
void ExpectGrandTotalShownSmallOrWithheld(const GridStates& s) {
  if (s.total != CellState::kSuppressed) return;
  for (CellState c : s.cells) EXPECT_EQ(c, CellState::kSuppressed) << "grand total hidden alone";
}

// Whether the whole table was withheld: then every cell and total is "suppressed", zeros
// included, and a reader learns nothing from it (any table of counts fits).
bool Withheld(const GridStates& s) {
  auto all = [](const std::vector<CellState>& v) {
    return std::all_of(v.begin(), v.end(), [](CellState c) { return c == CellState::kSuppressed; });
  };
  bool cells = all(s.cells);
  if (cells) {
    EXPECT_TRUE(all(s.row_totals) && all(s.col_totals) && s.total == CellState::kSuppressed);
  }
  return cells;
}

uint64_t TestSeed(uint64_t fallback) {
  const char* env = std::getenv("P4DP_TEST_SEED");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : fallback;
}

// A count drawn as the tests like them: many zeros, small ones, some just above t.
int64_t Draw(std::mt19937_64& rng, int64_t t) {
  switch (rng() % 4) {
    case 0: return 0;
    case 1: return 1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(t - 1));
    default: return t + static_cast<int64_t>(rng() % 8);
  }
}

// The pyramid's JSON read back: the 10 x 2 grid's states, checked against the truth.
GridStates ReadPyramid(const json& j, const std::vector<int64_t>& grid, int64_t t) {
  GridStates s;
  EXPECT_EQ(j["min_cell"].get<int64_t>(), t);
  const json& bands = j["bands"];
  EXPECT_EQ(bands.size(), 10u);
  int64_t male = 0, female = 0;
  for (size_t r = 0; r < bands.size(); ++r) {
    int64_t m = grid[2 * r], f = grid[2 * r + 1];
    male += m;
    female += f;
    ExpectTrue(bands[r]["male"], m, t, "male " + std::to_string(r));
    ExpectTrue(bands[r]["female"], f, t, "female " + std::to_string(r));
    ExpectTrue(bands[r]["total"], m + f, t, "band total " + std::to_string(r));
    s.cells.push_back(StateOf(bands[r]["male"], t));
    s.cells.push_back(StateOf(bands[r]["female"], t));
    s.row_totals.push_back(StateOf(bands[r]["total"], t));
  }
  ExpectTrue(j["total"]["male"], male, t, "male total");
  ExpectTrue(j["total"]["female"], female, t, "female total");
  ExpectTrue(j["total"]["total"], male + female, t, "grand total");
  s.col_totals = {StateOf(j["total"]["male"], t), StateOf(j["total"]["female"], t)};
  s.total = StateOf(j["total"]["total"], t);
  return s;
}

std::vector<query::PyramidBand> Bands(const std::vector<int64_t>& grid) {
  std::vector<query::PyramidBand> bands(10);
  for (size_t r = 0; r < 10; ++r) {
    bands[r].band = std::to_string(r * 10);
    bands[r].male = grid[2 * r];
    bands[r].female = grid[2 * r + 1];
  }
  return bands;
}

// The worked example: one band has 3 men beside 40 women. Showing the band's total (43) with
// the 40 women would give the 3 men away, so would the men's total minus the other bands.
TEST(DashboardDisclosure, APyramidBandTotalMinusTheShownSexDoesNotRevealASmallCell) {
  std::vector<int64_t> grid(20, 25);
  grid[6] = 3;  // band 3, men
  grid[7] = 40;
  const DisclosurePolicy policy{.threshold = 10};
  auto body = server::PyramidJson(Bands(grid), 2026, policy);
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  json j = json::parse(*body);
  EXPECT_EQ(j["bands"][3]["male"], "<10");
  // Whatever is shown, no subtraction gives the 3.
  GridStates s = ReadPyramid(j, grid, 10);
  EXPECT_TRUE(SubtractionAttacks(s, 10, 2).empty());
  if (j["bands"][3]["total"].is_number() && j["bands"][3]["female"].is_number()) {
    ADD_FAILURE() << "band total minus women: "
                  << j["bands"][3]["total"].get<int64_t>() - j["bands"][3]["female"].get<int64_t>();
  }
  if (j["total"]["male"].is_number()) {
    int64_t rest = j["total"]["male"].get<int64_t>();
    bool all_others_shown = true;
    for (size_t r = 0; r < 10; ++r) {
      if (r == 3) continue;
      all_others_shown = all_others_shown && j["bands"][r]["male"].is_number();
      if (j["bands"][r]["male"].is_number()) rest -= j["bands"][r]["male"].get<int64_t>();
    }
    EXPECT_FALSE(all_others_shown) << "men's total minus the other bands: " << rest;
  }
  GridReader reader(grid, 10, 2, s, 10, 25 * 20 + 40);
  EXPECT_TRUE(reader.PinnedHiddenCells().empty());
}

TEST(DashboardDisclosure, RandomPyramidsKeepEveryHiddenCellUndeterminedBruteForce) {
  const uint64_t seed = TestSeed(20261202);
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed) + " (P4DP_TEST_SEED replays another)");
  int with_hidden = 0;  // trials whose grid has hidden cells, and is not withheld
  for (int trial = 0; trial < 150; ++trial) {
    const int64_t t = 3 + static_cast<int64_t>(rng() % 3);
    // Three bands that are not empty (the enumeration stays small); the rest are zeros.
    std::vector<int64_t> grid(20, 0);
    for (int k = 0; k < 3; ++k) {
      size_t band = rng() % 10;
      grid[2 * band] = Draw(rng, t);
      grid[2 * band + 1] = Draw(rng, t);
    }
    SCOPED_TRACE("trial " + std::to_string(trial) + ", t " + std::to_string(t));
    auto body = server::PyramidJson(Bands(grid), 2026, {.threshold = t});
    ASSERT_TRUE(body.ok()) << body.status().ToString();
    GridStates s = ReadPyramid(json::parse(*body), grid, t);
    EXPECT_TRUE(SubtractionAttacks(s, 10, 2).empty());
    ExpectGrandTotalShownSmallOrWithheld(s);
    if (Withheld(s)) continue;
    int64_t total = 0;
    for (int64_t v : grid) total += v;
    GridReader reader(grid, 10, 2, s, t, total + t);
    std::vector<size_t> pinned = reader.PinnedHiddenCells();
    with_hidden += std::any_of(s.cells.begin(), s.cells.end(),
                               [](CellState c) { return c != CellState::kShown; });
    EXPECT_TRUE(pinned.empty()) << "cell " << (pinned.empty() ? 0 : pinned[0]) << " of " << *body;
  }
  EXPECT_GT(with_hidden, 50) << "the trials exercise complementary suppression";
}

// The prevalence's JSON read back: départements x {with, without}, the population as row
// totals, the national row as column totals and grand total; percentages checked.
GridStates ReadPrevalence(const json& j, const std::vector<query::PrevalenceRow>& rows, int64_t t) {
  GridStates s;
  const json& out = j["rows"];
  EXPECT_EQ(out.size(), rows.size());
  int64_t with = 0, population = 0;
  auto read_row = [&](const json& row, int64_t p, int64_t pop, const std::string& what) {
    ExpectTrue(row["patients"], p, t, what + " patients");
    ExpectTrue(row["without"], pop - p, t, what + " without");
    ExpectTrue(row["population"], pop, t, what + " population");
    // Percentage times population gives the patients: a percentage only beside both numbers.
    if (!row["percent"].is_null()) {
      EXPECT_TRUE(row["patients"].is_number() && row["population"].is_number()) << what;
      EXPECT_NEAR(row["percent"].get<double>(),
                  100.0 * static_cast<double>(p) / static_cast<double>(pop), 1e-9);
    }
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(out[i]["departement"], rows[i].departement);
    read_row(out[i], rows[i].patients, rows[i].population, rows[i].departement);
    with += rows[i].patients;
    population += rows[i].population;
    s.cells.push_back(StateOf(out[i]["patients"], t));
    s.cells.push_back(StateOf(out[i]["without"], t));
    s.row_totals.push_back(StateOf(out[i]["population"], t));
  }
  read_row(j["nation"], with, population, "nation");
  s.col_totals = {StateOf(j["nation"]["patients"], t), StateOf(j["nation"]["without"], t)};
  s.total = StateOf(j["nation"]["population"], t);
  return s;
}

TEST(DashboardDisclosure, RandomPrevalenceTablesKeepEveryHiddenCellUndeterminedBruteForce) {
  const uint64_t seed = TestSeed(20261203);
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed) + " (P4DP_TEST_SEED replays another)");
  const auto& condition = query::ChronicConditions()[0];
  int with_hidden = 0;  // trials whose grid has hidden cells, and is not withheld
  for (int trial = 0; trial < 150; ++trial) {
    const int64_t t = 3 + static_cast<int64_t>(rng() % 3);
    std::vector<query::PrevalenceRow> rows;
    std::vector<int64_t> grid;
    const size_t departements = 2 + rng() % 3;
    for (size_t d = 0; d < departements; ++d) {
      int64_t with = Draw(rng, t), without = Draw(rng, t);
      if (with + without == 0) without = 1;  // a listed département has a patient
      rows.push_back(
          {.departement = std::to_string(10 + d), .patients = with, .population = with + without});
      grid.push_back(with);
      grid.push_back(without);
    }
    SCOPED_TRACE("trial " + std::to_string(trial) + ", t " + std::to_string(t));
    auto body = server::PrevalenceJson(rows, condition, {.threshold = t});
    ASSERT_TRUE(body.ok()) << body.status().ToString();
    json j = json::parse(*body);
    EXPECT_EQ(j["min_cell"].get<int64_t>(), t);
    GridStates s = ReadPrevalence(j, rows, t);
    // The national row minus the départements, a population minus its patients: each sum
    // has no lone hidden cell.
    EXPECT_TRUE(SubtractionAttacks(s, departements, 2).empty()) << *body;
    ExpectGrandTotalShownSmallOrWithheld(s);
    if (Withheld(s)) continue;
    int64_t total = 0;
    for (int64_t v : grid) total += v;
    GridReader reader(grid, departements, 2, s, t, total + t);
    std::vector<size_t> pinned = reader.PinnedHiddenCells();
    with_hidden += std::any_of(s.cells.begin(), s.cells.end(),
                               [](CellState c) { return c != CellState::kShown; });
    EXPECT_TRUE(pinned.empty()) << "cell " << (pinned.empty() ? 0 : pinned[0]) << " of " << *body;
  }
  EXPECT_GT(with_hidden, 50) << "the trials exercise complementary suppression";
}

// The worked example of the prevalence: a département of 40 patients, 3 of them with the
// condition. Showing 40 and 37 (or 40 and the percentage) would give the 3 away.
TEST(DashboardDisclosure, APopulationMinusItsPatientsDoesNotRevealASmallCount) {
  std::vector<query::PrevalenceRow> rows = {
      {.departement = "14", .patients = 3, .population = 40},
      {.departement = "75", .patients = 30, .population = 90}};
  auto body = server::PrevalenceJson(rows, query::ChronicConditions()[0], {.threshold = 10});
  ASSERT_TRUE(body.ok());
  json j = json::parse(*body);
  const json& calvados = j["rows"][0];
  EXPECT_EQ(calvados["patients"], "<10");
  EXPECT_TRUE(calvados["percent"].is_null());
  EXPECT_FALSE(calvados["population"].is_number() && calvados["without"].is_number()) << *body;
  // The national row minus Paris.
  const json& nation = j["nation"];
  EXPECT_FALSE(nation["patients"].is_number() && j["rows"][1]["patients"].is_number()) << *body;
}

// The weekly series and the code search release no sums: each count passes the small-cell
// rule alone, with the project's threshold.
TEST(DashboardDisclosure, WeeklySeriesAndCodeSearchReleaseNoSumsAndHideSmallCounts) {
  query::WeeklySeries weekly{.weeks = {"2024-W01", "2024-W02", "2024-W03"},
                             .names = {"A", "C"},
                             .values = {{0, 6, 7}, {1, 12, 0}}};
  json j = json::parse(server::WeeklyJson(weekly, "atc", {.threshold = 7}));
  EXPECT_EQ(j["min_cell"], 7);
  EXPECT_EQ(j["series"][0]["values"], json::parse(R"([0, "<7", 7])"));
  EXPECT_EQ(j["series"][1]["values"], json::parse(R"(["<7", 12, 0])"));
  for (const json& series : j["series"]) {
    EXPECT_EQ(series.size(), 2u) << "a name and values, no total: " << series.dump();
  }
  EXPECT_EQ(j.size(), 3u) << "weeks, series and min_cell; no total: " << j.dump();
  std::vector<query::CodeHit> hits = {{.system = "icd10", .code = "E11", .patients = 25},
                                      {.system = "icd10", .code = "E110", .patients = 24}};
  j = json::parse(server::CodesJson(hits, {.threshold = 25}));
  EXPECT_EQ(j["codes"][0]["patients"], 25);
  EXPECT_EQ(j["codes"][1]["patients"], "<25");
  EXPECT_EQ(j["min_cell"], 25);
}

// Through the routes: a warehouse of 55 living patients (25 women of 1960 in Calvados, 12 of
// them with type 2 diabetes (T90); 25 men of 1985 in Paris, 8 with T90; 5 men of 1985 in
// Ille-et-Vilaine with E11), and projects that differ by perimeter and threshold.
class DashboardRoutes : public ::testing::Test {
 protected:
  void SetUp() override {
    // One folder per test: ctest runs the tests of this fixture side by side.
    dir_ = std::string(P4DP_BINARY_DIR) + "/test-tmp/dashboard_disclosure_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    ASSERT_TRUE(store::Warehouse::Init(RealFileSystem(), dir_, key_).ok());
    auto wh = store::Warehouse::Open(RealFileSystem(), dir_, key_);
    ASSERT_TRUE(wh.ok()) << wh.status().ToString();
    warehouse_ = std::move(*wh);
    ingest::IngestOptions options;
    options.source = "test";
    options.today = SystemClock().Today();
    ingest::Ingester ingester(*warehouse_, options);
    ASSERT_TRUE(ingester.IngestBody(Records(), "dashboards.ndjson").ok());
    auto control = access::AccessControl::Open(
        dir_, key_, {.password_cost = crypto::PasswordCost::kMinimumForTesting});
    ASSERT_TRUE(control.ok()) << control.status().ToString();
    access_ = std::move(*control);
    server::AddAccessRoutes(router_, *access_);
    server::AddWarehouseRoutes(router_, *warehouse_, "test", *access_);
    server::AddDashboardRoutes(router_, *warehouse_, *access_);
    access::AccessCatalog& c = access_->catalog();
    for (const char* role : {"researcher", "data_manager"}) {
      auto secret =
          c.AddUser(std::string(role) + "-user", access::Bit(*access::ParseRole(role)), "pw");
      ASSERT_TRUE(secret.ok()) << secret.status().ToString();
      secrets_[role] = *secret;
    }
    const std::string t90 = R"({"codesets": {"d": [{"system": "icpc2", "code": "T90"}]},
                                "entry": {"codeset": "d"}})";
    for (access::Project p :
         {access::Project{.id = "p-all", .title = "t", .min_cell = 3},
          access::Project{.id = "p-strict", .title = "t", .min_cell = 20},
          access::Project{.id = "p-t90", .title = "t", .min_cell = 3, .population = t90}}) {
      ASSERT_TRUE(c.CreateProject(p).ok());
      ASSERT_TRUE(c.AddMember(p.id, "researcher-user").ok());
      ASSERT_TRUE(c.AddMember(p.id, "data_manager-user").ok());
    }
  }

  static std::string Records() {
    std::string out;
    auto patient = [&](const std::string& id, const char* gender, const char* birth,
                       const char* postal) {
      out += R"({"resourceType":"Patient","id":")" + id + R"(","gender":")" + gender +
             R"(","birthDate":")" + birth + R"(","address":[{"postalCode":")" + postal +
             R"(","country":"FR"}]})" + "\n";
    };
    auto condition = [&](const std::string& id, const char* system, const char* code) {
      out += R"({"resourceType":"Condition","id":")" + id + R"(-c","subject":{"reference":)" +
             R"("Patient/)" + id + R"("},"onsetDateTime":"2020-05-31","code":{"coding":[)" +
             R"({"system":")" + system + R"(","code":")" + code + R"("}]}})" + "\n";
    };
    const char* icpc = "http://hl7.org/fhir/sid/icpc-2";
    for (int i = 0; i < 25; ++i) {
      std::string id = "w" + std::to_string(i);
      patient(id, "female", "1960-06-15", "14000");
      if (i < 12) condition(id, icpc, "T90");
    }
    for (int i = 0; i < 25; ++i) {
      std::string id = "m" + std::to_string(i);
      patient(id, "male", "1985-06-15", "75011");
      if (i < 8) condition(id, icpc, "T90");
    }
    for (int i = 0; i < 5; ++i) {
      std::string id = "r" + std::to_string(i);
      patient(id, "male", "1985-06-15", "35000");
      condition(id, "http://hl7.org/fhir/sid/icd-10", "E11");
    }
    return out;
  }

  json Get(const std::string& target, const std::string& role) {
    server::Request r;
    r.method = "GET";
    size_t q = target.find('?');
    r.path = target.substr(0, q);
    r.query = q == std::string::npos ? "" : target.substr(q + 1);
    r.remote_address = "127.0.0.1";
    r.headers["authorization"] = "Bearer " + Login(role);
    auto response = router_.Dispatch(r);
    EXPECT_TRUE(response.has_value()) << target;
    if (!response) return nullptr;
    EXPECT_EQ(response->status, 200) << target << ": " << response->body;
    return json::parse(response->body, nullptr, false);
  }

  std::string Login(const std::string& role) {
    if (tokens_.count(role)) return tokens_[role];
    json body = {{"user", role + "-user"}, {"password", "pw"}};
    if (!secrets_[role].empty()) {
      body["totp"] = *crypto::TotpCode(secrets_[role], SystemClock().NowMicros() / 1'000'000);
    }
    server::Request r;
    r.method = "POST";
    r.path = "/api/login";
    r.body = body.dump();
    r.remote_address = "127.0.0.1";
    auto response = router_.Dispatch(r);
    EXPECT_TRUE(response && response->status == 200);
    return tokens_[role] = json::parse(response->body).value("token", "");
  }

  // The pyramid's cells by sex, summed over the bands, where shown (-1 where not).
  static int64_t Shown(const json& j) { return j.is_number() ? j.get<int64_t>() : -1; }

  crypto::Key key_ = crypto::Key::Random();
  std::string dir_;
  std::unique_ptr<store::Warehouse> warehouse_;
  std::unique_ptr<access::AccessControl> access_;
  server::Router router_;
  std::map<std::string, std::string> secrets_, tokens_;
};

TEST_F(DashboardRoutes, APopulationCohortCutsThePyramidAndThePrevalence) {
  json all = Get("/api/dashboards/pyramid?project=p-all", "researcher");
  EXPECT_EQ(Shown(all["total"]["total"]), 55);
  EXPECT_EQ(Shown(all["total"]["female"]), 25);
  json t90 = Get("/api/dashboards/pyramid?project=p-t90", "researcher");
  EXPECT_EQ(Shown(t90["total"]["total"]), 20) << t90.dump();
  EXPECT_EQ(Shown(t90["total"]["female"]), 12);
  EXPECT_EQ(Shown(t90["total"]["male"]), 8);
  json prevalence =
      Get("/api/dashboards/prevalence?project=p-t90&condition=type2_diabetes", "researcher");
  EXPECT_EQ(Shown(prevalence["nation"]["population"]), 20) << prevalence.dump();
  EXPECT_EQ(Shown(prevalence["nation"]["patients"]), 20);
  // The E11 patients of Ille-et-Vilaine are outside p-t90's population.
  EXPECT_EQ(prevalence["rows"].size(), 2u);
  json codes = Get("/api/codes?q=E11&project=p-t90", "researcher");
  EXPECT_TRUE(codes["codes"].empty()) << codes.dump();
}

TEST_F(DashboardRoutes, TheProjectsMinCellIsTheThreshold) {
  // min_cell 3: the 5 patients of Ille-et-Vilaine are shown (the default 10 would hide them).
  json all = Get("/api/dashboards/prevalence?project=p-all&condition=type2_diabetes", "researcher");
  EXPECT_EQ(all["min_cell"], 3);
  ASSERT_EQ(all["rows"].size(), 3u);
  EXPECT_EQ(all["rows"][0]["departement"], "14");
  EXPECT_EQ(all["rows"][0]["patients"], 12);
  EXPECT_EQ(all["rows"][1]["departement"], "35");
  EXPECT_EQ(all["rows"][1]["patients"], 5) << all.dump();
  EXPECT_EQ(Get("/api/codes?q=E11&project=p-all", "researcher")["codes"][0]["patients"], 5);
  // min_cell 20: 12 and 5 are small there.
  json strict =
      Get("/api/dashboards/prevalence?project=p-strict&condition=type2_diabetes", "researcher");
  EXPECT_EQ(strict["min_cell"], 20);
  EXPECT_EQ(strict["rows"][0]["patients"], "<20") << strict.dump();
  EXPECT_EQ(strict["rows"][1]["patients"], "<20");
  EXPECT_TRUE(strict["rows"][0]["percent"].is_null());
  json codes = Get("/api/codes?q=E11&project=p-strict", "researcher");
  EXPECT_EQ(codes["codes"][0]["patients"], "<20");
  EXPECT_EQ(codes["min_cell"], 20);
  json pyramid = Get("/api/dashboards/pyramid?project=p-strict", "researcher");
  EXPECT_EQ(pyramid["min_cell"], 20);
  json weekly = Get("/api/dashboards/consultations?project=p-strict", "researcher");
  EXPECT_EQ(weekly["min_cell"], 20);
}

TEST_F(DashboardRoutes, StatsGiveCountsToTheDataManagerOnly) {
  json researcher = Get("/api/stats?project=p-all", "researcher");
  for (const char* key : {"patients", "patients_with_events", "resources", "events",
                          "events_by_domain", "events_by_source", "quarantined_by_reason"}) {
    EXPECT_FALSE(researcher.contains(key)) << key << " in " << researcher.dump();
  }
  EXPECT_TRUE(researcher.contains("segments"));
  json manager = Get("/api/stats?project=p-all", "data_manager");
  EXPECT_EQ(manager.value("patients", 0), 55) << manager.dump();
  EXPECT_EQ(manager["events_by_domain"].value("condition", 0), 25);
}

}  // namespace
}  // namespace p4dp
