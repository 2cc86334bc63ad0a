// Age bands used by surveillance series and population dashboards. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace p4dp::domain {

// The four surveillance bands of the Sentinelles network: 0–4, 5–14, 15–64, 65 and over.
enum class AgeBand : uint8_t { k0To4, k5To14, k15To64, k65Plus };

inline constexpr int kAgeBandCount = 4;

AgeBand AgeBandOf(int age_years);
std::string_view AgeBandLabel(AgeBand band);  // "0-4", "5-14", "15-64", "65+"

// Ten-year bands for pyramids: 0–9, 10–19, ..., 80–89, 90 and over (index 0..9).
inline constexpr int kDecadeBandCount = 10;
inline int DecadeBandOf(int age_years) {
  int band = age_years < 0 ? 0 : age_years / 10;
  return band >= kDecadeBandCount ? kDecadeBandCount - 1 : band;
}

}  // namespace p4dp::domain
