#include "store/warehouse.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <set>
#include <unordered_map>

#include "crypto/keyed_hash.h"
#include "crypto/keys.h"
#include "store/segment.h"

namespace p4dp::store {
namespace {

constexpr const char* kCatalogFile = "catalog.db";
constexpr const char* kSegmentsDir = "segments";
constexpr const char* kFormatVersion = "1";

constexpr const char* kWrappedDataKey = "wrapped_data_key";
constexpr const char* kWrappedPseudonymKey = "wrapped_pseudonym_key";
constexpr std::string_view kObjectionAd = "p4dp objection";

// The keys the master key wraps: the data key (random, made at init: segments, quarantine,
// catalog seals) and the pseudonymisation key (derived from the master key in force at init,
// so that warehouses made under one master key give a patient the same pseudonym).
struct WrappedKeys {
  crypto::Key data;
  crypto::Key pseudonym;
};

// Unwrapped from the catalog; for warehouses created before keys were wrapped, what they
// used: the master key itself as the data key, until a rotation wraps them.
Result<WrappedKeys> UnwrapKeys(Catalog& catalog, const crypto::Key& master) {
  WrappedKeys keys;
  auto data = P4DP_TRY(catalog.GetMeta(kWrappedDataKey));
  keys.data = data ? P4DP_TRY(crypto::UnwrapKey(master, *data, "data")) : master;
  auto pseudonym = P4DP_TRY(catalog.GetMeta(kWrappedPseudonymKey));
  keys.pseudonym = pseudonym ? P4DP_TRY(crypto::UnwrapKey(master, *pseudonym, "pseudonym"))
                             : crypto::DeriveKey(master, crypto::KeyPurpose::kPseudonym);
  return keys;
}

Status StoreWrappedKeys(Catalog& catalog, const crypto::Key& master, const WrappedKeys& keys) {
  P4DP_TRY(catalog.SetMeta(kWrappedDataKey, crypto::WrapKey(master, keys.data, "data")));
  return catalog.SetMeta(kWrappedPseudonymKey,
                         crypto::WrapKey(master, keys.pseudonym, "pseudonym"));
}

Result<std::unique_ptr<Catalog>> OpenCheckedCatalog(const std::string& dir,
                                                    const crypto::Key& master) {
  auto catalog = P4DP_TRY(Catalog::Open(dir + "/" + kCatalogFile));
  auto check = P4DP_TRY(catalog->GetMeta("key_check"));
  if (!check) return Status::Corruption("warehouse '" + dir + "' has no key check");
  if (*check != crypto::KeyCheckValue(master)) {
    return Status::PermissionDenied("wrong master key for the warehouse in '" + dir + "'");
  }
  return catalog;
}

// Removes the rows of patients `hidden` says objected; counts what it removed in `r`.
bool FilterBatch(Batch& b, const std::function<bool(const domain::PatientKey&)>& hidden,
                 Days purge_before, EraseResult* r) {
  size_t patients = b.patients.size(), resources = b.resources.size();
  std::erase_if(b.patients, [&](const PatientRecord& p) { return hidden(p.key); });
  std::erase_if(b.resources, [&](const ResourceRecord& p) { return hidden(p.patient); });
  int64_t objected_events = 0, purged = 0;
  std::erase_if(b.events, [&](const EventRecord& e) {
    if (hidden(e.patient)) return ++objected_events, true;
    if (purge_before != kNoDay && e.date < purge_before) return ++purged, true;
    return false;
  });
  bool changed = patients != b.patients.size() || resources != b.resources.size() ||
                 objected_events != 0 || purged != 0;
  if (r != nullptr) {
    r->patients_erased += static_cast<int64_t>(patients - b.patients.size());
    r->resources_erased += static_cast<int64_t>(resources - b.resources.size());
    r->events_erased += objected_events;
    r->events_purged += purged;
  }
  return changed;
}

}  // namespace

Warehouse::Warehouse(FileSystem& fs, std::string dir, std::unique_ptr<Catalog> catalog,
                     const crypto::Key& master, const crypto::Key& data_key,
                     const crypto::Key& pseudonym_key)
    : fs_(fs),
      dir_(std::move(dir)),
      catalog_(std::move(catalog)),
      backup_key_(crypto::DeriveKey(master, crypto::KeyPurpose::kBackup)),
      catalog_key_(crypto::DeriveKey(data_key, crypto::KeyPurpose::kCatalog)),
      segment_key_(crypto::DeriveKey(data_key, crypto::KeyPurpose::kSegments)),
      pseudonym_key_(pseudonym_key),
      quarantine_key_(crypto::DeriveKey(data_key, crypto::KeyPurpose::kQuarantine)) {}

std::string Warehouse::SegmentPath(uint64_t id) const {
  char name[32];
  std::snprintf(name, sizeof name, "%s/%08llu.seg", kSegmentsDir,
                static_cast<unsigned long long>(id));
  return dir_ + "/" + name;
}

Status Warehouse::Init(FileSystem& fs, const std::string& dir, const crypto::Key& master) {
  if (fs.Exists(dir)) {
    auto entries = fs.ListDirectory(dir);
    if (!entries.ok()) return entries.status();
    if (!entries->empty()) {
      return Status::AlreadyExists("cannot create a warehouse in '" + dir +
                                   "': the folder is not empty");
    }
  }
  P4DP_TRY(fs.CreateDirectories(dir + "/" + kSegmentsDir));
  auto catalog = P4DP_TRY(Catalog::Create(dir + "/" + kCatalogFile));
  P4DP_TRY(catalog->Begin());
  P4DP_TRY(catalog->SetMeta("format_version", kFormatVersion));
  P4DP_TRY(catalog->SetMeta("key_check", crypto::KeyCheckValue(master)));
  P4DP_TRY(StoreWrappedKeys(
      *catalog, master,
      {crypto::Key::Random(), crypto::DeriveKey(master, crypto::KeyPurpose::kPseudonym)}));
  P4DP_TRY(catalog->Commit());
  return fs.SyncDirectory(dir);
}

Result<std::unique_ptr<Warehouse>> Warehouse::Open(FileSystem& fs, const std::string& dir,
                                                   const crypto::Key& master) {
  std::string catalog_path = dir + "/" + kCatalogFile;
  if (!fs.Exists(catalog_path)) {
    return Status::NotFound("no warehouse in '" + dir + "' (run p4dp init first)");
  }
  auto catalog = P4DP_TRY(OpenCheckedCatalog(dir, master));
  auto format = P4DP_TRY(catalog->GetMeta("format_version"));
  if (!format || *format != kFormatVersion) {
    return Status::FailedPrecondition("warehouse '" + dir + "' has an unknown format version");
  }
  WrappedKeys keys = P4DP_TRY(UnwrapKeys(*catalog, master));
  std::unique_ptr<Warehouse> w(
      new Warehouse(fs, dir, std::move(catalog), master, keys.data, keys.pseudonym));
  P4DP_TRY(w->RemoveOrphans());
  P4DP_TRY(w->LoadObjections());
  P4DP_TRY(w->LoadIndex());
  {
    std::unique_lock lock(w->mu_);
    P4DP_TRY(w->RefreshFromOtherProcesses());  // records the state just loaded
  }
  return w;
}

// Segment files not in the catalog were written by a batch whose transaction never
// committed (a crash, an I/O error): nothing acknowledged refers to them.
Status Warehouse::RemoveOrphans() {
  auto live = P4DP_TRY(catalog_->LiveSegments());
  std::set<std::string> known;
  for (const SegmentRow& row : live) known.insert(row.file);
  // Segments a merge replaced are removed once the merge committed.
  for (const SegmentRow& row : P4DP_TRY(catalog_->MergedSegments())) {
    std::string path = dir_ + "/" + row.file;
    if (fs_.Exists(path)) P4DP_TRY(fs_.RemoveFile(path));
    P4DP_TRY(catalog_->ForgetSegment(row.id));
  }
  auto names = P4DP_TRY(fs_.ListDirectory(dir_ + "/" + kSegmentsDir));
  for (const std::string& name : names) {
    std::string rel = std::string(kSegmentsDir) + "/" + name;
    if (!known.count(rel)) P4DP_TRY(fs_.RemoveFile(dir_ + "/" + rel));
  }
  return Status::Ok();
}

Status Warehouse::LoadIndex() {
  auto live = P4DP_TRY(catalog_->LiveSegments());
  for (const SegmentRow& row : live) {
    auto batch = ReadSegment(fs_, dir_ + "/" + row.file, row.id, segment_key_, false);
    if (!batch.ok()) return batch.status();
    HideObjected(*batch);
    index_.Apply(*batch);
  }
  return Status::Ok();
}

// The index already holds every resource's winning version (LoadIndex and the transactions
// since): the events are added to it segment by segment, in the order LoadIndex applied them,
// without a second version map.
Status Warehouse::LoadEvents() {
  if (index_.with_events()) return Status::Ok();
  auto live = P4DP_TRY(catalog_->LiveSegments());
  for (const SegmentRow& row : live) {
    auto batch = ReadSegment(fs_, dir_ + "/" + row.file, row.id, segment_key_, true);
    if (!batch.ok()) {
      index_.DropEvents();
      return batch.status();
    }
    HideObjected(*batch);
    index_.AddEventsOf(*batch);
  }
  index_.EndEventsLoad();
  return Status::Ok();
}

Result<std::string> Warehouse::RightsFingerprint() {
  std::string print;
  for (const Catalog::ObjectionRow& row : P4DP_TRY(catalog_->Objections())) {
    print += std::to_string(row.number) + ':' + std::to_string(row.erased) + ';';
  }
  auto purged = P4DP_TRY(catalog_->GetMeta("retention_purged_before"));
  return print + "purged:" + purged.value_or("");
}

Status Warehouse::RefreshFromOtherProcesses() {
  int64_t version = P4DP_TRY(catalog_->DataVersion());
  if (version == seen_data_version_.load()) return Status::Ok();
  std::string rights = P4DP_TRY(RightsFingerprint());
  if (seen_data_version_.load() >= 0 && rights != seen_rights_) {
    P4DP_TRY(LoadObjections());
    P4DP_TRY(ReloadIndex());
  }
  seen_rights_ = std::move(rights);
  seen_data_version_ = version;
  return Status::Ok();
}

Result<std::shared_lock<std::shared_mutex>> Warehouse::ReadLock() const {
  {
    std::shared_lock lock(mu_);
    auto version = catalog_->DataVersion();
    bool fresh = version.ok() && *version == seen_data_version_.load();
    if (fresh && index_.with_events()) return lock;
  }
  {
    std::unique_lock lock(mu_);
    auto* self = const_cast<Warehouse*>(this);
    P4DP_TRY(self->RefreshFromOtherProcesses());
    P4DP_TRY(self->LoadEvents());
  }
  return std::shared_lock(mu_);
}

Warehouse::~Warehouse() {
  if (merger_.joinable()) {
    {
      std::lock_guard lock(merge_mu_);
      merge_stop_ = true;
    }
    merge_cv_.notify_all();
    merger_.join();
  }
}

void Warehouse::StartBackgroundMerges() {
  if (merger_.joinable()) return;
  merger_ = std::thread([this] {
    std::unique_lock lock(merge_mu_);
    for (;;) {
      merge_cv_.wait(lock, [&] { return merge_stop_ || merge_wanted_; });
      if (merge_stop_) return;
      merge_wanted_ = false;
      lock.unlock();
      Status s = MaybeMerge();
      lock.lock();
      if (!s.ok()) merge_status_ = s;
    }
  });
}

Status Warehouse::MergeStatus() const {
  std::lock_guard lock(merge_mu_);
  return merge_status_;
}

// The writer thread of a pipelined transaction. At most one job is not yet committed (the
// last published): Publish commits the previous job before it queues the next.
struct Warehouse::Transaction::Pipeline {
  enum class Fate { kPending, kCommitted, kAbandoned };
  struct Job {
    Batch batch;
    uint64_t id = 0;
    std::string path;
    bool written = false;  // WriteSegment returned: see status and info
    Status status;
    SegmentInfo info;
    Fate fate = Fate::kPending;
  };

  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::shared_ptr<Job>> queue;  // published, not yet taken by the writer
  std::shared_ptr<Job> last;               // published, not yet committed
  bool busy = false;                       // the writer holds a job
  bool stop = false;
  uint64_t next_id = 0;
  ApplyCounts counts;
  Status failed;  // the first error: nothing more is published
  std::thread writer;

