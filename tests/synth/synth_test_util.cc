#include "synth_test_util.h"

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace p4dp::synth::testing {

std::string FreshDir(const std::string& name) {
  std::string dir = std::string(P4DP_BINARY_DIR) + "/test-tmp/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

int RunCommand(const std::string& command) {
  int rc = std::system(command.c_str());
  if (rc == -1 || !WIFEXITED(rc)) return -1;
  return WEXITSTATUS(rc);
}

std::string P4dpBinary() { return std::string(P4DP_BINARY_DIR) + "/src/cli/p4dp"; }

std::string SharedData() { return std::string(P4DP_SOURCE_DIR) + "/../shared/data"; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void ForEachLine(const std::string& path,
                 const std::function<void(int64_t, const std::string&)>& fn) {
  std::ifstream in(path, std::ios::binary);
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) fn(++n, line);
}

const std::vector<std::string>& ResourceTypes() {
  static const std::vector<std::string> kTypes = {
      "Patient",     "Organization",      "Encounter",    "Condition",
      "Observation", "MedicationRequest", "Immunization", "Procedure"};
  return kTypes;
}

}  // namespace p4dp::synth::testing
