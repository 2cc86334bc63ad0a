#include "query/engine.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <thread>

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
    auto from = groups.begin();
    for (uint32_t kind : set->list) {
      from = std::lower_bound(from, groups.end(), kind,
                              [](const PatientEvents::Group& g, uint32_t k) { return g.kind < k; });
      if (from == groups.end()) break;
      if (from->kind == kind) out.push_back(static_cast<uint32_t>(from - groups.begin()));
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
  const KindSet* kinds = nullptr;  // events criteria: nullptr when any kind will do
  size_t slot = 0;                 // events criteria: its place in Scratch::matches
  std::vector<Node> children;
};

// One thread's working memory, reset for each patient.
struct Scratch {
  std::vector<Days> candidates;
  std::vector<uint32_t> entry_groups;
  // Per events criterion and patient, once needed: the groups of the kinds it wants, and with
  // a value filter the sorted dates of the events that pass it (then each candidate costs
  // two binary searches).
  struct Matches {
    bool ready = false;
    std::vector<uint32_t> groups;
    bool valued = false;
    std::vector<Days> dates;
  };
  std::vector<Matches> matches;
};

class Evaluator {
 public:
  Evaluator(const Cohort& cohort, const store::Index& index, const store::Catalog& catalog)
      : cohort_(cohort), index_(index), catalog_(catalog) {
    entry_kinds_ = KindsOf(cohort.entry.domain, cohort.entry.codeset);
    for (const Rule& rule : cohort.inclusion) rules_.push_back(Compile(rule.criterion));
  }

  // The patients that may have an entry event: those with one of the entry code set's codes
  // (all patients when the entry has no code set).
  std::optional<std::vector<domain::PatientIndex>> EntryPatients() const {
    if (cohort_.entry.codeset.empty()) return std::nullopt;
    const Mask& codes = code_masks_.at(cohort_.entry.codeset);
    store::PatientSet patients;
    for (uint32_t c = 0; c < codes.size(); ++c) {
      if (codes[c]) patients |= index_.PatientsWithCode(c);
    }
    return patients.ToVector();
  }

  Scratch NewScratch() const {
    Scratch scratch;
    scratch.matches.resize(events_criteria_);
    return scratch;
  }

  // Attrition of one patient: -1 if no candidate, else the largest number of leading rules
  // one candidate satisfies; `index_date` gets the earliest candidate satisfying them all.
  int Evaluate(const IndexPatient& p, Days& index_date, Scratch& scratch) const {
    std::vector<Days>& candidates = scratch.candidates;
    Candidates(p, candidates, scratch.entry_groups);
    if (candidates.empty()) return -1;
    for (Scratch::Matches& m : scratch.matches) {
      m.ready = false;
      m.valued = false;
    }
    int best = 0;
    const int rules = static_cast<int>(rules_.size());
    for (Days d : candidates) {
      int k = 0;
      while (k < rules && Holds(rules_[static_cast<size_t>(k)], p, d, scratch)) ++k;
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
    if (!domain && codeset.empty()) return nullptr;
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
      bool in = codes == nullptr;
      for (uint32_t c : kind.codes) in = in || (c < codes->size() && (*codes)[c]);
      set.mask[k] = in;
      if (in) set.list.push_back(k);
    }
    return &kind_sets_.emplace(key, std::move(set)).first->second;
  }

  Node Compile(const Criterion& c) {
    Node node{&c, nullptr, 0, {}};
    if (c.kind == Criterion::Kind::kEvents) {
      node.kinds = KindsOf(c.events.domain, c.events.codeset);
      node.slot = events_criteria_++;
    }
    for (const Criterion& child : c.children) node.children.push_back(Compile(child));
    return node;
  }

  void Candidates(const IndexPatient& p, std::vector<Days>& dates,
                  std::vector<uint32_t>& groups) const {
    dates.clear();
    const Entry& entry = cohort_.entry;
    MatchingGroups(entry_kinds_, p.events, groups);
    if (groups.empty()) return;
    std::span<const Days> all = p.events.dates();  // sorted within each group
    if (entry.first) {
      // The earliest event of the kinds wanted: the earliest first date of their groups.
      Days first = std::numeric_limits<Days>::max();
      for (uint32_t g : groups) first = std::min(first, all[p.events.GroupBegin(g)]);
      dates.push_back(first);
    } else {
      // Every occurrence: only the dates `between` can be candidates.
      for (uint32_t g : groups) {
        auto begin = all.begin() + p.events.GroupBegin(g);
        auto end = all.begin() + p.events.groups()[g].end;
        if (entry.from) begin = std::lower_bound(begin, end, *entry.from);
        if (entry.to) end = std::upper_bound(begin, end, *entry.to);
        dates.insert(dates.end(), begin, end);
      }
      if (groups.size() > 1) std::sort(dates.begin(), dates.end());
      dates.erase(std::unique(dates.begin(), dates.end()), dates.end());
    }
    std::vector<Period> periods;
    if (entry.prior_observation_days > 0) periods = Periods(p);
    std::erase_if(dates, [&](Days d) {
      if (entry.from && d < *entry.from) return true;
      if (entry.to && d > *entry.to) return true;
      return entry.prior_observation_days > 0 &&
             !Observed(periods, d, entry.prior_observation_days);
    });
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

  // Registered without a break for at least `days` days up to and including `index`.
  static bool Observed(const std::vector<Period>& periods, Days index, int32_t days) {
    for (const Period& period : periods) {
      if (period.start <= index && index <= period.end) {
        return static_cast<int64_t>(index) - period.start + 1 >= days;
      }
    }
    return false;
  }

  bool Holds(const Node& node, const IndexPatient& p, Days index, Scratch& scratch) const {
    const Criterion& c = *node.criterion;
    switch (c.kind) {
      case Criterion::Kind::kEvents: return HoldsEvents(node, p, index, scratch);
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
          if (!Holds(child, p, index, scratch)) return false;
        }
        return true;
      case Criterion::Kind::kAny:
        for (const Node& child : node.children) {
          if (Holds(child, p, index, scratch)) return true;
        }
        return false;
      case Criterion::Kind::kNot: return !Holds(node.children.front(), p, index, scratch);
    }
    return false;
  }

