// The code search by label (query/code_labels.h): accents and case ignored, each word of the
// query the start of a word of the label, the French code lists read from their CSV files
// (quoted fields, the columns found by name, a malformed line named), and the search over the
// codes present in a small hand-made warehouse, by code prefix or by label, with labels.
#include "query/code_labels.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "store/catalog.h"
#include "store/index.h"

namespace p4dp::query {
namespace {

using domain::CodeSystem;

TEST(CodeLabels, FoldsAccentsAndCase) {
  EXPECT_EQ(FoldText("Diabète sucré"), "diabete sucre");
  EXPECT_EQ(FoldText("ŒDÈME À L'ÉPAULE"), "oedeme a l'epaule");
  EXPECT_EQ(FoldText("Ça, çà"), "ca, ca");
}

TEST(CodeLabels, MatchesTheStartOfWordsWhateverAccentsAndCase) {
  CodeLabels labels;
  labels.Add(CodeSystem::kIcd10, "E11", "Diabète sucré de type 2");
  labels.Add(CodeSystem::kIcd10, "E11.9", "Diabète sucré de type 2, sans complication");
  EXPECT_TRUE(labels.Matches(CodeSystem::kIcd10, "E11", "diabete"));
  EXPECT_TRUE(labels.Matches(CodeSystem::kIcd10, "E11", "DIAB SUC"));
  EXPECT_TRUE(labels.Matches(CodeSystem::kIcd10, "e119", "sucre complic"));
  EXPECT_FALSE(labels.Matches(CodeSystem::kIcd10, "E11", "complication"));
  EXPECT_FALSE(labels.Matches(CodeSystem::kIcd10, "E11", "bete")) << "inside a word";
  EXPECT_FALSE(labels.Matches(CodeSystem::kIcd10, "E11", ""));
  EXPECT_FALSE(labels.Matches(CodeSystem::kAtc, "E11", "diabete")) << "another system";
  // The first label added wins (the official lists are loaded first), dots and case ignored.
  labels.Add(CodeSystem::kIcd10, "e11", "Type 2 diabetes");
  EXPECT_EQ(labels.Label(CodeSystem::kIcd10, "E11"), "Diabète sucré de type 2");
  EXPECT_EQ(labels.Label(CodeSystem::kIcd10, "E119"), "Diabète sucré de type 2, sans complication");
  EXPECT_EQ(labels.Label(CodeSystem::kIcd10, "Z99"), "");
}

class CodeListsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::string(P4DP_BINARY_DIR) + "/test-tmp/code_labels_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ + "/cim10");
    std::filesystem::create_directories(dir_ + "/ccam");
  }
  void Write(const std::string& path, const std::string& text) {
    std::ofstream(dir_ + path, std::ios::binary) << text;
  }
  std::string dir_;
};

TEST_F(CodeListsTest, ReadsTheColumnsByNameWithQuotes) {
  Write("/cim10/IR_CIM_V.csv",
        "CIM_COD;CIM_LIB;ALD_030_COD\n"
        "E11;Diabète sucré de type 2;8\r\n"
        "J45;Asthme;14\n");
  Write("/ccam/IR_CCAM_V63.csv",
        "\"CAM_PRS_IDE_COD\";\"CAM_PRS_IDE_LIB\";\"CAM_PRS_RGT\"\n"
        "\"DEQP003\";\"Électrocardiographie sur au moins 12 dérivations; \"\"ECG\"\"\";\"ATM\"\n"
        "\"HBGD358\";\"Avulsion de 2 dents  en position palatine\n\";\"ADC\"\n"
        "\"HBGD003\";\"Avulsion d'1 odontoïde\";\"ADC\"\n");
  CodeLabels labels;
  ASSERT_TRUE(labels.LoadCodeLists(dir_).ok());
  EXPECT_EQ(labels.size(), 5u);
  // A quoted label may span lines (the CCAM list has some): one label, spaces tidied.
  EXPECT_EQ(labels.Label(CodeSystem::kCcam, "HBGD358"), "Avulsion de 2 dents en position palatine");
  EXPECT_EQ(labels.Label(CodeSystem::kCcam, "HBGD003"), "Avulsion d'1 odontoïde");
  EXPECT_EQ(labels.Label(CodeSystem::kIcd10, "E11"), "Diabète sucré de type 2");
  EXPECT_EQ(labels.Label(CodeSystem::kCcam, "DEQP003"),
            "Électrocardiographie sur au moins 12 dérivations; \"ECG\"");
  EXPECT_TRUE(labels.Matches(CodeSystem::kCcam, "DEQP003", "electrocardio"));
  EXPECT_TRUE(labels.Matches(CodeSystem::kCcam, "DEQP003", "ecg"));
}

