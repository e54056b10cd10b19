#include "core/text.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace rebound::text {

void LowerTo(std::string_view s, std::string* out) {
  out->resize(s.size());
  // Branch-free so that the compiler vectorises it: the whole bounce text
  // goes through here once per message.
  const unsigned char* in = reinterpret_cast<const unsigned char*>(s.data());
  char* o = out->data();
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i before_a = _mm_set1_epi8('A' - 1), after_z = _mm_set1_epi8('Z' + 1), case_bit = _mm_set1_epi8(0x20);
  for (; i + 16 <= s.size(); i += 16) {
    // Signed compares: bytes >= 0x80 are negative, never upper case.
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
    const __m128i upper = _mm_and_si128(_mm_cmpgt_epi8(x, before_a), _mm_cmplt_epi8(x, after_z));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o + i), _mm_add_epi8(x, _mm_and_si128(upper, case_bit)));
  }
#endif
  for (; i < s.size(); ++i) {
    const unsigned char c = in[i];
    o[i] = static_cast<char>(c + (static_cast<unsigned char>(c - 'A') < 26 ? 32 : 0));
  }
}

std::string Lower(std::string_view s) {
  std::string out;
  LowerTo(s, &out);
  return out;
}

void AppendCollapsed(std::string_view s, std::string* out) {
  // Sixteen bytes at a time between white space: header values, replies
  // and diagnostics are collapsed by the thousand, and a byte loop
  // mispredicts at every space.
  const size_t start = out->size();
  out->resize(start + s.size());  // the most it can take
  char* const begin = out->data() + start;
  char* w = begin;
  const size_t n = s.size();
  bool after_space = true;  // drops leading white space
  size_t i = 0;
  while (i < n) {
#if defined(__SSE2__)
    if (i + 16 <= n) {
      // w never runs ahead of i, so a 16-byte store at w stays inside out.
      const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
      const __m128i is_space = _mm_cmpeq_epi8(x, _mm_set1_epi8(' '));
      const __m128i ws_bytes = _mm_or_si128(is_space, _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('\t' - 1)),
                                                                   _mm_cmplt_epi8(x, _mm_set1_epi8('\r' + 1))));
      const unsigned ws = static_cast<unsigned>(_mm_movemask_epi8(ws_bytes));
      const unsigned sp = static_cast<unsigned>(_mm_movemask_epi8(is_space));
      // Bytes that change: white space other than ' ', and a ' ' that
      // follows white space (or starts the value). Single spaces between
      // words, the usual case, are copied as they are.
      const unsigned changes = ((ws & ~sp) | (sp & ((ws << 1) | (after_space ? 1u : 0u)))) & 0xffffu;
      const size_t run = changes ? static_cast<size_t>(__builtin_ctz(changes)) : 16;
      if (run > 0) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(w), x);
        w += run;
        i += run;
        after_space = (ws >> (run - 1)) & 1u;
        continue;
      }
    }
#endif
    const char c = s[i++];
    if (IsSpace(c)) {
      if (!after_space) *w++ = ' ';
      after_space = true;
    } else {
      *w++ = c;
      after_space = false;
    }
  }
  if (w > begin && w[-1] == ' ') --w;
  out->resize(start + static_cast<size_t>(w - begin));
}

void SanitizeUtf8(std::string* s, size_t from) {
  // In place up to the first byte that is no character: text that needs no
  // change (nearly all) is only scanned, ASCII runs a vector at a time.
  std::string& t = *s;
  const size_t n = t.size();
  size_t i = from;
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(t[i]);
    if (c == 0) {
      t[i++] = ' ';
    } else if (c < 0x80) {
      i = SkipPlainAscii(t.data(), i + 1, n);
    } else if (const size_t len = Utf8CharLength(t, i)) {
      i += len;
    } else {
      break;
    }
  }
  if (i >= n) return;
  // From there on, rebuilt: a replacement character is three bytes.
  const std::string rest = t.substr(i);
  t.resize(i);
  for (size_t k = 0; k < rest.size();) {
    if (rest[k] == 0) {
      t.push_back(' ');
      ++k;
    } else if (const size_t len = Utf8CharLength(rest, k)) {
      t.append(rest, k, len);
      k += len;
    } else {
      t.append("\xEF\xBF\xBD");
      ++k;
    }
  }
}

void AppendCleanUtf8(std::string_view s, std::string* out) {
  for (size_t i = 0; i < s.size();) {
    // Fast path: a run of printable ASCII is copied as one block.
    size_t run = i;
#if defined(__SSE2__)
    // Sixteen bytes at a time: every reply the classifier sees comes here.
    // Signed compares: bytes >= 0x80 are negative, so not printable.
    const __m128i below = _mm_set1_epi8(0x1f), above = _mm_set1_epi8(0x7f);
    for (; run + 16 <= s.size(); run += 16) {
      const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + run));
      const unsigned printable = static_cast<unsigned>(
          _mm_movemask_epi8(_mm_and_si128(_mm_cmpgt_epi8(x, below), _mm_cmplt_epi8(x, above))));
      if (printable != 0xffffu) {
        run += static_cast<size_t>(__builtin_ctz(~printable));
        break;
      }
    }
#endif
    while (run < s.size() && static_cast<unsigned char>(s[run]) - 0x20u < 0x5Fu) ++run;
    if (run > i) {
      out->append(s.data() + i, run - i);
      i = run;
      if (i == s.size()) break;
    }
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\r') {
      out->push_back('\n');
      i += (i + 1 < s.size() && s[i + 1] == '\n') ? 2 : 1;
    } else if (c == '\n') {
      out->push_back('\n');
      ++i;
    } else if (c < 0x20 || c == 0x7F) {
      out->push_back(' ');
      ++i;
    } else if (c < 0x80) {
      out->push_back(static_cast<char>(c));
      ++i;
    } else if (size_t n = Utf8CharLength(s, i)) {
      out->append(s.data() + i, n);
      i += n;
    } else {
      out->append("\xEF\xBF\xBD");
      ++i;
    }
  }
}

}  // namespace rebound::text
