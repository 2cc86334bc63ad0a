#include "domain/age_band.h"

namespace p4dp::domain {

AgeBand AgeBandOf(int age_years) {
  if (age_years < 5) return AgeBand::k0To4;
  if (age_years < 15) return AgeBand::k5To14;
  if (age_years < 65) return AgeBand::k15To64;
  return AgeBand::k65Plus;
}

std::string_view AgeBandLabel(AgeBand band) {
  switch (band) {
    case AgeBand::k0To4: return "0-4";
    case AgeBand::k5To14: return "5-14";
    case AgeBand::k15To64: return "15-64";
    case AgeBand::k65Plus: return "65+";
  }
  return "?";
}

}  // namespace p4dp::domain