TEST_F(CodeListsTest, NamesAMalformedLineAndAcceptsAMissingFile) {
  CodeLabels empty;
  auto none = empty.LoadCodeLists(dir_);
  ASSERT_TRUE(none.ok()) << "no file: nothing to load, not an error";
  EXPECT_EQ(*none, 0u);
  Write("/cim10/IR_CIM_V.csv", "CIM_COD;CIM_LIB\nE11;\"Diabète\nJ45;Asthme\n");
  auto bad = CodeLabels().LoadCodeLists(dir_);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("IR_CIM_V.csv:2"), std::string::npos)
      << bad.status().message();
  Write("/cim10/IR_CIM_V.csv", "CODE;LIBELLE\nE11;Diabète\n");
  EXPECT_FALSE(CodeLabels().LoadCodeLists(dir_).ok()) << "the columns are found by name";
}

class SearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = std::string(P4DP_BINARY_DIR) + "/test-tmp/code_labels_search";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    auto created = store::Catalog::Create(dir + "/catalog.db");
    ASSERT_TRUE(created.ok());
    catalog_ = std::move(created).value();
    ASSERT_TRUE(catalog_->Begin().ok());
    // E11.9 for patients 1 and 2, T90 (CISP-2) for patient 3, J45 for patient 1.
    for (uint8_t n = 1; n <= 3; ++n) Patient(n);
    Event(1, "icd10", "E11.9");
    Event(2, "icd10", "E11.9");
    Event(3, "icpc2", "T90");
    Event(1, "icd10", "J45");
    ASSERT_TRUE(catalog_->Commit().ok());
    index_.Apply(batch_);
    labels_.Add(CodeSystem::kIcd10, "E119", "Diabète sucré de type 2, sans complication");
    labels_.Add(CodeSystem::kIcpc2, "T90", "Diabète non insulino-dépendant");
    labels_.Add(CodeSystem::kIcd10, "J45", "Asthme");
    labels_.Add(CodeSystem::kIcd10, "E10", "Diabète sucré de type 1");  // in no event
  }
  void Patient(uint8_t n) {
    store::PatientRecord r;
    r.key.bytes.fill(n);
    r.resource_key = 1000 + n;
    r.version = {1, 1, n};
    r.birth_year = 1970;
    batch_.patients.push_back(r);
  }
  void Event(uint8_t n, const char* system, const char* code) {
    uint64_t rk = 100'000 + ++events_;
    store::ResourceRecord res;
    res.resource_key = rk;
    res.version = {1, 1, rk};
    res.patient.bytes.fill(n);
    batch_.resources.push_back(res);
    store::EventRecord e;
    e.patient.bytes.fill(n);
    e.date = 19'000;
    e.domain = domain::Domain::kCondition;
    e.codes = {*catalog_->CodeId(system, code)};
    e.resource_key = rk;
    e.content_hash = rk;
    batch_.events.push_back(e);
  }
  std::vector<CodeHit> Search(const std::string& q, std::optional<CodeSystem> system = {}) {
    return SearchCodesWithLabels(index_, *catalog_, labels_, {.query = q, .system = system});
  }
  std::unique_ptr<store::Catalog> catalog_;
  store::Batch batch_;
  store::Index index_;
  CodeLabels labels_;
  uint64_t events_ = 0;
};

TEST_F(SearchTest, FindsPresentCodesByLabelOrByCodePrefix) {
  std::vector<CodeHit> hits = Search("diabète");
  ASSERT_EQ(hits.size(), 2u) << "E10 is in no event";
  EXPECT_EQ(hits[0].code, "E11.9");
  EXPECT_EQ(hits[0].patients, 2u);
  EXPECT_EQ(hits[1].code, "T90");
  EXPECT_EQ(Search("DIABETE", CodeSystem::kIcpc2).size(), 1u);
  hits = Search("J4");
  ASSERT_EQ(hits.size(), 1u) << "a code prefix still works";
  EXPECT_EQ(hits[0].code, "J45");
  EXPECT_EQ(Search("asthme")[0].code, "J45");
  EXPECT_TRUE(Search("insuline").empty());
}

}  // namespace
}  // namespace p4dp::query