  void Run(Warehouse& w) {
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return stop || !queue.empty(); });
        if (stop) return;
        job = std::move(queue.front());
        queue.pop_front();
        busy = true;
      }
      auto info = WriteSegment(w.fs_, job->path, job->id, w.segment_key_, job->batch);
      {
        std::unique_lock lock(mu);
        job->written = true;
        job->status = info.status();
        if (info.ok()) job->info = *info;
        cv.notify_all();
        cv.wait(lock, [&] { return job->fate != Fate::kPending; });
      }
      // The transaction's exclusive lock keeps readers out while the index changes.
      ApplyCounts c;
      if (job->fate == Fate::kCommitted) {
        c = w.index_.Apply(job->batch);
        if (w.commit_observer_) w.commit_observer_(job->batch);
      }
      job->batch = Batch();
      std::lock_guard lock(mu);
      Add(c);
      busy = false;
      cv.notify_all();
    }
  }

  void Add(const ApplyCounts& c) {
    counts.added += c.added;
    counts.replaced += c.replaced;
    counts.duplicates += c.duplicates;
    counts.outdated += c.outdated;
    counts.removed += c.removed;
    for (size_t d = 0; d < c.events_by_domain.size(); ++d) {
      counts.events_by_domain[d] += c.events_by_domain[d];
    }
  }
};

