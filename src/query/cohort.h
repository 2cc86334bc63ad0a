// The cohort language (../shared/spec/cohort.md): a cohort definition parsed and checked
// into a tree that the executor and the SQL compiler walk. Parsing rejects anything the
// contract does not allow (unknown fields, code sets, domains, systems; bad windows,
// dates, types) with an InvalidArgument status whose message starts with the JSON path of
// the offending value ("inclusion[2].events.window: ..."). Nothing runs on a definition
// that did not parse. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/date.h"
#include "base/status.h"
#include "domain/patient.h"

namespace p4dp::query {

// One entry of a code set. `system` is the alias of a known system ("icd10") or, for a
// system p4dp does not know, the URI as written (data keep unknown systems' URIs).
struct CodeRef {
  std::string system;
  std::string code;
  bool descendants = false;  // every code starting with `code` (dots ignored)
  bool exclude = false;      // removes the codes it names from the set
};
using CodeSet = std::vector<CodeRef>;

// gt, gte, lt, lte: combinable; an event without a value fails a filter that has any.
struct ValueFilter {
  std::optional<double> gt, gte, lt, lte;
  bool empty() const { return !gt && !gte && !lt && !lte; }
  bool Passes(double value) const;  // NaN (no value) fails a non-empty filter
};

struct EventsCriterion {
  std::optional<domain::Domain> domain;  // none: any domain
  std::string codeset;                   // empty: any code
  std::optional<int32_t> window_start;   // days from the index date; none: all time
  std::optional<int32_t> window_end;
  ValueFilter value;
  int64_t at_least = 1;
  std::optional<int64_t> at_most;  // none: unbounded
};

struct Criterion {
  enum class Kind : uint8_t { kEvents, kAge, kSex, kDepartement, kAll, kAny, kNot };
  Kind kind = Kind::kAll;
  EventsCriterion events;
  std::optional<int32_t> age_min, age_max;  // completed years, inclusive
  domain::Sex sex = domain::Sex::kUnknown;
  std::vector<std::string> departements;  // INSEE codes
  std::vector<Criterion> children;        // all, any: the list; not: one
};

struct Rule {
  std::string name;
  Criterion criterion;
};

struct Entry {
  std::optional<domain::Domain> domain;
  std::string codeset;           // empty: any code
  bool first = true;             // "occurrence": "first" (the default) or "all"
  std::optional<Days> from, to;  // "between", inclusive
  int32_t prior_observation_days = 0;
};

struct Cohort {
  std::string title;
  std::map<std::string, CodeSet> codesets;
  Entry entry;
  std::vector<Rule> inclusion;
};

// Parses and checks a definition. Errors: InvalidArgument "PATH: reason" (PATH "" for the
// document itself, else as "entry.between[1]" or "codesets.t2d[0].system").
Result<Cohort> ParseCohort(std::string_view json);

}  // namespace p4dp::query
