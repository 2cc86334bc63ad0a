#include "query/engine.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <thread>

#include "base/prefetch.h"

namespace p4dp::query {
namespace {

using store::IndexPatient;
using store::PatientEvents;

std::string WithoutDots(std::string_view code) {
  std::string out;
  out.reserve(code.size());
  for (char c : code) {
    if (c != '.') out += c;
  }
  return out;
}

// Membership by catalog code id (of a code set), or by event kind id (of a criterion).
using Mask = std::vector<uint8_t>;

Mask Resolve(const CodeSet& set, const store::Catalog& catalog) {
  const auto& codes = catalog.codes();
  Mask mask(codes.size(), 0);
  struct Ref {
    const CodeRef* ref;
    std::string code;
  };
  std::vector<Ref> refs;
  for (const CodeRef& r : set) refs.push_back({&r, WithoutDots(r.code)});
  for (size_t id = 1; id < codes.size(); ++id) {
    std::string code = WithoutDots(codes[id].code);
    bool in = false, out = false;
    for (const Ref& r : refs) {
      if (r.ref->system != codes[id].system) continue;
      bool match = r.ref->descendants ? code.rfind(r.code, 0) == 0 : code == r.code;
      if (!match) continue;
      (r.ref->exclude ? out : in) = true;
    }
    mask[id] = in && !out;
  }
  return mask;
}

// A registration period merged from those that touch or overlap.
struct Period {
  Days start = 0;
  Days end = 0;
};

// A set of event kinds, as a membership mask (by kind id) and as the sorted list of its kinds.
struct KindSet {
  Mask mask;
  std::vector<uint32_t> list;
};

// The groups of a patient's events (PatientEvents::groups, sorted by kind) whose kind is in
// `set`, in group order: all of them when `set` is nullptr. A set of few kinds is looked up
// by binary search in the groups; a larger one by a scan of the groups against its mask.
void MatchingGroups(const KindSet* set, const PatientEvents& events, std::vector<uint32_t>& out) {
  out.clear();
  std::span<const PatientEvents::Group> groups = events.groups();
  const auto n = static_cast<uint32_t>(groups.size());
  if (set == nullptr) {
    for (uint32_t g = 0; g < n; ++g) out.push_back(g);
    return;
  }
  if (set->list.size() * 8 < groups.size()) {
    // Lower bounds without branches on the data (they would mispredict half the time).
    const PatientEvents::Group* from = groups.data();
    const PatientEvents::Group* const end = groups.data() + groups.size();
    for (uint32_t kind : set->list) {
      size_t len = static_cast<size_t>(end - from);
      if (len == 0) break;
      const PatientEvents::Group* base = from;
      while (len > 1) {
        const size_t half = len / 2;
        base += static_cast<size_t>(base[half - 1].kind < kind) * half;
        len -= half;
      }
      from = base + (base->kind < kind ? 1 : 0);
      if (from != end && from->kind == kind) {
        out.push_back(static_cast<uint32_t>(from - groups.data()));
      }
    }
    return;
  }
  for (uint32_t g = 0; g < n; ++g) {
    if (set->mask[groups[g].kind]) out.push_back(g);
  }
}

// A criterion with what evaluating it needs resolved: the kinds its events may have.
struct Node {
  const Criterion* criterion = nullptr;
  size_t set = 0;   // events criteria: the kinds it wants, as an index into Evaluator::sets_
  size_t slot = 0;  // events criteria: its place in Scratch::passing
  std::vector<Node> children;
};

// Where a patient's events of some kinds lie: a group of its columns (events [begin, end))
// with the rank of the group's first value and how many of its events have one.
using Range = store::KindPosting;
constexpr uint32_t kRankUnknown = std::numeric_limits<uint32_t>::max();

// What is found of one patient before its rules are evaluated (Evaluator::Prepare): for each
// kind set the cohort reads, the ranges of the patient's events of those kinds. Finding them
// a few patients ahead lets the memory they point to load while earlier patients are
// evaluated.
struct Prepared {
  std::vector<std::vector<Range>> ranges;  // by set
  bool ranks_pending = false;              // some valued range has value_rank == kRankUnknown
};

// A thread's place in the posting lists of the kinds of each set read through them
// (Evaluator::Cursors): patients are prepared in increasing order, so each list is read once,
// front to back.
struct Cursors {
  struct Cursor {
    const store::KindPosting* at = nullptr;
    const store::KindPosting* end = nullptr;
  };
  std::vector<std::vector<Cursor>> by_set;  // empty for a set read through group tables
  std::vector<uint32_t> groups;             // scratch: groups found in a group table
};

// One thread's working memory, reset for each patient.
struct Scratch {
  std::vector<Days> candidates;
  // Per events criterion with a value filter, once needed: the sorted dates of the patient's
  // events that pass it (then each candidate costs two binary searches).
  struct Passing {
    bool ready = false;
    std::vector<Days> dates;
  };
  std::vector<Passing> passing;
};

class Evaluator {
 public:
  Evaluator(const Cohort& cohort, const store::Index& index, const store::Catalog& catalog,
            const Perimeter& perimeter)
      : cohort_(cohort), index_(index), catalog_(catalog), perimeter_(perimeter) {
    if (perimeter.domains) {
      restricts_domains_ = true;
      domain_allowed_.fill(false);
      for (domain::Domain d : *perimeter.domains) domain_allowed_[static_cast<size_t>(d)] = true;
    }
    clips_ = perimeter.from || perimeter.to;
    from_ = perimeter.from.value_or(std::numeric_limits<Days>::min());
    to_ = perimeter.to.value_or(std::numeric_limits<Days>::max());
    // The entry's `between` within the period.
    entry_from_ = cohort.entry.from;
    if (perimeter.from) entry_from_ = std::max(entry_from_.value_or(from_), from_);
    entry_to_ = cohort.entry.to;
    if (perimeter.to) entry_to_ = std::min(entry_to_.value_or(to_), to_);
    entry_set_ = SetOf(KindsOf(cohort.entry.domain, cohort.entry.codeset), false);
    for (const Rule& rule : cohort.inclusion) rules_.push_back(Compile(rule.criterion));
    for (size_t set = 0; set < sets_.size(); ++set) {
      reads_group_tables_ = reads_group_tables_ || !ByPostings(set);
    }
  }

