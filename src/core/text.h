// The text layer shared by every parser: ASCII letter case, white space,
// UTF-8 repair. One of each; byte searches are in core/text_search.h
// (included here, as most users of one want the other). Internal to
// librebound.
//
// White space, for IsSpace, Trim and AppendCollapsed alike, is the C
// locale's set: space, tab, LF, VT, FF, CR. Letters are ASCII letters only;
// bytes >= 0x80 are neither letters nor white space.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "core/text_search.h"

namespace rebound::text {

inline char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsSpace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// Case-insensitive (ASCII) comparisons. Inline: header lookups compare
// every field name, mostly of another length.
inline bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i] && Lower(a[i]) != Lower(b[i])) return false;
  return true;
}
inline bool IStartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && IEquals(s.substr(0, prefix.size()), prefix);
}
inline bool IEndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && IEquals(s.substr(s.size() - suffix.size()), suffix);
}

// s without the white space at either end.
inline std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// s with A-Z made a-z.
std::string Lower(std::string_view s);
// *out = Lower(s), its capacity reused; s may be *out.
void LowerTo(std::string_view s, std::string* out);
// The same for a temporary (Lower(FirstAddress(...))): lower-cased in place.
inline std::string Lower(std::string&& s) {
  LowerTo(s, &s);
  return std::move(s);
}

// Appends the words of s (runs of bytes other than white space) joined by
// single spaces: runs of white space become one space, none at either end.
// This is also RFC 5322 unfolding of a header value.
void AppendCollapsed(std::string_view s, std::string* out);

// The length of the valid UTF-8 character at s[i] (1 for ASCII), or 0 when
// the bytes there are no character: a stray continuation byte, an overlong
// form, a surrogate, a code point past U+10FFFF, a sequence cut short.
inline size_t Utf8CharLength(std::string_view s, size_t i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  const size_t n = (c >= 0xc2 && c <= 0xdf) ? 2 : (c >= 0xe0 && c <= 0xef) ? 3 : (c >= 0xf0 && c <= 0xf4) ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 0;
  // The second byte's range rules out overlong forms, surrogates and
  // code points past U+10FFFF.
  const unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
  if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0) || (c == 0xf0 && c1 < 0x90) || (c == 0xf4 && c1 >= 0x90))
    return 0;
  return n;
}

// The one repair of invalid UTF-8, here and in AppendCleanUtf8: every byte
// that starts no valid character (Utf8CharLength) becomes U+FFFD, the
// Unicode replacement character.
// Makes *s valid UTF-8 without NUL, from offset from on: invalid bytes
// become U+FFFD, NUL a space. Text that needs no change is not copied.
void SanitizeUtf8(std::string* s, size_t from = 0);

// Appends s to out, made valid UTF-8 as SanitizeUtf8 does, with CRLF and
// lone CR made '\n' and the other control bytes (NUL, tabs, ...) spaces.
void AppendCleanUtf8(std::string_view s, std::string* out);

}  // namespace rebound::text