Warehouse::Transaction::Transaction(Warehouse& w) : warehouse_(w), lock_(w.mu_) {}

Warehouse::Transaction::~Transaction() {
  if (pipeline_) {
    {
      std::lock_guard lock(pipeline_->mu);
      if (pipeline_->last) pipeline_->last->fate = Pipeline::Fate::kAbandoned;
      pipeline_->stop = true;
      pipeline_->cv.notify_all();
    }
    pipeline_->writer.join();
  }
  if (!done_) warehouse_.catalog_->Rollback();
}

// Commits the last published job once its segment is written; the catalog is left outside
// any transaction if it did.
Status Warehouse::Transaction::CommitWritten() {
  Pipeline& p = *pipeline_;
  std::shared_ptr<Pipeline::Job> job = std::move(p.last);
  if (!job) return Status::Ok();
  {
    std::unique_lock lock(p.mu);
    p.cv.wait(lock, [&] { return job->written; });
  }
  Catalog& catalog = *warehouse_.catalog_;
  Status s = job->status;
  if (s.ok()) {
    s = catalog.AddSegment({job->id, job->path.substr(warehouse_.dir_.size() + 1), job->info.events,
                            job->info.patients, job->info.resources, job->info.bytes});
  }
  if (s.ok()) s = catalog.Commit();  // the acknowledgement point of the job's batch
  {
    std::lock_guard lock(p.mu);
    job->fate = s.ok() ? Pipeline::Fate::kCommitted : Pipeline::Fate::kAbandoned;
    p.cv.notify_all();
  }
  if (!s.ok()) {
    catalog.Rollback();
    if (warehouse_.fs_.Exists(job->path)) (void)warehouse_.fs_.RemoveFile(job->path);
    p.failed = s;
  }
  return s;
}

