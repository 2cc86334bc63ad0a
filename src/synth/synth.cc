#include "synth/synth.h"

#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "domain/departement.h"
#include "synth/patient_sim.h"
#include "synth/world.h"

namespace p4dp::synth {
namespace {

// Patients per chunk: the unit of parallel work and of output order. Fixed, so that the
// bytes do not depend on the thread count.
constexpr int64_t kChunkPatients = 1000;
// Chunks simulated ahead of the writer, per worker: bounds memory.
constexpr int64_t kChunksInFlightPerThread = 2;
constexpr int kZstdLevel = 3;
constexpr int kThreadsMax = 256;
constexpr int64_t kProgressIntervalMicros = 2'000'000;

std::string FileName(ResourceType type, bool zstd) {
  return std::string(ResourceTypeName(type)) + (zstd ? ".ndjson.zst" : ".ndjson");
}

Status CompressChunk(ZSTD_CCtx* ctx, std::string& text) {
  if (text.empty()) return Status::Ok();
  std::string out(ZSTD_compressBound(text.size()), '\0');
  size_t n = ZSTD_compressCCtx(ctx, out.data(), out.size(), text.data(), text.size(), kZstdLevel);
  if (ZSTD_isError(n)) {
    return Status::Internal(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
  }
  out.resize(n);
  text = std::move(out);
  return Status::Ok();
}

// Runs the workers and hands finished chunks to the writer in order.
class ChunkPipeline {
 public:
  ChunkPipeline(const World& world, const SynthOptions& options, int threads)
      : world_(world), options_(options), threads_(threads) {
    chunks_ = (options.patients + kChunkPatients - 1) / kChunkPatients;
    in_flight_max_ = kChunksInFlightPerThread * threads;
  }
  ~ChunkPipeline() {
    {
      std::lock_guard lock(mu_);
      stopped_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }

  int64_t chunks() const { return chunks_; }

  void Start() {
    for (int i = 0; i < threads_; ++i) workers_.emplace_back([this] { Work(); });
  }

  // Blocks until chunk `index` is done, and takes it. Chunks are taken in order.
  Result<std::unique_ptr<ChunkOutput>> Take(int64_t index) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !error_.ok() || ready_.count(index) > 0; });
    if (!error_.ok()) return error_;
    auto chunk = std::move(ready_[index]);
    ready_.erase(index);
    taken_ = index + 1;
    cv_.notify_all();
    return chunk;
  }

 private:
  void Work() {
    ZSTD_CCtx* ctx = ZSTD_createCCtx();
    for (;;) {
      int64_t index;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopped_ || next_ < taken_ + in_flight_max_; });
        if (stopped_ || next_ >= chunks_) break;
        index = next_++;
      }
      auto chunk = std::make_unique<ChunkOutput>();
      chunk->outbreak_cases.assign(world_.outbreaks().size(), 0);
      int64_t first = index * kChunkPatients;
      int64_t last = std::min(options_.patients, first + kChunkPatients);
      for (int64_t p = first; p < last; ++p) SimulatePatient(world_, options_, p, *chunk);
      Status status;
      if (options_.compress_zstd) {
        for (auto& text : chunk->text) {
          status = CompressChunk(ctx, text);
          if (!status.ok()) break;
        }
      }
      std::lock_guard lock(mu_);
      if (!status.ok() && error_.ok()) error_ = status;
      ready_[index] = std::move(chunk);
      cv_.notify_all();
    }
    ZSTD_freeCCtx(ctx);
  }

  const World& world_;
  const SynthOptions& options_;
  int threads_;
  int64_t chunks_ = 0;
  int64_t in_flight_max_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t next_ = 0;
  int64_t taken_ = 0;
  bool stopped_ = false;
  Status error_;
  std::map<int64_t, std::unique_ptr<ChunkOutput>> ready_;
  std::vector<std::thread> workers_;
};

struct Totals {
  std::array<int64_t, kResourceTypeCount> lines{};
  std::vector<std::string> defect_rows;  // CSV rows of truth/defects.csv
  std::array<int64_t, kDefectKindCount> defects_by_kind{};
  std::vector<int64_t> outbreak_cases;
  int64_t adults = 0, patients = 0, deaths = 0;
  std::array<int64_t, kConditionCount> adults_with_condition{};
  int64_t bytes = 0;
};

