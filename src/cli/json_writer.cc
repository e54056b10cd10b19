#include "cli/json_writer.h"

#include <array>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/text.h"

namespace rebound::cli {

namespace {
// Bytes that JSON strings must escape: controls, quote, backslash.
constexpr std::array<bool, 256> kNeedsEscape = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = true;
  t['"'] = t['\\'] = true;
  return t;
}();

char* Escape(char* out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  *out++ = '\\';
  switch (c) {
    case '"': *out++ = '"'; break;
    case '\\': *out++ = '\\'; break;
    case '\n': *out++ = 'n'; break;
    case '\r': *out++ = 'r'; break;
    case '\t': *out++ = 't'; break;
    default:
      memcpy(out, "u00", 3);
      out[3] = kHex[c >> 4];
      out[4] = kHex[c & 15];
      out += 5;
  }
  return out;
}

// At a byte of 0x80 or above: copies the UTF-8 character that starts there,
// or writes U+FFFD for a byte that starts none (text.h's one repair), so the
// output is always valid JSON whatever bytes came in. Returns where the
// input goes on.
const char* CopyCharacter(const char* in, const char* end, char** out) {
  const size_t n = text::Utf8CharLength(std::string_view(in, static_cast<size_t>(end - in)), 0);
  if (n == 0) {
    memcpy(*out, "\xEF\xBF\xBD", 3);
    *out += 3;
    return in + 1;
  }
  memcpy(*out, in, n);
  *out += n;
  return in + n;
}
}  // namespace

char* WriteJsonString(char* out, std::string_view s) {
  *out++ = '"';
  const char* in = s.data();
  const char* const end = in + s.size();
#if defined(__SSE2__)
  // Sixteen bytes at a time, stored before they are looked at: records are
  // mostly long runs that need nothing (replies, the rule base's texts).
  // The store stays within the room asked for, as out never falls behind in.
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), last_control = _mm_set1_epi8(0x1f);
  while (end - in >= 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), x);
    // Unsigned x <= 0x1f: min(x, 0x1f) == x.
    const __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(x, last_control), x),
                                     _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)));
    // The high bit marks bytes past ASCII, which must form valid UTF-8.
    const unsigned bits = static_cast<unsigned>(_mm_movemask_epi8(hit) | _mm_movemask_epi8(x));
    if (bits == 0) {
      in += 16;
      out += 16;
      continue;
    }
    const int run = __builtin_ctz(bits);
    in += run;
    out += run;
    const unsigned char c = static_cast<unsigned char>(*in);
    if (c >= 0x80) in = CopyCharacter(in, end, &out);
    else out = Escape(out, c), ++in;
  }
#endif
  while (in < end) {
    const unsigned char c = static_cast<unsigned char>(*in);
    if (c >= 0x80) in = CopyCharacter(in, end, &out);
    else if (kNeedsEscape[c]) out = Escape(out, c), ++in;
    else *out++ = static_cast<char>(c), ++in;
  }
  *out++ = '"';
  return out;
}

void AppendJsonString(std::string* out, std::string_view s) {
  const size_t old = out->size();
  out->resize(old + JsonStringMaxSize(s.size()));
  char* const begin = out->data();
  out->resize(static_cast<size_t>(WriteJsonString(begin + old, s) - begin));
}

}  // namespace rebound::cli
