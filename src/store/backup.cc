#include "store/backup.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>

#include "crypto/keyed_hash.h"
#include "crypto/keys.h"
#include "store/bytes.h"
#include "store/catalog.h"

namespace p4dp::store {
namespace {

// Version 2 adds the access catalog and the audit trail; version 1 backups stay readable.
constexpr std::string_view kMagic = "P4DPBAK\x02";
constexpr std::string_view kMagicV1 = "P4DPBAK\x01";
constexpr size_t kIdBytes = 16;
constexpr size_t kCheckBytes = 32;
constexpr size_t kHeaderBytes = kMagic.size() + kIdBytes + 4 + kCheckBytes;
// A sealed record holds at most a chunk of file content and a little framing.
constexpr size_t kRecordSealedBytesMax = kBackupChunkBytes + 4096 + crypto::kSealOverheadBytes;
constexpr const char* kCatalogName = "catalog.db";
// The access layer's files, carried as opaque bytes (the store does not read them), in this
// order after the catalog; each is optional (a warehouse that no command has guarded yet).
constexpr std::array<const char*, 3> kTrailNames = {kBackupAccessName, kBackupAuditName,
                                                    kBackupAuditHeadName};
constexpr int kSegmentRank = 1 + static_cast<int>(kTrailNames.size());

enum class RecordType : uint8_t { kFileBegin = 1, kFileData = 2, kEnd = 3 };

// The header's key check: tells a wrong master key from a corrupt file.
std::string HeaderCheck(const crypto::Key& backup_key, std::string_view id) {
  crypto::Digest d = crypto::KeyedHasher(backup_key).Add("p4dp backup key check").Add(id).Finish();
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

// Each record is bound to the whole header (so to this backup) and to its position.
std::string RecordAd(std::string_view header, uint64_t n) {
  std::string ad = "p4dp backup record ";
  ad += header;
  ad += std::to_string(n);
  return ad;
}

// The place of a file name in a backup: 0 the catalog, 1.. the access files (version 2
// only), kSegmentRank a segment; -1 for anything else (nothing that leaves the folder).
int RankOf(std::string_view name, int version) {
  if (name == kCatalogName) return 0;
  for (size_t i = 0; version >= 2 && i < kTrailNames.size(); ++i) {
    if (name == kTrailNames[i]) return 1 + static_cast<int>(i);
  }
  constexpr std::string_view kPrefix = "segments/";
  if (name.size() <= kPrefix.size() + 4 || name.substr(0, kPrefix.size()) != kPrefix) return -1;
  std::string_view base = name.substr(kPrefix.size());
  if (base.substr(base.size() - 4) != ".seg") return -1;
  base.remove_suffix(4);
  bool digits = std::all_of(base.begin(), base.end(), [](char c) { return c >= '0' && c <= '9'; });
  return digits ? kSegmentRank : -1;
}

class Writer {
 public:
  Writer(std::unique_ptr<WritableFile> file, const crypto::Key& key, Days today,
         std::string_view magic)
      : file_(std::move(file)), key_(key) {
    std::string id(kIdBytes, '\0');
    crypto::Key random = crypto::Key::Random();  // random bytes for the backup id
    std::memcpy(id.data(), random.bytes().data(), kIdBytes);
    ByteWriter w;
    w.Bytes(magic);
    w.Bytes(id);
    w.I32(today);
    w.Bytes(HeaderCheck(key, id));
    header_ = w.Take();
  }
  Status Start() { return file_->Append(header_); }
  Status Record(RecordType type, const std::function<void(ByteWriter&)>& body) {
    ByteWriter w;
    w.U8(static_cast<uint8_t>(type));
    body(w);
    std::string sealed = crypto::Seal(key_, w.Take(), RecordAd(header_, records_++));
    ByteWriter len;
    len.U32(static_cast<uint32_t>(sealed.size()));
    P4DP_TRY(file_->Append(len.Take()));
    return file_->Append(sealed);
  }
  Status AddFile(const std::string& name, std::string_view content) {
    P4DP_TRY(Record(RecordType::kFileBegin, [&](ByteWriter& w) {
      w.String(name);
      w.U64(content.size());
    }));
    for (size_t at = 0; at < content.size(); at += kBackupChunkBytes) {
      std::string_view piece = content.substr(at, kBackupChunkBytes);
      P4DP_TRY(Record(RecordType::kFileData, [&](ByteWriter& w) { w.Bytes(piece); }));
    }
    ++files_;
    bytes_ += static_cast<int64_t>(content.size());
    return Status::Ok();
  }
  Status End(int64_t segments) {
    uint64_t records = records_;
    P4DP_TRY(Record(RecordType::kEnd, [&](ByteWriter& w) {
      w.U64(records);
      w.U64(static_cast<uint64_t>(files_));
      w.U64(static_cast<uint64_t>(segments));
      w.U64(static_cast<uint64_t>(bytes_));
    }));
    P4DP_TRY(file_->Sync());
    return file_->Close();
  }
  int64_t files() const { return files_; }
  int64_t bytes() const { return bytes_; }

 private:
  std::unique_ptr<WritableFile> file_;
  const crypto::Key& key_;
  std::string header_;
  uint64_t records_ = 0;
  int64_t files_ = 0;
  int64_t bytes_ = 0;
};

void RemoveSnapshot(const std::string& snapshot) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::filesystem::remove(snapshot + suffix, ec);
  }
}

// The catalog at one committed point: its bytes, and the live segments it lists; and the
// access files (name, bytes) that exist.
struct Snapshot {
  std::string catalog;
  std::vector<SegmentRow> live;
  std::vector<std::pair<std::string, std::string>> trail;
};

// The access catalog and the audit trail, each at one committed point (VACUUM INTO). The
// head is read before the trail is copied: it is written after each append commits, so the
// copy holds at least the entries the head names (a head that lags is what `audit verify`
// accepts; one ahead of the trail would read as entries cut off).
Status SnapshotTrail(FileSystem& fs, const std::string& dir, const std::string& scratch,
                     Snapshot& snap) {
  std::optional<std::string> head;
  std::string head_path = dir + "/" + kBackupAuditHeadName;
  if (fs.Exists(head_path)) head = P4DP_TRY(fs.ReadFile(head_path));
  for (const char* name : {kBackupAccessName, kBackupAuditName}) {
    std::string path = dir + "/" + name;
    if (!fs.Exists(path)) continue;
    RemoveSnapshot(scratch);
    Status s = Catalog::Snapshot(path, scratch);
    Result<std::string> bytes = s.ok() ? fs.ReadFile(scratch) : Result<std::string>(s);
    RemoveSnapshot(scratch);
    if (!bytes.ok()) return bytes.status();
    snap.trail.emplace_back(name, std::move(*bytes));
  }
  if (head) snap.trail.emplace_back(kBackupAuditHeadName, std::move(*head));
  return Status::Ok();
}

Result<Snapshot> TakeSnapshot(FileSystem& fs, const std::string& dir, const crypto::Key& master,
                              const std::string& scratch) {
  RemoveSnapshot(scratch);
  std::string catalog_path = dir + "/" + kCatalogName;
  if (!fs.Exists(catalog_path)) return Status::NotFound("no warehouse in '" + dir + "'");
  Status s = Catalog::Snapshot(catalog_path, scratch);
  Snapshot snap;
  if (s.ok()) {
    auto bytes = fs.ReadFile(scratch);
    if (bytes.ok()) snap.catalog = std::move(*bytes);
    s = bytes.status();
  }
  if (s.ok()) {
    auto catalog = Catalog::Open(scratch);
    s = catalog.status();
    if (s.ok()) {
      auto check = (*catalog)->GetMeta("key_check");
      if (!check.ok()) {
        s = check.status();
      } else if (!*check || **check != crypto::KeyCheckValue(master)) {
        s = Status::PermissionDenied("wrong master key for the warehouse in '" + dir + "'");
      } else {
        auto live = (*catalog)->LiveSegments();
        if (live.ok()) snap.live = std::move(*live);
        s = live.status();
      }
    }
  }
  RemoveSnapshot(scratch);
  if (s.ok()) s = SnapshotTrail(fs, dir, scratch, snap);
  if (!s.ok()) return s;
  return snap;
}

// One attempt; NotFound when a segment of the snapshot went away meanwhile.
Result<BackupInfo> WriteOnce(FileSystem& fs, const std::string& dir, const crypto::Key& master,
                             const std::string& path, const BackupOptions& options) {
  Snapshot snap = P4DP_TRY(TakeSnapshot(fs, dir, master, path + ".catalog-snapshot"));
  if (options.after_snapshot_for_testing) options.after_snapshot_for_testing();
  const crypto::Key key = crypto::DeriveKey(master, crypto::KeyPurpose::kBackup);
  std::string tmp = path + ".tmp";
  if (fs.Exists(tmp)) P4DP_TRY(fs.RemoveFile(tmp));
  const bool v1 = options.format_version_for_testing == 1;
  if (v1) snap.trail.clear();
  Writer writer(P4DP_TRY(fs.NewWritableFile(tmp)), key, options.today, v1 ? kMagicV1 : kMagic);
  Status s = writer.Start();
  if (s.ok()) s = writer.AddFile(kCatalogName, snap.catalog);
  snap.catalog.clear();
  for (size_t i = 0; s.ok() && i < snap.trail.size(); ++i) {
    s = writer.AddFile(snap.trail[i].first, snap.trail[i].second);
  }
  for (size_t i = 0; s.ok() && i < snap.live.size(); ++i) {
    auto content = fs.ReadFile(dir + "/" + snap.live[i].file);
    if (!content.ok()) {
      s = content.status();
      break;
    }
    s = writer.AddFile(snap.live[i].file, *content);
  }
  if (s.ok()) s = writer.End(static_cast<int64_t>(snap.live.size()));
  if (s.ok()) s = fs.Rename(tmp, path);
  if (!s.ok()) {
    if (fs.Exists(tmp)) (void)fs.RemoveFile(tmp);
    return s;
  }
  std::string parent = std::filesystem::path(path).parent_path().string();
  P4DP_TRY(fs.SyncDirectory(parent.empty() ? "." : parent));
  BackupInfo info{writer.files(), static_cast<int64_t>(snap.live.size()), writer.bytes(),
                  options.today};
  info.version = v1 ? 1 : 2;
  for (const auto& [name, bytes] : snap.trail) {
    if (name == kBackupAccessName) info.access_catalog = true;
    if (name == kBackupAuditName) info.audit_trail = true;
  }
  return info;
}

// Reads a backup record by record, authenticating each, and checks its structure; hands
// each file's content to `on_data` (name, bytes) as it goes.
class Reader {
 public:
  Reader(const std::string& path, const crypto::Key& master)
      : path_(path), key_(crypto::DeriveKey(master, crypto::KeyPurpose::kBackup)) {}

