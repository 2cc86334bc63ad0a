#include "synth/json_out.h"

namespace p4dp::synth {
namespace {

void TwoDigits(std::string& out, int v) {
  out.push_back(static_cast<char>('0' + v / 10));
  out.push_back(static_cast<char>('0' + v % 10));
}

void AppendYmd(std::string& out, Days day) {
  YearMonthDay ymd = ToYearMonthDay(day);
  TwoDigits(out, ymd.year / 100);
  TwoDigits(out, ymd.year % 100);
  out.push_back('-');
  TwoDigits(out, ymd.month);
  out.push_back('-');
  TwoDigits(out, ymd.day);
}

// The last Sunday of a month.
Days LastSunday(int year, int month) {
  Days first_of_next = month == 12 ? ToDays({year + 1, 1, 1}) : ToDays({year, month + 1, 1});
  Days last = first_of_next - 1;
  return last - (IsoWeekday(last) + 1) % 7;
}

}  // namespace

int ParisOffsetHours(Days day) {
  int year = ToYearMonthDay(day).year;
  // Summer time from the last Sunday of March to the last Sunday of October (EU rule).
  return day >= LastSunday(year, 3) && day < LastSunday(year, 10) ? 2 : 1;
}

JsonOut& JsonOut::Str(std::string_view s) {
  out_.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"': out_.append("\\\""); break;
      case '\\': out_.append("\\\\"); break;
      case '\n': out_.append("\\n"); break;
      case '\r': out_.append("\\r"); break;
      case '\t': out_.append("\\t"); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out_.append("\\u00");
          out_.push_back(kHex[(c >> 4) & 15]);
          out_.push_back(kHex[c & 15]);
        } else {
          out_.push_back(c);
        }
    }
  }
  out_.push_back('"');
  return *this;
}

JsonOut& JsonOut::Date(Days day) {
  out_.push_back('"');
  AppendYmd(out_, day);
  out_.push_back('"');
  return *this;
}

JsonOut& JsonOut::DateTime(Days day, int minute_of_day) {
  out_.push_back('"');
  AppendYmd(out_, day);
  out_.push_back('T');
  TwoDigits(out_, minute_of_day / 60);
  out_.push_back(':');
  TwoDigits(out_, minute_of_day % 60);
  out_.append(":00+0");
  out_.push_back(static_cast<char>('0' + ParisOffsetHours(day)));
  out_.append(":00\"");
  return *this;
}

JsonOut& JsonOut::CodingObject(const Coding& c) {
  Raw("{\"system\":").Str(c.system_uri).Raw(",\"code\":").Str(c.code);
  if (!c.display.empty()) Raw(",\"display\":").Str(c.display);
  return Raw("}");
}

JsonOut& JsonOut::Ref(std::string_view type, std::string_view id) {
  out_.append("{\"reference\":\"");
  out_.append(type);
  out_.push_back('/');
  out_.append(id);
  out_.append("\"}");
  return *this;
}

}  // namespace p4dp::synth
