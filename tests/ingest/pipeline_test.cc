// Must show 1-5 of the ingestion issue, end to end through the real `p4dp` binary and the
// library: foreign data (Synthea) all stored or quarantined with the summary adding up;
// nothing identifying anywhere under DATA; re-ingestion and ingest order change nothing;
// SIGKILL at random points then re-ingestion gives exactly the uninterrupted content; a
// flipped byte is named by `p4dp verify`. Wrong-key and fault-injection cases are in
// tests/store/store_test.cc.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "base/file_system.h"
#include "crypto/keys.h"
#include "crypto/totp.h"
#include "store/warehouse.h"

namespace p4dp {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string Bin() { return std::string(P4DP_BINARY_DIR) + "/src/cli/p4dp"; }
std::string Shared() { return std::string(P4DP_SOURCE_DIR) + "/../shared/data"; }

std::string TempDir(const std::string& name) {
  std::string dir = std::string(P4DP_BINARY_DIR) + "/test-tmp/pipeline_" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

struct Outcome {
  int exit_code = -1;
  std::string out;
};

Outcome P4dp(const std::string& args) {
  Outcome o;
  FILE* pipe = popen((Bin() + " " + args + " 2>&1").c_str(), "r");
  if (!pipe) return o;
  std::array<char, 65536> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) o.out.append(buf.data(), n);
  int status = pclose(pipe);
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

// The last line of the output that parses as a JSON object.
json LastJson(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  json last;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != '{') continue;
    json j = json::parse(line, nullptr, false);
    if (!j.is_discarded()) last = j;
  }
  return last;
}

// Every patient's row and events, in a canonical text: the content of a warehouse.
std::string Dump(const std::string& data, const std::string& key_file) {
  auto key = crypto::ReadKeyFile(key_file);
  EXPECT_TRUE(key.ok());
  auto w = store::Warehouse::Open(RealFileSystem(), data, *key);
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  if (!w.ok()) return "";
  std::vector<std::string> patients;
  Status read = (*w)->Read([&](const store::Index& index, const store::Catalog& catalog) {
    for (domain::PatientIndex p = 0; p < index.patient_count(); ++p) {
      const store::IndexPatient& patient = index.patient(p);
      std::ostringstream s;
      s << patient.key.ToHex();
      if (patient.row) {
        s << " sex=" << static_cast<int>(patient.row->sex) << " born=" << patient.row->birth_year
          << "-" << static_cast<int>(patient.row->birth_month)
          << " dep=" << patient.row->departement << " death=" << patient.row->death
          << " regs=" << patient.row->registrations.size();
      }
      s << "\n";
      for (const store::IndexEvent& e : index.Events(p)) {
        s << "  " << e.date << " " << domain::DomainName(e.domain) << " end=" << e.end_date;
        for (uint32_t c : e.codes) {
          s << " " << catalog.codes()[c].system << ":" << catalog.codes()[c].code;
        }
        if (!std::isnan(e.value)) s << " v=" << e.value << catalog.units()[e.unit];
        s << "\n";
      }
      patients.push_back(s.str());
    }
  });
  EXPECT_TRUE(read.ok()) << read.ToString();
  std::sort(patients.begin(), patients.end());
  std::string all;
  for (const auto& p : patients) all += p;
  return all;
}

// A fresh warehouse in DIR/data with its key in DIR/key (shared key file `key` if given).
std::string Init(const std::string& dir, const std::string& key = "") {
  std::string key_file = key.empty() ? dir + "/key" : key;
  Outcome o = P4dp("init " + dir + "/data --key-file " + key_file);
  EXPECT_EQ(o.exit_code, 0) << o.out;
  return key_file;
}

