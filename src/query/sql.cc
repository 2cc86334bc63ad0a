#include "query/sql.h"

#include <charconv>
#include <map>
#include <optional>
#include <vector>

#include "base/assert.h"
#include "domain/patient.h"

namespace p4dp::query {
namespace {

// The query is built as a list of common table expressions, stage by stage as the engine
// works: code sets (events with a code in the set), entry candidates, one count per events
// criterion, the number of leading rules each candidate satisfies, then the result.
//
// Every rule becomes a boolean expression that is never NULL (a NULL would turn NOT into
// NULL and drop a candidate the engine keeps): missing values are folded with coalesce.
class Compiler {
 public:
  explicit Compiler(const Cohort& cohort) : cohort_(cohort) {}

  std::string Compile(const SqlOptions& options) {
    AddCodeSets();
    AddEntry();
    std::vector<std::string> rules;
    for (const Rule& rule : cohort_.inclusion) rules.push_back(Condition(rule.criterion));
    AddScored(rules);
    if (!options.patients) {
      Add("patient_reach",
          "  SELECT s.patient_id, max(s.reached) AS reached\n"
          "  FROM scored AS s\n  GROUP BY s.patient_id");
    }
    std::string sql =
        "-- p4dp sql: a cohort definition compiled for the tables of `p4dp export events`\n"
        "-- (PostgreSQL's dialect; DuckDB runs it unchanged).\nWITH\n";
    for (size_t i = 0; i < ctes_.size(); ++i) {
      sql += ctes_[i];
      sql += i + 1 < ctes_.size() ? ",\n" : "\n";
    }
    sql += options.patients ? PatientsSelect() : AttritionSelect();
    return sql;
  }

 private:
  void Add(const std::string& name, const std::string& body) {
    ctes_.push_back(name + " AS (\n" + body + "\n)");
  }

  // Code sets referenced by the entry or an events criterion, named codeset_N after their
  // rank in the definition's (sorted) list of code sets.
  void AddCodeSets() {
    std::vector<const std::string*> used;
    if (!cohort_.entry.codeset.empty()) used.push_back(&cohort_.entry.codeset);
    for (const Rule& rule : cohort_.inclusion) CodeSetsOf(rule.criterion, used);
    int rank = 0;
    for (const auto& [name, set] : cohort_.codesets) {
      bool is_used = false;
      for (const std::string* u : used) is_used = is_used || *u == name;
      if (is_used) {
        std::string cte = "codeset_" + std::to_string(rank);
        codeset_ctes_[name] = cte;
        Add(cte, CodeSetBody(set));
      }
      ++rank;
    }
  }

  static void CodeSetsOf(const Criterion& c, std::vector<const std::string*>& used) {
    if (c.kind == Criterion::Kind::kEvents && !c.events.codeset.empty()) {
      used.push_back(&c.events.codeset);
    }
    for (const Criterion& child : c.children) CodeSetsOf(child, used);
  }

  // Rows of event_codes whose (system, code without dots) some entry takes and no excluding
  // entry removes: an event is in the set if any of its codes is.
  static std::string CodeSetBody(const CodeSet& set) {
    std::string taken = Matching(set, false), removed = Matching(set, true);
    std::vector<std::string> systems;
    for (const CodeRef& ref : set) {
      if (!ref.exclude) AddOnce(systems, SqlString(ref.system));
    }
    // replace() is only called on the rare codes that hold a dot: it copies every string.
    std::string body =
        "  SELECT c.event_id\n"
        "  FROM (SELECT ec.event_id, ec.system,\n"
        "               CASE WHEN strpos(ec.code, '.') > 0 THEN replace(ec.code, '.', '')\n"
        "                    ELSE coalesce(ec.code, '') END AS code\n"
        "        FROM event_codes AS ec";
    if (systems.empty()) return body + ") AS c\n  WHERE false";
    body += "\n        WHERE ec.system IN (" + Join(systems, ", ") + ")) AS c\n";
    body += "  WHERE (" + taken + ")";
    if (!removed.empty()) body += "\n    AND NOT coalesce(" + removed + ", false)";
    return body;
  }

  // The condition on c.system and c.code that the entries with this `exclude` flag name,
  // one disjunct per system; "" when there is none.
  static std::string Matching(const CodeSet& set, bool exclude) {
    std::vector<std::string> systems;
    std::map<std::string, std::vector<std::string>> exact, prefixes;
    for (const CodeRef& ref : set) {
      if (ref.exclude != exclude) continue;
      std::string system = SqlString(ref.system);
      AddOnce(systems, system);
      AddOnce((ref.descendants ? prefixes : exact)[system], SqlString(WithoutDots(ref.code)));
    }
    std::vector<std::string> terms;
    for (const std::string& system : systems) {
      std::vector<std::string> codes;
      if (!exact[system].empty()) codes.push_back("c.code IN (" + Join(exact[system], ", ") + ")");
      for (const std::string& prefix : prefixes[system]) {
        codes.push_back("starts_with(c.code, " + prefix + ")");
      }
      terms.push_back("(c.system = " + system + " AND (" + Join(codes, " OR ") + "))");
    }
    return Join(terms, "\n      OR ");
  }