void AddChunk(const ChunkOutput& chunk, bool zstd, Totals& totals) {
  for (const DefectRecord& d : chunk.defects) {
    auto t = static_cast<size_t>(d.type);
    totals.defect_rows.push_back(FileName(d.type, zstd) + "," +
                                 std::to_string(totals.lines[t] + d.line_in_chunk + 1) + "," +
                                 d.resource_id + "," + std::string(DefectKindName(d.kind)));
    ++totals.defects_by_kind[static_cast<size_t>(d.kind)];
  }
  for (size_t t = 0; t < kResourceTypeCount; ++t) totals.lines[t] += chunk.lines[t];
  for (size_t i = 0; i < chunk.outbreak_cases.size(); ++i) {
    totals.outbreak_cases[i] += chunk.outbreak_cases[i];
  }
  totals.adults += chunk.adults;
  totals.patients += chunk.patients;
  totals.deaths += chunk.deaths;
  for (size_t c = 0; c < kConditionCount; ++c) {
    totals.adults_with_condition[c] += chunk.adults_with_condition[c];
  }
}

std::string OutbreaksCsv(const World& world, const Totals& totals) {
  std::string csv = "indicator,departement,first_day,last_day,extra_cases\n";
  auto deps = domain::AllDepartements();
  for (size_t i = 0; i < world.outbreaks().size(); ++i) {
    const Outbreak& o = world.outbreaks()[i];
    csv += std::string(InfoOf(o.indicator).key) + "," +
           std::string(deps[static_cast<size_t>(o.departement)].code) + "," +
           FormatIsoDate(o.first_day) + "," + FormatIsoDate(o.last_day) + "," +
           std::to_string(totals.outbreak_cases[i]) + "\n";
  }
  return csv;
}

std::string EpidemicsCsv(const World& world) {
  std::string csv = "indicator,season,start_week,end_week,peak_per_100k\n";
  for (const Epidemic& e : world.epidemics()) {
    char peak[32];
    std::snprintf(peak, sizeof peak, "%.1f", e.peak_per_100k);
    csv += std::string(InfoOf(e.indicator).key) + "," + e.season + "," + FormatIsoWeek(e.start) +
           "," + FormatIsoWeek(e.end) + "," + peak + "\n";
  }
  return csv;
}

std::string SummaryJson(const SynthOptions& options, const World& world, const Totals& totals) {
  nlohmann::ordered_json j;
  j["generator"] = "p4dp synth";
  j["seed"] = options.seed;
  j["patients"] = totals.patients;
  j["from"] = FormatIsoDate(options.from);
  j["to"] = FormatIsoDate(options.to);
  j["practices"] = world.practices().size();
  j["compression"] = options.compress_zstd ? "zstd" : "none";
  j["defect_rate"] = options.defect_rate;
  nlohmann::ordered_json resources, files;
  for (int t = 0; t < kResourceTypeCount; ++t) {
    auto type = static_cast<ResourceType>(t);
    resources[std::string(ResourceTypeName(type))] = totals.lines[static_cast<size_t>(t)];
    files[std::string(ResourceTypeName(type))] = FileName(type, options.compress_zstd);
  }
  j["resources"] = resources;
  j["files"] = files;
  j["deaths"] = totals.deaths;
  j["adults"] = totals.adults;
  nlohmann::ordered_json prevalence;
  for (const ConditionInfo& info : Conditions()) {
    int64_t cases = totals.adults_with_condition[static_cast<size_t>(info.condition)];
    double percent = totals.adults > 0
                         ? 100.0 * static_cast<double>(cases) / static_cast<double>(totals.adults)
                         : 0.0;
    nlohmann::ordered_json row;
    row["icd10"] = info.icd10.code;
    row["icpc2"] = info.icpc2.code;
    row["adults_with_diagnosis"] = cases;
    row["percent"] = std::round(percent * 100) / 100;
    if (info.condition != Condition::kStroke) {
      row["published_range_percent"] = {info.published_min_percent, info.published_max_percent};
    }
    prevalence[std::string(info.key)] = row;
  }
  j["adult_prevalence"] = prevalence;
  nlohmann::ordered_json defects;
  int64_t defect_total = 0;
  for (int k = 0; k < kDefectKindCount; ++k) {
    defects[std::string(DefectKindName(static_cast<DefectKind>(k)))] =
        totals.defects_by_kind[static_cast<size_t>(k)];
    defect_total += totals.defects_by_kind[static_cast<size_t>(k)];
  }
  j["defects"] = defects;
  j["defects_total"] = defect_total;
  j["outbreaks"] = world.outbreaks().size();
  j["epidemics"] = world.epidemics().size();
  return j.dump(2) + "\n";
}

}  // namespace