// A synthetic population of `patients` (seed `seed`) in DIR/in, ingested into a fresh
// warehouse in DIR/data; returns its key file.
std::string SynthesiseAndIngest(const std::string& dir, int patients, int seed) {
  EXPECT_EQ(P4dp("synth --quiet --patients " + std::to_string(patients) + " --seed " +
                 std::to_string(seed) + " --out " + dir + "/in")
                .exit_code,
            0);
  std::string key = Init(dir);
  EXPECT_EQ(P4dp("ingest " + dir + "/data " + dir + "/in --key-file " + key + " --quiet").exit_code,
            0);
  return key;
}

TEST(Ingest, ForeignSyntheaDataIsStoredOrQuarantinedAndTheSummaryAddsUp) {
  std::string dir = TempDir("synthea");
  std::string key = Init(dir);
  Outcome o = P4dp("ingest " + dir + "/data " + Shared() + "/fhir --key-file " + key +
                   " --source synthea --quiet");
  ASSERT_EQ(o.exit_code, 0) << o.out;
  json s = LastJson(o.out);
  ASSERT_TRUE(s.is_object()) << o.out;
  std::printf("Synthea summary: %s\n", s.dump().c_str());
  int64_t skipped = 0, rejected = 0;
  for (const auto& [type, n] : s["skipped_by_type"].items()) skipped += n.get<int64_t>();
  for (const auto& [reason, n] : s["rejected_by_reason"].items()) rejected += n.get<int64_t>();
  EXPECT_EQ(rejected, s["rejected"].get<int64_t>());
  int64_t accounted = s["accepted"].get<int64_t>() + s["replaced"].get<int64_t>() +
                      s["duplicates"].get<int64_t>() + s["outdated"].get<int64_t>() +
                      s["removed"].get<int64_t>() + rejected + skipped +
                      s["practices"].get<int64_t>() + s["medications"].get<int64_t>();
  EXPECT_EQ(accounted, s["records"].get<int64_t>()) << "every record stored, set aside or counted";
  EXPECT_GT(s["accepted"].get<int64_t>(), 10'000);
  EXPECT_GT(s["skipped_by_type"]["DocumentReference"].get<int64_t>(), 0);
  Outcome stats = P4dp("stats " + dir + "/data --key-file " + key);
  ASSERT_EQ(stats.exit_code, 0) << stats.out;
  json st = json::parse(stats.out.substr(stats.out.find('{')));
  // One patient per Bundle holding a Patient, and one per line of the bulk Patient file.
  int64_t patients = 0;
  for (const auto& e : fs::directory_iterator(Shared() + "/fhir/synthea-bundles")) {
    std::ifstream f(e.path());
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    patients += text.find("\"resourceType\": \"Patient\"") != std::string::npos;
  }
  std::ifstream bulk(Shared() + "/fhir/synthea-bulk-10/Patient.000.ndjson");
  for (std::string line; std::getline(bulk, line);) patients += !line.empty();
  EXPECT_EQ(st["patients"].get<int64_t>(), patients);
  EXPECT_GT(st["events_by_domain"]["death"].get<int64_t>(), 0);
  EXPECT_GT(st["events_by_domain"]["condition"].get<int64_t>(), 100);
  EXPECT_GT(st["events_by_domain"]["drug"].get<int64_t>(), 100);
  EXPECT_GT(st["events_by_domain"]["immunization"].get<int64_t>(), 10);
  // The memory of the loaded index and of the version map are reported.
  EXPECT_GT(st["index_bytes"].get<int64_t>(), 16 * st["events"].get<int64_t>());
  EXPECT_GT(st["version_map_bytes"].get<int64_t>(), 8 * st["resources"].get<int64_t>());
}

// Values from the synthetic input that must never reach any byte under DATA.
std::set<std::string> IdentifyingValues(const std::string& synth_dir) {
  std::set<std::string> values;
  std::ifstream in(synth_dir + "/Patient.ndjson");
  std::string line;
  while (std::getline(in, line)) {
    json p = json::parse(line);
    values.insert(p["birthDate"].get<std::string>());
    values.insert(p["telecom"][0]["value"].get<std::string>());
    for (const auto& id : p["identifier"]) {
      std::string v = id["value"];
      if (v.size() == 15) values.insert(v);  // the NIR
    }
    for (const auto& a : p["address"]) values.insert(a["line"][0].get<std::string>());
    std::string family = p["name"][0]["family"], given = p["name"][0]["given"][0];
    values.insert(given + " " + family);
    if (family.size() >= 6) values.insert(family);
  }
  return values;
}

TEST(Ingest, NothingIdentifyingReachesAnyFileUnderData) {
  std::string dir = TempDir("privacy");
  ASSERT_EQ(
      P4dp("synth --quiet --patients 300 --seed 21 --defects 0.02 --out " + dir + "/in").exit_code,
      0);
  std::string key = Init(dir);
  Outcome o = P4dp("ingest " + dir + "/data " + dir + "/in --key-file " + key + " --quiet");
  ASSERT_EQ(o.exit_code, 0) << o.out;
  json s = LastJson(o.out);
  EXPECT_GT(s["rejected"].get<int64_t>(), 50) << "defects go to the quarantine";
  std::set<std::string> values = IdentifyingValues(dir + "/in");
  ASSERT_GT(values.size(), 1000u);
  int64_t files = 0, bytes = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir + "/data")) {
    if (!entry.is_regular_file()) continue;
    ++files;
    std::ifstream f(entry.path(), std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    bytes += static_cast<int64_t>(content.size());
    for (const std::string& v : values) {
      EXPECT_EQ(content.find(v), std::string::npos)
          << "'" << v << "' found in " << entry.path().string();
    }
  }
  EXPECT_GE(files, 2);
  EXPECT_GT(bytes, 10'000);
  // The quarantine holds the records, decryptable with the key, and stripped.
  Outcome q = P4dp("quarantine " + dir + "/data --key-file " + key + " --show 20");
  ASSERT_EQ(q.exit_code, 0) << q.out;
  json qj = json::parse(q.out.substr(q.out.find('{')));
  EXPECT_EQ(qj["total"].get<int64_t>(), s["rejected"].get<int64_t>());
  ASSERT_EQ(qj["records"].size(), 20u);
  for (const auto& r : qj["records"]) {
    EXPECT_TRUE(r.contains("file") && r.contains("line") && r.contains("reason")) << r.dump();
  }
}

TEST(Ingest, ReingestionAndIngestOrderChangeNothing) {
  std::string dir = TempDir("order");
  ASSERT_EQ(P4dp("synth --quiet --patients 400 --seed 5 --out " + dir + "/in").exit_code, 0);
  std::string key = dir + "/shared.key";
  ASSERT_TRUE(crypto::WriteNewKeyFile(key).ok());
  // A: everything at once, twice.
  fs::create_directories(dir + "/a");
  Init(dir + "/a", key);
  Outcome first = P4dp("ingest " + dir + "/a/data " + dir + "/in --key-file " + key + " --quiet");
  ASSERT_EQ(first.exit_code, 0) << first.out;
  std::string dump_a = Dump(dir + "/a/data", key);
  Outcome again = P4dp("ingest " + dir + "/a/data " + dir + "/in --key-file " + key + " --quiet");
  ASSERT_EQ(again.exit_code, 0) << again.out;
  json s = LastJson(again.out);
  EXPECT_EQ(s["accepted"].get<int64_t>(), 0);
  EXPECT_EQ(s["replaced"].get<int64_t>(), 0);
  EXPECT_EQ(s["duplicates"].get<int64_t>(), LastJson(first.out)["accepted"].get<int64_t>());
  EXPECT_EQ(Dump(dir + "/a/data", key), dump_a) << "re-ingestion changed the content";
  // B: file by file in reverse order, in small batches (clinical files before Patient: each
  // run after the Patient file resolves what the earlier ones could not).
  fs::create_directories(dir + "/b");
  Init(dir + "/b", key);
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir + "/in")) {
    if (e.path().extension() == ".ndjson") files.push_back(e.path().string());
  }
  std::sort(files.rbegin(), files.rend());
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& f : files) {
      Outcome o = P4dp("ingest " + dir + "/b/data " + f + " --key-file " + key +
                       " --quiet --batch-resources 997");
      ASSERT_EQ(o.exit_code, 0) << o.out;
    }
  }
  EXPECT_EQ(Dump(dir + "/b/data", key), dump_a) << "file order changed the content";
  EXPECT_GT(dump_a.size(), 10'000u);
}

