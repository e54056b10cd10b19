// The text layer against byte-at-a-time references: the vector paths of
// the searches, lower-casing, collapsing and UTF-8 repair must agree with
// the obvious loops at every offset and length.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "core/text.h"
#include "core/text_testing.h"

namespace rebound::text {
namespace {

using text_testing::NaiveLower;
using text_testing::RandomText;

// Collapsing, one byte at a time.
std::string NaiveCollapse(std::string_view s) {
  std::string out;
  bool pending_space = false;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

// SanitizeUtf8's contract, one byte at a time.
std::string NaiveSanitize(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out += c == 0 ? ' ' : s[i];
      ++i;
      continue;
    }
    size_t len = (c >= 0xc2 && c <= 0xdf) ? 2 : (c >= 0xe0 && c <= 0xef) ? 3 : (c >= 0xf0 && c <= 0xf4) ? 4 : 0;
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
    const unsigned char c1 = ok ? static_cast<unsigned char>(s[i + 1]) : 0;
    if (ok && ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0) || (c == 0xf0 && c1 < 0x90) || (c == 0xf4 && c1 >= 0x90)))
      ok = false;
    if (ok) {
      out.append(s, i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

TEST(Text, SearchesAgreeWithFind) {
  std::mt19937 rng(7);
  for (int round = 0; round < 20000; ++round) {
    const std::string hay = RandomText(rng, round % 4 ? 80 : 400);  // short and long (the 32-byte blocks)
    std::string needle = RandomText(rng, 4);
    if (round % 3 == 0 && hay.size() >= 2) {  // a needle that is surely there, in some case
      size_t at = rng() % (hay.size() - 1);
      needle = hay.substr(at, 1 + rng() % std::min<size_t>(hay.size() - at, 20));
      if (round % 2) needle = NaiveLower(needle);
    }
    const size_t from = rng() % (hay.size() + 2);
    EXPECT_EQ(FindBytes(hay, needle, from), std::string_view(hay).find(needle, from))
        << "hay=" << testing::PrintToString(hay) << " needle=" << testing::PrintToString(needle) << " from=" << from;
    EXPECT_EQ(IFind(hay, needle, from), NaiveLower(hay).find(NaiveLower(needle), from))
        << "hay=" << testing::PrintToString(hay) << " needle=" << testing::PrintToString(needle) << " from=" << from;
  }
  // Needles longer than IFind's stack buffer.
  const std::string long_needle(100, 'q');
  EXPECT_EQ(IFind("xx" + std::string(100, 'Q'), long_needle), 2u);
}

TEST(Text, LowerCollapseAndLineEndAgreeWithReferences) {
  std::mt19937 rng(11);
  for (int round = 0; round < 5000; ++round) {
    const std::string s = RandomText(rng, 100);
    EXPECT_EQ(Lower(s), NaiveLower(s));
    std::string got = "pre";
    AppendCollapsed(s, &got);
    EXPECT_EQ(got, "pre" + NaiveCollapse(s)) << testing::PrintToString(s);
    // Prose: words and single spaces, now and then a fold or a double space
    // (the vector path's long runs).
    std::string prose;
    for (int w = static_cast<int>(rng() % 30); w > 0; --w) {
      prose.append(1 + rng() % 12, static_cast<char>('a' + rng() % 26));
      const unsigned r = rng() % 20;
      prose += r == 0 ? "\n\t" : r == 1 ? "  " : r == 2 ? "\r\n " : " ";
    }
    got.clear();
    AppendCollapsed(prose, &got);
    EXPECT_EQ(got, NaiveCollapse(prose)) << testing::PrintToString(prose);
    const size_t from = rng() % (s.size() + 1);
    const size_t want = s.find('\n', from);
    EXPECT_EQ(LineEnd(s, from), want == std::string::npos ? s.size() : want);
  }
}

TEST(Text, SanitizeAgreesWithTheByteLoop) {
  // Long ASCII runs (the 64- and 16-byte blocks) broken now and then by NUL,
  // valid and invalid UTF-8, at every offset and length.
  std::mt19937 rng(13);
  const std::string kPieces[] = {std::string(1, '\0'), "\xc3\xa9", "\xe6\x97\xa5", "\xf0\x9f\x98\x80", "\xff", "\x80",
                                 "\xe0\x80\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc3", "\xe6\x97"};
  for (int round = 0; round < 20000; ++round) {
    std::string s;
    const size_t target = rng() % (round % 5 ? 200 : 1000);
    while (s.size() < target) {
      if (rng() % 4) s.append(rng() % 90, static_cast<char>(' ' + rng() % 95));
      else s += kPieces[rng() % std::size(kPieces)];
    }
    const size_t from = rng() % (s.size() + 1);
    std::string got = s;
    SanitizeUtf8(&got, from);
    ASSERT_EQ(got, s.substr(0, from) + NaiveSanitize(s.substr(from))) << testing::PrintToString(s) << " from=" << from;
  }
}

TEST(Text, OneRepairOfInvalidUtf8) {
  // SanitizeUtf8 and AppendCleanUtf8 replace the same bytes the same way.
  const std::string bad = "caf\xc3\xa9 \xff\xe6\x97 ok \xed\xa0\x80";
  std::string sanitized = bad, cleaned;
  SanitizeUtf8(&sanitized);
  AppendCleanUtf8(bad, &cleaned);
  EXPECT_EQ(sanitized, "caf\xc3\xa9 \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD ok \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(cleaned, sanitized);
}

TEST(Text, WhiteSpaceIsTheCLocaleSet) {
  EXPECT_EQ(Trim(" \t\n\v\f\rword\r\f\v\n\t "), "word");
  EXPECT_EQ(Trim("\x85word\xa0"), "\x85word\xa0");  // bytes >= 0x80 are no white space
  EXPECT_TRUE(IEquals("Content-Type", "content-TYPE"));
  EXPECT_FALSE(IEquals("\xc3\x89", "\xc3\xa9"));  // ASCII letters only
  EXPECT_TRUE(IEndsWith("host said", " SAID"));
}

}  // namespace
}  // namespace rebound::text
