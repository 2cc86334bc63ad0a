// `p4dp synth`: a deterministic synthetic population of French primary care written as a
// FHIR R4 Bulk Data export, with truth files describing what was simulated (the contract
// is shared/spec/synth.md; the model is described in docs/synth.md). The same options give
// byte-identical output whatever the thread count. GenerateSyntheticPopulation is
// thread-safe to call; it uses `threads` workers of its own.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "base/date.h"
#include "base/file_system.h"
#include "base/status.h"

namespace p4dp::synth {

inline constexpr int64_t kPatientsMax = 100'000'000;
inline constexpr int kPracticesMax = 1'000'000;
inline constexpr int kYearsMax = 30;

struct SynthProgress {
  int64_t patients_done = 0;
  int64_t patients_total = 0;
  int64_t bytes_written = 0;
};

struct SynthOptions {
  int64_t patients = 10'000;
  uint64_t seed = 1;
  Days from = 17'897;  // 2019-01-01
  Days to = 20'088;    // 2024-12-31
  int practices = 0;   // 0: one per 1,500 patients, at least one per département
  bool compress_zstd = false;
  double defect_rate = 0.0;  // fraction of clinical records corrupted, 0..0.5
  int threads = 0;           // 0: hardware concurrency
  std::string out_dir;
  // Called from the writing thread every few seconds and at the end.
  std::function<void(const SynthProgress&)> on_progress;
};

struct SynthResult {
  int64_t patients = 0;
  int64_t resources = 0;
  int64_t bytes_written = 0;
  int64_t defects = 0;
};

// Checks the options: a message names the option at fault.
Status ValidateOptions(const SynthOptions& options);

// Writes the population into options.out_dir (created if missing; files it would write
// are replaced). Errors name the file that could not be written.
Result<SynthResult> GenerateSyntheticPopulation(const SynthOptions& options, FileSystem& fs);

}  // namespace p4dp::synth
