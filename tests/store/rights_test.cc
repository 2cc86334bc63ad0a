// The store's side of the patients' rights, retention, backups and key rotation:
// - an objection hides the patient at once and Erase removes every row of theirs from the
//   segments (decoded block by block) and every byte of their key from every file;
// - retention purges old events the same way;
// - a backup taken while a transaction publishes batches restores to exactly one committed
//   point, and any changed byte or truncation of it is refused by verify and restore;
// - restore re-applies objections, those the backup carries and later ones imported;
// - rotating the master key rewraps the data key atomically, even across a crash.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "base/file_system.h"
#include "crypto/aead.h"
#include "crypto/keys.h"
#include "store/backup.h"
#include "store/catalog.h"
#include "store/segment.h"
#include "store/warehouse.h"

namespace p4dp::store {
namespace {

std::string TempDir(const std::string& name) {
  std::string dir = std::string(P4DP_BINARY_DIR) + "/test-tmp/rights_" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

domain::PatientKey Key(int n) {
  domain::PatientKey k;
  for (size_t i = 0; i < k.bytes.size(); ++i) k.bytes[i] = static_cast<uint8_t>(n * 37 + i * 11);
  return k;
}

// Batch `b`: patients b*10+1 .. b*10+patients, each with `events` one-event resources of
// codes 1..3 and dates spread over 30 years before day 20'000.
Batch MakeBatch(int b, int patients = 4, int events = 3) {
  Batch batch;
  for (int p = 0; p < patients; ++p) {
    int n = b * 10 + p + 1;
    PatientRecord row;
    row.key = Key(n);
    row.resource_key = 1'000'000 + static_cast<uint64_t>(n);
    row.version = {100, 1, 7};
    row.sex = domain::Sex::kFemale;
    row.birth_year = 1960;
    row.birth_month = 1;
    row.departement = "75";
    batch.patients.push_back(row);
    for (int e = 0; e < events; ++e) {
      uint64_t rk = static_cast<uint64_t>(n) * 1000 + static_cast<uint64_t>(e);
      ResourceRecord res;
      res.resource_key = rk;
      res.version = {100, 0, rk * 31};
      res.patient = row.key;
      batch.resources.push_back(res);
      EventRecord ev;
      ev.patient = row.key;
      ev.date = 20'000 - (e * 4000 + p * 7);  // 0, ~11 and ~22 years back
      ev.domain = domain::Domain::kCondition;
      ev.codes = {static_cast<uint32_t>(e % 3 + 1)};
      ev.resource_key = rk;
      ev.content_hash = rk * 31;
      batch.events.push_back(ev);
    }
  }
  return batch;
}

std::unique_ptr<Warehouse> OpenOrDie(const std::string& dir, const crypto::Key& master) {
  auto w = Warehouse::Open(RealFileSystem(), dir, master);
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  return w.ok() ? std::move(*w) : nullptr;
}

void CommitBatch(Warehouse& w, Batch batch) {
  auto txn = w.Begin();
  ASSERT_TRUE(txn.ok());
  auto counts = (*txn)->Commit(std::move(batch));
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
}

// What a cohort count and `p4dp stats` see: the statistics and, per code, the patients.
struct Counts {
  int64_t patients = 0, patients_with_events = 0, events = 0, resources = 0;
  std::vector<int64_t> by_code;
  bool operator==(const Counts&) const = default;
};

Counts CountsOf(Warehouse& w) {
  Counts c;
  auto stats = w.ComputeStats();
  EXPECT_TRUE(stats.ok());
  if (!stats.ok()) return c;
  c.patients = stats->patients;
  c.patients_with_events = stats->patients_with_events;
  c.events = stats->events;
  c.resources = stats->resources;
  EXPECT_TRUE(w.Read([&](const Index& index, const Catalog&) {
                 for (uint32_t code = 1; code <= 3; ++code) {
                   c.by_code.push_back(
                       static_cast<int64_t>(index.PatientsWithCode(code).Cardinality()));
                 }
               }).ok());
  return c;
}

std::string Describe(const Counts& c) {
  std::string s = "patients " + std::to_string(c.patients) + ", events " +
                  std::to_string(c.events) + ", resources " + std::to_string(c.resources);
  for (int64_t n : c.by_code) s += ", " + std::to_string(n);
  return s;
}

bool Contains(const std::string& haystack, const domain::PatientKey& key) {
  return haystack.find(std::string(reinterpret_cast<const char*>(key.bytes.data()),
                                   key.bytes.size())) != std::string::npos;
}

// Every row of every live segment, decoded (each block authenticated and decrypted), and
// every byte of every file under `dir`: none may hold `key`.
void ExpectKeyNowhere(const std::string& dir, const crypto::Key& master,
                      const domain::PatientKey& key) {
  {
    auto w = OpenOrDie(dir, master);
    ASSERT_NE(w, nullptr);
    EXPECT_TRUE(w->Read([&](const Index& index, const Catalog&) {
                   EXPECT_FALSE(index.Find(key).has_value()) << "the index still has the patient";
                 }).ok());
  }
  auto catalog = Catalog::Open(dir + "/catalog.db");
  ASSERT_TRUE(catalog.ok());
  auto live = (*catalog)->LiveSegments();
  ASSERT_TRUE(live.ok());
  auto data_key_text = (*catalog)->GetMeta("wrapped_data_key");
  ASSERT_TRUE(data_key_text.ok() && data_key_text->has_value());
  crypto::Key data_key = *crypto::UnwrapKey(master, **data_key_text, "data");
  crypto::Key segment_key = crypto::DeriveKey(data_key, crypto::KeyPurpose::kSegments);
  int64_t rows = 0;
  for (const SegmentRow& row : *live) {
    auto batch = ReadSegment(RealFileSystem(), dir + "/" + row.file, row.id, segment_key);
    ASSERT_TRUE(batch.ok()) << batch.status().ToString();
    for (const auto& p : batch->patients) EXPECT_NE(p.key, key) << row.file;
    for (const auto& r : batch->resources) EXPECT_NE(r.patient, key) << row.file;
    for (const auto& e : batch->events) EXPECT_NE(e.patient, key) << row.file;
    rows += static_cast<int64_t>(batch->events.size());
  }
  EXPECT_GT(rows, 0) << "nothing left to search: the test would prove nothing";
  catalog->reset();
  int files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    ++files;
    auto bytes = RealFileSystem().ReadFile(entry.path().string());
    ASSERT_TRUE(bytes.ok());
    EXPECT_FALSE(Contains(*bytes, key)) << entry.path() << " holds the patient key";
  }
  EXPECT_GE(files, 2);
}

// The key check of ExpectKeyNowhere finds a key that is there (the check can fail).
TEST(Rights, TheSearchFindsAKeyThatIsThere) {
  std::string dir = TempDir("search") + "/w";
  crypto::Key master = crypto::Key::Random();
  ASSERT_TRUE(Warehouse::Init(RealFileSystem(), dir, master).ok());
  {
    auto w = OpenOrDie(dir, master);
    CommitBatch(*w, MakeBatch(0));
  }
  // Segments hold keys only sealed; the catalog holds a link in clear form (the key bytes).
  auto catalog = Catalog::Open(dir + "/catalog.db");
  ASSERT_TRUE(catalog.ok());
  ASSERT_TRUE((*catalog)->Begin().ok());
  LinkHash link{};
  link.fill(9);
  ASSERT_TRUE((*catalog)->AddPatientLink(link, Key(1)).ok());
  ASSERT_TRUE((*catalog)->Commit().ok());
  ASSERT_TRUE((*catalog)->Checkpoint().ok());
  catalog->reset();
  bool found = false;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file())
      found = found || Contains(*RealFileSystem().ReadFile(entry.path()), Key(1));
  }
  EXPECT_TRUE(found);
}

