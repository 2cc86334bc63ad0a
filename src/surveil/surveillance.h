// What `p4dp surveil` and the surveillance routes answer: the series of a SeriesStore as rows
// (count, registered population, incidence per 100,000 with its exact Poisson confidence
// interval, and a detector's expected value, threshold and alarm) and the alert list (runs of
// consecutive alarmed periods of a series). Pure functions over a SeriesStore::View;
// thread-safe as the view is.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/date.h"
#include "base/status.h"
#include "surveil/detector.h"
#include "surveil/series.h"

namespace p4dp::surveil {

struct SurveilRequest {
  std::vector<int> indicators;  // indices into the store's indicators; empty: all
  Level level = Level::kNation;
  std::vector<Place> places;  // empty: every place of `level`
  std::vector<int> bands = {kAllBands};
  Granularity granularity = Granularity::kWeek;
  std::optional<Days> from, to;          // the periods that start in [from, to]; none: all
  std::optional<DetectorSpec> detector;  // none: no detection columns
  double confidence = 0.95;              // of the incidence's interval
  int threads = 1;                       // series are evaluated in parallel
};

struct SeriesRow {
  std::string indicator;
  Place place;
  int band = kAllBands;
  std::string period;  // "2024-W10" or "2024-03-05"
  double count = 0;
  double population = 0;
  double incidence = 0;  // per 100,000 for the period; NaN without population
  double ci_low = 0, ci_high = 0;
  // NaN where not evaluated (before the detector's first evaluable period, or no detector).
  double expected = 0, threshold = 0;
  std::optional<bool> alarm;  // none where not evaluated (or not told: disclosure control)
  // Set by disclosure control where the number may not be released: "<10" or "suppressed"
  // is written instead of it (and the incidence and its interval are then NaN).
  std::string count_text{}, population_text{};
};

// A run of consecutive alarmed periods of one series.
struct Alert {
  std::string indicator;
  Place place;
  int band = kAllBands;
  std::string since;                                 // the first period of the run
  std::string period;                                // the last period of the run
  int periods = 0;                                   // its length
  double observed = 0, expected = 0, threshold = 0;  // at the last period
  bool current = false;                              // the run reaches the last evaluated period
  std::string observed_text{};                       // as SeriesRow::count_text
};

struct SurveilResult {
  std::vector<SeriesRow> rows;  // with_rows only
  std::vector<Alert> alerts;    // with a detector only
  std::string algorithm;        // empty without a detector
  // Periods the detector refused to evaluate (a fit that fails in a sparse series): they
  // have no expected value, threshold or alarm.
  int64_t unevaluated = 0;
};

// The algorithm run when none is named.
inline constexpr const char* kDefaultAlgorithm = "farrington-flexible";

// A request as text (command-line options, query parameters).
struct SurveilParams {
  std::vector<std::string> indicators;          // names; empty: all
  std::string level = "nation";                 // nation, region, departement
  std::vector<std::string> places;              // INSEE codes of `level` ("FR" for the nation)
  std::vector<std::string> bands;               // "0-4", "5-14", "15-64", "65+", "all"; empty: all
  std::string period = "week";                  // week, day
  std::string from, to;                         // "2024-03-04" or "2024-W10" (to: its Sunday)
  std::string algorithm;                        // empty: kDefaultAlgorithm; "none": no detection
  std::map<std::string, std::string> controls;  // the detector's controls
};
// Checks and converts; errors name the parameter ("level: ...", "from: ...").
Result<SurveilRequest> ParseSurveilRequest(const std::vector<Indicator>& indicators,
                                           const SurveilParams& params);

// Evaluates the requested series.
Result<SurveilResult> Surveil(const SeriesStore::View& view,
                              const std::vector<Indicator>& indicators,
                              const SurveilRequest& request, bool with_rows);

// CSV with a header (numbers with 10 significant digits, empty for NaN), or JSON arrays of
// objects (null for NaN).
std::string RowsToCsv(const std::vector<SeriesRow>& rows);
std::string AlertsToCsv(const std::vector<Alert>& alerts);
std::string RowsToJson(const std::vector<SeriesRow>& rows);
std::string AlertsToJson(const std::vector<Alert>& alerts);
// The indicators as JSON: [{"name", "title", "domain", "codes": [...]}].
std::string IndicatorsToJson(const std::vector<Indicator>& indicators);

}  // namespace p4dp::surveil