Status Warehouse::Transaction::Publish(Batch batch) {
  P4DP_ASSERT(!done_);
  Catalog& catalog = *warehouse_.catalog_;
  if (!pipeline_) {
    auto next = catalog.NextSegmentId();
    if (!next.ok()) return next.status();
    pipeline_ = std::make_unique<Pipeline>();
    pipeline_->next_id = *next;
    pipeline_->writer = std::thread([this] { pipeline_->Run(warehouse_); });
  }
  Pipeline& p = *pipeline_;
  P4DP_TRY(p.failed);
  bool had_job = p.last != nullptr;
  P4DP_TRY(CommitWritten());
  if (had_job) {
    Status s = catalog.Begin();
    if (!s.ok()) {
      p.failed = s;
      return s;
    }
  }
  // Ingestion refuses objecting patients' records; a batch from elsewhere is filtered too.
  warehouse_.HideObjected(batch);
  if (batch.empty()) return Status::Ok();
  auto job = std::make_shared<Pipeline::Job>();
  job->batch = std::move(batch);
  job->id = p.next_id++;
  job->path = warehouse_.SegmentPath(job->id);
  std::lock_guard lock(p.mu);
  p.queue.push_back(job);
  p.last = std::move(job);
  p.cv.notify_all();
  return Status::Ok();
}

Result<ApplyCounts> Warehouse::Transaction::Finish() {
  P4DP_ASSERT(!done_);
  Catalog& catalog = *warehouse_.catalog_;
  if (!pipeline_) {
    done_ = true;
    P4DP_TRY(catalog.Commit());
    return ApplyCounts{};
  }
  Pipeline& p = *pipeline_;
  P4DP_TRY(p.failed);
  bool had_job = p.last != nullptr;
  P4DP_TRY(CommitWritten());
  if (!had_job) P4DP_TRY(catalog.Commit());
  done_ = true;
  ApplyCounts counts;
  {
    std::unique_lock lock(p.mu);
    p.cv.wait(lock, [&] { return p.queue.empty() && !p.busy; });
    counts = p.counts;
  }
  Warehouse& w = warehouse_;
  if (w.merger_.joinable()) {
    std::lock_guard lock(w.merge_mu_);
    w.merge_wanted_ = true;
    w.merge_cv_.notify_all();
  }
  return counts;
}

Result<std::unique_ptr<Warehouse::Transaction>> Warehouse::Begin() {
  std::unique_ptr<Transaction> t(new Transaction(*this));
  P4DP_TRY(catalog_->Begin());
  return t;
}

