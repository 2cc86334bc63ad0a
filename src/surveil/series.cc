#include "surveil/series.h"

#include <algorithm>
#include <bit>

#include "base/assert.h"
#include "domain/age_band.h"
#include "domain/departement.h"

namespace p4dp::surveil {
namespace {

constexpr int kBandSlots = 5;  // the four bands, then unknown age
constexpr int kUnknownBand = 4;
int DepartementSlots() { return static_cast<int>(domain::AllDepartements().size()) + 1; }
int UnknownDepartement() { return DepartementSlots() - 1; }
const Days kFirstCountedDay = ToDays({kPopulationFirstYear, 1, 1});

// A hit: a day and an indicator in one word, ordered by day.
uint64_t PackHit(Days day, int indicator) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(day) ^ 0x8000'0000u) << 8) |
         static_cast<uint64_t>(indicator);
}
Days HitDay(uint64_t hit) {
  return static_cast<Days>(static_cast<uint32_t>(hit >> 8) ^ 0x8000'0000u);
}
int HitIndicator(uint64_t hit) { return static_cast<int>(hit & 0xff); }

std::string WithoutDots(std::string_view code) {
  std::string out;
  for (char c : code) {
    if (c != '.') out += c;
  }
  return out;
}

Days MondayOnOrBefore(Days day) { return day - IsoWeekday(day); }

// The département slots of a place.
std::vector<int> SlotsOf(const Place& place) {
  std::vector<int> slots;
  auto deps = domain::AllDepartements();
  switch (place.level) {
    case Level::kNation:
      for (int d = 0; d < DepartementSlots(); ++d) slots.push_back(d);
      break;
    case Level::kRegion: {
      std::string_view region = domain::AllRegions()[static_cast<size_t>(place.index)].code;
      for (size_t d = 0; d < deps.size(); ++d) {
        if (deps[d].region_code == region) slots.push_back(static_cast<int>(d));
      }
      break;
    }
    case Level::kDepartement: slots.push_back(place.index); break;
  }
  return slots;
}

std::vector<int> BandSlotsOf(int band) {
  if (band == kAllBands) return {0, 1, 2, 3, kUnknownBand};
  return {band};
}

}  // namespace

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kNation: return "nation";
    case Level::kRegion: return "region";
    case Level::kDepartement: return "departement";
  }
  return "nation";
}

std::optional<Level> LevelFromName(std::string_view name) {
  for (Level l : {Level::kNation, Level::kRegion, Level::kDepartement}) {
    if (LevelName(l) == name) return l;
  }
  return std::nullopt;
}

std::string PlaceCode(const Place& place) {
  switch (place.level) {
    case Level::kNation: return "FR";
    case Level::kRegion:
      return std::string(domain::AllRegions()[static_cast<size_t>(place.index)].code);
    case Level::kDepartement:
      return std::string(domain::AllDepartements()[static_cast<size_t>(place.index)].code);
  }
  return "FR";
}

Result<Place> PlaceFromCode(Level level, std::string_view code) {
  if (level == Level::kNation) {
    if (code == "FR") return Place{};
    return Status::InvalidArgument("place '" + std::string(code) + "': the nation's code is FR");
  }
  for (const Place& p : PlacesOf(level)) {
    if (PlaceCode(p) == code) return p;
  }
  return Status::InvalidArgument("place '" + std::string(code) + "' is not an INSEE " +
                                 (level == Level::kRegion ? "region" : "département") + " code");
}

std::vector<Place> PlacesOf(Level level) {
  std::vector<Place> out;
  size_t n = level == Level::kNation   ? 1
             : level == Level::kRegion ? domain::AllRegions().size()
                                       : domain::AllDepartements().size();
  for (size_t i = 0; i < n; ++i) out.push_back({level, static_cast<int>(i)});
  return out;
}

std::string_view BandLabel(int band) {
  if (band == kAllBands) return "all";
  return domain::AgeBandLabel(static_cast<domain::AgeBand>(band));
}

std::optional<int> BandFromLabel(std::string_view label) {
  for (int b = 0; b <= kAllBands; ++b) {
    if (BandLabel(b) == label) return b;
  }
  return std::nullopt;
}

SeriesStore::SeriesStore(std::vector<Indicator> indicators) : indicators_(std::move(indicators)) {
  P4DP_ASSERT(indicators_.size() <= kIndicatorsMax);
  population_.assign(static_cast<size_t>(kPopulationYears * DepartementSlots() * kBandSlots), 0);
}

