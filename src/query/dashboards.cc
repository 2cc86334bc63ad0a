#include "query/dashboards.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <map>
#include <tuple>

#include "base/date.h"

namespace p4dp::query {
namespace {

// Upper case without dots: "e11.9" and "E119" compare equal.
std::string Normalised(std::string_view code) {
  std::string out;
  out.reserve(code.size());
  for (char c : code) {
    if (c != '.') out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return out;
}

// A perimeter resolved for a walk over the index: the patients, domains and days it keeps.
class Visible {
 public:
  explicit Visible(const Perimeter* perimeter) {
    allowed_.fill(true);
    if (perimeter == nullptr) return;
    population_ = perimeter->population.get();
    if (perimeter->domains) {
      restricts_events_ = true;
      allowed_.fill(false);
      for (domain::Domain d : *perimeter->domains) allowed_[static_cast<size_t>(d)] = true;
    }
    restricts_events_ = restricts_events_ || perimeter->from || perimeter->to;
    from_ = perimeter->from.value_or(std::numeric_limits<Days>::min());
    to_ = perimeter->to.value_or(std::numeric_limits<Days>::max());
  }
  bool Patient(size_t i) const {
    return population_ == nullptr || population_->Contains(static_cast<domain::PatientIndex>(i));
  }
  bool Domain(domain::Domain d) const { return allowed_[static_cast<size_t>(d)]; }
  bool Day(Days day) const { return day >= from_ && day <= to_; }
  // Whether some event is invisible for its domain or date (not only for its patient).
  bool RestrictsEvents() const { return restricts_events_; }
  const store::PatientSet* population() const { return population_; }

 private:
  const store::PatientSet* population_ = nullptr;
  std::array<bool, domain::kDomainCount> allowed_{};
  bool restricts_events_ = false;
  Days from_ = std::numeric_limits<Days>::min();
  Days to_ = std::numeric_limits<Days>::max();
};

// Whether the patient has a visible event in one of the groups whose kind `kind_matches`.
bool HasVisibleEvent(const store::PatientEvents& events, const std::vector<bool>& kind_matches,
                     const Visible& visible) {
  auto dates = events.dates();
  for (size_t g = 0; g < events.groups().size(); ++g) {
    uint32_t kind = events.groups()[g].kind;
    if (kind >= kind_matches.size() || !kind_matches[kind]) continue;
    for (uint32_t e = events.GroupBegin(g); e < events.groups()[g].end; ++e) {
      if (visible.Day(dates[e])) return true;
    }
  }
  return false;
}

// Per patient: whether one of their visible events carries a code `code_matches` marks.
std::vector<bool> PatientsWithVisibleCode(const store::Index& index,
                                          const std::vector<bool>& code_matches,
                                          const Visible& visible) {
  std::vector<bool> has(index.patient_count(), false);
  store::PatientSet candidates;
  for (uint32_t id = 0; id < code_matches.size(); ++id) {
    if (code_matches[id]) candidates |= index.PatientsWithCode(id);
  }
  if (visible.population() != nullptr) candidates &= *visible.population();
  if (!visible.RestrictsEvents()) {
    for (domain::PatientIndex p : candidates.ToVector()) {
      if (p < has.size()) has[p] = true;
    }
    return has;
  }
  const store::EventKinds& kinds = index.kinds();
  std::vector<bool> kind_matches(kinds.size(), false);
  for (uint32_t k = 0; k < kinds.size(); ++k) {
    if (!visible.Domain(kinds.domain(k))) continue;
    for (uint32_t id : kinds.codes(k)) {
      if (id < code_matches.size() && code_matches[id]) kind_matches[k] = true;
    }
  }
  for (domain::PatientIndex p : candidates.ToVector()) {
    if (p < has.size()) has[p] = HasVisibleEvent(index.patient(p).events, kind_matches, visible);
  }
  return has;
}

// Patients per code (catalog ids marked by `code_matches`) with a visible event of that code.
std::vector<uint64_t> VisiblePatientsPerCode(const store::Index& index,
                                             const std::vector<bool>& code_matches,
                                             const Visible& visible) {
  std::vector<uint64_t> counts(code_matches.size(), 0);
  std::vector<size_t> last(code_matches.size(), 0);  // the last patient counted, plus one
  store::PatientSet candidates;
  for (uint32_t id = 0; id < code_matches.size(); ++id) {
    if (code_matches[id]) candidates |= index.PatientsWithCode(id);
  }
  if (visible.population() != nullptr) candidates &= *visible.population();
  const store::EventKinds& kinds = index.kinds();
  for (domain::PatientIndex p : candidates.ToVector()) {
    if (p >= index.patient_count()) continue;
    const store::PatientEvents& events = index.patient(p).events;
    auto dates = events.dates();
    for (size_t g = 0; g < events.groups().size(); ++g) {
      uint32_t kind = events.groups()[g].kind;
      if (kind >= kinds.size() || !visible.Domain(kinds.domain(kind))) continue;
      bool seen = false;
      for (uint32_t e = events.GroupBegin(g); e < events.groups()[g].end && !seen; ++e) {
        seen = visible.Day(dates[e]);
      }
      if (!seen) continue;
      for (uint32_t id : kinds.codes(kind)) {
        if (id >= code_matches.size() || !code_matches[id] || last[id] == p + size_t{1}) continue;
        last[id] = p + size_t{1};
        ++counts[id];
      }
    }
  }
  return counts;
}

}  // namespace

bool CountedByDashboards(const store::Index& index, domain::PatientIndex patient,
                         const Perimeter* perimeter) {
  if (patient >= index.patient_count()) return false;
  const auto& row = index.patient(patient).row;
  if (!row || row->deleted || row->death != store::kNoDay) return false;
  if (row->birth_year == 0 || row->departement.empty()) return false;
  if (row->sex != domain::Sex::kMale && row->sex != domain::Sex::kFemale) return false;
  const store::PatientSet* population = perimeter ? perimeter->population.get() : nullptr;
  return population == nullptr || population->Contains(patient);
}

std::vector<uint64_t> PatientsPerCode(const store::Index& index,
                                      const std::vector<bool>& code_matches,
                                      const Perimeter* perimeter) {
  if (perimeter != nullptr && !perimeter->Everything()) {
    // Inside a perimeter, the patients with a visible event of each code, in one walk.
    return VisiblePatientsPerCode(index, code_matches, Visible(perimeter));
  }
  std::vector<uint64_t> counts(code_matches.size(), 0);
  for (uint32_t id = 0; id < code_matches.size(); ++id) {
    if (code_matches[id]) counts[id] = index.PatientsWithCode(id).Cardinality();
  }
  return counts;
}

std::vector<CodeHit> SearchCodes(const store::Index& index, const store::Catalog& catalog,
                                 const CodeSearchOptions& options) {
  std::vector<CodeHit> hits;
  std::string prefix = Normalised(options.query);
  if (prefix.empty()) return hits;
  const auto& codes = catalog.codes();
  std::vector<bool> matches(codes.size(), false);
  for (uint32_t id = 1; id < codes.size(); ++id) {
    std::optional<domain::CodeSystem> system = domain::CodeSystemFromName(codes[id].system);
    if (!system || (options.system && *system != *options.system)) continue;
    matches[id] = Normalised(codes[id].code).rfind(prefix, 0) == 0;
  }
  bool everything = options.perimeter == nullptr || options.perimeter->Everything();
  std::vector<uint64_t> patients_per_code = PatientsPerCode(index, matches, options.perimeter);
  for (uint32_t id = 1; id < codes.size(); ++id) {
    if (!matches[id]) continue;
    uint64_t patients = patients_per_code[id];
    if (!everything && patients == 0) continue;  // as if the code were not in the warehouse
    std::optional<domain::CodeSystem> system = domain::CodeSystemFromName(codes[id].system);
    hits.push_back({.system = std::string(domain::InfoOf(*system).alias),
                    .code = codes[id].code,
                    .patients = patients});
  }
  std::sort(hits.begin(), hits.end(), [](const CodeHit& a, const CodeHit& b) {
    if (a.patients != b.patients) return a.patients > b.patients;
    return std::tie(a.code, a.system) < std::tie(b.code, b.system);
  });
  hits.resize(std::min(hits.size(), std::min(options.limit, kCodeSearchLimitMax)));
  return hits;
}

std::array<PyramidBand, 10> AgePyramid(const store::Index& index, int on_year,
                                       const Perimeter* perimeter) {
  std::array<PyramidBand, 10> bands;
  for (int b = 0; b < 10; ++b) {
    bands[static_cast<size_t>(b)].band =
        b == 9 ? "90+" : std::to_string(b * 10) + "-" + std::to_string(b * 10 + 9);
  }
  for (size_t i = 0; i < index.patient_count(); ++i) {
    if (!CountedByDashboards(index, static_cast<domain::PatientIndex>(i), perimeter)) continue;
    const auto& row = index.patient(static_cast<domain::PatientIndex>(i)).row;
    int age = on_year - row->birth_year;
    if (age < 0) continue;
    PyramidBand& band = bands[static_cast<size_t>(std::min(age / 10, 9))];
    if (row->sex == domain::Sex::kMale) ++band.male;
    if (row->sex == domain::Sex::kFemale) ++band.female;
  }
  return bands;
}

}  // namespace p4dp::query

namespace p4dp::query {
namespace {

constexpr std::string_view kHypertensionIcd[] = {"I10", "I11", "I12", "I13", "I15"};
constexpr std::string_view kHypertensionIcpc[] = {"K86", "K87"};
constexpr std::string_view kDiabetesIcd[] = {"E11"};
constexpr std::string_view kDiabetesIcpc[] = {"T90"};
constexpr std::string_view kLipidIcd[] = {"E78"};
constexpr std::string_view kLipidIcpc[] = {"T93"};
constexpr std::string_view kAsthmaIcd[] = {"J45", "J46"};
constexpr std::string_view kAsthmaIcpc[] = {"R96"};
constexpr std::string_view kCopdIcd[] = {"J44"};
constexpr std::string_view kCopdIcpc[] = {"R95"};
constexpr std::string_view kDepressionIcd[] = {"F32", "F33"};
constexpr std::string_view kDepressionIcpc[] = {"P76"};
constexpr std::string_view kThyroidIcd[] = {"E03"};
constexpr std::string_view kThyroidIcpc[] = {"T86"};
constexpr std::string_view kFibrillationIcd[] = {"I48"};
constexpr std::string_view kFibrillationIcpc[] = {"K78"};
constexpr std::string_view kKidneyIcd[] = {"N18"};  // CISP-2 has no code of its own (U99)

constexpr ChronicCondition kConditions[] = {
    {"hypertension", "Hypertension artérielle", "Hypertension", kHypertensionIcd,
     kHypertensionIcpc},
    {"type2_diabetes", "Diabète de type 2", "Type 2 diabetes", kDiabetesIcd, kDiabetesIcpc},
    {"dyslipidaemia", "Dyslipidémie", "Dyslipidaemia", kLipidIcd, kLipidIcpc},
    {"asthma", "Asthme", "Asthma", kAsthmaIcd, kAsthmaIcpc},
    {"copd", "BPCO", "COPD", kCopdIcd, kCopdIcpc},
    {"depression", "Dépression", "Depression", kDepressionIcd, kDepressionIcpc},
    {"hypothyroidism", "Hypothyroïdie", "Hypothyroidism", kThyroidIcd, kThyroidIcpc},
    {"atrial_fibrillation", "Fibrillation atriale", "Atrial fibrillation", kFibrillationIcd,
     kFibrillationIcpc},
    {"chronic_kidney_disease",
     "Maladie rénale chronique",
     "Chronic kidney disease",
     kKidneyIcd,
     {}},
};

// Calls fn(monday, group) for each visible event that `group_by_kind` puts in a group (>= 0).
template <typename Fn>
void ForEachGroupedEvent(const store::Index& index, const std::vector<int>& group_by_kind,
                         const Visible& visible, Fn fn) {
  for (size_t i = 0; i < index.patient_count(); ++i) {
    if (!visible.Patient(i)) continue;
    const store::PatientEvents& events = index.patient(static_cast<domain::PatientIndex>(i)).events;
    auto dates = events.dates();
    for (size_t g = 0; g < events.groups().size(); ++g) {
      uint32_t kind = events.groups()[g].kind;
      if (kind >= group_by_kind.size() || group_by_kind[kind] < 0) continue;
      for (uint32_t e = events.GroupBegin(g); e < events.groups()[g].end; ++e) {
        if (!visible.Day(dates[e])) continue;
        fn(dates[e] - (IsoWeekday(dates[e]) - 1), group_by_kind[kind]);
      }
    }
  }
}

// Counts per ISO week of the visible events that `group_of(kind)` puts in a group (-1: none).
// Two walks over the events: the range of weeks, then the counts.
template <typename GroupOf>
WeeklySeries CountPerWeek(const store::Index& index, const Perimeter* perimeter, size_t groups,
                          GroupOf group_of) {
  const store::EventKinds& kinds = index.kinds();
  Visible visible(perimeter);
  std::vector<int> group_by_kind(kinds.size());
  for (uint32_t k = 0; k < kinds.size(); ++k) {
    group_by_kind[k] = visible.Domain(kinds.domain(k)) ? group_of(k) : -1;
  }
  std::optional<Days> lo, hi;
  ForEachGroupedEvent(index, group_by_kind, visible, [&](Days monday, int) {
    if (!lo || monday < *lo) lo = monday;
    if (!hi || monday > *hi) hi = monday;
  });
  WeeklySeries out;
  if (!lo) {
    out.values.assign(groups, {});  // one (empty) series per group, as the callers name them
    return out;
  }
  size_t weeks = static_cast<size_t>((*hi - *lo) / 7) + 1;
  if (weeks > kWeeklyWeeksMax) {
    lo = *hi - static_cast<Days>(7 * (kWeeklyWeeksMax - 1));
    weeks = kWeeklyWeeksMax;
  }
  out.values.assign(groups, std::vector<int64_t>(weeks, 0));
  ForEachGroupedEvent(index, group_by_kind, visible, [&](Days monday, int group) {
    if (monday < *lo) return;
    ++out.values[static_cast<size_t>(group)][static_cast<size_t>((monday - *lo) / 7)];
  });
  for (size_t w = 0; w < weeks; ++w) {
    out.weeks.push_back(FormatIsoWeek(ToIsoWeek(*lo + static_cast<Days>(7 * w))));
  }
  return out;
}

}  // namespace

std::span<const ChronicCondition> ChronicConditions() { return kConditions; }

const ChronicCondition* FindChronicCondition(std::string_view name) {
  for (const ChronicCondition& c : kConditions) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::vector<PrevalenceRow> Prevalence(const store::Index& index, const store::Catalog& catalog,
                                      const ChronicCondition& condition,
                                      const Perimeter* perimeter) {
  const auto& codes = catalog.codes();
  std::vector<bool> matches(codes.size(), false);
  for (uint32_t id = 1; id < codes.size(); ++id) {
    std::optional<domain::CodeSystem> system = domain::CodeSystemFromName(codes[id].system);
    if (!system) continue;
    std::string code = Normalised(codes[id].code);
    bool match = false;
    if (*system == domain::CodeSystem::kIcd10) {
      for (std::string_view p : condition.icd10_prefixes) match |= code.rfind(p, 0) == 0;
    } else if (*system == domain::CodeSystem::kIcpc2) {
      for (std::string_view c : condition.icpc2_codes) match |= code == c;
    }
    matches[id] = match;
  }
  std::vector<bool> has = PatientsWithVisibleCode(index, matches, Visible(perimeter));
  std::map<std::string, PrevalenceRow> rows;
  for (size_t i = 0; i < index.patient_count(); ++i) {
    if (!CountedByDashboards(index, static_cast<domain::PatientIndex>(i), perimeter)) continue;
    const auto& row = index.patient(static_cast<domain::PatientIndex>(i)).row;
    PrevalenceRow& r = rows[row->departement];
    r.departement = row->departement;
    ++r.population;
    if (has[i]) ++r.patients;
  }
  std::vector<PrevalenceRow> out;
  for (auto& [code, r] : rows) out.push_back(std::move(r));
  return out;
}

WeeklySeries ConsultationsPerWeek(const store::Index& index, const Perimeter* perimeter) {
  const store::EventKinds& kinds = index.kinds();
  WeeklySeries out = CountPerWeek(index, perimeter, 1, [&](uint32_t kind) {
    return kinds.domain(kind) == domain::Domain::kVisit ? 0 : -1;
  });
  out.names = {"visits"};
  return out;
}

WeeklySeries PrescriptionsPerWeek(const store::Index& index, const store::Catalog& catalog,
                                  const Perimeter* perimeter) {
  const store::EventKinds& kinds = index.kinds();
  const auto& codes = catalog.codes();
  // The ATC anatomical main groups, A to Z, by letter; kept only those that occur.
  WeeklySeries all = CountPerWeek(index, perimeter, 26, [&](uint32_t kind) {
    if (kinds.domain(kind) != domain::Domain::kDrug) return -1;
    for (uint32_t id : kinds.codes(kind)) {
      if (id >= codes.size()) continue;
      auto system = domain::CodeSystemFromName(codes[id].system);
      if (system != domain::CodeSystem::kAtc || codes[id].code.empty()) continue;
      char c = static_cast<char>(std::toupper(static_cast<unsigned char>(codes[id].code[0])));
      if (c >= 'A' && c <= 'Z') return c - 'A';
    }
    return -1;
  });
  WeeklySeries out;
  out.weeks = std::move(all.weeks);
  for (size_t g = 0; g < all.values.size(); ++g) {
    bool any =
        std::any_of(all.values[g].begin(), all.values[g].end(), [](int64_t n) { return n > 0; });
    if (!any) continue;
    out.names.push_back(std::string(1, static_cast<char>('A' + g)));
    out.values.push_back(std::move(all.values[g]));
  }
  return out;
}

}  // namespace p4dp::query
