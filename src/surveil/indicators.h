// Surveillance indicators: a named code set over consultations (the cohort language's code
// set form, ../shared/spec/cohort.md), read from a JSON configuration file (docs/surveillance.md;
// the six of ../shared/spec/detection.md ship in config/indicators.json, compiled in as the
// default). Parsing checks everything and names the file, the line of a syntax error and the
// JSON path of a bad value. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "domain/patient.h"
#include "query/cohort.h"

namespace p4dp::surveil {

// The most indicators one configuration may define (a patient-day's indicators are a bit set).
inline constexpr size_t kIndicatorsMax = 64;
// The largest configuration file read.
inline constexpr size_t kIndicatorsFileBytesMax = 1 << 20;

struct Indicator {
  std::string name;   // [a-z0-9_-]+, unique: how commands and routes name it
  std::string title;  // for people
  std::optional<domain::Domain> domain = domain::Domain::kCondition;  // none: any domain
  query::CodeSet codes;
};

// Parses a configuration: {"indicators": [{"name", "title", "domain", "codes": [...]}]}.
// `domain` defaults to "condition"; "any" takes events of every domain. `file` names the
// source in errors: InvalidArgument "FILE: line L: ..." for JSON syntax, "FILE:
// indicators[2].codes[0].system: ..." for a bad value.
Result<std::vector<Indicator>> ParseIndicators(std::string_view json, std::string_view file);

// The configuration shipped by default (config/indicators.json, compiled in).
std::string_view DefaultIndicatorsJson();
std::vector<Indicator> DefaultIndicators();

// Reads and parses a configuration file.
Result<std::vector<Indicator>> LoadIndicators(const std::string& path);

}  // namespace p4dp::surveil
