#include "ingest/reader.h"

#include <fcntl.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <system_error>

#include "base/assert.h"
#include "ingest/fhir_mapper.h"

namespace p4dp::ingest {
namespace {

namespace od = simdjson::ondemand;

// Bytes asked of the source at a time; the line buffer holds one chunk plus the longest line.
constexpr size_t kReadChunkBytes = 4 << 20;
constexpr size_t kLineBufferBytes = kReadChunkBytes + kResourceBytesMax + 2;
// Bytes asked of the source at a time by LineBlockReader (its blocks are about a chunk of
// the pipeline: kChunkRecords lines).
constexpr size_t kBlockReadBytes = 256 << 10;
// A Bundle file is read whole; past this size it must be split or given as NDJSON.
constexpr int64_t kBundleFileBytesMax = int64_t{1} << 30;

enum class Format : uint8_t { kUnknown, kNdjson, kNdjsonGz, kNdjsonZst, kJson };

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

Format FormatOf(std::string_view path) {
  for (std::string_view base : {".ndjson", ".jsonl"}) {
    std::string b(base);
    if (EndsWith(path, b)) return Format::kNdjson;
    if (EndsWith(path, b + ".gz")) return Format::kNdjsonGz;
    if (EndsWith(path, b + ".zst")) return Format::kNdjsonZst;
  }
  if (EndsWith(path, ".json")) return Format::kJson;
  return Format::kUnknown;
}

std::string Quoted(std::string_view path) { return "'" + std::string(path) + "'"; }

Status ErrnoStatus(std::string_view what, std::string_view path) {
  int error = errno;
  std::string message = std::string(what) + " " + Quoted(path) + ": " + std::strerror(error);
  if (error == ENOENT) return Status::NotFound(message);
  if (error == EACCES || error == EPERM) return Status::PermissionDenied(message);
  return Status::IoError(message);
}

// A stream of bytes from a file, decompressed when it must be.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Fills up to `size` bytes; 0 at the end.
  virtual Result<size_t> Read(char* data, size_t size) = 0;
};

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// Reads from a file descriptor, retrying on EINTR.
Result<size_t> ReadFd(int fd, char* data, size_t size, const std::string& path) {
  while (true) {
    ssize_t n = ::read(fd, data, size);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return ErrnoStatus("cannot read", path);
  }
}

class PlainSource final : public ByteSource {
 public:
  PlainSource(int fd, const std::string& path) : file_(fd), path_(path) {}
  Result<size_t> Read(char* data, size_t size) override {
    return ReadFd(file_.fd(), data, size, path_);
  }

 private:
  FdCloser file_;
  const std::string& path_;
};

class GzSource final : public ByteSource {
 public:
  GzSource(gzFile file, const std::string& path) : file_(file), path_(path) {}
  ~GzSource() override { gzclose(file_); }
  GzSource(const GzSource&) = delete;
  GzSource& operator=(const GzSource&) = delete;

  Result<size_t> Read(char* data, size_t size) override {
    unsigned ask = static_cast<unsigned>(std::min<size_t>(size, 1u << 30));
    int n = gzread(file_, data, ask);
    int code = Z_OK;
    const char* message = n <= 0 ? gzerror(file_, &code) : nullptr;
    // A truncated stream ends with no data and Z_BUF_ERROR ("unexpected end of file").
    if (code == Z_ERRNO) return ErrnoStatus("cannot read", path_);
    if (n < 0 || code != Z_OK) {
      return Status::Corruption("corrupt gzip data in " + Quoted(path_) + ": " +
                                (message != nullptr ? message : "unknown error"));
    }
    return static_cast<size_t>(n);
  }

 private:
  gzFile file_;
  const std::string& path_;
};

// Decompresses every frame of a zstd file, one after the other.
class ZstdSource final : public ByteSource {
 public:
  ZstdSource(int fd, const std::string& path)
      : file_(fd), path_(path), context_(ZSTD_createDCtx()), input_(ZSTD_DStreamInSize()) {}
  ~ZstdSource() override { ZSTD_freeDCtx(context_); }
  ZstdSource(const ZstdSource&) = delete;
  ZstdSource& operator=(const ZstdSource&) = delete;

