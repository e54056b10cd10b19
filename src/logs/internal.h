// Helpers shared by the log readers. Internal to rebound_logs.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/civil_time.h"
#include "rebound/log.h"

namespace rebound::logs {

constexpr auto npos = std::string_view::npos;

// Maps keyed by std::string that look up by string_view without a copy.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// Copies of short strings in 64 KiB blocks: one allocation per block, not
// per string. Views stay valid until the arena dies.
class StringArena {
 public:
  std::string_view Copy(std::string_view s) {
    if (s.empty()) return {};
    char* p;
    if (s.size() > kBlock / 4) {  // big: a block of its own
      blocks_.emplace_back(new char[s.size()]);
      p = blocks_.back().get();
    } else {
      if (!current_ || used_ + s.size() > kBlock) {
        blocks_.emplace_back(new char[kBlock]);
        current_ = blocks_.back().get();
        used_ = 0;
      }
      p = current_ + used_;
      used_ += s.size();
    }
    memcpy(p, s.data(), s.size());
    return std::string_view(p, s.size());
  }

 private:
  static constexpr size_t kBlock = 64 << 10;
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* current_ = nullptr;  // the block being filled
  size_t used_ = 0;
};

// What a reader remembers of a message between its lines (Exim, Sendmail).
struct MessageInfo {
  std::string from, message_id;
  int64_t size = -1;
};

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Bit i is set when p[i] == c, for the 16 bytes at p (all readable). The
// readers' searches are short (a host name, a program tag, a field list):
// an inline 16-byte compare beats a library call there.
inline uint32_t Match16(const char* p, char c) {
#if defined(__SSE2__)
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(c))));
#else
  uint32_t m = 0;
  for (int i = 0; i < 16; ++i) m |= uint32_t(p[i] == c) << i;
  return m;
#endif
}

// The first c in [p, end), or end.
inline const char* FindByte(const char* p, const char* end, char c) {
  for (; end - p >= 16; p += 16)
    if (const uint32_t m = Match16(p, c)) return p + __builtin_ctz(m);
  while (p < end && *p != c) ++p;
  return p;
}

// Parses exactly n digits at s[i]; -1 when they are not all digits.
inline int Digits(std::string_view s, size_t i, size_t n) {
  if (i + n > s.size()) return -1;
  int v = 0;
  for (size_t k = 0; k < n; ++k) {
    const char c = s[i + k];
    if (!IsDigit(c)) return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

// Resolves syslog timestamps, which have no year, against the reference time.
class YearResolver {
 public:
  explicit YearResolver(int64_t reference_time);
  int64_t Resolve(int month, int day, int hour, int minute, int second) const;

 private:
  int64_t reference_;
  int year_;
  // Logs are in time order: remember the last day's start.
  mutable int last_month_ = 0, last_day_ = 0;
  mutable int64_t last_day_start_ = 0;
};

// The parts of a syslog line: "Nov 27 22:45:35 host prog[pid]: message" or
// "2026-11-27T22:45:35.123+01:00 host prog[pid]: message".
struct SyslogLine {
  int64_t time = 0;
  std::string_view host, program, message;
};
// Parses the timestamp at the start of s; returns the bytes used (0: none).
size_t ParseSyslogTime(std::string_view s, const YearResolver& years, int64_t* out);
// "YYYY-MM-DD[T ]HH:MM:SS[.frac][Z|+hh:mm|+hhmm| +hhmm]"; returns bytes used.
// The zone is optional (UTC when absent); allow_space_zone accepts Exim's
// " +0100" after a space.
size_t ParseIsoTime(std::string_view s, bool allow_space_zone, int64_t* out);
bool ParseSyslogLine(std::string_view line, const YearResolver& years, SyslogLine* out);

// Splits "name[1.2.3.4]:25" (Postfix) into host and ip.
void SplitHostIp(std::string_view relay, std::string_view* host, std::string_view* ip);

// Value of "key=" inside a comma-separated field list ("a=1, key=v, b=2");
// the value ends at ", " or the end. Empty when absent.
std::string_view FieldValue(std::string_view fields, std::string_view key);

bool ParseDouble(std::string_view s, double* out);
bool ParseInt(std::string_view s, int64_t* out);

// Strips one pair of surrounding angle brackets.
inline std::string_view StripAngles(std::string_view s) {
  if (s.size() >= 2 && s.front() == '<' && s.back() == '>') return s.substr(1, s.size() - 2);
  return s;
}

std::unique_ptr<LogReader> NewPostfixReader(const LogReaderOptions& o);
std::unique_ptr<LogReader> NewEximReader(const LogReaderOptions& o);
std::unique_ptr<LogReader> NewSendmailReader(const LogReaderOptions& o);
std::unique_ptr<LogReader> NewKumoReader(const LogReaderOptions& o);
std::unique_ptr<LogReader> NewPowerMtaReader(const LogReaderOptions& o);

}  // namespace rebound::logs
