#include "server/surveillance_disclosure.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <unordered_map>

#include "domain/departement.h"
#include "domain/patient.h"

namespace p4dp::server {
namespace {

using access::CellState;
using surveil::Level;
using surveil::Place;

size_t Regions() { return domain::AllRegions().size(); }
size_t Departements() { return domain::AllDepartements().size(); }

// The région index of each département.
const std::vector<size_t>& RegionOfDepartement() {
  static const std::vector<size_t> regions = [] {
    std::vector<size_t> out;
    auto all = domain::AllRegions();
    for (const auto& d : domain::AllDepartements()) {
      size_t r = 0;
      while (r < all.size() && all[r].code != d.region_code) ++r;
      P4DP_ASSERT(r < all.size());
      out.push_back(r);
    }
    return out;
  }();
  return regions;
}

// A table under construction: cells with their values, sums between them, and where each
// released cell is.
class Builder {
 public:
  size_t Cell(int64_t value) {
    table_.cells.push_back(value);
    table_.no_complement.push_back(false);
    return table_.cells.size() - 1;
  }
  // A cell never released (a residual): never chosen as a complement.
  size_t Residual(int64_t value) {
    size_t cell = Cell(value);
    table_.no_complement[cell] = true;
    return cell;
  }
  // A new cell holding the sum of `parts`.
  size_t SumOf(std::vector<size_t> parts, bool residual = false) {
    int64_t total = 0;
    for (size_t p : parts) total += table_.cells[p];
    size_t cell = residual ? Residual(total) : Cell(total);
    table_.sums.push_back({cell, std::move(parts)});
    return cell;
  }
  void Sum(size_t total, std::vector<size_t> parts) {
    table_.sums.push_back({total, std::move(parts)});
  }
  int64_t Value(size_t cell) const { return table_.cells[cell]; }
  const access::CountTable& table() const { return table_; }

