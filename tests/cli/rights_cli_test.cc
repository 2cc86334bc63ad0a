// The right to object, end to end through the `p4dp` command: after `p4dp optout --nir`, the
// patient's key is in no segment (every block decrypted and decoded), in no index and in no
// file under DATA; counts that included them drop by one; their quarantined record is gone;
// re-ingesting their records stores nothing and counts them as refused (not quarantined).
// Also: backup / verify / restore and keys rotate through the command; a backup carries the
// audit trail (verified by `verify FILE`, restored, its chain verifying in the copy).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "base/file_system.h"
#include "crypto/keys.h"
#include "ingest/pseudonymiser.h"
#include "store/catalog.h"
#include "store/segment.h"
#include "store/warehouse.h"

namespace p4dp {
namespace {

struct Outcome {
  int exit_code = -1;
  std::string out;  // stdout only (stderr goes to the test log)
};

Outcome P4dp(const std::string& args) {
  std::string cmd = std::string(P4DP_BINARY_DIR) + "/src/cli/p4dp " + args;
  Outcome o;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return o;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) o.out.append(buf.data(), n);
  int status = pclose(pipe);
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

nlohmann::json Json(const Outcome& o) {
  EXPECT_EQ(o.exit_code, 0) << o.out;
  auto j = nlohmann::json::parse(o.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << o.out;
  return j;
}

// The lines of `p4dp audit show DATA`, one JSON entry each (the key beside DATA's folder).
std::vector<std::string> AuditLines(const std::string& data, const std::string& key_file = "") {
  std::string key = key_file.empty() ? " --key-file " + data + "/../master.key" : key_file;
  Outcome o = P4dp("audit show " + data + " --limit 100000" + key);
  EXPECT_EQ(o.exit_code, 0);
  std::vector<std::string> lines;
  size_t at = 0;
  for (size_t nl = o.out.find('\n'); nl != std::string::npos; nl = o.out.find('\n', at)) {
    lines.push_back(o.out.substr(at, nl - at));
    at = nl + 1;
  }
  return lines;
}

// A valid NIR: 13 digits and the key 97 - (number mod 97).
std::string Nir(int i) {
  long long base = 1850575000000LL + i * 1013;
  int key = static_cast<int>(97 - base % 97);
  char text[32];
  std::snprintf(text, sizeof text, "%lld%02d", base, key);
  return text;
}

void Write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

std::string Condition(const std::string& id, int patient, const std::string& code,
                      const std::string& date) {
  std::string onset = date.empty() ? "" : R"(,"onsetDateTime":")" + date + R"(")";
  return R"({"resourceType":"Condition","id":")" + id + R"(","subject":{"reference":"Patient/p)" +
         std::to_string(patient) +
         R"("},"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10","code":")" + code +
         R"("}]})" + onset + "}\n";
}