  // The patients that may have an entry event: those with one of the entry code set's codes
  // (all patients when the entry has no code set), of the perimeter's population.
  std::optional<std::vector<domain::PatientIndex>> EntryPatients() const {
    const store::PatientSet* population = perimeter_.population.get();
    if (cohort_.entry.codeset.empty()) {
      if (population == nullptr) return std::nullopt;
      std::vector<domain::PatientIndex> all = population->ToVector();
      std::erase_if(all, [&](domain::PatientIndex i) { return i >= index_.patient_count(); });
      return all;
    }
    const Mask& codes = code_masks_.at(cohort_.entry.codeset);
    store::PatientSet patients;
    for (uint32_t c = 0; c < codes.size(); ++c) {
      if (codes[c]) patients |= index_.PatientsWithCode(c);
    }
    if (population != nullptr) patients &= *population;
    return patients.ToVector();
  }

  Scratch NewScratch() const {
    Scratch scratch;
    scratch.passing.resize(valued_criteria_);
    return scratch;
  }

  Prepared NewPrepared() const {
    Prepared prepared;
    prepared.ranges.resize(sets_.size());
    return prepared;
  }

  // Cursors for a thread whose first patient is `first`: for each set of few kinds, one per
  // kind, at the first posting of a patient from `first` on.
  Cursors NewCursors(domain::PatientIndex first) const {
    Cursors cursors;
    cursors.by_set.resize(sets_.size());
    for (size_t s = 0; s < sets_.size(); ++s) {
      if (!ByPostings(s)) continue;
      for (uint32_t kind : sets_[s].kinds->list) {
        std::span<const store::KindPosting> list = index_.KindPostings(kind);
        const store::KindPosting* at = std::lower_bound(
            list.data(), list.data() + list.size(), first,
            [](const store::KindPosting& x, domain::PatientIndex p) { return x.patient < p; });
        cursors.by_set[s].push_back({at, list.data() + list.size()});
      }
    }
    return cursors;
  }

  // Whether patient `i`'s group table is read by Prepare (and so worth loading ahead).
  bool ReadsGroupTable(domain::PatientIndex i) const {
    return reads_group_tables_ || !index_.InPostings(i);
  }

