// A warehouse: a data folder holding the catalog (catalog.db), the sealed segments
// (segments/NNNNNNNN.seg) and the key check, opened with the master key. It publishes
// batches durably (one segment file synced and renamed, then one catalog transaction:
// acknowledged means both are on disk), keeps the in-memory index current, merges small
// segments, verifies every block and reports statistics. It also keeps the patients'
// objections (right to object): an objecting patient is hidden from the index at once and
// erased from every segment, link and quarantined record by Erase, which also purges events
// older than the retention limit; and it rotates the master key (the data key is wrapped).
// Objections and erasures that another process (`p4dp optout`, `p4dp purge`) commits to the
// catalog are picked up by the next read (see ReadLock).
// Thread-safety: all methods may be called from several threads. A Transaction holds the
// warehouse exclusively for its lifetime (readers wait for it: keep batches short when a
// server is reading); readers see the state before a publication or after it.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "base/file_system.h"
#include "crypto/aead.h"
#include "store/backup.h"
#include "store/catalog.h"
#include "store/index.h"
#include "store/records.h"

namespace p4dp::store {

// Small segments (live pushes, the tail of an ingest) are merged kMergeFanIn at a time, so
// that readers do not face thousands of tiny files; full ingest batches are left alone.
inline constexpr int kMergeFanIn = 8;
inline constexpr int64_t kSmallSegmentEvents = 50'000;

struct Stats {
  int64_t patients = 0;
  int64_t patients_with_events = 0;
  int64_t events = 0;
  int64_t resources = 0;
  std::array<int64_t, domain::kDomainCount> events_by_domain{};
  std::map<std::string, int64_t> events_by_source;
  int64_t segments = 0;
  int64_t bytes_on_disk = 0;
  int64_t index_bytes = 0;        // the in-memory index (IndexMemory::index_bytes)
  int64_t version_map_bytes = 0;  // the resource version map (IndexMemory::version_map_bytes)
  std::map<std::string, int64_t> quarantined_by_reason;
};

inline constexpr int kRetentionYearsDefault = 20;

// What Erase does besides removing the objecting patients' data.
struct EraseOptions {
  Days today = 0;  // the day recorded as the erasure's
  // Events dated before this day are purged too (retention); kNoDay: none.
  Days purge_before = kNoDay;
  // Quarantined records (catalog ids) that belong to objecting patients: the caller finds
  // them, since reading a quarantined record is ingest's business.
  std::vector<int64_t> quarantine_ids;
};

struct EraseResult {
  int64_t segments_rewritten = 0;
  int64_t segments_removed = 0;  // left empty by the erasure
  int64_t patients_erased = 0;   // patient rows removed
  int64_t resources_erased = 0;
  int64_t events_erased = 0;  // of objecting patients
  int64_t events_purged = 0;  // older than purge_before (of other patients)
  int64_t quarantined_erased = 0;
  int64_t links_redirected = 0;
};

struct ObjectionStatus {
  int64_t number = 0;
  Days recorded = 0;
  std::optional<Days> erased;  // set once Erase has run after it was recorded
};

class Warehouse {
 public:
  // Creates a new warehouse in `dir` (which must not exist or be empty), bound to `master`:
  // a random data key is created and stored wrapped under the master key, with the
  // pseudonymisation key (derived from `master`, so the same for every warehouse made under
  // it).
  static Status Init(FileSystem& fs, const std::string& dir, const crypto::Key& master);
  // Opens a warehouse. A wrong master key fails with PermissionDenied before anything is
  // read or changed. Removes segment files that no catalog transaction published (left by a
  // crash), then loads the index from the live segments.
  static Result<std::unique_ptr<Warehouse>> Open(FileSystem& fs, const std::string& dir,
                                                 const crypto::Key& master);

  const crypto::Key& pseudonym_key() const { return pseudonym_key_; }
  const crypto::Key& quarantine_key() const { return quarantine_key_; }
  const std::string& dir() const { return dir_; }

  // Rewraps the data key of the warehouse in `dir` under `new_master`, in one catalog
  // transaction (with the new key check): afterwards `old_master` fails to open it with
  // PermissionDenied and `new_master` opens it; a crash leaves one or the other in force.
  // No segment is rewritten. The warehouse must not be open elsewhere in this process.
  // `before_commit_for_testing`, if set, runs inside the transaction just before the commit.
  static Status RotateMasterKey(const std::string& dir, const crypto::Key& old_master,
                                const crypto::Key& new_master,
                                const std::function<void()>& before_commit_for_testing = {});

