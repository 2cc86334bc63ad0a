#include "synth/world.h"

#include <algorithm>
#include <cmath>

#include "base/random.h"
#include "domain/departement.h"

namespace p4dp::synth {
namespace {

// Salts that separate the random streams drawn from one seed.
constexpr uint64_t kPracticeSalt = 0x70726163;
constexpr uint64_t kSeasonSalt = 0x73656173;
constexpr uint64_t kOutbreakSalt = 0x6f757462;
constexpr uint64_t kPracticeIdSalt = 0x6f726769;

constexpr int kPatientsPerPractice = 1500;

// The shape of one epidemic wave in a département: a Gaussian bump over weeks.
struct Wave {
  double center_week;  // national centre, in week indices since first_monday
  double sigma_weeks;
  double peak_per_100k;  // amplitude for a département with factor 1
  double lag_weeks_max;  // départements start up to this many weeks after the origin region
};

double Bump(double week, double center, double sigma) {
  double z = (week - center) / sigma;
  return std::exp(-0.5 * z * z);
}

std::string SeasonLabel(int first_year) {
  return std::to_string(first_year) + "-" + std::to_string(first_year + 1);
}

// The season (July-June) a day belongs to, by its first year.
int SeasonOf(Days day) {
  YearMonthDay ymd = ToYearMonthDay(day);
  return ymd.month >= 7 ? ymd.year : ymd.year - 1;
}

struct IndicatorSeason {
  Indicator indicator;
  int start_week_min;   // ISO week of the national start, earliest (in the season's first year
  int start_week_span;  // when > 26, else in its second year), and how many weeks it varies
  double sigma_min, sigma_max;
  double peak_min, peak_max;  // per 100,000 a week (bronchiolitis: per 100,000 infants)
  double lag_weeks_max;
};

// ILI starts between ISO weeks 46 and 3; gastroenteritis peaks around the new year;
// bronchiolitis starts in October; varicella peaks in spring.
constexpr IndicatorSeason kSeasons[] = {
    {Indicator::kIli, 46, 10, 1.3, 1.9, 500, 1150, 3},
    {Indicator::kGastro, 47, 6, 1.5, 2.2, 180, 420, 2},
    {Indicator::kBronchiolitis, 40, 5, 2.0, 2.6, 1500, 3000, 2},
    {Indicator::kVaricella, 5, 6, 3.0, 4.0, 30, 60, 2},
};

// COVID-19 waves in France, roughly as they happened: centre week, spread and size.
struct CovidWave {
  int iso_year, iso_week;
  double sigma_weeks, peak_per_100k;
};
constexpr CovidWave kCovidWaves[] = {
    {2020, 13, 1.5, 300}, {2020, 44, 2.0, 450}, {2021, 14, 2.5, 250}, {2021, 33, 2.0, 150},
    {2022, 3, 2.0, 1100}, {2022, 28, 2.0, 350}, {2022, 45, 2.0, 200}, {2023, 1, 2.0, 100},
    {2023, 51, 2.5, 150}, {2024, 30, 2.5, 80},
};
constexpr Days kCovidFirstDay = 18'322;  // 2020-03-01

}  // namespace

std::array<double, 4> AgeBandShares() {
  auto pyramid = FrenchPyramid();
  double band[10];
  double total = 0;
  for (size_t i = 0; i < 10; ++i) {
    band[i] = pyramid[i].male_percent + pyramid[i].female_percent;
    total += band[i];
  }
  std::array<double, 4> shares = {
      0.5 * band[0], 0.5 * band[0] + 0.5 * band[1],
      0.5 * band[1] + band[2] + band[3] + band[4] + band[5] + 0.5 * band[6],
      0.5 * band[6] + band[7] + band[8] + band[9]};
  for (double& s : shares) s /= total;
  return shares;
}

std::string HexId(uint64_t seed, uint64_t salt, uint64_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t v = MixSeed(seed ^ salt, n);
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<size_t>(i)] = kHex[v & 15];
    v >>= 4;
  }
  return out;
}

World World::Build(const SynthOptions& options) {
  World w;
  w.from_ = options.from;
  w.to_ = options.to;
  w.first_monday_ = options.from - IsoWeekday(options.from);
  w.weeks_ = (options.to - w.first_monday_) / 7 + 1;
  auto deps = domain::AllDepartements();
  w.departement_count_ = deps.size();
  double total = 0;
  for (const auto& d : deps) total += d.population;
  double running = 0;
  for (const auto& d : deps) {
    w.population_share_.push_back(d.population / total);
    running += d.population / total;
    w.population_cumulative_.push_back(running);
  }
  w.population_cumulative_.back() = 1.0;

  auto shares = AgeBandShares();
  for (const auto& info : Indicators()) {
    double mean = 0;
    for (size_t b = 0; b < 4; ++b) mean += shares[b] * info.age_risk[b];
    auto i = static_cast<size_t>(info.indicator);
    for (size_t b = 0; b < 4; ++b) {
      // Bronchiolitis rates are per infant already; others are normalised so the
      // population-weighted mean of the age factors is one.
      w.age_factor_[i][b] = info.indicator == Indicator::kBronchiolitis ? (b == 0 ? 1.0 : 0.0)
                                                                        : info.age_risk[b] / mean;
    }
  }
  w.BuildPractices(options, MixSeed(options.seed, kPracticeSalt));
  w.BuildSeasons(MixSeed(options.seed, kSeasonSalt));
  w.BuildOutbreaks(options, MixSeed(options.seed, kOutbreakSalt));
  return w;
}