  // The `events` rows of `domain` whose code is in `codeset` (either may be empty: any), as
  // conditions on the alias `e`.
  std::vector<std::string> EventFilter(const std::optional<domain::Domain>& d,
                                       const std::string& codeset) const {
    std::vector<std::string> where;
    if (d) where.push_back("e.domain = " + SqlString(domain::DomainName(*d)));
    if (!codeset.empty()) {
      where.push_back("e.event_id IN (SELECT event_id FROM " + codeset_ctes_.at(codeset) + ")");
    }
    return where;
  }

  // entry_dates: the first matching date of each patient, or every distinct one; then
  // candidates: those inside `between` and observed long enough.
  void AddEntry() {
    const Entry& entry = cohort_.entry;
    std::vector<std::string> where = EventFilter(entry.domain, entry.codeset);
    std::string between;
    if (entry.from) {
      between = "BETWEEN DATE '" + FormatIsoDate(*entry.from) + "' AND DATE '" +
                FormatIsoDate(*entry.to) + "'";
    }
    if (entry.first) {
      Add("entry_dates", "  SELECT e.patient_id, min(e.date) AS index_date\n  FROM events AS e" +
                             Where(where) + "\n  GROUP BY e.patient_id");
    } else {
      // Every occurrence: `between` can drop events before the dates are made distinct.
      if (!between.empty()) where.push_back("e.date " + between);
      Add("entry_dates",
          "  SELECT DISTINCT e.patient_id, e.date AS index_date\n  FROM events AS e" +
              Where(where));
    }
    std::string body = "  SELECT d.patient_id, d.index_date\n  FROM entry_dates AS d";
    if (entry.prior_observation_days > 0) {
      AddObservationPeriods();
      body +=
          "\n  JOIN observation_periods AS o ON o.patient_id = d.patient_id\n"
          "   AND o.start_date <= d.index_date - " +
          std::to_string(entry.prior_observation_days - 1) + " AND d.index_date <= o.end_date";
    }
    if (entry.first && !between.empty()) body += "\n  WHERE d.index_date " + between;
    Add("candidates", body);
  }

  // Registrations merged into periods of continuous observation (gaps and islands): sorted by
  // start then end, a registration opens a new period unless it starts at most one day after
  // the latest end seen before it. A registration without a start, or ending before it
  // starts, counts for nothing; one without an end is still running.
  void AddObservationPeriods() {
    Add("registration_periods",
        "  SELECT DISTINCT r.patient_id, r.start_date,\n"
        "         coalesce(r.end_date, DATE '9999-12-31') AS end_date\n"
        "  FROM registrations AS r\n"
        "  WHERE r.start_date IS NOT NULL AND (r.end_date IS NULL OR r.end_date >= r.start_date)");
    Add("registration_breaks",
        "  SELECT g.patient_id, g.start_date, g.end_date,\n"
        "         CASE WHEN g.start_date - 1 <= max(g.end_date) OVER (\n"
        "                PARTITION BY g.patient_id ORDER BY g.start_date, g.end_date\n"
        "                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)\n"
        "              THEN 0 ELSE 1 END AS opens\n"
        "  FROM registration_periods AS g");
    Add("observation_periods",
        "  SELECT b.patient_id, min(b.start_date) AS start_date, max(b.end_date) AS end_date\n"
        "  FROM (SELECT k.patient_id, k.start_date, k.end_date,\n"
        "               sum(k.opens) OVER (PARTITION BY k.patient_id\n"
        "                 ORDER BY k.start_date, k.end_date ROWS UNBOUNDED PRECEDING) AS period\n"
        "        FROM registration_breaks AS k) AS b\n"
        "  GROUP BY b.patient_id, b.period");
  }

