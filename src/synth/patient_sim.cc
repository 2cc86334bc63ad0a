#include "synth/patient_sim.h"

#include <algorithm>
#include <cmath>

#include "base/random.h"
#include "domain/departement.h"
#include "domain/patient.h"
#include "synth/json_out.h"

namespace p4dp::synth {
namespace {

constexpr uint64_t kPatientSalt = 0x70617469;
constexpr uint64_t kPatientIdSalt = 0x70696473;
constexpr Days kNever = 2'000'000'000;
constexpr double kDaysPerYear = 365.25;

constexpr double kBirthsPerYear = 0.011;         // share of the population born each year
constexpr double kLeavingPerYear = 0.02;         // registration ends (moved away, new GP)
constexpr double kMovingPerYear = 0.012;         // moves to another département, re-registers
constexpr double kTreatedShare = 0.85;           // diagnosed chronic conditions treated
constexpr double kFluVaccineCoverage65 = 0.55;   // 65 and over
constexpr double kFluVaccineCoverageRisk = 0.3;  // adults under 65 with a chronic condition

// Relative weights of consultation weekdays, Monday to Sunday.
constexpr double kWeekdayWeight[7] = {0.22, 0.19, 0.18, 0.17, 0.17, 0.07, 0.0};

struct Registration {
  int practice = 0;
  int departement = 0;
  Days start = 0;
  Days end = kNever;  // last registered day, inclusive
  std::string postal_code;
  std::string street;
  std::string town;
};

Days YearsToDays(double years) { return static_cast<Days>(std::lround(years * kDaysPerYear)); }

class PatientSim {
 public:
  PatientSim(const World& world, const SynthOptions& options, int64_t index, ChunkOutput& out)
      : world_(world),
        options_(options),
        out_(out),
        rng_(MixSeed(options.seed ^ kPatientSalt, static_cast<uint64_t>(index))),
        id_(HexId(options.seed, kPatientIdSalt, static_cast<uint64_t>(index))) {}

  void Run() {
    DrawDemography();
    DrawConditions();
    DrawControl();
    SimulateLife();
    EmitCare();
    EmitPatient();
    CountTruth();
  }

 private:
  // --- Demography -------------------------------------------------------------------------
  void DrawDemography() {
    const Days from = world_.from(), to = world_.to();
    double years = (to - from + 1) / kDaysPerYear;
    bool newborn = rng_.Bernoulli(kBirthsPerYear * years / (1 + kBirthsPerYear * years));
    auto pyramid = FrenchPyramid();
    double total = 0;
    for (const auto& b : pyramid) total += b.male_percent + b.female_percent;
    double u = rng_.Uniform() * total;
    int band = 9;
    male_ = false;
    for (int b = 0; b < 10; ++b) {
      const auto& row = pyramid[static_cast<size_t>(b)];
      if (u < row.male_percent) {
        band = b;
        male_ = true;
        break;
      }
      u -= row.male_percent;
      if (u < row.female_percent) {
        band = b;
        break;
      }
      u -= row.female_percent;
    }
    if (newborn) {
      birth_ = from + static_cast<Days>(rng_.Below(static_cast<uint64_t>(to - from + 1)));
    } else {
      double age =
          band < 9 ? band * 10 + rng_.Uniform() * 10 : std::min(105.0, 90 + rng_.Exponential(4.0));
      birth_ = from - 1 - YearsToDays(age);
    }
    YearMonthDay ymd = ToYearMonthDay(birth_);
    birth_year_ = ymd.year;
    birth_month_ = ymd.month;

    Registration reg;
    reg.departement = world_.DrawDepartement(rng_.Uniform());
    reg.practice = world_.PracticeIn(reg.departement, rng_.Uniform());
    if (newborn) {
      reg.start = std::min(to, birth_ + static_cast<Days>(rng_.Below(60)));
    } else if (rng_.Bernoulli(0.85)) {
      reg.start = std::max(birth_, from - static_cast<Days>(rng_.Below(15 * 365)));
    } else {
      reg.start = from + static_cast<Days>(rng_.Below(static_cast<uint64_t>(to - from + 1)));
    }
    DrawAddress(reg);
    registrations_.push_back(std::move(reg));
  }

  void DrawAddress(Registration& reg) {
    const Practice& p = world_.practices()[static_cast<size_t>(reg.practice)];
    auto streets = StreetNames();
    reg.street = std::to_string(rng_.Between(1, 120)) + " " +
                 std::string(streets[rng_.Below(streets.size())]);
    if (p.departement == reg.departement) {
      reg.postal_code = p.postal_code;
      reg.town = p.town;
      return;
    }
    // A practice outside the département (too few practices): an address of its own.
    std::string_view code = domain::AllDepartements()[static_cast<size_t>(reg.departement)].code;
    if (code == "2A") {
      reg.postal_code = "20" + std::to_string(rng_.Between(0, 1)) + "00";
    } else if (code == "2B") {
      reg.postal_code = "20" + std::to_string(rng_.Between(2, 6)) + "00";
    } else {
      reg.postal_code = std::string(code);
      while (reg.postal_code.size() < 5) reg.postal_code += '0';
    }
    auto towns = TownNames();
    reg.town = std::string(towns[rng_.Below(towns.size())]);
  }

  int AgeOn(Days day) const { return AgeInYears(birth_year_, birth_month_, day); }
  Days DayAtAge(double years) const { return birth_ + YearsToDays(years); }

  // --- Chronic conditions -------------------------------------------------------------------
  static double Prevalence(const ConditionInfo& info, int age, bool male) {
    if (age < 0) return 0;
    double p = info.prevalence_by_band[static_cast<size_t>(std::min(age / 10, 9))];
    return p * (male ? info.male_factor : info.female_factor);
  }