  Result<BackupInfo> Run(
      const std::function<Status(const std::string&, std::string_view, bool first)>& on_data) {
    std::ifstream in(path_, std::ios::binary);
    if (!in) return Status::NotFound("cannot open backup '" + path_ + "'");
    std::string header(kHeaderBytes, '\0');
    if (!in.read(header.data(), static_cast<std::streamsize>(header.size()))) {
      return Bad("header: truncated");
    }
    BackupInfo info;
    if (header.substr(0, kMagic.size()) == kMagic) {
      info.version = 2;
    } else if (header.substr(0, kMagicV1.size()) == kMagicV1) {
      info.version = 1;
    } else {
      return Bad("header: not a p4dp backup");
    }
    ByteReader hr(header);
    hr.Bytes(kMagic.size());
    std::string id(hr.Bytes(kIdBytes));
    info.created = hr.I32();
    if (hr.Bytes(kCheckBytes) != HeaderCheck(key_, id)) {
      return Status::PermissionDenied("backup '" + path_ +
                                      "': wrong master key (or a corrupt header)");
    }
    uint64_t n = 0;
    std::string file;        // being read
    uint64_t remaining = 0;  // bytes of it still to come
    bool in_file = false;
    int64_t segments = 0;
    int rank = -1;  // of the last file begun
    for (;; ++n) {
      char len_bytes[4];
      if (!in.read(len_bytes, 4)) return Bad("record " + std::to_string(n) + ": truncated");
      uint32_t len = ByteReader(std::string_view(len_bytes, 4)).U32();
      if (len < crypto::kSealOverheadBytes + 1 || len > kRecordSealedBytesMax) {
        return Bad("record " + std::to_string(n) + ": bad length");
      }
      std::string sealed(len, '\0');
      if (!in.read(sealed.data(), len)) return Bad("record " + std::to_string(n) + ": truncated");
      auto plain = crypto::Open(key_, sealed, RecordAd(header, n));
      if (!plain.ok()) return Bad("record " + std::to_string(n) + ": authentication failed");
      ByteReader r(*plain);
      auto type = static_cast<RecordType>(r.U8());
      std::string where = "record " + std::to_string(n) + ": ";
      if (type == RecordType::kFileBegin) {
        if (in_file) return Bad(where + "a file begins before the last one ended");
        file = std::string(r.String());
        remaining = r.U64();
        int file_rank = RankOf(file, info.version);
        if (!r.Check("file").ok() || !r.AtEnd() || file_rank < 0) {
          return Bad(where + "bad file entry");
        }
        if ((info.files == 0) != (file == kCatalogName)) {
          return Bad(where + "the catalog must come first, once");
        }
        if (file_rank < rank || (file_rank == rank && file_rank != kSegmentRank)) {
          return Bad(where + "files out of order or repeated");
        }
        rank = file_rank;
        if (file_rank == kSegmentRank) ++segments;
        if (file == kBackupAccessName) info.access_catalog = true;
        if (file == kBackupAuditName) info.audit_trail = true;
        ++info.files;
        in_file = true;
        P4DP_TRY(on_data(file, {}, true));
      } else if (type == RecordType::kFileData) {
        std::string_view data = std::string_view(*plain).substr(1);
        if (!in_file || data.size() > remaining) return Bad(where + "unexpected file data");
        remaining -= data.size();
        info.bytes += static_cast<int64_t>(data.size());
        P4DP_TRY(on_data(file, data, false));
      } else if (type == RecordType::kEnd) {
        uint64_t records = r.U64(), files = r.U64(), segs = r.U64(), bytes = r.U64();
        if (!r.Check("end").ok() || !r.AtEnd()) return Bad(where + "bad end record");
        if (in_file && remaining != 0) return Bad(where + "a file is incomplete");
        if (records != n || files != static_cast<uint64_t>(info.files) ||
            segs != static_cast<uint64_t>(segments) || bytes != static_cast<uint64_t>(info.bytes)) {
          return Bad(where + "the end record does not match the content");
        }
        if (in.peek() != std::ifstream::traits_type::eof()) {
          return Bad("bytes after the end record");
        }
        info.segments = segments;
        return info;
      } else {
        return Bad(where + "unknown record type");
      }
      if (in_file && remaining == 0) in_file = false;
    }
  }