// One batch: published, then finished (the same path as a long ingest's last batch).
Result<ApplyCounts> Warehouse::Transaction::Commit(Batch batch) {
  P4DP_TRY(Publish(std::move(batch)));
  return Finish();
}

Result<bool> Warehouse::MergeOnce() {
  std::vector<SegmentRow> small;
  {
    std::shared_lock lock(mu_);
    for (const SegmentRow& row : P4DP_TRY(catalog_->LiveSegments())) {
      if (row.events < kSmallSegmentEvents) small.push_back(row);
    }
  }
  if (static_cast<int>(small.size()) < kMergeFanIn) return false;
  std::sort(small.begin(), small.end(),
            [](const SegmentRow& a, const SegmentRow& b) { return a.events < b.events; });
  small.resize(kMergeFanIn);
  // Winners among the merged segments only: a record that loses to another record of the
  // same set is dropped; tombstones that win are kept, to keep hiding older versions. A
  // winning version stored in several segments is kept once, with the events of the first.
  std::vector<Batch> parts;
  std::unordered_map<uint64_t, Version> best;
  auto consider = [&](uint64_t key, const Version& v) {
    auto [it, inserted] = best.try_emplace(key, v);
    if (!inserted && v > it->second) it->second = v;
  };
  for (const SegmentRow& row : small) {
    parts.push_back(P4DP_TRY(ReadSegment(fs_, dir_ + "/" + row.file, row.id, segment_key_)));
    for (const auto& r : parts.back().patients) consider(r.resource_key, r.version);
    for (const auto& r : parts.back().resources) consider(r.resource_key, r.version);
  }
  Batch merged;
  std::unordered_map<uint64_t, size_t> kept_from;  // resource key -> part that supplies it
  for (size_t i = 0; i < parts.size(); ++i) {
    for (auto& r : parts[i].patients) {
      if (best[r.resource_key] == r.version && kept_from.try_emplace(r.resource_key, i).second) {
        merged.patients.push_back(std::move(r));
      }
    }
    for (auto& r : parts[i].resources) {
      if (best[r.resource_key] == r.version && kept_from.try_emplace(r.resource_key, i).second) {
        merged.resources.push_back(r);
      }
    }
    for (auto& e : parts[i].events) {
      auto it = kept_from.find(e.resource_key);
      if (it != kept_from.end() && it->second == i &&
          best[e.resource_key].content_hash == e.content_hash) {
        merged.events.push_back(std::move(e));
      }
    }
    parts[i] = Batch();
  }
  std::unique_lock lock(mu_);
  // An erasure may have replaced some of them meanwhile: then this merge is stale.
  {
    std::set<uint64_t> live_now;
    for (const SegmentRow& row : P4DP_TRY(catalog_->LiveSegments())) live_now.insert(row.id);
    for (const SegmentRow& row : small) {
      if (!live_now.count(row.id)) return true;
    }
  }
  // Merging erases the rows of objecting patients too.
  if (!objected_.empty()) {
    FilterBatch(
        merged, [this](const domain::PatientKey& k) { return objected_.count(k) != 0; }, kNoDay,
        nullptr);
  }
  P4DP_TRY(catalog_->Begin());
  auto id = catalog_->NextSegmentId();
  if (!id.ok()) {
    catalog_->Rollback();
    return id.status();
  }
  std::string path = SegmentPath(*id);
  auto info = WriteSegment(fs_, path, *id, segment_key_, merged);
  Status s = info.status();
  std::vector<uint64_t> old_ids;
  for (const SegmentRow& row : small) old_ids.push_back(row.id);
  if (s.ok()) {
    s = catalog_->ReplaceSegments(old_ids, {*id, path.substr(dir_.size() + 1), info->events,
                                            info->patients, info->resources, info->bytes});
  }
  if (s.ok()) s = catalog_->Commit();
  if (!s.ok()) {
    catalog_->Rollback();
    if (fs_.Exists(path)) (void)fs_.RemoveFile(path);
    return s;
  }
  P4DP_TRY(RemoveMergedFiles());
  return true;
}

Status Warehouse::MaybeMerge() {
  for (;;) {
    bool merged = P4DP_TRY(MergeOnce());
    if (!merged) return Status::Ok();
  }
}

Status Warehouse::Read(const std::function<void(const Index&, const Catalog&)>& fn) const {
  auto lock = P4DP_TRY(ReadLock());
  fn(index_, *catalog_);
  return Status::Ok();
}