  void DrawConditions() {
    onset_.fill(kNever);
    const Days from = world_.from(), to = world_.to();
    int age_end = AgeOn(to), age_start = AgeOn(from);
    for (const ConditionInfo& info : Conditions()) {
      auto c = static_cast<size_t>(info.condition);
      double p_end = Prevalence(info, age_end, male_);
      if (!rng_.Bernoulli(p_end)) continue;
      double min_age = info.condition == Condition::kAsthma       ? 2
                       : info.condition == Condition::kDepression ? 12
                                                                  : 18;
      Days earliest = DayAtAge(min_age + rng_.Uniform() * 3);
      if (earliest > to) continue;
      double p_before = std::min(1.0, Prevalence(info, age_start, male_) / p_end);
      Days onset;
      if (info.condition == Condition::kStroke || rng_.Bernoulli(p_before)) {
        onset = from - 1 - YearsToDays(rng_.Exponential(6.0));
      } else {
        onset = from + static_cast<Days>(rng_.Below(static_cast<uint64_t>(to - from + 1)));
      }
      onset_[c] = std::max(onset, earliest);
    }
    for (size_t c = 0; c < onset_.size(); ++c) treated_[c] = rng_.Bernoulli(kTreatedShare);
    second_drug_ = rng_.Bernoulli(0.4);
  }

  bool Has(Condition c, Days day) const { return onset_[static_cast<size_t>(c)] <= day; }
  bool Treated(Condition c, Days day) const {
    auto i = static_cast<size_t>(c);
    return treated_[i] && recorded_[i] != kNever && recorded_[i] <= day;
  }

  // --- Physiology ---------------------------------------------------------------------------
  void DrawControl() {
    adherence_ = 0.5 + 0.5 * rng_.Uniform();
    sbp_base_ = 118 + rng_.Normal(0, 9);
    sbp_htn_ = 24 + rng_.Normal(0, 6);
    hba1c_base_ = 5.4 + rng_.Normal(0, 0.25);
    hba1c_diab_ = 2.8 + rng_.Normal(0, 0.9);
    ldl_base_ = 1.25 + rng_.Normal(0, 0.22);
    ldl_dys_ = 0.55 + rng_.Normal(0, 0.15);
    egfr_base_ = 105 + rng_.Normal(0, 8);
    height_m_ = male_ ? rng_.Normal(1.76, 0.07) : rng_.Normal(1.63, 0.06);
    bmi_ = 25.5 + rng_.Normal(0, 4.0) + (onset_[1] != kNever ? 3.0 : 0.0);
    bmi_ = std::clamp(bmi_, 16.0, 50.0);
  }

  double Sbp(Days day) const {
    double age = (day - birth_) / kDaysPerYear;
    double v = sbp_base_ + 0.35 * std::max(0.0, age - 40);
    if (Has(Condition::kHypertension, day)) {
      v += sbp_htn_;
      if (Treated(Condition::kHypertension, day)) v -= (10 + (second_drug_ ? 8 : 0)) * adherence_;
    }
    return v;
  }
  double Hba1c(Days day) const {
    double v = hba1c_base_;
    if (Has(Condition::kType2Diabetes, day)) {
      double years = (day - onset_[1]) / kDaysPerYear;
      v += hba1c_diab_ + 0.08 * years;
      if (Treated(Condition::kType2Diabetes, day))
        v -= (1.2 + (second_drug_ ? 0.7 : 0)) * adherence_;
    }
    return std::clamp(v, 4.2, 14.0);
  }
  double Ldl(Days day) const {
    double v = ldl_base_;
    if (Has(Condition::kDyslipidaemia, day)) {
      v += ldl_dys_;
      if (Treated(Condition::kDyslipidaemia, day)) v *= 1 - 0.4 * adherence_;
    }
    return std::clamp(v, 0.3, 3.5);
  }
  double Egfr(Days day) const {
    double age = (day - birth_) / kDaysPerYear;
    double v = egfr_base_ - 0.9 * std::max(0.0, age - 30);
    if (Has(Condition::kChronicKidneyDisease, day)) {
      v = std::min(v, 52.0 - 2.5 * (day - onset_[8]) / kDaysPerYear);
    }
    return std::clamp(v, 8.0, 140.0);
  }

  // --- Life events: deaths, complications, moves -------------------------------------------
  void SimulateLife() {
    const Days to = world_.to();
    constexpr Days kStep = 30;
    Registration* reg = &registrations_.back();
    for (Days day = std::max(world_.from(), reg->start); day <= to; day += kStep) {
      double age = (day - birth_) / kDaysPerYear;
      double step_years = kStep / kDaysPerYear;
      // Recorded-at-diagnosis approximations for treatment effects in the hazards.
      for (size_t c = 0; c < onset_.size(); ++c) {
        if (recorded_[c] == kNever && onset_[c] <= day) recorded_[c] = std::max(onset_[c], day);
      }
      if (rng_.Bernoulli(DeathHazard(age, day) * step_years)) {
        death_ = std::min(to, day + static_cast<Days>(rng_.Below(kStep)));
        reg->end = std::min(reg->end, death_);
        break;
      }
      if (!Has(Condition::kStroke, day) && rng_.Bernoulli(StrokeHazard(age, day) * step_years)) {
        onset_[9] = day + static_cast<Days>(rng_.Below(kStep));
      }
      if (!Has(Condition::kChronicKidneyDisease, day) &&
          rng_.Bernoulli(CkdHazard(day) * step_years)) {
        onset_[8] = day + static_cast<Days>(rng_.Below(kStep));
      }
      double mobility = age >= 18 && age < 35 ? 2.0 : 1.0;
      if (rng_.Bernoulli(kLeavingPerYear * step_years)) {
        reg->end = day;
        break;
      }
      if (rng_.Bernoulli(kMovingPerYear * mobility * step_years)) {
        Registration next;
        next.departement = world_.DrawDepartement(rng_.Uniform());
        next.practice = world_.PracticeIn(next.departement, rng_.Uniform());
        next.start = day + 1 + static_cast<Days>(rng_.Below(30));
        reg->end = day;
        DrawAddress(next);
        if (next.start > to) break;
        registrations_.push_back(std::move(next));
        reg = &registrations_.back();
      }
    }
    recorded_.fill(kNever);  // recomputed from the actual visits in EmitCare
  }

