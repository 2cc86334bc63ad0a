// The SQL compiler without a database: quoting of hostile names and codes (nothing a user
// writes can leave a string literal), NUL characters refused with their path, determinism,
// the shape of both results, and what is left out (unused code sets, rules that always
// hold). The answers themselves are checked in DuckDB by sql_duckdb_test.mjs.
#include "query/sql.h"

#include <gtest/gtest.h>

#include <string>

#include "query/cohort.h"

namespace p4dp::query {
namespace {

Cohort Parse(const std::string& json) {
  auto cohort = ParseCohort(json);
  EXPECT_TRUE(cohort.ok()) << cohort.status().ToString();
  return cohort.ok() ? std::move(cohort).value() : Cohort{};
}

std::string Compile(const std::string& json, bool patients = false) {
  auto sql = CompileCohortSql(Parse(json), {.patients = patients});
  EXPECT_TRUE(sql.ok()) << sql.status().ToString();
  return sql.ok() ? *sql : "";
}

// The query with every string literal replaced by '' and every -- comment removed: what is
// left is the text the compiler wrote itself. Fails the test on an unterminated literal.
std::string OutsideLiterals(const std::string& sql) {
  std::string out;
  for (size_t i = 0; i < sql.size(); ++i) {
    if (sql[i] == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      while (i < sql.size() && sql[i] != '\n') ++i;
      out += '\n';
    } else if (sql[i] == '\'') {
      ++i;
      while (true) {
        if (i >= sql.size()) {
          ADD_FAILURE() << "unterminated string literal in\n" << sql;
          return out;
        }
        if (sql[i] == '\'' && i + 1 < sql.size() && sql[i + 1] == '\'') {
          i += 2;
        } else if (sql[i] == '\'') {
          break;
        } else {
          ++i;
        }
      }
      out += "''";
    } else {
      out += sql[i];
    }
  }
  return out;
}

TEST(SqlString, DoublesQuotesAndWritesBackslashesAsChr) {
  EXPECT_EQ(SqlString("E11"), "'E11'");
  EXPECT_EQ(SqlString(""), "''");
  EXPECT_EQ(SqlString("l'asthme"), "'l''asthme'");
  EXPECT_EQ(SqlString("'"), "''''");
  // With standard_conforming_strings off, PostgreSQL would read \' as an escaped quote.
  EXPECT_EQ(SqlString("a\\b"), "('a' || chr(92) || 'b')");
  EXPECT_EQ(SqlString("\\'"), "('' || chr(92) || '''')");
}

TEST(CompileCohortSql, HostileNamesAndCodesStayInsideLiterals) {
  const std::string hostile = R"(x'); DROP TABLE patients; -- \\' OR 1=1 /* é)";
  std::string json = R"({"codesets": {"s": [
      {"system": "icd10", "code": ")" +
                     hostile + R"(", "descendants": true},
      {"system": "urn:oid:1.2'3", "code": ")" +
                     hostile + R"("},
      {"system": "atc", "code": ")" +
                     hostile + R"(", "exclude": true}]},
    "entry": {"codeset": "s"},
    "inclusion": [{"name": ")" +
                     hostile + R"(", "events": {"codeset": "s"}},
                  {"name": "it's \"quoted\"\nand on two lines", "sex": "female"}]})";
  for (bool patients : {false, true}) {
    std::string sql = Compile(json, patients);
    std::string outside = OutsideLiterals(sql);
    for (const char* fragment : {"DROP", "1=1", "/*", "\\", "é", "quoted", "urn:oid"}) {
      EXPECT_EQ(outside.find(fragment), std::string::npos) << fragment << " in\n" << sql;
    }
  }
  std::string sql = Compile(json);
  EXPECT_NE(sql.find(R"('x''); DROP TABLE patients; -- ' || chr(92) || ''' OR 1=1 /* é')"),
            std::string::npos)
      << sql;
  EXPECT_NE(sql.find("(2, 'it''s \"quoted\"\nand on two lines')"), std::string::npos) << sql;
  EXPECT_NE(sql.find("'urn:oid:1.2''3'"), std::string::npos) << sql;
}

TEST(CompileCohortSql, NulCharactersAreRefusedWithTheirPath) {
  struct Case {
    std::string json;
    std::string message;
  };
  for (const Case& c : std::initializer_list<Case>{
           {R"({"codesets": {"s": [{"system": "icd10", "code": "E1\u00001"}]},
                "entry": {"codeset": "s"}})",
            "codesets.s[0].code: holds a NUL character"},
           {R"({"codesets": {"s": [{"system": "icd10", "code": "E11"},
                                   {"system": "urn:x\u0000", "code": "1"}]},
                "entry": {}})",
            "codesets.s[1].system: holds a NUL character"},
           {R"({"entry": {}, "inclusion": [{"sex": "male"}, {"name": "a\u0000b", "sex": "male"}]})",
            "inclusion[1].name: holds a NUL character"},
       }) {
    auto sql = CompileCohortSql(Parse(c.json));
    ASSERT_FALSE(sql.ok()) << c.json;
    EXPECT_EQ(sql.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(sql.status().message().rfind(c.message, 0), 0u) << sql.status().message();
  }
}