TEST(Rights, AnObjectionHidesThePatientAtOnceAndEraseRemovesEveryTrace) {
  std::string dir = TempDir("optout") + "/w";
  crypto::Key master = crypto::Key::Random();
  ASSERT_TRUE(Warehouse::Init(RealFileSystem(), dir, master).ok());
  auto w = OpenOrDie(dir, master);
  // Patient 1 has rows in three segments: a batch of its own rows, and two more with events.
  CommitBatch(*w, MakeBatch(0));
  for (int b = 1; b <= 2; ++b) {
    Batch more = MakeBatch(b);
    Batch extra = MakeBatch(0, 1, 2);  // patient 1 again, new resources
    for (auto& r : extra.resources) r.resource_key += 100 * static_cast<uint64_t>(b);
    for (auto& e : extra.events) e.resource_key += 100 * static_cast<uint64_t>(b);
    more.resources.insert(more.resources.end(), extra.resources.begin(), extra.resources.end());
    more.events.insert(more.events.end(), extra.events.begin(), extra.events.end());
    CommitBatch(*w, std::move(more));
  }
  // Links of patients 1 and 2 in the catalog.
  {
    auto txn = w->Begin();
    ASSERT_TRUE(txn.ok());
    LinkHash a{}, b{};
    a.fill(1);
    b.fill(2);
    ASSERT_TRUE((*txn)->catalog().AddPatientLink(a, Key(1)).ok());
    ASSERT_TRUE((*txn)->catalog().AddPatientLink(b, Key(2)).ok());
    ASSERT_TRUE((*txn)->Finish().ok());
  }
  Counts before = CountsOf(*w);
  ASSERT_EQ(before.patients, 12);
  auto number = w->RecordObjection(Key(1), 20'100);
  ASSERT_TRUE(number.ok()) << number.status().ToString();
  EXPECT_EQ(*number, 1);
  EXPECT_TRUE(w->IsObjected(Key(1)));
  EXPECT_FALSE(w->IsObjected(Key(2)));
  // Hidden at once: every count that included the patient drops by one.
  Counts hidden = CountsOf(*w);
  EXPECT_EQ(hidden.patients, before.patients - 1);
  EXPECT_EQ(hidden.patients_with_events, before.patients_with_events - 1);
  EXPECT_EQ(hidden.events, before.events - 7);  // 3 + 2 + 2
  for (size_t c = 0; c < 3; ++c) EXPECT_EQ(hidden.by_code[c], before.by_code[c] - 1) << c;
  auto pending = w->FindObjection(Key(1));
  ASSERT_TRUE(pending.ok() && pending->has_value());
  EXPECT_FALSE((*pending)->erased.has_value());
  // Still hidden after a reopen, before the erasure.
  w.reset();
  w = OpenOrDie(dir, master);
  EXPECT_EQ(CountsOf(*w), hidden);

  EraseOptions options;
  options.today = 20'101;
  auto erased = w->Erase(options);
  ASSERT_TRUE(erased.ok()) << erased.status().ToString();
  EXPECT_EQ(erased->segments_rewritten, 3);
  EXPECT_EQ(erased->patients_erased, 1);
  EXPECT_EQ(erased->events_erased, 7);
  EXPECT_EQ(erased->links_redirected, 1);
  EXPECT_EQ(CountsOf(*w), hidden);
  auto done = w->FindObjection(Key(1));
  ASSERT_TRUE(done.ok() && done->has_value());
  EXPECT_EQ((*done)->erased, std::optional<Days>(20'101));
  // The link now leads to the objection's alias, which is still refused.
  EXPECT_TRUE(w->Read([&](const Index&, const Catalog& catalog) {
                 LinkHash a{};
                 a.fill(1);
                 auto to = catalog.FindPatientLink(a);
                 ASSERT_TRUE(to.has_value());
                 EXPECT_NE(*to, Key(1));
                 EXPECT_TRUE(w->IsObjected(*to));
               }).ok());
  w.reset();
  ExpectKeyNowhere(dir, master, Key(1));
  // The objection survives a reopen.
  w = OpenOrDie(dir, master);
  EXPECT_TRUE(w->IsObjected(Key(1)));
  EXPECT_EQ(CountsOf(*w), hidden);
}

TEST(Rights, RetentionPurgesOldEventsFromEverySegment) {
  std::string dir = TempDir("retention") + "/w";
  crypto::Key master = crypto::Key::Random();
  ASSERT_TRUE(Warehouse::Init(RealFileSystem(), dir, master).ok());
  auto w = OpenOrDie(dir, master);
  CommitBatch(*w, MakeBatch(0));
  CommitBatch(*w, MakeBatch(1));
  Counts before = CountsOf(*w);
  EraseOptions options;
  options.today = 20'000;
  options.purge_before = 20'000 - 20 * 365;  // events ~22 years back go, ~11 years stay
  auto erased = w->Erase(options);
  ASSERT_TRUE(erased.ok()) << erased.status().ToString();
  EXPECT_EQ(erased->events_purged, 8);
  EXPECT_EQ(erased->events_erased, 0);
  Counts after = CountsOf(*w);
  EXPECT_EQ(after.events, before.events - 8);
  EXPECT_EQ(after.by_code[2], 0);  // code 3 was only on the oldest events
  EXPECT_EQ(after.by_code[0], before.by_code[0]);
  w.reset();
  auto catalog = Catalog::Open(dir + "/catalog.db");
  ASSERT_TRUE(catalog.ok());
  crypto::Key data_key =
      *crypto::UnwrapKey(master, **(*catalog)->GetMeta("wrapped_data_key"), "data");
  auto live = (*catalog)->LiveSegments();
  ASSERT_TRUE(live.ok());
  for (const SegmentRow& row : *live) {
    auto batch = ReadSegment(RealFileSystem(), dir + "/" + row.file, row.id,
                             crypto::DeriveKey(data_key, crypto::KeyPurpose::kSegments));
    ASSERT_TRUE(batch.ok());
    for (const auto& e : batch->events) EXPECT_GE(e.date, options.purge_before);
  }
  EXPECT_EQ(*(*catalog)->GetMeta("retention_purged_before"),
            std::optional<std::string>(std::to_string(options.purge_before)));
}

// Byte positions that cover every region of a backup: each header byte, then for each
// record the first and last bytes of its length, its nonce, its ciphertext and its tag (the
// last record is the authenticated end record); plus random positions from `seed`.
std::vector<size_t> RegionsOf(const std::string& backup, uint64_t seed, int* records) {
  constexpr size_t kHeader = 8 + 16 + 4 + 32;
  std::vector<size_t> at;
  for (size_t i = 0; i < kHeader; ++i) at.push_back(i);
  size_t pos = kHeader;
  *records = 0;
  while (pos + 4 <= backup.size()) {
    uint32_t len = 0;
    std::memcpy(&len, backup.data() + pos, 4);
    for (size_t off : {size_t{0}, size_t{3}, size_t{4}, size_t{4 + 23}, size_t{4 + 24},
                       size_t{4} + len / 2, size_t{4} + len - 16, size_t{4} + len - 1}) {
      if (pos + off < backup.size()) at.push_back(pos + off);
    }
    pos += 4 + len;
    ++*records;
  }
  EXPECT_EQ(pos, backup.size()) << "the test's reading of the format is wrong";
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 200; ++i) at.push_back(rng() % backup.size());
  return at;
}

TEST(Rights, BackupWhileATransactionPublishesRestoresOneCommittedPoint) {
  std::string base = TempDir("backup");
  std::string dir = base + "/w";
  crypto::Key master = crypto::Key::Random();
  ASSERT_TRUE(Warehouse::Init(RealFileSystem(), dir, master).ok());
  auto w = OpenOrDie(dir, master);
  // A small merge-able history first, so that the backup also races a merge at the end.
  constexpr int kBatches = 14;
  std::atomic<int> published{0};
  std::atomic<bool> backup_done{false};
  Status ingest_status;
  std::thread ingest([&] {
    auto txn = w->Begin();
    if (!txn.ok()) {
      ingest_status = txn.status();
      return;
    }
    for (int b = 0; b < kBatches; ++b) {
      // The last two batches wait for the backup: it runs while the transaction publishes.
      while (b >= kBatches - 2 && !backup_done) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      Status s = (*txn)->Publish(MakeBatch(b));
      if (!s.ok()) {
        ingest_status = s;
        return;
      }
      published = b + 1;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ingest_status = (*txn)->Finish().status();
  });
  while (published < 4) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  std::string file = base + "/w.p4dpbak";
  BackupOptions options;
  options.today = 20'200;
  auto info = w->Backup(file, master, options);
  backup_done = true;
  ingest.join();
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ASSERT_TRUE(ingest_status.ok()) << ingest_status.ToString();
  ASSERT_TRUE(VerifyBackup(file, master).ok());

  std::string restored_dir = base + "/restored";
  auto restored = RestoreBackup(RealFileSystem(), file, master, restored_dir);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  auto r = OpenOrDie(restored_dir, master);
  ASSERT_NE(r, nullptr);
  Counts got = CountsOf(*r);
  // The restored warehouse is the source after exactly k committed batches.
  ASSERT_EQ(got.patients % 4, 0);
  int k = static_cast<int>(got.patients / 4);
  std::printf("backup holds %d of %d batches\n", k, kBatches);
  EXPECT_GE(k, 3);
  EXPECT_LT(k, kBatches) << "the backup did not run while the ingest did";
  std::string ref_dir = base + "/reference";
  ASSERT_TRUE(Warehouse::Init(RealFileSystem(), ref_dir, master).ok());
  auto ref = OpenOrDie(ref_dir, master);
  for (int b = 0; b < k; ++b) CommitBatch(*ref, MakeBatch(b));
  EXPECT_EQ(got, CountsOf(*ref)) << Describe(got) << " vs " << Describe(CountsOf(*ref));
  EXPECT_TRUE(r->Verify()->empty());
  // A target that is not empty is refused.
  auto again = RestoreBackup(RealFileSystem(), file, master, restored_dir);
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  // Another master key: refused as such.
  EXPECT_EQ(VerifyBackup(file, crypto::Key::Random()).status().code(),
            StatusCode::kPermissionDenied);
}

TEST(Rights, AnyFlippedByteOrTruncationOfABackupIsRefused) {
  std::string base = TempDir("backup_flip");
  std::string dir = base + "/w";
  crypto::Key master = crypto::Key::Random();
  ASSERT_TRUE(Warehouse::Init(RealFileSystem(), dir, master).ok());
  {
    auto w = OpenOrDie(dir, master);
    for (int b = 0; b < 3; ++b) CommitBatch(*w, MakeBatch(b));
  }
  std::string file = base + "/w.p4dpbak";
  ASSERT_TRUE(WriteBackup(RealFileSystem(), dir, master, file).ok());
  std::string original = *RealFileSystem().ReadFile(file);
  uint64_t seed = std::random_device{}();
  if (const char* s = std::getenv("P4DP_TEST_SEED")) seed = std::stoull(s);
  std::printf("seed %llu (P4DP_TEST_SEED replays it)\n", static_cast<unsigned long long>(seed));
  int records = 0;
  std::vector<size_t> positions = RegionsOf(original, seed, &records);
  EXPECT_GE(records, 1 + 2 * 3 + 1);  // catalog, 3 segments (begin + data), end
  std::string damaged_file = base + "/damaged.p4dpbak";
  std::string target = base + "/target";
  auto expect_refused = [&](const std::string& bytes, const std::string& what) {
    {
      std::ofstream out(damaged_file, std::ios::binary | std::ios::trunc);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    auto verified = VerifyBackup(damaged_file, master);
    EXPECT_FALSE(verified.ok()) << what << " passed verify";
    auto restored = RestoreBackup(RealFileSystem(), damaged_file, master, target);
    EXPECT_FALSE(restored.ok()) << what << " was restored";
    EXPECT_FALSE(std::filesystem::exists(target)) << what << " left a partial restore";
    std::filesystem::remove_all(target);
  };
  for (size_t pos : positions) {
    std::string damaged = original;
    damaged[pos] = static_cast<char>(damaged[pos] ^ (1 << (pos % 8)));
    expect_refused(damaged, "a flip at byte " + std::to_string(pos));
  }
  for (size_t len :
       {size_t{0}, size_t{10}, size_t{60}, size_t{64}, original.size() / 2, original.size() - 1}) {
    expect_refused(original.substr(0, len), "a truncation to " + std::to_string(len));
  }
  expect_refused(original + "x", "an appended byte");
  // The intact file still restores (the damage, not the harness, caused the refusals).
  EXPECT_TRUE(RestoreBackup(RealFileSystem(), file, master, target).ok());
}

TEST(Rights, RestoreReappliesObjectionsCarriedAndLaterOnes) {
  std::string base = TempDir("restore_objections");
  std::string dir = base + "/w";
  crypto::Key master = crypto::Key::Random();
  ASSERT_TRUE(Warehouse::Init(RealFileSystem(), dir, master).ok());
  auto w = OpenOrDie(dir, master);
  CommitBatch(*w, MakeBatch(0));
  CommitBatch(*w, MakeBatch(1));
  // Patient 1 objected before the backup but was not erased yet (pending).
  ASSERT_TRUE(w->RecordObjection(Key(1), 20'000).ok());
  std::string file = base + "/b.p4dpbak";
  ASSERT_TRUE(w->Backup(file, master).ok());
  // Patient 12 objects after the backup.
  ASSERT_TRUE(w->RecordObjection(Key(12), 20'001).ok());
  Counts source = CountsOf(*w);
  w.reset();

  std::string plain_dir = base + "/plain";
  ASSERT_TRUE(RestoreBackup(RealFileSystem(), file, master, plain_dir).ok());
  {
    auto r = OpenOrDie(plain_dir, master);
    EXPECT_TRUE(r->IsObjected(Key(1)));
    EXPECT_FALSE(r->IsObjected(Key(12)));  // the backup predates it
    EXPECT_EQ(CountsOf(*r).patients, source.patients + 1);
  }
  std::string full_dir = base + "/full";
  ASSERT_TRUE(RestoreBackup(RealFileSystem(), file, master, full_dir).ok());
  {
    auto r = OpenOrDie(full_dir, master);
    auto rows = Catalog::ReadObjections(dir + "/catalog.db");
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    ASSERT_TRUE(r->ImportObjections(*rows).ok());
    EraseOptions options;
    options.today = 20'002;
    ASSERT_TRUE(r->Erase(options).ok());
    EXPECT_EQ(CountsOf(*r), source);
  }
  ExpectKeyNowhere(full_dir, master, Key(1));
  ExpectKeyNowhere(full_dir, master, Key(12));
  // Objections sealed under another warehouse's data key are refused.
  std::string other = base + "/other";
  ASSERT_TRUE(Warehouse::Init(RealFileSystem(), other, master).ok());
  auto o = OpenOrDie(other, master);
  EXPECT_EQ(o->ImportObjections(*Catalog::ReadObjections(dir + "/catalog.db")).code(),
            StatusCode::kPermissionDenied);
}

// Runs `fn` in a child process and returns its exit code (the child may crash on purpose).
int InChild(const std::function<int()>& fn) {
  pid_t pid = fork();
  if (pid == 0) _exit(fn());
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(Rights, KeyRotationRewrapsAtomicallyEvenAcrossACrash) {
  std::string dir = TempDir("rotate") + "/w";
  crypto::Key a = crypto::Key::Random(), b = crypto::Key::Random(), c = crypto::Key::Random();
  ASSERT_TRUE(Warehouse::Init(RealFileSystem(), dir, a).ok());
  Counts before;
  crypto::Key pseudonym_key;
  {
    auto w = OpenOrDie(dir, a);
    pseudonym_key = w->pseudonym_key();
    CommitBatch(*w, MakeBatch(0));
    CommitBatch(*w, MakeBatch(1));
    ASSERT_TRUE(w->RecordObjection(Key(2), 20'000).ok());
    before = CountsOf(*w);
  }
  std::vector<std::string> segments_before;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/segments")) {
    segments_before.push_back(*RealFileSystem().ReadFile(e.path()));
  }
  EXPECT_EQ(Warehouse::RotateMasterKey(dir, b, c).code(), StatusCode::kPermissionDenied);
  ASSERT_TRUE(Warehouse::RotateMasterKey(dir, a, b).ok());
  EXPECT_EQ(Warehouse::Open(RealFileSystem(), dir, a).status().code(),
            StatusCode::kPermissionDenied);
  {
    auto w = OpenOrDie(dir, b);
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(CountsOf(*w), before);
    EXPECT_TRUE(w->IsObjected(Key(2)));
    EXPECT_EQ(w->pseudonym_key().bytes(), pseudonym_key.bytes()) << "pseudonyms changed";
  }
  // No segment was rewritten.
  std::vector<std::string> segments_after;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/segments")) {
    segments_after.push_back(*RealFileSystem().ReadFile(e.path()));
  }
  EXPECT_EQ(segments_after, segments_before);

  // A crash inside the rotation's transaction (the process dies before the commit): b
  // still opens the warehouse, c does not.
  int code = InChild([&] {
    Status s = Warehouse::RotateMasterKey(dir, b, c, [] { _exit(42); });
    return s.ok() ? 0 : 1;
  });
  ASSERT_EQ(code, 42);
  EXPECT_EQ(Warehouse::Open(RealFileSystem(), dir, c).status().code(),
            StatusCode::kPermissionDenied);
  {
    auto w = OpenOrDie(dir, b);
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(CountsOf(*w), before);
  }
  // A crash right after the commit: c is in force.
  code = InChild([&]() -> int {
    Status s = Warehouse::RotateMasterKey(dir, b, c);
    _exit(s.ok() ? 43 : 1);
  });
  ASSERT_EQ(code, 43);
  EXPECT_EQ(Warehouse::Open(RealFileSystem(), dir, b).status().code(),
            StatusCode::kPermissionDenied);
  auto w = OpenOrDie(dir, c);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(CountsOf(*w), before);
}

// A warehouse made before keys were wrapped (its master key is its data key) still opens,
// and its first rotation wraps the keys it used: the data and pseudonyms stay readable.
TEST(Rights, AWarehouseWithoutWrappedKeysOpensAndRotates) {
  std::string dir = TempDir("legacy") + "/w";
  crypto::Key a = crypto::Key::Random(), b = crypto::Key::Random();
  ASSERT_TRUE(Warehouse::Init(RealFileSystem(), dir, a).ok());
  auto set_meta = [&](const std::string& key, const std::optional<std::string>& value) {
    auto catalog = Catalog::Open(dir + "/catalog.db");
    ASSERT_TRUE(catalog.ok());
    ASSERT_TRUE((*catalog)->Begin().ok());
    ASSERT_TRUE((value ? (*catalog)->SetMeta(key, *value) : (*catalog)->RemoveMeta(key)).ok());
    ASSERT_TRUE((*catalog)->Commit().ok());
  };
  // A damaged wrapped key is refused, not taken for a warehouse without one.
  set_meta("wrapped_data_key", "00");
  EXPECT_EQ(Warehouse::Open(RealFileSystem(), dir, a).status().code(), StatusCode::kCorruption);
  // What warehouses made before this change hold: no wrapped keys.
  set_meta("wrapped_data_key", std::nullopt);
  set_meta("wrapped_pseudonym_key", std::nullopt);
  Counts before;
  {
    auto w = OpenOrDie(dir, a);
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(w->pseudonym_key().bytes(),
              crypto::DeriveKey(a, crypto::KeyPurpose::kPseudonym).bytes());
    CommitBatch(*w, MakeBatch(0));
    before = CountsOf(*w);
  }
  {
    // Its segments are sealed under keys derived from the master key itself.
    auto catalog = Catalog::Open(dir + "/catalog.db");
    ASSERT_TRUE(catalog.ok());
    auto live = (*catalog)->LiveSegments();
    ASSERT_TRUE(live.ok() && live->size() == 1);
    EXPECT_TRUE(ReadSegment(RealFileSystem(), dir + "/" + (*live)[0].file, (*live)[0].id,
                            crypto::DeriveKey(a, crypto::KeyPurpose::kSegments))
                    .ok());
  }
  ASSERT_TRUE(Warehouse::RotateMasterKey(dir, a, b).ok());
  EXPECT_EQ(Warehouse::Open(RealFileSystem(), dir, a).status().code(),
            StatusCode::kPermissionDenied);
  auto w = OpenOrDie(dir, b);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(CountsOf(*w), before);
  EXPECT_EQ(w->pseudonym_key().bytes(),
            crypto::DeriveKey(a, crypto::KeyPurpose::kPseudonym).bytes());
}

// The rows of table t of the SQLite file at `path` ("" when it cannot be read).
std::string SqliteRows(const std::string& path) {
  sqlite3* db = nullptr;
  std::string rows;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_exec(
        db, "SELECT v FROM t ORDER BY v",
        [](void* out, int, char** values, char**) {
          *static_cast<std::string*>(out) += std::string(values[0]) + ";";
          return 0;
        },
        &rows, nullptr);
  }
  sqlite3_close(db);
  return rows;
}

TEST(Rights, BackupCarriesTheAccessFilesAtACommittedPointAndVersion1StillRestores) {
  std::string base = TempDir("backup_access");
  std::string dir = base + "/w";
  crypto::Key master = crypto::Key::Random();
  ASSERT_TRUE(Warehouse::Init(RealFileSystem(), dir, master).ok());
  {
    auto w = OpenOrDie(dir, master);
    CommitBatch(*w, MakeBatch(0));
  }
  // access.db and audit.db in WAL mode, as the access layer keeps them, each with a
  // committed row still in its WAL and a transaction left open while the backup runs.
  std::vector<sqlite3*> open;
  for (const char* name : {kBackupAccessName, kBackupAuditName}) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir + "/" + name).c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;"
                           "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('committed');"
                           "BEGIN; INSERT INTO t VALUES ('uncommitted');",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    open.push_back(db);
  }
  std::ofstream(dir + "/" + kBackupAuditHeadName) << "1 abc\n";
  std::string file = base + "/w.p4dpbak";
  auto info = WriteBackup(RealFileSystem(), dir, master, file);
  for (sqlite3* db : open) sqlite3_close(db);  // the open transactions roll back
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->version, 2);
  EXPECT_TRUE(info->access_catalog);
  EXPECT_TRUE(info->audit_trail);
  EXPECT_EQ(info->files, 1 + 3 + 1);  // catalog, access.db, audit.db, audit.head, a segment
  auto verified = VerifyBackup(file, master);
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_TRUE(verified->access_catalog && verified->audit_trail);
  auto head = ReadBackupFile(file, master, kBackupAuditHeadName);
  ASSERT_TRUE(head.ok() && *head);
  EXPECT_EQ(**head, "1 abc\n");
  std::string target = base + "/target";
  ASSERT_TRUE(RestoreBackup(RealFileSystem(), file, master, target).ok());
  for (const char* name : {kBackupAccessName, kBackupAuditName}) {
    EXPECT_EQ(SqliteRows(target + "/" + name), "committed;") << name;
  }
  EXPECT_EQ(*RealFileSystem().ReadFile(target + "/" + kBackupAuditHeadName), "1 abc\n");
  EXPECT_TRUE(Warehouse::Open(RealFileSystem(), target, master).ok());

  // A backup of the previous format (version 1): it verifies and restores, without them.
  std::string old_file = base + "/old.p4dpbak";
  BackupOptions v1;
  v1.format_version_for_testing = 1;
  ASSERT_TRUE(WriteBackup(RealFileSystem(), dir, master, old_file, v1).ok());
  auto old = VerifyBackup(old_file, master);
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_EQ(old->version, 1);
  EXPECT_FALSE(old->access_catalog);
  EXPECT_EQ(old->files, 2);
  auto none = ReadBackupFile(old_file, master, kBackupAccessName);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none);
  std::string old_target = base + "/old_target";
  ASSERT_TRUE(RestoreBackup(RealFileSystem(), old_file, master, old_target).ok());
  EXPECT_FALSE(std::filesystem::exists(old_target + "/" + kBackupAccessName));
  EXPECT_TRUE(Warehouse::Open(RealFileSystem(), old_target, master).ok());
}

}  // namespace
}  // namespace p4dp::store
