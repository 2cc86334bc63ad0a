// The cohort language's parser against ../shared/spec/cohort.md: the contract's example
// parses to the tree it describes, defaults are the contract's, and every kind of invalid
// definition is rejected with the JSON path of the offending value.
#include "query/cohort.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace p4dp::query {
namespace {

// The example of the contract, as written there.
constexpr const char* kContractExample = R"({
  "title": "Adults with type 2 diabetes starting metformin",
  "codesets": {
    "t2d":       [{"system": "icd10", "code": "E11", "descendants": true},
                  {"system": "icpc2", "code": "T90"}],
    "metformin": [{"system": "atc", "code": "A10BA02"}],
    "insulin":   [{"system": "atc", "code": "A10A", "descendants": true}],
    "hba1c":     [{"system": "loinc", "code": "4548-4"}]
  },
  "entry": {"domain": "condition", "codeset": "t2d", "occurrence": "first",
            "between": ["2020-01-01", "2023-12-31"], "prior_observation_days": 365},
  "inclusion": [
    {"name": "aged 40 to 75", "age": {"min": 40, "max": 75}},
    {"name": "metformin within 90 days",
     "events": {"domain": "drug", "codeset": "metformin", "window": [0, 90]}},
    {"name": "no insulin in the year before",
     "events": {"domain": "drug", "codeset": "insulin", "window": [-365, -1], "at_most": 0}},
    {"name": "last HbA1c above 7 %",
     "events": {"domain": "measurement", "codeset": "hba1c", "window": [-180, 0],
                "value": {"gt": 7.0}}},
    {"name": "women, or anyone living in Normandy",
     "any": [{"sex": "female"}, {"departement": ["14", "27", "50", "61", "76"]}]}
  ]
})";

TEST(CohortParse, TheContractExample) {
  auto parsed = ParseCohort(kContractExample);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const Cohort& c = *parsed;
  EXPECT_EQ(c.title, "Adults with type 2 diabetes starting metformin");
  ASSERT_EQ(c.codesets.size(), 4u);
  const CodeSet& t2d = c.codesets.at("t2d");
  ASSERT_EQ(t2d.size(), 2u);
  EXPECT_EQ(t2d[0].system, "icd10");
  EXPECT_EQ(t2d[0].code, "E11");
  EXPECT_TRUE(t2d[0].descendants);
  EXPECT_FALSE(t2d[1].descendants);
  EXPECT_EQ(c.entry.domain, domain::Domain::kCondition);
  EXPECT_EQ(c.entry.codeset, "t2d");
  EXPECT_TRUE(c.entry.first);
  EXPECT_EQ(c.entry.from, ToDays({2020, 1, 1}));
  EXPECT_EQ(c.entry.to, ToDays({2023, 12, 31}));
  EXPECT_EQ(c.entry.prior_observation_days, 365);
  ASSERT_EQ(c.inclusion.size(), 5u);
  EXPECT_EQ(c.inclusion[0].name, "aged 40 to 75");
  EXPECT_EQ(c.inclusion[0].criterion.kind, Criterion::Kind::kAge);
  EXPECT_EQ(c.inclusion[0].criterion.age_min, 40);
  EXPECT_EQ(c.inclusion[0].criterion.age_max, 75);
  const EventsCriterion& metformin = c.inclusion[1].criterion.events;
  EXPECT_EQ(c.inclusion[1].criterion.kind, Criterion::Kind::kEvents);
  EXPECT_EQ(metformin.domain, domain::Domain::kDrug);
  EXPECT_EQ(metformin.window_start, 0);
  EXPECT_EQ(metformin.window_end, 90);
  EXPECT_EQ(metformin.at_least, 1) << "at_least defaults to 1";
  EXPECT_FALSE(metformin.at_most.has_value());
  const EventsCriterion& insulin = c.inclusion[2].criterion.events;
  EXPECT_EQ(insulin.at_least, 0) << "at_least defaults to 0 when at_most is given";
  EXPECT_EQ(insulin.at_most, 0);
  const EventsCriterion& hba1c = c.inclusion[3].criterion.events;
  EXPECT_EQ(hba1c.value.gt, 7.0);
  EXPECT_TRUE(hba1c.value.Passes(7.5));
  EXPECT_FALSE(hba1c.value.Passes(7.0));
  EXPECT_FALSE(hba1c.value.Passes(std::nan(""))) << "an event without a value fails";
  const Criterion& any = c.inclusion[4].criterion;
  EXPECT_EQ(any.kind, Criterion::Kind::kAny);
  ASSERT_EQ(any.children.size(), 2u);
  EXPECT_EQ(any.children[0].kind, Criterion::Kind::kSex);
  EXPECT_EQ(any.children[0].sex, domain::Sex::kFemale);
  EXPECT_EQ(any.children[1].departements.size(), 5u);
}

