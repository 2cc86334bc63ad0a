#include "query/code_labels.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <tuple>
#include <unordered_set>

#include "base/file_system.h"

namespace p4dp::query {
namespace {

// U+00C0 .. U+00FF folded (lower case, no accent): À..ÿ.
constexpr std::array<std::string_view, 64> kLatin1 = {
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
    "d", "n", "o", "o", "o", "o", "o",  "x", "o", "u", "u", "u", "u", "y", "th", "ss",
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
    "d", "n", "o", "o", "o", "o", "o",  "/", "o", "u", "u", "u", "u", "y", "th", "y"};

// Upper case without dots: "e11.9" and "E119" are the same code.
std::string NormalisedCode(std::string_view code) {
  std::string out;
  out.reserve(code.size());
  for (char c : code) {
    if (c != '.') out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return out;
}

// " word word ... ": the folded words of `text` (letters and digits), for word-start search.
std::string Words(std::string_view text) {
  std::string folded = FoldText(text);
  std::string out = " ";
  for (char c : folded) {
    bool word = std::isalnum(static_cast<unsigned char>(c)) != 0;
    if (word) {
      out.push_back(c);
    } else if (out.back() != ' ') {
      out.push_back(' ');
    }
  }
  if (out.back() != ' ') out.push_back(' ');
  return out;
}

// The fields of one line of a ';'-separated file, with optional "quotes" ("" inside quotes
// is one quote). Returns false for an unterminated quote.
bool SplitFields(std::string_view line, std::vector<std::string>& fields) {
  fields.assign(1, "");
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c != '"') {
        fields.back().push_back(c);
      } else if (i + 1 < line.size() && line[i + 1] == '"') {
        fields.back().push_back('"');
        ++i;
      } else {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ';') {
      fields.emplace_back();
    } else {
      fields.back().push_back(c);
    }
  }
  return !quoted;
}

// A label as shown: line breaks (a quoted field may span lines) as spaces, runs of spaces as
// one, none at either end.
std::string CleanLabel(std::string_view text) {
  std::string out;
  for (char c : text) {
    bool space = c == ' ' || c == '\n' || c == '\r' || c == '\t';
    if (!space) {
      out.push_back(c);
    } else if (!out.empty() && out.back() != ' ') {
      out.push_back(' ');
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// Adds the (code, label) columns of one code list file. A quoted field may hold line breaks
// (the CCAM list has some): a record then spans up to kRecordLinesMax lines.
Result<size_t> LoadList(CodeLabels& labels, domain::CodeSystem system, const std::string& path,
                        std::string_view code_column, std::string_view label_column) {
  constexpr size_t kRecordLinesMax = 16;
  std::string text = P4DP_TRY(RealFileSystem().ReadFile(path));
  size_t added_before = labels.size();
  std::vector<std::string> fields;
  size_t code_at = 0, label_at = 0, line_number = 0, start = 0, records = 0;
  while (start < text.size()) {
    size_t first_line = line_number + 1;
    size_t end = start;
    bool complete = false;
    for (size_t lines = 0; lines < kRecordLinesMax && end < text.size() && !complete; ++lines) {
      end = text.find('\n', end);
      if (end == std::string::npos) end = text.size();
      ++line_number;
      std::string_view record(text.data() + start, end - start);
      if (!record.empty() && record.back() == '\r') record.remove_suffix(1);
      complete = SplitFields(record, fields);
      if (!complete) ++end;  // take the line break and the next line
    }
    start = end + 1;
    if (!complete) {
      return Status::InvalidArgument(path + ":" + std::to_string(first_line) +
                                     ": unterminated quote");
    }
    if (line_number > kCodeListLinesMax) {
      return Status::InvalidArgument(path + ": more than " + std::to_string(kCodeListLinesMax) +
                                     " lines");
    }
    if (fields.size() == 1 && fields[0].empty()) continue;  // an empty line
    if (++records == 1) {
      auto code = std::find(fields.begin(), fields.end(), code_column);
      auto label = std::find(fields.begin(), fields.end(), label_column);
      if (code == fields.end() || label == fields.end()) {
        return Status::InvalidArgument(path + ":" + std::to_string(first_line) + ": no column " +
                                       std::string(code_column) + " and " +
                                       std::string(label_column));
      }
      code_at = static_cast<size_t>(code - fields.begin());
      label_at = static_cast<size_t>(label - fields.begin());
      continue;
    }
    if (fields.size() <= std::max(code_at, label_at)) {
      return Status::InvalidArgument(path + ":" + std::to_string(first_line) + ": missing fields");
    }
    if (fields[code_at].empty() || fields[label_at].size() > kCodeLabelBytesMax) continue;
    labels.Add(system, fields[code_at], CleanLabel(fields[label_at]));
  }
  return labels.size() - added_before;
}

}  // namespace

std::string FoldText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    auto next = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0;
    if (c < 0x80) {
      out.push_back(static_cast<char>(std::tolower(c)));
    } else if (c == 0xC3 && next >= 0x80 && next <= 0xBF) {
      out += kLatin1[next - 0x80];
      ++i;
    } else if (c == 0xC5 && (next == 0x92 || next == 0x93)) {  // Œ œ
      out += "oe";
      ++i;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::string CodeLabels::Key(domain::CodeSystem system, std::string_view code) {
  return std::to_string(static_cast<int>(system)) + ":" + NormalisedCode(code);
}

void CodeLabels::Add(domain::CodeSystem system, std::string_view code, std::string_view label) {
  if (code.empty() || label.empty()) return;
  labels_.try_emplace(Key(system, code), Entry{std::string(label), Words(label)});
}

Result<size_t> CodeLabels::LoadCodeLists(const std::string& dir) {
  struct List {
    domain::CodeSystem system;
    const char* file;
    const char* code;
    const char* label;
  };
  const List lists[] = {
      {domain::CodeSystem::kIcd10, "/cim10/IR_CIM_V.csv", "CIM_COD", "CIM_LIB"},
      {domain::CodeSystem::kCcam, "/ccam/IR_CCAM_V63.csv", "CAM_PRS_IDE_COD", "CAM_PRS_IDE_LIB"},
  };
  size_t added = 0;
  for (const List& list : lists) {
    std::string path = dir + list.file;
    if (!RealFileSystem().Exists(path)) continue;
    added += P4DP_TRY(LoadList(*this, list.system, path, list.code, list.label));
  }
  return added;
}

std::string_view CodeLabels::Label(domain::CodeSystem system, std::string_view code) const {
  auto it = labels_.find(Key(system, code));
  return it == labels_.end() ? std::string_view() : std::string_view(it->second.label);
}

std::vector<std::string> CodeLabels::QueryWords(std::string_view query) {
  std::string words = Words(query);
  std::vector<std::string> out;
  size_t start = 1;
  while (start < words.size()) {
    size_t end = words.find(' ', start);
    out.push_back(" " + words.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool CodeLabels::MatchesWords(domain::CodeSystem system, std::string_view code,
                              const std::vector<std::string>& query_words) const {
  if (query_words.empty()) return false;
  auto it = labels_.find(Key(system, code));
  if (it == labels_.end()) return false;
  for (const std::string& word : query_words) {
    if (it->second.folded.find(word) == std::string::npos) return false;
  }
  return true;
}

bool CodeLabels::Matches(domain::CodeSystem system, std::string_view code,
                         std::string_view query) const {
  return MatchesWords(system, code, QueryWords(query));
}

std::vector<CodeHit> SearchCodesWithLabels(const store::Index& index, const store::Catalog& catalog,
                                           const CodeLabels& labels,
                                           const CodeSearchOptions& options) {
  CodeSearchOptions all = options;
  all.limit = kCodeSearchLimitMax;
  std::vector<CodeHit> hits = SearchCodes(index, catalog, all);
  std::unordered_set<std::string> seen;
  for (const CodeHit& h : hits) seen.insert(h.system + ":" + h.code);
  std::vector<std::string> words = CodeLabels::QueryWords(options.query);
  const auto& codes = catalog.codes();
  std::vector<bool> by_label(codes.size(), false);
  for (uint32_t id = 1; id < codes.size() && !words.empty(); ++id) {
    std::optional<domain::CodeSystem> system = domain::CodeSystemFromName(codes[id].system);
    if (!system || (options.system && *system != *options.system)) continue;
    if (!labels.MatchesWords(*system, codes[id].code, words)) continue;
    by_label[id] =
        seen.insert(std::string(domain::InfoOf(*system).alias) + ":" + codes[id].code).second;
  }
  // Counted as SearchCodes counts: inside the perimeter, a code no visible event has is left out.
  std::vector<uint64_t> patients = PatientsPerCode(index, by_label, options.perimeter);
  bool everything = options.perimeter == nullptr || options.perimeter->Everything();
  for (uint32_t id = 1; id < codes.size(); ++id) {
    if (!by_label[id] || (!everything && patients[id] == 0)) continue;
    std::optional<domain::CodeSystem> system = domain::CodeSystemFromName(codes[id].system);
    hits.push_back({.system = std::string(domain::InfoOf(*system).alias),
                    .code = codes[id].code,
                    .patients = patients[id]});
  }
  std::sort(hits.begin(), hits.end(), [](const CodeHit& a, const CodeHit& b) {
    if (a.patients != b.patients) return a.patients > b.patients;
    return std::tie(a.code, a.system) < std::tie(b.code, b.system);
  });
  hits.resize(std::min(hits.size(), std::min(options.limit, kCodeSearchLimitMax)));
  return hits;
}

}  // namespace p4dp::query
