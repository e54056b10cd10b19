// Civil (calendar) time in UTC, and the one time formatter. Internal to
// librebound. The calendar arithmetic is <chrono>'s (year_month_day,
// sys_days); this header only adds what mail texts and logs need on top:
// English month abbreviations and the few written forms of an instant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rebound {

// Seconds since the epoch for a civil UTC date and time (proleptic
// Gregorian). Days past the end of a month roll into the next one, as
// <chrono> does for an out-of-range day of a valid month.
int64_t CivilToEpoch(int year, int month, int day, int hour, int minute, int second);

// The UTC calendar year of an instant (seconds since the epoch).
int UtcYear(int64_t unix_seconds);

// 1..12 for the English month whose abbreviation ("Jan".."Dec", any letter
// case) starts s, else 0. Only the first three bytes are read.
int MonthFromAbbrev(std::string_view s);

// The written forms of an instant, all in UTC.
enum class TimeFormat {
  kIso,        // "2026-11-27T22:45:35Z"
  kIsoMillis,  // "2026-11-27T22:45:35.123Z": the `ts` field of a JSON log line
  kMinute,     // "2026-11-27 22:45": a report's time span
  kClock,      // "22:45": a time within a report's day
  kRfc5322,    // "Fri, 27 Nov 2026 22:45:35 +0000": a mail header's Date
};
// The longest text FormatTime writes, with room for a five-digit year.
constexpr size_t kMaxTimeText = 40;

// Writes the instant unix_ms (milliseconds since the epoch) in format into
// buf (kMaxTimeText bytes) and returns the length written. Years outside
// 0..9999 are written with as many digits as they need.
size_t FormatTime(int64_t unix_ms, TimeFormat format, char* buf);
// The same as a string.
std::string FormatTime(int64_t unix_ms, TimeFormat format);
// Milliseconds since the epoch, now.
int64_t NowUnixMillis();

}  // namespace rebound
