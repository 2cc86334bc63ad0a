// Disclosure control (../shared/spec/access.md, "Disclosure control"): what of a count may
// be shown to a project's user. Counts from 1 to threshold - 1 are shown as "<threshold";
// complementary suppression hides the counts from which a small one could be derived
// (attrition rows, which subtract from one another; tables of counts with their totals);
// QueryGuard limits queries per user and project and refuses repeated near-identical ones
// (differencing). The rules and why they hold are in docs/access-disclosure.md.
// RenderCohort, SuppressTable and SuppressGrid are pure functions (thread-safe); QueryGuard
// is thread-safe (one mutex).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "query/cohort.h"
#include "query/engine.h"

namespace p4dp::access {

struct DisclosurePolicy {
  // The project's small-cell threshold: counts 1 .. threshold - 1 are never released, nor
  // derivable. 1 releases every count. (With 2, "<2" means 1: choose 3 or more.)
  int64_t threshold = query::kDefaultMinCell;
};

enum class CellState : uint8_t {
  kShown,       // released as it is
  kSmall,       // 1 .. threshold - 1: shown as "<threshold"
  kSuppressed,  // not small, but showing it would reveal a small count: shown as "suppressed"
};

// A count as it may be released: `value` is the true count, to be shown only when `state`
// is kShown.
struct ShownCount {
  CellState state = CellState::kShown;
  int64_t value = 0;
};

// The text of a released count: the number, "<threshold" or "suppressed".
std::string CountText(const ShownCount& count, const DisclosurePolicy& policy);

struct ShownRow {
  std::string name;
  ShownCount patients;
};

// A cohort result as a project's user may see it (no patient list: whether the project may
// have one is the caller's decision).
struct ShownCohort {
  ShownCount count;                 // == attrition.back().patients
  std::vector<ShownRow> attrition;  // entry, then one row per rule
};

// Applies the small-cell rule and complementary suppression to a result's attrition rows:
// rows 1 .. threshold - 1 are kSmall; then, from the count up to the entry row, a row is
// kSuppressed if it differs by 1 .. threshold - 1 from a row shown below it or from one of
// `released` (the exact counts already released to this user in this project:
// QueryGuard::Released), else kShown. So no two released counts differ by 1 .. threshold - 1,
// and every hidden row keeps at least threshold - 1 possible values. Requires the rows to be
// a decreasing chain ending with the count (what RunCohort gives).
ShownCohort RenderCohort(const query::CohortResult& result, const DisclosurePolicy& policy,
                         std::span<const int64_t> released = {});

// The rendering as JSON: {"title" (if not empty), "count", "attrition": [{"name",
// "patients"}], "min_cell", "milliseconds"}; a count is a number when shown, else a string
// ("<10" or "suppressed").
std::string ShownCohortToJson(const ShownCohort& shown, const DisclosurePolicy& policy,
                              std::string_view title, double milliseconds);

// A table of counts released together with sums of them (a total is a cell like the others,
// so totals of totals work): each sum says cells[total] == the sum of cells[parts].
struct TableSum {
  size_t total = 0;
  std::vector<size_t> parts;
};
struct CountTable {
  std::vector<int64_t> cells;  // counts, >= 0
  std::vector<TableSum> sums;
  // Cells never chosen as complements (empty: none): counts that are not released but take
  // part in sums (patients of unknown age, say). Such a cell is hidden only when small, so
  // that what a reader is assumed to know of it does not depend on other cells.
  std::vector<bool> no_complement{};
};
// Tables are checked cell by cell with a small linear programme: a week's grid of départements
// x age bands with its totals is a few hundred cells; larger tables are split by the caller.
inline constexpr size_t kTableCellsMax = 4096;

// Primary and complementary suppression of a table: cells 1 .. threshold - 1 are kSmall;
// then, until nothing changes, every sum with exactly one hidden cell (among its total and
// parts) hides one more: its smallest non-zero shown part, or its total if no part can be.
// Then, while a reader could still recover a hidden cell from the shown cells, the sums and
// what the states say (a small cell is in 1 .. t - 1, a suppressed one at least t), one more
// cell is hidden (the smallest that may help, preferring those above the threshold), and the
// first stage runs again. Afterwards every sum has 0 or at least 2 hidden cells and every
// hidden cell has at least two possible values. Zeros are never hidden, except when nothing
// is left to hide and a cell is still pinned: then the whole table is withheld (every cell
// kSuppressed, zeros and small cells included). Errors: InvalidArgument if an index is out of
// range, a count negative, a sum does not add up, or the table has more than kTableCellsMax cells.
// With `hidden_max`, gives up (ResourceExhausted) as soon as more cells than that would be
// hidden: the checks grow with the hidden cells, and a caller with a coarser table to fall
// back on (surveillance: régions instead of départements) asks for it then.
Result<std::vector<CellState>> SuppressTable(const CountTable& table,
                                             const DisclosurePolicy& policy,
                                             size_t hidden_max = SIZE_MAX);

// The common table of a dashboard: a grid of `rows` x `cols` counts (row-major: places x
// age bands of one week, say) released with its row totals, column totals and grand total.
// Returns the states of the cells laid out as: the grid (row-major), then the `rows` row
// totals, then the `cols` column totals, then the grand total. Totals are computed here.
// Errors as SuppressTable, and InvalidArgument if grid.size() != rows * cols.
struct GridStates {
  std::vector<CellState> cells;       // rows * cols
  std::vector<CellState> row_totals;  // rows
  std::vector<CellState> col_totals;  // cols
  CellState total = CellState::kShown;
};
Result<GridStates> SuppressGrid(std::span<const int64_t> grid, size_t rows, size_t cols,
                                const DisclosurePolicy& policy);

// What identifies a cohort query for the differencing guard: the entry and each rule hashed
// from their meaning (code sets by content, rule names ignored), rules as a sorted list.
struct QueryFingerprint {
  uint64_t entry = 0;
  std::vector<uint64_t> rules;  // sorted
};
QueryFingerprint FingerprintOf(const query::Cohort& cohort);
// How many parts differ: 0 for the same query (rules in any order), 1 when the entry
// changed or one rule was added, removed or changed (the differencing step), more otherwise.
size_t Distance(const QueryFingerprint& a, const QueryFingerprint& b);

struct QueryGuardOptions {
  int64_t window_seconds = 3600;
  // Queries a user may run in a project within the window.
  int64_t queries_max = 60;
  // Queries within the window at distance 1 from the one asked (Distance) allowed before it
  // is refused: the subtraction of two such counts is what differencing exploits.
  int64_t near_identical_max = 4;
  // Bounds of what is remembered: (user, project) pairs (the least recently used is
  // forgotten) and exact counts released per pair.
  size_t pairs_max = 10'000;
  size_t released_max = 4096;
};

// Per (user, project): the rate limit, the differencing guard and the exact counts released
// within the window. The caller maps a refusal (ResourceExhausted) to HTTP 429.
class QueryGuard {
 public:
  explicit QueryGuard(const Clock& clock, QueryGuardOptions options = {});

  // Called before running a query: refuses it (ResourceExhausted, saying which limit) when
  // the user already ran queries_max queries in the project within the window, or
  // near_identical_max queries at distance 1 from this one; else records it. Refused queries
  // are not recorded (the audit trail counts refusals).
  Status Admit(std::string_view user, std::string_view project, const QueryFingerprint& query);

  // The exact counts released to the user in the project within the window (for
  // RenderCohort), and recording those a rendering released.
  std::vector<int64_t> Released(std::string_view user, std::string_view project);
  void NoteReleased(std::string_view user, std::string_view project, const ShownCohort& shown);

 private:
  struct Pair {
    std::deque<std::pair<int64_t, QueryFingerprint>> queries;  // (time, query), oldest first
    std::deque<std::pair<int64_t, int64_t>> released;          // (time, count)
    uint64_t last_use = 0;
  };
  Pair& PairOf(std::string_view user, std::string_view project, int64_t now);
  void Expire(Pair& pair, int64_t now) const;

  const Clock& clock_;
  const QueryGuardOptions options_;
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Pair, std::less<>> pairs_;
  uint64_t uses_ = 0;
};

}  // namespace p4dp::access
