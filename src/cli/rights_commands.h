// `p4dp optout`, `purge`, `backup`, `restore`, `keys rotate`, and `verify FILE` (a backup):
// the patient's right to object, retention, backups and key rotation. Wiring only: the
// work is in store/ (warehouse.h, backup.h) and ingest/ (pseudonymisation).
#pragma once

#include <string>

#include "cli/commands.h"

namespace p4dp::cli {

// Registers optout, purge, backup, restore and keys (called by RegisterWarehouseCommands).
void RegisterRightsCommands(CLI::App& app, RunFn& run);

// `p4dp verify FILE` where FILE is a backup file: prints the result, returns the exit code.
int RunVerifyBackup(const std::string& path, const std::string& key_file);

}  // namespace p4dp::cli