  double DeathHazard(double age, Days day) const {
    double q = std::exp(-10.6 + 0.093 * age);
    if (age < 1) q = 0.0035;
    q *= male_ ? 1.35 : 0.75;
    if (Has(Condition::kType2Diabetes, day)) q *= 1.5;
    if (Has(Condition::kChronicKidneyDisease, day)) q *= 1.7;
    if (Has(Condition::kCopd, day)) q *= 1.8;
    if (Has(Condition::kStroke, day)) q *= 2.0;
    if (Has(Condition::kAtrialFibrillation, day)) q *= 1.3;
    return std::min(q, 0.6);
  }
  double StrokeHazard(double age, Days day) const {
    if (age < 30) return 0;
    double h = 0.0015 * std::exp(0.07 * (age - 65)) * std::exp(0.035 * (Sbp(day) - 130));
    if (Has(Condition::kAtrialFibrillation, day)) {
      h *= Treated(Condition::kAtrialFibrillation, day) ? 1.5 : 4.0;
    }
    if (Has(Condition::kType2Diabetes, day)) h *= 1.5;
    return std::min(h, 0.5);
  }
  double CkdHazard(Days day) const {
    double h = 0;
    if (Has(Condition::kType2Diabetes, day)) h += 0.004 * std::exp(0.6 * (Hba1c(day) - 7));
    if (Has(Condition::kHypertension, day)) h += 0.003 * std::exp(0.04 * (Sbp(day) - 140));
    return std::min(h, 0.5);
  }

  // --- Care: visits and what they record ----------------------------------------------------
  struct Visit {
    Days day;
    int minute;
    int kind;    // 0 routine, 1 chronic follow-up, 2 acute indicator, 3 outbreak case
    int reason;  // routine reason index, or indicator
    const Registration* reg;
  };

  int DrawMinute() { return 8 * 60 + static_cast<int>(rng_.Below(11 * 4)) * 15; }

  Days DrawWeekday(Days monday) {
    double u = rng_.Uniform();
    for (int d = 0; d < 7; ++d) {
      if (u < kWeekdayWeight[d]) return monday + d;
      u -= kWeekdayWeight[d];
    }
    return monday;
  }

  void EmitCare() {
    std::vector<Visit> visits;
    for (const Registration& reg : registrations_) {
      Days start = std::max(reg.start, world_.from());
      Days end = std::min({reg.end, world_.to(), death_});
      if (start > end) continue;
      PlanVaccination(start, end);
      PlanRoutine(reg, start, end, visits);
      PlanFollowUp(reg, start, end, visits);
      PlanIndicators(reg, start, end, visits);
      PlanOutbreaks(reg, start, end, visits);
    }
    std::sort(visits.begin(), visits.end(), [](const Visit& a, const Visit& b) {
      return a.day != b.day ? a.day < b.day : a.minute < b.minute;
    });
    for (const Visit& v : visits) EmitVisit(v);
  }

  void PlanRoutine(const Registration& reg, Days start, Days end, std::vector<Visit>& visits) {
    Days day = start;
    for (;;) {
      int age = AgeOn(day);
      double per_year = age < 5 ? 4.0 : age < 15 ? 1.5 : age < 65 ? 2.0 : 3.0;
      day += 1 + static_cast<Days>(rng_.Exponential(kDaysPerYear / per_year));
      if (day > end) break;
      auto reasons = RoutineReasons();
      double total = 0;
      for (const auto& r : reasons) total += r.weight;
      double u = rng_.Uniform() * total;
      int reason = 0;
      for (size_t i = 0; i < reasons.size(); ++i) {
        reason = static_cast<int>(i);
        if (u < reasons[i].weight) break;
        u -= reasons[i].weight;
      }
      visits.push_back({day, DrawMinute(), 0, reason, &reg});
    }
  }

  void PlanFollowUp(const Registration& reg, Days start, Days end, std::vector<Visit>& visits) {
    Days first_onset = kNever;
    for (int c = 0; c < kConditionCount; ++c)
      first_onset = std::min(first_onset, onset_[static_cast<size_t>(c)]);
    if (first_onset > end) return;
    Days day = std::max(start, first_onset) + static_cast<Days>(rng_.Below(60));
    while (day <= end) {
      visits.push_back({day, DrawMinute(), 1, 0, &reg});
      day += 70 + static_cast<Days>(rng_.Below(45));
    }
  }

  void PlanIndicators(const Registration& reg, Days start, Days end, std::vector<Visit>& visits) {
    const Days under2 = DayAtAge(2), age5 = DayAtAge(5), age15 = DayAtAge(15), age65 = DayAtAge(65);
    for (int wk = std::max(0, world_.WeekOf(start));
         wk <= world_.WeekOf(end) && wk < world_.weeks(); ++wk) {
      Days monday = world_.first_monday() + 7 * wk;
      int band = monday < age5 ? 0 : monday < age15 ? 1 : monday < age65 ? 2 : 3;
      for (const IndicatorInfo& info : Indicators()) {
        if (info.indicator == Indicator::kBronchiolitis && monday >= under2) continue;
        double p = world_.WeeklyRate(info.indicator, reg.departement, wk, band);
        if (info.indicator == Indicator::kIli && VaccinatedFor(monday)) p *= 0.6;
        if (!(rng_.Uniform() < p)) continue;
        Days day = DrawWeekday(monday);
        if (day < start || day > end || day < birth_) continue;
        visits.push_back({day, DrawMinute(), 2, static_cast<int>(info.indicator), &reg});
      }
    }
  }

