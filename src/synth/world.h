// The world a synthetic population lives in, drawn once from the seed before any patient:
// practices, the weekly incidence of each seasonal indicator per département (epidemics
// with their timing, size and spread), and injected local outbreaks. Built by one thread,
// then read-only: safe to share between the patient workers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/date.h"
#include "synth/catalogue.h"
#include "synth/synth.h"

namespace p4dp::synth {

struct Practice {
  std::string id;
  int departement = 0;  // index into domain::AllDepartements()
  std::string name;
  std::string postal_code;
  std::string town;
};

// One epidemic of an indicator in one season, for the truth file.
struct Epidemic {
  Indicator indicator;
  std::string season;        // "2019-2020": the season whose July-June year holds the peak
  IsoWeek start;             // first and last week the national expected excess incidence
  IsoWeek end;               // reaches the indicator's baseline
  double peak_per_100k = 0;  // national expected peak incidence
};

struct Outbreak {
  Indicator indicator;
  int departement = 0;
  Days first_day = 0;
  Days last_day = 0;
  double attack_rate = 0;  // probability for each registered resident over the window
};

class World {
 public:
  static World Build(const SynthOptions& options);

  Days from() const { return from_; }
  Days to() const { return to_; }
  Days first_monday() const { return first_monday_; }
  int weeks() const { return weeks_; }
  int WeekOf(Days day) const { return (day - first_monday_) / 7; }

  const std::vector<Practice>& practices() const { return practices_; }
  // A practice of the département (by index), drawn with `u` uniform in [0, 1).
  int PracticeIn(int departement, double u) const;
  // A département drawn by population with `u` uniform in [0, 1).
  int DrawDepartement(double u) const;
  // Share of the population living in a département.
  double PopulationShare(int departement) const { return population_share_[departement]; }

  // Weekly probability of a consultation for `indicator`, for a person in a département,
  // week and surveillance age band (bronchiolitis: per infant under two, 0 otherwise).
  double WeeklyRate(Indicator indicator, int departement, int week, int age_band) const {
    return rates_[Slot(indicator, departement, week)] *
           age_factor_[static_cast<size_t>(indicator)][static_cast<size_t>(age_band)];
  }

  const std::vector<Epidemic>& epidemics() const { return epidemics_; }
  const std::vector<Outbreak>& outbreaks() const { return outbreaks_; }

 private:
  size_t Slot(Indicator indicator, int departement, int week) const {
    return (static_cast<size_t>(indicator) * departement_count_ +
            static_cast<size_t>(departement)) *
               static_cast<size_t>(weeks_) +
           static_cast<size_t>(week);
  }
  void BuildPractices(const SynthOptions& options, uint64_t seed);
  void BuildSeasons(uint64_t seed);
  void BuildOutbreaks(const SynthOptions& options, uint64_t seed);

  Days from_ = 0, to_ = 0, first_monday_ = 0;
  int weeks_ = 0;
  size_t departement_count_ = 0;
  std::vector<double> population_share_;
  std::vector<double> population_cumulative_;
  std::vector<Practice> practices_;
  std::vector<std::vector<int>> practices_by_departement_;
  std::vector<double> rates_;  // per person per week, by indicator, département, week
  double age_factor_[kIndicatorCount][4] = {};
  std::vector<Epidemic> epidemics_;
  std::vector<Outbreak> outbreaks_;
};

// Share of the population in each surveillance age band (0-4, 5-14, 15-64, 65+), from the
// pyramid, assuming ages spread evenly within each 10-year band.
std::array<double, 4> AgeBandShares();

// A 16-hex-digit identifier, deterministic in (seed, salt, n).
std::string HexId(uint64_t seed, uint64_t salt, uint64_t n);

}  // namespace p4dp::synth
