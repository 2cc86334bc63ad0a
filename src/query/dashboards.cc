#include "query/dashboards.h"

#include <algorithm>
#include <cctype>
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

}  // namespace

std::vector<CodeHit> SearchCodes(const store::Index& index, const store::Catalog& catalog,
                                 const CodeSearchOptions& options) {
  std::vector<CodeHit> hits;
  std::string prefix = Normalised(options.query);
  if (prefix.empty()) return hits;
  const auto& codes = catalog.codes();
  for (uint32_t id = 1; id < codes.size(); ++id) {
    std::optional<domain::CodeSystem> system = domain::CodeSystemFromName(codes[id].system);
    if (!system || (options.system && *system != *options.system)) continue;
    if (Normalised(codes[id].code).rfind(prefix, 0) != 0) continue;
    hits.push_back({.system = std::string(domain::InfoOf(*system).alias),
                    .code = codes[id].code,
                    .patients = index.PatientsWithCode(id).Cardinality()});
  }
  std::sort(hits.begin(), hits.end(), [](const CodeHit& a, const CodeHit& b) {
    if (a.patients != b.patients) return a.patients > b.patients;
    return std::tie(a.code, a.system) < std::tie(b.code, b.system);
  });
  hits.resize(std::min(hits.size(), std::min(options.limit, kCodeSearchLimitMax)));
  return hits;
}

std::array<PyramidBand, 10> AgePyramid(const store::Index& index, int on_year) {
  std::array<PyramidBand, 10> bands;
  for (int b = 0; b < 10; ++b) {
    bands[static_cast<size_t>(b)].band =
        b == 9 ? "90+" : std::to_string(b * 10) + "-" + std::to_string(b * 10 + 9);
  }
  for (size_t i = 0; i < index.patient_count(); ++i) {
    const auto& row = index.patient(static_cast<domain::PatientIndex>(i)).row;
    if (!row || row->deleted || row->birth_year == 0 || row->death != store::kNoDay) continue;
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

bool Alive(const store::PatientRecord& row) { return !row.deleted && row.death == store::kNoDay; }

// Calls fn(monday, group) for each event that `group_by_kind` puts in a group (>= 0).
template <typename Fn>
void ForEachGroupedEvent(const store::Index& index, const std::vector<int>& group_by_kind, Fn fn) {
  for (size_t i = 0; i < index.patient_count(); ++i) {
    const store::PatientEvents& events = index.patient(static_cast<domain::PatientIndex>(i)).events;
    auto dates = events.dates();
    for (size_t g = 0; g < events.groups().size(); ++g) {
      uint32_t kind = events.groups()[g].kind;
      if (kind >= group_by_kind.size() || group_by_kind[kind] < 0) continue;
      for (uint32_t e = events.GroupBegin(g); e < events.groups()[g].end; ++e) {
        fn(dates[e] - (IsoWeekday(dates[e]) - 1), group_by_kind[kind]);
      }
    }
  }
}

// Counts per ISO week of the events that `group_of(kind)` puts in a group (-1: none). Two
// walks over the events: the range of weeks, then the counts.
template <typename GroupOf>
WeeklySeries CountPerWeek(const store::Index& index, size_t groups, GroupOf group_of) {
  const store::EventKinds& kinds = index.kinds();
  std::vector<int> group_by_kind(kinds.size());
  for (uint32_t k = 0; k < kinds.size(); ++k) group_by_kind[k] = group_of(k);
  std::optional<Days> lo, hi;
  ForEachGroupedEvent(index, group_by_kind, [&](Days monday, int) {
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
  ForEachGroupedEvent(index, group_by_kind, [&](Days monday, int group) {
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
                                      const ChronicCondition& condition) {
  std::vector<bool> has(index.patient_count(), false);
  const auto& codes = catalog.codes();
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
    if (!match) continue;
    for (domain::PatientIndex p : index.PatientsWithCode(id).ToVector()) has[p] = true;
  }
  std::map<std::string, PrevalenceRow> rows;
  for (size_t i = 0; i < index.patient_count(); ++i) {
    const auto& row = index.patient(static_cast<domain::PatientIndex>(i)).row;
    if (!row || !Alive(*row) || row->departement.empty()) continue;
    PrevalenceRow& r = rows[row->departement];
    r.departement = row->departement;
    ++r.population;
    if (has[i]) ++r.patients;
  }
  std::vector<PrevalenceRow> out;
  for (auto& [code, r] : rows) out.push_back(std::move(r));
  return out;
}

WeeklySeries ConsultationsPerWeek(const store::Index& index) {
  const store::EventKinds& kinds = index.kinds();
  WeeklySeries out = CountPerWeek(index, 1, [&](uint32_t kind) {
    return kinds.domain(kind) == domain::Domain::kVisit ? 0 : -1;
  });
  out.names = {"visits"};
  return out;
}

WeeklySeries PrescriptionsPerWeek(const store::Index& index, const store::Catalog& catalog) {
  const store::EventKinds& kinds = index.kinds();
  const auto& codes = catalog.codes();
  // The ATC anatomical main groups, A to Z, by letter; kept only those that occur.
  WeeklySeries all = CountPerWeek(index, 26, [&](uint32_t kind) {
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
