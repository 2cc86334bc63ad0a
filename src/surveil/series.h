// The indicator series of the warehouse: for each indicator, département of residence and
// age band, the number of patients with a matching event on each day (a patient counts once
// per indicator per day), and the registered population of each place, age band and year
// as the denominator. Regions and the nation are sums of départements; weeks (ISO, Monday
// to Sunday) are sums of days. Built from the index when the warehouse is opened for
// serving, then kept current: NoteBatch remembers the patients each committed batch touched
// and CatchUp recomputes only those patients, subtracting what they counted before and
// adding what they count now, so a batch changes only the series of the indicators, places
// and bands its patients' events and rows fall in, and the result equals a full Build.
// Thread-safety: NoteBatch may be called from any thread at any time; Build and CatchUp
// (writers) and Read (readers, sharing) serialise on the store's own lock. Build and CatchUp
// read the index and catalog: call them inside Warehouse::Read.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/date.h"
#include "base/status.h"
#include "store/catalog.h"
#include "store/index.h"
#include "store/patient_set.h"
#include "store/records.h"
#include "surveil/indicators.h"

namespace p4dp::surveil {

enum class Level : uint8_t { kNation, kRegion, kDepartement };
std::string_view LevelName(Level level);  // "nation", "region", "departement"
std::optional<Level> LevelFromName(std::string_view name);

// A place: the nation (index 0), a region (index into domain::AllRegions()) or a
// département (index into domain::AllDepartements()).
struct Place {
  Level level = Level::kNation;
  int index = 0;
  bool operator==(const Place&) const = default;
};
std::string PlaceCode(const Place& place);  // "FR", the INSEE region or département code
// The place of `code` at `level` ("FR" for the nation); errors list what is accepted.
Result<Place> PlaceFromCode(Level level, std::string_view code);
// Every place of a level, in code order.
std::vector<Place> PlacesOf(Level level);

// Age bands: 0..3 are domain::AgeBand (0-4, 5-14, 15-64, 65+); kAllBands is every patient,
// including those whose birth date is unknown.
inline constexpr int kAllBands = 4;
std::string_view BandLabel(int band);  // "0-4", "5-14", "15-64", "65+", "all"
std::optional<int> BandFromLabel(std::string_view label);

enum class Granularity : uint8_t { kDay, kWeek };

// Only days from this one on are counted (older records are not surveillance material);
// the population is kept for the years kPopulationFirstYear .. + kPopulationYears - 1.
inline constexpr int kPopulationFirstYear = 1990;
inline constexpr int kPopulationYears = 64;

class SeriesStore {
 public:
  explicit SeriesStore(std::vector<Indicator> indicators);
  SeriesStore(const SeriesStore&) = delete;
  SeriesStore& operator=(const SeriesStore&) = delete;

  const std::vector<Indicator>& indicators() const { return indicators_; }
  // The index of the indicator called `name`, if any.
  std::optional<int> IndicatorIndex(std::string_view name) const;

  // Computes every series from the index (forgetting noted batches: they are in it). With
  // `only`, the patients outside it (PatientIndex values of `index`) count for nothing: the
  // series of a project's population. Such a store is built again when the warehouse
  // changes, never caught up (membership may change with any batch).
  void Build(const store::Index& index, const store::Catalog& catalog,
             const store::PatientSet* only = nullptr);
  // Remembers the patients of a committed batch (its patient rows, resources and events).
  void NoteBatch(const store::Batch& batch);
  // Recomputes the patients noted since the last Build or CatchUp; returns how many.
  size_t CatchUp(const store::Index& index, const store::Catalog& catalog);
  bool built() const;
  // Marks the series stale: built() is false until the next Build. For a warehouse whose
  // index was rebuilt (an objection, an erasure, a purge: Warehouse::SetReloadObserver).
  // Lock-free: safe to call while the warehouse is held exclusively.
  void Invalidate() { stale_.store(true); }

  // What readers see, under the store's shared lock (valid only inside Read's callback).
  class View {
   public:
    // Periods: day 0 or week 0 starts at first_day() (a Monday); none before a Build that
    // found an indicator event.
    Days first_day() const { return store_.first_day_; }
    int periods(Granularity g) const;
    Days PeriodStart(Granularity g, int period) const;
    std::string PeriodLabel(Granularity g, int period) const;  // "2024-03-05", "2024-W10"
    // The count of each period (patients with an event of the indicator that day, summed
    // over the days of a week).
    std::vector<double> Counts(int indicator, const Place& place, int band, Granularity g) const;
    // The registered population of each period: patients registered with a practice on
    // 1 July of the period's year (a week's ISO year), alive then, by their département and
    // their age on that day.
    std::vector<double> Population(const Place& place, int band, Granularity g) const;

   private:
    friend class SeriesStore;
    explicit View(const SeriesStore& s) : store_(s) {}
    const SeriesStore& store_;
  };
  void Read(const std::function<void(const View&)>& fn) const;

 private:
  struct PatientState {
    uint64_t registered_years = 0;  // bit y: counted in the population of year first + y
    int16_t birth_year = 0;         // 0: unknown
    int8_t birth_month = 0;
    uint8_t departement = 0;  // slot: index in AllDepartements(), or the unknown slot
  };
  // Brings the code and kind masks up to the catalog and index.
  void UpdateMasks(const store::Index& index, const store::Catalog& catalog);
  // The (day, indicator) pairs of a patient, sorted, distinct.
  void HitsOf(const store::IndexPatient& patient, std::vector<uint64_t>& out) const;
  PatientState StateOf(const store::IndexPatient& patient) const;
  // Adds (sign +1) or removes (-1) a patient's population and hits.
  void Apply(const PatientState& state, std::span<const uint64_t> hits, int sign);
  // Makes the day arrays cover `day` (moving them when the calendar grows).
  void Cover(Days day);
  size_t Cell(int indicator, int departement_slot, int band_slot) const;
  int BandSlotOn(const PatientState& state, Days day) const;

  std::vector<Indicator> indicators_;
  mutable std::shared_mutex mu_;
  // Masks of indicators (bit i: indicator i) by catalog code id and by event kind id.
  std::vector<uint64_t> code_masks_;
  std::vector<uint64_t> kind_masks_;
  // Counts: [indicator][departement slot][band slot][day - first_day_].
  Days first_day_ = 0;
  int days_ = 0;
  std::vector<int32_t> counts_;
  // Population: [year - kPopulationFirstYear][departement slot][band slot].
  std::vector<int32_t> population_;
  // What each patient counts for now: its state, and its hits (CSR from the Build, then
  // replaced patient by patient by CatchUp).
  std::vector<PatientState> patients_;
  std::vector<uint64_t> hit_begin_;
  std::vector<uint64_t> hits_;
  std::unordered_map<domain::PatientIndex, std::vector<uint64_t>> changed_hits_;
  bool built_ = false;
  std::atomic<bool> stale_{false};
  // Patients noted since the last CatchUp (own lock: NoteBatch runs in the writer thread).
  mutable std::mutex pending_mu_;
  std::vector<domain::PatientKey> pending_;
};

}  // namespace p4dp::surveil
