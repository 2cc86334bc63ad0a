// A detector chosen by name with its controls given as text (the reference's control names
// in kebab case, as `p4dp detect` takes them): how `p4dp surveil` and the surveillance
// routes run the detectors of detect.h over the warehouse's series. Pure; thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "surveil/detect.h"

namespace p4dp::surveil {

struct DetectorSpec {
  std::string algorithm = "farrington-flexible";
  EarsOptions ears;
  FarringtonOptions farrington;
  FarringtonFlexibleOptions flexible;
  CusumOptions cusum;
  SerflingOptions serfling;
};

// The algorithm names: ears-c1, ears-c2, ears-c3, farrington, farrington-flexible, cusum,
// serfling.
const std::vector<std::string>& AlgorithmNames();

// Every control name of every algorithm, sorted ("alpha", "b", "baseline", ...).
const std::vector<std::string>& ControlNames();

// `controls` maps control names ("b", "alpha", "threshold-method") to their text. Errors
// name the control: an unknown algorithm, a control the algorithm does not have, a value
// that does not parse.
Result<DetectorSpec> MakeDetector(std::string_view algorithm,
                                  const std::map<std::string, std::string>& controls);

// The first period (1-based) the detector can evaluate in a series of this frequency: the
// reference's default start (cusum: after one year, the periods it takes its mean from).
int FirstEvaluablePeriod(const DetectorSpec& spec, int frequency);

// Runs the detector over `range`.
Result<Detection> RunDetector(const DetectorSpec& spec, const SeriesView& series,
                              PeriodRange range);

}  // namespace p4dp::surveil
