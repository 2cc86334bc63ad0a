// Tests of the département and region tables and of the postal-code rule. The tables are
// static data, so these tests check their shape (counts, order, references between them) and a
// few well-known facts rather than every figure.
#include "domain/departement.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace p4dp::domain {
namespace {

TEST(DepartementTest, HasAllHundredAndOneWithUniqueCodes) {
  auto all = AllDepartements();
  ASSERT_EQ(all.size(), 101u);
  std::set<std::string_view> codes;
  for (const Departement& d : all) {
    EXPECT_TRUE(codes.insert(d.code).second) << "duplicate code " << d.code;
    EXPECT_FALSE(d.name.empty()) << d.code;
    EXPECT_GT(d.population, 0) << d.code;
  }
  EXPECT_EQ(codes.count("20"), 0u);
}

TEST(DepartementTest, OrderedByCodeWithCorsicaBetween19And21) {
  auto all = AllDepartements();
  EXPECT_EQ(all.front().code, "01");
  EXPECT_EQ(all.back().code, "976");
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i].code == "2A") {
      ASSERT_GT(i, 0u);
      ASSERT_LT(i + 2, all.size());
      EXPECT_EQ(all[i - 1].code, "19");
      EXPECT_EQ(all[i + 1].code, "2B");
      EXPECT_EQ(all[i + 2].code, "21");
    }
  }
  // Apart from Corsica, the order is the numeric order of the codes.
  int previous = 0;
  for (const Departement& d : all) {
    if (d.code == "2A" || d.code == "2B") continue;
    int number = std::stoi(std::string(d.code));
    EXPECT_GT(number, previous) << d.code;
    previous = number;
  }
}

TEST(DepartementTest, HasEighteenRegionsOrderedByCode) {
  auto regions = AllRegions();
  ASSERT_EQ(regions.size(), 18u);
  for (size_t i = 1; i < regions.size(); ++i) {
    EXPECT_LT(regions[i - 1].code, regions[i].code);
  }
  for (const Region& r : regions) EXPECT_FALSE(r.name.empty()) << r.code;
}

TEST(DepartementTest, RegionsAndDepartementsReferToEachOther) {
  std::set<std::string_view> used;
  for (const Departement& d : AllDepartements()) {
    EXPECT_NE(FindRegion(d.region_code), nullptr) << d.code << " -> " << d.region_code;
    used.insert(d.region_code);
  }
  for (const Region& r : AllRegions()) {
    EXPECT_EQ(used.count(r.code), 1u) << "region without département: " << r.code;
  }
}

TEST(DepartementTest, TotalPopulationIsAboutSixtyEightMillion) {
  int64_t total = 0;
  for (const Departement& d : AllDepartements()) total += d.population;
  EXPECT_GT(total, 67'000'000);
  EXPECT_LT(total, 70'000'000);
}

TEST(DepartementTest, SpotChecks) {
  struct Case {
    std::string_view code;
    std::string_view name;
    std::string_view region_code;
  };
  for (const Case& c :
       {Case{"75", "Paris", "11"}, Case{"13", "Bouches-du-Rhône", "93"},
        Case{"2A", "Corse-du-Sud", "94"}, Case{"2B", "Haute-Corse", "94"},
        Case{"976", "Mayotte", "06"}, Case{"974", "La Réunion", "04"}, Case{"01", "Ain", "84"}}) {
    const Departement* d = FindDepartement(c.code);
    ASSERT_NE(d, nullptr) << c.code;
    EXPECT_EQ(d->code, c.code);
    EXPECT_EQ(d->name, c.name);
    EXPECT_EQ(d->region_code, c.region_code) << c.code;
  }
  const Region* idf = FindRegion("11");
  ASSERT_NE(idf, nullptr);
  EXPECT_EQ(idf->name, "Île-de-France");
  const Region* corse = FindRegion("94");
  ASSERT_NE(corse, nullptr);
  EXPECT_EQ(corse->name, "Corse");
}

TEST(DepartementTest, NordIsTheMostPopulous) {
  const Departement* most = nullptr;
  for (const Departement& d : AllDepartements()) {
    if (most == nullptr || d.population > most->population) most = &d;
  }
  ASSERT_NE(most, nullptr);
  EXPECT_EQ(most->code, "59");
  EXPECT_EQ(most->name, "Nord");
}

TEST(DepartementTest, FindRejectsUnknownCodes) {
  for (std::string_view code : {"", "00", "20", "2a", "2C", "96", "975", "977", "1", "010"}) {
    EXPECT_EQ(FindDepartement(code), nullptr) << code;
  }
  for (std::string_view code : {"", "00", "05", "1", "84 ", "99"}) {
    EXPECT_EQ(FindRegion(code), nullptr) << code;
  }
}

TEST(DepartementTest, PostalCodes) {
  struct Case {
    std::string_view postal_code;
    std::optional<std::string_view> departement;
  };
  const Case cases[] = {
      {"75011", "75"},         {"01000", "01"},         {"20000", "2A"},
      {"20167", "2A"},         {"20200", "2B"},         {"20600", "2B"},
      {"20700", std::nullopt}, {"97411", "974"},        {"97600", "976"},
      {"97100", "971"},        {"97500", std::nullopt}, {"97800", std::nullopt},
      {"99000", std::nullopt}, {"98000", std::nullopt}, {"96000", std::nullopt},
      {"00100", std::nullopt}, {"1234", std::nullopt},  {"750111", std::nullopt},
      {"7501A", std::nullopt}, {"", std::nullopt},      {" 7501", std::nullopt},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(DepartementOfPostalCode(c.postal_code), c.departement) << c.postal_code;
  }
}

TEST(DepartementTest, PostalCodeResultPointsIntoTheTable) {
  // The input is a temporary string; the result must not refer to it.
  auto code = DepartementOfPostalCode(std::string("13001"));
  ASSERT_TRUE(code.has_value());
  const Departement* d = FindDepartement("13");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(code->data(), d->code.data());
}

}  // namespace
}  // namespace p4dp::domain