  // Finds patient `i`'s ranges of each kind set, and starts loading their dates and values
  // (or value bits, when the ranks are still unknown). Patients are prepared in increasing
  // order with the same `cursors`. A patient whose groups are not in the posting lists is
  // read through its group table: best prepared once PatientEvents::Prefetch has had time to
  // load it.
  void Prepare(domain::PatientIndex i, const IndexPatient& p, Cursors& cursors,
               Prepared& prepared) const {
    const bool in_postings = index_.InPostings(i);
    prepared.ranks_pending = false;
    for (size_t s = 0; s < sets_.size(); ++s) {
      std::vector<Range>& ranges = prepared.ranges[s];
      ranges.clear();
      if (ByPostings(s)) {
        for (Cursors::Cursor& c : cursors.by_set[s]) {
          while (c.at != c.end && c.at->patient < i) ++c.at;
          if (in_postings && c.at != c.end && c.at->patient == i) ranges.push_back(*c.at);
        }
      }
      if (!ByPostings(s) || !in_postings) {
        std::vector<uint32_t>& groups = cursors.groups;
        MatchingGroups(sets_[s].kinds, p.events, groups);
        std::span<const PatientEvents::Group> table = p.events.groups();
        for (uint32_t g : groups) {
          const uint32_t begin = p.events.GroupBegin(g);
          ranges.push_back({i, begin, table[g].end, kRankUnknown, 0});
        }
        prepared.ranks_pending = prepared.ranks_pending || (sets_[s].valued && !groups.empty());
      }
      if (sets_[s].kinds == nullptr) continue;  // every group: too much to load ahead
      for (const Range& r : ranges) {
        const bool ranked = r.value_rank != kRankUnknown;
        p.events.PrefetchEvents(r.begin, r.end, sets_[s].valued && !ranked);
        if (sets_[s].valued && ranked) p.events.PrefetchValues(r.value_rank, r.values);
      }
    }
  }

  // Then, for ranges found through the group table and read with a value filter, once their
  // value bits are loaded: the rank of each one's first value and its number of values, and
  // starts loading the values.
  void PrepareValues(const IndexPatient& p, Prepared& prepared) const {
    if (!prepared.ranks_pending) return;
    for (size_t s = 0; s < sets_.size(); ++s) {
      if (!sets_[s].valued) continue;
      for (Range& r : prepared.ranges[s]) {
        if (r.value_rank != kRankUnknown) continue;
        r.value_rank = p.events.ValuesBefore(r.begin);
        r.values = p.events.ValuesBefore(r.end) - r.value_rank;
        p.events.PrefetchValues(r.value_rank, r.values);
      }
    }
    prepared.ranks_pending = false;
  }

  // Attrition of one patient: -1 if no candidate, else the largest number of leading rules
  // one candidate satisfies; `index_date` gets the earliest candidate satisfying them all.
  // `prepared` comes from Prepare (and PrepareValues) for this patient.
  int Evaluate(const IndexPatient& p, const Prepared& prepared, Days& index_date,
               Scratch& scratch) const {
    std::span<const Days> candidates = Candidates(p, prepared.ranges[entry_set_], scratch);
    if (candidates.empty()) return -1;
    for (Scratch::Passing& m : scratch.passing) m.ready = false;
    int best = 0;
    const int rules = static_cast<int>(rules_.size());
    for (Days d : candidates) {
      int k = 0;
      while (k < rules && Holds(rules_[static_cast<size_t>(k)], p, d, prepared, scratch)) ++k;
      if (k > best) best = k;
      if (k == rules) {
        index_date = d;  // candidates are in date order: the first is the earliest
        break;
      }
    }
    return best;
  }

 private:
  const Mask& CodeMask(const std::string& codeset) {
    auto it = code_masks_.find(codeset);
    if (it == code_masks_.end()) {
      it = code_masks_.emplace(codeset, Resolve(cohort_.codesets.at(codeset), catalog_)).first;
    }
    return it->second;
  }

  // The kinds of events that have the domain (if any) and a code of the code set (if any),
  // resolved once per kind (not per event).
  const KindSet* KindsOf(const std::optional<domain::Domain>& domain, const std::string& codeset) {
    if (!domain && codeset.empty() && !restricts_domains_) return nullptr;
    auto key = std::make_pair(domain ? static_cast<int>(*domain) : -1, codeset);
    auto it = kind_sets_.find(key);
    if (it != kind_sets_.end()) return &it->second;
    const Mask* codes = codeset.empty() ? nullptr : &CodeMask(codeset);
    const store::EventKinds& kinds = index_.kinds();
    KindSet set;
    set.mask.assign(kinds.size(), 0);
    for (uint32_t k = 0; k < kinds.size(); ++k) {
      store::EventKind kind = kinds[k];
      if (domain && kind.domain != *domain) continue;
      if (!domain_allowed_[static_cast<size_t>(kind.domain)]) continue;
      bool in = codes == nullptr;
      for (uint32_t c : kind.codes) in = in || (c < codes->size() && (*codes)[c]);
      set.mask[k] = in;
      if (in) set.list.push_back(k);
    }
    return &kind_sets_.emplace(key, std::move(set)).first->second;
  }

