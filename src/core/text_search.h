// Byte searches in text, vectorised (SSE2, and AVX2 where the CPU has it):
// the bounce reader runs them over whole messages, the reply parser over
// every reply. Internal to librebound; core/text.h includes this.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if defined(__x86_64__) && defined(__GNUC__)
// Code compiled for AVX2 (__attribute__((target("avx2")))) may be used,
// after CpuHasAvx2().
#define REBOUND_HAVE_AVX2 1
#endif

namespace rebound::text {

// Exact search with hay.find(needle, from)'s contract, faster on long
// texts: 16 or 32 candidate positions tested at once by their first, second
// and last bytes.
size_t FindBytes(std::string_view hay, std::string_view needle, size_t from = 0);
// The same, ASCII letters matching in either case.
size_t IFind(std::string_view hay, std::string_view needle, size_t from = 0);

#if defined(REBOUND_HAVE_AVX2)
bool CpuHasAvx2();
#endif

// Offset of the first of the bytes a, b or c in s at or after from
// (<= s.size()), or s.size(): an inline vector loop, cheaper than memchr on
// the short stretches it mostly scans (header lines, runs of HTML text).
inline size_t FindAny(std::string_view s, size_t from, char a, char b, char c) {
  size_t i = from;
#if defined(__SSE2__)
  const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b), vc = _mm_set1_epi8(c);
  for (; i + 16 <= s.size(); i += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
    const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb)), _mm_cmpeq_epi8(x, vc));
    const unsigned bits = static_cast<unsigned>(_mm_movemask_epi8(hit));
    if (bits) return i + static_cast<size_t>(__builtin_ctz(bits));
  }
#endif
  for (; i < s.size(); ++i)
    if (s[i] == a || s[i] == b || s[i] == c) return i;
  return s.size();
}
inline size_t FindEither(std::string_view s, size_t from, char a, char b) { return FindAny(s, from, a, b, b); }
// Offset of the first '\n' in s at or after from, or s.size().
inline size_t LineEnd(std::string_view s, size_t from) { return FindEither(s, from, '\n', '\n'); }

// Offset of the first byte at or after i in p[0, n) that is not plain
// ASCII (>= 0x80) or is NUL, or n: 64 bytes at a time (the high bits of
// their OR, the zeros of their minimum), then 16, then 8 (without SSE2),
// then one. kStopAtEsc: ESC (0x1b) stops the scan too (for the charset
// reader, which looks for ISO-2022 text in the same pass).
template <bool kStopAtEsc = false>
size_t SkipPlainAscii(const char* p, size_t i, size_t n) {
#if defined(__SSE2__)
  const __m128i zero = _mm_setzero_si128(), esc = _mm_set1_epi8(0x1b);
  auto flagged = [&](__m128i x) {
    unsigned m = static_cast<unsigned>(_mm_movemask_epi8(x) | _mm_movemask_epi8(_mm_cmpeq_epi8(x, zero)));
    if constexpr (kStopAtEsc) m |= static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, esc)));
    return m;
  };
  for (; i + 64 <= n; i += 64) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 16));
    const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 32));
    const __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 48));
    __m128i any = _mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d));
    const __m128i least = _mm_min_epu8(_mm_min_epu8(a, b), _mm_min_epu8(c, d));
    if constexpr (kStopAtEsc) {
      // An ESC byte sets the high bit of its lane in any.
      const __m128i e = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(a, esc), _mm_cmpeq_epi8(b, esc)),
                                     _mm_or_si128(_mm_cmpeq_epi8(c, esc), _mm_cmpeq_epi8(d, esc)));
      any = _mm_or_si128(any, e);
    }
    if ((_mm_movemask_epi8(any) | _mm_movemask_epi8(_mm_cmpeq_epi8(least, zero))) == 0) continue;
    const uint64_t bits = uint64_t{flagged(a)} | uint64_t{flagged(b)} << 16 | uint64_t{flagged(c)} << 32 |
                          uint64_t{flagged(d)} << 48;
    return i + static_cast<size_t>(__builtin_ctzll(bits));
  }
  for (; i + 16 <= n; i += 16)
    if (const unsigned bits = flagged(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i))))
      return i + static_cast<size_t>(__builtin_ctz(bits));
#else
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    auto has_zero = [](uint64_t v) { return ((v - 0x0101010101010101ull) & ~v & 0x8080808080808080ull) != 0; };
    if ((w & 0x8080808080808080ull) != 0 || has_zero(w) || (kStopAtEsc && has_zero(w ^ 0x1b1b1b1b1b1b1b1bull))) break;
  }
#endif
  for (; i < n; ++i)
    if (p[i] == 0 || static_cast<unsigned char>(p[i]) >= 0x80 || (kStopAtEsc && p[i] == 0x1b)) return i;
  return n;
}

}  // namespace rebound::text
