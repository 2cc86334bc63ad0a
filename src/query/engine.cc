#include "query/engine.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

namespace p4dp::query {
namespace {

using store::IndexEvent;
using store::IndexPatient;

std::string WithoutDots(std::string_view code) {
  std::string out;
  out.reserve(code.size());
  for (char c : code) {
    if (c != '.') out += c;
  }
  return out;
}

// Code set name -> membership by catalog code id.
using CodeMask = std::vector<uint8_t>;

CodeMask Resolve(const CodeSet& set, const store::Catalog& catalog) {
  const auto& codes = catalog.codes();
  CodeMask mask(codes.size(), 0);
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

class Evaluator {
 public:
  Evaluator(const Cohort& cohort, const store::Catalog& catalog) : cohort_(cohort) {
    for (const auto& [name, set] : cohort.codesets) masks_[name] = Resolve(set, catalog);
  }

  // Attrition of one patient: -1 if no candidate, else the largest number of leading rules
  // one candidate satisfies; `index_date` gets the earliest candidate satisfying them all.
  int Evaluate(const IndexPatient& p, Days& index_date) const {
    std::vector<Days> candidates = Candidates(p);
    if (candidates.empty()) return -1;
    int best = 0;
    const int rules = static_cast<int>(cohort_.inclusion.size());
    for (Days d : candidates) {
      int k = 0;
      while (k < rules && Holds(cohort_.inclusion[static_cast<size_t>(k)].criterion, p, d)) ++k;
      if (k > best) best = k;
      if (k == rules) {
        index_date = d;  // candidates are in date order: the first is the earliest
        break;
      }
    }
    return best;
  }

 private:
  const CodeMask* MaskOf(const std::string& codeset) const {
    if (codeset.empty()) return nullptr;
    return &masks_.at(codeset);
  }

  static bool InSet(const IndexEvent& e, const CodeMask* mask) {
    if (mask == nullptr) return true;
    for (uint32_t c : e.codes) {
      if (c < mask->size() && (*mask)[c]) return true;
    }
    return false;
  }

  static bool DomainOk(const IndexEvent& e, const std::optional<domain::Domain>& d) {
    return !d || e.domain == *d;
  }

  std::vector<Days> Candidates(const IndexPatient& p) const {
    const Entry& entry = cohort_.entry;
    const CodeMask* mask = MaskOf(entry.codeset);
    std::vector<Days> dates;
    for (const IndexEvent& e : p.events) {  // sorted by date
      if (!DomainOk(e, entry.domain) || !InSet(e, mask)) continue;
      if (dates.empty() || dates.back() != e.date) dates.push_back(e.date);
      if (entry.first) break;
    }
    std::erase_if(dates, [&](Days d) {
      if (entry.from && d < *entry.from) return true;
      if (entry.to && d > *entry.to) return true;
      return entry.prior_observation_days > 0 && !Observed(p, d, entry.prior_observation_days);
    });
    return dates;
  }

  // Registered without a break for at least `days` days up to and including `index`
  // (registrations that touch or overlap are one period; one without a start date counts
  // for nothing).
  static bool Observed(const IndexPatient& p, Days index, int32_t days) {
    if (!p.row) return false;
    std::vector<std::pair<Days, Days>> periods;
    for (const store::Registration& r : p.row->registrations) {
      if (r.start == store::kNoDay) continue;
      Days end = r.end == store::kNoDay ? std::numeric_limits<Days>::max() : r.end;
      if (end >= r.start) periods.emplace_back(r.start, end);
    }
    std::sort(periods.begin(), periods.end());
    Days start = 0, end = 0;
    bool open = false;
    for (const auto& [s, e] : periods) {
      if (open && s <= end + 1) {
        end = std::max(end, e);
        continue;
      }
      if (open && start <= index && index <= end) break;
      start = s;
      end = e;
      open = true;
    }
    if (!open || index < start || index > end) return false;
    return static_cast<int64_t>(index) - start + 1 >= days;
  }

  bool Holds(const Criterion& c, const IndexPatient& p, Days index) const {
    switch (c.kind) {
      case Criterion::Kind::kEvents: return HoldsEvents(c.events, p, index);
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
        for (const Criterion& child : c.children) {
          if (!Holds(child, p, index)) return false;
        }
        return true;
      case Criterion::Kind::kAny:
        for (const Criterion& child : c.children) {
          if (Holds(child, p, index)) return true;
        }
        return false;
      case Criterion::Kind::kNot: return !Holds(c.children.front(), p, index);
    }
    return false;
  }

  bool HoldsEvents(const EventsCriterion& ec, const IndexPatient& p, Days index) const {
    const CodeMask* mask = MaskOf(ec.codeset);
    auto begin = p.events.begin(), end = p.events.end();
    if (ec.window_start) {
      Days from = index + *ec.window_start;
      begin = std::lower_bound(begin, end, from,
                               [](const IndexEvent& e, Days d) { return e.date < d; });
    }
    if (ec.window_end) {
      Days to = index + *ec.window_end;
      end =
          std::upper_bound(begin, end, to, [](Days d, const IndexEvent& e) { return d < e.date; });
    }
    int64_t count = 0;
    for (auto it = begin; it != end; ++it) {
      if (!DomainOk(*it, ec.domain) || !InSet(*it, mask) || !ec.value.Passes(it->value)) continue;
      ++count;
      if (ec.at_most && count > *ec.at_most) return false;
      if (!ec.at_most && count >= ec.at_least) return true;
    }
    return count >= ec.at_least && (!ec.at_most || count <= *ec.at_most);
  }

  const Cohort& cohort_;
  std::map<std::string, CodeMask> masks_;
};

}  // namespace

CohortResult RunCohort(const Cohort& cohort, const store::Index& index,
                       const store::Catalog& catalog, const RunOptions& options) {
  auto start = std::chrono::steady_clock::now();
  Evaluator evaluator(cohort, catalog);
  const size_t rules = cohort.inclusion.size();
  const size_t patients = index.patient_count();
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
    size_t from = patients * t / parts.size(), to = patients * (t + 1) / parts.size();
    for (size_t i = from; i < to; ++i) {
      const IndexPatient& p = index.patient(static_cast<domain::PatientIndex>(i));
      Days index_date = 0;
      int reached = evaluator.Evaluate(p, index_date);
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