  void PlanOutbreaks(const Registration& reg, Days start, Days end, std::vector<Visit>& visits) {
    const auto& outbreaks = world_.outbreaks();
    for (size_t i = 0; i < outbreaks.size(); ++i) {
      const Outbreak& o = outbreaks[i];
      if (o.departement != reg.departement) continue;
      Days first = std::max(o.first_day, start), last = std::min(o.last_day, end);
      if (first > last || first < birth_) continue;
      // The attack rate is for the whole window; a partial stay gets its share.
      double share = (last - first + 1) / static_cast<double>(o.last_day - o.first_day + 1);
      if (!rng_.Bernoulli(o.attack_rate * share)) continue;
      Days day = first + static_cast<Days>(rng_.Below(static_cast<uint64_t>(last - first + 1)));
      if (IsoWeekday(day) == 6) day = day > first ? day - 1 : day + 1;
      if (day > last) continue;
      visits.push_back({day, DrawMinute(), 3, static_cast<int>(i), &reg});
      ++out_.outbreak_cases[i];
    }
  }

  bool VaccinatedFor(Days day) const {
    for (Days v : vaccinations_) {
      if (v <= day && day - v < 200) return true;
    }
    return false;
  }

  void PlanVaccination(Days start, Days end) {
    int first_year = ToYearMonthDay(start).year - 1;
    int last_year = ToYearMonthDay(end).year;
    for (int year = first_year; year <= last_year; ++year) {
      Days open = ToDays({year, 10, 15});
      int age = AgeOn(open);
      bool risk = age >= 18 && (Has(Condition::kType2Diabetes, open) ||
                                Has(Condition::kAsthma, open) || Has(Condition::kCopd, open));
      double p = age >= 65 ? kFluVaccineCoverage65 : risk ? kFluVaccineCoverageRisk : 0.0;
      if (p == 0 || !rng_.Bernoulli(p)) continue;
      Days day = open + static_cast<Days>(std::min(100.0, rng_.Exponential(20.0)));
      if (day < start || day > end) continue;
      vaccinations_.push_back(day);
      EmitImmunization(day);
    }
  }

  // --- Writing resources ----------------------------------------------------------------------
  std::string NextId(char kind) { return id_ + "-" + kind + std::to_string(++counter_); }

  // Starts a line of `type`; FinishLine ends it and may corrupt it (--defects).
  std::string& Begin(ResourceType type) {
    current_type_ = type;
    std::string& text = out_.text[static_cast<size_t>(type)];
    line_start_ = text.size();
    return text;
  }
  void FinishLine(const std::string& resource_id) {
    size_t t = static_cast<size_t>(current_type_);
    std::string& text = out_.text[t];
    text.push_back('\n');
    if (options_.defect_rate > 0 && current_type_ != ResourceType::kPatient &&
        rng_.Bernoulli(options_.defect_rate)) {
      auto first = static_cast<int>(rng_.Below(kDefectKindCount));
      for (int k = 0; k < kDefectKindCount; ++k) {
        auto kind = static_cast<DefectKind>((first + k) % kDefectKindCount);
        if (ApplyDefect(kind, text, line_start_)) {
          out_.defects.push_back({current_type_, out_.lines[t], resource_id, kind});
          break;
        }
      }
    }
    ++out_.lines[t];
  }

  void EmitVisit(const Visit& v) {
    const Practice& practice = world_.practices()[static_cast<size_t>(v.reg->practice)];
    std::string enc = NextId('e');
    {
      JsonOut j(Begin(ResourceType::kEncounter));
      bool home = AgeOn(v.day) >= 80 && rng_.Bernoulli(0.3);
      j.Raw("{\"resourceType\":\"Encounter\",\"id\":\"")
          .Raw(enc)
          .Raw("\",\"status\":\"finished\",\"subject\":")
          .Ref("Patient", id_)
          .Raw(",\"period\":{\"start\":")
          .DateTime(v.day, v.minute)
          .Raw(",\"end\":")
          .DateTime(v.day, v.minute + 15)
          .Raw(
              "},\"class\":{\"system\":\"http://terminology.hl7.org/CodeSystem/v3-ActCode\","
              "\"code\":\"")
          .Raw(home ? "HH\",\"display\":\"home health\"}" : "AMB\",\"display\":\"ambulatory\"}")
          .Raw(",\"type\":[{\"coding\":[")
          .CodingObject(home ? Coding{"http://snomed.info/sct", "439708006", "Home visit"}
                             : Coding{"http://snomed.info/sct", "11429006", "Consultation"})
          .Raw("]}],\"serviceProvider\":")
          .Ref("Organization", practice.id)
          .Raw("}");
      FinishLine(enc);
    }
    switch (v.kind) {
      case 0: EmitRoutine(v, enc); break;
      case 1: EmitFollowUp(v, enc); break;
      default: EmitAcute(v, enc); break;
    }
    RecordNewDiagnoses(v, enc);
  }