 private:
  Status Bad(const std::string& what) const {
    return Status::Corruption("backup '" + path_ + "': " + what);
  }
  std::string path_;
  crypto::Key key_;
};

}  // namespace

Result<BackupInfo> WriteBackup(FileSystem& fs, const std::string& dir, const crypto::Key& master,
                               const std::string& path, const BackupOptions& options) {
  if (fs.Exists(path)) return Status::AlreadyExists("backup '" + path + "' exists already");
  Status last;
  for (int attempt = 0; attempt < kBackupAttemptsMax; ++attempt) {
    auto info = WriteOnce(fs, dir, master, path, options);
    if (info.ok() || info.status().code() != StatusCode::kNotFound ||
        !fs.Exists(dir + "/" + kCatalogName)) {
      return info;
    }
    last = info.status();  // a merge removed a segment meanwhile: a new snapshot
  }
  return last;
}

Result<BackupInfo> VerifyBackup(const std::string& path, const crypto::Key& master) {
  return Reader(path, master).Run([](const std::string&, std::string_view, bool) {
    return Status::Ok();
  });
}

Result<std::optional<std::string>> ReadBackupFile(const std::string& path,
                                                  const crypto::Key& master,
                                                  const std::string& name) {
  std::optional<std::string> content;
  P4DP_TRY(Reader(path, master)
               .Run([&](const std::string& file, std::string_view data, bool first) -> Status {
                 if (file != name) return Status::Ok();
                 if (first) content.emplace();
                 content->append(data);
                 return Status::Ok();
               }));
  return content;
}

