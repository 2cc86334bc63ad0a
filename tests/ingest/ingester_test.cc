// The Ingester on request bodies into a real warehouse: several versions of one resource
// in one batch (in every order) keep the best, count the others the same way whatever the
// order, and store exactly what one version alone would.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "base/file_system.h"
#include "crypto/aead.h"
#include "ingest/pipeline.h"
#include "store/warehouse.h"

namespace p4dp::ingest {
namespace {

std::string TempDir(const std::string& name) {
  std::string dir = std::string(P4DP_BINARY_DIR) + "/test-tmp/ingester_" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

const char* kPatient =
    R"({"resourceType":"Patient","id":"p1","gender":"female","birthDate":"1950-03-01"})";

// Version `v` of one Condition: its own code and lastUpdated.
std::string Condition(int v) {
  return R"({"resourceType":"Condition","id":"c1","meta":{"versionId":")" + std::to_string(v) +
         R"(","lastUpdated":"2024-01-0)" + std::to_string(v) +
         R"(T10:00:00Z"},"subject":{"reference":"Patient/p1"},"onsetDateTime":"2023-05-0)" +
         std::to_string(v) +
         R"(","code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-fr","code":"J1)" +
         std::to_string(v) + R"("}]}})";
}

struct Outcome {
  IngestSummary summary;
  store::Stats stats;
  std::vector<std::string> codes;  // codes of the stored events
};

Outcome Ingest(const std::vector<std::string>& lines) {
  std::string dir = TempDir("repeats") + "/w";
  crypto::Key master = crypto::Key::Random();
  EXPECT_TRUE(store::Warehouse::Init(RealFileSystem(), dir, master).ok());
  auto w = store::Warehouse::Open(RealFileSystem(), dir, master);
  EXPECT_TRUE(w.ok());
  IngestOptions options;
  options.today = 25'000;
  Ingester ingester(**w, options);
  std::string body = std::string(kPatient) + "\n";
  for (const auto& line : lines) body += line + "\n";
  Status s = ingester.IngestBody(body, "test");
  EXPECT_TRUE(s.ok()) << s.ToString();
  Outcome out;
  out.summary = ingester.summary();
  out.stats = *(*w)->ComputeStats();
  EXPECT_TRUE((*w)->Read([&](const store::Index& index, const store::Catalog& catalog) {
                    for (size_t p = 0; p < index.patient_count(); ++p) {
                      for (const auto& e : index.Events(static_cast<uint32_t>(p))) {
                        for (uint32_t c : e.codes) out.codes.push_back(catalog.codes()[c].code);
                      }
                    }
                  })
                  .ok());
  return out;
}

TEST(Ingester, RepeatsWithinABatchKeepTheBestVersionWhateverTheOrder) {
  std::vector<std::string> lines = {Condition(1), Condition(3), Condition(2), Condition(3),
                                    Condition(1)};
  std::vector<int> order = {0, 1, 2, 3, 4};
  std::sort(order.begin(), order.end());
  int orders = 0;
  do {
    std::vector<std::string> shuffled;
    for (int i : order) shuffled.push_back(lines[static_cast<size_t>(i)]);
    Outcome out = Ingest(shuffled);
    SCOPED_TRACE("order " + std::to_string(orders));
    EXPECT_EQ(out.summary.accepted, 2);    // the patient and version 3
    EXPECT_EQ(out.summary.duplicates, 2);  // the second 3 and the second 1
    EXPECT_EQ(out.summary.outdated, 2);    // versions 1 and 2 lost
    EXPECT_EQ(out.stats.events, 1);
    EXPECT_EQ(out.codes, std::vector<std::string>{"J13"});
    ++orders;
  } while (std::next_permutation(order.begin(), order.end()) && orders < 30);
}

}  // namespace
}  // namespace p4dp::ingest