class RightsCli : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = std::string(P4DP_BINARY_DIR) + "/test-tmp/rights_cli_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(base_);
    std::filesystem::create_directories(base_);
    data_ = base_ + "/data";
    key_file_ = base_ + "/master.key";
    master_ = crypto::Key::Random();
    ASSERT_TRUE(crypto::WriteKeyFile(key_file_, master_).ok());
    std::string patients, a, b;
    for (int i = 0; i < 5; ++i) {
      patients += R"({"resourceType":"Patient","id":"p)" + std::to_string(i) +
                  R"(","identifier":[{"system":"urn:oid:1.2.250.1.213.1.4.8","value":")" + Nir(i) +
                  R"("}],"gender":"female","birthDate":"1960-05-01"})" + "\n";
      a += Condition("a" + std::to_string(i), i, "J10", "2023-01-0" + std::to_string(i + 1));
      if (i < 2) a += Condition("e" + std::to_string(i), i, "E11", "2022-06-01");
      b += Condition("b" + std::to_string(i), i, "I10", "2023-02-01");
    }
    b += Condition("q0", 0, "J10", "");  // no usable date: quarantined
    b += Condition("q1", 1, "J10", "");
    Write(base_ + "/patients.ndjson", patients);
    Write(base_ + "/a.ndjson", a);
    Write(base_ + "/b.ndjson", b);
    Write(base_ + "/t2d.json",
          R"({"title":"t2d","codesets":{"t2d":[{"system":"icd10","code":"E11"}]},)"
          R"("entry":{"domain":"condition","codeset":"t2d"}})");
    ASSERT_EQ(P4dp("init " + data_ + Key()).exit_code, 0);
    // Three runs, so that three segments hold rows of each patient.
    Ingest("patients.ndjson");
    Ingest("a.ndjson");
    Ingest("b.ndjson");
  }
  std::string Key() const { return " --key-file " + key_file_; }
  nlohmann::json Ingest(const std::string& files) {
    std::string paths;
    for (size_t at = 0, next; at < files.size(); at = next + 1) {
      next = files.find(' ', at);
      if (next == std::string::npos) next = files.size();
      paths += " " + base_ + "/" + files.substr(at, next - at);
    }
    return Json(P4dp("ingest " + data_ + paths + Key() + " --quiet"));
  }
  nlohmann::json Stats() { return Json(P4dp("stats " + data_ + Key())); }
  int64_t T2dCount() {
    return Json(P4dp("count " + data_ + " " + base_ + "/t2d.json --min-cell 1" + Key()))["count"]
        .get<int64_t>();
  }
  domain::PatientKey PatientKeyOf(int i) {
    auto w = store::Warehouse::Open(RealFileSystem(), data_, master_);
    EXPECT_TRUE(w.ok());
    return ingest::Pseudonymiser((*w)->pseudonym_key()).FromNir(Nir(i));
  }
  std::string base_, data_, key_file_;
  crypto::Key master_;
};

// Every decoded row of every live segment, the index, and every byte of every file.
void ExpectNowhere(const std::string& data, const crypto::Key& master,
                   const domain::PatientKey& key, const std::string& nir) {
  {
    auto w = store::Warehouse::Open(RealFileSystem(), data, master);
    ASSERT_TRUE(w.ok());
    EXPECT_TRUE((*w)->Read([&](const store::Index& index, const store::Catalog&) {
                      EXPECT_FALSE(index.Find(key).has_value());
                    })
                    .ok());
  }
  auto catalog = store::Catalog::Open(data + "/catalog.db");
  ASSERT_TRUE(catalog.ok());
  crypto::Key data_key =
      *crypto::UnwrapKey(master, **(*catalog)->GetMeta("wrapped_data_key"), "data");
  crypto::Key segment_key = crypto::DeriveKey(data_key, crypto::KeyPurpose::kSegments);
  size_t events = 0;
  auto live = (*catalog)->LiveSegments();
  ASSERT_TRUE(live.ok());
  for (const store::SegmentRow& row : *live) {
    auto batch = store::ReadSegment(RealFileSystem(), data + "/" + row.file, row.id, segment_key);
    ASSERT_TRUE(batch.ok()) << batch.status().ToString();
    for (const auto& p : batch->patients) EXPECT_NE(p.key, key) << row.file;
    for (const auto& r : batch->resources) EXPECT_NE(r.patient, key) << row.file;
    for (const auto& e : batch->events) EXPECT_NE(e.patient, key) << row.file;
    events += batch->events.size();
  }
  EXPECT_GT(events, 0u);
  catalog->reset();
  std::string raw(reinterpret_cast<const char*>(key.bytes.data()), key.bytes.size());
  for (const auto& entry : std::filesystem::recursive_directory_iterator(data)) {
    if (!entry.is_regular_file()) continue;
    std::string bytes = *RealFileSystem().ReadFile(entry.path().string());
    EXPECT_EQ(bytes.find(raw), std::string::npos) << entry.path() << " holds the key";
    EXPECT_EQ(bytes.find(key.ToHex()), std::string::npos) << entry.path();
    EXPECT_EQ(bytes.find(nir), std::string::npos) << entry.path() << " holds the NIR";
  }
}