  // A never-NULL boolean expression on the candidate `c` of scored (with its patient's sex,
  // departement and age) and the counts of the events criteria.
  std::string Condition(const Criterion& c) {
    switch (c.kind) {
      case Criterion::Kind::kEvents: return EventsCondition(c.events);
      case Criterion::Kind::kAge: return AgeCondition(c);
      case Criterion::Kind::kSex: return "(c.sex = " + SqlString(domain::SexName(c.sex)) + ")";
      case Criterion::Kind::kDepartement: {
        std::vector<std::string> codes;
        for (const std::string& d : c.departements) codes.push_back(SqlString(d));
        return "coalesce(c.departement IN (" + Join(codes, ", ") + "), false)";
      }
      case Criterion::Kind::kAll:
      case Criterion::Kind::kAny: {
        std::vector<std::string> parts;
        for (const Criterion& child : c.children) parts.push_back(Condition(child));
        const char* op = c.kind == Criterion::Kind::kAll ? " AND " : " OR ";
        return "(" + Join(parts, op) + ")";
      }
      case Criterion::Kind::kNot: return "(NOT " + Condition(c.children.front()) + ")";
    }
    return "false";
  }

  // Completed years at the index date (column `age` of scored's subquery, NULL without a
  // birth year, which fails every age rule).
  static std::string AgeCondition(const Criterion& c) {
    std::vector<std::string> terms;
    if (c.age_min) terms.push_back("c.age >= " + std::to_string(*c.age_min));
    if (c.age_max) terms.push_back("c.age <= " + std::to_string(*c.age_max));
    return "coalesce(" + Join(terms, " AND ") + ", false)";
  }

  // One CTE counting the criterion's events: per (patient, candidate) with a window, per
  // patient without one (the count is then the same for every candidate).
  std::string EventsCondition(const EventsCriterion& ec) {
    if (ec.at_least == 0 && !ec.at_most) return "true";
    std::vector<std::string> where = EventFilter(ec.domain, ec.codeset);
    const std::pair<const std::optional<double>*, const char*> bounds[] = {
        {&ec.value.gt, ">"}, {&ec.value.gte, ">="}, {&ec.value.lt, "<"}, {&ec.value.lte, "<="}};
    for (const auto& [bound, op] : bounds) {
      if (*bound) where.push_back("e.value " + std::string(op) + " " + DoubleLiteral(**bound));
    }
    std::string name = "events_" + std::to_string(events_ctes_.size());
    bool windowed = ec.window_start.has_value();
    if (windowed) {
      Add(name,
          "  SELECT c.patient_id, c.index_date, count(*) AS n\n"
          "  FROM candidates AS c\n"
          "  JOIN events AS e ON e.patient_id = c.patient_id\n"
          "   AND e.date BETWEEN " +
              DayOffset("c.index_date", *ec.window_start) + " AND " +
              DayOffset("c.index_date", *ec.window_end) + Where(where) +
              "\n  GROUP BY c.patient_id, c.index_date");
    } else {
      Add(name, "  SELECT e.patient_id, count(*) AS n\n  FROM events AS e" + Where(where) +
                    "\n  GROUP BY e.patient_id");
    }
    events_ctes_.push_back({name, windowed});
    std::string n = "coalesce(" + name + ".n, 0)";
    std::vector<std::string> tests;
    if (ec.at_least > 0) tests.push_back(n + " >= " + std::to_string(ec.at_least));
    if (ec.at_most) tests.push_back(n + " <= " + std::to_string(*ec.at_most));
    return "(" + Join(tests, " AND ") + ")";
  }

  // scored: each candidate with the number of leading rules it satisfies.
  void AddScored(const std::vector<std::string>& rules) {
    std::string reached = "0";
    if (!rules.empty()) {
      reached = "CASE";
      for (size_t k = 0; k < rules.size(); ++k) {
        reached += "\n           WHEN NOT " + rules[k] + "\n           THEN " + std::to_string(k);
      }
      reached += "\n           ELSE " + std::to_string(rules.size()) + " END";
    }
    // Age: year difference, minus one when the index month is before a known birth month.
    std::string body =
        "  SELECT c.patient_id, c.index_date,\n         " + reached +
        " AS reached\n"
        "  FROM (SELECT d.patient_id, d.index_date, coalesce(p.sex, 'unknown') AS sex,\n"
        "               p.departement,\n"
        "               CAST(extract(year FROM d.index_date) AS integer) - p.birth_year\n"
        "               - CASE WHEN CAST(extract(month FROM d.index_date) AS integer)\n"
        "                           < p.birth_month THEN 1 ELSE 0 END AS age\n"
        "        FROM candidates AS d\n"
        "        LEFT JOIN patients AS p ON p.patient_id = d.patient_id) AS c";
    for (const auto& [name, windowed] : events_ctes_) {
      body += "\n  LEFT JOIN " + name + " ON " + name + ".patient_id = c.patient_id";
      if (windowed) body += " AND " + name + ".index_date = c.index_date";
    }
    Add("scored", body);
  }