Result<Stats> Warehouse::ComputeStats() {
  Stats stats;
  auto lock = P4DP_TRY(ReadLock());
  stats.patients = static_cast<int64_t>(index_.patient_count());
  stats.resources = static_cast<int64_t>(index_.resource_count());
  const auto& sources = catalog_->sources();
  // Events counted by kind, then the kinds' counts added by domain and source.
  const EventKinds& kinds = index_.kinds();
  std::vector<int64_t> by_kind(kinds.size(), 0);
  for (domain::PatientIndex p = 0; p < index_.patient_count(); ++p) {
    const PatientEvents& events = index_.patient(p).events;
    if (!events.empty()) ++stats.patients_with_events;
    uint32_t begin = 0;
    for (const PatientEvents::Group& g : events.groups()) {
      by_kind[g.kind] += g.end - begin;
      begin = g.end;
    }
  }
  for (uint32_t k = 0; k < kinds.size(); ++k) {
    if (by_kind[k] == 0) continue;
    EventKind kind = kinds[k];
    stats.events += by_kind[k];
    stats.events_by_domain[static_cast<size_t>(kind.domain)] += by_kind[k];
    stats.events_by_source[kind.source < sources.size() ? sources[kind.source] : "?"] += by_kind[k];
  }
  IndexMemory memory = index_.Memory();
  stats.index_bytes = memory.index_bytes;
  stats.version_map_bytes = memory.version_map_bytes;
  auto live = P4DP_TRY(catalog_->LiveSegments());
  stats.segments = static_cast<int64_t>(live.size());
  stats.quarantined_by_reason = P4DP_TRY(catalog_->QuarantineCounts());
  std::error_code ec;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_, ec)) {
    if (entry.is_regular_file(ec)) stats.bytes_on_disk += static_cast<int64_t>(entry.file_size(ec));
  }
  return stats;
}

Result<std::vector<Catalog::QuarantineRow>> Warehouse::Quarantined(int64_t limit) {
  std::shared_lock lock(mu_);
  return catalog_->QuarantineRows(limit);
}

Result<std::vector<std::string>> Warehouse::Verify() {
  std::vector<SegmentRow> live;
  {
    std::shared_lock lock(mu_);
    live = P4DP_TRY(catalog_->LiveSegments());
  }
  std::vector<std::string> problems;
  for (const SegmentRow& row : live) {
    auto found = VerifySegment(fs_, dir_ + "/" + row.file, row.id, segment_key_);
    if (!found.ok()) {
      problems.push_back(row.file + ": " + found.status().message());
      continue;
    }
    for (const std::string& p : *found) problems.push_back(row.file + ": " + p);
  }
  return problems;
}

Status Warehouse::RemoveMergedFiles() {
  {
    std::lock_guard lock(backup_mu_);
    if (backups_active_ > 0) return Status::Ok();  // removed by a later merge or open
  }
  for (const SegmentRow& row : P4DP_TRY(catalog_->MergedSegments())) {
    std::string path = dir_ + "/" + row.file;
    if (fs_.Exists(path)) P4DP_TRY(fs_.RemoveFile(path));
    P4DP_TRY(catalog_->ForgetSegment(row.id));
  }
  return Status::Ok();
}

domain::PatientKey Warehouse::ObjectionAlias(const domain::PatientKey& patient) const {
  crypto::Digest d = crypto::KeyedHasher(catalog_key_)
                         .Add("objection")
                         .Add(std::string_view(reinterpret_cast<const char*>(patient.bytes.data()),
                                               patient.bytes.size()))
                         .Finish();
  domain::PatientKey alias;
  std::memcpy(alias.bytes.data(), d.data(), d.size());
  return alias;
}

Status Warehouse::LoadObjections() {
  objected_.clear();
  for (const Catalog::ObjectionRow& row : P4DP_TRY(catalog_->Objections())) {
    auto plain = crypto::Open(catalog_key_, row.sealed, kObjectionAd);
    if (!plain.ok() || plain->size() != sizeof(domain::PatientKey::bytes)) {
      return Status::Corruption("catalog: objection " + std::to_string(row.number) +
                                ": authentication failed");
    }
    domain::PatientKey key;
    std::memcpy(key.bytes.data(), plain->data(), key.bytes.size());
    if (ObjectionAlias(key).bytes != row.id) {
      return Status::Corruption("catalog: objection " + std::to_string(row.number) +
                                ": id does not match");
    }
    objected_.insert(key);
    objected_.insert(ObjectionAlias(key));
  }
  return Status::Ok();
}

void Warehouse::HideObjected(Batch& batch) const {
  if (objected_.empty()) return;
  FilterBatch(
      batch, [this](const domain::PatientKey& k) { return objected_.count(k) != 0; }, kNoDay,
      nullptr);
}

