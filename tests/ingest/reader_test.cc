// Tests of the FHIR input reader: NDJSON plain, gzip and zstd (several frames or members),
// CRLF, blank lines, a line over the limit, corrupt compressed data, Bundles with fullUrls,
// single-resource JSON files, request bodies, and the order of ListInputFiles. Each test
// writes its files in a fresh temporary folder.
#include "ingest/reader.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ingest/fhir_mapper.h"

namespace p4dp::ingest {
namespace {

namespace fs = std::filesystem;

struct Record {
  std::string json;
  std::string file;
  int64_t line = 0;
  int64_t bundle_entry = -1;
  std::string full_url;
  bool too_large = false;
};

class ReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("p4dp_reader_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, std::string_view bytes) {
    fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return path.string();
  }

  std::string WriteGz(const std::string& name, const std::vector<std::string>& members) {
    std::string path = (dir_ / name).string();
    for (size_t i = 0; i < members.size(); ++i) {
      gzFile gz = gzopen(path.c_str(), i == 0 ? "wb" : "ab");
      EXPECT_NE(gz, nullptr);
      EXPECT_EQ(gzwrite(gz, members[i].data(), static_cast<unsigned>(members[i].size())),
                static_cast<int>(members[i].size()));
      EXPECT_EQ(gzclose(gz), Z_OK);
    }
    return path;
  }

  static std::string Zstd(const std::vector<std::string>& frames) {
    std::string out;
    for (const auto& frame : frames) {
      std::string compressed(ZSTD_compressBound(frame.size()), '\0');
      size_t n = ZSTD_compress(compressed.data(), compressed.size(), frame.data(), frame.size(), 3);
      EXPECT_FALSE(ZSTD_isError(n));
      compressed.resize(n);
      out += compressed;
    }
    return out;
  }

  static std::vector<Record> Read(const std::string& file, Status* status = nullptr) {
    std::vector<Record> records;
    Status s = ReadRecords(file, [&](const RawRecord& r) {
      records.push_back({std::string(r.json), r.file ? *r.file : "", r.line, r.bundle_entry,
                         std::string(r.full_url), r.too_large});
    });
    if (status != nullptr) {
      *status = s;
    } else {
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    return records;
  }

  fs::path dir_;
};

constexpr std::string_view kNdjson =
    "{\"resourceType\":\"Patient\",\"id\":\"a\"}\r\n"
    "\n"
    "   \r\n"
    "{\"resourceType\":\"Patient\",\"id\":\"b\"}\n"
    "\r\n"
    "{\"resourceType\":\"Patient\",\"id\":\"c\"}";  // no final newline

void ExpectThreePatients(const std::vector<Record>& records, const std::string& file) {
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].json, R"({"resourceType":"Patient","id":"a"})");
  EXPECT_EQ(records[0].line, 1);
  EXPECT_EQ(records[1].json, R"({"resourceType":"Patient","id":"b"})");
  EXPECT_EQ(records[1].line, 4);
  EXPECT_EQ(records[2].json, R"({"resourceType":"Patient","id":"c"})");
  EXPECT_EQ(records[2].line, 6);
  for (const auto& r : records) {
    EXPECT_EQ(r.file, file);
    EXPECT_EQ(r.bundle_entry, -1);
    EXPECT_FALSE(r.too_large);
  }
}

TEST_F(ReaderTest, PlainNdjsonWithCrlfAndBlankLines) {
  std::string file = Write("Patient.000.ndjson", kNdjson);
  ExpectThreePatients(Read(file), file);
}

TEST_F(ReaderTest, JsonlExtension) {
  std::string file = Write("Patient.jsonl", kNdjson);
  ExpectThreePatients(Read(file), file);
}

TEST_F(ReaderTest, GzipNdjsonInSeveralMembers) {
  std::string text(kNdjson);
  size_t cut = text.find("{\"resourceType\":\"Patient\",\"id\":\"b") + 10;  // mid-line
  std::string file = WriteGz("Patient.ndjson.gz", {text.substr(0, cut), text.substr(cut)});
  ExpectThreePatients(Read(file), file);
}

