// Disclosure control of the surveillance routes (../shared/spec/access.md, "Disclosure
// control": "Surveillance maps and dashboards follow the same rule unless the project allows
// otherwise"). One week of one indicator is a table: every place (the nation, its régions,
// its départements) by every age band and "all"; régions and the nation are sums of
// départements, "all" the sum of the bands plus the patients of unknown age, and the nation
// also counts the patients of unknown département. A reader can subtract any of these, so the
// states of the week's counts are decided on the whole table at once (access::SuppressTable:
// small cells, then complementary suppression until no hidden count is pinned), whatever
// place or band a request asks for. When the département level would need more hidden cells
// than kHiddenMax (a sparse week), it is withheld whole and the table of régions and nation
// is protected instead; then the nation alone; then nothing is released. The registered
// population of a year is protected the same way. docs/access-disclosure.md says why this
// holds and what is left out.
// Thread-safe: the cache has its own lock; computations read a SeriesStore::View (call them
// inside SeriesStore::Read).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <tuple>
#include <vector>

#include "access/catalog.h"
#include "access/disclosure.h"
#include "base/status.h"
#include "surveil/series.h"
#include "surveil/surveillance.h"

namespace p4dp::server {

// Band slots of a released cell: surveil's bands 0..3 and kAllBands (4).
inline constexpr int kReleasedBands = 5;

// The place index of a released cell: the nation 0, région r at 1 + r, département d at
// 1 + (number of régions) + d.
size_t PlaceSlot(const surveil::Place& place);
size_t ReleasedCells();  // places x kReleasedBands
inline size_t CellOf(const surveil::Place& place, int band) {
  return PlaceSlot(place) * kReleasedBands + static_cast<size_t>(band);
}

// The finest counts of one table: [département slot][band slot], départements 0..D-1 then
// the unknown département (D); bands 0..3 then the unknown age (4). Every value >= 0.
struct FineTable {
  std::vector<std::array<int64_t, 5>> rows;  // D + 1 rows
};

// The finest level released for a table (the levels below it are withheld whole).
enum class ReleasedLevel : uint8_t { kDepartement, kRegion, kNation, kNone };

struct TableStates {
  ReleasedLevel level = ReleasedLevel::kDepartement;
  std::vector<access::CellState> cells;  // ReleasedCells(), by CellOf
};

// The hidden cells (residuals included) a level may need before it is withheld.
inline constexpr size_t kHiddenMax = 24;

// The states of every released cell of `table` for threshold t (t <= 1: every cell shown).
Result<TableStates> ProtectTable(const FineTable& table, int64_t threshold);

// The released value of a cell of `table` (a sum of its finest counts).
int64_t ReleasedValue(const FineTable& table, const surveil::Place& place, int band);

// Caches the states of every week of each indicator and of the population, for one
// threshold and one version of the series (`generation`: the caller changes it whenever
// the series change; the cache then starts again).
class SurveillanceDisclosure {
 public:
  using Weeks = std::vector<TableStates>;  // by week of the view
  // The states of indicator `indicator`'s counts, every week.
  Result<std::shared_ptr<const Weeks>> Counts(const surveil::SeriesStore::View& view, int indicator,
                                              int64_t threshold, uint64_t generation);
  // The states of the registered population, every week (a year's weeks share theirs).
  Result<std::shared_ptr<const Weeks>> Population(const surveil::SeriesStore::View& view,
                                                  int64_t threshold, uint64_t generation);

 private:
  std::mutex mu_;
  uint64_t generation_ = 0;
  // (indicator or -1 for the population, threshold) -> states
  std::map<std::pair<int, int64_t>, std::shared_ptr<const Weeks>> cache_;
};

// Whether `project`'s perimeter lets it see `indicator`: its domain among the project's
// domains (an indicator of every domain needs a project of every domain).
bool InPerimeter(const surveil::Indicator& indicator, const access::Project& project);

// Fits a parsed request to `project`'s perimeter and disclosure: no indicator named means
// those within its domains; its period bounds from and to; daily series need threshold 1
// (days add up to weeks). The population, if any, is the caller's: it builds the series from
// the project's members (SeriesStore::Build with `only`). Errors: PermissionDenied for an
// indicator outside the domains, InvalidArgument for daily series.
Status FitToProject(const access::Project& project,
                    const std::vector<surveil::Indicator>& indicators,
                    surveil::SurveilRequest& request);

// Applies the project's threshold to a result computed on `view` for `request` (call inside
// SeriesStore::Read): hidden counts and populations get their text ("<10", "suppressed") and
// no incidence; the alarm of a hidden count is told only where it does not narrow it
// (AlarmReleasable), and alerts that would are left out. `cache` keeps the states of
// `generation` of the series.
Status ProtectResult(surveil::SurveilResult& result, const surveil::SeriesStore::View& view,
                     const std::vector<surveil::Indicator>& indicators, int64_t threshold,
                     SurveillanceDisclosure& cache, uint64_t generation);

// Whether the alarm of a count in `state` may be told, the detector's threshold being
// `upper`: always for a shown count; for a small one only when both answers leave it at
// least two values in 1 .. t-1 (a rule of the threshold alone, so that withholding the
// alarm tells nothing); never for a count hidden as a complement.
bool AlarmReleasable(access::CellState state, double upper, int64_t threshold);

}  // namespace p4dp::server
