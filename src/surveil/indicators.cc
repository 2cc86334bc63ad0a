#include "surveil/indicators.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "base/assert.h"

namespace p4dp::surveil {

std::string_view DefaultIndicatorsJsonText();  // default_indicators.cc (generated)

namespace {

using Json = nlohmann::json;

Status Fail(std::string_view file, const std::string& path, const std::string& reason) {
  return Status::InvalidArgument(std::string(file) + ": " + path + ": " + reason);
}

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// The line of byte `offset` (1-based) in `text`.
size_t LineOf(std::string_view text, size_t offset) {
  size_t line = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) line += text[i] == '\n' ? 1 : 0;
  return line;
}

// The code set and domain, checked by the cohort language's own parser so that they mean
// exactly what they mean in a cohort: its error paths are renamed to the indicator's.
Status CodesOf(const Json& item, const std::string& path, std::string_view file, Indicator& out) {
  Json doc = {{"codesets", {{"codes", item["codes"]}}}, {"entry", {{"codeset", "codes"}}}};
  bool any_domain = false;
  if (item.contains("domain")) {
    if (item["domain"] == "any") {
      any_domain = true;
    } else {
      doc["entry"]["domain"] = item["domain"];
    }
  } else {
    doc["entry"]["domain"] = "condition";
  }
  auto cohort = query::ParseCohort(doc.dump());
  if (!cohort.ok()) {
    std::string message = cohort.status().message();
    for (const auto& [from, to] : {std::pair<std::string, std::string>{"codesets.codes", "codes"},
                                   {"entry.domain", "domain"}}) {
      if (message.rfind(from, 0) == 0) message = path + "." + to + message.substr(from.size());
    }
    return Status::InvalidArgument(std::string(file) + ": " + message);
  }
  out.codes = cohort->codesets.at("codes");
  out.domain = any_domain ? std::nullopt : cohort->entry.domain;
  return Status::Ok();
}

Status IndicatorOf(const Json& item, const std::string& path, std::string_view file,
                   Indicator& out) {
  if (!item.is_object()) return Fail(file, path, "must be an object {\"name\", \"codes\"}");
  for (const auto& [key, _] : item.items()) {
    if (key != "name" && key != "title" && key != "domain" && key != "codes") {
      return Fail(file, path + "." + key, "unknown field (expected name, title, domain, codes)");
    }
  }
  if (!item.contains("name")) return Fail(file, path + ".name", "missing");
  if (!item["name"].is_string()) return Fail(file, path + ".name", "must be a string");
  out.name = item["name"].get<std::string>();
  if (!ValidName(out.name)) {
    return Fail(file, path + ".name", "'" + out.name + "' is not 1 to 64 of a-z, 0-9, '_' and '-'");
  }
  if (item.contains("title")) {
    if (!item["title"].is_string()) return Fail(file, path + ".title", "must be a string");
    out.title = item["title"].get<std::string>();
  } else {
    out.title = out.name;
  }
  if (!item.contains("codes")) return Fail(file, path + ".codes", "missing");
  if (item.contains("domain") && !item["domain"].is_string()) {
    return Fail(file, path + ".domain", "must be a string (a domain, or \"any\")");
  }
  return CodesOf(item, path, file, out);
}

}  // namespace

Result<std::vector<Indicator>> ParseIndicators(std::string_view json, std::string_view file) {
  Json doc;
  try {
    doc = Json::parse(json);
  } catch (const Json::parse_error& e) {
    std::string what = e.what();
    // nlohmann's message starts with "[json.exception.parse_error.101] parse error at ...".
    size_t at = what.find("] ");
    if (at != std::string::npos) what = what.substr(at + 2);
    return Status::InvalidArgument(std::string(file) + ": line " +
                                   std::to_string(LineOf(json, e.byte == 0 ? 0 : e.byte - 1)) +
                                   ": invalid JSON: " + what);
  }
  if (!doc.is_object())
    return Fail(file, "(document)", "must be an object {\"indicators\": [...]}");
  for (const auto& [key, _] : doc.items()) {
    if (key != "indicators") return Fail(file, key, "unknown field (expected indicators)");
  }
  if (!doc.contains("indicators") || !doc["indicators"].is_array()) {
    return Fail(file, "indicators", "missing, or not an array");
  }
  const Json& items = doc["indicators"];
  if (items.empty()) return Fail(file, "indicators", "is empty");
  if (items.size() > kIndicatorsMax) {
    return Fail(file, "indicators", "more than " + std::to_string(kIndicatorsMax) + " indicators");
  }
  std::vector<Indicator> out;
  std::set<std::string> names;
  for (size_t i = 0; i < items.size(); ++i) {
    std::string path = "indicators[" + std::to_string(i) + "]";
    Indicator indicator;
    P4DP_TRY(IndicatorOf(items[i], path, file, indicator));
    if (!names.insert(indicator.name).second) {
      return Fail(file, path + ".name", "'" + indicator.name + "' is defined twice");
    }
    out.push_back(std::move(indicator));
  }
  return out;
}

std::string_view DefaultIndicatorsJson() { return DefaultIndicatorsJsonText(); }

std::vector<Indicator> DefaultIndicators() {
  auto parsed = ParseIndicators(DefaultIndicatorsJson(), "config/indicators.json");
  P4DP_ASSERT(parsed.ok());
  return std::move(*parsed);
}

Result<std::vector<Indicator>> LoadIndicators(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read indicators file '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  std::string content = text.str();
  if (content.size() > kIndicatorsFileBytesMax) {
    return Status::InvalidArgument(path + ": larger than " +
                                   std::to_string(kIndicatorsFileBytesMax) + " bytes");
  }
  return ParseIndicators(content, path);
}

}  // namespace p4dp::surveil
