// Must-show 5 of the surveillance issue: every weekly series of a 1,000,000-patient population
// (6 indicators x 101 départements x 4 age bands over 6 years) evaluated with Farrington
// flexible and EARS C1/C2/C3 (the reference's default controls and ranges), timed, and the
// same work timed with R `surveillance` in the same run on a sample of the series
// (extrapolated per series: R takes minutes for all of them), whose answers must agree.
// The counts are drawn from the synthetic population's own model (synth::World: its
// epidemics, seasons, age risks and département shares), Poisson around the expected weekly
// cases of a population of --patients. R is skipped if Rscript is absent.
//
// Usage: surveil_bench [--patients N] [--threads T] [--runs R] [--r-series S] [--no-r]
//                      [--dump FILE]
// --dump writes every evaluated period of every series and detector (expected, upper bound,
// alarm, 17 significant digits) to FILE, so that two builds can be compared period by period
// (bench/surveil_compare.py).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "surveil/detect.h"
#include "synth/synth.h"
#include "synth/world.h"

namespace {

using namespace p4dp;

struct Series {
  std::string name;
  std::vector<double> counts;
  int start_week = 1;
  int start_year = 2019;
};

// The French population by surveillance age band (INSEE, about 2023).
constexpr double kBandShare[4] = {0.05, 0.12, 0.62, 0.21};

std::vector<Series> MakeSeries(int64_t patients, uint64_t seed) {
  synth::SynthOptions options;
  options.patients = patients;
  options.seed = seed;
  synth::World world = synth::World::Build(options);
  std::mt19937_64 rng(seed);
  std::vector<Series> out;
  const IsoWeek first = ToIsoWeek(world.first_monday());
  for (const auto& info : synth::Indicators()) {
    for (int d = 0; d < 101; ++d) {
      for (int b = 0; b < 4; ++b) {
        Series s;
        s.name = std::string(info.key) + "/" + std::to_string(d) + "/" + std::to_string(b);
        s.start_week = first.week;
        s.start_year = first.year;
        const double people =
            static_cast<double>(patients) * world.PopulationShare(d) * kBandShare[b];
        for (int wk = 0; wk < world.weeks(); ++wk) {
          double mean = world.WeeklyRate(info.indicator, d, wk, b) * people;
          std::poisson_distribution<int> draw(std::max(mean, 1e-12));
          s.counts.push_back(mean > 0 ? draw(rng) : 0);
        }
        out.push_back(std::move(s));
      }
    }
  }
  return out;
}

struct Run {
  std::vector<surveil::Detection> results;
  double seconds = 0;
  double cpu_seconds = 0;  // of the worker threads together
  int64_t periods = 0;
};

// CPU time of the calling thread: on a shared machine a steadier measure than wall time.
double ThreadCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

template <typename Fn>
Run Time(const std::vector<Series>& all, int threads, int runs, Fn detect) {
  Run best;
  for (int r = 0; r < runs; ++r) {
    Run run;
    run.results.resize(all.size());
    std::atomic<size_t> next{0};
    auto start = std::chrono::steady_clock::now();
    std::atomic<int64_t> cpu_ns{0};
    auto work = [&] {
      const double cpu_start = ThreadCpuSeconds();
      for (size_t i = next++; i < all.size(); i = next++) {
        surveil::SeriesView view{.counts = all[i].counts,
                                 .population = {},
                                 .frequency = 52,
                                 .start_in_year = all[i].start_week};
        auto d = detect(view);
        if (!d.ok()) {
          std::fprintf(stderr, "%s: %s\n", all[i].name.c_str(), d.status().ToString().c_str());
          std::exit(1);
        }
        run.results[i] = std::move(*d);
      }
      cpu_ns += static_cast<int64_t>(1e9 * (ThreadCpuSeconds() - cpu_start));
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    run.cpu_seconds = 1e-9 * static_cast<double>(cpu_ns.load());
    for (const auto& d : run.results) run.periods += static_cast<int64_t>(d.periods.size());
    if (r == 0 || run.seconds < best.seconds) best = std::move(run);
  }
  return best;
}

// One line per evaluated period: detector, series, index, expected, upper, alarm.
bool Dump(const std::string& path, const std::vector<Series>& all,
          const std::map<std::string, Run>& runs_by) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  std::fprintf(f, "algorithm,series,index,expected,upper,alarm\n");
  for (const auto& [name, run] : runs_by) {
    for (size_t i = 0; i < all.size(); ++i) {
      const surveil::Detection& d = run.results[i];
      for (size_t p = 0; p < d.periods.size(); ++p) {
        const surveil::Evaluation& e = d.periods[p];
        std::fprintf(f, "%s,%zu,%d,%.17g,%.17g,%d\n", name.c_str(), i,
                     d.range.first + static_cast<int>(p), e.expected, e.upper, e.alarm ? 1 : 0);
      }
    }
  }
  return std::fclose(f) == 0;
}

const char* kRScript = R"R(
suppressPackageStartupMessages(library(surveillance))
args <- commandArgs(TRUE)
d <- read.csv(args[1])
out <- file(args[2], "w")
writeLines("algorithm,series,index,upper,alarm", out)
series <- split(d, d$series)
time <- function(name, f) {
  t <- system.time(for (s in series) {
    x <- sts(observed = s$count, start = c(s$year[1], s$week[1]), frequency = 52)
    r <- f(x)
    n <- length(s$count)
    index <- (n - nrow(r$upper) + 1):n
    writeLines(paste(name, s$series[1], index, trimws(format(r$upper, digits = 15)), as.integer(r$alarm),
                     sep = ","), out)
  })[["elapsed"]]
  cat(sprintf("time,%s,%.6f\n", name, t))
}
ears <- function(m) function(x) { r <- earsC(x, control = list(method = m))
  list(upper = upperbound(r), alarm = alarms(r)) }
time("ears-c1", ears("C1"))
time("ears-c2", ears("C2"))
time("ears-c3", ears("C3"))
time("farrington-flexible", function(x) { r <- farringtonFlexible(x, control = list())
  list(upper = upperbound(r), alarm = alarms(r)) })
close(out)
)R";

}  // namespace

