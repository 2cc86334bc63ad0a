// Tests of the patient-level vocabulary: the NIR key check, the names of sexes and event
// domains, and the hexadecimal form of a PatientKey. The NIRs below are made up; their keys
// are computed by hand in the comments so that the test does not repeat the implementation.
#include "domain/patient.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>

namespace p4dp::domain {
namespace {

// Keys, with key = 97 - (number mod 97):
//   1800175123456: 1800175123456 = 97 * 18558506427 + 37, key 97 - 37 = 60.
//   2850613055123: 2850613055123 = 97 * 29387763454 + 85, key 12.
//   1930299123045: 1930299123045 = 97 * 19899990959 + 22, key 75 (born abroad, "99").
//   1800175123419: 1800175123456 - 37, a multiple of 97, so the key is 97 - 0 = 97.
//   178032A123456: 2A counts as 19: 1780319123456 = 97 * 18353805396 + 44, key 53.
//   285052B001002: 2B counts as 18: 2850518001002 = 97 * 29386783515 + 47, key 50.
TEST(NirTest, KeysComputedByHand) {
  EXPECT_EQ(NirKey("1800175123456"), 60);
  EXPECT_EQ(NirKey("2850613055123"), 12);
  EXPECT_EQ(NirKey("1930299123045"), 75);
  EXPECT_EQ(NirKey("1800175123419"), 97);
  EXPECT_EQ(NirKey("178032A123456"), 53);
  EXPECT_EQ(NirKey("285052B001002"), 50);
}

TEST(NirTest, ValidNirs) {
  EXPECT_TRUE(IsValidNir("180017512345660"));
  EXPECT_TRUE(IsValidNir("285061305512312"));
  EXPECT_TRUE(IsValidNir("193029912304575"));
  EXPECT_TRUE(IsValidNir("180017512341997"));
  EXPECT_TRUE(IsValidNir("178032A12345653"));
  EXPECT_TRUE(IsValidNir("285052B00100250"));
}

TEST(NirTest, WrongKeyRejected) {
  EXPECT_FALSE(IsValidNir("180017512345661"));
  EXPECT_FALSE(IsValidNir("180017512345606"));
  EXPECT_FALSE(IsValidNir("180017512345600"));
  EXPECT_FALSE(IsValidNir("178032A12345654"));
  // The same digits with 2B instead of 2A have a different key.
  EXPECT_FALSE(IsValidNir("178032B12345653"));
  // One changed digit in the body changes the key.
  EXPECT_FALSE(IsValidNir("180017512345760"));
}

TEST(NirTest, MalformedRejected) {
  EXPECT_EQ(NirKey(""), std::nullopt);
  EXPECT_EQ(NirKey("180017512345"), std::nullopt);
  EXPECT_EQ(NirKey("18001751234567"), std::nullopt);
  EXPECT_EQ(NirKey("18001751234X6"), std::nullopt);
  EXPECT_EQ(NirKey("180017512345 "), std::nullopt);
  // A and B are accepted only as the second character of a Corsican "2A"/"2B".
  EXPECT_EQ(NirKey("178031A123456"), std::nullopt);
  EXPECT_EQ(NirKey("17803A2123456"), std::nullopt);
  EXPECT_EQ(NirKey("178032C123456"), std::nullopt);
  EXPECT_EQ(NirKey("1780312A23456"), std::nullopt);

  EXPECT_FALSE(IsValidNir(""));
  EXPECT_FALSE(IsValidNir("18001751234566"));
  EXPECT_FALSE(IsValidNir("1800175123456600"));
  EXPECT_FALSE(IsValidNir("18001751234566 "));
  EXPECT_FALSE(IsValidNir("1800175123456A0"));
  EXPECT_FALSE(IsValidNir("18001751234X660"));
}

TEST(DomainTest, NamesRoundTrip) {
  std::set<std::string_view> names;
  for (int i = 0; i < kDomainCount; ++i) {
    auto domain = static_cast<Domain>(i);
    std::string_view name = DomainName(domain);
    EXPECT_FALSE(name.empty());
    EXPECT_TRUE(names.insert(name).second) << name;
    EXPECT_EQ(DomainFromName(name), domain) << name;
  }
  EXPECT_EQ(DomainName(Domain::kVisit), "visit");
  EXPECT_EQ(DomainName(Domain::kHospitalStay), "hospital_stay");
  EXPECT_EQ(DomainName(Domain::kDeath), "death");
  EXPECT_EQ(DomainFromName(""), std::nullopt);
  EXPECT_EQ(DomainFromName("hospital stay"), std::nullopt);
  EXPECT_EQ(DomainFromName("Visit"), std::nullopt);
}

TEST(SexTest, NamesRoundTrip) {
  for (Sex sex : {Sex::kUnknown, Sex::kFemale, Sex::kMale, Sex::kOther}) {
    EXPECT_EQ(SexFromName(SexName(sex)), sex) << SexName(sex);
  }
  EXPECT_EQ(SexName(Sex::kFemale), "female");
  EXPECT_EQ(SexName(Sex::kMale), "male");
  EXPECT_EQ(SexName(Sex::kOther), "other");
  EXPECT_EQ(SexName(Sex::kUnknown), "unknown");
  EXPECT_EQ(SexFromName(""), std::nullopt);
  EXPECT_EQ(SexFromName("F"), std::nullopt);
}

TEST(PatientKeyTest, ToHexGivesSixtyFourLowercaseHexCharacters) {
  PatientKey zero;
  EXPECT_EQ(zero.ToHex(), std::string(64, '0'));

  PatientKey key;
  for (size_t i = 0; i < key.bytes.size(); ++i) {
    key.bytes[i] = static_cast<uint8_t>(i * 8 + 7);
  }
  key.bytes[31] = 0xff;
  std::string hex = key.ToHex();
  ASSERT_EQ(hex.size(), 64u);
  for (char c : hex) {
    EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << hex;
  }
  EXPECT_EQ(hex.substr(0, 6), "070f17");
  EXPECT_EQ(hex.substr(62), "ff");
  EXPECT_NE(key, zero);
}

}  // namespace
}  // namespace p4dp::domain
