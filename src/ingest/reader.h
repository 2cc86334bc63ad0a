// Reads FHIR input files record by record: NDJSON (`.ndjson`, `.ndjson.gz`, `.ndjson.zst`),
// Bundle files (`.json`, one Bundle of type collection, transaction, batch or searchset),
// and folders of them (Bulk Data layout). Each record is one resource's JSON text with
// where it came from (file, line; Bundle entry index and fullUrl). A reader is used by one
// thread at a time.
#pragma once

#include <cstdint>
#include <functional>
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

}  // namespace p4dp::ingest
