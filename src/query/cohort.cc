#include "query/cohort.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "domain/code_system.h"
#include "domain/departement.h"

namespace p4dp::query {
namespace {

using Json = nlohmann::json;

constexpr int64_t kDaysMax = 365 * 200;  // windows and observation periods: two centuries
constexpr int64_t kCountMax = 1'000'000'000;

std::string Join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string At(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

std::string TypeName(const Json& j) {
  if (j.is_object()) return "an object";
  if (j.is_array()) return "an array";
  if (j.is_string()) return "a string";
  if (j.is_boolean()) return "a boolean";
  if (j.is_number()) return "a number";
  return "null";
}

// Walks one definition; the first problem found is kept and ends the walk.
class Parser {
 public:
  Result<Cohort> Run(const Json& doc) {
    if (!doc.is_object())
      return Fail("", "a cohort definition is a JSON object, not " + TypeName(doc));
    P4DP_TRY(OnlyKeys(doc, "", {"title", "description", "codesets", "entry", "inclusion"}));
    if (doc.contains("title")) P4DP_TRY(String(doc["title"], "title", cohort_.title));
    if (doc.contains("description")) {
      std::string ignored;
      P4DP_TRY(String(doc["description"], "description", ignored));
    }
    // Code sets first: the entry and the rules refer to them.
    if (doc.contains("codesets")) P4DP_TRY(CodeSets(doc["codesets"], "codesets"));
    if (!doc.contains("entry")) return Fail("entry", "missing: a cohort needs an entry event");
    P4DP_TRY(EntryOf(doc["entry"], "entry"));
    if (doc.contains("inclusion")) {
      const Json& rules = doc["inclusion"];
      if (!rules.is_array()) return Fail("inclusion", "must be an array, not " + TypeName(rules));
      for (size_t i = 0; i < rules.size(); ++i) {
        Rule rule;
        P4DP_TRY(RuleOf(rules[i], At("inclusion", i), rule));
        cohort_.inclusion.push_back(std::move(rule));
      }
    }
    return std::move(cohort_);
  }

 private:
  static Status Fail(const std::string& path, const std::string& reason) {
    return Status::InvalidArgument((path.empty() ? std::string("cohort") : path) + ": " + reason);
  }

  static Status OnlyKeys(const Json& object, const std::string& path,
                         std::initializer_list<std::string_view> allowed) {
    for (const auto& [key, value] : object.items()) {
      bool known = false;
      for (std::string_view a : allowed) known = known || key == a;
      if (!known) {
        std::string list;
        for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        return Fail(Join(path, key), "unknown field (expected one of: " + list + ")");
      }
    }
    return Status::Ok();
  }

  static Status String(const Json& j, const std::string& path, std::string& out) {
    if (!j.is_string()) return Fail(path, "must be a string, not " + TypeName(j));
    out = j.get<std::string>();
    return Status::Ok();
  }

  static Status Bool(const Json& j, const std::string& path, bool& out) {
    if (!j.is_boolean()) return Fail(path, "must be true or false, not " + TypeName(j));
    out = j.get<bool>();
    return Status::Ok();
  }

  static Status Integer(const Json& j, const std::string& path, int64_t min, int64_t max,
                        int64_t& out) {
    if (!j.is_number_integer()) {
      if (j.is_number_float()) {
        double d = j.get<double>();
        if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) {
          out = static_cast<int64_t>(d);
        } else {
          return Fail(path, "must be a whole number");
        }
      } else {
        return Fail(path, "must be a whole number, not " + TypeName(j));
      }
    } else {
      out = j.get<int64_t>();
    }
    if (out < min || out > max) {
      return Fail(path, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    return Status::Ok();
  }

  static Status Number(const Json& j, const std::string& path, double& out) {
    if (!j.is_number()) return Fail(path, "must be a number, not " + TypeName(j));
    out = j.get<double>();
    if (!std::isfinite(out)) return Fail(path, "must be a finite number");
    return Status::Ok();
  }

  static Status Date(const Json& j, const std::string& path, Days& out) {
    std::string text;
    P4DP_TRY(String(j, path, text));
    auto day = ParseIsoDate(text);
    if (!day.ok() || text.size() != 10) {
      return Fail(path, "'" + text + "' is not a date written YYYY-MM-DD");
    }
    out = *day;
    return Status::Ok();
  }

  static Status DomainOf(const Json& j, const std::string& path,
                         std::optional<domain::Domain>& out) {
    std::string name;
    P4DP_TRY(String(j, path, name));
    out = domain::DomainFromName(name);
    if (!out) {
      std::string list;
      for (int d = 0; d < domain::kDomainCount; ++d) {
        list += (d ? ", " : "") + std::string(domain::DomainName(static_cast<domain::Domain>(d)));
      }
      return Fail(path, "unknown domain '" + name + "' (expected one of: " + list + ")");
    }
    return Status::Ok();
  }

  Status CodeSetName(const Json& j, const std::string& path, std::string& out) {
    P4DP_TRY(String(j, path, out));
    if (!cohort_.codesets.count(out)) {
      return Fail(path, "unknown code set '" + out + "' (not in codesets)");
    }
    return Status::Ok();
  }

  Status CodeSets(const Json& j, const std::string& path) {
    if (!j.is_object())
      return Fail(path, "must be an object of named code sets, not " + TypeName(j));
    for (const auto& [name, entries] : j.items()) {
      std::string set_path = Join(path, name);
      if (name.empty()) return Fail(path, "a code set needs a name");
      if (!entries.is_array()) {
        return Fail(set_path, "must be an array of codes, not " + TypeName(entries));
      }
      if (entries.empty()) return Fail(set_path, "is empty");
      CodeSet set;
      for (size_t i = 0; i < entries.size(); ++i) {
        const Json& e = entries[i];
        std::string entry_path = At(set_path, i);
        if (!e.is_object()) {
          return Fail(entry_path, "must be an object {\"system\", \"code\"}, not " + TypeName(e));
        }
        P4DP_TRY(OnlyKeys(e, entry_path, {"system", "code", "descendants", "exclude"}));
        CodeRef ref;
        if (!e.contains("system")) return Fail(Join(entry_path, "system"), "missing");
        if (!e.contains("code")) return Fail(Join(entry_path, "code"), "missing");
        std::string system;
        P4DP_TRY(String(e["system"], Join(entry_path, "system"), system));
        auto known = domain::CodeSystemFromName(system);
        if (known) {
          ref.system = std::string(domain::InfoOf(*known).alias);
        } else if (system.find(':') != std::string::npos) {
          ref.system = system;  // a URI p4dp does not know: data keep such URIs as written
        } else {
          std::string list;
          for (const auto& info : domain::AllCodeSystems()) {
            list += (list.empty() ? "" : ", ") + std::string(info.alias);
          }
          return Fail(Join(entry_path, "system"), "unknown code system '" + system +
                                                      "' (an alias among " + list + ", or a URI)");
        }
        P4DP_TRY(String(e["code"], Join(entry_path, "code"), ref.code));
        if (ref.code.empty()) return Fail(Join(entry_path, "code"), "is empty");
        if (e.contains("descendants")) {
          P4DP_TRY(Bool(e["descendants"], Join(entry_path, "descendants"), ref.descendants));
        }
        if (e.contains("exclude")) {
          P4DP_TRY(Bool(e["exclude"], Join(entry_path, "exclude"), ref.exclude));
        }
        set.push_back(std::move(ref));
      }
      cohort_.codesets[name] = std::move(set);
    }
    return Status::Ok();
  }

  Status EntryOf(const Json& j, const std::string& path) {
    if (!j.is_object()) return Fail(path, "must be an object, not " + TypeName(j));
    P4DP_TRY(OnlyKeys(j, path,
                      {"domain", "codeset", "occurrence", "between", "prior_observation_days"}));
    Entry& entry = cohort_.entry;
    if (j.contains("domain")) P4DP_TRY(DomainOf(j["domain"], Join(path, "domain"), entry.domain));
    if (j.contains("codeset"))
      P4DP_TRY(CodeSetName(j["codeset"], Join(path, "codeset"), entry.codeset));
    if (j.contains("occurrence")) {
      std::string occurrence;
      P4DP_TRY(String(j["occurrence"], Join(path, "occurrence"), occurrence));
      if (occurrence != "first" && occurrence != "all") {
        return Fail(Join(path, "occurrence"),
                    "must be \"first\" or \"all\", not '" + occurrence + "'");
      }
      entry.first = occurrence == "first";
    }
    if (j.contains("between")) {
      const Json& between = j["between"];
      std::string between_path = Join(path, "between");
      if (!between.is_array() || between.size() != 2) {
        return Fail(between_path, "must be [first day, last day]");
      }
      Days from = 0, to = 0;
      P4DP_TRY(Date(between[0], At(between_path, 0), from));
      P4DP_TRY(Date(between[1], At(between_path, 1), to));
      if (from > to) return Fail(between_path, "the first day is after the last");
      entry.from = from;
      entry.to = to;
    }
    if (j.contains("prior_observation_days")) {
      int64_t days = 0;
      P4DP_TRY(Integer(j["prior_observation_days"], Join(path, "prior_observation_days"), 0,
                       kDaysMax, days));
      entry.prior_observation_days = static_cast<int32_t>(days);
    }
    return Status::Ok();
  }

  Status RuleOf(const Json& j, const std::string& path, Rule& rule) {
    if (!j.is_object()) return Fail(path, "a rule must be an object, not " + TypeName(j));
    if (j.contains("name")) P4DP_TRY(String(j["name"], Join(path, "name"), rule.name));
    return CriterionOf(j, path, /*allow_name=*/true, rule.criterion);
  }

  // An object holding exactly one criterion (and, for a rule, its name).
  Status CriterionOf(const Json& j, const std::string& path, bool allow_name, Criterion& out) {
    if (!j.is_object()) return Fail(path, "a criterion must be an object, not " + TypeName(j));
    if (allow_name) {
      P4DP_TRY(
          OnlyKeys(j, path, {"name", "events", "age", "sex", "departement", "all", "any", "not"}));
    } else {
      P4DP_TRY(OnlyKeys(j, path, {"events", "age", "sex", "departement", "all", "any", "not"}));
    }
    std::string kind;
    for (const auto& [key, value] : j.items()) {
      if (key == "name") continue;
      if (!kind.empty()) {
        return Fail(path, "holds both '" + kind + "' and '" + key +
                              "': one criterion per object "
                              "(combine them with \"all\")");
      }
      kind = key;
    }
    if (kind.empty())
      return Fail(path, "holds no criterion (events, age, sex, departement, all, any, not)");
    const Json& v = j[kind];
    std::string vpath = Join(path, kind);
    if (kind == "events") {
      out.kind = Criterion::Kind::kEvents;
      return EventsOf(v, vpath, out.events);
    }
    if (kind == "age") {
      out.kind = Criterion::Kind::kAge;
      if (!v.is_object())
        return Fail(vpath, "must be an object {\"min\", \"max\"}, not " + TypeName(v));
      P4DP_TRY(OnlyKeys(v, vpath, {"min", "max"}));
      if (!v.contains("min") && !v.contains("max")) return Fail(vpath, "needs min, max or both");
      int64_t n = 0;
      if (v.contains("min")) {
        P4DP_TRY(Integer(v["min"], Join(vpath, "min"), 0, 150, n));
        out.age_min = static_cast<int32_t>(n);
      }
      if (v.contains("max")) {
        P4DP_TRY(Integer(v["max"], Join(vpath, "max"), 0, 150, n));
        out.age_max = static_cast<int32_t>(n);
      }
      if (out.age_min && out.age_max && *out.age_min > *out.age_max) {
        return Fail(vpath, "min is above max");
      }
      return Status::Ok();
    }
    if (kind == "sex") {
      out.kind = Criterion::Kind::kSex;
      std::string name;
      P4DP_TRY(String(v, vpath, name));
      auto sex = domain::SexFromName(name);
      if (!sex)
        return Fail(vpath,
                    "must be \"female\", \"male\", \"other\" or \"unknown\", not '" + name + "'");
      out.sex = *sex;
      return Status::Ok();
    }
    if (kind == "departement") {
      out.kind = Criterion::Kind::kDepartement;
      if (!v.is_array() || v.empty())
        return Fail(vpath, "must be a non-empty array of INSEE codes");
      for (size_t i = 0; i < v.size(); ++i) {
        std::string code;
        P4DP_TRY(String(v[i], At(vpath, i), code));
        if (domain::FindDepartement(code) == nullptr) {
          return Fail(At(vpath, i), "'" + code +
                                        "' is not a département code (\"01\" to \"95\", \"2A\", "
                                        "\"2B\", \"971\" to \"976\")");
        }
        out.departements.push_back(code);
      }
      return Status::Ok();
    }
    if (kind == "all" || kind == "any") {
      out.kind = kind == "all" ? Criterion::Kind::kAll : Criterion::Kind::kAny;
      if (!v.is_array() || v.empty()) return Fail(vpath, "must be a non-empty array of criteria");
      for (size_t i = 0; i < v.size(); ++i) {
        Criterion child;
        P4DP_TRY(CriterionOf(v[i], At(vpath, i), false, child));
        out.children.push_back(std::move(child));
      }
      return Status::Ok();
    }
    out.kind = Criterion::Kind::kNot;
    Criterion child;
    P4DP_TRY(CriterionOf(v, vpath, false, child));
    out.children.push_back(std::move(child));
    return Status::Ok();
  }

  Status EventsOf(const Json& j, const std::string& path, EventsCriterion& out) {
    if (!j.is_object()) return Fail(path, "must be an object, not " + TypeName(j));
    P4DP_TRY(OnlyKeys(j, path, {"domain", "codeset", "window", "value", "at_least", "at_most"}));
    if (j.contains("domain")) P4DP_TRY(DomainOf(j["domain"], Join(path, "domain"), out.domain));
    if (j.contains("codeset"))
      P4DP_TRY(CodeSetName(j["codeset"], Join(path, "codeset"), out.codeset));
    if (j.contains("window")) {
      const Json& w = j["window"];
      std::string wpath = Join(path, "window");
      if (!w.is_array() || w.size() != 2)
        return Fail(wpath, "must be [start, end] in days from the index date");
      int64_t start = 0, end = 0;
      P4DP_TRY(Integer(w[0], At(wpath, 0), -kDaysMax, kDaysMax, start));
      P4DP_TRY(Integer(w[1], At(wpath, 1), -kDaysMax, kDaysMax, end));
      if (start > end) {
        return Fail(wpath, "its start (" + std::to_string(start) + ") is after its end (" +
                               std::to_string(end) + ")");
      }
      out.window_start = static_cast<int32_t>(start);
      out.window_end = static_cast<int32_t>(end);
    }
    if (j.contains("value")) {
      const Json& v = j["value"];
      std::string vpath = Join(path, "value");
      if (!v.is_object() || v.empty()) return Fail(vpath, "must be an object of gt, gte, lt, lte");
      P4DP_TRY(OnlyKeys(v, vpath, {"gt", "gte", "lt", "lte"}));
      const std::pair<const char*, std::optional<double> ValueFilter::*> bounds[] = {
          {"gt", &ValueFilter::gt},
          {"gte", &ValueFilter::gte},
          {"lt", &ValueFilter::lt},
          {"lte", &ValueFilter::lte}};
      for (const auto& [name, bound] : bounds) {
        if (!v.contains(name)) continue;
        double d = 0;
        P4DP_TRY(Number(v[name], Join(vpath, name), d));
        out.value.*bound = d;
      }
    }
    int64_t n = 0;
    if (j.contains("at_most")) {
      P4DP_TRY(Integer(j["at_most"], Join(path, "at_most"), 0, kCountMax, n));
      out.at_most = n;
      out.at_least = 0;
    }
    if (j.contains("at_least")) {
      P4DP_TRY(Integer(j["at_least"], Join(path, "at_least"), 0, kCountMax, n));
      out.at_least = n;
    }
    if (out.at_most && out.at_least > *out.at_most) {
      return Fail(Join(path, "at_least"), "is above at_most: no patient could match");
    }
    return Status::Ok();
  }

  Cohort cohort_;
};

}  // namespace

bool ValueFilter::Passes(double value) const {
  if (empty()) return true;
  if (std::isnan(value)) return false;
  if (gt && !(value > *gt)) return false;
  if (gte && !(value >= *gte)) return false;
  if (lt && !(value < *lt)) return false;
  if (lte && !(value <= *lte)) return false;
  return true;
}

Result<Cohort> ParseCohort(std::string_view json) {
  Json doc;
  try {
    doc = Json::parse(json);
  } catch (const Json::parse_error& e) {
    return Status::InvalidArgument("cohort: not valid JSON (at byte " + std::to_string(e.byte) +
                                   ")");
  }
  return Parser().Run(doc);
}

}  // namespace p4dp::query