  // The index of this kind set in sets_, added if new; `valued` if read with a value filter.
  size_t SetOf(const KindSet* kinds, bool valued) {
    for (size_t s = 0; s < sets_.size(); ++s) {
      if (sets_[s].kinds == kinds) {
        sets_[s].valued = sets_[s].valued || valued;
        return s;
      }
    }
    sets_.push_back({kinds, valued});
    return sets_.size() - 1;
  }

  Node Compile(const Criterion& c) {
    Node node{&c, 0, 0, {}};
    if (c.kind == Criterion::Kind::kEvents) {
      const bool valued = !c.events.value.empty();
      node.set = SetOf(KindsOf(c.events.domain, c.events.codeset), valued);
      if (valued) node.slot = valued_criteria_++;
    }
    for (const Criterion& child : c.children) node.children.push_back(Compile(child));
    return node;
  }

  // The entry's candidate dates, in increasing order: in scratch.candidates, or with every
  // occurrence of one group and nothing to filter, that group's dates as they are (repeated
  // dates then stay: evaluating a date twice changes nothing).
  std::span<const Days> Candidates(const IndexPatient& p, const std::vector<Range>& ranges,
                                   Scratch& scratch) const {
    std::vector<Days>& dates = scratch.candidates;
    dates.clear();
    const Entry& entry = cohort_.entry;
    if (ranges.empty()) return {};
    std::span<const Days> all = p.events.dates();  // sorted within each group
    if (!entry.first && ranges.size() == 1 && !entry_from_ && !entry_to_ &&
        entry.prior_observation_days <= 0) {
      return all.subspan(ranges[0].begin, ranges[0].end - ranges[0].begin);
    }
    if (entry.first) {
      // The earliest event of the kinds wanted: the earliest first date of their groups (the
      // earliest visible one, from the period's start on).
      Days first = std::numeric_limits<Days>::max();
      if (clips_) {
        for (const Range& r : ranges) {
          auto begin = std::lower_bound(all.begin() + r.begin, all.begin() + r.end, from_);
          if (begin != all.begin() + r.end) first = std::min(first, *begin);
        }
        // None from the period's start on, or the first one after its end.
        if (first == std::numeric_limits<Days>::max() || first > to_) return {};
      } else {
        for (const Range& r : ranges) first = std::min(first, all[r.begin]);
      }
      dates.push_back(first);
    } else {
      // Every occurrence: only the dates `between` can be candidates.
      for (const Range& r : ranges) {
        auto begin = all.begin() + r.begin;
        auto end = all.begin() + r.end;
        if (entry_from_) begin = std::lower_bound(begin, end, *entry_from_);
        if (entry_to_) end = std::upper_bound(begin, end, *entry_to_);
        dates.insert(dates.end(), begin, end);
      }
      if (ranges.size() > 1) std::sort(dates.begin(), dates.end());
      dates.erase(std::unique(dates.begin(), dates.end()), dates.end());
    }
    std::vector<Period> periods;
    if (entry.prior_observation_days > 0) periods = Periods(p);
    std::erase_if(dates, [&](Days d) {
      if (entry_from_ && d < *entry_from_) return true;
      if (entry_to_ && d > *entry_to_) return true;
      return entry.prior_observation_days > 0 &&
             !Observed(periods, d, entry.prior_observation_days, from_);
    });
    return dates;
  }

  // The registration periods, merged where they touch or overlap (one without a start date
  // counts for nothing).
  static std::vector<Period> Periods(const IndexPatient& p) {
    std::vector<Period> merged;
    if (!p.row) return merged;
    std::vector<std::pair<Days, Days>> periods;
    for (const store::Registration& r : p.row->registrations) {
      if (r.start == store::kNoDay) continue;
      Days end = r.end == store::kNoDay ? std::numeric_limits<Days>::max() : r.end;
      if (end >= r.start) periods.emplace_back(r.start, end);
    }
    std::sort(periods.begin(), periods.end());
    for (const auto& [s, e] : periods) {
      if (!merged.empty() && s <= static_cast<int64_t>(merged.back().end) + 1) {
        merged.back().end = std::max(merged.back().end, e);
      } else {
        merged.push_back({s, e});
      }
    }
    return merged;
  }

