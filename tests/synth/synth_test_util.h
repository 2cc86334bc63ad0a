// Helpers for the synthetic-population tests: generate a population once into the build
// folder, read its NDJSON files, and run the p4dp binary. Test-only.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/date.h"

namespace p4dp::synth::testing {

// Folder for a test's output under the build tree, emptied first.
std::string FreshDir(const std::string& name);
// Runs a shell command; returns its exit status (-1 if it could not be run).
int RunCommand(const std::string& command);
// The built p4dp binary.
std::string P4dpBinary();
// Path of the shared data folder (../shared/data from the project root).
std::string SharedData();

std::string ReadFile(const std::string& path);
// Calls `fn(line_number, line)` for each line (1-based) of an NDJSON file.
void ForEachLine(const std::string& path,
                 const std::function<void(int64_t, const std::string&)>& fn);

// The NDJSON resource types `p4dp synth` writes.
const std::vector<std::string>& ResourceTypes();

}  // namespace p4dp::synth::testing
