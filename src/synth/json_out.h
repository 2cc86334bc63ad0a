// A minimal, fast JSON text appender for the generator's NDJSON lines: the caller writes
// the structure, this escapes strings and formats numbers and dates identically on every
// machine. Appends to a string it does not own; one thread at a time.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/date.h"
#include "synth/catalogue.h"

namespace p4dp::synth {

class JsonOut {
 public:
  explicit JsonOut(std::string& out) : out_(out) {}

  JsonOut& Raw(std::string_view s) {
    out_.append(s);
    return *this;
  }
  // A quoted, escaped string.
  JsonOut& Str(std::string_view s);
  JsonOut& Int(int64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
    return *this;
  }
  // A number with a fixed count of decimals ("7.25").
  JsonOut& Fixed(double v, int decimals) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
    out_.append(buf, r.ptr);
    return *this;
  }
  // "YYYY-MM-DD" (quoted).
  JsonOut& Date(Days day);
  // "YYYY-MM-DDThh:mm:00+01:00" in Europe/Paris time (quoted); requires a minute of the
  // day between 04:00 and 23:59 so that daylight-saving changes never shift the day.
  JsonOut& DateTime(Days day, int minute_of_day);
  // {"system":"...","code":"...","display":"..."}
  JsonOut& CodingObject(const Coding& c);
  // {"reference":"Type/id"}
  JsonOut& Ref(std::string_view type, std::string_view id);

 private:
  std::string& out_;
};

// UTC offset of Europe/Paris on a day, in hours (1 or 2), for times after 04:00.
int ParisOffsetHours(Days day);

}  // namespace p4dp::synth
