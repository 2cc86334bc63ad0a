// The subcommands of `p4dp`. Each Register function adds one subcommand (with its options
// and --help) to the application and, when that subcommand is the one chosen, the parsed
// options are run by the function stored in `run`, which returns the process exit code.
// Wiring only: the work is done by the layers.
#pragma once

#include <functional>
#include <string>

namespace CLI {
class App;
}  // namespace CLI

namespace p4dp::cli {

using RunFn = std::function<int()>;

void RegisterSynth(CLI::App& app, RunFn& run);
void RegisterServe(CLI::App& app, RunFn& run);
// init, ingest, stats, verify, quarantine
void RegisterWarehouseCommands(CLI::App& app, RunFn& run);
// count, sql, export events
void RegisterQueryCommands(CLI::App& app, RunFn& run);
// detect
void RegisterDetect(CLI::App& app, RunFn& run);
// surveil
void RegisterSurveil(CLI::App& app, RunFn& run);
// user, project, audit, incident (the access catalog and the audit trail)
void RegisterAccessCommands(CLI::App& app, RunFn& run);

// Prints "p4dp: <message>" to stderr and returns the exit code for a failed command (1).
int Fail(const std::string& message);

}  // namespace p4dp::cli
