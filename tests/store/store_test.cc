// The store's contracts: segments round-trip and detect any changed byte (naming the block),
// the index applies the version rule whatever the order, the warehouse refuses a wrong key
// without changing anything, and a publication interrupted by an I/O error leaves the
// warehouse as it was (acknowledged batches all there, nothing half-written visible).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <thread>

#include "base/file_system.h"
#include "crypto/aead.h"
#include "store/catalog.h"
#include "store/segment.h"
#include "store/warehouse.h"

namespace p4dp::store {
namespace {

std::string TempDir(const std::string& name) {
  std::string dir = std::string(P4DP_BINARY_DIR) + "/test-tmp/store_" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

domain::PatientKey Key(uint8_t n) {
  domain::PatientKey k;
  k.bytes.fill(n);
  return k;
}

// Reopens the warehouse in `dir` on the real file system and checks that it holds `events`
// events, that every block verifies and that no segment file lies outside the catalog (no
// orphan is left behind). Returns the number of live segments.
int64_t ExpectSoundAfterReopen(const std::string& dir, const crypto::Key& master, int64_t events) {
  auto reopened = Warehouse::Open(RealFileSystem(), dir, master);
  EXPECT_TRUE(reopened.ok()) << reopened.status().ToString();
  if (!reopened.ok()) return -1;
  auto stats = (*reopened)->ComputeStats();
  EXPECT_TRUE(stats.ok());
  if (!stats.ok()) return -1;
  EXPECT_EQ(stats->events, events);
  auto problems = (*reopened)->Verify();
  EXPECT_TRUE(problems.ok() && problems->empty());
  EXPECT_EQ(stats->segments, static_cast<int64_t>(std::distance(
                                 std::filesystem::directory_iterator(dir + "/segments"),
                                 std::filesystem::directory_iterator())));
  return stats->segments;
}

// A batch of `patients` patients with `per_patient` one-event resources each.
Batch MakeBatch(int patients, int per_patient, uint64_t salt = 0) {
  Batch b;
  for (int p = 0; p < patients; ++p) {
    PatientRecord row;
    row.key = Key(static_cast<uint8_t>(p + 1));
    row.resource_key = 1'000'000 + static_cast<uint64_t>(p);
    row.version = {100, 1, 7};
    row.sex = p % 2 ? domain::Sex::kFemale : domain::Sex::kMale;
    row.birth_year = static_cast<int16_t>(1950 + p);
    row.birth_month = 3;
    row.departement = "2A";
    row.registrations.push_back({42, 17'000, kNoDay});
    b.patients.push_back(row);
    for (int e = 0; e < per_patient; ++e) {
      uint64_t rk = static_cast<uint64_t>(p) * 1000 + static_cast<uint64_t>(e) + salt;
      ResourceRecord res;
      res.resource_key = rk;
      res.version = {100, 0, rk * 31};
      res.patient = row.key;
      b.resources.push_back(res);
      EventRecord ev;
      ev.patient = row.key;
      ev.date = 18'000 + e * 3 - p;
      ev.domain = static_cast<domain::Domain>(e % domain::kDomainCount);
      ev.codes = {static_cast<uint32_t>(e % 5 + 1), 9};
      ev.value = e % 3 == 0 ? std::numeric_limits<double>::quiet_NaN() : e * 0.5;
      ev.end_date = e % 4 == 0 ? ev.date + 30 : kNoDay;
      ev.unit = static_cast<uint32_t>(e % 2);
      ev.resource_key = rk;
      ev.content_hash = rk * 31;
      b.events.push_back(ev);
    }
  }
  return b;
}

TEST(Segment, RoundTripsEveryField) {
  std::string dir = TempDir("roundtrip");
  crypto::Key key = crypto::Key::Random();
  Batch in = MakeBatch(30, 50);
  auto info = WriteSegment(RealFileSystem(), dir + "/s.seg", 7, key, in);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->events, 1500);
  auto out = ReadSegment(RealFileSystem(), dir + "/s.seg", 7, key);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->events.size(), in.events.size());
  ASSERT_EQ(out->patients.size(), in.patients.size());
  ASSERT_EQ(out->resources.size(), in.resources.size());
  // Events come back sorted by (patient, date).
  EXPECT_TRUE(std::is_sorted(out->events.begin(), out->events.end(), [](auto& a, auto& b) {
    return a.patient != b.patient ? a.patient < b.patient : a.date < b.date;
  }));
  auto by_resource = [](const EventRecord& a, const EventRecord& b) {
    return a.resource_key < b.resource_key;
  };
  std::sort(in.events.begin(), in.events.end(), by_resource);
  std::sort(out->events.begin(), out->events.end(), by_resource);
  for (size_t i = 0; i < in.events.size(); ++i) {
    const auto& a = in.events[i];
    const auto& b = out->events[i];
    EXPECT_EQ(a.patient, b.patient);
    EXPECT_EQ(a.date, b.date);
    EXPECT_EQ(a.end_date, b.end_date);
    EXPECT_EQ(a.domain, b.domain);
    EXPECT_EQ(a.codes, b.codes);
    EXPECT_TRUE((std::isnan(a.value) && std::isnan(b.value)) || a.value == b.value);
    EXPECT_EQ(a.unit, b.unit);
    EXPECT_EQ(a.content_hash, b.content_hash);
  }
  const PatientRecord& p = out->patients[0];
  EXPECT_EQ(p.departement, "2A");
  EXPECT_EQ(p.birth_month, 3);
  ASSERT_EQ(p.registrations.size(), 1u);
  EXPECT_EQ(p.registrations[0].practice, 42u);
}

TEST(Segment, IsUnreadableWithTheWrongKeyOrId) {
  std::string dir = TempDir("wrongkey");
  crypto::Key key = crypto::Key::Random();
  Batch batch = MakeBatch(2, 2);
  ASSERT_TRUE(WriteSegment(RealFileSystem(), dir + "/s.seg", 3, key, batch).ok());
  EXPECT_EQ(ReadSegment(RealFileSystem(), dir + "/s.seg", 3, crypto::Key::Random()).status().code(),
            StatusCode::kCorruption);
  EXPECT_EQ(ReadSegment(RealFileSystem(), dir + "/s.seg", 4, key).status().code(),
            StatusCode::kCorruption);
}

// Must show 5 of the ingestion issue, at the segment level: flipping any byte makes verify
// name the block (or header/footer) and makes the read fail instead of returning data.
TEST(Segment, EveryFlippedByteIsDetectedAndNamed) {
  std::string dir = TempDir("flip");
  crypto::Key key = crypto::Key::Random();
  std::string path = dir + "/s.seg";
  // Enough rows for several blocks of each kind.
  Batch batch = MakeBatch(3, 30'000);
  ASSERT_TRUE(WriteSegment(RealFileSystem(), path, 11, key, batch).ok());
  std::string original = *RealFileSystem().ReadFile(path);
  ASSERT_GT(original.size(), 1000u);
  std::mt19937_64 rng(12345);
  std::vector<size_t> positions = {
      0, 7, 8, 15, 16, 17, original.size() - 1, original.size() - 12, original.size() - 13};
  for (int i = 0; i < 300; ++i) positions.push_back(rng() % original.size());
  for (size_t pos : positions) {
    std::string damaged = original;
    damaged[pos] = static_cast<char>(damaged[pos] ^ (1 << (pos % 8)));
    ASSERT_TRUE(WriteFileAtomically(RealFileSystem(), path, damaged).ok());
    auto problems = VerifySegment(RealFileSystem(), path, 11, key);
    ASSERT_TRUE(problems.ok());
    ASSERT_FALSE(problems->empty()) << "byte " << pos << " flipped unnoticed";
    const std::string& first = problems->front();
    EXPECT_TRUE(first.find("block ") != std::string::npos ||
                first.find("header") != std::string::npos ||
                first.find("footer") != std::string::npos)
        << first;
    auto read = ReadSegment(RealFileSystem(), path, 11, key);
    EXPECT_FALSE(read.ok()) << "byte " << pos << " flipped but the read succeeded";
    EXPECT_EQ(read.status().code(), StatusCode::kCorruption);
  }
}

TEST(Index, FinalContentDoesNotDependOnOrder) {
  // Three versions of one resource, and a deletion of another, in every order.
  auto version_batch = [](uint32_t v, bool with_event) {
    Batch b;
    ResourceRecord r;
    r.resource_key = 5;
    r.version = {200, v, 1000 + v};
    r.patient = Key(1);
    b.resources.push_back(r);
    if (with_event) {
      EventRecord e;
      e.patient = Key(1);
      e.date = static_cast<Days>(18'000 + v);
      e.codes = {v};
      e.resource_key = 5;
      e.content_hash = 1000 + v;
      b.events.push_back(e);
    }
    return b;
  };
  Batch deletion;
  ResourceRecord del;
  del.resource_key = 9;
  del.version = {300, 2, 77};
  del.deleted = true;
  del.patient = Key(1);
  deletion.resources.push_back(del);
  Batch original;
  ResourceRecord orig = del;
  orig.version = {300, 1, 66};
  orig.deleted = false;
  original.resources.push_back(orig);
  EventRecord oe;
  oe.patient = Key(1);
  oe.date = 17'000;
  oe.codes = {50};
  oe.resource_key = 9;
  oe.content_hash = 66;
  original.events.push_back(oe);

  std::vector<Batch> batches = {version_batch(1, true), version_batch(3, true),
                                version_batch(2, true), deletion, original};
  // Each batch holds every key once: Apply's fast path for such batches (unique_keys)
  // must count and store exactly what its general path does.
  std::vector<Batch> unique_batches = batches;
  for (Batch& b : unique_batches) b.unique_keys = true;
  std::vector<int> order = {0, 1, 2, 3, 4};
  do {
    Index index;
    Index unique_index;
    for (int i : order) {
      ApplyCounts general = index.Apply(batches[static_cast<size_t>(i)]);
      ApplyCounts fast = unique_index.Apply(unique_batches[static_cast<size_t>(i)]);
      EXPECT_EQ(fast.added, general.added);
      EXPECT_EQ(fast.replaced, general.replaced);
      EXPECT_EQ(fast.duplicates, general.duplicates);
      EXPECT_EQ(fast.outdated, general.outdated);
      EXPECT_EQ(fast.removed, general.removed);
      EXPECT_EQ(fast.events_by_domain, general.events_by_domain);
    }
    EXPECT_EQ(unique_index.event_count(), index.event_count());
    auto p = index.Find(Key(1));
    ASSERT_TRUE(p.has_value());
    EventRange events = index.Events(*p);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(std::vector<uint32_t>(events[0].codes.begin(), events[0].codes.end()),
              std::vector<uint32_t>{3})
        << "version 3 must win";
    EXPECT_TRUE(index.PatientsWithCode(3).Contains(*p));
    EXPECT_FALSE(index.PatientsWithCode(1).Contains(*p));
    EXPECT_FALSE(index.PatientsWithCode(50).Contains(*p)) << "deleted resource still indexed";
    EXPECT_EQ(index.event_count(), 1);
  } while (std::next_permutation(order.begin(), order.end()));
}

// Code ids looked up by the caller's hash: a collision or an entry left by a rolled-back
// transaction never returns the wrong code.
TEST(Catalog, CodeIdsByHashSurviveCollisionsAndRollbacks) {
  std::string dir = TempDir("catalog_hash");
  auto created = Catalog::Create(dir + "/catalog.db");
  ASSERT_TRUE(created.ok());
  Catalog& c = **created;
  ASSERT_TRUE(c.Begin().ok());
  uint32_t e11 = *c.CodeId("icd10", "E11", 42);
  uint32_t e12 = *c.CodeId("icd10", "E12", 42);  // same hash, other code
  EXPECT_NE(e11, e12);
  EXPECT_EQ(*c.CodeId("icd10", "E11", 42), e11);
  EXPECT_EQ(*c.CodeId("icd10", "E12", 42), e12);
  EXPECT_EQ(*c.CodeId("icd10", "E11"), e11);
  ASSERT_TRUE(c.Commit().ok());
  ASSERT_TRUE(c.Begin().ok());
  uint32_t j45 = *c.CodeId("icd10", "J45", 7);
  c.Rollback();  // J45 is gone; the hash entry 7 is stale
  ASSERT_TRUE(c.Begin().ok());
  uint32_t atc = *c.CodeId("atc", "R03AC02", 7);
  EXPECT_EQ(c.codes()[atc].system, "atc");
  EXPECT_EQ(c.codes()[atc].code, "R03AC02");
  uint32_t j45_again = *c.CodeId("icd10", "J45", 7);
  EXPECT_EQ(c.codes()[j45_again].code, "J45");
  EXPECT_NE(j45_again, atc);
  (void)j45;
  ASSERT_TRUE(c.Commit().ok());
}

TEST(Warehouse, WrongKeyFailsCleanlyAndChangesNothing) {
  std::string dir = TempDir("wrong_master") + "/w";
  crypto::Key master = crypto::Key::Random();
  ASSERT_TRUE(Warehouse::Init(RealFileSystem(), dir, master).ok());
  {
    auto w = Warehouse::Open(RealFileSystem(), dir, master);
    ASSERT_TRUE(w.ok());
    auto txn = (*w)->Begin();
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE((*txn)->Commit(MakeBatch(4, 3)).ok());
  }
  auto before = std::filesystem::last_write_time(dir + "/catalog.db");
  auto w = Warehouse::Open(RealFileSystem(), dir, crypto::Key::Random());
  EXPECT_EQ(w.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(w.status().message().find("wrong master key"), std::string::npos);
  EXPECT_EQ(before, std::filesystem::last_write_time(dir + "/catalog.db"));
  auto again = Warehouse::Open(RealFileSystem(), dir, master);
  ASSERT_TRUE(again.ok());
  auto stats = (*again)->ComputeStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->events, 12);
}

TEST(Warehouse, InitRefusesANonEmptyFolder) {
  std::string dir = TempDir("nonempty");
  ASSERT_TRUE(WriteFileAtomically(RealFileSystem(), dir + "/x", "x").ok());
  Status s = Warehouse::Init(RealFileSystem(), dir, crypto::Key::Random());
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
}

// Must show 4 (fault injection): the Nth write, sync and rename fail in turn during a
// publication; each failed publication is reported, acknowledged batches survive reopening,
// and nothing half-written becomes visible.
TEST(Warehouse, FailedWritesSyncsAndRenamesLoseNothingAcknowledged) {
  for (auto op : {FaultInjectingFileSystem::Op::kAppend, FaultInjectingFileSystem::Op::kSync,
                  FaultInjectingFileSystem::Op::kRename}) {
    for (int n = 1; n <= 3; ++n) {
      SCOPED_TRACE("op " + std::to_string(static_cast<int>(op)) + " n " + std::to_string(n));
      std::string dir = TempDir("fault") + "/w";
      crypto::Key master = crypto::Key::Random();
      ASSERT_TRUE(Warehouse::Init(RealFileSystem(), dir, master).ok());
      FaultInjectingFileSystem fs(RealFileSystem());
      int64_t acknowledged = 0;
      {
        auto w = Warehouse::Open(fs, dir, master);
        ASSERT_TRUE(w.ok());
        // Each publication writes, syncs and renames once: the Nth call falls in batch n.
        for (int b = 0; b < 5; ++b) {
          if (b == 1) fs.FailNthForTesting(op, n);
          auto txn = (*w)->Begin();
          ASSERT_TRUE(txn.ok());
          auto counts = (*txn)->Commit(MakeBatch(3, 5, static_cast<uint64_t>(b) * 100'000));
          if (counts.ok()) acknowledged += 15;
        }
        EXPECT_EQ(acknowledged, 60) << "exactly one of five publications fails";
      }
      ExpectSoundAfterReopen(dir, master, acknowledged);
    }
  }
}

// Pipelined publication (long ingests): batches are written by the transaction's writer
// thread while the next is prepared; each becomes durable at the next Publish or Finish.
TEST(Warehouse, PublishedBatchesAreAllThereAfterFinish) {
  std::string dir = TempDir("publish") + "/w";
  crypto::Key master = crypto::Key::Random();
  ASSERT_TRUE(Warehouse::Init(RealFileSystem(), dir, master).ok());
  {
    auto w = Warehouse::Open(RealFileSystem(), dir, master);
    ASSERT_TRUE(w.ok());
    auto txn = (*w)->Begin();
    ASSERT_TRUE(txn.ok());
    for (int b = 0; b < 5; ++b) {
      ASSERT_TRUE((*txn)->Publish(MakeBatch(3, 5, static_cast<uint64_t>(b) * 100'000)).ok());
    }
    // The same batch again: duplicates, and the index is not changed by them.
    ASSERT_TRUE((*txn)->Publish(MakeBatch(3, 5, 0)).ok());
    auto counts = (*txn)->Finish();
    ASSERT_TRUE(counts.ok()) << counts.status().ToString();
    txn->reset();
    // Every batch has the same three patient rows: stored once, then duplicates.
    EXPECT_EQ(counts->added, 5 * 15 + 3);
    EXPECT_EQ(counts->duplicates, 5 * 3 + 15);
    auto stats = (*w)->ComputeStats();
    ASSERT_TRUE(stats.ok());
    EXPECT_EQ(stats->events, 75);
    EXPECT_EQ(stats->segments, 6);
  }
  auto reopened = Warehouse::Open(RealFileSystem(), dir, master);
  ASSERT_TRUE(reopened.ok());
  auto stats = (*reopened)->ComputeStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->events, 75);
  EXPECT_EQ(stats->patients, 3);
}

// A failed write, sync or rename of any pipelined batch is reported by the next Publish or
// Finish; the batches committed before it are all there (in the open warehouse's index and
// after reopening), nothing of the failed batch or those after it is.
TEST(Warehouse, APublishedBatchThatFailsLosesOnlyItselfAndWhatFollows) {
  for (auto op : {FaultInjectingFileSystem::Op::kAppend, FaultInjectingFileSystem::Op::kSync,
                  FaultInjectingFileSystem::Op::kRename}) {
    for (int n = 1; n <= 3; ++n) {
      SCOPED_TRACE("op " + std::to_string(static_cast<int>(op)) + " n " + std::to_string(n));
      std::string dir = TempDir("publish_fault") + "/w";
      crypto::Key master = crypto::Key::Random();
      ASSERT_TRUE(Warehouse::Init(RealFileSystem(), dir, master).ok());
      FaultInjectingFileSystem fs(RealFileSystem());
      int committed = -1;  // batches made durable
      {
        auto w = Warehouse::Open(fs, dir, master);
        ASSERT_TRUE(w.ok());
        auto txn = (*w)->Begin();
        ASSERT_TRUE(txn.ok());
        for (int b = 0; b < 5 && committed < 0; ++b) {
          if (b == 2) fs.FailNthForTesting(op, n);
          Status s = (*txn)->Publish(MakeBatch(3, 5, static_cast<uint64_t>(b) * 100'000));
          if (!s.ok()) committed = b - 1;  // Publish(b) commits batch b - 1
        }
        if (committed < 0) {
          auto counts = (*txn)->Finish();
          EXPECT_FALSE(counts.ok()) << "one of the writes failed";
          committed = 4;
        }
        EXPECT_GE(committed, 1);
        txn->reset();
        auto stats = (*w)->ComputeStats();
        ASSERT_TRUE(stats.ok());
        EXPECT_EQ(stats->events, committed * 15) << "the index holds what was committed";
      }
      EXPECT_EQ(ExpectSoundAfterReopen(dir, master, committed * 15), committed);
    }
  }
}

TEST(Warehouse, MergeKeepsTheContentAndRemovesOldSegments) {
  std::string dir = TempDir("merge") + "/w";
  crypto::Key master = crypto::Key::Random();
  ASSERT_TRUE(Warehouse::Init(RealFileSystem(), dir, master).ok());
  auto w = Warehouse::Open(RealFileSystem(), dir, master);
  ASSERT_TRUE(w.ok());
  for (int b = 0; b < kMergeFanIn + 1; ++b) {
    auto txn = (*w)->Begin();
    ASSERT_TRUE(txn.ok());
    // The same patients each time: later batches repeat resources (duplicates).
    ASSERT_TRUE((*txn)->Commit(MakeBatch(5, 4 + b)).ok());
  }
  auto before = (*w)->ComputeStats();
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->segments, kMergeFanIn + 1);
  ASSERT_TRUE((*w)->MaybeMerge().ok());
  auto after = (*w)->ComputeStats();
  EXPECT_EQ(after->segments, 2);  // the eight smallest merged, the largest left
  EXPECT_EQ(after->events, before->events);
  auto reopened = Warehouse::Open(RealFileSystem(), dir, master);
  ASSERT_TRUE(reopened.ok());
  auto again = (*reopened)->ComputeStats();
  EXPECT_EQ(again->events, before->events);
  EXPECT_EQ(again->patients, before->patients);
}

TEST(Warehouse, BackgroundMergesFoldSmallSegmentsWhileWritesGoOn) {
  std::string dir = TempDir("background_merge") + "/w";
  crypto::Key master = crypto::Key::Random();
  ASSERT_TRUE(Warehouse::Init(RealFileSystem(), dir, master).ok());
  auto w = Warehouse::Open(RealFileSystem(), dir, master);
  ASSERT_TRUE(w.ok());
  (*w)->StartBackgroundMerges();
  for (int b = 0; b < 3 * kMergeFanIn; ++b) {
    auto txn = (*w)->Begin();
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE((*txn)->Commit(MakeBatch(4, 3, static_cast<uint64_t>(b + 2) * 10'000'000)).ok());
  }
  int64_t segments = 0;
  for (int wait = 0; wait < 200; ++wait) {
    auto stats = (*w)->ComputeStats();
    ASSERT_TRUE(stats.ok());
    EXPECT_EQ(stats->events, 3 * kMergeFanIn * 12);
    segments = stats->segments;
    if (segments <= kMergeFanIn) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_LE(segments, kMergeFanIn) << "the background merges did not run";
  EXPECT_TRUE((*w)->MergeStatus().ok());
  auto problems = (*w)->Verify();
  ASSERT_TRUE(problems.ok());
  EXPECT_TRUE(problems->empty());
}

}  // namespace
}  // namespace p4dp::store