TEST_F(ReaderTest, ZstdNdjsonInSeveralFrames) {
  std::string text(kNdjson);
  size_t cut = text.find("id\":\"c") + 2;
  std::string file = Write("Patient.ndjson.zst", Zstd({text.substr(0, cut), text.substr(cut)}));
  ExpectThreePatients(Read(file), file);
}

TEST_F(ReaderTest, LargeCompressedFilesStreamThrough) {
  // ~54 MB that compress to almost nothing: one input block fills the line buffer many times.
  const std::string line = "{\"resourceType\":\"Patient\",\"id\":\"p\"}\n";
  constexpr int kLines = 1'300'000;
  std::string text;
  text.reserve(line.size() * kLines);
  for (int i = 0; i < kLines; ++i) text += line;
  for (const std::string& file :
       {Write("big.ndjson.zst", Zstd({text, text})), WriteGz("big.ndjson.gz", {text, text})}) {
    int64_t count = 0, last_line = 0;
    bool all_equal = true;
    Status status = ReadRecords(file, [&](const RawRecord& r) {
      ++count;
      last_line = r.line;
      all_equal &= r.json.size() + 1 == line.size();
    });
    EXPECT_TRUE(status.ok()) << status.ToString();
    EXPECT_EQ(count, 2 * kLines) << file;
    EXPECT_EQ(last_line, 2 * kLines) << file;
    EXPECT_TRUE(all_equal) << file;
  }
}