TEST(Ingest, KilledAtRandomPointsThenReingestedGivesTheUninterruptedContent) {
  std::string dir = TempDir("crash");
  ASSERT_EQ(P4dp("synth --quiet --patients 2000 --seed 9 --out " + dir + "/in").exit_code, 0);
  std::string key = dir + "/shared.key";
  ASSERT_TRUE(crypto::WriteNewKeyFile(key).ok());
  fs::create_directories(dir + "/clean");
  Init(dir + "/clean", key);
  auto clean_start = std::chrono::steady_clock::now();
  ASSERT_EQ(P4dp("ingest " + dir + "/clean/data " + dir + "/in --key-file " + key +
                 " --batch-resources 20000 --quiet")
                .exit_code,
            0);
  // Kill points fall within the length of an uninterrupted run (which gets shorter as the
  // ingestion gets faster), in batches small enough to give many publications.
  auto clean_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - clean_start)
                      .count();
  auto window_ms = static_cast<uint32_t>(std::max<int64_t>(100, clean_ms * 9 / 10));
  std::string expected = Dump(dir + "/clean/data", key);
  fs::create_directories(dir + "/killed");
  Init(dir + "/killed", key);
  std::mt19937 rng(20261128);
  int kills = 0;
  for (int round = 0; round < 12; ++round) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      dup2(null, 2);
      std::string data = dir + "/killed/data", in = dir + "/in";
      execl(Bin().c_str(), "p4dp", "ingest", data.c_str(), in.c_str(), "--key-file", key.c_str(),
            "--batch-resources", "20000", "--quiet", static_cast<char*>(nullptr));
      _exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % window_ms));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    // Killed while running (not after it had exited by itself).
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ++kills;
    // Between crashes the warehouse must open and verify.
    Outcome v = P4dp("verify " + dir + "/killed/data --key-file " + key);
    EXPECT_EQ(v.exit_code, 0) << "round " << round << ": " << v.out;
  }
  std::printf("%d of 12 runs killed mid-ingest (uninterrupted run: %lld ms)\n", kills,
              static_cast<long long>(clean_ms));
  EXPECT_GT(kills, 5);
  Outcome last =
      P4dp("ingest " + dir + "/killed/data " + dir + "/in --key-file " + key + " --quiet");
  ASSERT_EQ(last.exit_code, 0) << last.out;
  EXPECT_EQ(Dump(dir + "/killed/data", key), expected);
}