  void EmitCondition(const std::string& enc, const Coding& icpc2, const Coding& icd10, Days onset,
                     Days recorded, bool problem_list) {
    std::string cid = NextId('c');
    JsonOut j(Begin(ResourceType::kCondition));
    j.Raw("{\"resourceType\":\"Condition\",\"id\":\"").Raw(cid).Raw("\",");
    if (problem_list) j.Raw("\"onsetDateTime\":").Date(onset).Raw(",");
    j.Raw("\"recordedDate\":")
        .Date(recorded)
        .Raw(",\"subject\":")
        .Ref("Patient", id_)
        .Raw(",\"encounter\":")
        .Ref("Encounter", enc)
        .Raw(
            ",\"clinicalStatus\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/"
            "CodeSystem/condition-clinical\",\"code\":\"active\"}]},\"verificationStatus\":"
            "{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
            "condition-ver-status\",\"code\":\"confirmed\"}]},\"category\":[{\"coding\":[{"
            "\"system\":\"http://terminology.hl7.org/CodeSystem/condition-category\",\"code\":\"")
        .Raw(problem_list ? "problem-list-item" : "encounter-diagnosis")
        .Raw("\"}]}],\"code\":{\"coding\":[")
        .CodingObject(icpc2)
        .Raw(",")
        .CodingObject(icd10)
        .Raw("]}}");
    FinishLine(cid);
  }

  void EmitPrescription(const std::string& enc, Days day, const Drug& drug, int supply_days) {
    std::string mid = NextId('m');
    JsonOut j(Begin(ResourceType::kMedicationRequest));
    j.Raw("{\"resourceType\":\"MedicationRequest\",\"id\":\"")
        .Raw(mid)
        .Raw("\",\"authoredOn\":")
        .Date(day)
        .Raw(",\"status\":\"active\",\"intent\":\"order\",\"subject\":")
        .Ref("Patient", id_)
        .Raw(",\"encounter\":")
        .Ref("Encounter", enc)
        .Raw(",\"medicationCodeableConcept\":{\"coding\":[")
        .CodingObject(drug.atc)
        .Raw(",")
        .CodingObject(drug.cip13)
        .Raw("]},\"dispenseRequest\":{\"expectedSupplyDuration\":{\"value\":")
        .Int(supply_days)
        .Raw(",\"unit\":\"days\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"d\"}}}");
    FinishLine(mid);
  }

  void EmitQuantity(const std::string& enc, Days day, int minute, const Lab& lab, double value,
                    int decimals, std::string_view category) {
    std::string oid = NextId('o');
    JsonOut j(Begin(ResourceType::kObservation));
    j.Raw("{\"resourceType\":\"Observation\",\"id\":\"")
        .Raw(oid)
        .Raw("\",\"effectiveDateTime\":")
        .DateTime(day, minute)
        .Raw(",\"status\":\"final\",\"subject\":")
        .Ref("Patient", id_)
        .Raw(",\"encounter\":")
        .Ref("Encounter", enc)
        .Raw(
            ",\"category\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
            "observation-category\",\"code\":\"")
        .Raw(category)
        .Raw("\"}]}],\"code\":{\"coding\":[")
        .CodingObject(lab.loinc)
        .Raw("]},\"valueQuantity\":{\"value\":")
        .Fixed(value, decimals)
        .Raw(",\"unit\":")
        .Str(lab.unit_text)
        .Raw(",\"system\":\"http://unitsofmeasure.org\",\"code\":")
        .Str(lab.unit)
        .Raw("}}");
    FinishLine(oid);
  }

  void EmitBloodPressure(const std::string& enc, Days day, int minute) {
    const Labs& labs = LabCodes();
    double sbp = std::round(Sbp(day) + rng_.Normal(0, 7));
    double dbp = std::round(0.55 * sbp + rng_.Normal(8, 5));
    std::string oid = NextId('o');
    JsonOut j(Begin(ResourceType::kObservation));
    auto component = [&](const Lab& lab, double value) {
      j.Raw("{\"code\":{\"coding\":[")
          .CodingObject(lab.loinc)
          .Raw("]},\"valueQuantity\":{\"value\":")
          .Fixed(value, 0)
          .Raw(",\"unit\":\"mmHg\",\"system\":\"http://unitsofmeasure.org\",\"code\":\"mm[Hg]\"}}");
    };
    j.Raw("{\"resourceType\":\"Observation\",\"id\":\"")
        .Raw(oid)
        .Raw("\",\"effectiveDateTime\":")
        .DateTime(day, minute)
        .Raw(",\"status\":\"final\",\"subject\":")
        .Ref("Patient", id_)
        .Raw(",\"encounter\":")
        .Ref("Encounter", enc)
        .Raw(
            ",\"category\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
            "observation-category\",\"code\":\"vital-signs\"}]}],\"code\":{\"coding\":[")
        .CodingObject(labs.bp_panel.loinc)
        .Raw("]},\"component\":[");
    component(labs.systolic, sbp);
    j.Raw(",");
    component(labs.diastolic, dbp);
    j.Raw("]}");
    FinishLine(oid);
  }

  void EmitRoutine(const Visit& v, const std::string& enc) {
    const RoutineReason& r = RoutineReasons()[static_cast<size_t>(v.reason)];
    EmitCondition(enc, r.icpc2, r.icd10, v.day, v.day, false);
    if (!r.drug.empty() && rng_.Bernoulli(0.6)) EmitPrescription(enc, v.day, FindDrug(r.drug), 7);
    int age = AgeOn(v.day);
    if (age >= 18 && rng_.Bernoulli(0.4)) EmitBloodPressure(enc, v.day, v.minute);
    if (age >= 18 && rng_.Bernoulli(0.15)) EmitWeight(enc, v);
    if (!male_ && age >= 25 && age < 65 && v.day - last_smear_ > 3 * 365 && rng_.Bernoulli(0.15)) {
      last_smear_ = v.day;
      EmitProcedure(enc, v.day, v.minute, ProcedureCodes().cervical_smear);
    }
  }

  void EmitWeight(const std::string& enc, const Visit& v) {
    const Labs& labs = LabCodes();
    double bmi = bmi_ + rng_.Normal(0, 0.4);
    EmitQuantity(enc, v.day, v.minute, labs.weight, bmi * height_m_ * height_m_, 1, "vital-signs");
    EmitQuantity(enc, v.day, v.minute, labs.bmi, bmi, 1, "vital-signs");
  }