std::optional<int> SeriesStore::IndicatorIndex(std::string_view name) const {
  for (size_t i = 0; i < indicators_.size(); ++i) {
    if (indicators_[i].name == name) return static_cast<int>(i);
  }
  return std::nullopt;
}

bool SeriesStore::built() const {
  std::shared_lock lock(mu_);
  return built_ && !stale_.load();
}

size_t SeriesStore::Cell(int indicator, int departement_slot, int band_slot) const {
  return (static_cast<size_t>(indicator) * static_cast<size_t>(DepartementSlots()) +
          static_cast<size_t>(departement_slot)) *
             kBandSlots +
         static_cast<size_t>(band_slot);
}

void SeriesStore::UpdateMasks(const store::Index& index, const store::Catalog& catalog) {
  const auto& codes = catalog.codes();
  for (size_t id = code_masks_.size(); id < codes.size(); ++id) {
    uint64_t mask = 0;
    std::string code = id == 0 ? "" : WithoutDots(codes[id].code);
    for (size_t i = 0; i < indicators_.size() && id != 0; ++i) {
      bool in = false, out = false;
      for (const query::CodeRef& r : indicators_[i].codes) {
        if (r.system != codes[id].system) continue;
        std::string want = WithoutDots(r.code);
        bool match = r.descendants ? code.rfind(want, 0) == 0 : code == want;
        if (match) (r.exclude ? out : in) = true;
      }
      if (in && !out) mask |= uint64_t{1} << i;
    }
    code_masks_.push_back(mask);
  }
  const store::EventKinds& kinds = index.kinds();
  for (uint32_t k = static_cast<uint32_t>(kind_masks_.size()); k < kinds.size(); ++k) {
    uint64_t codes_mask = 0;
    for (uint32_t code : kinds.codes(k)) {
      if (code < code_masks_.size()) codes_mask |= code_masks_[code];
    }
    uint64_t mask = 0;
    for (size_t i = 0; i < indicators_.size(); ++i) {
      const auto& d = indicators_[i].domain;
      if ((codes_mask >> i & 1) != 0 && (!d || *d == kinds.domain(k))) mask |= uint64_t{1} << i;
    }
    kind_masks_.push_back(mask);
  }
}