Status ValidateOptions(const SynthOptions& o) {
  if (o.patients < 1 || o.patients > kPatientsMax) {
    return Status::InvalidArgument("--patients must be between 1 and " +
                                   std::to_string(kPatientsMax));
  }
  if (o.from >= o.to) return Status::InvalidArgument("--from must be before --to");
  if (o.from < ToDays({1950, 1, 1}) || o.to > ToDays({2100, 12, 31})) {
    return Status::InvalidArgument("--from and --to must lie between 1950 and 2100");
  }
  if (o.to - o.from > kYearsMax * 366) {
    return Status::InvalidArgument("the period may not exceed " + std::to_string(kYearsMax) +
                                   " years");
  }
  if (o.practices < 0 || o.practices > kPracticesMax) {
    return Status::InvalidArgument("--practices must be between 0 and " +
                                   std::to_string(kPracticesMax));
  }
  if (!(o.defect_rate >= 0 && o.defect_rate <= 0.5)) {
    return Status::InvalidArgument("--defects must be between 0 and 0.5");
  }
  if (o.threads < 0 || o.threads > kThreadsMax) {
    return Status::InvalidArgument("--threads must be between 0 and " +
                                   std::to_string(kThreadsMax));
  }
  if (o.out_dir.empty()) return Status::InvalidArgument("--out is required");
  return Status::Ok();
}

Result<SynthResult> GenerateSyntheticPopulation(const SynthOptions& options, FileSystem& fs) {
  P4DP_TRY(ValidateOptions(options));
  const std::string& dir = options.out_dir;
  P4DP_TRY(fs.CreateDirectories(dir + "/truth"));
  World world = World::Build(options);
  const bool zstd = options.compress_zstd;

  // Each file is written under a temporary name and renamed when complete.
  std::array<std::unique_ptr<WritableFile>, kResourceTypeCount> files;
  for (int t = 0; t < kResourceTypeCount; ++t) {
    std::string name = FileName(static_cast<ResourceType>(t), zstd);
    files[static_cast<size_t>(t)] = P4DP_TRY(fs.NewWritableFile(dir + "/" + name + ".tmp"));
  }
  Totals totals;
  totals.outbreak_cases.assign(world.outbreaks().size(), 0);
  auto write_chunk = [&](const ChunkOutput& chunk) -> Status {
    for (size_t t = 0; t < kResourceTypeCount; ++t) {
      if (chunk.text[t].empty()) continue;
      P4DP_TRY(files[t]->Append(chunk.text[t]));
      totals.bytes += static_cast<int64_t>(chunk.text[t].size());
    }
    AddChunk(chunk, zstd, totals);
    return Status::Ok();
  };
  {
    ChunkOutput practices;
    for (const Practice& p : world.practices()) WritePractice(p, practices);
    if (zstd) {
      ZSTD_CCtx* ctx = ZSTD_createCCtx();
      Status s = CompressChunk(ctx, practices.text[1]);
      ZSTD_freeCCtx(ctx);
      P4DP_TRY(s);
    }
    P4DP_TRY(write_chunk(practices));
  }
  int threads = options.threads > 0
                    ? options.threads
                    : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  ChunkPipeline pipeline(world, options, threads);
  pipeline.Start();
  auto last_progress = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < pipeline.chunks(); ++i) {
    auto chunk = P4DP_TRY(pipeline.Take(i));
    P4DP_TRY(write_chunk(*chunk));
    auto now = std::chrono::steady_clock::now();
    bool last = i + 1 == pipeline.chunks();
    if (options.on_progress &&
        (last ||
         std::chrono::duration_cast<std::chrono::microseconds>(now - last_progress).count() >=
             kProgressIntervalMicros)) {
      last_progress = now;
      options.on_progress({totals.patients, options.patients, totals.bytes});
    }
  }
  for (int t = 0; t < kResourceTypeCount; ++t) {
    auto& file = files[static_cast<size_t>(t)];
    P4DP_TRY(file->Sync());
    P4DP_TRY(file->Close());
    std::string name = dir + "/" + FileName(static_cast<ResourceType>(t), zstd);
    P4DP_TRY(fs.Rename(name + ".tmp", name));
  }
  std::string defects_csv = "file,line,resource_id,kind\n";
  for (const std::string& row : totals.defect_rows) defects_csv += row + "\n";
  P4DP_TRY(WriteFileAtomically(fs, dir + "/truth/outbreaks.csv", OutbreaksCsv(world, totals)));
  P4DP_TRY(WriteFileAtomically(fs, dir + "/truth/epidemics.csv", EpidemicsCsv(world)));
  P4DP_TRY(WriteFileAtomically(fs, dir + "/truth/defects.csv", defects_csv));
  P4DP_TRY(
      WriteFileAtomically(fs, dir + "/truth/summary.json", SummaryJson(options, world, totals)));
  P4DP_TRY(fs.SyncDirectory(dir));

  SynthResult result;
  result.patients = totals.patients;
  for (int64_t n : totals.lines) result.resources += n;
  result.bytes_written = totals.bytes;
  result.defects = static_cast<int64_t>(totals.defect_rows.size());
  return result;
}

}  // namespace p4dp::synth
