// Tests of the code-system table: aliases and URIs resolve to their system, the other URIs in
// use are accepted, and the hierarchical flags match how each classification is organised.
#include "domain/code_system.h"

#include <gtest/gtest.h>

#include <set>
#include <string_view>

namespace p4dp::domain {
namespace {

TEST(CodeSystemTest, AliasesAndUrisRoundTrip) {
  auto all = AllCodeSystems();
  ASSERT_EQ(all.size(), 11u);
  for (const CodeSystemInfo& info : all) {
    EXPECT_EQ(InfoOf(info.system).system, info.system) << info.alias;
    EXPECT_EQ(InfoOf(info.system).alias, info.alias);
    EXPECT_EQ(CodeSystemFromName(info.alias), info.system) << info.alias;
    EXPECT_EQ(CodeSystemFromName(info.uri), info.system) << info.uri;
  }
}

TEST(CodeSystemTest, KnownAliases) {
  EXPECT_EQ(CodeSystemFromName("icd10"), CodeSystem::kIcd10);
  EXPECT_EQ(CodeSystemFromName("icpc2"), CodeSystem::kIcpc2);
  EXPECT_EQ(CodeSystemFromName("atc"), CodeSystem::kAtc);
  EXPECT_EQ(CodeSystemFromName("cip13"), CodeSystem::kCip13);
  EXPECT_EQ(CodeSystemFromName("loinc"), CodeSystem::kLoinc);
  EXPECT_EQ(CodeSystemFromName("ccam"), CodeSystem::kCcam);
  EXPECT_EQ(CodeSystemFromName("http://loinc.org"), CodeSystem::kLoinc);
  EXPECT_EQ(CodeSystemFromName("http://snomed.info/sct"), CodeSystem::kSnomed);
}

TEST(CodeSystemTest, AlternativeUrisResolve) {
  EXPECT_EQ(CodeSystemFromName("http://hl7.org/fhir/sid/icd-10"), CodeSystem::kIcd10);
  EXPECT_EQ(CodeSystemFromName("urn:oid:2.16.840.1.113883.6.3"), CodeSystem::kIcd10);
  EXPECT_EQ(CodeSystemFromName("https://smt.esante.gouv.fr/terminologie-cim-10/"),
            CodeSystem::kIcd10);
  EXPECT_EQ(CodeSystemFromName("urn:oid:2.16.840.1.113883.6.139"), CodeSystem::kIcpc2);
  EXPECT_EQ(CodeSystemFromName("urn:oid:2.16.840.1.113883.6.73"), CodeSystem::kAtc);
  EXPECT_EQ(CodeSystemFromName("urn:oid:2.16.840.1.113883.6.1"), CodeSystem::kLoinc);
}

TEST(CodeSystemTest, UnknownNamesGiveNullopt) {
  for (std::string_view name : {"", "icd11", "icd-10", "cim10", "icd10 ", "http://loinc.org/",
                                "http://example.org/codes", "urn:oid:"}) {
    EXPECT_EQ(CodeSystemFromName(name), std::nullopt) << "'" << name << "'";
  }
}

TEST(CodeSystemTest, HierarchicalFlags) {
  EXPECT_TRUE(InfoOf(CodeSystem::kIcd10).hierarchical_by_prefix);
  EXPECT_TRUE(InfoOf(CodeSystem::kAtc).hierarchical_by_prefix);
  EXPECT_TRUE(InfoOf(CodeSystem::kCcam).hierarchical_by_prefix);
  EXPECT_TRUE(InfoOf(CodeSystem::kIcpc2).hierarchical_by_prefix);
  EXPECT_FALSE(InfoOf(CodeSystem::kLoinc).hierarchical_by_prefix);
  EXPECT_FALSE(InfoOf(CodeSystem::kCip13).hierarchical_by_prefix);
}

TEST(CodeSystemTest, AliasesAndUrisAreUnique) {
  std::set<std::string_view> aliases;
  std::set<std::string_view> uris;
  for (const CodeSystemInfo& info : AllCodeSystems()) {
    EXPECT_FALSE(info.alias.empty());
    EXPECT_FALSE(info.uri.empty());
    EXPECT_TRUE(aliases.insert(info.alias).second) << "duplicate alias " << info.alias;
    EXPECT_TRUE(uris.insert(info.uri).second) << "duplicate uri " << info.uri;
  }
}

}  // namespace
}  // namespace p4dp::domain