void SeriesStore::HitsOf(const store::IndexPatient& patient, std::vector<uint64_t>& out) const {
  out.clear();
  const store::PatientEvents& events = patient.events;
  std::span<const Days> dates = events.dates();
  uint32_t begin = 0;
  for (const store::PatientEvents::Group& g : events.groups()) {
    uint64_t mask = kind_masks_[g.kind];
    if (mask != 0) {
      for (uint32_t e = begin; e < g.end; ++e) {
        if (dates[e] < kFirstCountedDay) continue;
        for (uint64_t m = mask; m != 0; m &= m - 1) {
          out.push_back(PackHit(dates[e], std::countr_zero(m)));
        }
      }
    }
    begin = g.end;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
}

SeriesStore::PatientState SeriesStore::StateOf(const store::IndexPatient& patient) const {
  PatientState s;
  s.departement = static_cast<uint8_t>(UnknownDepartement());
  if (!patient.row || patient.row->deleted) return s;
  const store::PatientRecord& row = *patient.row;
  auto deps = domain::AllDepartements();
  if (const domain::Departement* d = domain::FindDepartement(row.departement)) {
    s.departement = static_cast<uint8_t>(d - deps.data());
  }
  if (row.birth_year > 0 && row.birth_month >= 1 && row.birth_month <= 12) {
    s.birth_year = row.birth_year;
    s.birth_month = row.birth_month;
  }
  for (const store::Registration& reg : row.registrations) {
    int first = reg.start == store::kNoDay ? kPopulationFirstYear : ToYearMonthDay(reg.start).year;
    int last = reg.end == store::kNoDay ? kPopulationFirstYear + kPopulationYears - 1
                                        : ToYearMonthDay(reg.end).year;
    first = std::max(first, kPopulationFirstYear);
    last = std::min(last, kPopulationFirstYear + kPopulationYears - 1);
    for (int y = first; y <= last; ++y) {
      Days july = ToDays({y, 7, 1});
      bool registered = (reg.start == store::kNoDay || reg.start <= july) &&
                        (reg.end == store::kNoDay || reg.end >= july);
      bool alive = row.death == store::kNoDay || row.death > july;
      if (registered && alive) s.registered_years |= uint64_t{1} << (y - kPopulationFirstYear);
    }
  }
  return s;
}

int SeriesStore::BandSlotOn(const PatientState& state, Days day) const {
  if (state.birth_year == 0) return kUnknownBand;
  int age = AgeInYears(state.birth_year, state.birth_month, day);
  if (age < 0) return kUnknownBand;
  return static_cast<int>(domain::AgeBandOf(age));
}

void SeriesStore::Cover(Days day) {
  if (days_ > 0 && day >= first_day_ && day < first_day_ + days_) return;
  Days first = days_ == 0 ? MondayOnOrBefore(day) : std::min(first_day_, MondayOnOrBefore(day));
  Days end = days_ == 0 ? first + 7 : first_day_ + days_;
  while (end <= day) end += 7;
  const int days = end - first;
  const size_t cells = indicators_.size() * static_cast<size_t>(DepartementSlots()) * kBandSlots;
  std::vector<int32_t> grown(cells * static_cast<size_t>(days), 0);
  for (size_t c = 0; c < cells && days_ > 0; ++c) {
    std::copy_n(counts_.begin() + static_cast<ptrdiff_t>(c * static_cast<size_t>(days_)), days_,
                grown.begin() + static_cast<ptrdiff_t>(c * static_cast<size_t>(days) +
                                                       static_cast<size_t>(first_day_ - first)));
  }
  counts_ = std::move(grown);
  first_day_ = first;
  days_ = days;
}

void SeriesStore::Apply(const PatientState& state, std::span<const uint64_t> hits, int sign) {
  for (int y = 0; y < kPopulationYears; ++y) {
    if ((state.registered_years >> y & 1) == 0) continue;
    PatientState s = state;
    int band = BandSlotOn(s, ToDays({kPopulationFirstYear + y, 7, 1}));
    size_t at =
        (static_cast<size_t>(y) * static_cast<size_t>(DepartementSlots()) + state.departement) *
            kBandSlots +
        static_cast<size_t>(band);
    population_[at] += sign;
  }
  if (hits.empty()) return;
  Cover(HitDay(hits.front()));
  Cover(HitDay(hits.back()));
  for (uint64_t hit : hits) {
    Days day = HitDay(hit);
    size_t cell = Cell(HitIndicator(hit), state.departement, BandSlotOn(state, day));
    counts_[cell * static_cast<size_t>(days_) + static_cast<size_t>(day - first_day_)] += sign;
  }
}

void SeriesStore::Build(const store::Index& index, const store::Catalog& catalog,
                        const store::PatientSet* only) {
  std::unique_lock lock(mu_);
  {
    std::lock_guard pending(pending_mu_);
    pending_.clear();
  }
  stale_.store(false);
  UpdateMasks(index, catalog);
  const size_t n = index.patient_count();
  patients_.assign(n, PatientState{});
  hit_begin_.assign(n + 1, 0);
  hits_.clear();
  changed_hits_.clear();
  std::vector<uint64_t> scratch;
  Days min_day = 0, max_day = 0;
  for (size_t p = 0; p < n; ++p) {
    if (only != nullptr && !only->Contains(static_cast<domain::PatientIndex>(p))) {
      hit_begin_[p + 1] = hits_.size();
      continue;  // outside the population: no state, no hits
    }
    const store::IndexPatient& patient = index.patient(static_cast<domain::PatientIndex>(p));
    patients_[p] = StateOf(patient);
    HitsOf(patient, scratch);
    if (!scratch.empty()) {
      if (hits_.empty()) min_day = HitDay(scratch.front()), max_day = HitDay(scratch.back());
      min_day = std::min(min_day, HitDay(scratch.front()));
      max_day = std::max(max_day, HitDay(scratch.back()));
    }
    hits_.insert(hits_.end(), scratch.begin(), scratch.end());
    hit_begin_[p + 1] = hits_.size();
  }
  std::fill(population_.begin(), population_.end(), 0);
  counts_.clear();
  days_ = 0;
  if (!hits_.empty()) {
    Cover(min_day);
    Cover(max_day);
  }
  for (size_t p = 0; p < n; ++p) {
    std::span<const uint64_t> hits(hits_.data() + hit_begin_[p], hit_begin_[p + 1] - hit_begin_[p]);
    Apply(patients_[p], hits, +1);
  }
  built_ = true;
}

void SeriesStore::NoteBatch(const store::Batch& batch) {
  std::lock_guard lock(pending_mu_);
  for (const auto& p : batch.patients) pending_.push_back(p.key);
  for (const auto& r : batch.resources) pending_.push_back(r.patient);
  for (const auto& e : batch.events) pending_.push_back(e.patient);
}

size_t SeriesStore::CatchUp(const store::Index& index, const store::Catalog& catalog) {
  std::vector<domain::PatientKey> keys;
  {
    std::lock_guard lock(pending_mu_);
    keys.swap(pending_);
  }
  if (keys.empty()) return 0;
  std::unique_lock lock(mu_);
  if (!built_) return 0;
  UpdateMasks(index, catalog);
  std::vector<domain::PatientIndex> touched;
  for (const domain::PatientKey& key : keys) {
    if (auto p = index.Find(key)) touched.push_back(*p);
  }
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  if (!touched.empty() && touched.back() >= patients_.size()) {
    patients_.resize(touched.back() + size_t{1}, PatientState{});
  }
  std::vector<uint64_t> hits;
  for (domain::PatientIndex p : touched) {
    // What the patient counted for: its last recomputed hits, else those of the Build.
    std::span<const uint64_t> old;
    if (auto it = changed_hits_.find(p); it != changed_hits_.end()) {
      old = it->second;
    } else if (p + size_t{1} < hit_begin_.size()) {
      old = {hits_.data() + hit_begin_[p], hit_begin_[p + 1] - hit_begin_[p]};
    }
    Apply(patients_[p], old, -1);
    const store::IndexPatient& patient = index.patient(p);
    patients_[p] = StateOf(patient);
    HitsOf(patient, hits);
    Apply(patients_[p], hits, +1);
    changed_hits_[p] = hits;
  }
  return touched.size();
}

void SeriesStore::Read(const std::function<void(const View&)>& fn) const {
  std::shared_lock lock(mu_);
  fn(View(*this));
}

int SeriesStore::View::periods(Granularity g) const {
  return g == Granularity::kDay ? store_.days_ : store_.days_ / 7;
}

Days SeriesStore::View::PeriodStart(Granularity g, int period) const {
  return store_.first_day_ + (g == Granularity::kDay ? period : 7 * period);
}

std::string SeriesStore::View::PeriodLabel(Granularity g, int period) const {
  Days start = PeriodStart(g, period);
  return g == Granularity::kDay ? FormatIsoDate(start) : FormatIsoWeek(ToIsoWeek(start));
}

std::vector<double> SeriesStore::View::Counts(int indicator, const Place& place, int band,
                                              Granularity g) const {
  const SeriesStore& s = store_;
  std::vector<int64_t> days(static_cast<size_t>(s.days_), 0);
  for (int d : SlotsOf(place)) {
    for (int b : BandSlotsOf(band)) {
      const int32_t* row =
          s.counts_.data() + s.Cell(indicator, d, b) * static_cast<size_t>(s.days_);
      for (int t = 0; t < s.days_; ++t) days[static_cast<size_t>(t)] += row[t];
    }
  }
  std::vector<double> out(static_cast<size_t>(periods(g)), 0);
  const int width = g == Granularity::kDay ? 1 : 7;
  for (size_t t = 0; t < days.size(); ++t) {
    out[t / static_cast<size_t>(width)] += static_cast<double>(days[t]);
  }
  return out;
}

std::vector<double> SeriesStore::View::Population(const Place& place, int band,
                                                  Granularity g) const {
  const SeriesStore& s = store_;
  std::vector<double> by_year(kPopulationYears, 0);
  for (int y = 0; y < kPopulationYears; ++y) {
    for (int d : SlotsOf(place)) {
      for (int b : BandSlotsOf(band)) {
        by_year[static_cast<size_t>(y)] +=
            s.population_[(static_cast<size_t>(y) * static_cast<size_t>(DepartementSlots()) +
                           static_cast<size_t>(d)) *
                              kBandSlots +
                          static_cast<size_t>(b)];
      }
    }
  }
  std::vector<double> out(static_cast<size_t>(periods(g)), 0);
  for (int t = 0; t < periods(g); ++t) {
    Days start = PeriodStart(g, t);
    int year = g == Granularity::kDay ? ToYearMonthDay(start).year : ToIsoWeek(start).year;
    int y = year - kPopulationFirstYear;
    if (y >= 0 && y < kPopulationYears)
      out[static_cast<size_t>(t)] = by_year[static_cast<size_t>(y)];
  }
  return out;
}

}  // namespace p4dp::surveil