TEST_F(RightsCli, OptoutErasesThePatientAndRefusesTheirRecords) {
  nlohmann::json before = Stats();
  ASSERT_EQ(before["patients"], 5);
  int64_t events_before = before["events"].get<int64_t>();
  int64_t quarantined_before = before["quarantined_by_reason"]["no_usable_date"].get<int64_t>();
  ASSERT_EQ(quarantined_before, 2);
  ASSERT_EQ(T2dCount(), 2);
  domain::PatientKey key = PatientKeyOf(0);
  // The key is there before (so the search below can find it).
  {
    auto w = store::Warehouse::Open(RealFileSystem(), data_, master_);
    ASSERT_TRUE((*w)->Read([&](const store::Index& index, const store::Catalog&) {
                      EXPECT_TRUE(index.Find(key).has_value());
                    })
                    .ok());
  }

  nlohmann::json done = Json(P4dp("optout " + data_ + " --nir '" + Nir(0).substr(0, 1) + " " +
                                  Nir(0).substr(1) + "'" + Key()));
  EXPECT_EQ(done["erasure"], "complete");
  EXPECT_EQ(done["erased_now"]["segments_rewritten"].get<int64_t>(), 3);
  EXPECT_EQ(done["erased_now"]["quarantined_erased"], 1);
  EXPECT_EQ(P4dp("optout " + data_ + " --status --nir " + Nir(0) + Key()).out.find("complete") !=
                std::string::npos,
            true);
  nlohmann::json after = Stats();
  EXPECT_EQ(after["patients"], 4);
  EXPECT_EQ(after["events"].get<int64_t>(), events_before - 3);  // J10, E11, I10
  EXPECT_EQ(after["quarantined_by_reason"]["no_usable_date"], 1);
  EXPECT_EQ(T2dCount(), 1);
  ExpectNowhere(data_, master_, key, Nir(0));

  // Everything again: the patient's four records are refused, nothing else changes.
  nlohmann::json again0 = Ingest("patients.ndjson");
  nlohmann::json again1 = Ingest("a.ndjson");
  nlohmann::json again2 = Ingest("b.ndjson");
  EXPECT_EQ(again0["refused_by_reason"]["opted_out"], 1);  // the Patient
  EXPECT_EQ(again1["refused_by_reason"]["opted_out"], 2);  // J10, E11
  EXPECT_EQ(again2["refused_by_reason"]["opted_out"], 2);  // I10 and the undated one
  for (const auto* j : {&again0, &again1, &again2}) {
    EXPECT_EQ((*j)["accepted"], 0);
    EXPECT_EQ((*j)["rejected_by_reason"].value("unresolvable_subject", 0), 0);
  }
  EXPECT_EQ(again2["rejected_by_reason"]["no_usable_date"], 1);  // patient 1's only
  nlohmann::json last = Stats();
  EXPECT_EQ(last["patients"], 4);
  EXPECT_EQ(last["events"], after["events"]);
  EXPECT_EQ(last["quarantined_by_reason"], after["quarantined_by_reason"]);
  EXPECT_EQ(T2dCount(), 1);
  ExpectNowhere(data_, master_, key, Nir(0));
  // Nothing printed names the patient.
  EXPECT_EQ(done.dump().find(Nir(0)), std::string::npos);
  EXPECT_EQ(done.dump().find(key.ToHex()), std::string::npos);
}

TEST_F(RightsCli, OptoutBySourceAndLocalIdAndDeferredErasure) {
  nlohmann::json rec =
      Json(P4dp("optout " + data_ + " --source default --id p1 --no-erase" + Key()));
  EXPECT_EQ(rec["erasure"], "pending");
  EXPECT_EQ(Stats()["patients"], 4);  // hidden at once
  EXPECT_EQ(T2dCount(), 1);
  nlohmann::json status = Json(P4dp("optout " + data_ + " --status" + Key()));
  EXPECT_EQ(status["pending"], 1);
  nlohmann::json purge = Json(P4dp("purge " + data_ + Key()));
  EXPECT_EQ(purge["events_purged"], 0);  // nothing is 20 years old
  EXPECT_EQ(Json(P4dp("optout " + data_ + " --status" + Key()))["pending"], 0);
  ExpectNowhere(data_, master_, PatientKeyOf(1), Nir(1));
  // Retention: with a limit of 1 year from 2023-06-15, the events before 2022-06-15 go.
  nlohmann::json old =
      Json(P4dp("purge " + data_ + " --retention-years 1 --today 2023-06-15" + Key()));
  EXPECT_EQ(old["purged_before"], "2022-06-15");
  EXPECT_EQ(old["events_purged"], 1);  // patient 0's E11 of 2022 (patient 1's went with them)
  EXPECT_EQ(T2dCount(), 0);
}