  // Right to object. Records an objection for `patient` (idempotent) on `today`, and hides
  // the patient from the index at once (readers see the counts without them as soon as this
  // returns). The data stays in the segments until Erase. Returns the objection's number.
  Result<int64_t> RecordObjection(const domain::PatientKey& patient, Days today);
  // Objections recorded in another warehouse of the same lineage (a backup's source),
  // added here unless present; fails if they were sealed under another data key.
  Status ImportObjections(const std::vector<Catalog::ObjectionRow>& rows);
  // Whether `patient` objected (or is the pseudonym its links lead to after erasure).
  // Ingestion calls it while holding a Transaction; others under no lock of theirs.
  bool IsObjected(const domain::PatientKey& patient) const;
  bool HasObjections() const { return !objected_.empty(); }
  // The pseudonym that an objecting patient's links lead to once erased (a keyed hash of the
  // patient key): ingestion links a refused patient's references to it, so that their other
  // records are refused too without the key being written anywhere.
  domain::PatientKey ObjectionAlias(const domain::PatientKey& patient) const;
  Result<std::optional<ObjectionStatus>> FindObjection(const domain::PatientKey& patient);
  Result<std::vector<ObjectionStatus>> Objections();

  // Rewrites every live segment that holds data of an objecting patient (or, with
  // options.purge_before, events older than it) without that data, in one catalog
  // transaction that also redirects their links, deletes the given quarantined records and
  // marks the objections erased; then removes the old files, truncates the catalog's log
  // and reloads the index. Holds the warehouse exclusively throughout.
  Result<EraseResult> Erase(const EraseOptions& options);

  // Writes a consistent, encrypted backup of the warehouse to `path` (WriteBackup, with the
  // master key it was opened with) without stopping writers: merged segment files are kept
  // until it ends.
  Result<BackupInfo> Backup(const std::string& path, const crypto::Key& master,
                            const BackupOptions& options = {});

  // A write transaction: the catalog changes made through `catalog()` (codes, links,
  // quarantine) and the batch given to Commit become durable together, or not at all.
  // Returns the counts of what the batch changed.
  //
  // Long ingests publish batch after batch instead: Publish hands a batch to a writer thread,
  // which writes its segment while the caller stages the next batch (adding catalog rows
  // meanwhile). A written segment becomes durable at the caller's next Publish or Finish,
  // by one catalog commit that also carries the rows added since (codes, links, quarantine:
  // harmless before their segment, and idempotent when the input is ingested again); the
  // writer applies it to the index only after that commit. An error of any batch is
  // returned by the next Publish or Finish; the batches not committed by then are lost as a
  // whole (their segment files are orphans) and the index holds exactly what was committed.
  class Transaction {
   public:
    ~Transaction();
    Catalog& catalog() { return *warehouse_.catalog_; }
    // One batch: Publish then Finish.
    Result<ApplyCounts> Commit(Batch batch);
    Status Publish(Batch batch);
    // Commits the last published batch, waits until the index holds every batch, and
    // returns what they changed; ends the transaction.
    Result<ApplyCounts> Finish();

   private:
    friend class Warehouse;
    struct Pipeline;
    explicit Transaction(Warehouse& w);
    Status CommitWritten();
    Warehouse& warehouse_;
    std::unique_lock<std::shared_mutex> lock_;
    std::unique_ptr<Pipeline> pipeline_;
    bool done_ = false;
  };
  Result<std::unique_ptr<Transaction>> Begin();

  // While there are at least kMergeFanIn small live segments, merges the kMergeFanIn
  // smallest into one, keeping only the winning versions. Readers are not blocked while it
  // reads and writes.
  Status MaybeMerge();

  // Starts a background thread that runs MaybeMerge after publications (for `p4dp serve`,
  // where live pushes make many small segments). Stopped by the destructor. A failed merge
  // is kept for MergeStatus() and leaves the warehouse as it was.
  void StartBackgroundMerges();
  Status MergeStatus() const;
  ~Warehouse();

  // Called with each batch once it is committed and applied to the index, on the thread that
  // applies it, while the warehouse is held exclusively: it must be quick and must not call
  // the warehouse (the surveillance series note the patients a batch touched). Set it before
  // the first transaction.
  void SetCommitObserver(std::function<void(const Batch&)> observer) {
    commit_observer_ = std::move(observer);
  }

