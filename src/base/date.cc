#include "base/date.h"

#include <date/date.h>
#include <date/iso_week.h>

#include <charconv>
#include <cstdio>

namespace p4dp {
namespace {

bool ParseInt(std::string_view text, int& out) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

bool IsValidDate(int year, int month, int day) {
  if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1) return false;
  return date::year_month_day(date::year(year), date::month(static_cast<unsigned>(month)),
                              date::day(static_cast<unsigned>(day)))
      .ok();
}

Days ToDays(const YearMonthDay& ymd) {
  P4DP_ASSERT(IsValidDate(ymd.year, ymd.month, ymd.day));
  date::sys_days sd = date::year(ymd.year) / date::month(static_cast<unsigned>(ymd.month)) /
                      date::day(static_cast<unsigned>(ymd.day));
  return static_cast<Days>(sd.time_since_epoch().count());
}

YearMonthDay ToYearMonthDay(Days days) {
  date::year_month_day ymd{date::sys_days{date::days{days}}};
  return {static_cast<int>(ymd.year()), static_cast<int>(static_cast<unsigned>(ymd.month())),
          static_cast<int>(static_cast<unsigned>(ymd.day()))};
}

Result<Days> ParseIsoDate(std::string_view text) {
  auto bad = [&](const char* why) {
    std::string shown(text.substr(0, 40));
    return Status::InvalidArgument("bad date '" + shown + "': " + why);
  };
  if (text.size() < 10) return bad("expected YYYY-MM-DD");
  if (text[4] != '-' || text[7] != '-') return bad("expected YYYY-MM-DD");
  if (text.size() > 10 && text[10] != 'T') return bad("unexpected text after the date");
  int y = 0, m = 0, d = 0;
  if (!ParseInt(text.substr(0, 4), y) || !ParseInt(text.substr(5, 2), m) ||
      !ParseInt(text.substr(8, 2), d)) {
    return bad("expected digits in YYYY-MM-DD");
  }
  if (!IsValidDate(y, m, d)) return bad("no such day in the calendar");
  return ToDays({y, m, d});
}

std::string FormatIsoDate(Days days) {
  YearMonthDay ymd = ToYearMonthDay(days);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", ymd.year, ymd.month, ymd.day);
  return buf;
}

IsoWeek ToIsoWeek(Days days) {
  iso_week::year_weeknum_weekday w{date::sys_days{date::days{days}}};
  return {static_cast<int>(w.year()), static_cast<int>(static_cast<unsigned>(w.weeknum()))};
}

int IsoWeeksInYear(int iso_year) {
  auto last = iso_week::year(iso_year) / iso_week::last / iso_week::mon;
  return static_cast<int>(static_cast<unsigned>(last.weeknum()));
}

Days IsoWeekMonday(IsoWeek week) {
  P4DP_ASSERT(week.week >= 1 && week.week <= IsoWeeksInYear(week.year));
  auto w = iso_week::year(week.year) / iso_week::weeknum(static_cast<unsigned>(week.week)) /
           iso_week::mon;
  return static_cast<Days>(date::sys_days(w).time_since_epoch().count());
}

std::string FormatIsoWeek(IsoWeek week) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-W%02d", week.year, week.week);
  return buf;
}

Result<IsoWeek> ParseIsoWeek(std::string_view text) {
  int y = 0, w = 0;
  if (text.size() != 8 || text[4] != '-' || text[5] != 'W' || !ParseInt(text.substr(0, 4), y) ||
      !ParseInt(text.substr(6, 2), w)) {
    return Status::InvalidArgument("bad ISO week '" + std::string(text.substr(0, 20)) +
                                   "': expected YYYY-Www");
  }
  if (y < 1 || y > 9999 || w < 1 || w > IsoWeeksInYear(y)) {
    return Status::InvalidArgument("bad ISO week '" + std::string(text) + "': no such week");
  }
  return IsoWeek{y, w};
}

int IsoWeekday(Days days) {
  // 1970-01-01 was a Thursday (3 with Monday = 0).
  int wd = (days + 3) % 7;
  return wd < 0 ? wd + 7 : wd;
}

int AgeInYears(int birth_year, int birth_month, Days on) {
  YearMonthDay ymd = ToYearMonthDay(on);
  int age = ymd.year - birth_year;
  if (ymd.month < birth_month) --age;
  return age;
}

std::string FormatIsoTimeMs(int64_t ms) {
  Days day = static_cast<Days>(ms >= 0 ? ms / 86'400'000 : (ms - 86'399'999) / 86'400'000);
  int64_t in_day = ms - int64_t{day} * 86'400'000;
  char buf[32];
  std::snprintf(buf, sizeof buf, "T%02d:%02d:%02d.%03dZ", static_cast<int>(in_day / 3'600'000),
                static_cast<int>(in_day / 60'000 % 60), static_cast<int>(in_day / 1000 % 60),
                static_cast<int>(in_day % 1000));
  return FormatIsoDate(day) + buf;
}

}  // namespace p4dp
