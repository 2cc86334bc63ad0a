#include "surveil/surveillance.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "surveil/stats.h"

namespace p4dp::surveil {
namespace {

constexpr double kPer = 100'000;

struct SeriesKey {
  int indicator = 0;
  Place place;
  int band = kAllBands;
};

struct SeriesOutcome {
  std::vector<SeriesRow> rows;
  std::vector<Alert> alerts;
  int64_t unevaluated = 0;
};

int DayOfYear(Days day) {
  YearMonthDay ymd = ToYearMonthDay(day);
  return day - ToDays({ymd.year, 1, 1}) + 1;
}

// Periods [first, last] (0-based) whose start lies in [from, to].
std::pair<int, int> PeriodSpan(const SeriesStore::View& view, const SurveilRequest& r) {
  const int n = view.periods(r.granularity);
  int first = 0, last = n - 1;
  while (first < n && r.from && view.PeriodStart(r.granularity, first) < *r.from) ++first;
  while (last >= 0 && r.to && view.PeriodStart(r.granularity, last) > *r.to) --last;
  return {first, last};
}

SeriesOutcome Evaluate(const SeriesStore::View& view, const std::vector<Indicator>& indicators,
                       const SurveilRequest& r, const SeriesKey& key, bool with_rows) {
  SeriesOutcome out;
  const Granularity g = r.granularity;
  auto [first, last] = PeriodSpan(view, r);
  if (first > last) return out;
  std::vector<double> counts = view.Counts(key.indicator, key.place, key.band, g);
  std::vector<double> population = view.Population(key.place, key.band, g);
  const size_t evaluated = static_cast<size_t>(last - first + 1);
  std::vector<Evaluation> eval(evaluated, Evaluation{std::nan(""), std::nan(""), false});
  std::vector<bool> evaluated_at(evaluated, false);
  const std::string& name = indicators[static_cast<size_t>(key.indicator)].name;
  if (r.detector) {
    const int frequency = g == Granularity::kWeek ? 52 : 365;
    Days start = view.PeriodStart(g, 0);
    SeriesView series{
        .counts = counts,
        .population = r.detector->algorithm == "serfling" ? std::span<const double>(population)
                                                          : std::span<const double>(),
        .frequency = frequency,
        .start_in_year = g == Granularity::kWeek ? ToIsoWeek(start).week : DayOfYear(start)};
    PeriodRange range{.first = std::max(FirstEvaluablePeriod(*r.detector, frequency), first + 1),
                      .last = last + 1};
    if (range.first <= range.last) {
      auto detection = RunDetector(*r.detector, series, range);
      if (detection.ok()) {
        for (int k = range.first; k <= range.last; ++k) {
          size_t at = static_cast<size_t>(k - 1 - first);
          eval[at] = detection->periods[static_cast<size_t>(k - range.first)];
          evaluated_at[at] = true;
        }
      } else {
        // A fit the detector refuses (for example weights that are not positive in a sparse
        // baseline) fails the whole range: the periods are evaluated one by one instead, and
        // those the detector refuses are left unevaluated (and counted).
        for (int k = range.first; k <= range.last; ++k) {
          auto one = RunDetector(*r.detector, series, PeriodRange{.first = k, .last = k});
          size_t at = static_cast<size_t>(k - 1 - first);
          if (!one.ok()) {
            ++out.unevaluated;
            continue;
          }
          eval[at] = one->periods[0];
          evaluated_at[at] = true;
        }
      }
    }
  }
  for (size_t i = 0; i < evaluated; ++i) {
    const int t = first + static_cast<int>(i);
    const double count = counts[static_cast<size_t>(t)];
    if (with_rows) {
      SeriesRow row;
      row.indicator = name;
      row.place = key.place;
      row.band = key.band;
      row.period = view.PeriodLabel(g, t);
      row.count = count;
      row.population = population[static_cast<size_t>(t)];
      Interval ci = PoissonInterval(count, r.confidence);
      const double scale = row.population > 0 ? kPer / row.population : std::nan("");
      row.incidence = count * scale;
      row.ci_low = ci.low * scale;
      row.ci_high = ci.high * scale;
      row.expected = eval[i].expected;
      row.threshold = eval[i].upper;
      if (evaluated_at[i]) row.alarm = eval[i].alarm;
      out.rows.push_back(std::move(row));
    }
    if (!eval[i].alarm) continue;
    bool continues = i > 0 && eval[i - 1].alarm && !out.alerts.empty();
    if (!continues) {
      Alert a;
      a.indicator = name;
      a.place = key.place;
      a.band = key.band;
      a.since = view.PeriodLabel(g, t);
      out.alerts.push_back(std::move(a));
    }
    Alert& a = out.alerts.back();
    a.period = view.PeriodLabel(g, t);
    ++a.periods;
    a.observed = count;
    a.expected = eval[i].expected;
    a.threshold = eval[i].upper;
    a.current = i + 1 == evaluated;
  }
  return out;
}

std::string Number(double v) {
  if (std::isnan(v)) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

// A released number, or the text disclosure control put in its place.
std::string Text(double v, const std::string& text) { return text.empty() ? Number(v) : text; }
nlohmann::json Released(double v, const std::string& text) {
  return text.empty() ? nlohmann::json(v) : nlohmann::json(text);
}

nlohmann::json JsonNumber(double v) {
  if (std::isnan(v) || std::isinf(v)) return nullptr;
  return v;
}

Status ParamError(const std::string& param, const std::string& message) {
  return Status::InvalidArgument(param + ": " + message);
}

// A day ("2024-03-04") or an ISO week ("2024-W10": its Monday, or with `end` its Sunday).
Result<Days> DayOrWeek(const std::string& param, const std::string& text, bool end) {
  if (text.find('W') != std::string::npos) {
    auto week = ParseIsoWeek(text);
    if (!week.ok()) return ParamError(param, week.status().message());
    return IsoWeekMonday(*week) + (end ? 6 : 0);
  }
  auto day = ParseIsoDate(text);
  if (!day.ok()) return ParamError(param, "expected YYYY-MM-DD or YYYY-Www, got '" + text + "'");
  return *day;
}

}  // namespace

Result<SurveilRequest> ParseSurveilRequest(const std::vector<Indicator>& indicators,
                                           const SurveilParams& params) {
  SurveilRequest r;
  for (const std::string& name : params.indicators) {
    auto it = std::find_if(indicators.begin(), indicators.end(),
                           [&](const Indicator& i) { return i.name == name; });
    if (it == indicators.end()) {
      std::string list;
      for (const Indicator& i : indicators) list += (list.empty() ? "" : ", ") + i.name;
      return ParamError("indicator", "unknown indicator '" + name + "' (configured: " + list + ")");
    }
    r.indicators.push_back(static_cast<int>(it - indicators.begin()));
  }
  auto level = LevelFromName(params.level);
  if (!level) {
    return ParamError("level",
                      "expected nation, region or departement, got '" + params.level + "'");
  }
  r.level = *level;
  for (const std::string& code : params.places) {
    auto place = PlaceFromCode(r.level, code);
    if (!place.ok()) return ParamError("place", place.status().message());
    r.places.push_back(*place);
  }
  if (!params.bands.empty()) r.bands.clear();
  for (const std::string& label : params.bands) {
    auto band = BandFromLabel(label);
    if (!band) {
      return ParamError("age-band", "expected 0-4, 5-14, 15-64, 65+ or all, got '" + label + "'");
    }
    r.bands.push_back(*band);
  }
  if (params.period == "week") {
    r.granularity = Granularity::kWeek;
  } else if (params.period == "day") {
    r.granularity = Granularity::kDay;
  } else {
    return ParamError("period", "expected week or day, got '" + params.period + "'");
  }
  if (!params.from.empty()) r.from = P4DP_TRY(DayOrWeek("from", params.from, false));
  if (!params.to.empty()) r.to = P4DP_TRY(DayOrWeek("to", params.to, true));
  if (r.from && r.to && *r.from > *r.to) return ParamError("from", "is after to");
  std::string algorithm = params.algorithm.empty() ? kDefaultAlgorithm : params.algorithm;
  if (algorithm != "none") {
    auto spec = MakeDetector(algorithm, params.controls);
    if (!spec.ok()) return ParamError("algorithm", spec.status().message());
    r.detector = *spec;
  } else if (!params.controls.empty()) {
    return ParamError("algorithm", "controls given without a detector");
  }
  return r;
}

Result<SurveilResult> Surveil(const SeriesStore::View& view,
                              const std::vector<Indicator>& indicators,
                              const SurveilRequest& request, bool with_rows) {
  std::vector<SeriesKey> keys;
  std::vector<int> chosen = request.indicators;
  if (chosen.empty()) {
    for (size_t i = 0; i < indicators.size(); ++i) chosen.push_back(static_cast<int>(i));
  }
  std::vector<Place> places = request.places.empty() ? PlacesOf(request.level) : request.places;
  for (int i : chosen) {
    for (const Place& p : places) {
      for (int b : request.bands) keys.push_back({i, p, b});
    }
  }
  std::vector<SeriesOutcome> outcomes(keys.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t k = next++; k < keys.size(); k = next++) {
      outcomes[k] = Evaluate(view, indicators, request, keys[k], with_rows);
    }
  };
  std::vector<std::thread> threads;
  for (int t = 1; t < std::max(1, request.threads); ++t) threads.emplace_back(work);
  work();
  for (std::thread& t : threads) t.join();
  SurveilResult result;
  if (request.detector) result.algorithm = request.detector->algorithm;
  for (SeriesOutcome& o : outcomes) {
    result.unevaluated += o.unevaluated;
    for (SeriesRow& row : o.rows) result.rows.push_back(std::move(row));
    for (Alert& a : o.alerts) result.alerts.push_back(std::move(a));
  }
  return result;
}

std::string RowsToCsv(const std::vector<SeriesRow>& rows) {
  std::string out =
      "indicator,level,place,age_band,period,count,population,incidence,ci_low,ci_high,expected,"
      "threshold,alarm\n";
  for (const SeriesRow& r : rows) {
    out += r.indicator + "," + std::string(LevelName(r.place.level)) + "," + PlaceCode(r.place) +
           "," + std::string(BandLabel(r.band)) + "," + r.period + "," +
           Text(r.count, r.count_text) + "," + Text(r.population, r.population_text) + "," +
           Number(r.incidence) + "," + Number(r.ci_low) + "," + Number(r.ci_high) + "," +
           Number(r.expected) + "," + Number(r.threshold) + "," +
           (r.alarm ? (*r.alarm ? "1" : "0") : "") + "\n";
  }
  return out;
}

std::string AlertsToCsv(const std::vector<Alert>& alerts) {
  std::string out =
      "indicator,level,place,age_band,since,period,periods,observed,expected,threshold,current\n";
  for (const Alert& a : alerts) {
    out += a.indicator + "," + std::string(LevelName(a.place.level)) + "," + PlaceCode(a.place) +
           "," + std::string(BandLabel(a.band)) + "," + a.since + "," + a.period + "," +
           std::to_string(a.periods) + "," + Text(a.observed, a.observed_text) + "," +
           Number(a.expected) + "," + Number(a.threshold) + "," + (a.current ? "1" : "0") + "\n";
  }
  return out;
}

std::string RowsToJson(const std::vector<SeriesRow>& rows) {
  nlohmann::json out = nlohmann::json::array();
  for (const SeriesRow& r : rows) {
    out.push_back({{"indicator", r.indicator},
                   {"level", LevelName(r.place.level)},
                   {"place", PlaceCode(r.place)},
                   {"age_band", BandLabel(r.band)},
                   {"period", r.period},
                   {"count", Released(r.count, r.count_text)},
                   {"population", Released(r.population, r.population_text)},
                   {"incidence", JsonNumber(r.incidence)},
                   {"ci_low", JsonNumber(r.ci_low)},
                   {"ci_high", JsonNumber(r.ci_high)},
                   {"expected", JsonNumber(r.expected)},
                   {"threshold", JsonNumber(r.threshold)},
                   {"alarm", r.alarm ? nlohmann::json(*r.alarm) : nlohmann::json(nullptr)}});
  }
  return out.dump();
}

std::string AlertsToJson(const std::vector<Alert>& alerts) {
  nlohmann::json out = nlohmann::json::array();
  for (const Alert& a : alerts) {
    out.push_back({{"indicator", a.indicator},
                   {"level", LevelName(a.place.level)},
                   {"place", PlaceCode(a.place)},
                   {"age_band", BandLabel(a.band)},
                   {"since", a.since},
                   {"period", a.period},
                   {"periods", a.periods},
                   {"observed", Released(a.observed, a.observed_text)},
                   {"expected", JsonNumber(a.expected)},
                   {"threshold", JsonNumber(a.threshold)},
                   {"current", a.current}});
  }
  return out.dump();
}

std::string IndicatorsToJson(const std::vector<Indicator>& indicators) {
  nlohmann::json out = nlohmann::json::array();
  for (const Indicator& i : indicators) {
    nlohmann::json codes = nlohmann::json::array();
    for (const query::CodeRef& c : i.codes) {
      nlohmann::json code = {{"system", c.system}, {"code", c.code}};
      if (c.descendants) code["descendants"] = true;
      if (c.exclude) code["exclude"] = true;
      codes.push_back(code);
    }
    out.push_back({{"name", i.name},
                   {"title", i.title},
                   {"domain", i.domain ? nlohmann::json(domain::DomainName(*i.domain))
                                       : nlohmann::json("any")},
                   {"codes", codes}});
  }
  return out.dump();
}

}  // namespace p4dp::surveil
