#include "core/text.h"

#include <algorithm>

namespace rebound::text {

size_t IFind(std::string_view hay, std::string_view needle, size_t from) {
  constexpr auto npos = std::string_view::npos;
  if (needle.empty()) return from <= hay.size() ? from : npos;
  if (hay.size() < needle.size()) return npos;
  // Candidates come from memchr (vectorised) on both cases of the first
  // letter; only they are compared in full.
  const char lo = Lower(needle[0]);
  const char up = (lo >= 'a' && lo <= 'z') ? char(lo - 32) : lo;
  const size_t last = hay.size() - needle.size();
  size_t next_lo = hay.find(lo, from), next_up = lo == up ? npos : hay.find(up, from);
  while (true) {
    const size_t i = std::min(next_lo, next_up);
    if (i == npos || i > last) return npos;
    size_t j = 1;
    while (j < needle.size() && Lower(hay[i + j]) == Lower(needle[j])) ++j;
    if (j == needle.size()) return i;
    if (i == next_lo) next_lo = hay.find(lo, i + 1);
    else next_up = hay.find(up, i + 1);
  }
}

bool IStartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && IEquals(s.substr(0, prefix.size()), prefix);
}

bool IEndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && IEquals(s.substr(s.size() - suffix.size()), suffix);
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (Lower(a[i]) != Lower(b[i])) return false;
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Length of the valid UTF-8 sequence at s[i], 0 when invalid.
static size_t Utf8Len(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  size_t n;
  unsigned min;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) { n = 2; min = 0x80; }
  else if (c >= 0xE0 && c <= 0xEF) { n = 3; min = 0x800; }
  else if (c >= 0xF0 && c <= 0xF4) { n = 4; min = 0x10000; }
  else return 0;
  if (i + n > s.size()) return 0;
  unsigned cp = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

void AppendCleanUtf8(std::string_view s, std::string* out) {
  for (size_t i = 0; i < s.size();) {
    // Fast path: a run of printable ASCII is copied as one block.
    size_t run = i;
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
    } else if (size_t n = Utf8Len(s, i)) {
      out->append(s.data() + i, n);
      i += n;
    } else {
      out->append("\xEF\xBF\xBD");
      ++i;
    }
  }
}

void AppendCollapsed(std::string_view s, std::string* out) {
  // Append, then squeeze spaces in place: one comparison a byte.
  const size_t start = out->size();
  out->append(s);
  std::string& t = *out;
  size_t w = start;
  bool after_space = true;  // drops leading white space
  for (size_t r = start; r < t.size(); ++r) {
    const char c = t[r];
    if (IsSpace(c)) {
      if (!after_space) t[w++] = ' ';
      after_space = true;
    } else {
      t[w++] = c;
      after_space = false;
    }
  }
  if (w > start && t[w - 1] == ' ') --w;
  t.resize(w);
}

}  // namespace rebound::text