  void EmitFollowUp(const Visit& v, const std::string& enc) {
    const Days day = v.day;
    // The condition followed at this visit: the active ones in turn.
    std::vector<Condition> active;
    for (const ConditionInfo& info : Conditions()) {
      if (Has(info.condition, day) && recorded_[static_cast<size_t>(info.condition)] < day) {
        active.push_back(info.condition);
      }
    }
    if (!active.empty()) {
      const ConditionInfo& main = InfoOf(active[static_cast<size_t>(counter_) % active.size()]);
      EmitCondition(enc, main.icpc2, main.icd10, day, day, false);
    }
    for (Condition c : active) {
      const ConditionInfo& info = InfoOf(c);
      if (!treated_[static_cast<size_t>(c)] || info.drugs[0].empty()) continue;
      EmitPrescription(enc, day, FindDrug(info.drugs[0]), 90);
      bool second = c == Condition::kAtrialFibrillation ||
                    (second_drug_ && c != Condition::kDepression && c != Condition::kAsthma);
      if (second && !info.drugs[1].empty() && info.drugs[1] != info.drugs[0]) {
        EmitPrescription(enc, day, FindDrug(info.drugs[1]), 90);
      }
    }
    EmitFollowUpMeasures(v, enc);
  }

  void EmitFollowUpMeasures(const Visit& v, const std::string& enc) {
    const Labs& labs = LabCodes();
    const Days day = v.day;
    bool diabetic = Has(Condition::kType2Diabetes, day);
    bool htn = Has(Condition::kHypertension, day);
    bool ckd = Has(Condition::kChronicKidneyDisease, day);
    if (htn || AgeOn(day) >= 40 || rng_.Bernoulli(0.5)) EmitBloodPressure(enc, day, v.minute);
    if (diabetic && day - last_hba1c_ >= 150) {
      last_hba1c_ = day;
      EmitQuantity(enc, day, v.minute, labs.hba1c, Hba1c(day) + rng_.Normal(0, 0.2), 1,
                   "laboratory");
    }
    if ((diabetic || Has(Condition::kDyslipidaemia, day)) && day - last_ldl_ >= 330) {
      last_ldl_ = day;
      EmitQuantity(enc, day, v.minute, labs.ldl, Ldl(day) + rng_.Normal(0, 0.08), 2, "laboratory");
    }
    if ((diabetic || htn || ckd) && day - last_kidney_ >= (ckd ? 150 : 330)) {
      last_kidney_ = day;
      double egfr = std::max(5.0, Egfr(day) + rng_.Normal(0, 4));
      // Creatinine that gives about this eGFR (CKD-EPI inverted roughly).
      double creat = 88.4 * std::pow(egfr / 141.0, -1 / 1.2) * (male_ ? 0.9 : 0.7);
      EmitQuantity(enc, day, v.minute, labs.creatinine, creat, 0, "laboratory");
      EmitQuantity(enc, day, v.minute, labs.egfr, egfr, 0, "laboratory");
    }
    if (diabetic ? rng_.Bernoulli(0.7) : rng_.Bernoulli(0.25)) EmitWeight(enc, v);
    bool cardiac = Has(Condition::kAtrialFibrillation, day) || htn;
    if (cardiac && day - last_ecg_ > 300 && rng_.Bernoulli(0.25)) {
      last_ecg_ = day;
      EmitProcedure(enc, day, v.minute, ProcedureCodes().ecg);
    }
  }

  void EmitAcute(const Visit& v, const std::string& enc) {
    Indicator indicator = v.kind == 3 ? world_.outbreaks()[static_cast<size_t>(v.reason)].indicator
                                      : static_cast<Indicator>(v.reason);
    const IndicatorInfo& info = InfoOf(indicator);
    Days onset = v.day - static_cast<Days>(rng_.Below(3));
    EmitCondition(enc, info.icpc2, info.icd10, std::max(onset, birth_), v.day, false);
    if (!info.drug.empty() && rng_.Bernoulli(0.5)) {
      EmitPrescription(enc, v.day, FindDrug(info.drug), 5);
    }
  }

  // Chronic conditions with an onset on or before this visit that were never recorded are
  // recorded now, in the problem list, with their onset date.
  void RecordNewDiagnoses(const Visit& v, const std::string& enc) {
    for (const ConditionInfo& info : Conditions()) {
      auto c = static_cast<size_t>(info.condition);
      if (onset_[c] > v.day || recorded_[c] != kNever) continue;
      // An incident condition is recorded at the first visit after its onset.
      recorded_[c] = v.day;
      EmitCondition(enc, info.icpc2, info.icd10, onset_[c], v.day, true);
      if (treated_[c] && !info.drugs[0].empty() && v.kind != 1) {
        EmitPrescription(enc, v.day, FindDrug(info.drugs[0]), 90);
      }
    }
  }

  void EmitProcedure(const std::string& enc, Days day, int minute, const Coding& code) {
    std::string pid = NextId('p');
    JsonOut j(Begin(ResourceType::kProcedure));
    j.Raw("{\"resourceType\":\"Procedure\",\"id\":\"")
        .Raw(pid)
        .Raw("\",\"performedDateTime\":")
        .DateTime(day, minute)
        .Raw(",\"status\":\"completed\",\"subject\":")
        .Ref("Patient", id_)
        .Raw(",\"encounter\":")
        .Ref("Encounter", enc)
        .Raw(",\"code\":{\"coding\":[")
        .CodingObject(code)
        .Raw("]}}");
    FinishLine(pid);
  }