TEST(Ingest, VerifyNamesTheSegmentAndBlockOfAFlippedByte) {
  std::string dir = TempDir("verify");
  std::string key = SynthesiseAndIngest(dir, 200, 3);
  Outcome ok = P4dp("verify " + dir + "/data --key-file " + key);
  ASSERT_EQ(ok.exit_code, 0) << ok.out;
  std::string segment;
  for (const auto& e : fs::directory_iterator(dir + "/data/segments")) segment = e.path();
  ASSERT_FALSE(segment.empty());
  std::string bytes = *RealFileSystem().ReadFile(segment);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x10);
  ASSERT_TRUE(WriteFileAtomically(RealFileSystem(), segment, bytes).ok());
  Outcome bad = P4dp("verify " + dir + "/data --key-file " + key);
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.out.find(fs::path(segment).filename().string()), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("block "), std::string::npos) << bad.out;
  // Reading (stats opens the warehouse and loads the index) fails instead of lying.
  Outcome stats = P4dp("stats " + dir + "/data --key-file " + key);
  EXPECT_NE(stats.exit_code, 0) << stats.out;
  EXPECT_NE(stats.out.find("corruption"), std::string::npos) << stats.out;
}

std::string Curl(const std::string& args) {
  std::string out;
  FILE* pipe = popen(("curl -s --max-time 60 " + args).c_str(), "r");
  if (!pipe) return out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  pclose(pipe);
  return out;
}

