// The command-line operator: who runs a `p4dp` command (--user NAME, else $P4DP_USER, else
// the OS login name) and whether the access policy lets them. Holding the master key is the
// authentication on the command line; the access catalog says what the named user may do,
// and while it has no user yet, commands run as the bootstrap operator with every right.
// Every guarded command leaves exactly one audit entry, allowed or refused (refusals exit
// with kExitRefused). One command per process: the state here is set once, before the
// command runs, on the main thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "access/catalog.h"
#include "access/control.h"
#include "crypto/aead.h"

namespace CLI {
class App;
}  // namespace CLI

namespace p4dp::cli {

inline constexpr int kExitRefused = 3;

// Adds --user (and --project where the action needs one) to every guarded subcommand
// already registered in `app`. Call after every Register function, before parsing.
void AddOperatorOptions(CLI::App& app);

// Runs the parsed command under the operator check: refuses (exit 3) what the policy does
// not allow, runs the rest, and appends the command's one audit entry.
int RunAsOperator(CLI::App& app, const std::function<int()>& run, int argc, char** argv);

// The access service opened by the operator check (nullptr when the command is not guarded
// or its data folder does not exist).
access::AccessControl* OperatorAccess();
// The name the operator check ran the command as.
const std::string& OperatorName();
// The project the command runs in (nullptr if none was named).
const access::Project* OperatorProject();
// `restore` calls this once the backup's files are written into `data` (the restored
// access catalog decides, and the restored trail takes the entry): 0 allowed, kExitRefused
// (said on stderr; the command then removes the warehouse's data, keeping the restored
// catalog and trail with the refusal), 1 on error.
int CheckRestoredOperator(const std::string& data, const crypto::Key& key);
// Called by a command whose outcome the audit trail records with an HTTP status of its own
// (429 for a count the query guard refused) rather than the one of its exit status.
void NoteAuditStatus(int status);
// Called by a command once it knows how many patients its answer was about.
void NoteAuditPatients(int64_t patients, bool patient_list);

}  // namespace p4dp::cli