int World::DrawDepartement(double u) const {
  auto it = std::upper_bound(population_cumulative_.begin(), population_cumulative_.end(), u);
  auto index = static_cast<int>(it - population_cumulative_.begin());
  return std::min(index, static_cast<int>(departement_count_) - 1);
}

int World::PracticeIn(int departement, double u) const {
  const auto& list = practices_by_departement_[static_cast<size_t>(departement)];
  if (list.empty()) return departement % static_cast<int>(practices_.size());
  auto k = static_cast<size_t>(u * static_cast<double>(list.size()));
  return list[std::min(k, list.size() - 1)];
}

void World::BuildPractices(const SynthOptions& options, uint64_t seed) {
  Xoshiro256 rng(seed);
  int64_t count = options.practices > 0
                      ? options.practices
                      : std::max<int64_t>(static_cast<int64_t>(departement_count_),
                                          options.patients / kPatientsPerPractice);
  auto deps = domain::AllDepartements();
  practices_by_departement_.assign(departement_count_, {});
  auto towns = TownNames();
  for (int64_t i = 0; i < count; ++i) {
    // One practice per département first (in code order), then by population.
    int dep = i < static_cast<int64_t>(departement_count_) ? static_cast<int>(i)
                                                           : DrawDepartement(rng.Uniform());
    Practice p;
    p.id = HexId(options.seed, kPracticeIdSalt, static_cast<uint64_t>(i));
    p.departement = dep;
    p.town = std::string(towns[rng.Below(towns.size())]);
    p.name =
        (rng.Bernoulli(0.3) ? "Maison de santé pluriprofessionnelle de " : "Cabinet médical de ") +
        p.town;
    std::string_view code = deps[static_cast<size_t>(dep)].code;
    p.postal_code = std::string(code);
    if (code == "2A") {
      p.postal_code =
          "20" + std::to_string(rng.Between(0, 1)) + std::to_string(rng.Between(1, 9)) + "0";
    } else if (code == "2B") {
      p.postal_code =
          "20" + std::to_string(rng.Between(2, 6)) + std::to_string(rng.Between(0, 9)) + "0";
    } else {
      while (p.postal_code.size() < 4) p.postal_code += static_cast<char>('0' + rng.Between(0, 9));
      p.postal_code += '0';
    }
    practices_by_departement_[static_cast<size_t>(dep)].push_back(static_cast<int>(i));
    practices_.push_back(std::move(p));
  }
}