  Result<size_t> Read(char* data, size_t size) override {
    if (context_ == nullptr) return Status::ResourceExhausted("cannot create a zstd context");
    ZSTD_outBuffer out = {data, size, 0};
    while (out.pos == 0) {
      if (in_.pos == in_.size && !at_end_) {
        size_t n = P4DP_TRY(ReadFd(file_.fd(), input_.data(), input_.size(), path_));
        if (n == 0) {
          at_end_ = true;
        } else {
          in_ = {input_.data(), n, 0};
        }
      }
      bool input_done = at_end_ && in_.pos == in_.size;
      if (input_done && !frame_open_) break;  // the end, between two frames
      // With no input left, the call still flushes output the context holds.
      size_t left = ZSTD_decompressStream(context_, &out, &in_);
      if (ZSTD_isError(left)) {
        return Status::Corruption("corrupt zstd data in " + Quoted(path_) + ": " +
                                  ZSTD_getErrorName(left));
      }
      frame_open_ = left != 0;
      if (input_done && out.pos == 0) {
        if (!frame_open_) break;
        return Status::Corruption("truncated zstd data in " + Quoted(path_));
      }
    }
    return out.pos;
  }

 private:
  FdCloser file_;
  const std::string& path_;
  ZSTD_DCtx* context_;
  std::vector<char> input_;
  ZSTD_inBuffer in_ = {nullptr, 0, 0};
  bool at_end_ = false;
  bool frame_open_ = false;
};

// Opens an NDJSON file (plain, gzip or zstd) as a stream of bytes.
Result<std::unique_ptr<ByteSource>> OpenNdjson(const std::string& file, Format format) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open", file);
  if (format == Format::kNdjsonGz) {
    gzFile gz = gzdopen(fd, "rb");
    if (gz == nullptr) {
      ::close(fd);
      return Status::ResourceExhausted("cannot start reading gzip file " + Quoted(file));
    }
    gzbuffer(gz, 1 << 20);
    return std::unique_ptr<ByteSource>(std::make_unique<GzSource>(gz, file));
  }
  if (format == Format::kNdjsonZst) {
    return std::unique_ptr<ByteSource>(std::make_unique<ZstdSource>(fd, file));
  }
  return std::unique_ptr<ByteSource>(std::make_unique<PlainSource>(fd, file));
}

bool IsBlank(std::string_view line) {
  return line.find_first_not_of(" \t") == std::string_view::npos;
}

// Delivers one NDJSON line (without its '\n'): strips a trailing '\r', skips blank lines,
// flags lines over the limit.
void DeliverLine(std::string_view line, int64_t number, const std::string& file,
                 const std::function<void(const RawRecord&)>& fn, bool padded) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (IsBlank(line)) return;
  RawRecord record;
  record.file = &file;
  record.line = number;
  if (line.size() > kResourceBytesMax) {
    record.too_large = true;
  } else {
    record.json = line;
    record.padded = padded;
  }
  fn(record);
}

void DeliverTooLarge(int64_t number, const std::string& file,
                     const std::function<void(const RawRecord&)>& fn) {
  RawRecord record;
  record.file = &file;
  record.line = number;
  record.too_large = true;
  fn(record);
}

// Splits a stream into lines with a bounded buffer: a line longer than the limit is
// skipped to its end and reported as too large.
Status ReadLines(ByteSource& source, const std::string& file,
                 const std::function<void(const RawRecord&)>& fn) {
  // Padded for simdjson, so that the mapper can parse each line where it lies.
  std::unique_ptr<char[]> buffer(new char[kLineBufferBytes + simdjson::SIMDJSON_PADDING]);
  std::memset(buffer.get() + kLineBufferBytes, 0, simdjson::SIMDJSON_PADDING);
  size_t begin = 0, end = 0;  // the bytes not yet delivered
  int64_t line = 1;           // the number of the line that starts at `begin`
  bool skipping = false;      // inside a line already known to be too large
  while (true) {
    if (kLineBufferBytes - end < kReadChunkBytes && begin > 0) {
      std::memmove(buffer.get(), buffer.get() + begin, end - begin);
      end -= begin;
      begin = 0;
    }
    size_t n = P4DP_TRY(source.Read(buffer.get() + end, kLineBufferBytes - end));
    if (n == 0) break;
    size_t scan = end;
    end += n;
    while (const void* found = std::memchr(buffer.get() + scan, '\n', end - scan)) {
      size_t newline = static_cast<size_t>(static_cast<const char*>(found) - buffer.get());
      if (skipping) {
        DeliverTooLarge(line, file, fn);
        skipping = false;
      } else {
        DeliverLine(std::string_view(buffer.get() + begin, newline - begin), line, file, fn, true);
      }
      begin = scan = newline + 1;
      ++line;
    }
    if (skipping || end - begin > kResourceBytesMax + 1) {
      skipping = true;
      begin = end = 0;
    }
  }
  if (skipping) {
    DeliverTooLarge(line, file, fn);
  } else if (begin < end) {
    DeliverLine(std::string_view(buffer.get() + begin, end - begin), line, file, fn, true);
  }
  return Status::Ok();
}