  // Registered without a break for at least `days` days up to and including `index`,
  // counting only the days from `from` on (the perimeter's period clips registrations).
  static bool Observed(const std::vector<Period>& periods, Days index, int32_t days, Days from) {
    for (const Period& period : periods) {
      if (period.start <= index && index <= period.end) {
        return static_cast<int64_t>(index) - std::max(period.start, from) + 1 >= days;
      }
    }
    return false;
  }

  bool Holds(const Node& node, const IndexPatient& p, Days index, const Prepared& prepared,
             Scratch& scratch) const {
    const Criterion& c = *node.criterion;
    switch (c.kind) {
      case Criterion::Kind::kEvents: return HoldsEvents(node, p, index, prepared, scratch);
      case Criterion::Kind::kAge: {
        if (!p.row || p.row->birth_year == 0) return false;
        YearMonthDay at = ToYearMonthDay(index);
        int age = at.year - p.row->birth_year;
        if (p.row->birth_month != 0 && at.month < p.row->birth_month) --age;
        return (!c.age_min || age >= *c.age_min) && (!c.age_max || age <= *c.age_max);
      }
      case Criterion::Kind::kSex: return (p.row ? p.row->sex : domain::Sex::kUnknown) == c.sex;
      case Criterion::Kind::kDepartement:
        return p.row && std::find(c.departements.begin(), c.departements.end(),
                                  p.row->departement) != c.departements.end();
      case Criterion::Kind::kAll:
        for (const Node& child : node.children) {
          if (!Holds(child, p, index, prepared, scratch)) return false;
        }
        return true;
      case Criterion::Kind::kAny:
        for (const Node& child : node.children) {
          if (Holds(child, p, index, prepared, scratch)) return true;
        }
        return false;
      case Criterion::Kind::kNot: return !Holds(node.children.front(), p, index, prepared, scratch);
    }
    return false;
  }

  static bool CountIsRight(const EventsCriterion& ec, int64_t count) {
    return count >= ec.at_least && (!ec.at_most || count <= *ec.at_most);
  }

  // Counts the events of the kinds wanted in the window (group by group, by binary search),
  // or with a value filter the dates that pass it; the window is clipped to the period.
  bool HoldsEvents(const Node& node, const IndexPatient& p, Days index, const Prepared& prepared,
                   Scratch& scratch) const {
    const EventsCriterion& ec = node.criterion->events;
    const std::vector<Range>& ranges = prepared.ranges[node.set];
    const bool clips = clips_;
    const Days from = from_, to = to_;
    auto count_in = [&](auto begin, auto end) -> int64_t {
      if (ec.window_start || clips) {
        begin = std::lower_bound(begin, end,
                                 ec.window_start ? std::max(index + *ec.window_start, from) : from);
      }
      if (ec.window_end || clips) {
        end =
            std::upper_bound(begin, end, ec.window_end ? std::min(index + *ec.window_end, to) : to);
      }
      return end - begin;
    };
    if (ec.value.empty()) {
      std::span<const Days> dates = p.events.dates();
      int64_t count = 0;
      for (const Range& r : ranges)
        count += count_in(dates.begin() + r.begin, dates.begin() + r.end);
      return CountIsRight(ec, count);
    }
    Scratch::Passing& m = scratch.passing[node.slot];
    if (!m.ready) {
      PassingDates(ec, ranges, p.events, m.dates);
      m.ready = true;
    }
    return CountIsRight(ec, count_in(m.dates.begin(), m.dates.end()));
  }