TEST(Ingest, LivePushIsAnsweredWhenDurableAndVisibleAtOnce) {
  std::string dir = TempDir("push");
  ASSERT_EQ(P4dp("synth --quiet --patients 60 --seed 4 --out " + dir + "/in").exit_code, 0);
  std::string key = Init(dir);
  // The server needs a session: an admin and data manager (TOTP), researcher of project "push".
  std::string data_dir = dir + "/data";
  std::ofstream(dir + "/pw") << "pusher-password\n";
  Outcome user =
      P4dp("user add " + data_dir + " pusher --role admin --role data_manager --role researcher " +
           "--password-stdin --key-file " + key + " < " + dir + "/pw");
  ASSERT_EQ(user.exit_code, 0) << user.out;
  const std::string as = " --key-file " + key + " --user pusher";
  ASSERT_EQ(P4dp("project create " + data_dir + " push --title t --min-cell 1" + as).exit_code, 0);
  ASSERT_EQ(P4dp("project add-member " + data_dir + " push pusher" + as).exit_code, 0);
  auto secret = crypto::TotpSecretFromUri(LastJson(user.out)["totp_uri"].get<std::string>());
  ASSERT_TRUE(secret.ok());
  int out_pipe[2];
  ASSERT_EQ(pipe(out_pipe), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    close(out_pipe[0]);
    std::string data = dir + "/data";
    execl(Bin().c_str(), "p4dp", "serve", data.c_str(), "--key-file", key.c_str(), "--port", "0",
          "--user", "pusher", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out_pipe[1]);
  // "p4dp: serving DATA on http://127.0.0.1:PORT/"
  std::string line;
  char c;
  while (read(out_pipe[0], &c, 1) == 1 && c != '\n') line += c;
  size_t at = line.find("http://");
  ASSERT_NE(at, std::string::npos) << line;
  std::string url = line.substr(at);
  while (!url.empty() && url.back() == '/') url.pop_back();
  auto code = crypto::TotpCode(*secret, time(nullptr));
  ASSERT_TRUE(code.ok());
  json login = json::parse(Curl("-X POST --data-binary '{\"user\":\"pusher\",\"password\":"
                                "\"pusher-password\",\"totp\":\"" +
                                *code + "\"}' " + url + "/api/login"),
                           nullptr, false);
  ASSERT_TRUE(login.contains("token")) << login.dump();
  const std::string auth = "-H 'Authorization: Bearer " + login["token"].get<std::string>() + "' ";
  json before = json::parse(Curl(auth + "'" + url + "/api/stats?project=push'"), nullptr, false);
  ASSERT_TRUE(before.is_object());
  EXPECT_EQ(before["events"].get<int64_t>(), 0);
  // Patients first, then their conditions: each answer comes once the records are durable.
  json patients = json::parse(Curl(auth +
                                   "-X POST -H 'Content-Type: application/x-ndjson' "
                                   "--data-binary @" +
                                   dir + "/in/Patient.ndjson " + url + "/api/ingest"),
                              nullptr, false);
  ASSERT_TRUE(patients.is_object());
  EXPECT_EQ(patients["accepted"].get<int64_t>(), 60);
  json conditions = json::parse(Curl(auth +
                                     "-X POST -H 'Content-Type: application/x-ndjson' "
                                     "--data-binary @" +
                                     dir + "/in/Condition.ndjson " + url + "/api/ingest"),
                                nullptr, false);
  ASSERT_TRUE(conditions.is_object());
  int64_t added = conditions["events_by_domain"]["condition"].get<int64_t>();
  EXPECT_GT(added, 100);
  json after = json::parse(Curl(auth + "'" + url + "/api/stats?project=push'"), nullptr, false);
  EXPECT_EQ(after["events_by_domain"]["condition"].get<int64_t>(), added)
      << "pushed records are visible at once";
  json empty =
      json::parse(Curl(auth + "-X POST --data-binary '' " + url + "/api/ingest"), nullptr, false);
  EXPECT_TRUE(empty.contains("error"));
  // Cohort counts on the server: the same answer as `p4dp count` below; a bad definition
  // is refused with its path.
  std::ofstream(dir + "/cohort.json") << R"({"entry": {"domain": "condition"}})";
  json counted = json::parse(Curl(auth + "-X POST --data-binary @" + dir + "/cohort.json '" + url +
                                  "/api/cohorts/count?min_cell=1&project=push'"),
                             nullptr, false);
  ASSERT_TRUE(counted.is_object());
  EXPECT_GT(counted["count"].get<int64_t>(), 0);
  json refused =
      json::parse(Curl(auth + "-X POST --data-binary '{\"entry\": {\"domain\": " + "\"labs\"}}' '" +
                       url + "/api/cohorts/count?project=push'"),
                  nullptr, false);
  EXPECT_NE(refused.value("error", "").find("entry.domain"), std::string::npos) << refused.dump();
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  close(out_pipe[0]);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // Durable: a new process sees them.
  Outcome stats = P4dp("stats " + dir + "/data --project push" + as);
  ASSERT_EQ(stats.exit_code, 0) << stats.out;
  json st = json::parse(stats.out.substr(stats.out.find('{')));
  EXPECT_EQ(st["events_by_domain"]["condition"].get<int64_t>(), added);
  Outcome count =
      P4dp("count " + dir + "/data " + dir + "/cohort.json --min-cell 1 --project push" + as);
  ASSERT_EQ(count.exit_code, 0) << count.out;
  EXPECT_EQ(LastJson(count.out)["count"], counted["count"]);
}

TEST(Ingest, WrongKeyIsRefusedByTheCommands) {
  std::string dir = TempDir("wrongkey");
  Init(dir);
  std::string other = dir + "/other.key";
  ASSERT_TRUE(crypto::WriteNewKeyFile(other).ok());
  Outcome o = P4dp("stats " + dir + "/data --key-file " + other);
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.out.find("wrong master key"), std::string::npos) << o.out;
}

}  // namespace
}  // namespace p4dp