// `padded`: SIMDJSON_PADDING readable bytes follow `data`.
void ReadLinesInMemory(std::string_view data, const std::string& name,
                       const std::function<void(const RawRecord&)>& fn, bool padded) {
  int64_t line = 1;
  while (!data.empty()) {
    size_t newline = data.find('\n');
    DeliverLine(data.substr(0, newline), line, name, fn, padded);
    if (newline == std::string_view::npos) break;
    data.remove_prefix(newline + 1);
    ++line;
  }
}

struct BundleEntry {
  int64_t index = 0;  // in Bundle.entry
  std::string_view json;
  std::string_view full_url;
};

enum class JsonShape : uint8_t { kInvalid, kBundle, kResource };

// Reads the top level of a JSON document: a Bundle (its entries' resources and fullUrls,
// which stay valid while `parser` and `text` live), another resource, or invalid JSON.
JsonShape ReadBundle(od::parser& parser, const simdjson::padded_string_view text,
                     std::vector<BundleEntry>& entries) {
  od::document doc;
  od::object root;
  if (parser.iterate(text).get(doc) || doc.get_object().get(root)) return JsonShape::kInvalid;
  std::string_view type;
  bool is_bundle =
      !root.find_field_unordered("resourceType").get_string().get(type) && type == "Bundle";
  bool rewound;
  if (root.reset().get(rewound)) return JsonShape::kInvalid;
  for (auto field_result : root) {
    od::field field;
    if (std::move(field_result).get(field)) return JsonShape::kInvalid;
    if (!is_bundle || field.key() != "entry") continue;
    od::array array;
    auto array_error = field.value().get_array().get(array);
    if (array_error == simdjson::INCORRECT_TYPE) continue;  // not an array: no entries
    if (array_error) return JsonShape::kInvalid;
    int64_t index = -1;
    for (auto entry_result : array) {
      ++index;
      od::value entry_value;
      od::object entry;
      if (std::move(entry_result).get(entry_value)) return JsonShape::kInvalid;
      auto entry_error = entry_value.get_object().get(entry);
      if (entry_error == simdjson::INCORRECT_TYPE) continue;  // not an object: nothing to read
      if (entry_error) return JsonShape::kInvalid;
      BundleEntry out;
      out.index = index;
      bool has_resource = false;
      for (auto entry_field : entry) {
        od::field f;
        if (std::move(entry_field).get(f)) return JsonShape::kInvalid;
        if (f.key() == "resource") {
          od::object resource;
          auto resource_error = f.value().get_object().get(resource);
          if (resource_error == simdjson::INCORRECT_TYPE) {
            // Not an object: passed on as written, for the mapper to refuse.
            out.json = f.value().raw_json_token();
          } else if (resource_error || resource.raw_json().get(out.json)) {
            return JsonShape::kInvalid;
          }
          has_resource = true;
        } else if (f.key() == "fullUrl") {
          if (f.value().get_string().get(out.full_url)) out.full_url = {};
        }
      }
      // An entry without a resource (a DELETE in a transaction) has nothing to ingest.
      if (has_resource) entries.push_back(out);
    }
  }
  const char* trailing = nullptr;
  if (!doc.current_location().get(trailing)) return JsonShape::kInvalid;
  return is_bundle ? JsonShape::kBundle : JsonShape::kResource;
}

