// `p4dp`: the command-line entry point. Parses the subcommand and hands it to the operator
// check, which runs it as a named user of the access catalog and audits it.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "cli/commands.h"
#include "cli/operator.h"

namespace p4dp::cli {

int Fail(const std::string& message) {
  std::fprintf(stderr, "p4dp: %s\n", message.c_str());
  return 1;
}

}  // namespace p4dp::cli

int main(int argc, char** argv) {
  CLI::App app{"p4dp: a health data warehouse for French primary care"};
  app.set_version_flag("--version", std::string("p4dp ") + P4DP_VERSION);
  app.require_subcommand(1);
  p4dp::cli::RunFn run;
  p4dp::cli::RegisterSynth(app, run);
  p4dp::cli::RegisterServe(app, run);
  p4dp::cli::RegisterWarehouseCommands(app, run);
  p4dp::cli::RegisterQueryCommands(app, run);
  p4dp::cli::RegisterDetect(app, run);
  p4dp::cli::RegisterSurveil(app, run);
  p4dp::cli::RegisterAccessCommands(app, run);
  // --user and --project on every command the access policy guards.
  p4dp::cli::AddOperatorOptions(app);
  if (argc > 1 && argv[1][0] != '-') {
    try {
      app.get_subcommand(argv[1]);
    } catch (const CLI::OptionNotFound&) {
      std::fprintf(stderr, "p4dp: unknown command '%s' (see p4dp --help)\n", argv[1]);
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Misuse exits with 2, --help and --version with 0 (CLI11's convention).
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  // Data commands run as a named operator, checked and audited (cli/operator.h).
  return p4dp::cli::RunAsOperator(app, run, argc, argv);
}