TEST_F(RightsCli, BackupVerifyRestoreAndRotate) {
  std::string file = base_ + "/data.p4dpbak";
  ASSERT_EQ(P4dp("backup " + data_ + " " + file + Key()).exit_code, 0);
  // The source's trail as the backup took it: every entry before the backup's own.
  std::vector<std::string> trail = AuditLines(data_);
  ASSERT_GE(trail.size(), 3u);
  ASSERT_NE(trail.back().find("\"p4dp backup\""), std::string::npos) << trail.back();
  trail.pop_back();
  nlohmann::json verified = Json(P4dp("verify " + file + " --warehouse " + data_ + Key()));
  EXPECT_EQ(verified["verified"], true);
  EXPECT_EQ(verified["format_version"], 2);
  EXPECT_EQ(verified["access_catalog"], true);
  EXPECT_EQ(verified["audit_trail"],
            "audit: OK, " + std::to_string(trail.size()) + " entries verified");
  // The trail a backup carries is verified too: a head naming entries the trail lacks (as
  // if they were cut off) fails verify.
  Write(data_ + "/audit.head", "9999 " + std::string(64, 'a') + "\n");
  ASSERT_EQ(P4dp("backup " + data_ + " " + base_ + "/cut.p4dpbak" + Key()).exit_code, 0);
  Outcome cut = P4dp("verify " + base_ + "/cut.p4dpbak --warehouse " + data_ + Key() + " 2>&1");
  EXPECT_EQ(cut.exit_code, 1);
  EXPECT_NE(cut.out.find("the audit trail it carries: audit: chain broken at entry"),
            std::string::npos)
      << cut.out;
  // A backup FILE has no trail of its own: verify names the warehouse that records it.
  EXPECT_EQ(P4dp("verify " + file + Key() + " 2>/dev/null").exit_code, 2);
  // An objection after the backup, re-applied at restore from the source.
  Json(P4dp("optout " + data_ + " --nir " + Nir(3) + Key()));
  nlohmann::json restored =
      Json(P4dp("restore " + file + " " + base_ + "/copy --objections-from " + data_ + Key()));
  EXPECT_EQ(restored["objections_applied"], 1);
  EXPECT_EQ(restored["audit_trail"], true);
  // The restored trail is the source's up to the backup, then the restore itself; its
  // chain verifies.
  std::vector<std::string> copied = AuditLines(base_ + "/copy");
  ASSERT_EQ(copied.size(), trail.size() + 1) << "the trail, then the restore";
  for (size_t i = 0; i < trail.size(); ++i) EXPECT_EQ(copied[i], trail[i]) << i;
  EXPECT_NE(copied[trail.size()].find("\"p4dp restore\""), std::string::npos);
  Outcome chain = P4dp("audit verify " + base_ + "/copy" + Key());
  EXPECT_EQ(chain.exit_code, 0) << chain.out;
  EXPECT_NE(chain.out.find("audit: OK"), std::string::npos) << chain.out;
  nlohmann::json copy = Json(P4dp("stats " + base_ + "/copy" + Key()));
  nlohmann::json source = Stats();
  EXPECT_EQ(copy["patients"], source["patients"]);
  EXPECT_EQ(copy["events"], source["events"]);
  ExpectNowhere(base_ + "/copy", master_, PatientKeyOf(3), Nir(3));
  // A flipped byte: verify and restore refuse it.
  std::string bytes = *RealFileSystem().ReadFile(file);
  bytes[bytes.size() / 2] ^= 0x10;
  Write(base_ + "/bad.p4dpbak", bytes);
  EXPECT_EQ(P4dp("verify " + base_ + "/bad.p4dpbak --warehouse " + data_ + Key() + " 2>/dev/null")
                .exit_code,
            1);
  EXPECT_EQ(P4dp("restore " + base_ + "/bad.p4dpbak " + base_ + "/bad" + Key() + " 2>/dev/null")
                .exit_code,
            1);
  EXPECT_FALSE(std::filesystem::exists(base_ + "/bad"));
  // Rotation: the new key opens, the old does not.
  std::string new_key = base_ + "/new.key";
  ASSERT_EQ(P4dp("keys rotate " + data_ + Key() + " --new-key-file " + new_key + " 2>/dev/null")
                .exit_code,
            0);
  EXPECT_EQ(P4dp("stats " + data_ + Key() + " 2>/dev/null").exit_code, 1);
  EXPECT_EQ(Json(P4dp("stats " + data_ + " --key-file " + new_key))["patients"],
            source["patients"]);
}