void World::BuildSeasons(uint64_t seed) {
  Xoshiro256 rng(seed);
  const size_t cells =
      static_cast<size_t>(kIndicatorCount) * departement_count_ * static_cast<size_t>(weeks_);
  rates_.assign(cells, 0.0);
  auto deps = domain::AllDepartements();
  auto regions = domain::AllRegions();
  // Baselines (COVID only from March 2020).
  for (const auto& info : Indicators()) {
    for (size_t d = 0; d < departement_count_; ++d) {
      for (int wk = 0; wk < weeks_; ++wk) {
        Days monday = first_monday_ + 7 * wk;
        double base = info.baseline_per_100k_week;
        if (info.indicator == Indicator::kCovid) base = monday >= kCovidFirstDay ? 15 : 0;
        if (info.indicator == Indicator::kBronchiolitis) base = 100;  // per 100,000 infants
        rates_[Slot(info.indicator, static_cast<int>(d), wk)] = base / 1e5;
      }
    }
  }
  // Adds one wave to every département's series and records its truth.
  auto add_wave = [&](Indicator indicator, const Wave& wave, const std::string& season,
                      double baseline_per_100k) {
    std::vector<double> region_lag(regions.size());
    size_t origin = rng.Below(regions.size());
    for (size_t r = 0; r < regions.size(); ++r) {
      region_lag[r] = r == origin ? 0.0 : rng.Uniform() * wave.lag_weeks_max;
    }
    std::vector<double> national(static_cast<size_t>(weeks_), 0.0);
    for (size_t d = 0; d < departement_count_; ++d) {
      size_t r = 0;
      while (r < regions.size() && regions[r].code != deps[d].region_code) ++r;
      double lag = region_lag[r % regions.size()] + (rng.Bernoulli(0.3) ? 1.0 : 0.0);
      double factor = std::exp(rng.Normal(0.0, 0.2));
      double center = wave.center_week + lag;
      for (int wk = 0; wk < weeks_; ++wk) {
        double excess = wave.peak_per_100k * factor * Bump(wk, center, wave.sigma_weeks);
        rates_[Slot(indicator, static_cast<int>(d), wk)] += excess / 1e5;
        national[static_cast<size_t>(wk)] += population_share_[d] * excess;
      }
    }
    int first = -1, last = -1;
    double peak = 0;
    for (int wk = 0; wk < weeks_; ++wk) {
      double e = national[static_cast<size_t>(wk)];
      peak = std::max(peak, e);
      if (e >= baseline_per_100k) {
        if (first < 0) first = wk;
        last = wk;
      }
    }
    if (first < 0) return;  // the wave lies outside the simulated period
    epidemics_.push_back({indicator, season, ToIsoWeek(first_monday_ + 7 * first),
                          ToIsoWeek(first_monday_ + 7 * last), peak + baseline_per_100k});
  };
  int first_season = SeasonOf(from_) - 1;
  int last_season = SeasonOf(to_);
  for (int season = first_season; season <= last_season; ++season) {
    for (const IndicatorSeason& s : kSeasons) {
      int week =
          s.start_week_min + static_cast<int>(rng.Below(static_cast<uint64_t>(s.start_week_span)));
      int year = s.start_week_min > 26 ? season : season + 1;
      int weeks_in_year = IsoWeeksInYear(year);
      if (week > weeks_in_year) {
        week -= weeks_in_year;
        ++year;
      }
      Days start = IsoWeekMonday({year, week});
      double sigma = s.sigma_min + rng.Uniform() * (s.sigma_max - s.sigma_min);
      double peak = s.peak_min + rng.Uniform() * (s.peak_max - s.peak_min);
      // The national start is about 2.6 sigma before the centre of the origin region.
      double center = (start - first_monday_) / 7.0 + 2.6 * sigma;
      const auto& info = InfoOf(s.indicator);
      double baseline =
          s.indicator == Indicator::kBronchiolitis ? 100 : info.baseline_per_100k_week;
      add_wave(s.indicator, {center, sigma, peak, s.lag_weeks_max}, SeasonLabel(season), baseline);
    }
  }
  for (const CovidWave& c : kCovidWaves) {
    Days monday = IsoWeekMonday({c.iso_year, c.iso_week});
    double center = (monday - first_monday_) / 7.0;
    add_wave(Indicator::kCovid, {center, c.sigma_weeks, c.peak_per_100k, 1.5},
             SeasonLabel(SeasonOf(monday)), 15);
  }
}

void World::BuildOutbreaks(const SynthOptions& options, uint64_t seed) {
  Xoshiro256 rng(seed);
  // Outbreaks go where the population is large enough for them to be seen.
  constexpr double kPatientsInDepartementMin = 40;
  constexpr double kExpectedCases = 15;
  double years = (to_ - from_ + 1) / 365.25;
  int count = std::max(1, static_cast<int>(std::lround(1.5 * years)));
  struct Choice {
    Indicator indicator;
    double weight;
    int month_min, month_max;  // calendar months when it may start, off its season
  };
  static constexpr Choice kChoices[] = {{Indicator::kGastro, 0.3, 4, 9},
                                        {Indicator::kMeasles, 0.25, 1, 12},
                                        {Indicator::kVaricella, 0.25, 7, 11},
                                        {Indicator::kIli, 0.2, 5, 9}};
  for (int n = 0; n < count; ++n) {
    double u = rng.Uniform();
    const Choice* choice = &kChoices[0];
    for (const Choice& c : kChoices) {
      choice = &c;
      if (u < c.weight) break;
      u -= c.weight;
    }
    int dep = 0;
    for (int attempt = 0; attempt < 1000; ++attempt) {
      dep = DrawDepartement(rng.Uniform());
      if (static_cast<double>(options.patients) * population_share_[static_cast<size_t>(dep)] >=
          kPatientsInDepartementMin)
        break;
    }
    double expected =
        static_cast<double>(options.patients) * population_share_[static_cast<size_t>(dep)];
    double attack = std::clamp(kExpectedCases / expected, 0.02, 0.35);
    int length = static_cast<int>(rng.Between(14, 35));
    Days first = from_;
    for (int attempt = 0; attempt < 1000; ++attempt) {
      first = from_ + static_cast<Days>(rng.Below(static_cast<uint64_t>(to_ - from_ + 1)));
      int month = ToYearMonthDay(first).month;
      if (month >= choice->month_min && month <= choice->month_max && first + length - 1 <= to_)
        break;
    }
    outbreaks_.push_back({choice->indicator, dep, first, first + length - 1, attack});
  }
  std::sort(outbreaks_.begin(), outbreaks_.end(),
            [](const Outbreak& a, const Outbreak& b) { return a.first_day < b.first_day; });
}

}  // namespace p4dp::synth