TEST(CohortParse, DefaultsUrisNestingAndValueRanges) {
  auto parsed = ParseCohort(R"({
    "codesets": {"x": [{"system": "http://snomed.info/sct", "code": "44054006"},
                       {"system": "http://example.org/local", "code": "A1", "exclude": true}]},
    "entry": {"codeset": "x"},
    "inclusion": [{"not": {"all": [{"events": {"window": [-30, 30], "at_least": 2,
                                               "value": {"gte": 1, "lt": 2}}},
                                   {"age": {"max": 17}}]}}]
  })");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->codesets.at("x")[0].system, "snomed") << "a known URI becomes its alias";
  EXPECT_EQ(parsed->codesets.at("x")[1].system, "http://example.org/local");
  EXPECT_TRUE(parsed->codesets.at("x")[1].exclude);
  EXPECT_FALSE(parsed->entry.domain.has_value()) << "omitted domain: any";
  EXPECT_TRUE(parsed->entry.first) << "occurrence defaults to first";
  EXPECT_FALSE(parsed->entry.from.has_value());
  const Criterion& n = parsed->inclusion[0].criterion;
  ASSERT_EQ(n.kind, Criterion::Kind::kNot);
  ASSERT_EQ(n.children.size(), 1u);
  ASSERT_EQ(n.children[0].children.size(), 2u);
  const ValueFilter& v = n.children[0].children[0].events.value;
  EXPECT_TRUE(v.Passes(1.0));
  EXPECT_TRUE(v.Passes(1.99));
  EXPECT_FALSE(v.Passes(2.0));
  EXPECT_FALSE(v.Passes(0.5));
  EXPECT_FALSE(n.children[0].children[1].age_min.has_value());
}

struct Invalid {
  const char* json;
  const char* path;  // the message must start with "PATH: "
};