Result<BackupInfo> RestoreBackup(FileSystem& fs, const std::string& path, const crypto::Key& master,
                                 const std::string& dir) {
  bool existed = fs.Exists(dir);
  if (existed && !P4DP_TRY(fs.ListDirectory(dir)).empty()) {
    return Status::AlreadyExists("cannot restore into '" + dir + "': the folder is not empty");
  }
  P4DP_TRY(VerifyBackup(path, master));
  P4DP_TRY(fs.CreateDirectories(dir + "/segments"));
  std::unique_ptr<WritableFile> out;
  auto close = [&]() -> Status {
    if (!out) return Status::Ok();
    Status s = out->Sync();
    if (s.ok()) s = out->Close();
    out.reset();
    return s;
  };
  auto restored =
      Reader(path, master)
          .Run([&](const std::string& name, std::string_view data, bool first) -> Status {
            if (first) {
              P4DP_TRY(close());
              out = P4DP_TRY(fs.NewWritableFile(dir + "/" + name));
              return Status::Ok();
            }
            return out->Append(data);
          });
  Status s = restored.status();
  if (s.ok()) s = close();
  if (s.ok()) s = fs.SyncDirectory(dir + "/segments");
  if (s.ok()) s = fs.SyncDirectory(dir);
  if (!s.ok()) {
    out.reset();
    std::error_code ec;
    if (existed) {
      for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        std::filesystem::remove_all(e.path(), ec);
      }
    } else {
      std::filesystem::remove_all(dir, ec);
    }
    return s;
  }
  return restored;
}

}  // namespace p4dp::store