TEST_F(ReaderTest, CorruptAndTruncatedCompressedData) {
  std::string lines;
  for (int i = 0; i < 2000; ++i) {
    lines += "{\"resourceType\":\"Observation\",\"id\":\"" + std::to_string(i) + "\"}\n";
  }
  std::string zst = Zstd({lines});
  std::string truncated = Write("t.ndjson.zst", zst.substr(0, zst.size() / 2));
  Status status;
  auto records = Read(truncated, &status);
  EXPECT_EQ(status.code(), StatusCode::kCorruption) << status.ToString();
  EXPECT_NE(status.message().find(truncated), std::string::npos);
  EXPECT_LT(records.size(), 2000u);

  std::string garbage = Write("g.ndjson.zst", "this is not zstd at all");
  Read(garbage, &status);
  EXPECT_EQ(status.code(), StatusCode::kCorruption) << status.ToString();

  std::string gz = WriteGz("full.ndjson.gz", {lines});
  std::string bytes;
  {
    std::ifstream in(gz, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::string cut_gz = Write("cut.ndjson.gz", bytes.substr(0, bytes.size() / 2));
  Read(cut_gz, &status);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find(cut_gz), std::string::npos) << status.ToString();
}

TEST_F(ReaderTest, TooLargeLineIsFlaggedAndTheRestIsRead) {
  std::string big = "{\"resourceType\":\"Observation\",\"pad\":\"";
  big.append(kResourceBytesMax, 'x');
  big += "\"}";
  std::string text = "{\"id\":\"first\"}\n" + big + "\r\n{\"id\":\"last\"}\n" + big;
  for (const std::string& file :
       {Write("big.ndjson", text), Write("big.ndjson.zst", Zstd({text}))}) {
    auto records = Read(file);
    ASSERT_EQ(records.size(), 4u) << file;
    EXPECT_EQ(records[0].json, "{\"id\":\"first\"}");
    EXPECT_TRUE(records[1].too_large);
    EXPECT_EQ(records[1].json, "");
    EXPECT_EQ(records[1].line, 2);
    EXPECT_EQ(records[2].json, "{\"id\":\"last\"}");
    EXPECT_EQ(records[2].line, 3);
    EXPECT_TRUE(records[3].too_large);
    EXPECT_EQ(records[3].line, 4);
  }
  // A line of exactly the limit is not too large.
  std::string exact = "\"" + std::string(kResourceBytesMax - 2, 'y') + "\"";
  auto records = Read(Write("exact.ndjson", exact + "\r\n"));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_FALSE(records[0].too_large);
  EXPECT_EQ(records[0].json.size(), kResourceBytesMax);
}

// The ingest pipeline reads NDJSON through LineBlockReader: it must give exactly the lines,
// numbers, flags and errors of ReadRecords, whatever the block size.
std::vector<Record> ReadInBlocks(const std::string& file, size_t lines_min, Status* status) {
  std::vector<Record> records;
  auto reader = LineBlockReader::Open(file);
  if (!reader.ok()) {
    *status = reader.status();
    return records;
  }
  ByteBuffer text;
  std::vector<LineRef> lines;
  *status = Status::Ok();
  bool short_block_seen = false;
  for (;;) {
    text.append("stale text the reader must replace");
    Result<bool> more = (*reader)->Next(text, lines, lines_min);
    if (!more.ok()) {
      *status = more.status();
      break;
    }
    if (!*more) {
      EXPECT_TRUE(lines.empty());
      EXPECT_EQ(text.size(), 0u);
      break;
    }
    // Only the last block (or the one before an error) may hold fewer lines than asked.
    EXPECT_FALSE(short_block_seen) << "a block of fewer than lines_min lines was not the last";
    short_block_seen = lines.size() < lines_min;
    for (const LineRef& l : lines) {
      EXPECT_LE(l.offset + l.size, text.size());
      records.push_back({std::string(text.view().substr(l.offset, l.size)), file, l.line, -1, "",
                         l.too_large});
    }
  }
  return records;
}

TEST_F(ReaderTest, LineBlocksGiveTheSameLinesAsReadRecords) {
  unsigned seed = static_cast<unsigned>(::testing::UnitTest::GetInstance()->random_seed());
  std::srand(seed);
  std::string mixed;
  for (int i = 0; i < 20000; ++i) {
    int kind = std::rand() % 20;
    if (kind == 0) {
      mixed += "\n";
    } else if (kind == 1) {
      mixed += "  \r\n";
    } else {
      mixed += "{\"id\":\"" + std::to_string(i) + "\",\"pad\":\"" +
               std::string(static_cast<size_t>(std::rand() % 3000), 'p') + "\"}";
      mixed += kind == 2 ? "\r\n" : "\n";
    }
  }
  mixed += "{\"id\":\"no final newline\"}";
  // Longer than the limit by more than one read, so that its bytes are dropped as they come.
  std::string big = "{\"pad\":\"" + std::string(kResourceBytesMax + 700000, 'x') + "\"}";
  std::string with_big = "{\"id\":\"first\"}\n" + big + "\r\n{\"id\":\"last\"}\n" + big;
  std::string zst = Zstd({mixed});
  std::vector<std::string> files = {
      Write("three.ndjson", kNdjson),
      Write("mixed.ndjson", mixed),
      Write("mixed.ndjson.zst", Zstd({mixed.substr(0, 100000), mixed.substr(100000)})),
      WriteGz("mixed.ndjson.gz", {mixed}),
      Write("big.ndjson", with_big),
      Write("big.ndjson.zst", Zstd({with_big})),
      Write("empty.ndjson", ""),
      Write("truncated.ndjson.zst", zst.substr(0, zst.size() / 2)),
  };
  for (const std::string& file : files) {
    Status expected_status;
    std::vector<Record> expected = Read(file, &expected_status);
    for (size_t lines_min : {size_t{1}, size_t{7}, size_t{1024}}) {
      SCOPED_TRACE(file + " lines_min " + std::to_string(lines_min) + " seed " +
                   std::to_string(seed));
      Status status;
      std::vector<Record> got = ReadInBlocks(file, lines_min, &status);
      EXPECT_EQ(status.code(), expected_status.code()) << status.ToString();
      EXPECT_EQ(status.message(), expected_status.message());
      ASSERT_EQ(got.size(), expected.size());
      for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_EQ(got[i].json, expected[i].json) << "record " << i;
        ASSERT_EQ(got[i].line, expected[i].line) << "record " << i;
        ASSERT_EQ(got[i].too_large, expected[i].too_large) << "record " << i;
      }
    }
  }
}