  // One row per attrition step: the patients whose best candidate satisfies at least that
  // many leading rules (row 0: every patient with a candidate).
  std::string AttritionSelect() const {
    std::vector<std::string> rows = {"(0, 'entry')"}, counts = {"count(*) AS n0"};
    std::string pick = "CASE a.row_number WHEN 0 THEN t.n0";
    for (size_t k = 1; k <= cohort_.inclusion.size(); ++k) {
      const std::string& name = cohort_.inclusion[k - 1].name;
      std::string shown = name.empty() ? "rule " + std::to_string(k) : name;
      std::string n = "n" + std::to_string(k);
      rows.push_back("(" + std::to_string(k) + ", " + SqlString(shown) + ")");
      counts.push_back("count(*) FILTER (WHERE r.reached >= " + std::to_string(k) + ") AS " + n);
      pick += " WHEN " + std::to_string(k) + " THEN t." + n;
    }
    std::string sql = "SELECT a.row_number, a.name, " + pick + " END AS patients\n";
    sql += "FROM (VALUES " + Join(rows, ",\n             ") + ") AS a(row_number, name)\n";
    sql += "CROSS JOIN (SELECT " + Join(counts, ",\n                   ") +
           "\n            FROM patient_reach AS r) AS t\n";
    sql += "ORDER BY a.row_number;\n";
    return sql;
  }

  std::string PatientsSelect() const {
    return "SELECT p.patient_key, min(s.index_date) AS index_date\n"
           "FROM scored AS s\n"
           "JOIN patients AS p ON p.patient_id = s.patient_id\n"
           "WHERE s.reached = " +
           std::to_string(cohort_.inclusion.size()) +
           "\nGROUP BY p.patient_key\n"
           "ORDER BY p.patient_key;\n";
  }

  static std::string Where(const std::vector<std::string>& conditions) {
    if (conditions.empty()) return "";
    return "\n  WHERE " + Join(conditions, "\n    AND ");
  }

  static std::string DayOffset(const std::string& date, int32_t days) {
    if (days == 0) return date;
    if (days < 0) return date + " - " + std::to_string(-static_cast<int64_t>(days));
    return date + " + " + std::to_string(days);
  }

  // A double written so that PostgreSQL and DuckDB read back exactly the same value (a bare
  // decimal literal would be NUMERIC or DECIMAL and could round differently when compared).
  static std::string DoubleLiteral(double v) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    P4DP_ASSERT(ec == std::errc());
    return "CAST('" + std::string(buf, end) + "' AS double precision)";
  }

  static std::string WithoutDots(std::string_view code) {
    std::string out;
    for (char ch : code) {
      if (ch != '.') out += ch;
    }
    return out;
  }

  static void AddOnce(std::vector<std::string>& list, const std::string& item) {
    for (const std::string& x : list) {
      if (x == item) return;
    }
    list.push_back(item);
  }

  static std::string Join(const std::vector<std::string>& parts, const std::string& sep) {
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
    return out;
  }

  const Cohort& cohort_;
  std::vector<std::string> ctes_;
  std::map<std::string, std::string> codeset_ctes_;        // code set name -> CTE name
  std::vector<std::pair<std::string, bool>> events_ctes_;  // CTE name, counted per candidate
};

Status NoNul(std::string_view text, const std::string& path) {
  if (text.find('\0') == std::string_view::npos) return Status::Ok();
  return Status::InvalidArgument(path + ": holds a NUL character, which SQL text cannot carry");
}

// Every text that the query quotes (departements and domains are checked by the parser).
Status CheckTexts(const Cohort& cohort) {
  for (const auto& [name, set] : cohort.codesets) {
    for (size_t i = 0; i < set.size(); ++i) {
      std::string path = "codesets." + name + "[" + std::to_string(i) + "]";
      P4DP_TRY(NoNul(set[i].system, path + ".system"));
      P4DP_TRY(NoNul(set[i].code, path + ".code"));
    }
  }
  for (size_t k = 0; k < cohort.inclusion.size(); ++k) {
    P4DP_TRY(NoNul(cohort.inclusion[k].name, "inclusion[" + std::to_string(k) + "].name"));
  }
  return Status::Ok();
}

}  // namespace

std::string SqlString(std::string_view text) {
  std::string out = "'";
  for (char ch : text) {
    if (ch == '\'') {
      out += "''";
    } else if (ch == '\\') {
      out += "' || chr(92) || '";
    } else {
      out += ch;
    }
  }
  out += "'";
  if (text.find('\\') != std::string_view::npos) out = "(" + out + ")";
  return out;
}

Result<std::string> CompileCohortSql(const Cohort& cohort, const SqlOptions& options) {
  P4DP_TRY(CheckTexts(cohort));
  return Compiler(cohort).Compile(options);
}

}  // namespace p4dp::query
