// The labels of codes, for the cohort builder's code search (GET /api/codes): loaded at
// start-up from the French code lists of a folder given to `p4dp serve` (CIM-10:
// cim10/IR_CIM_V.csv; CCAM: ccam/IR_CCAM_V63.csv; read at run time, never copied into the
// repository) and added by the caller for other systems (the synthetic catalogue's CISP-2,
// ATC and LOINC displays). A search matches the words of a label, ignoring case and accents
// ("diabete" finds "Diabète sucré de type 2"), each word of the query the start of a word of
// the label. Built once, then read-only: thread-safe for readers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "domain/code_system.h"
#include "query/dashboards.h"
#include "store/catalog.h"
#include "store/index.h"

namespace p4dp::query {

// Lines of one code list file at most (CIM-10 has about 42,000, CCAM about 8,000).
inline constexpr size_t kCodeListLinesMax = 500'000;
inline constexpr size_t kCodeLabelBytesMax = 1024;

// Lower case ASCII of a UTF-8 text, accents removed ("Œdème" -> "oedeme"); characters
// outside Latin-1 and Latin Extended-A are kept as they are.
std::string FoldText(std::string_view text);

class CodeLabels {
 public:
  // Adds a label unless (system, code) already has one (the first added wins, so load the
  // official lists first). Codes compare upper case without dots.
  void Add(domain::CodeSystem system, std::string_view code, std::string_view label);
  // Reads DIR/cim10/IR_CIM_V.csv and DIR/ccam/IR_CCAM_V63.csv, those present (a folder with
  // neither is not an error). Returns how many labels were added. Errors: InvalidArgument
  // naming the file and line of a malformed record, IoError when a file cannot be read.
  Result<size_t> LoadCodeLists(const std::string& dir);

  size_t size() const { return labels_.size(); }
  // The label of a code ("" when none).
  std::string_view Label(domain::CodeSystem system, std::string_view code) const;
  // Whether the label of (system, code) matches `query` (every word of the folded query is
  // the start of a word of the folded label). A query without words matches nothing.
  bool Matches(domain::CodeSystem system, std::string_view code, std::string_view query) const;
  // The same with the query's words prepared once (QueryWords), for searching many codes.
  bool MatchesWords(domain::CodeSystem system, std::string_view code,
                    const std::vector<std::string>& query_words) const;
  // The folded words of a query, each with a leading space (" diab").
  static std::vector<std::string> QueryWords(std::string_view query);

 private:
  static std::string Key(domain::CodeSystem system, std::string_view code);
  struct Entry {
    std::string label;
    std::string folded;  // " " + folded words + " ", for word-start matching
  };
  std::unordered_map<std::string, Entry> labels_;
};

// The codes present in the warehouse whose code starts with the query (SearchCodes) or whose
// label matches it, by patients (most first), then code; at most options.limit.
std::vector<CodeHit> SearchCodesWithLabels(const store::Index& index, const store::Catalog& catalog,
                                           const CodeLabels& labels,
                                           const CodeSearchOptions& options);

}  // namespace p4dp::query