  void EmitImmunization(Days day) {
    const Vaccine& vaccine = FluVaccine();
    std::string iid = NextId('i');
    JsonOut j(Begin(ResourceType::kImmunization));
    j.Raw("{\"resourceType\":\"Immunization\",\"id\":\"")
        .Raw(iid)
        .Raw("\",\"occurrenceDateTime\":")
        .Date(day)
        .Raw(",\"status\":\"completed\",\"patient\":")
        .Ref("Patient", id_)
        .Raw(",\"vaccineCode\":{\"coding\":[")
        .CodingObject(vaccine.atc)
        .Raw(",")
        .CodingObject(vaccine.cvx)
        .Raw(",")
        .CodingObject(vaccine.cip13)
        .Raw("]},\"primarySource\":true}");
    FinishLine(iid);
  }

  std::string Nir() {
    const auto& reg = registrations_.front();
    std::string_view dep = domain::AllDepartements()[static_cast<size_t>(reg.departement)].code;
    std::string nir;
    nir += male_ ? '1' : '2';
    char buf[8];
    std::snprintf(buf, sizeof buf, "%02d%02d", birth_year_ % 100, birth_month_);
    nir += buf;
    nir += dep;  // 2 characters, or 3 for overseas départements
    int commune_digits = dep.size() == 3 ? 2 : 3;
    std::snprintf(buf, sizeof buf, "%0*d", commune_digits,
                  static_cast<int>(rng_.Between(1, commune_digits == 3 ? 999 : 99)));
    nir += buf;
    std::snprintf(buf, sizeof buf, "%03d", static_cast<int>(rng_.Between(1, 999)));
    nir += buf;
    auto key = domain::NirKey(nir);
    P4DP_ASSERT(key.has_value());
    std::snprintf(buf, sizeof buf, "%02d", *key);
    return nir + buf;
  }

  void EmitPatient() {
    const Registration& current = registrations_.back();
    const Practice& practice = world_.practices()[static_cast<size_t>(current.practice)];
    auto given = male_ ? MaleGivenNames() : FemaleGivenNames();
    auto family = FamilyNames();
    std::string local_id = std::to_string(rng_.Between(100000, 9999999));
    JsonOut j(Begin(ResourceType::kPatient));
    j.Raw("{\"resourceType\":\"Patient\",\"id\":\"").Raw(id_).Raw("\",\"extension\":[");
    for (size_t i = 0; i < registrations_.size(); ++i) {
      const Registration& r = registrations_[i];
      const Practice& p = world_.practices()[static_cast<size_t>(r.practice)];
      if (i > 0) j.Raw(",");
      j.Raw("{\"url\":")
          .Str(kRegistrationExtension)
          .Raw(",\"extension\":[{\"url\":\"practice\",\"valueReference\":")
          .Ref("Organization", p.id)
          .Raw("},{\"url\":\"period\",\"valuePeriod\":{\"start\":")
          .Date(r.start);
      Days end = std::min(r.end, death_);
      if (end != kNever && end <= world_.to()) j.Raw(",\"end\":").Date(end);
      j.Raw("}}]}");
    }
    j.Raw("],\"identifier\":[{\"system\":")
        .Str(kInsNirSystem)
        .Raw(",\"value\":\"")
        .Raw(Nir())
        .Raw("\"},{\"system\":")
        .Str(std::string(kLocalIdSystemPrefix) + practice.id)
        .Raw(",\"value\":\"")
        .Raw(local_id)
        .Raw("\"}],\"name\":[{\"family\":")
        .Str(family[rng_.Below(family.size())])
        .Raw(",\"given\":[")
        .Str(given[rng_.Below(given.size())])
        .Raw(
            "]}],\"telecom\":[{\"system\":\"phone\","
            "\"value\":\"0")
        .Int(rng_.Between(1, 7))
        .Raw(" ")
        .Int(rng_.Between(10, 99))
        .Raw(" ")
        .Int(rng_.Between(10, 99))
        .Raw(" ")
        .Int(rng_.Between(10, 99))
        .Raw(" ")
        .Int(rng_.Between(10, 99))
        .Raw("\"}],\"gender\":\"")
        .Raw(male_ ? "male" : "female")
        .Raw("\",\"birthDate\":")
        .Date(birth_);
    if (death_ != kNever) j.Raw(",\"deceasedDateTime\":").Date(death_);
    j.Raw(",\"address\":[");
    for (size_t i = registrations_.size(); i-- > 0;) {
      const Registration& r = registrations_[i];
      j.Raw("{\"use\":\"home\",\"line\":[")
          .Str(r.street)
          .Raw("],\"city\":")
          .Str(r.town)
          .Raw(",\"postalCode\":\"")
          .Raw(r.postal_code)
          .Raw("\",\"country\":\"FR\"");
      if (i + 1 < registrations_.size()) {
        j.Raw(",\"period\":{\"end\":").Date(r.end).Raw("}");
      }
      j.Raw(i > 0 ? "}," : "}");
    }
    j.Raw("],\"generalPractitioner\":[").Ref("Organization", practice.id).Raw("]}");
    FinishLine(id_);
  }

  void CountTruth() {
    ++out_.patients;
    if (death_ != kNever) ++out_.deaths;
    if (AgeOn(world_.to()) < 18) return;
    ++out_.adults;
    for (size_t c = 0; c < recorded_.size(); ++c) {
      if (recorded_[c] != kNever) ++out_.adults_with_condition[c];
    }
  }

  const World& world_;
  const SynthOptions& options_;
  ChunkOutput& out_;
  Xoshiro256 rng_;
  std::string id_;
  int64_t counter_ = 0;
  ResourceType current_type_ = ResourceType::kPatient;
  size_t line_start_ = 0;