namespace p4dp {
namespace {

// `p4dp count` end to end: a definition runs on ingested synthetic data and gives the count
// found by walking the index directly; the patient list has that many keys; a bad
// definition exits 1 naming its path and runs nothing.
TEST(Count, RunsOnIngestedDataAndRefusesABadDefinition) {
  std::string dir = TempDir("count");
  std::string key = SynthesiseAndIngest(dir, 300, 4);
  // Women with a condition, counted straight from the index.
  int64_t expected = 0;
  {
    auto k = crypto::ReadKeyFile(key);
    ASSERT_TRUE(k.ok());
    auto w = store::Warehouse::Open(RealFileSystem(), dir + "/data", *k);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Read([&](const store::Index& index, const store::Catalog&) {
                      for (domain::PatientIndex p = 0; p < index.patient_count(); ++p) {
                        const auto& patient = index.patient(p);
                        bool condition = false;
                        for (const auto& e : index.Events(p)) {
                          condition = condition || e.domain == domain::Domain::kCondition;
                        }
                        if (condition && patient.row && patient.row->sex == domain::Sex::kFemale) {
                          ++expected;
                        }
                      }
                    })
                    .ok());
  }
  ASSERT_GE(expected, 10);
  std::ofstream(dir + "/women.json")
      << R"({"title": "women with a condition", "entry": {"domain": "condition"},
            "inclusion": [{"name": "women", "sex": "female"}]})";
  Outcome o = P4dp("count " + dir + "/data " + dir + "/women.json --patients --key-file " + key);
  ASSERT_EQ(o.exit_code, 0) << o.out;
  json result = LastJson(o.out);
  EXPECT_EQ(result["count"].get<int64_t>(), expected) << o.out;
  EXPECT_EQ(result["attrition"].size(), 2u);
  EXPECT_EQ(result["attrition"][1]["name"], "women");
  EXPECT_EQ(static_cast<int64_t>(result["patients"].size()), expected);
  EXPECT_EQ(result["patients"][0]["key"].get<std::string>().size(), 64u);

  std::ofstream(dir + "/bad.json") << R"({"entry": {}, "inclusion": [{"sex": "F"}]})";
  Outcome bad = P4dp("count " + dir + "/data " + dir + "/bad.json --key-file " + key);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("inclusion[0].sex"), std::string::npos) << bad.out;
  Outcome missing = P4dp("count " + dir + "/data --key-file " + key);
  EXPECT_EQ(missing.exit_code, 2) << "a missing COHORT is misuse";

  // The export: one row per patient, registration, event and event code, as in the index.
  Outcome exported = P4dp("export events " + dir + "/data " + dir + "/csv --key-file " + key);
  ASSERT_EQ(exported.exit_code, 0) << exported.out;
  json ex = LastJson(exported.out);
  Outcome stats_out = P4dp("stats " + dir + "/data --key-file " + key);
  json stats = json::parse(stats_out.out.substr(stats_out.out.find('{')));
  auto lines = [](const std::string& path) {
    std::ifstream in(path);
    std::string line;
    int64_t n = -1;  // the header
    while (std::getline(in, line)) ++n;
    return n;
  };
  EXPECT_EQ(ex["patients"].get<int64_t>(), 300);
  EXPECT_EQ(lines(dir + "/csv/patients.csv"), 300);
  EXPECT_EQ(ex["events"], stats["events"]);
  EXPECT_EQ(lines(dir + "/csv/events.csv"), stats["events"].get<int64_t>());
  EXPECT_EQ(lines(dir + "/csv/event_codes.csv"), ex["event_codes"].get<int64_t>());
  EXPECT_EQ(lines(dir + "/csv/registrations.csv"), ex["registrations"].get<int64_t>());
  EXPECT_GT(ex["event_codes"].get<int64_t>(), ex["events"].get<int64_t>() / 2);
  // Women with a condition, from the CSV files alone: the count above.
  std::map<std::string, std::string> sex;  // patient_id -> sex
  {
    std::ifstream in(dir + "/csv/patients.csv");
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, "patient_id,patient_key,sex,birth_year,birth_month,departement,death_date");
    while (std::getline(in, line)) {
      auto c1 = line.find(','), c2 = line.find(',', c1 + 1), c3 = line.find(',', c2 + 1);
      sex[line.substr(0, c1)] = line.substr(c2 + 1, c3 - c2 - 1);
    }
  }
  std::set<std::string> women_with_condition;
  {
    std::ifstream in(dir + "/csv/events.csv");
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
      auto c1 = line.find(','), c2 = line.find(',', c1 + 1);
      std::string patient = line.substr(c1 + 1, c2 - c1 - 1);
      if (line.find(",condition,") != std::string::npos && sex[patient] == "female") {
        women_with_condition.insert(patient);
      }
    }
  }
  EXPECT_EQ(static_cast<int64_t>(women_with_condition.size()), expected);
}

}  // namespace
}  // namespace p4dp
