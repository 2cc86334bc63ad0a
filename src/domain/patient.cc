#include "domain/patient.h"

#include <array>

namespace p4dp::domain {

std::string PatientKey::ToHex() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(64, '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 15];
  }
  return out;
}

std::string_view SexName(Sex sex) {
  switch (sex) {
    case Sex::kFemale: return "female";
    case Sex::kMale: return "male";
    case Sex::kOther: return "other";
    case Sex::kUnknown: return "unknown";
  }
  return "unknown";
}

std::optional<Sex> SexFromName(std::string_view name) {
  for (Sex s : {Sex::kUnknown, Sex::kFemale, Sex::kMale, Sex::kOther}) {
    if (SexName(s) == name) return s;
  }
  return std::nullopt;
}

namespace {
constexpr std::array<std::string_view, kDomainCount> kDomainNames = {
    "visit",     "condition",    "drug",       "measurement",   "observation",
    "procedure", "immunization", "dispensing", "hospital_stay", "death"};
}  // namespace

std::string_view DomainName(Domain domain) { return kDomainNames[static_cast<size_t>(domain)]; }

std::optional<Domain> DomainFromName(std::string_view name) {
  for (size_t i = 0; i < kDomainNames.size(); ++i) {
    if (kDomainNames[i] == name) return static_cast<Domain>(i);
  }
  return std::nullopt;
}

std::optional<int> NirKey(std::string_view first13) {
  if (first13.size() != 13) return std::nullopt;
  uint64_t number = 0;
  for (size_t i = 0; i < 13; ++i) {
    char c = first13[i];
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (i == 6 && first13[5] == '2' && (c == 'A' || c == 'B')) {
      // Corsica: 2A counts as 19 and 2B as 18 in the key computation.
      number = number / 10 * 10 + 1;
      digit = c == 'A' ? 9 : 8;
    } else {
      return std::nullopt;
    }
    number = number * 10 + static_cast<uint64_t>(digit);
  }
  return static_cast<int>(97 - number % 97);
}

bool IsValidNir(std::string_view nir) {
  if (nir.size() != 15) return false;
  auto key = NirKey(nir.substr(0, 13));
  if (!key) return false;
  char k1 = nir[13], k2 = nir[14];
  if (k1 < '0' || k1 > '9' || k2 < '0' || k2 > '9') return false;
  return (k1 - '0') * 10 + (k2 - '0') == *key;
}

}  // namespace p4dp::domain