TEST(CompileCohortSql, TheSameDefinitionGivesTheSameText) {
  const std::string a = R"({"codesets": {
      "b": [{"system": "atc", "code": "A10A", "descendants": true}],
      "a": [{"system": "icd10", "code": "E11", "descendants": true},
            {"system": "icd10", "code": "E11.0", "exclude": true}]},
    "entry": {"domain": "condition", "codeset": "a", "occurrence": "all",
              "between": ["2020-01-01", "2023-12-31"], "prior_observation_days": 365},
    "inclusion": [{"events": {"codeset": "b", "window": [-365, -1], "at_most": 0}},
                  {"any": [{"age": {"min": 40}}, {"not": {"departement": ["2A", "14"]}}]}]})";
  // The same definition with its code sets and fields written in another order.
  const std::string b = R"({"inclusion": [
      {"events": {"at_most": 0, "window": [-365, -1], "codeset": "b"}},
      {"any": [{"age": {"min": 40}}, {"not": {"departement": ["2A", "14"]}}]}],
    "entry": {"prior_observation_days": 365, "between": ["2020-01-01", "2023-12-31"],
              "occurrence": "all", "codeset": "a", "domain": "condition"},
    "codesets": {
      "a": [{"system": "icd10", "code": "E11", "descendants": true},
            {"system": "icd10", "code": "E11.0", "exclude": true}],
      "b": [{"system": "atc", "code": "A10A", "descendants": true}]}})";
  for (bool patients : {false, true}) {
    std::string first = Compile(a, patients);
    EXPECT_EQ(first, Compile(a, patients));
    EXPECT_EQ(first, Compile(b, patients));
  }
}

TEST(CompileCohortSql, AttritionRowsAndThePatientList) {
  const std::string json = R"({"codesets": {"s": [{"system": "icd10", "code": "E11"}]},
    "entry": {"codeset": "s"},
    "inclusion": [{"name": "adults", "age": {"min": 18}}, {"sex": "female"},
                  {"name": "", "departement": ["14"]}]})";
  std::string attrition = Compile(json);
  EXPECT_NE(attrition.find("(VALUES (0, 'entry'),\n             (1, 'adults'),\n"
                           "             (2, 'rule 2'),\n             (3, 'rule 3'))"),
            std::string::npos)
      << attrition;
  EXPECT_NE(attrition.find("ORDER BY a.row_number;\n"), std::string::npos);
  EXPECT_EQ(attrition.back(), '\n');
  std::string patients = Compile(json, true);
  EXPECT_NE(patients.find("SELECT p.patient_key, min(s.index_date) AS index_date"),
            std::string::npos)
      << patients;
  EXPECT_NE(patients.find("WHERE s.reached = 3"), std::string::npos);
  EXPECT_NE(patients.find("ORDER BY p.patient_key;\n"), std::string::npos);
  EXPECT_EQ(patients.find("patient_reach"), std::string::npos);
}

TEST(CompileCohortSql, DotsDescendantsExclusionsAndValues) {
  std::string sql = Compile(R"({"codesets": {
      "unused": [{"system": "loinc", "code": "1-8"}],
      "t2d": [{"system": "icd10", "code": "E1.1", "descendants": true},
              {"system": "icpc2", "code": "T90"}, {"system": "icpc2", "code": "T90"},
              {"system": "icd10", "code": "E11.0", "exclude": true}]},
    "entry": {"codeset": "t2d", "occurrence": "first"},
    "inclusion": [{"events": {"window": [-10, 5], "value": {"gt": 0.1, "lte": -2e300}}},
                  {"events": {"codeset": "t2d", "at_least": 0}}]})");
  EXPECT_EQ(sql.find("codeset_1"), std::string::npos) << "unused code set compiled";
  EXPECT_NE(sql.find("codeset_0"), std::string::npos) << sql;
  EXPECT_NE(sql.find("(c.system = 'icd10' AND (starts_with(c.code, 'E11')))"), std::string::npos)
      << sql;
  EXPECT_NE(sql.find("(c.system = 'icpc2' AND (c.code IN ('T90')))"), std::string::npos);
  EXPECT_NE(sql.find("AND NOT coalesce((c.system = 'icd10' AND (c.code IN ('E110'))), false)"),
            std::string::npos);
  EXPECT_NE(sql.find("e.date BETWEEN c.index_date - 10 AND c.index_date + 5"), std::string::npos);
  EXPECT_NE(sql.find("e.value > CAST('0.1' AS double precision)"), std::string::npos);
  EXPECT_NE(sql.find("e.value <= CAST('-2e+300' AS double precision)"), std::string::npos);
  // "at_least": 0 without at_most always holds: no count is made for it.
  EXPECT_EQ(sql.find("events_1"), std::string::npos) << sql;
}

TEST(CompileCohortSql, AnExcludeOnlyCodeSetMatchesNothing) {
  std::string sql = Compile(R"({"codesets": {"s": [{"system": "icd10", "code": "E11",
                                                    "exclude": true}]},
                                "entry": {"codeset": "s"}})");
  EXPECT_NE(sql.find("FROM event_codes AS ec) AS c\n  WHERE false"), std::string::npos) << sql;
}

}  // namespace
}  // namespace p4dp::query
