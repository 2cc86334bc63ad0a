// `p4dp synth`: writes the synthetic population (wiring only; the work is in synth/).
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>

#include "base/file_system.h"
#include "cli/commands.h"
#include "synth/synth.h"

namespace p4dp::cli {
namespace {

struct SynthArgs {
  int64_t patients = 10'000;
  uint64_t seed = 1;
  std::string from = "2019-01-01";
  std::string to = "2024-12-31";
  int practices = 0;
  std::string compress = "none";
  double defects = 0.0;
  int threads = 0;
  std::string out;
  bool quiet = false;
};

int RunSynth(const SynthArgs& args) {
  synth::SynthOptions options;
  options.patients = args.patients;
  options.seed = args.seed;
  auto from = ParseIsoDate(args.from);
  if (!from.ok()) return Fail("--from: " + from.status().message());
  auto to = ParseIsoDate(args.to);
  if (!to.ok()) return Fail("--to: " + to.status().message());
  options.from = *from;
  options.to = *to;
  options.practices = args.practices;
  options.compress_zstd = args.compress == "zstd";
  options.defect_rate = args.defects;
  options.threads = args.threads;
  options.out_dir = args.out;
  auto start = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  if (!args.quiet) {
    options.on_progress = [&](const synth::SynthProgress& p) {
      std::fprintf(
          stderr, "synth: %lld/%lld patients (%.0f%%), %.1f MB written, %.0f s\n",
          static_cast<long long>(p.patients_done), static_cast<long long>(p.patients_total),
          100.0 * static_cast<double>(p.patients_done) / static_cast<double>(p.patients_total),
          static_cast<double>(p.bytes_written) / 1e6, seconds());
    };
  }
  auto result = synth::GenerateSyntheticPopulation(options, RealFileSystem());
  if (!result.ok()) return Fail("synth: " + result.status().ToString());
  std::printf(
      "{\"patients\":%lld,\"resources\":%lld,\"bytes\":%lld,\"defects\":%lld,"
      "\"seconds\":%.2f,\"out\":\"%s\"}\n",
      static_cast<long long>(result->patients), static_cast<long long>(result->resources),
      static_cast<long long>(result->bytes_written), static_cast<long long>(result->defects),
      seconds(), args.out.c_str());
  return 0;
}

}  // namespace

void RegisterSynth(CLI::App& app, RunFn& run) {
  auto args = std::make_shared<SynthArgs>();
  CLI::App* cmd = app.add_subcommand(
      "synth", "Write a synthetic French primary-care population as FHIR R4 NDJSON");
  cmd->add_option("--patients", args->patients, "Number of patients")
      ->check(CLI::Range(int64_t{1}, synth::kPatientsMax))
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "Random seed (same seed, same bytes)")
      ->capture_default_str();
  cmd->add_option("--from", args->from, "First day of the period (YYYY-MM-DD)")
      ->capture_default_str();
  cmd->add_option("--to", args->to, "Last day of the period (YYYY-MM-DD)")->capture_default_str();
  cmd->add_option("--practices", args->practices,
                  "Number of practices (0: one per 1,500 patients, at least 101)")
      ->capture_default_str();
  cmd->add_option("--compress", args->compress, "Output compression")
      ->check(CLI::IsMember({"none", "zstd"}))
      ->capture_default_str();
  cmd->add_option("--defects", args->defects,
                  "Fraction of clinical records to corrupt on purpose (0 to 0.5)")
      ->check(CLI::Range(0.0, 0.5))
      ->capture_default_str();
  cmd->add_option("--threads", args->threads, "Worker threads (0: all cores)")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  cmd->add_option("--out", args->out, "Output folder")->required();
  cmd->add_flag("--quiet", args->quiet, "No progress lines on stderr");
  cmd->callback([&run, args] { run = [args] { return RunSynth(*args); }; });
}

}  // namespace p4dp::cli
