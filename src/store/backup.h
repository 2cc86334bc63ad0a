// Backup files: one file holding a consistent snapshot of a warehouse (its catalog at one
// committed point, the segment files that point lists, and the access catalog and audit
// trail, each at one committed point, carried as opaque files), sealed record by record under a
// key derived from the master key, with an authenticated end record, so that a changed,
// missing, moved or added byte anywhere, or a truncation, is detected before anything is
// restored. The format is described in docs/formats/backup.md.
// Functions are thread-safe; they touch only the files they are given (a backup reads the
// warehouse without opening it, so it may run while another process ingests).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "base/date.h"
#include "base/file_system.h"
#include "crypto/aead.h"

namespace p4dp::store {

// Plaintext bytes of file content per sealed record.
inline constexpr size_t kBackupChunkBytes = 1 << 20;
// A segment removed by a merge of another process while it is copied restarts the backup
// from a new snapshot, at most this many times.
inline constexpr int kBackupAttemptsMax = 5;

// The access layer's files in a data folder, which a backup carries (format version 2).
inline constexpr const char* kBackupAccessName = "access.db";
inline constexpr const char* kBackupAuditName = "audit.db";
inline constexpr const char* kBackupAuditHeadName = "audit.head";

struct BackupInfo {
  int64_t files = 0;     // the catalog, the access files and the segments
  int64_t segments = 0;  // live segments in the snapshot
  int64_t bytes = 0;     // of file content
  Days created = 0;
  int version = 2;              // of the format; 1: no access catalog nor audit trail
  bool access_catalog = false;  // holds access.db
  bool audit_trail = false;     // holds audit.db
};

struct BackupOptions {
  Days today = 0;  // recorded in the backup
  // Called after the catalog snapshot is taken and before the segments are copied (tests
  // use it to change the warehouse meanwhile).
  std::function<void()> after_snapshot_for_testing;
  // 1 writes the previous format (no access catalog nor audit trail), to test that such
  // backups still verify and restore.
  int format_version_for_testing = 2;
};

// Writes a backup of the warehouse in `dir` to `path` (under a temporary name, synced,
// renamed). Fails with PermissionDenied if `master` is not the warehouse's master key, and
// AlreadyExists if `path` exists.
Result<BackupInfo> WriteBackup(FileSystem& fs, const std::string& dir, const crypto::Key& master,
                               const std::string& path, const BackupOptions& options = {});

// Authenticates every record of the backup at `path` and its structure (files complete, the
// end record last, nothing after it). PermissionDenied for another master key, Corruption
// (naming the record or offset) for anything changed or truncated.
Result<BackupInfo> VerifyBackup(const std::string& path, const crypto::Key& master);

// The content of the file `name` ("audit.db") in the backup at `path`, or nullopt when it
// holds none. Authenticates the whole backup as VerifyBackup does.
Result<std::optional<std::string>> ReadBackupFile(const std::string& path,
                                                  const crypto::Key& master,
                                                  const std::string& name);

// Verifies the backup, then writes its files into `dir` (which must not exist or be empty):
// a warehouse that Warehouse::Open accepts with `master`. Nothing is written when the backup
// does not verify; a failure while writing removes what was written.
Result<BackupInfo> RestoreBackup(FileSystem& fs, const std::string& path, const crypto::Key& master,
                                 const std::string& dir);

}  // namespace p4dp::store