bool Warehouse::IsObjected(const domain::PatientKey& patient) const {
  return !objected_.empty() && objected_.count(patient) != 0;
}

Status Warehouse::ReloadIndex() {
  index_ = Index(false);
  P4DP_TRY(LoadIndex());
  if (reload_observer_) reload_observer_();
  return Status::Ok();
}

Result<int64_t> Warehouse::RecordObjection(const domain::PatientKey& patient, Days today) {
  std::unique_lock lock(mu_);
  // A key that is already an objection's alias (a local id whose links were erased).
  for (const Catalog::ObjectionRow& row : P4DP_TRY(catalog_->Objections())) {
    if (row.id == patient.bytes) return row.number;
  }
  domain::PatientKey alias = ObjectionAlias(patient);
  std::string sealed = crypto::Seal(
      catalog_key_,
      std::string_view(reinterpret_cast<const char*>(patient.bytes.data()), patient.bytes.size()),
      kObjectionAd);
  P4DP_TRY(catalog_->Begin());
  Status s = catalog_->AddObjection(alias.bytes, sealed, today);
  if (s.ok()) s = catalog_->Commit();
  if (!s.ok()) {
    catalog_->Rollback();
    return s;
  }
  bool added = objected_.insert(patient).second;
  objected_.insert(alias);
  if (added) {
    // The patient leaves the index now; their data leaves the segments at Erase.
    Status reloaded = ReloadIndex();
    if (!reloaded.ok()) return reloaded;
  }
  for (const Catalog::ObjectionRow& row : P4DP_TRY(catalog_->Objections())) {
    if (row.id == alias.bytes) return row.number;
  }
  return Status::Internal("objection not found after it was recorded");
}

Status Warehouse::ImportObjections(const std::vector<Catalog::ObjectionRow>& rows) {
  std::unique_lock lock(mu_);
  P4DP_TRY(catalog_->Begin());
  Status s;
  for (const Catalog::ObjectionRow& row : rows) {
    auto plain = crypto::Open(catalog_key_, row.sealed, kObjectionAd);
    if (!plain.ok() || plain->size() != sizeof(domain::PatientKey::bytes)) {
      s = Status::PermissionDenied("objection " + std::to_string(row.number) +
                                   " was recorded by a warehouse with another data key");
      break;
    }
    s = catalog_->AddObjection(row.id, row.sealed, row.recorded);
    if (!s.ok()) break;
  }
  if (s.ok()) s = catalog_->Commit();
  if (!s.ok()) {
    catalog_->Rollback();
    return s;
  }
  P4DP_TRY(LoadObjections());
  return ReloadIndex();
}

namespace {
ObjectionStatus ToStatus(const Catalog::ObjectionRow& row) {
  ObjectionStatus st;
  st.number = row.number;
  st.recorded = row.recorded;
  if (row.erased != Catalog::kNoErasure) st.erased = row.erased;
  return st;
}
}  // namespace

Result<std::optional<ObjectionStatus>> Warehouse::FindObjection(const domain::PatientKey& patient) {
  std::shared_lock lock(mu_);
  domain::PatientKey alias = ObjectionAlias(patient);
  for (const Catalog::ObjectionRow& row : P4DP_TRY(catalog_->Objections())) {
    if (row.id == alias.bytes || row.id == patient.bytes) {
      return std::optional<ObjectionStatus>(ToStatus(row));
    }
  }
  return std::optional<ObjectionStatus>();
}

Result<std::vector<ObjectionStatus>> Warehouse::Objections() {
  std::shared_lock lock(mu_);
  std::vector<ObjectionStatus> out;
  for (const Catalog::ObjectionRow& row : P4DP_TRY(catalog_->Objections())) {
    out.push_back(ToStatus(row));
  }
  return out;
}

// Writes, for each live segment that holds rows of objecting patients or events before
// `purge_before`, a new segment without them (nothing when none is left). The new files are
// orphans until the caller publishes them; on an error they are removed.
Status Warehouse::RewriteSegments(Days purge_before, SegmentRewrite& out, EraseResult& result) {
  auto hidden = [this](const domain::PatientKey& k) { return objected_.count(k) != 0; };
  uint64_t next_id = P4DP_TRY(catalog_->NextSegmentId());
  Status s;
  for (const SegmentRow& row : P4DP_TRY(catalog_->LiveSegments())) {
    auto batch = ReadSegment(fs_, dir_ + "/" + row.file, row.id, segment_key_);
    if (!batch.ok()) {
      s = batch.status();
      break;
    }
    if (!FilterBatch(*batch, hidden, purge_before, &result)) continue;
    out.replaced.push_back(row.id);
    if (batch->empty()) {
      ++result.segments_removed;
      continue;
    }
    uint64_t id = next_id++;
    std::string path = SegmentPath(id);
    auto info = WriteSegment(fs_, path, id, segment_key_, *batch);
    if (!info.ok()) {
      s = info.status();
      break;
    }
    out.written.push_back({id, path.substr(dir_.size() + 1), info->events, info->patients,
                           info->resources, info->bytes});
    ++result.segments_rewritten;
  }
  if (!s.ok()) out.Discard(fs_, dir_);
  return s;
}