std::string_view TrimJson(std::string_view text) {
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  size_t last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

// Delivers the records of a whole JSON document held in `padded` (with simdjson padding).
// `invalid_as_ndjson` reads a document that is not one JSON value as NDJSON (a request body).
void DeliverJson(const simdjson::padded_string_view padded, const std::string& name,
                 bool invalid_as_ndjson, const std::function<void(const RawRecord&)>& fn) {
  od::parser parser;
  std::vector<BundleEntry> entries;
  std::string_view text(padded.data(), padded.length());
  JsonShape shape = ReadBundle(parser, padded, entries);
  if (shape == JsonShape::kBundle) {
    for (const BundleEntry& entry : entries) {
      RawRecord record;
      record.file = &name;
      record.line = 1;
      record.bundle_entry = entry.index;
      record.full_url = entry.full_url;
      if (entry.json.size() > kResourceBytesMax) {
        record.too_large = true;
      } else {
        record.json = entry.json;
        record.padded = true;
      }
      fn(record);
    }
    return;
  }
  if (shape == JsonShape::kInvalid && invalid_as_ndjson) {
    ReadLinesInMemory(text, name, fn, true);
    return;
  }
  std::string_view json = TrimJson(text);
  if (json.empty()) return;
  RawRecord record;
  record.file = &name;
  record.line = 1;
  if (json.size() > kResourceBytesMax) {
    record.too_large = true;
  } else {
    record.json = json;
    record.padded = true;
  }
  fn(record);
}

Status ReadJsonFile(const std::string& file, const std::function<void(const RawRecord&)>& fn) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open", file);
  FdCloser closer(fd);
  struct stat info;
  if (::fstat(fd, &info) != 0) return ErrnoStatus("cannot stat", file);
  if (info.st_size > kBundleFileBytesMax) {
    return Status::ResourceExhausted("JSON file " + Quoted(file) + " has " +
                                     std::to_string(info.st_size) +
                                     " bytes, over the 1 GiB limit for one Bundle: split it "
                                     "or export it as NDJSON");
  }
  auto size = static_cast<size_t>(info.st_size);
  std::unique_ptr<char[]> data(new char[size + simdjson::SIMDJSON_PADDING]);
  size_t got = 0;
  while (got < size) {
    size_t n = P4DP_TRY(ReadFd(fd, data.get() + got, size - got, file));
    if (n == 0) break;  // the file shrank while being read: take what is there
    got += n;
  }
  std::memset(data.get() + got, 0, simdjson::SIMDJSON_PADDING);
  DeliverJson(simdjson::padded_string_view(data.get(), got, got + simdjson::SIMDJSON_PADDING), file,
              /*invalid_as_ndjson=*/false, fn);
  return Status::Ok();
}

// The resource type a file name starts with ("Patient.000.ndjson" → "Patient"), and the
// reading rank it gives: Patient, Organization, Medication, then the rest.
int FileRank(const std::filesystem::path& path) {
  std::string name = path.filename().string();
  size_t n = 0;
  while (n < name.size() && std::isalpha(static_cast<unsigned char>(name[n]))) ++n;
  std::string type = name.substr(0, n);
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (type == "patient") return 0;
  if (type == "organization") return 1;
  if (type == "medication") return 2;
  return 3;
}