 private:
  access::CountTable table_;
};

// Cells of one place: bands 0..3, "all", and the unknown age (a residual, never released).
struct PlaceCells {
  std::array<size_t, kReleasedBands> band{};
  size_t unknown_age = 0;
};

// The table of `level` and the coarser ones; `released` receives the table cell of each
// released cell it holds (SIZE_MAX: withheld).
access::CountTable BuildTable(const FineTable& fine, ReleasedLevel level,
                              std::vector<size_t>& released) {
  const size_t regions = Regions(), departements = Departements();
  released.assign(ReleasedCells(), SIZE_MAX);
  Builder b;
  // Région cells: sums of their départements when those are in the table, else plain cells.
  std::vector<std::array<int64_t, 5>> region_fine(regions, std::array<int64_t, 5>{});
  for (size_t d = 0; d < departements; ++d) {
    for (int k = 0; k < 5; ++k) region_fine[RegionOfDepartement()[d]][k] += fine.rows[d][k];
  }
  auto place_cells = [&](const std::array<int64_t, 5>& v, size_t slot) {
    PlaceCells c;
    for (int k = 0; k < 4; ++k) c.band[k] = b.Cell(v[k]);
    c.unknown_age = b.Residual(v[4]);
    c.band[4] = b.SumOf({c.band[0], c.band[1], c.band[2], c.band[3], c.unknown_age});
    for (int k = 0; k < kReleasedBands; ++k) released[slot * kReleasedBands + k] = c.band[k];
    return c;
  };
  std::vector<PlaceCells> region_cells;
  if (level == ReleasedLevel::kDepartement) {
    std::vector<PlaceCells> dep_cells;
    for (size_t d = 0; d < departements; ++d) {
      dep_cells.push_back(place_cells(fine.rows[d], 1 + regions + d));
    }
    for (size_t r = 0; r < regions; ++r) {
      PlaceCells c = place_cells(region_fine[r], 1 + r);
      std::vector<std::vector<size_t>> parts(kReleasedBands + 1);
      for (size_t d = 0; d < departements; ++d) {
        if (RegionOfDepartement()[d] != r) continue;
        for (int k = 0; k < kReleasedBands; ++k) parts[k].push_back(dep_cells[d].band[k]);
        parts[kReleasedBands].push_back(dep_cells[d].unknown_age);
      }
      for (int k = 0; k < kReleasedBands; ++k) b.Sum(c.band[k], parts[k]);
      b.Sum(c.unknown_age, parts[kReleasedBands]);
      region_cells.push_back(c);
    }
  } else if (level == ReleasedLevel::kRegion) {
    for (size_t r = 0; r < regions; ++r) region_cells.push_back(place_cells(region_fine[r], 1 + r));
  }
  // The nation: the sum of the régions and of the unknown département, when the régions are
  // released; else its own cells.
  std::array<int64_t, 5> nation_fine{};
  for (const auto& row : fine.rows) {
    for (int k = 0; k < 5; ++k) nation_fine[k] += row[k];
  }
  PlaceCells nation = place_cells(nation_fine, 0);
  if (!region_cells.empty()) {
    PlaceCells unknown;  // the unknown département's cells (residuals)
    for (int k = 0; k < 4; ++k) unknown.band[k] = b.Residual(fine.rows[departements][k]);
    unknown.unknown_age = b.Residual(fine.rows[departements][4]);
    unknown.band[4] = b.SumOf(
        {unknown.band[0], unknown.band[1], unknown.band[2], unknown.band[3], unknown.unknown_age},
        /*residual=*/true);
    for (int k = 0; k <= kReleasedBands; ++k) {
      std::vector<size_t> parts;
      for (const PlaceCells& c : region_cells) {
        parts.push_back(k < kReleasedBands ? c.band[k] : c.unknown_age);
      }
      parts.push_back(k < kReleasedBands ? unknown.band[k] : unknown.unknown_age);
      b.Sum(k < kReleasedBands ? nation.band[k] : nation.unknown_age, std::move(parts));
    }
  }
  return b.table();
}

}  // namespace

size_t PlaceSlot(const Place& place) {
  switch (place.level) {
    case Level::kNation: return 0;
    case Level::kRegion: return 1 + static_cast<size_t>(place.index);
    case Level::kDepartement: return 1 + Regions() + static_cast<size_t>(place.index);
  }
  return 0;
}

size_t ReleasedCells() { return (1 + Regions() + Departements()) * kReleasedBands; }

int64_t ReleasedValue(const FineTable& table, const Place& place, int band) {
  int64_t sum = 0;
  for (size_t d = 0; d < table.rows.size(); ++d) {
    bool in = place.level == Level::kNation ||
              (d < Departements() &&
               (place.level == Level::kDepartement
                    ? d == static_cast<size_t>(place.index)
                    : RegionOfDepartement()[d] == static_cast<size_t>(place.index)));
    if (!in) continue;
    if (band == surveil::kAllBands) {
      for (int64_t v : table.rows[d]) sum += v;
    } else {
      sum += table.rows[d][static_cast<size_t>(band)];
    }
  }
  return sum;
}

Result<TableStates> ProtectTable(const FineTable& table, int64_t threshold) {
  if (table.rows.size() != Departements() + 1) {
    return Status::InvalidArgument("surveillance table: " + std::to_string(table.rows.size()) +
                                   " rows, expected " + std::to_string(Departements() + 1));
  }
  TableStates out;
  out.cells.assign(ReleasedCells(), CellState::kShown);
  if (threshold <= 1) return out;
  const access::DisclosurePolicy policy{.threshold = threshold};
  for (ReleasedLevel level :
       {ReleasedLevel::kDepartement, ReleasedLevel::kRegion, ReleasedLevel::kNation}) {
    std::vector<size_t> released;
    const access::CountTable t = BuildTable(table, level, released);
    auto states = access::SuppressTable(t, policy, kHiddenMax);
    if (!states.ok()) {
      if (states.status().code() == StatusCode::kResourceExhausted) continue;
      return states.status();
    }
    // A table withheld whole (SuppressTable's last resort) is no better than the next level.
    bool withheld = std::all_of(states->begin(), states->end(),
                                [](CellState s) { return s == CellState::kSuppressed; }) &&
                    std::any_of(t.cells.begin(), t.cells.end(),
                                [&](int64_t v) { return v == 0 || v < threshold; });
    if (withheld) continue;
    out.level = level;
    for (size_t i = 0; i < released.size(); ++i) {
      out.cells[i] = released[i] == SIZE_MAX ? CellState::kSuppressed : (*states)[released[i]];
    }
    return out;
  }
  out.level = ReleasedLevel::kNone;
  out.cells.assign(ReleasedCells(), CellState::kSuppressed);
  return out;
}

namespace {

// The finest counts of every week: [week] -> table, from `series(place, band)` giving a
// place's weekly values (bands 0..3 and kAllBands).
template <typename SeriesOf>
std::vector<FineTable> FineWeeks(int weeks, SeriesOf series) {
  const size_t departements = Departements();
  std::vector<FineTable> out(static_cast<size_t>(weeks));
  for (FineTable& t : out) t.rows.assign(departements + 1, std::array<int64_t, 5>{});
  auto fill = [&](const Place& place, size_t row, std::vector<FineTable>& tables,
                  std::array<std::vector<double>, 5>& kept) {
    for (int band = 0; band <= surveil::kAllBands; ++band) kept[band] = series(place, band);
    for (size_t w = 0; w < tables.size(); ++w) {
      int64_t known = 0;
      for (int band = 0; band < 4; ++band) {
        auto v = static_cast<int64_t>(kept[band][w]);
        tables[w].rows[row][band] = v;
        known += v;
      }
      tables[w].rows[row][4] = static_cast<int64_t>(kept[surveil::kAllBands][w]) - known;
    }
  };
  std::array<std::vector<double>, 5> kept;
  for (size_t d = 0; d < departements; ++d) {
    fill(Place{Level::kDepartement, static_cast<int>(d)}, d, out, kept);
  }
  // The unknown département: the nation less the départements.
  std::vector<FineTable> nation(out.size());
  for (FineTable& t : nation) t.rows.assign(departements + 1, std::array<int64_t, 5>{});
  fill(Place{Level::kNation, 0}, departements, nation, kept);
  for (size_t w = 0; w < out.size(); ++w) {
    for (int k = 0; k < 5; ++k) {
      int64_t rest = nation[w].rows[departements][k];
      for (size_t d = 0; d < departements; ++d) rest -= out[w].rows[d][k];
      out[w].rows[departements][k] = rest;
    }
  }
  return out;
}

Result<std::shared_ptr<const SurveillanceDisclosure::Weeks>> Protect(
    const std::vector<FineTable>& tables, int64_t threshold) {
  auto weeks = std::make_shared<SurveillanceDisclosure::Weeks>();
  weeks->reserve(tables.size());
  for (size_t w = 0; w < tables.size(); ++w) {
    // Weeks of one year share their population: the same table, the same states.
    if (w > 0 && tables[w].rows == tables[w - 1].rows) {
      weeks->push_back(weeks->back());
      continue;
    }
    weeks->push_back(P4DP_TRY(ProtectTable(tables[w], threshold)));
  }
  return std::shared_ptr<const SurveillanceDisclosure::Weeks>(std::move(weeks));
}

}  // namespace

Result<std::shared_ptr<const SurveillanceDisclosure::Weeks>> SurveillanceDisclosure::Counts(
    const surveil::SeriesStore::View& view, int indicator, int64_t threshold, uint64_t generation) {
  {
    std::lock_guard lock(mu_);
    if (generation != generation_) cache_.clear(), generation_ = generation;
    if (auto it = cache_.find({indicator, threshold}); it != cache_.end()) return it->second;
  }
  const auto tables =
      FineWeeks(view.periods(surveil::Granularity::kWeek), [&](const Place& p, int band) {
        return view.Counts(indicator, p, band, surveil::Granularity::kWeek);
      });
  auto weeks = P4DP_TRY(Protect(tables, threshold));
  std::lock_guard lock(mu_);
  if (generation == generation_) cache_[{indicator, threshold}] = weeks;
  return weeks;
}

Result<std::shared_ptr<const SurveillanceDisclosure::Weeks>> SurveillanceDisclosure::Population(
    const surveil::SeriesStore::View& view, int64_t threshold, uint64_t generation) {
  {
    std::lock_guard lock(mu_);
    if (generation != generation_) cache_.clear(), generation_ = generation;
    if (auto it = cache_.find({-1, threshold}); it != cache_.end()) return it->second;
  }
  const auto tables =
      FineWeeks(view.periods(surveil::Granularity::kWeek), [&](const Place& p, int band) {
        return view.Population(p, band, surveil::Granularity::kWeek);
      });
  auto weeks = P4DP_TRY(Protect(tables, threshold));
  std::lock_guard lock(mu_);
  if (generation == generation_) cache_[{-1, threshold}] = weeks;
  return weeks;
}

bool InPerimeter(const surveil::Indicator& indicator, const access::Project& project) {
  if (project.domains.empty()) return true;
  if (!indicator.domain) return false;
  const std::string_view name = domain::DomainName(*indicator.domain);
  return std::find(project.domains.begin(), project.domains.end(), name) != project.domains.end();
}

Status FitToProject(const access::Project& project,
                    const std::vector<surveil::Indicator>& indicators,
                    surveil::SurveilRequest& request) {
  if (request.indicators.empty()) {
    for (size_t i = 0; i < indicators.size(); ++i) {
      if (InPerimeter(indicators[i], project)) request.indicators.push_back(static_cast<int>(i));
    }
    if (request.indicators.empty()) {
      return Status::PermissionDenied("indicator: none within the project's domains");
    }
  }
  for (int i : request.indicators) {
    const surveil::Indicator& indicator = indicators[static_cast<size_t>(i)];
    if (!InPerimeter(indicator, project)) {
      return Status::PermissionDenied("indicator: '" + indicator.name +
                                      "' is outside the project's domains");
    }
  }
  if (project.from && (!request.from || *request.from < *project.from)) request.from = project.from;
  if (project.to && (!request.to || *request.to > *project.to)) request.to = project.to;
  if (project.min_cell > 1 && request.granularity == surveil::Granularity::kDay) {
    return Status::InvalidArgument(
        "period: daily series are released only in projects whose small-cell threshold is 1 "
        "(days add up to weeks)");
  }
  return Status::Ok();
}

bool AlarmReleasable(access::CellState state, double upper, int64_t threshold) {
  if (state == access::CellState::kShown) return true;
  if (state != access::CellState::kSmall || std::isnan(upper)) return false;
  int64_t below = 0, above = 0;  // values of 1 .. t-1 at most / above the detector's threshold
  for (int64_t v = 1; v < threshold; ++v) {
    (static_cast<double>(v) > upper ? above : below)++;
  }
  return below >= 2 && above >= 2;
}

namespace {

// The week index of each period label of the view ("2024-W10").
std::unordered_map<std::string, int> WeekIndex(const surveil::SeriesStore::View& view) {
  std::unordered_map<std::string, int> weeks;
  const int n = view.periods(surveil::Granularity::kWeek);
  for (int w = 0; w < n; ++w) weeks.emplace(view.PeriodLabel(surveil::Granularity::kWeek, w), w);
  return weeks;
}

std::string HiddenText(access::CellState state, int64_t threshold) {
  return access::CountText({.state = state, .value = 0}, {.threshold = threshold});
}

}  // namespace

Status ProtectResult(surveil::SurveilResult& result, const surveil::SeriesStore::View& view,
                     const std::vector<surveil::Indicator>& indicators, int64_t threshold,
                     SurveillanceDisclosure& cache, uint64_t generation) {
  if (threshold <= 1) return Status::Ok();
  std::map<std::string, std::shared_ptr<const SurveillanceDisclosure::Weeks>> counts;
  for (size_t i = 0; i < indicators.size(); ++i) {
    counts[indicators[i].name] = nullptr;  // computed when a row or alert needs it
  }
  auto counts_of = [&](const std::string& name) -> Result<const SurveillanceDisclosure::Weeks*> {
    auto& slot = counts[name];
    if (!slot) {
      size_t i = 0;
      while (i < indicators.size() && indicators[i].name != name) ++i;
      if (i == indicators.size()) return Status::Internal("unknown indicator in a result");
      slot = P4DP_TRY(cache.Counts(view, static_cast<int>(i), threshold, generation));
    }
    return slot.get();
  };
  const auto population = P4DP_TRY(cache.Population(view, threshold, generation));
  const std::unordered_map<std::string, int> week_of = WeekIndex(view);
  auto week_index = [&](const std::string& label) {
    auto it = week_of.find(label);
    return it == week_of.end() ? -1 : it->second;
  };
  // A period outside the weeks (there is none: rows are weeks here) is withheld.
  auto state_in = [&](const SurveillanceDisclosure::Weeks& weeks, int week,
                      const surveil::Place& place, int band) {
    if (week < 0 || static_cast<size_t>(week) >= weeks.size())
      return access::CellState::kSuppressed;
    return weeks[static_cast<size_t>(week)].cells[CellOf(place, band)];
  };
  for (surveil::SeriesRow& r : result.rows) {
    const int week = week_index(r.period);
    const auto count = state_in(*P4DP_TRY(counts_of(r.indicator)), week, r.place, r.band);
    const auto pop = state_in(*population, week, r.place, r.band);
    if (count != access::CellState::kShown) r.count_text = HiddenText(count, threshold);
    if (pop != access::CellState::kShown) r.population_text = HiddenText(pop, threshold);
    if (count != access::CellState::kShown || pop != access::CellState::kShown) {
      // The incidence and its interval would give the hidden number away.
      r.incidence = r.ci_low = r.ci_high = std::nan("");
    }
    if (!AlarmReleasable(count, r.threshold, threshold)) r.alarm.reset();
  }
  std::vector<surveil::Alert> kept;
  for (surveil::Alert& a : result.alerts) {
    const int week = week_index(a.period);
    const auto count = state_in(*P4DP_TRY(counts_of(a.indicator)), week, a.place, a.band);
    // An alert tells that the count passed the threshold: left out where that would narrow
    // a hidden count.
    if (!AlarmReleasable(count, a.threshold, threshold)) continue;
    if (count != access::CellState::kShown) a.observed_text = HiddenText(count, threshold);
    // The run says every period of it was alarmed: it starts after the last earlier period
    // whose count is hidden (their detector thresholds are not at hand to apply the rule).
    const auto& weeks = *P4DP_TRY(counts_of(a.indicator));
    for (int w = week - 1; w >= 0 && w > week - a.periods; --w) {
      if (state_in(weeks, w, a.place, a.band) == access::CellState::kShown) continue;
      a.periods = week - w;
      a.since = view.PeriodLabel(surveil::Granularity::kWeek, w + 1);
      break;
    }
    kept.push_back(std::move(a));
  }
  result.alerts = std::move(kept);
  return Status::Ok();
}

}  // namespace p4dp::server
