// Reads FHIR input files record by record: NDJSON (`.ndjson`, `.ndjson.gz`, `.ndjson.zst`),
// Bundle files (`.json`, one Bundle of type collection, transaction, batch or searchset),
// and folders of them (Bulk Data layout). Each record is one resource's JSON text with
// where it came from (file, line; Bundle entry index and fullUrl). A reader is used by one
// thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace p4dp::ingest {

struct RawRecord {
  std::string_view json;  // valid until the callback returns
  const std::string* file = nullptr;
  int64_t line = 0;           // 1-based line in the file (the Bundle's first line for entries)
  int64_t bundle_entry = -1;  // index in Bundle.entry, -1 for NDJSON
  std::string_view full_url;  // Bundle entry fullUrl, empty if none
  bool too_large = false;     // the line exceeded kResourceBytesMax; `json` is empty
  bool padded = false;        // at least 64 readable bytes (simdjson's padding) follow `json`
};

// Lists the input files under `paths` (files or folders, recursively), sorted so that
// Patient, Organization and Medication files come first (others can then refer to them),
// then by name. Unknown extensions are skipped. Errors name the path.
Result<std::vector<std::string>> ListInputFiles(const std::vector<std::string>& paths);

// Calls `fn` for every record of one file. A Bundle file that is not valid JSON is reported
// as one record with invalid JSON text. Errors (cannot open, corrupt compression) name the
// file; records already delivered stay delivered.
Status ReadRecords(const std::string& file, const std::function<void(const RawRecord&)>& fn);

// The same for a request body: NDJSON, or one Bundle when the body starts with '{' and its
// resourceType is Bundle. `name` stands for the file in records ("POST /api/ingest").
Status ReadBody(std::string_view body, const std::string& name,
                const std::function<void(const RawRecord&)>& fn);


// A growable byte buffer that, unlike std::string, does not zero the bytes it grows by:
// the reader writes decompressed text straight into it.
class ByteBuffer {
 public:
  char* data() { return data_.get(); }
  const char* data() const { return data_.get(); }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  std::string_view view() const { return {data_.get(), size_}; }
  void clear() { size_ = 0; }
  // Keeps the content; afterwards capacity() >= n.
  void reserve(size_t n);
  // Requires n <= capacity(): the bytes between the old and new size are whatever was there.
  void resize(size_t n);
  void append(std::string_view text);
  void append(size_t n, char c);

 private:
  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// One line of a block read by LineBlockReader.
struct LineRef {
  size_t offset = 0;       // where the line's text starts in the block
  size_t size = 0;         // without its '\n' and a trailing '\r'
  int64_t line = 0;        // 1-based line number in the file
  bool too_large = false;  // over kResourceBytesMax: size is 0
};

// Whether ReadRecords reads `file` as NDJSON (.ndjson, .jsonl, plain, .gz or .zst).
bool IsNdjsonFile(std::string_view file);

// The lines of one NDJSON file read straight into a buffer the caller owns, a block of
// whole lines at a time, so that the ingest pipeline keeps each record's text where it was
// decompressed instead of copying it. Delivers the same lines, numbers and limits as
// ReadRecords (blank lines skipped, a trailing '\r' dropped, lines over the limit flagged).
// Used by one thread at a time.
class LineBlockReader {
 public:
  // Requires IsNdjsonFile(file); `file` must outlive the reader. Errors name the file.
  static Result<std::unique_ptr<LineBlockReader>> Open(const std::string& file);
  ~LineBlockReader();
  LineBlockReader(const LineBlockReader&) = delete;
  LineBlockReader& operator=(const LineBlockReader&) = delete;

  // Replaces the content of `text` with the next block (at least `lines_min` lines unless the
  // file ends first) and `lines` with its lines. Returns false, with both empty, once the file
  // is done. A read error is returned after the lines read before it have been delivered.
  // The caller adds simdjson's padding after the block before parsing it in place.
  Result<bool> Next(ByteBuffer& text, std::vector<LineRef>& lines, size_t lines_min);

 private:
  struct Source;
  explicit LineBlockReader(std::unique_ptr<Source> source);
  std::unique_ptr<Source> source_;
  std::string carry_;        // the start of a line cut by the end of the previous block
  int64_t line_ = 1;         // the number of the line that starts carry_
  bool skipping_ = false;    // inside a line already known to be too large
  bool done_ = false;
  Status error_;             // returned by the call after the one that met it
};

}  // namespace p4dp::ingest
