#include "core/civil_time.h"

#include <chrono>
#include <cstdio>
#include <cstring>

namespace rebound {
namespace {

namespace chr = std::chrono;

constexpr std::string_view kMonthAbbrevs[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::string_view kWeekdayAbbrevs[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};  // chrono's order

// Three bytes as one number, letters folded to lower case (| 0x20 maps only
// 'A'-'Z' onto 'a'-'z' among the bytes that can equal a letter).
constexpr uint32_t FoldedKey(char a, char b, char c) {
  return uint32_t(static_cast<unsigned char>(a | 0x20)) | uint32_t(static_cast<unsigned char>(b | 0x20)) << 8 |
         uint32_t(static_cast<unsigned char>(c | 0x20)) << 16;
}

// v as exactly n decimal digits at `at` (digits by hand: snprintf costs a
// tenth of a whole bounce record where dates are formatted per record).
void PutDigits(char* at, int64_t v, int n) {
  for (int i = n - 1; i >= 0; --i, v /= 10) at[i] = static_cast<char>('0' + v % 10);
}

// The year, four digits when it has at most four; the length written.
size_t PutYear(char* at, int year) {
  if (year >= 0 && year <= 9999) {
    PutDigits(at, year, 4);
    return 4;
  }
  const int n = std::snprintf(at, 12, "%04d", year);
  return n < 0 ? 0 : static_cast<size_t>(n);
}

}  // namespace

int64_t CivilToEpoch(int year, int month, int day, int hour, int minute, int second) {
  const chr::sys_days date = chr::year{year} / chr::month{static_cast<unsigned>(month)} / chr::day{static_cast<unsigned>(day)};
  return int64_t{date.time_since_epoch().count()} * 86400 + hour * 3600 + minute * 60 + second;
}

int UtcYear(int64_t unix_seconds) {
  const chr::sys_days days = chr::floor<chr::days>(chr::sys_seconds{chr::seconds{unix_seconds}});
  return static_cast<int>(chr::year_month_day{days}.year());
}

int MonthFromAbbrev(std::string_view s) {
  if (s.size() < 3) return 0;
  const uint32_t key = FoldedKey(s[0], s[1], s[2]);
  for (int i = 0; i < 12; ++i) {
    const std::string_view m = kMonthAbbrevs[i];
    if (key == FoldedKey(m[0], m[1], m[2])) return i + 1;
  }
  return 0;
}

size_t FormatTime(int64_t unix_ms, TimeFormat format, char* buf) {
  const chr::sys_time<chr::milliseconds> t{chr::milliseconds{unix_ms}};
  const chr::sys_days days = chr::floor<chr::days>(t);
  const chr::year_month_day date{days};
  const chr::hh_mm_ss clock{t - days};
  const int hour = static_cast<int>(clock.hours().count()), minute = static_cast<int>(clock.minutes().count());
  const int second = static_cast<int>(clock.seconds().count());
  const unsigned month = static_cast<unsigned>(date.month()), day = static_cast<unsigned>(date.day());
  char* p = buf;
  auto put = [&p](std::string_view s) {
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  };
  auto put2 = [&p](int64_t v) {
    PutDigits(p, v, 2);
    p += 2;
  };
  auto put_date = [&] {
    p += PutYear(p, static_cast<int>(date.year()));
    *p++ = '-';
    put2(month);
    *p++ = '-';
    put2(day);
  };
  auto put_clock = [&](bool with_seconds) {
    put2(hour);
    *p++ = ':';
    put2(minute);
    if (with_seconds) {
      *p++ = ':';
      put2(second);
    }
  };
  switch (format) {
    case TimeFormat::kIso:
    case TimeFormat::kIsoMillis:
      put_date();
      *p++ = 'T';
      put_clock(true);
      if (format == TimeFormat::kIsoMillis) {
        *p++ = '.';
        PutDigits(p, clock.subseconds().count(), 3);
        p += 3;
      }
      *p++ = 'Z';
      break;
    case TimeFormat::kMinute:
      put_date();
      *p++ = ' ';
      put_clock(false);
      break;
    case TimeFormat::kClock:
      put_clock(false);
      break;
    case TimeFormat::kRfc5322:
      put(kWeekdayAbbrevs[chr::weekday{days}.c_encoding()]);
      put(", ");
      put2(day);
      *p++ = ' ';
      put(kMonthAbbrevs[month - 1]);
      *p++ = ' ';
      p += PutYear(p, static_cast<int>(date.year()));
      *p++ = ' ';
      put_clock(true);
      put(" +0000");
      break;
  }
  return static_cast<size_t>(p - buf);
}

std::string FormatTime(int64_t unix_ms, TimeFormat format) {
  char buf[kMaxTimeText];
  return std::string(buf, FormatTime(unix_ms, format, buf));
}

int64_t NowUnixMillis() {
  return chr::duration_cast<chr::milliseconds>(chr::system_clock::now().time_since_epoch()).count();
}

}  // namespace rebound
