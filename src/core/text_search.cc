#include "core/text_search.h"

#include <string>

#include "core/text.h"

#if defined(__x86_64__)
#include <immintrin.h>  // SSE2 always; AVX2 only in functions compiled for it
#endif

namespace rebound::text {

#if defined(REBOUND_HAVE_AVX2)
bool CpuHasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}
#endif

namespace {

// The search behind IFind and FindBytes: needle (lower-cased when kFold) in
// hay from offset from. Candidates are the positions whose first, second and
// last bytes match the needle's (32 or 16 positions at once with AVX2 or
// SSE2); each is then checked in full. kFold matches A-Z in hay to the
// needle's a-z: (byte | 0x20) == letter.
struct Needle {
  const char* h;
  size_t n;
  const char* nd;
  size_t m, second_at;
  char first, second, last;
  char first_mask, second_mask, last_mask;  // 0x20 for a letter when folding, else 0
};

template <bool kFold>
bool RestMatches(const Needle& q, const char* at) {
  if constexpr (!kFold) {
    return memcmp(at + 1, q.nd + 1, q.m - 1) == 0;
  } else {
    for (size_t j = 1; j < q.m; ++j)
      if (Lower(at[j]) != q.nd[j]) return false;
    return true;
  }
}

// Tests the candidates flagged in bits (bit k: position base + k).
template <bool kFold>
size_t CheckCandidates(const Needle& q, size_t base, uint32_t bits) {
  while (bits) {
    const size_t at = base + static_cast<size_t>(__builtin_ctz(bits));
    if (RestMatches<kFold>(q, q.h + at)) return at;
    bits &= bits - 1;
  }
  return std::string_view::npos;
}

#if defined(REBOUND_HAVE_AVX2)
// Blocks of 32 positions from *i while they fit; *i is where it stopped.
// Compiled for AVX2 and used only when the CPU has it.
template <bool kFold>
__attribute__((target("avx2"))) size_t SearchAvx2(const Needle& q, size_t* i) {
  const __m256i vf = _mm256_set1_epi8(q.first), vs = _mm256_set1_epi8(q.second), vl = _mm256_set1_epi8(q.last);
  const __m256i mf = _mm256_set1_epi8(q.first_mask), ms = _mm256_set1_epi8(q.second_mask),
                ml = _mm256_set1_epi8(q.last_mask);
  size_t at = *i;
  for (; at + (q.m - 1) + 32 <= q.n; at += 32) {
    __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q.h + at));
    __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q.h + at + q.second_at));
    __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q.h + at + q.m - 1));
    if constexpr (kFold) {
      a = _mm256_or_si256(a, mf);
      b = _mm256_or_si256(b, ms);
      c = _mm256_or_si256(c, ml);
    }
    const __m256i eq = _mm256_and_si256(_mm256_and_si256(_mm256_cmpeq_epi8(a, vf), _mm256_cmpeq_epi8(b, vs)),
                                        _mm256_cmpeq_epi8(c, vl));
    const uint32_t bits = static_cast<uint32_t>(_mm256_movemask_epi8(eq));
    if (bits) {
      const size_t found = CheckCandidates<kFold>(q, at, bits);
      if (found != std::string_view::npos) {
        *i = at;
        return found;
      }
    }
  }
  *i = at;
  return std::string_view::npos;
}

#endif

template <bool kFold>
size_t Search(std::string_view hay, std::string_view needle, size_t from) {
  const size_t n = hay.size(), m = needle.size();
  if (m == 0) return from <= n ? from : std::string_view::npos;
  if (n < m || from > n - m) return std::string_view::npos;
  auto letter = [](char c) { return c >= 'a' && c <= 'z'; };
  Needle q;
  q.h = hay.data();
  q.n = n;
  q.nd = needle.data();
  q.m = m;
  q.second_at = m > 1 ? 1 : 0;
  q.first = q.nd[0];
  q.second = q.nd[q.second_at];
  q.last = q.nd[m - 1];
  q.first_mask = kFold && letter(q.first) ? 0x20 : 0;
  q.second_mask = kFold && letter(q.second) ? 0x20 : 0;
  q.last_mask = kFold && letter(q.last) ? 0x20 : 0;
  size_t i = from;
#if defined(REBOUND_HAVE_AVX2)
  if (n - i >= 64 + m && CpuHasAvx2()) {
    const size_t found = SearchAvx2<kFold>(q, &i);
    if (found != std::string_view::npos) return found;
  }
#endif
#if defined(__SSE2__)
  const __m128i vf = _mm_set1_epi8(q.first), vs = _mm_set1_epi8(q.second), vl = _mm_set1_epi8(q.last);
  const __m128i mf = _mm_set1_epi8(q.first_mask), ms = _mm_set1_epi8(q.second_mask), ml = _mm_set1_epi8(q.last_mask);
  auto block = [&](size_t at) {
    __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q.h + at));
    __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q.h + at + q.second_at));
    __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q.h + at + m - 1));
    if constexpr (kFold) {
      a = _mm_or_si128(a, mf);
      b = _mm_or_si128(b, ms);
      c = _mm_or_si128(c, ml);
    }
    const __m128i eq =
        _mm_and_si128(_mm_and_si128(_mm_cmpeq_epi8(a, vf), _mm_cmpeq_epi8(b, vs)), _mm_cmpeq_epi8(c, vl));
    return static_cast<uint32_t>(_mm_movemask_epi8(eq));
  };
  for (; i + (m - 1) + 16 <= n; i += 16) {
    if (const uint32_t bits = block(i)) {
      const size_t found = CheckCandidates<kFold>(q, i, bits);
      if (found != std::string_view::npos) return found;
    }
  }
  if (i + m <= n && n >= (m - 1) + 16) {
    // The last positions: one more block, ending at the last start, with
    // the positions already tested masked off.
    const size_t last_block = n - (m - 1) - 16;
    return CheckCandidates<kFold>(q, last_block, block(last_block) & (0xffffu << (i - last_block)));
  }
#endif
  for (; i + m <= n; ++i) {
    if (static_cast<char>(q.h[i] | q.first_mask) == q.first && static_cast<char>(q.h[i + m - 1] | q.last_mask) == q.last &&
        RestMatches<kFold>(q, q.h + i))
      return i;
  }
  return std::string_view::npos;
}

}  // namespace

size_t IFind(std::string_view hay, std::string_view needle, size_t from) {
  char buf[64];
  if (needle.size() > sizeof buf) {
    std::string lowered = Lower(needle);
    return Search<true>(hay, lowered, from);
  }
  for (size_t i = 0; i < needle.size(); ++i) buf[i] = Lower(needle[i]);
  return Search<true>(hay, std::string_view(buf, needle.size()), from);
}

size_t FindBytes(std::string_view hay, std::string_view needle, size_t from) { return Search<false>(hay, needle, from); }

}  // namespace rebound::text