  // Called after the index was rebuilt from the segments (an objection recorded, an erasure
  // or purge), on that thread, while the warehouse is held exclusively: anything derived
  // from the index (the surveillance series) must be rebuilt. Quick, must not call the
  // warehouse. Set it before the first objection.
  void SetReloadObserver(std::function<void()> observer) { reload_observer_ = std::move(observer); }

  // Reads under the shared lock: `fn` sees a consistent index, with its events (loaded from
  // the segments at the first read). Fails if a segment cannot be read.
  Status Read(const std::function<void(const Index&, const Catalog&)>& fn) const;

  Result<Stats> ComputeStats();
  Result<std::vector<Catalog::QuarantineRow>> Quarantined(int64_t limit);
  // One line per problem ("segments/00000003.seg: block 2: authentication failed").
  Result<std::vector<std::string>> Verify();

 private:
  Warehouse(FileSystem& fs, std::string dir, std::unique_ptr<Catalog> catalog,
            const crypto::Key& master, const crypto::Key& data_key,
            const crypto::Key& pseudonym_key);
  Status LoadObjections();
  // Drops the rows of objecting patients from a batch read from a segment.
  void HideObjected(Batch& batch) const;
  // Rebuilds the index from the live segments (events loaded at the next read). Requires
  // the exclusive lock.
  Status ReloadIndex();
  // Removes the files of merged segments, unless a backup is copying files.
  Status RemoveMergedFiles();
  // Erase's first step: the segments it replaces and those it wrote (not yet published).
  struct SegmentRewrite {
    std::vector<uint64_t> replaced;
    std::vector<SegmentRow> written;
    void Discard(FileSystem& fs, const std::string& dir) const;
  };
  Status RewriteSegments(Days purge_before, SegmentRewrite& out, EraseResult& result);
  Status RemoveOrphans();
  // One merge of the kMergeFanIn smallest small segments; false if there were too few.
  Result<bool> MergeOnce();
  // Loads resource versions and patient rows (not events) from every live segment.
  Status LoadIndex();
  // Loads the events too, the first time a reader needs them. Requires the exclusive lock.
  Status LoadEvents();
  // Takes the shared lock with the events loaded, after RefreshFromOtherProcesses.
  Result<std::shared_lock<std::shared_mutex>> ReadLock() const;
  // When another process committed to the catalog (its data_version moved) and the
  // objections, their erasure or the retention purge changed, reloads the objections and
  // the index (the surveillance observer too): a server hides a patient who objected through
  // the command line at its next read. Ingests and merges of other processes are not picked
  // up (the catalog's dictionaries are cached). Requires the exclusive lock.
  Status RefreshFromOtherProcesses();
  // What RefreshFromOtherProcesses compares: the objections (number, erasure day) and the
  // retention purge day.
  Result<std::string> RightsFingerprint();
  std::string SegmentPath(uint64_t id) const;

  FileSystem& fs_;
  std::string dir_;
  std::unique_ptr<Catalog> catalog_;
  crypto::Key backup_key_;   // from the master key
  crypto::Key catalog_key_;  // from the data key: seals objections
  crypto::Key segment_key_;
  crypto::Key pseudonym_key_;
  crypto::Key quarantine_key_;
  // Exclusive for a transaction or the last step of a merge; shared for readers.
  mutable std::shared_mutex mu_;
  // Background merges: woken after each publication.
  mutable std::mutex merge_mu_;
  std::condition_variable merge_cv_;
  bool merge_wanted_ = false;
  bool merge_stop_ = false;
  Status merge_status_;
  std::thread merger_;
  mutable Index index_{false};
  std::function<void(const Batch&)> commit_observer_;
  std::function<void()> reload_observer_;
  mutable Status events_status_;
  // Objecting patients and the pseudonyms their links lead to; changed only under the
  // exclusive lock.
  std::unordered_set<domain::PatientKey, PatientKeyHasher> objected_;
  // The catalog's data_version and RightsFingerprint when last checked (under mu_; the
  // version also read under the shared lock, hence atomic).
  std::atomic<int64_t> seen_data_version_{-1};
  std::string seen_rights_;
  // Backups copying segment files: merged files are not removed meanwhile.
  std::mutex backup_mu_;
  std::condition_variable backup_cv_;
  int backups_active_ = 0;
};

}  // namespace p4dp::store