  bool male_ = false;
  Days birth_ = 0;
  int birth_year_ = 1970, birth_month_ = 1;
  Days death_ = kNever;
  std::vector<Registration> registrations_;
  std::array<Days, kConditionCount> onset_{};
  std::array<Days, kConditionCount> recorded_ = [] {
    std::array<Days, kConditionCount> a{};
    a.fill(kNever);
    return a;
  }();
  std::array<bool, kConditionCount> treated_{};
  bool second_drug_ = false;
  double adherence_ = 1, sbp_base_ = 0, sbp_htn_ = 0, hba1c_base_ = 0, hba1c_diab_ = 0;
  double ldl_base_ = 0, ldl_dys_ = 0, egfr_base_ = 0, height_m_ = 1.7, bmi_ = 25;
  Days last_hba1c_ = -kNever, last_ldl_ = -kNever, last_kidney_ = -kNever, last_ecg_ = -kNever;
  Days last_smear_ = -kNever;
  std::vector<Days> vaccinations_;
};

// Replaces every occurrence of `from` in text[start, end) by `to`; returns the count.
int ReplaceAll(std::string& text, size_t start, std::string_view from, std::string_view to) {
  int count = 0;
  for (size_t pos = text.find(from, start); pos != std::string::npos;
       pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
    ++count;
  }
  return count;
}

// The position of the first JSON string value that starts with a date ("YYYY-MM-DD"),
// pointing at its opening quote, or npos.
size_t FirstDateValue(const std::string& text, size_t start) {
  for (size_t pos = text.find(":\"", start); pos != std::string::npos;
       pos = text.find(":\"", pos + 2)) {
    size_t q = pos + 1;
    if (q + 11 > text.size()) break;
    bool date = true;
    for (size_t i = 0; i < 10 && date; ++i) {
      char c = text[q + 1 + i];
      date = (i == 4 || i == 7) ? c == '-' : (c >= '0' && c <= '9');
    }
    if (date) return q;
  }
  return std::string::npos;
}

}  // namespace

std::string_view ResourceTypeName(ResourceType type) {
  static constexpr std::string_view kNames[] = {"Patient",      "Organization", "Encounter",
                                                "Condition",    "Observation",  "MedicationRequest",
                                                "Immunization", "Procedure"};
  return kNames[static_cast<size_t>(type)];
}

std::string_view DefectKindName(DefectKind kind) {
  static constexpr std::string_view kNames[] = {
      "invalid_json", "missing_subject", "unknown_code_system", "impossible_date", "wrong_type"};
  return kNames[static_cast<size_t>(kind)];
}

bool ApplyDefect(DefectKind kind, std::string& text, size_t line_start) {
  P4DP_ASSERT(!text.empty() && text.back() == '\n');
  switch (kind) {
    case DefectKind::kInvalidJson: {
      // Cut the line in the middle, as a truncated transfer would.
      size_t length = text.size() - 1 - line_start;
      text.erase(line_start + length / 2, length - length / 2);
      return true;
    }
    case DefectKind::kMissingSubject: {
      for (std::string_view key : {"\"subject\":{", "\"patient\":{"}) {
        size_t pos = text.find(key, line_start);
        if (pos == std::string::npos) continue;
        size_t close = text.find('}', pos);
        // The subject is always followed by a comma: remove `"subject":{...},`.
        text.erase(pos, close + 2 - pos);
        return true;
      }
      return false;
    }
    case DefectKind::kUnknownCodeSystem: {
      int n = 0;
      for (std::string_view uri :
           {"http://hl7.org/fhir/sid/icpc-2", "http://hl7.org/fhir/sid/icd-10-fr",
            "http://www.whocc.no/atc", "urn:oid:1.2.250.1.213.2.3.1", "http://loinc.org",
            "http://snomed.info/sct", "http://hl7.org/fhir/sid/cvx", "urn:oid:1.2.250.1.213.2.5"}) {
        n += ReplaceAll(text, line_start, std::string("\"system\":\"") + std::string(uri) + "\"",
                        "\"system\":\"urn:p4dp:unknown-code-system\"");
      }
      return n > 0;
    }
    case DefectKind::kImpossibleDate: {
      size_t q = FirstDateValue(text, line_start);
      if (q == std::string::npos) return false;
      text.replace(q + 6, 5, "02-30");  // the 30th of February
      return true;
    }
    case DefectKind::kWrongType: {
      size_t q = FirstDateValue(text, line_start);
      if (q == std::string::npos) return false;
      size_t close = text.find('"', q + 1);
      // The date becomes a number: "2021-03-04T..." -> 20210304.
      std::string number = text.substr(q + 1, 4) + text.substr(q + 6, 2) + text.substr(q + 9, 2);
      text.replace(q, close + 1 - q, number);
      return true;
    }
  }
  return false;
}

void SimulatePatient(const World& world, const SynthOptions& options, int64_t index,
                     ChunkOutput& out) {
  PatientSim(world, options, index, out).Run();
}

void WritePractice(const Practice& p, ChunkOutput& out) {
  std::string& text = out.text[static_cast<size_t>(ResourceType::kOrganization)];
  JsonOut j(text);
  j.Raw("{\"resourceType\":\"Organization\",\"id\":\"")
      .Raw(p.id)
      .Raw(
          "\",\"active\":true,\"type\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/"
          "CodeSystem/organization-type\",\"code\":\"prov\",\"display\":\"Healthcare "
          "Provider\"}]}],\"name\":")
      .Str(p.name)
      .Raw(",\"address\":[{\"city\":")
      .Str(p.town)
      .Raw(",\"postalCode\":\"")
      .Raw(p.postal_code)
      .Raw("\",\"country\":\"FR\"}]}\n");
  ++out.lines[static_cast<size_t>(ResourceType::kOrganization)];
}

}  // namespace p4dp::synth