Status AddFolder(const std::filesystem::path& folder, std::vector<std::filesystem::path>& out) {
  namespace fs = std::filesystem;
  std::error_code error;
  fs::recursive_directory_iterator it(folder, fs::directory_options::none, error);
  if (error) {
    return Status::IoError("cannot list " + Quoted(folder.string()) + ": " + error.message());
  }
  for (; it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (error) break;
    const fs::path& path = it->path();
    if (path.filename().string().starts_with(".")) {
      if (it->is_directory(error)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(error) && FormatOf(path.string()) != Format::kUnknown) {
      out.push_back(path);
    }
  }
  if (error) {
    return Status::IoError("cannot list " + Quoted(folder.string()) + ": " + error.message());
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<std::string>> ListInputFiles(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  std::vector<fs::path> found;
  for (const std::string& path : paths) {
    std::error_code error;
    fs::file_status status = fs::status(path, error);
    if (status.type() == fs::file_type::not_found) {
      return Status::NotFound("no such file or folder: " + Quoted(path));
    }
    if (error) return Status::IoError("cannot read " + Quoted(path) + ": " + error.message());
    if (status.type() == fs::file_type::directory) {
      P4DP_TRY(AddFolder(path, found));
    } else if (FormatOf(path) == Format::kUnknown) {
      return Status::InvalidArgument("not an input file: " + Quoted(path) +
                                     " (expected .ndjson, .ndjson.gz, .ndjson.zst, .jsonl or "
                                     ".json)");
    } else {
      found.push_back(path);
    }
  }
  std::vector<std::pair<int, std::string>> ranked;
  ranked.reserve(found.size());
  for (const auto& path : found) ranked.emplace_back(FileRank(path), path.string());
  std::sort(ranked.begin(), ranked.end());
  ranked.erase(std::unique(ranked.begin(), ranked.end()), ranked.end());
  std::vector<std::string> files;
  files.reserve(ranked.size());
  for (auto& [rank, path] : ranked) files.push_back(std::move(path));
  return files;
}

Status ReadRecords(const std::string& file, const std::function<void(const RawRecord&)>& fn) {
  Format format = FormatOf(file);
  if (format == Format::kUnknown) {
    return Status::InvalidArgument("unknown input format for " + Quoted(file) +
                                   " (expected .ndjson, .ndjson.gz, .ndjson.zst, .jsonl or "
                                   ".json)");
  }
  if (format == Format::kJson) return ReadJsonFile(file, fn);
  std::unique_ptr<ByteSource> source = P4DP_TRY(OpenNdjson(file, format));
  return ReadLines(*source, file, fn);
}

bool IsNdjsonFile(std::string_view file) {
  Format format = FormatOf(file);
  return format == Format::kNdjson || format == Format::kNdjsonGz ||
         format == Format::kNdjsonZst;
}

void ByteBuffer::reserve(size_t n) {
  if (n <= capacity_) return;
  size_t capacity = std::max(n, capacity_ + capacity_ / 2);
  std::unique_ptr<char[]> grown(new char[capacity]);
  if (size_ > 0) std::memcpy(grown.get(), data_.get(), size_);
  data_ = std::move(grown);
  capacity_ = capacity;
}

void ByteBuffer::resize(size_t n) {
  P4DP_ASSERT(n <= capacity_);
  size_ = n;
}

void ByteBuffer::append(std::string_view text) {
  reserve(size_ + text.size());
  if (!text.empty()) std::memcpy(data_.get() + size_, text.data(), text.size());
  size_ += text.size();
}

void ByteBuffer::append(size_t n, char c) {
  reserve(size_ + n);
  std::memset(data_.get() + size_, c, n);
  size_ += n;
}

struct LineBlockReader::Source {
  std::unique_ptr<ByteSource> bytes;
};

LineBlockReader::LineBlockReader(std::unique_ptr<Source> source) : source_(std::move(source)) {}
LineBlockReader::~LineBlockReader() = default;

Result<std::unique_ptr<LineBlockReader>> LineBlockReader::Open(const std::string& file) {
  P4DP_ASSERT(IsNdjsonFile(file));
  auto source = std::make_unique<Source>();
  source->bytes = P4DP_TRY(OpenNdjson(file, FormatOf(file)));
  return std::unique_ptr<LineBlockReader>(new LineBlockReader(std::move(source)));
}

Result<bool> LineBlockReader::Next(ByteBuffer& text, std::vector<LineRef>& lines,
                                   size_t lines_min) {
  text.clear();
  lines.clear();
  if (!error_.ok()) {
    Status error = error_;
    error_ = Status::Ok();
    done_ = true;
    return error;
  }
  if (done_) return false;
  text.append(carry_);
  carry_.clear();
  // The same rules as DeliverLine: '\r' dropped, blank lines skipped, long lines flagged.
  auto add_line = [&](size_t begin, size_t end) {
    std::string_view line(text.data() + begin, end - begin);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (IsBlank(line)) return;
    if (line.size() > kResourceBytesMax) {
      lines.push_back({begin, 0, line_, true});
    } else {
      lines.push_back({begin, line.size(), line_, false});
    }
  };
  size_t begin = 0;  // where the line being read starts
  while (lines.size() < lines_min) {
    text.reserve(text.size() + kBlockReadBytes);
    Result<size_t> got = source_->bytes->Read(text.data() + text.size(), kBlockReadBytes);
    if (!got.ok()) {
      error_ = got.status();
      text.resize(begin);
      return true;
    }
    if (*got == 0) {
      if (skipping_) {
        lines.push_back({begin, 0, line_, true});
      } else if (begin < text.size()) {
        add_line(begin, text.size());
      }
      skipping_ = false;
      done_ = true;
      return true;
    }
    size_t scan = text.size();
    text.resize(text.size() + *got);
    while (const void* found = std::memchr(text.data() + scan, '\n', text.size() - scan)) {
      size_t newline = static_cast<size_t>(static_cast<const char*>(found) - text.data());
      if (skipping_) {
        lines.push_back({newline, 0, line_, true});
        skipping_ = false;
      } else {
        add_line(begin, newline);
      }
      begin = scan = newline + 1;
      ++line_;
    }
    // A line longer than the limit is not kept: its bytes are dropped as they come.
    if (skipping_ || text.size() - begin > kResourceBytesMax + 1) {
      skipping_ = true;
      text.resize(begin);
    }
  }
  carry_.assign(text.data() + begin, text.size() - begin);
  text.resize(begin);
  return true;
}

Status ReadBody(std::string_view body, const std::string& name,
                const std::function<void(const RawRecord&)>& fn) {
  std::string_view trimmed = TrimJson(body);
  if (trimmed.empty()) return Status::Ok();
  if (trimmed.front() != '{') {
    ReadLinesInMemory(body, name, fn, false);
    return Status::Ok();
  }
  // One JSON document (a Bundle, or a single resource even over several lines), else NDJSON.
  simdjson::padded_string padded(body);
  DeliverJson(padded, name, /*invalid_as_ndjson=*/true, fn);
  return Status::Ok();
}

}  // namespace p4dp::ingest
