// Segment files: immutable, columnar, compressed (zstd) and sealed (XChaCha20-Poly1305)
// block by block, so that nothing in them is readable without the segment key and any
// changed byte is detected before anything is decoded. A segment holds one Batch, its
// events sorted by (patient, date). The format is described in docs/formats/segment.md.
// Functions are thread-safe; they touch only the file they are given.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/file_system.h"
#include "crypto/aead.h"
#include "store/records.h"

namespace p4dp::store {

inline constexpr size_t kBlockEventsMax = 65'536;
inline constexpr size_t kBlockRowsMax = 65'536;  // patients or resources per block
inline constexpr size_t kSegmentBlockBytesMax = 256 << 20;

struct SegmentInfo {
  int64_t events = 0;
  int64_t patients = 0;
  int64_t resources = 0;
  int64_t bytes = 0;
  int64_t blocks = 0;
};

// Writes `batch` to `path` under a temporary name, syncs it, renames it into place and syncs
// the folder. Sorts the batch's events and patients in place (no copy). Errors name the file.
Result<SegmentInfo> WriteSegment(FileSystem& fs, const std::string& path, uint64_t segment_id,
                                 const crypto::Key& key, Batch& batch);

// Reads a whole segment. Any block that fails authentication or decoding gives a
// Corruption status naming the file and the block ("block 3"); nothing of it is returned.
// With `include_events` false, event blocks are skipped (not even authenticated): what the
// version bookkeeping of ingestion needs, at a fraction of the cost.
Result<Batch> ReadSegment(FileSystem& fs, const std::string& path, uint64_t segment_id,
                          const crypto::Key& key, bool include_events = true);

// Checks every block of a segment; returns one line per problem ("header", "footer",
// "block 3: authentication failed"), empty if the segment is sound.
Result<std::vector<std::string>> VerifySegment(FileSystem& fs, const std::string& path,
                                               uint64_t segment_id, const crypto::Key& key);

}  // namespace p4dp::store
