// Ingestion benchmark (must show 6 of the ingestion issue): ingests a synthetic population
// (zstd NDJSON, as `p4dp synth --compress zstd` writes it) into a fresh warehouse and
// prints events/s, MB/s and peak memory next to the parse-only speed of simdjson on the
// same files in the same run (the same reader and decompression, then a full simdjson DOM
// parse of each record), and the warehouse's size on disk relative to the input.
// Usage: ingest_bench [--patients N] [--dir DIR] [--runs R]; exits 3 below the 25 % target
//        (default 100000, build/bench-ingest, 3: parse-only and ingest each run R times,
//        the best of each compared)
#include <simdjson.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "base/file_system.h"
#include "crypto/aead.h"
#include "ingest/pipeline.h"
#include "ingest/reader.h"
#include "store/warehouse.h"
#include "synth/synth.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int64_t FolderBytes(const std::string& dir) {
  int64_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) total += static_cast<int64_t>(e.file_size());
  }
  return total;
}

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto sec = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return sec(usage.ru_utime) + sec(usage.ru_stime);
}

long PeakRssMiB() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}

int Fail(const std::string& what, const p4dp::Status& s) {
  std::fprintf(stderr, "ingest_bench: %s: %s\n", what.c_str(), s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t patients = 100'000;
  std::string dir = "build/bench-ingest";
  int ingest_runs = 3;
  constexpr const char* kUsage = "usage: ingest_bench [--patients N] [--dir DIR] [--runs R]\n";
  for (int i = 1; i < argc; i += 2) {
    const bool known = std::strcmp(argv[i], "--patients") == 0 ||
                       std::strcmp(argv[i], "--dir") == 0 || std::strcmp(argv[i], "--runs") == 0;
    if (!known || i + 1 >= argc) {
      // Anything else (--help included) stops here, before a run writes its input.
      if (std::strcmp(argv[i], "--help") != 0) {
        std::fprintf(stderr, "ingest_bench: unknown or incomplete argument '%s'\n", argv[i]);
      }
      std::fputs(kUsage, stderr);
      return 2;
    }
    if (std::strcmp(argv[i], "--patients") == 0) patients = std::atoll(argv[i + 1]);
    if (std::strcmp(argv[i], "--dir") == 0) dir = argv[i + 1];
    if (std::strcmp(argv[i], "--runs") == 0) ingest_runs = std::max(1, std::atoi(argv[i + 1]));
  }
  std::string input = dir + "/input-" + std::to_string(patients);
  if (!fs::exists(input + "/truth/summary.json")) {
    std::printf("generating %lld synthetic patients (zstd) into %s\n",
                static_cast<long long>(patients), input.c_str());
    p4dp::synth::SynthOptions options;
    options.patients = patients;
    options.seed = 1;
    options.compress_zstd = true;
    options.out_dir = input;
    auto made = p4dp::synth::GenerateSyntheticPopulation(options, p4dp::RealFileSystem());
    if (!made.ok()) return Fail("synth", made.status());
  }
  auto files = p4dp::ingest::ListInputFiles({input});
  if (!files.ok()) return Fail("list", files.status());

  // 1. Parse-only: the same reader, then simdjson's DOM parser on every record. The best of
  // the runs, so that the baseline is simdjson at its fastest.
  simdjson::dom::parser parser;
  int64_t records = 0, bytes = 0, parse_errors = 0;
  double parse_s = 1e30;
  for (int run = 0; run < ingest_runs; ++run) {
    auto start = Clock::now();
    records = bytes = parse_errors = 0;
    for (const std::string& file : *files) {
      p4dp::Status s = p4dp::ingest::ReadRecords(file, [&](const p4dp::ingest::RawRecord& r) {
        ++records;
        bytes += static_cast<int64_t>(r.json.size()) + 1;
        // In place when the reader padded the record (as ingestion does), else copied.
        auto doc = parser.parse(r.json.data(), r.json.size(), !r.padded);
        if (doc.error()) ++parse_errors;
      });
      if (!s.ok()) return Fail("read " + file, s);
    }
    parse_s = std::min(parse_s, Seconds(start));
  }

  // 2. Ingest into a fresh warehouse, as many runs as parse-only (the best is compared,
  // every run is printed: timings on a shared machine vary by several percent).
  std::string data = dir + "/warehouse";
  double ingest_s = 1e30, ingest_cpu_s = 0;
  std::vector<double> runs;
  p4dp::ingest::IngestSummary summary;
  for (int run = 0; run < ingest_runs; ++run) {
    fs::remove_all(data);
    p4dp::crypto::Key master = p4dp::crypto::Key::Random();
    p4dp::Status init = p4dp::store::Warehouse::Init(p4dp::RealFileSystem(), data, master);
    if (!init.ok()) return Fail("init", init);
    auto start = Clock::now();
    double cpu_start = CpuSeconds();
    {
      auto warehouse = p4dp::store::Warehouse::Open(p4dp::RealFileSystem(), data, master);
      if (!warehouse.ok()) return Fail("open", warehouse.status());
      p4dp::ingest::IngestOptions options;
      options.source = "bench";
      options.today = 21'000;
      p4dp::ingest::Ingester ingester(**warehouse, options);
      p4dp::Status s = ingester.IngestPaths({input});
      if (!s.ok()) return Fail("ingest", s);
      p4dp::Status merged = (*warehouse)->MaybeMerge();
      if (!merged.ok()) return Fail("merge", merged);
      summary = ingester.summary();
    }
    runs.push_back(Seconds(start));
    if (runs.back() < ingest_s) {
      ingest_s = runs.back();
      ingest_cpu_s = CpuSeconds() - cpu_start;
    }
  }
  int64_t events = 0;
  for (int64_t n : summary.events_by_domain) events += n;

  int64_t input_disk = FolderBytes(input);
  int64_t warehouse_disk = FolderBytes(data);
  double parse_mbs = static_cast<double>(bytes) / 1e6 / parse_s;
  double ingest_mbs = static_cast<double>(bytes) / 1e6 / ingest_s;
  std::printf("ingest benchmark: %lld patients, %lld records, %.1f MB of NDJSON (%.1f MB zstd)\n",
              static_cast<long long>(patients), static_cast<long long>(records),
              static_cast<double>(bytes) / 1e6, static_cast<double>(input_disk) / 1e6);
  std::printf("  simdjson parse-only  %7.2f s  %8.1f MB/s  %9.0f records/s  (%lld errors)\n",
              parse_s, parse_mbs, static_cast<double>(records) / parse_s,
              static_cast<long long>(parse_errors));
  std::printf("  p4dp ingest          %7.2f s  %8.1f MB/s  %9.0f records/s  %9.0f events/s\n",
              ingest_s, ingest_mbs, static_cast<double>(summary.records) / ingest_s,
              static_cast<double>(events) / ingest_s);
  std::printf("  ingest CPU time      %7.2f s (%.2f cores busy)\n", ingest_cpu_s,
              ingest_cpu_s / ingest_s);
  std::printf("  ingest runs (s)     ");
  for (double r : runs) std::printf(" %.2f", r);
  std::printf("\n");
  const double ratio = 100.0 * ingest_mbs / parse_mbs;
  std::printf("  ingest / parse-only  %.1f %% (target: at least 25 %%)%s\n", ratio,
              ratio < 25.0 ? "  BELOW THE TARGET" : "");
  std::printf("  accepted %lld, rejected %lld, events %lld\n",
              static_cast<long long>(summary.accepted), static_cast<long long>(summary.rejected),
              static_cast<long long>(events));
  std::printf("  peak memory %ld MiB\n", PeakRssMiB());
  std::printf("  on disk: warehouse %.1f MB = %.2f x the zstd input, %.3f x the NDJSON\n",
              static_cast<double>(warehouse_disk) / 1e6,
              static_cast<double>(warehouse_disk) / static_cast<double>(input_disk),
              static_cast<double>(warehouse_disk) / static_cast<double>(bytes));
  // Below the target, the run fails (exit 3), so that a script or a person sees it.
  return ratio < 25.0 ? 3 : 0;
}
