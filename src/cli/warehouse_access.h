// How the commands find the master key and open a warehouse: --key-file, else the
// P4DP_MASTER_KEY environment variable, else DATA.key beside the data folder.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "crypto/aead.h"
#include "store/warehouse.h"

namespace CLI {
class App;
}  // namespace CLI

namespace p4dp::cli {

// The --key-file option of every command that opens a warehouse.
void AddKeyFileOption(CLI::App* cmd, std::string& key_file);

// "DATA.key" for "DATA" (a sibling of the data folder, never inside it).
std::string DefaultKeyFile(const std::string& data_dir);
Result<crypto::Key> LoadMasterKey(const std::string& data_dir, const std::string& key_file);
Result<std::unique_ptr<store::Warehouse>> OpenWarehouse(const std::string& data_dir,
                                                        const std::string& key_file);
// The first `limit` quarantined records, decrypted, as JSON texts.
Result<std::vector<std::string>> QuarantinedRecords(store::Warehouse& warehouse, int64_t limit);

}  // namespace p4dp::cli
