// Oracles shared by the fuzz targets. Written independently of the code
// under test, so a bug there cannot hide itself here.
#pragma once

#include <string_view>

namespace rebound::fuzz {

// Structural UTF-8 check (lead byte and continuation bytes).
inline bool ValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

}  // namespace rebound::fuzz
