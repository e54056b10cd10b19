// Test helpers for code that reads text: random bytes that exercise the
// text layer's vector paths, and the obvious lower-casing to compare with.
// For tests only.
#pragma once

#include <random>
#include <string>
#include <string_view>

namespace rebound::text_testing {

// Text from a small alphabet so that needles occur, with the letters in both
// cases, white space of every kind, line ends, NUL and high bytes.
inline std::string RandomText(std::mt19937& rng, size_t max_len) {
  static const char kAlphabet[] = "aAbBzZ@[`{ -\t\n\r\f\v\x01\x7f\x80\xff";
  std::uniform_int_distribution<size_t> len(0, max_len);
  std::uniform_int_distribution<size_t> pick(0, sizeof kAlphabet - 1);  // includes the NUL terminator
  std::string s(len(rng), ' ');
  for (char& c : s) c = kAlphabet[pick(rng)];
  return s;
}

inline std::string NaiveLower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return out;
}

}  // namespace rebound::text_testing