int main(int argc, char** argv) {
  int64_t patients = 1'000'000;
  int threads = 2, runs = 3, r_series = 24;
  bool with_r = true;
  std::string dump;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string("0"); };
    if (a == "--patients")
      patients = std::stoll(next());
    else if (a == "--threads")
      threads = std::stoi(next());
    else if (a == "--runs")
      runs = std::stoi(next());
    else if (a == "--r-series")
      r_series = std::stoi(next());
    else if (a == "--no-r")
      with_r = false;
    else if (a == "--dump")
      dump = next();
    else {
      std::fprintf(stderr,
                   "usage: surveil_bench [--patients N] [--threads T] [--runs R] "
                   "[--r-series S] [--no-r] [--dump FILE]\n");
      return 2;
    }
  }
  std::vector<Series> all = MakeSeries(patients, 1);
  std::printf(
      "series: %zu (6 indicators x 101 departements x 4 age bands), %zu weeks each, "
      "%lld patients, %d threads\n",
      all.size(), all[0].counts.size(), static_cast<long long>(patients), threads);
  std::map<std::string, Run> runs_by;
  runs_by["farrington-flexible"] = Time(all, threads, runs, [](const surveil::SeriesView& v) {
    return surveil::FarringtonFlexible(v, std::nullopt, {});
  });
  for (auto [name, method] : {std::pair{"ears-c1", surveil::EarsMethod::kC1},
                              std::pair{"ears-c2", surveil::EarsMethod::kC2},
                              std::pair{"ears-c3", surveil::EarsMethod::kC3}}) {
    runs_by[name] = Time(all, threads, runs, [m = method](const surveil::SeriesView& v) {
      return surveil::EarsC(v, std::nullopt, {.method = m});
    });
  }
  double total = 0;
  for (const auto& [name, run] : runs_by) {
    total += run.seconds;
    std::printf(
        "p4dp %-20s %8.3f s  %9lld periods  %7.2f us/period  (CPU %.3f s, %.2f us/period)\n",
        name.c_str(), run.seconds, static_cast<long long>(run.periods),
        1e6 * run.seconds * threads / static_cast<double>(run.periods), run.cpu_seconds,
        1e6 * run.cpu_seconds / static_cast<double>(run.periods));
  }
  std::printf("p4dp all (farrington-flexible + ears)  %8.3f s  (target: under 1 s)\n", total);
  if (!dump.empty() && !Dump(dump, all, runs_by)) {
    std::fprintf(stderr, "cannot write %s\n", dump.c_str());
    return 1;
  }

  if (!with_r || std::system("command -v Rscript >/dev/null 2>&1") != 0) {
    std::printf("R: skipped (%s)\n", with_r ? "Rscript not found" : "--no-r");
    return 0;
  }
  // The sample: every k-th series, so that every indicator is in it.
  const auto dir =
      std::filesystem::temp_directory_path() / ("surveil_bench_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::vector<size_t> sample;
  for (size_t i = 0; i < all.size() && static_cast<int>(sample.size()) < r_series;
       i += all.size() / static_cast<size_t>(r_series)) {
    sample.push_back(i);
  }
  {
    std::ofstream csv(dir / "series.csv");
    csv << "series,year,week,count\n";
    for (size_t i : sample) {
      for (double c : all[i].counts) {
        csv << i << "," << all[i].start_year << "," << all[i].start_week << "," << c << "\n";
      }
    }
    std::ofstream script(dir / "bench.R");
    script << kRScript;
  }
  std::string cmd = "Rscript " + (dir / "bench.R").string() + " " + (dir / "series.csv").string() +
                    " " + (dir / "r_out.csv").string();
  FILE* pipe = popen(cmd.c_str(), "r");
  std::map<std::string, double> r_seconds;
  char line[512];
  while (pipe != nullptr && std::fgets(line, sizeof line, pipe) != nullptr) {
    std::string s = line;
    if (s.rfind("time,", 0) != 0) continue;
    size_t c = s.find(',', 5);
    r_seconds[s.substr(5, c - 5)] = std::stod(s.substr(c + 1));
  }
  if (pipe == nullptr || pclose(pipe) != 0 || r_seconds.size() != 4) {
    std::fprintf(stderr, "R failed\n");
    return 1;
  }
  // The answers must agree: alarms identical, upper bounds within 1e-6 (1e-3 Farrington).
  std::ifstream r_out(dir / "r_out.csv");
  std::string row;
  std::getline(r_out, row);
  int64_t compared = 0, disagree = 0;
  double worst = 0;
  while (std::getline(r_out, row)) {
    std::stringstream ss(row);
    std::string algorithm, series, index, upper, alarm;
    std::getline(ss, algorithm, ',');
    std::getline(ss, series, ',');
    std::getline(ss, index, ',');
    std::getline(ss, upper, ',');
    std::getline(ss, alarm, ',');
    const auto& d = runs_by[algorithm].results[std::stoul(series)];
    int k = std::stoi(index);
    const auto& e = d.periods[static_cast<size_t>(k - d.range.first)];
    double u = upper == "NA" ? std::nan("") : std::stod(upper);
    bool r_alarm = alarm == "1";
    ++compared;
    double rel = std::isnan(u) && std::isnan(e.upper)
                     ? 0
                     : std::abs(e.upper - u) / std::max(1e-12, std::abs(u));
    if (std::isnan(rel)) rel = 1;
    worst = std::max(worst, rel);
    if (r_alarm != e.alarm || rel > (algorithm == "farrington-flexible" ? 1e-3 : 1e-6)) ++disagree;
  }
  std::filesystem::remove_all(dir);
  std::printf(
      "R agreement on %zu sample series: %lld periods compared, %lld disagree, worst "
      "relative difference of the upper bound %.2g\n",
      sample.size(), static_cast<long long>(compared), static_cast<long long>(disagree), worst);
  double r_total = 0;
  for (const auto& [name, sec] : r_seconds) {
    double all_series = sec / static_cast<double>(sample.size()) * static_cast<double>(all.size());
    r_total += all_series;
    std::printf(
        "R    %-20s %8.3f s for %zu series -> %9.1f s for all (one core); p4dp %.0fx faster\n",
        name.c_str(), sec, sample.size(), all_series, all_series / runs_by[name].seconds);
  }
  std::printf("R all (farrington-flexible + ears)     %9.1f s; p4dp %.0fx faster (target: 100x)\n",
              r_total, r_total / total);
  return disagree == 0 ? 0 : 1;
}
