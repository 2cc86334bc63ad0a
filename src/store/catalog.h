// The catalog: one SQLite database in the data folder that says which segments are live,
// names sources, codes and units by number, links source patient references to patient
// keys (both as keyed hashes), and holds the encrypted quarantine. A batch is published by
// one transaction, so a segment is either part of the warehouse or an orphan file that the
// next open removes. Nothing in it is patient data in clear. One thread at a time; the
// Warehouse serialises access.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/date.h"
#include "base/status.h"
#include "domain/patient.h"
#include "store/flat_map.h"

struct sqlite3;
struct sqlite3_stmt;

namespace p4dp::store {

struct SegmentRow {
  uint64_t id = 0;
  std::string file;  // relative to the data folder
  int64_t events = 0;
  int64_t patients = 0;
  int64_t resources = 0;
  int64_t bytes = 0;
};

struct CodeName {
  std::string system;
  std::string code;
};

using LinkHash = std::array<uint8_t, 32>;

struct LinkHashHasher {
  size_t operator()(const LinkHash& h) const {
    size_t v;
    static_assert(sizeof v <= sizeof h);
    std::memcpy(&v, h.data(), sizeof v);
    return v;
  }
};

class Catalog {
 public:
  // Creates a new catalog; fails if the file exists.
  static Result<std::unique_ptr<Catalog>> Create(const std::string& path);
  // Opens an existing catalog and loads its dictionaries.
  static Result<std::unique_ptr<Catalog>> Open(const std::string& path);
  ~Catalog();

  Result<std::optional<std::string>> GetMeta(const std::string& key);
  Status SetMeta(const std::string& key, const std::string& value);
  Status RemoveMeta(const std::string& key);

  // One write transaction at a time. The dictionaries' in-memory caches roll back with it.
  Status Begin();
  Status Commit();
  void Rollback();

  Result<uint32_t> SourceId(const std::string& name);
  Result<uint32_t> CodeId(std::string_view system, std::string_view code);
  // The same, found first by `hash` (any 64-bit hash of the pair the caller computes the
  // same way every time); the strings are checked, so a collision only costs the slow path.
  Result<uint32_t> CodeId(std::string_view system, std::string_view code, uint64_t hash);
  Result<uint32_t> UnitId(const std::string& unit);              // 0 for ""
  const std::vector<CodeName>& codes() const { return codes_; }  // by id; [0] unused
  const std::vector<std::string>& units() const { return units_; }
  const std::vector<std::string>& sources() const { return sources_; }

  Result<uint64_t> NextSegmentId();
  Status AddSegment(const SegmentRow& row);
  // Marks `old_ids` merged and adds `merged` in one step (inside the caller's transaction).
  Status ReplaceSegments(const std::vector<uint64_t>& old_ids, const SegmentRow& merged);
  Result<std::vector<SegmentRow>> LiveSegments();
  Result<std::vector<SegmentRow>> MergedSegments();
  Status ForgetSegment(uint64_t id);

  std::optional<domain::PatientKey> FindPatientLink(const LinkHash& link) const;
  Status AddPatientLink(const LinkHash& link, const domain::PatientKey& key);
  size_t patient_links() const { return links_.size(); }

  // Adds a quarantined record unless one with the same `record_key` (a keyed hash of what
  // was set aside) is there already, so re-ingesting a file does not repeat its rejects.
  Status AddQuarantine(const LinkHash& record_key, const std::string& reason,
                       const std::string& resource_type, const std::string& sealed);
  // reason -> count
  Result<std::map<std::string, int64_t>> QuarantineCounts();
  // Each row: (id, reason, resource type, sealed record).
  struct QuarantineRow {
    int64_t id;
    std::string reason, resource_type, sealed;
  };
  Result<std::vector<QuarantineRow>> QuarantineRows(int64_t limit);
  Status DeleteQuarantine(const std::vector<int64_t>& ids);

  // Marks segments merged (replaced, or emptied by an erasure) without adding one.
  Status MarkSegmentsMerged(const std::vector<uint64_t>& ids);

  // Points every link whose patient is `alias(patient)` != nullopt at that value instead
  // (erasure: the links of an objecting patient then lead to the objection, not the key).
  // Undone by Rollback.
  Status RedirectPatientLinks(
      const std::function<std::optional<domain::PatientKey>(const domain::PatientKey&)>& alias);

  // Objections (right to object): `id` a keyed hash of the patient key, `sealed` the key
  // sealed under the catalog key, the day recorded and the day erasure completed (kNoErasure
  // while pending). Adding an objection already there changes nothing.
  static constexpr Days kNoErasure = -2'000'000'000;
  struct ObjectionRow {
    int64_t number = 0;  // order of recording, from 1
    LinkHash id{};
    std::string sealed;
    Days recorded = 0;
    Days erased = kNoErasure;
  };
  Status AddObjection(const LinkHash& id, const std::string& sealed, Days recorded);
  Result<std::vector<ObjectionRow>> Objections();
  // Sets the erasure day of every pending objection recorded on or before `up_to_number`.
  Status MarkObjectionsErased(int64_t up_to_number, Days day);
  // The objections of another warehouse's catalog, read without changing it.
  static Result<std::vector<ObjectionRow>> ReadObjections(const std::string& path);

  // Copies the committed state of the catalog at `path` into a new database file `out`
  // (VACUUM INTO, on a read-only connection of its own): one consistent point, even while
  // another connection or process writes. `out` must not exist.
  static Status Snapshot(const std::string& path, const std::string& out);
  // SQLite's data_version of this connection: it changes when another connection (another
  // process) commits to the catalog, not on this connection's own commits.
  Result<int64_t> DataVersion();
  // Moves the write-ahead log into the database and truncates it, so that no copy of
  // deleted rows stays in the log file.
  Status Checkpoint();

 private:
  explicit Catalog(sqlite3* db) : db_(db) {}
  Status Exec(const std::string& sql);
  Status LoadDictionaries();

  sqlite3* db_;
  sqlite3_stmt* insert_link_ = nullptr;  // prepared once: links are inserted per patient
  bool in_transaction_ = false;
  std::vector<CodeName> codes_;
  // Keyed by system + '\x1f' + code; looked up through lookup_ without allocating.
  std::unordered_map<std::string, uint32_t> code_ids_;
  FlatMap64<uint32_t> code_by_hash_;  // caller's hash -> id + 1 (checked against codes_)
  std::string lookup_;
  std::vector<std::string> units_;
  std::unordered_map<std::string, uint32_t> unit_ids_;
  std::vector<std::string> sources_;
  std::map<std::string, uint32_t> source_ids_;
  std::unordered_map<LinkHash, domain::PatientKey, LinkHashHasher> links_;
  // What the open transaction added to the caches, to undo on rollback.
  size_t codes_at_begin_ = 0, units_at_begin_ = 0, sources_at_begin_ = 0;
  std::vector<LinkHash> links_added_;
  std::vector<std::pair<LinkHash, domain::PatientKey>> links_changed_;
};

}  // namespace p4dp::store
