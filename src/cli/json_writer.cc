#include "cli/json_writer.h"

#include <array>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace rebound::cli {

namespace {
// Bytes that JSON strings must escape: controls, quote, backslash.
constexpr std::array<bool, 256> kNeedsEscape = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = true;
  t['"'] = t['\\'] = true;
  return t;
}();

// Offset of the first byte of s at or after i that JSON must escape, or
// s.size(). Sixteen bytes at a time where SSE2 is there: records are mostly
// long runs that need nothing (diagnostics, the rule base's solutions).
size_t NextEscape(std::string_view s, size_t i) {
  const size_t n = s.size();
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), last_control = _mm_set1_epi8(0x1f);
  for (; i + 16 <= n; i += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
    // Unsigned x <= 0x1f: min(x, 0x1f) == x.
    const __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(x, last_control), x),
                                     _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)));
    if (const unsigned bits = static_cast<unsigned>(_mm_movemask_epi8(hit))) return i + static_cast<size_t>(__builtin_ctz(bits));
  }
#endif
  for (; i < n; ++i)
    if (kNeedsEscape[static_cast<unsigned char>(s[i])]) return i;
  return n;
}
}  // namespace

void AppendJsonString(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t run = 0;  // start of the current run of bytes needing no escape
  for (size_t i = NextEscape(s, 0); i < s.size(); i = NextEscape(s, run)) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    out->append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

}  // namespace rebound::cli