TEST_F(ReaderTest, BundleEntriesWithFullUrl) {
  std::string file = Write("bundle.json", R"({
  "resourceType": "Bundle", "type": "transaction",
  "entry": [
    {"fullUrl": "urn:uuid:p1", "resource": {"resourceType": "Patient", "id": "p1"},
     "request": {"method": "POST", "url": "Patient"}},
    {"request": {"method": "DELETE", "url": "Observation/o9"}},
    {"resource": {"resourceType": "Encounter", "id": "e1", "period": {"start": "2021-01-01"},
                  "subject": {"reference": "urn:uuid:p1"}},
     "fullUrl": "urn:uuid:e1"},
    {"resource": {"resourceType": "Condition", "id": "c1"}}
  ]
})");
  auto records = Read(file);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].json, R"({"resourceType": "Patient", "id": "p1"})");
  EXPECT_EQ(records[0].full_url, "urn:uuid:p1");
  EXPECT_EQ(records[0].bundle_entry, 0);
  EXPECT_EQ(records[0].line, 1);
  EXPECT_EQ(records[1].bundle_entry, 2);
  EXPECT_EQ(records[1].full_url, "urn:uuid:e1");
  EXPECT_NE(records[1].json.find("\"subject\": {\"reference\": \"urn:uuid:p1\"}"),
            std::string::npos);
  EXPECT_EQ(records[2].bundle_entry, 3);
  EXPECT_EQ(records[2].full_url, "");
  FhirMapper mapper({.today = ToDays({2025, 1, 1})});
  EXPECT_EQ(mapper.Map(records[0].json).kind, MappedKind::kPatient);
  EXPECT_EQ(mapper.Map(records[1].json).subject_reference, "urn:uuid:p1");
}

TEST_F(ReaderTest, BundleWithoutEntries) {
  EXPECT_TRUE(Read(Write("empty.json", R"({"resourceType":"Bundle","type":"searchset"})")).empty());
  EXPECT_TRUE(Read(Write("empty2.json", R"({"resourceType":"Bundle","entry":[]})")).empty());
  EXPECT_TRUE(Read(Write("blank.json", "  \n")).empty());
}

TEST_F(ReaderTest, SingleResourceJsonFile) {
  std::string text = "{\n  \"resourceType\": \"Organization\",\n  \"name\": \"Cabinet\"\n}";
  auto records = Read(Write("org.json", "\n" + text + "\n\n"));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].json, text);
  EXPECT_EQ(records[0].bundle_entry, -1);
  FhirMapper mapper({.today = ToDays({2025, 1, 1})});
  EXPECT_EQ(mapper.Map(records[0].json).organization_name, "Cabinet");
}

TEST_F(ReaderTest, InvalidJsonFileIsOneInvalidRecord) {
  std::string text = R"({"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Pat)";
  auto records = Read(Write("bad.json", text));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].json, text);
  FhirMapper mapper({.today = ToDays({2025, 1, 1})});
  EXPECT_EQ(mapper.Map(records[0].json).reason, QuarantineReason::kInvalidJson);
  // Entries are delivered only when the whole Bundle is valid.
  std::string half =
      R"({"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient"}},)";
  auto half_records = Read(Write("half.json", half));
  ASSERT_EQ(half_records.size(), 1u);
  EXPECT_EQ(half_records[0].json, half);
}