  // The dates of the events of `ranges` whose value passes the criterion's filter, sorted.
  static void PassingDates(const EventsCriterion& ec, const std::vector<Range>& ranges,
                           const PatientEvents& events, std::vector<Days>& out) {
    out.clear();
    std::span<const Days> dates = events.dates();
    std::span<const double> values = events.values();
    // ValueFilter::Passes as four comparisons without branches: a missing bound always passes
    // (-inf, +inf, or NaN, which no comparison holds against), and NaN (no value) never does.
    constexpr double kInf = std::numeric_limits<double>::infinity();
    constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
    const double gte = ec.value.gte.value_or(-kInf), lte = ec.value.lte.value_or(kInf);
    const double gt = ec.value.gt.value_or(kNaN), lt = ec.value.lt.value_or(kNaN);
    auto passes = [&](double v) { return v >= gte && v <= lte && !(v <= gt) && !(v >= lt); };
    for (const Range& r : ranges) {
      const double* value = values.data() + r.value_rank;
      if (r.values == r.end - r.begin) {
        // Every event has a value: no need for the value bits.
        for (uint32_t i = r.begin; i < r.end; ++i) {
          if (passes(*value++)) out.push_back(dates[i]);
        }
        continue;
      }
      for (uint32_t i = r.begin; i < r.end; ++i) {
        if (!events.has_value(i)) continue;  // no value fails a value filter
        if (passes(*value++)) out.push_back(dates[i]);
      }
    }
    if (ranges.size() > 1) std::sort(out.begin(), out.end());
  }