// A backup taken by another process while `p4dp ingest` runs: it verifies, restores, and is
// one committed point (re-ingesting the same input into the copy completes it to exactly the
// source's final state: no half batch, no missing segment).
TEST(RightsCliConcurrent, BackupWhileAnotherProcessIngests) {
  std::string base = std::string(P4DP_BINARY_DIR) + "/test-tmp/rights_cli_concurrent";
  std::filesystem::remove_all(base);
  std::filesystem::create_directories(base);
  std::string key = " --key-file " + base + "/master.key";
  ASSERT_TRUE(crypto::WriteKeyFile(base + "/master.key", crypto::Key::Random()).ok());
  ASSERT_EQ(P4dp("synth --patients 1500 --seed 11 --out " + base + "/fhir 2>/dev/null").exit_code,
            0);
  ASSERT_EQ(P4dp("init " + base + "/data" + key).exit_code, 0);
  // Small batches: many commits, each a possible backup point.
  std::string ingest = std::string(P4DP_BINARY_DIR) + "/src/cli/p4dp ingest " + base + "/data " +
                       base + "/fhir" + key + " --quiet --batch-resources 300 > " + base +
                       "/ingest.json 2>&1; echo $? > " + base + "/ingest.rc";
  std::thread ingester([&] { (void)std::system(ingest.c_str()); });
  // Wait for the first committed batches, then back up while the ingest goes on.
  for (int i = 0; i < 2000; ++i) {
    auto rows = store::Catalog::Open(base + "/data/catalog.db");
    if (rows.ok()) {
      auto live = (*rows)->LiveSegments();
      if (live.ok() && live->size() >= 3) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Outcome backup = P4dp("backup " + base + "/data " + base + "/b.p4dpbak" + key);
  ingester.join();
  ASSERT_EQ(backup.exit_code, 0) << backup.out;
  ASSERT_EQ(*RealFileSystem().ReadFile(base + "/ingest.rc"), "0\n");
  EXPECT_EQ(
      Json(P4dp("verify " + base + "/b.p4dpbak --warehouse " + base + "/data" + key))["verified"],
      true);
  ASSERT_EQ(P4dp("restore " + base + "/b.p4dpbak " + base + "/copy" + key).exit_code, 0);
  EXPECT_EQ(P4dp("verify " + base + "/copy" + key).exit_code, 0);
  nlohmann::json source = Json(P4dp("stats " + base + "/data" + key));
  nlohmann::json copy = Json(P4dp("stats " + base + "/copy" + key));
  std::printf("backup point: %lld of %lld events\n",
              static_cast<long long>(copy["events"].get<int64_t>()),
              static_cast<long long>(source["events"].get<int64_t>()));
  EXPECT_GT(copy["events"].get<int64_t>(), 0);
  EXPECT_LT(copy["events"].get<int64_t>(), source["events"].get<int64_t>())
      << "the backup did not overlap the ingest";
  Json(P4dp("ingest " + base + "/copy " + base + "/fhir" + key + " --quiet"));
  nlohmann::json completed = Json(P4dp("stats " + base + "/copy" + key));
  for (const char* field : {"patients", "patients_with_events", "resources", "events",
                            "events_by_domain", "quarantined_by_reason"}) {
    EXPECT_EQ(completed[field], source[field]) << field;
  }
}

}  // namespace
}  // namespace p4dp