TEST(CohortParse, InvalidDefinitionsNameThePath) {
  const Invalid cases[] = {
      {R"([1])", "cohort"},
      {R"({"entry": {}, "colour": "red"})", "colour"},
      {R"({"inclusion": []})", "entry"},
      {R"({"entry": {"codeset": "nope"}})", "entry.codeset"},
      {R"({"entry": {"domain": "lab"}})", "entry.domain"},
      {R"({"entry": {"occurrence": "last"}})", "entry.occurrence"},
      {R"({"entry": {"between": ["2020-01-01", "2020-02-30"]}})", "entry.between[1]"},
      {R"({"entry": {"between": ["2020-01-01", "1/2/2020"]}})", "entry.between[1]"},
      {R"({"entry": {"between": ["2021-01-01", "2020-01-01"]}})", "entry.between"},
      {R"({"entry": {"between": ["2021-01-01"]}})", "entry.between"},
      {R"({"entry": {"prior_observation_days": -1}})", "entry.prior_observation_days"},
      {R"({"entry": {"prior_observation_days": "365"}})", "entry.prior_observation_days"},
      {R"({"codesets": {"a": [{"system": "icd11", "code": "X"}]}, "entry": {}})",
       "codesets.a[0].system"},
      {R"({"codesets": {"a": [{"system": "icd10"}]}, "entry": {}})", "codesets.a[0].code"},
      {R"({"codesets": {"a": [{"system": "icd10", "code": 11}]}, "entry": {}})",
       "codesets.a[0].code"},
      {R"({"codesets": {"a": [{"system": "icd10", "code": "E11", "descendant": true}]},
           "entry": {}})",
       "codesets.a[0].descendant"},
      {R"({"codesets": {"a": [{"system": "icd10", "code": "E11", "descendants": "yes"}]},
           "entry": {}})",
       "codesets.a[0].descendants"},
      {R"({"codesets": {"a": []}, "entry": {}})", "codesets.a"},
      {R"({"entry": {}, "inclusion": {"age": {}}})", "inclusion"},
      {R"({"entry": {}, "inclusion": [{"name": "x"}]})", "inclusion[0]"},
      {R"({"entry": {}, "inclusion": [{"age": {"min": 1}, "sex": "male"}]})", "inclusion[0]"},
      {R"({"entry": {}, "inclusion": [{"events": {"window": [10, 5]}}]})",
       "inclusion[0].events.window"},
      {R"({"entry": {}, "inclusion": [{"events": {"window": [0, 1.5]}}]})",
       "inclusion[0].events.window[1]"},
      {R"({"entry": {}, "inclusion": [{"events": {"codeset": "t2d"}}]})",
       "inclusion[0].events.codeset"},
      {R"({"entry": {}, "inclusion": [{"events": {"value": {"above": 7}}}]})",
       "inclusion[0].events.value.above"},
      {R"({"entry": {}, "inclusion": [{"events": {"value": {"gt": "7"}}}]})",
       "inclusion[0].events.value.gt"},
      {R"({"entry": {}, "inclusion": [{"events": {"at_least": 3, "at_most": 1}}]})",
       "inclusion[0].events.at_least"},
      {R"({"entry": {}, "inclusion": [{"events": {"at_most": -1}}]})",
       "inclusion[0].events.at_most"},
      {R"({"entry": {}, "inclusion": [{"age": {"min": 50, "max": 40}}]})", "inclusion[0].age"},
      {R"({"entry": {}, "inclusion": [{"age": {"min": "50"}}]})", "inclusion[0].age.min"},
      {R"({"entry": {}, "inclusion": [{"sex": "F"}]})", "inclusion[0].sex"},
      {R"({"entry": {}, "inclusion": [{"departement": ["14", "2C"]}]})",
       "inclusion[0].departement[1]"},
      {R"({"entry": {}, "inclusion": [{"any": []}]})", "inclusion[0].any"},
      {R"({"entry": {}, "inclusion": [{"any": [{"sex": "female"}, {"name": "x", "sex": "male"}]}]})",
       "inclusion[0].any[1].name"},
      {R"({"entry": {}, "inclusion": [{"not": {"all": [{"events": {"domain": "drugs"}}]}}]})",
       "inclusion[0].not.all[0].events.domain"},
      {R"({"entry": {}, "inclusion": [{}, {"sex": "male"}, {"age": {"min": 1}, "x": 1}]})",
       "inclusion[0]"},
      {R"({"entry": {}, "inclusion": [{"sex": "male"}, {"age": {"min": 1}, "x": 1}]})",
       "inclusion[1].x"},
  };
  for (const Invalid& c : cases) {
    SCOPED_TRACE(c.json);
    auto parsed = ParseCohort(c.json);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(parsed.status().message().rfind(std::string(c.path) + ": ", 0), 0u)
        << parsed.status().message();
  }
}

TEST(CohortParse, NotJsonIsRejectedWithItsPosition) {
  auto parsed = ParseCohort(R"({"entry": {)");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("not valid JSON"), std::string::npos);
}

}  // namespace
}  // namespace p4dp::query