void Warehouse::SegmentRewrite::Discard(FileSystem& fs, const std::string& dir) const {
  for (const SegmentRow& row : written) (void)fs.RemoveFile(dir + "/" + row.file);
}

Result<EraseResult> Warehouse::Erase(const EraseOptions& options) {
  std::unique_lock lock(mu_);
  EraseResult result;
  auto objections = P4DP_TRY(catalog_->Objections());
  int64_t last_objection = objections.empty() ? 0 : objections.back().number;
  // New segments are written first, then published with the rest in one catalog
  // transaction.
  SegmentRewrite rewrite;
  P4DP_TRY(RewriteSegments(options.purge_before, rewrite, result));
  const std::vector<uint64_t>& replaced = rewrite.replaced;
  const std::vector<SegmentRow>& written = rewrite.written;
  auto discard = [&] { rewrite.Discard(fs_, dir_); };
  Status s = catalog_->Begin();
  if (!s.ok()) {
    discard();
    return s;
  }
  s = catalog_->MarkSegmentsMerged(replaced);
  for (size_t i = 0; s.ok() && i < written.size(); ++i) s = catalog_->AddSegment(written[i]);
  std::set<LinkHash> aliases;
  for (const Catalog::ObjectionRow& row : objections) aliases.insert(row.id);
  if (s.ok()) {
    s = catalog_->RedirectPatientLinks(
        [&](const domain::PatientKey& k) -> std::optional<domain::PatientKey> {
          // Links already redirected lead to an alias, which is in objected_ too.
          if (!objected_.count(k) || aliases.count(k.bytes)) return std::nullopt;
          ++result.links_redirected;
          return ObjectionAlias(k);
        });
  }
  if (s.ok()) s = catalog_->DeleteQuarantine(options.quarantine_ids);
  if (s.ok()) s = catalog_->MarkObjectionsErased(last_objection, options.today);
  if (s.ok() && options.purge_before != kNoDay) {
    s = catalog_->SetMeta("retention_purged_before", std::to_string(options.purge_before));
    if (s.ok()) s = catalog_->SetMeta("retention_purged_on", std::to_string(options.today));
  }
  if (s.ok()) s = catalog_->Commit();
  if (!s.ok()) {
    catalog_->Rollback();
    discard();
    return s;
  }
  result.quarantined_erased = static_cast<int64_t>(options.quarantine_ids.size());
  // The old files hold the erased data: wait for backups that may be copying them.
  {
    std::unique_lock backup_lock(backup_mu_);
    backup_cv_.wait(backup_lock, [&] { return backups_active_ == 0; });
  }
  P4DP_TRY(RemoveMergedFiles());
  P4DP_TRY(catalog_->Checkpoint());
  P4DP_TRY(ReloadIndex());
  return result;
}

Result<BackupInfo> Warehouse::Backup(const std::string& path, const crypto::Key& master,
                                     const BackupOptions& options) {
  {
    std::lock_guard lock(backup_mu_);
    ++backups_active_;
  }
  auto info = WriteBackup(fs_, dir_, master, path, options);
  {
    std::lock_guard lock(backup_mu_);
    --backups_active_;
  }
  backup_cv_.notify_all();
  return info;
}

Status Warehouse::RotateMasterKey(const std::string& dir, const crypto::Key& old_master,
                                  const crypto::Key& new_master,
                                  const std::function<void()>& before_commit_for_testing) {
  auto catalog = P4DP_TRY(OpenCheckedCatalog(dir, old_master));
  WrappedKeys keys = P4DP_TRY(UnwrapKeys(*catalog, old_master));
  P4DP_TRY(catalog->Begin());
  Status s = StoreWrappedKeys(*catalog, new_master, keys);
  if (s.ok()) s = catalog->SetMeta("key_check", crypto::KeyCheckValue(new_master));
  if (s.ok() && before_commit_for_testing) before_commit_for_testing();
  if (s.ok()) s = catalog->Commit();
  if (!s.ok()) {
    catalog->Rollback();
    return s;
  }
  return catalog->Checkpoint();
}

}  // namespace p4dp::store