TEST_F(ReaderTest, Errors) {
  Status status;
  std::string missing = (dir_ / "missing.ndjson").string();
  Read(missing, &status);
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_NE(status.message().find(missing), std::string::npos);
  Read((dir_ / "missing.json").string(), &status);
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  Read(Write("notes.txt", "x"), &status);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
}

std::vector<Record> ReadBodyRecords(std::string_view body) {
  std::vector<Record> records;
  const std::string name = "POST /api/ingest";
  Status s = ReadBody(body, name, [&](const RawRecord& r) {
    EXPECT_EQ(*r.file, name);
    records.push_back({std::string(r.json), *r.file, r.line, r.bundle_entry,
                       std::string(r.full_url), r.too_large});
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return records;
}

TEST(ReadBody, NdjsonBundleAndSingleResource) {
  auto ndjson = ReadBodyRecords("{\"id\":\"a\"}\r\n\n{\"id\":\"b\"}\n{broken\n");
  ASSERT_EQ(ndjson.size(), 3u);
  EXPECT_EQ(ndjson[0].json, "{\"id\":\"a\"}");
  EXPECT_EQ(ndjson[1].line, 3);
  EXPECT_EQ(ndjson[2].json, "{broken");
  EXPECT_EQ(ndjson[2].line, 4);

  auto bundle =
      ReadBodyRecords(R"({"resourceType":"Bundle","type":"batch","entry":[{"fullUrl":"urn:uuid:x",)"
                      R"("resource":{"resourceType":"Patient"}}]})");
  ASSERT_EQ(bundle.size(), 1u);
  EXPECT_EQ(bundle[0].json, R"({"resourceType":"Patient"})");
  EXPECT_EQ(bundle[0].full_url, "urn:uuid:x");
  EXPECT_EQ(bundle[0].bundle_entry, 0);

  auto single = ReadBodyRecords("{\n \"resourceType\": \"Patient\",\n \"id\": \"p\"\n}\n");
  ASSERT_EQ(single.size(), 1u);
  EXPECT_EQ(single[0].json, "{\n \"resourceType\": \"Patient\",\n \"id\": \"p\"\n}");

  EXPECT_TRUE(ReadBodyRecords("").empty());
  EXPECT_TRUE(ReadBodyRecords(" \n\r\n").empty());
}

TEST_F(ReaderTest, ListInputFilesOrder) {
  for (const char* name :
       {"Observation.000.ndjson", "Patient.000.ndjson", "Organization.ndjson.gz",
        "MedicationRequest.000.ndjson", "Medication.000.ndjson", "sub/Patient.001.ndjson.zst",
        "sub/deeper/bundle.json", "a.jsonl", "LICENSE", "log.txt", ".hidden.ndjson",
        ".git/Patient.ndjson", "patient-extra.ndjson"}) {
    Write(name, "");
  }
  auto files = ListInputFiles({dir_.string()});
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  std::string d = dir_.string() + "/";
  std::vector<std::string> expected = {
      d + "Patient.000.ndjson",         d + "patient-extra.ndjson",
      d + "sub/Patient.001.ndjson.zst", d + "Organization.ndjson.gz",
      d + "Medication.000.ndjson",      d + "MedicationRequest.000.ndjson",
      d + "Observation.000.ndjson",     d + "a.jsonl",
      d + "sub/deeper/bundle.json"};
  EXPECT_EQ(*files, expected);

  // Files and folders together, duplicates once.
  auto mixed = ListInputFiles({d + "Observation.000.ndjson", d + "sub", d + "sub"});
  ASSERT_TRUE(mixed.ok());
  EXPECT_EQ(*mixed,
            (std::vector<std::string>{d + "sub/Patient.001.ndjson.zst",
                                      d + "Observation.000.ndjson", d + "sub/deeper/bundle.json"}));

  auto missing = ListInputFiles({d + "nowhere"});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find(d + "nowhere"), std::string::npos);
  EXPECT_EQ(ListInputFiles({d + "log.txt"}).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace p4dp::ingest