  const Cohort& cohort_;
  const store::Index& index_;
  const store::Catalog& catalog_;
  const Perimeter& perimeter_;
  // The perimeter resolved: allowed domains, the period (clips_: some bound), and the
  // entry's `between` within it.
  std::array<bool, domain::kDomainCount> domain_allowed_ = FilledTrue();
  bool restricts_domains_ = false;
  bool clips_ = false;
  Days from_ = 0, to_ = 0;
  std::optional<Days> entry_from_, entry_to_;
  static std::array<bool, domain::kDomainCount> FilledTrue() {
    std::array<bool, domain::kDomainCount> a;
    a.fill(true);
    return a;
  }
  std::map<std::string, Mask> code_masks_;
  std::map<std::pair<int, std::string>, KindSet> kind_sets_;
  // The kind sets read: by the entry, and by events criteria (each once, nullptr: any kind).
  struct SetUse {
    const KindSet* kinds = nullptr;
    bool valued = false;  // some criterion reads it with a value filter
  };
  std::vector<SetUse> sets_;
  // Sets of at most this many kinds are read through the posting lists of their kinds
  // (patients in the lists), larger ones through each patient's group table.
  static constexpr size_t kMaxPostingKinds = 16;
  bool ByPostings(size_t s) const {
    return sets_[s].kinds != nullptr && sets_[s].kinds->list.size() <= kMaxPostingKinds;
  }
  bool reads_group_tables_ = false;  // some set is read through group tables
  size_t entry_set_ = 0;
  size_t valued_criteria_ = 0;  // Node::slot values handed out
  std::vector<Node> rules_;
};

}  // namespace

CohortResult RunCohort(const Cohort& cohort, const store::Index& index,
                       const store::Catalog& catalog, const RunOptions& options) {
  auto start = std::chrono::steady_clock::now();
  Evaluator evaluator(cohort, index, catalog, options.perimeter);
  // Only the patients with a code of the entry's code set can have an entry event.
  const std::optional<std::vector<domain::PatientIndex>> selected = evaluator.EntryPatients();
  const size_t rules = cohort.inclusion.size();
  const size_t patients = selected ? selected->size() : index.patient_count();
  int threads = options.threads > 0
                    ? options.threads
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = static_cast<int>(
      std::min<size_t>(static_cast<size_t>(threads), std::max<size_t>(1, patients / 1024 + 1)));
  struct Part {
    std::vector<int64_t> rows;
    std::vector<CohortMember> members;
  };
  std::vector<Part> parts(static_cast<size_t>(threads));
  auto work = [&](size_t t) {
    Part& part = parts[t];
    part.rows.assign(rules + 1, 0);
    Scratch scratch = evaluator.NewScratch();
    size_t from = patients * t / parts.size(), to = patients * (t + 1) / parts.size();
    auto patient_at = [&](size_t i) -> const IndexPatient& {
      return index.patient(selected ? (*selected)[i] : static_cast<domain::PatientIndex>(i));
    };
    // Patients are far apart in memory, and each step below needs what the one before
    // loaded: so they run as a pipeline, each stage a few patients ahead of the next. Patient
    // i + kRow: its row starts loading (a few lines: the rules read its fields, the next stage
    // its events' header); i + kTable: its group table; i + kPrepare: its groups of the kinds
    // wanted are found and their dates and value bits start loading; i + kValues: its values;
    // i: evaluated. `ring` holds what Prepare found for patients i .. i + kPrepare.
    // (Distances tuned at 1,000,000 patients: 8 / 4 patients between the stages that wait
    // for memory; shorter ones leave loads unfinished, longer ones no faster.)
    constexpr size_t kRow = 24, kTable = 16, kPrepare = 8, kValues = 4, kRing = 16;
    static_assert(kValues < kPrepare && kPrepare < kRing);
    std::vector<Prepared> ring;
    for (size_t r = 0; r < kRing; ++r) ring.push_back(evaluator.NewPrepared());
    auto index_at = [&](size_t i) {
      return selected ? (*selected)[i] : static_cast<domain::PatientIndex>(i);
    };
    if (from == to) return;
    Cursors cursors = evaluator.NewCursors(index_at(from));
    auto prepare = [&](size_t i) {
      evaluator.Prepare(index_at(i), patient_at(i), cursors, ring[i % kRing]);
    };
    for (size_t i = from; i < std::min(to, from + kPrepare); ++i) {
      prepare(i);
      evaluator.PrepareValues(patient_at(i), ring[i % kRing]);
    }
    for (size_t i = from; i < to; ++i) {
      if (i + kRow < to) PrefetchBytes(&patient_at(i + kRow), sizeof(IndexPatient));
      if (i + kTable < to && evaluator.ReadsGroupTable(index_at(i + kTable))) {
        patient_at(i + kTable).events.Prefetch();
      }
      if (i + kPrepare < to) prepare(i + kPrepare);
      if (i + kValues < to && i + kValues >= from + kPrepare) {
        evaluator.PrepareValues(patient_at(i + kValues), ring[(i + kValues) % kRing]);
      }
      const IndexPatient& p = patient_at(i);
      Days index_date = 0;
      int reached = evaluator.Evaluate(p, ring[i % kRing], index_date, scratch);
      if (reached < 0) continue;
      for (int k = 0; k <= reached; ++k) ++part.rows[static_cast<size_t>(k)];
      if (options.with_members && static_cast<size_t>(reached) == rules) {
        part.members.push_back({p.key, index_date, index_at(i)});
      }
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < parts.size(); ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();

  CohortResult result;
  result.attrition.resize(rules + 1);
  result.attrition[0].name = "entry";
  for (size_t k = 0; k < rules; ++k) {
    const std::string& name = cohort.inclusion[k].name;
    result.attrition[k + 1].name = name.empty() ? "rule " + std::to_string(k + 1) : name;
  }
  for (const Part& part : parts) {
    for (size_t k = 0; k <= rules; ++k) result.attrition[k].patients += part.rows[k];
    result.members.insert(result.members.end(), part.members.begin(), part.members.end());
  }
  result.count = result.attrition.back().patients;
  std::sort(result.members.begin(), result.members.end(),
            [](const CohortMember& a, const CohortMember& b) { return a.key < b.key; });
  result.milliseconds =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return result;
}

store::PatientSet PopulationOf(const CohortResult& result) {
  store::PatientSet set;
  for (const CohortMember& m : result.members) set.Add(m.patient);
  return set;
}

std::string ShownCount(int64_t count, int64_t min_cell) {
  if (count > 0 && count < min_cell) return "<" + std::to_string(min_cell);
  return std::to_string(count);
}

std::string ResultToJson(const CohortResult& result, int64_t min_cell, const std::string& title,
                         bool with_members) {
  auto count = [&](int64_t n) -> nlohmann::ordered_json {
    if (n > 0 && n < min_cell) return ShownCount(n, min_cell);
    return n;
  };
  nlohmann::ordered_json j;
  if (!title.empty()) j["title"] = title;
  j["count"] = count(result.count);
  j["attrition"] = nlohmann::ordered_json::array();
  for (const AttritionRow& row : result.attrition) {
    j["attrition"].push_back({{"name", row.name}, {"patients", count(row.patients)}});
  }
  j["min_cell"] = min_cell;
  j["milliseconds"] = std::round(result.milliseconds * 100) / 100;
  if (with_members) {
    j["patients"] = nlohmann::ordered_json::array();
    for (const CohortMember& m : result.members) {
      j["patients"].push_back(
          {{"key", m.key.ToHex()}, {"index_date", FormatIsoDate(m.index_date)}});
    }
  }
  return j.dump();
}

}  // namespace p4dp::query
