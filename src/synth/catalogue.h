// The medical and demographic content of the synthetic population: the French age and sex
// pyramid, chronic conditions with their prevalence, codes, treatments and follow-up
// measurements, the seasonal indicators, and the lists names and addresses are drawn from.
// Static constant data; thread-safe.
#pragma once

#include <array>
#include <span>
#include <string_view>

namespace p4dp::synth {

// Share (percent of the whole population) of each 10-year band (0-9 ... 90+) by sex,
// France, 1 January 2024 (INSEE, "pyramide des âges"; see docs/sources.md).
struct PyramidBand {
  double male_percent;
  double female_percent;
};
std::span<const PyramidBand, 10> FrenchPyramid();

// A coding in one system.
struct Coding {
  std::string_view system_uri;
  std::string_view code;
  std::string_view display;
};

struct Drug {
  std::string_view key;  // "metformin"
  Coding atc;
  Coding cip13;  // a real CIP7 presentation of the same ATC class, as a CIP13 (see docs)
};

enum class Condition : uint8_t {
  kHypertension,
  kType2Diabetes,
  kDyslipidaemia,
  kAsthma,
  kCopd,
  kDepression,
  kHypothyroidism,
  kAtrialFibrillation,
  kChronicKidneyDisease,
  kStroke,  // a complication and a history, not counted as a chronic condition
};
inline constexpr int kChronicConditionCount = 9;  // the first nine above
inline constexpr int kConditionCount = 10;

struct ConditionInfo {
  Condition condition;
  std::string_view key;  // "hypertension"
  Coding icpc2;
  Coding icd10;
  // Probability of having been diagnosed by a given age, per 10-year band (0-9 ... 90+).
  std::array<double, 10> prevalence_by_band;
  double female_factor;  // multiplies the probability for women
  double male_factor;    // and for men
  // The published range of adult prevalence in France (percent), see docs/sources.md.
  double published_min_percent;
  double published_max_percent;
  std::array<std::string_view, 2> drugs;  // first-line drug keys ("" when none)
};
std::span<const ConditionInfo, kConditionCount> Conditions();
const ConditionInfo& InfoOf(Condition c);
const Drug& FindDrug(std::string_view key);

// Seasonal and epidemic indicators: what a consultation for them is coded with.
enum class Indicator : uint8_t { kIli, kGastro, kBronchiolitis, kVaricella, kCovid, kMeasles };
inline constexpr int kIndicatorCount = 6;

struct IndicatorInfo {
  Indicator indicator;
  std::string_view key;  // "ili"
  Coding icpc2;
  Coding icd10;
  double baseline_per_100k_week;  // incidence outside epidemics
  // Relative risk by surveillance age band (0-4, 5-14, 15-64, 65+), before normalisation.
  std::array<double, 4> age_risk;
  std::string_view drug;  // drug prescribed at some of these consultations ("" if none)
};
std::span<const IndicatorInfo, kIndicatorCount> Indicators();
const IndicatorInfo& InfoOf(Indicator i);

// LOINC codes of follow-up measurements.
struct Lab {
  Coding loinc;
  std::string_view unit;       // UCUM
  std::string_view unit_text;  // as shown
};
struct Labs {
  Lab hba1c, ldl, creatinine, egfr, systolic, diastolic, bp_panel, weight, bmi;
};
const Labs& LabCodes();

// Everyday consultation reasons outside chronic follow-up and epidemics.
struct RoutineReason {
  Coding icpc2;
  Coding icd10;
  double weight;
  std::string_view drug;
};
std::span<const RoutineReason> RoutineReasons();

struct Procedures {
  Coding ecg;
  Coding cervical_smear;
};
const Procedures& ProcedureCodes();

struct Vaccine {
  Coding atc;
  Coding cvx;
  Coding cip13;
};
const Vaccine& FluVaccine();

// Name and address lists (synthetic people get common French names).
std::span<const std::string_view> FemaleGivenNames();
std::span<const std::string_view> MaleGivenNames();
std::span<const std::string_view> FamilyNames();
std::span<const std::string_view> StreetNames();
std::span<const std::string_view> TownNames();

// System URIs written by the generator.
inline constexpr std::string_view kInsNirSystem = "urn:oid:1.2.250.1.213.1.4.8";
inline constexpr std::string_view kRegistrationExtension =
    "https://p4dp.fr/fhir/StructureDefinition/practice-registration";
inline constexpr std::string_view kLocalIdSystemPrefix = "https://p4dp.fr/fhir/local-id/";

}  // namespace p4dp::synth