  static bool CountIsRight(const EventsCriterion& ec, int64_t count) {
    return count >= ec.at_least && (!ec.at_most || count <= *ec.at_most);
  }

  // Counts the events of the kinds wanted in the window (group by group, by binary search),
  // or with a value filter the dates that pass it.
  static bool HoldsEvents(const Node& node, const IndexPatient& p, Days index, Scratch& scratch) {
    const EventsCriterion& ec = node.criterion->events;
    Scratch::Matches& m = scratch.matches[node.slot];
    if (!m.ready) {
      MatchingGroups(node.kinds, p.events, m.groups);
      m.ready = true;
    }
    auto count_in = [&](auto begin, auto end) -> int64_t {
      if (ec.window_start) begin = std::lower_bound(begin, end, index + *ec.window_start);
      if (ec.window_end) end = std::upper_bound(begin, end, index + *ec.window_end);
      return end - begin;
    };
    if (ec.value.empty()) {
      std::span<const Days> dates = p.events.dates();
      int64_t count = 0;
      for (uint32_t g : m.groups) {
        count += count_in(dates.begin() + p.events.GroupBegin(g),
                          dates.begin() + p.events.groups()[g].end);
      }
      return CountIsRight(ec, count);
    }
    if (!m.valued) {
      PassingDates(ec, m.groups, p.events, m.dates);
      m.valued = true;
    }
    return CountIsRight(ec, count_in(m.dates.begin(), m.dates.end()));
  }

  // The dates of the events of `groups` whose value passes the criterion's filter, sorted.
  static void PassingDates(const EventsCriterion& ec, const std::vector<uint32_t>& groups,
                           const PatientEvents& events, std::vector<Days>& out) {
    out.clear();
    std::span<const Days> dates = events.dates();
    std::span<const double> values = events.values();
    for (uint32_t g : groups) {
      const uint32_t begin = events.GroupBegin(g), end = events.groups()[g].end;
      uint32_t value_rank = events.ValuesBefore(begin);
      for (uint32_t i = begin; i < end; ++i) {
        if (!events.has_value(i)) continue;  // no value fails a value filter
        if (ec.value.Passes(values[value_rank++])) out.push_back(dates[i]);
      }
    }
    if (groups.size() > 1) std::sort(out.begin(), out.end());
  }

  const Cohort& cohort_;
  const store::Index& index_;
  const store::Catalog& catalog_;
  std::map<std::string, Mask> code_masks_;
  std::map<std::pair<int, std::string>, KindSet> kind_sets_;
  const KindSet* entry_kinds_ = nullptr;
  size_t events_criteria_ = 0;  // Node::slot values handed out
  std::vector<Node> rules_;
};

}  // namespace

CohortResult RunCohort(const Cohort& cohort, const store::Index& index,
                       const store::Catalog& catalog, const RunOptions& options) {
  auto start = std::chrono::steady_clock::now();
  Evaluator evaluator(cohort, index, catalog);
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
    // Patients are far apart in memory: their rows, then their columns, are fetched ahead.
    constexpr size_t kAhead = 8;
    for (size_t i = from; i < to; ++i) {
      if (i + 2 * kAhead < to) {
        // The whole row (a few lines): the rules read its fields, the loop its events' header.
        const auto* ahead = reinterpret_cast<const char*>(&patient_at(i + 2 * kAhead));
        for (size_t b = 0; b < sizeof(IndexPatient); b += 64) __builtin_prefetch(ahead + b);
      }
      if (i + kAhead < to) patient_at(i + kAhead).events.Prefetch();
      const IndexPatient& p = patient_at(i);
      Days index_date = 0;
      int reached = evaluator.Evaluate(p, index_date, scratch);
      if (reached < 0) continue;
      for (int k = 0; k <= reached; ++k) ++part.rows[static_cast<size_t>(k)];
      if (options.with_members && static_cast<size_t>(reached) == rules) {
        part.members.push_back({p.key, index_date});
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
