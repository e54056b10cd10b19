// The bounce reader's fast paths (SSE2 search, lower-casing and unfolding,
// the ASCII shortcut past iconv, bulk mbox splitting) checked against plain
// reference versions on random input: same answers, byte for byte.
#include <iconv.h>

#include <gtest/gtest.h>

#include <cctype>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "bounce/extract.h"
#include "bounce/mime.h"
#include "core/text.h"
#include "core/text_testing.h"
#include "rebound/bounce.h"

namespace rebound::bounce {
namespace {

using text_testing::NaiveLower;
using text_testing::RandomText;

// The text searches, lower-casing, collapsing and UTF-8 repair the reader
// relies on are tested with the text layer (src/core/text_test.cc).

TEST(MimeFast, HeaderLookupsFindEveryFieldInAnyCase) {
  // The name filter must never hide a field: every name, in any case, is
  // found; names that are absent are not; fields added by hand are seen.
  std::mt19937 rng(9);
  for (int round = 0; round < 500; ++round) {
    std::string block;
    std::vector<std::string> names;
    const int n = static_cast<int>(rng() % 30);
    for (int i = 0; i < n; ++i) {
      std::string name = "X-" + std::to_string(rng() % 1000) + (rng() % 2 ? "-Id" : "-tag");
      names.push_back(name);
      block += name + ": v" + std::to_string(i) + "\n";
    }
    block += "\nbody";  // the fields point into block
    Headers h;
    ParseHeaders(block, &h);
    ASSERT_EQ(h.fields.size(), names.size());
    for (const auto& name : names) {
      EXPECT_TRUE(h.Has(NaiveLower(name))) << name;
      EXPECT_FALSE(h.Raw(name).empty()) << name;
    }
    const std::string absent = "Y-" + std::to_string(rng() % 1000);
    EXPECT_FALSE(h.Has(absent));
    h.fields.push_back({absent, "added"});
    EXPECT_EQ(h.Raw(absent), "added");
  }
}

TEST(MimeFast, Base64RoundTripsThroughLineBreaksAndJunk) {
  static const char kDigits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::mt19937 rng(13);
  for (int round = 0; round < 2000; ++round) {
    std::string bytes(rng() % 200, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    std::string encoded;
    for (size_t i = 0; i < bytes.size(); i += 3) {
      uint32_t v = 0;
      const size_t n = std::min<size_t>(3, bytes.size() - i);
      for (size_t k = 0; k < 3; ++k) v = (v << 8) | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
      for (size_t k = 0; k < 4; ++k) encoded.push_back(k <= n ? kDigits[(v >> (18 - 6 * k)) & 63] : '=');
      if (rng() % 8 == 0) encoded += rng() % 2 ? "\r\n" : " *";  // line breaks and junk are skipped
    }
    EXPECT_EQ(DecodeBase64(encoded), bytes) << encoded;
  }
}

TEST(MimeFast, QuotedParametersWithAndWithoutEscapes) {
  EXPECT_EQ(ParseContentType("multipart/report; boundary=\"b1 = x\"; charset=UTF-8").boundary, "b1 = x");
  EXPECT_EQ(ParseContentType("multipart/mixed; boundary=\"a\\\"b\\\\c\"").boundary, "a\"b\\c");
  EXPECT_EQ(ParseContentType("multipart/mixed; boundary=\"unterminated").boundary, "unterminated");
  EXPECT_EQ(ParseContentType("text/plain; charset=\"ISO-2022-JP\"").charset, "iso-2022-jp");
}

// The header reader as first written, line by line: the reference for the
// vectorised one.
size_t ReferenceParseHeaders(std::string_view s, std::vector<std::pair<std::string_view, std::string_view>>* out) {
  size_t pos = 0;
  while (pos < s.size()) {
    size_t eol = s.find('\n', pos);
    if (eol == std::string_view::npos) eol = s.size();
    std::string_view line = s.substr(pos, eol - pos);
    if (Trim(line).empty()) return std::min(eol + 1, s.size());
    if (line[0] == ' ' || line[0] == '\t') {
      if (!out->empty()) {
        auto& f = out->back();
        const char* begin = f.second.empty() ? line.data() : f.second.data();
        f.second = std::string_view(begin, static_cast<size_t>(line.data() + line.size() - begin));
      }
      pos = eol + 1;
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0 || line.substr(0, colon).find(' ') != std::string_view::npos) {
      if (out->empty() && (line.starts_with("From ") || line.starts_with(">From "))) {
        pos = eol + 1;
        continue;
      }
      return pos;
    }
    std::string_view value = Trim(line.substr(colon + 1));
    if (value.empty()) value = std::string_view(line.data() + line.size(), 0);
    out->emplace_back(line.substr(0, colon), value);
    pos = eol + 1;
  }
  return s.size();
}

TEST(MimeFast, HeaderReaderAgreesWithTheLineByLineOne) {
  std::mt19937 rng(17);
  static const char* kLines[] = {"Subject: hello\n", "X-Long-Header-Name-Here: value with  spaces \n", "To:\n",
                                 "  folded continuation\n", "\tTab continuation\n", "No colon here\n",
                                 "Bad name: x\n", ":empty name\n", "\n", " \n", "\r\n", "From sender\n",
                                 ">From x\n", "A:b", "Received: from a\n by b\n", "x:\r\n",
                                 // No colon or space before the line end, past a 32-byte block.
                                 "ALineOfFiftyBytesWithNeitherColonNorSpace123456789\n",
                                 // Longer than the 64-byte windows of line ends.
                                 "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=selector; h=from:to\n",
                                 "\tb=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCd==\n",
                                 "X-Spam: x\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n"};
  for (int round = 0; round < 5000; ++round) {
    std::string block;
    for (int i = static_cast<int>(rng() % 20); i > 0; --i) block += kLines[rng() % (sizeof kLines / sizeof kLines[0])];
    std::vector<std::pair<std::string_view, std::string_view>> want;
    const size_t want_body = ReferenceParseHeaders(block, &want);
    // The chosen reader, then the 16- and 32-byte scans each (the latter
    // only where the CPU has AVX2).
    for (int variant = 0; variant < 3; ++variant) {
      Headers got;
      const size_t body = variant == 0 ? ParseHeaders(block, &got) : ParseHeadersForTest(block, &got, variant == 2);
      EXPECT_EQ(body, want_body) << variant << testing::PrintToString(block);
      ASSERT_EQ(got.fields.size(), want.size()) << variant << testing::PrintToString(block);
      for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(got.fields[i].name.data(), want[i].first.data());
        EXPECT_EQ(got.fields[i].name, want[i].first);
        EXPECT_EQ(got.fields[i].value.data(), want[i].second.data());
        EXPECT_EQ(got.fields[i].value, want[i].second);
      }
    }
  }
}

bool NaivePhraseAt(std::string_view hay, const std::vector<std::string>& words, size_t w, size_t at, size_t* end);
std::vector<std::string> PhraseWords(std::string_view phrase);

TEST(MimeFast, OriginalMarkerIsTheFirstLineThatStartsWithOne) {
  // Near misses (prefixes of markers, markers inside a line) around real
  // markers, at random line positions and indents.
  static const char* kFiller[] = {"Message headers", "----- Original", "text ----- Original message -----",
                                  "The original message", "", "   ", "Below is a copy", "-", "unsent message",
                                  "The mail system", "Orig", "ORIGINAL message", "--- ", "mess"};
  static const char* kMarkers[] = {"----- Original message -----", "Message headers follow",
                                   "------ This is a copy of the message, including all the headers.",
                                   "Unsent Message below:", "Original message follows.",
                                   "The original message headers are included as attachment",
                                   "Below is a copy of the original message", "--- Original Message ---"};
  std::mt19937 rng(23);
  for (int round = 0; round < 3000; ++round) {
    std::string text;
    size_t want = std::string::npos;
    for (int i = static_cast<int>(rng() % 40); i > 0; --i) {
      text.append(rng() % 4 == 0 ? rng() % 3 : 0, rng() % 2 ? ' ' : '\t');
      if (rng() % 25 == 0) {
        std::string marker = kMarkers[rng() % (sizeof kMarkers / sizeof kMarkers[0])];
        for (char& c : marker)  // any letter case
          if (std::isalpha(static_cast<unsigned char>(c)) && rng() % 3 == 0) c = static_cast<char>(c ^ 0x20);
        if (marker[0] != '-' && rng() % 3 == 0) {  // a sentence wrapped inside, as a re-filled paragraph would be
          std::vector<size_t> spaces;
          for (size_t k = 0; k < marker.size(); ++k)
            if (marker[k] == ' ') spaces.push_back(k);
          if (!spaces.empty()) marker.replace(spaces[rng() % spaces.size()], 1, rng() % 2 ? "\n    " : "\n");
        }
        text += marker;
      } else {
        text += kFiller[rng() % (sizeof kFiller / sizeof kFiller[0])];
      }
      if (i > 1 || rng() % 2) text += '\n';
    }
    // The reference: the first line that starts (after blanks) with one of
    // the markers: the sentences by the backtracking phrase matcher, the
    // headings between dashes as they are.
    const std::string lower = NaiveLower(text);
    std::vector<size_t> line_starts = {0};
    for (size_t k = 0; k + 1 < text.size(); ++k)
      if (text[k] == '\n') line_starts.push_back(k + 1);
    for (size_t pos : line_starts) {
      size_t at = pos;
      while (at < text.size() && (text[at] == ' ' || text[at] == '\t')) ++at;
      size_t end = 0;
      for (const char* marker : kMarkers)
        if (want == std::string::npos &&
            (marker[0] == '-' ? lower.compare(at, std::strlen(marker), NaiveLower(marker)) == 0
                              : NaivePhraseAt(lower, PhraseWords(marker), 0, at, &end)))
          want = pos;
      if (want != std::string::npos) break;
    }
    EXPECT_EQ(FindOriginalMarker(text), want) << testing::PrintToString(text);
  }
}

TEST(MimeFast, FirstAddressCharacterTables) {
  EXPECT_EQ(FirstAddress("Name <User.Name+tag@Example.COM>"), "User.Name+tag@Example.COM");
  EXPECT_EQ(FirstAddress("rfc822; 'o'hara!x#y@mx-1.example_org.; more"), "o'hara!x#y@mx-1.example_org");
  EXPECT_EQ(FirstAddress("mailto:\xc3\xa9t\xc3\xa9@\xc3\xa9" "cole.fr"), "\xc3\xa9t\xc3\xa9@\xc3\xa9" "cole.fr");
  EXPECT_EQ(FirstAddress("no address @ here, then a@b"), "a@b");
  EXPECT_EQ(FirstAddress("(a)@(b)"), "");
  // Wide punctuation ends an address; non-ASCII letters stay in it.
  EXPECT_EQ(FirstAddress("\xe6\x94\xb6\xe4\xbb\xb6\xe4\xba\xba\xef\xbc\x9a" "li@example.cn\xef\xbc\x8c"), "li@example.cn");
  EXPECT_EQ(FirstAddress("\xc2\xab" "ivan@example.ru\xc2\xbb"), "ivan@example.ru");
  EXPECT_EQ(FirstAddress("\xe3\x80\x8c" "taro@example.jp\xe3\x80\x8d"), "taro@example.jp");
  EXPECT_EQ(FirstAddress("\xe5\xbc\xa0\xe4\xbc\x9f@example.cn"), "\xe5\xbc\xa0\xe4\xbc\x9f@example.cn");
  // Arabic and Hindi punctuation ends an address, as CJK punctuation does.
  EXPECT_EQ(FirstAddress("\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd9\x8b\xd8\xa7 kaz@example.jp\xd8\x8c"), "kaz@example.jp");
  EXPECT_EQ(FirstAddress("ravi@example.in\xe0\xa5\xa4"), "ravi@example.in");
}

// Quoted-printable decoding as first written, byte by byte.
std::string ReferenceQuotedPrintable(std::string_view s) {
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c != '=') {
      out.push_back(c);
      continue;
    }
    if (i + 1 < s.size() && s[i + 1] == '\n') {
      ++i;
      continue;
    }
    if (i + 2 < s.size() && s[i + 1] == '\r' && s[i + 2] == '\n') {
      i += 2;
      continue;
    }
    int hi = i + 1 < s.size() ? hex(s[i + 1]) : -1;
    int lo = i + 2 < s.size() ? hex(s[i + 2]) : -1;
    if (hi >= 0 && lo >= 0) {
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      size_t j = i + 1;
      while (j < s.size() && (s[j] == ' ' || s[j] == '\t')) ++j;
      if (j < s.size() && s[j] == '\n') {
        i = j;
        continue;
      }
      out.push_back(c);
    }
  }
  return out;
}

TEST(MimeFast, QuotedPrintableAgreesWithTheByteByByteDecoder) {
  static const char kAlphabet[] = "==3Dd0aF \t\r\nxyz=";
  std::mt19937 rng(29);
  for (int round = 0; round < 5000; ++round) {
    std::string s(rng() % 120, ' ');
    for (char& c : s) c = kAlphabet[rng() % (sizeof kAlphabet - 1)];
    EXPECT_EQ(DecodeQuotedPrintable(s), ReferenceQuotedPrintable(s)) << testing::PrintToString(s);
  }
}

// iconv itself, with CharsetConverter's handling of invalid bytes left out.
std::string IconvToUtf8(const char* charset, std::string_view in) {
  iconv_t cd = iconv_open("UTF-8", charset);
  if (cd == reinterpret_cast<iconv_t>(-1)) return "(no converter)";
  std::string out(in.size() * 4 + 16, '\0');
  char* src = const_cast<char*>(in.data());
  size_t src_left = in.size();
  char* dst = out.data();
  size_t dst_left = out.size();
  size_t r = iconv(cd, &src, &src_left, &dst, &dst_left);
  if (r != static_cast<size_t>(-1)) r = iconv(cd, nullptr, nullptr, &dst, &dst_left);
  iconv_close(cd);
  if (r == static_cast<size_t>(-1)) return "(invalid)";
  out.resize(out.size() - dst_left);
  return out;
}

TEST(MimeFast, AsciiShortcutOnlyWhereIconvWouldCopy) {
  // For plain-ASCII text the shortcut must give what iconv gives, in
  // charsets that keep ASCII (Latin, CJK) and in those that do not.
  const std::string ascii = "Delivery to the following recipient failed: <user@example.com> ~ \\ + 550 5.1.1";
  // Each label with the converter CharsetConverter uses for it (Shift_JIS
  // is read as CP932, whose backslash and tilde are ASCII; ISO-2022-JP by its own
  // reader, which keeps ASCII as it is).
  const std::pair<const char*, const char*> kCharsets[] = {
      {"iso-8859-1", "iso-8859-1"}, {"windows-1252", "windows-1252"}, {"gb2312", "GB18030"},
      {"SHIFT_JIS", "CP932"},       {"EUC-JP", "EUC-JP-MS"},          {"iso-2022-jp", "ISO-2022-JP"},
      {"utf-7", "UTF-7"},           {"UTF-16LE", "UTF-16LE"},         {"IBM037", "IBM037"}};
  for (const auto& [charset, iconv_name] : kCharsets) {
    CharsetConverter cc;
    std::string got;
    cc.ToUtf8(charset, ascii, &got);
    const std::string want = IconvToUtf8(iconv_name, ascii);
    if (want == "(no converter)" || want == "(invalid)") continue;
    EXPECT_EQ(got, want) << charset;
  }
}

// Messages and truncation flags from an mbox fed in chunks of the given sizes.
std::vector<std::string> Split(std::string_view mbox, std::mt19937* rng, size_t max_chunk, size_t max_message) {
  std::vector<std::string> out;
  MboxSplitter splitter([&](std::string_view msg, bool truncated) { out.push_back((truncated ? "T|" : "F|") + std::string(msg)); },
                        max_message);
  while (!mbox.empty()) {
    size_t n = std::min(mbox.size(), 1 + (*rng)() % max_chunk);
    splitter.Feed(mbox.substr(0, n));
    mbox.remove_prefix(n);
  }
  splitter.Finish();
  return out;
}

TEST(MimeFast, MboxSplitterChunkingDoesNotMatter) {
  // Fed one byte at a time every line goes through the splitter's line-by-line
  // path; bigger chunks take the bulk path. Both must cut the same messages.
  std::mt19937 rng(3);
  static const char* kLines[] = {"From a@b Thu Jan  1 00:00:00 2024\n", "From x\n", "\n", "\r\n", "Subject: s\n",
                                 "body line\n", ">From quoted\n", "From: header\n", "x\r\n"};
  for (int round = 0; round < 300; ++round) {
    std::string mbox;
    const int lines = static_cast<int>(rng() % 40);
    for (int i = 0; i < lines; ++i) mbox += kLines[rng() % (sizeof kLines / sizeof kLines[0])];
    if (rng() % 2) mbox += "tail without newline";
    const size_t max_message = round % 4 == 0 ? 40 : 1 << 20;
    std::mt19937 one(1);
    const auto reference = Split(mbox, &one, 1, max_message);
    EXPECT_EQ(Split(mbox, &rng, 64, max_message), reference) << testing::PrintToString(mbox);
    EXPECT_EQ(Split(mbox, &rng, 100000, max_message), reference) << testing::PrintToString(mbox);
  }
}

// The reference phrase search: at each start, the words in turn, trying every
// gap length (backtracking), straight from the definition in extract.h.
bool NaivePhraseAt(std::string_view hay, const std::vector<std::string>& words, size_t w, size_t at, size_t* end) {
  if (hay.substr(at).substr(0, words[w].size()) != words[w]) return false;
  at += words[w].size();
  if (w + 1 == words.size()) {
    *end = at;
    return true;
  }
  size_t newlines = 0;
  for (size_t len = 1; len <= kMaxPhraseGap && at + len <= hay.size(); ++len) {
    const char c = hay[at + len - 1];
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') break;
    newlines += c == '\n';
    if (newlines > 1) break;
    if (NaivePhraseAt(hay, words, w + 1, at + len, end)) return true;
  }
  return false;
}

// The phrase's words, lower-cased.
std::vector<std::string> PhraseWords(std::string_view phrase) {
  std::vector<std::string> words;
  std::string cur;
  for (char c : NaiveLower(phrase) + " ") {
    if (c != ' ') {
      cur += c;
    } else if (!cur.empty()) {
      words.push_back(cur);
      cur.clear();
    }
  }
  return words;
}

size_t NaiveFindPhrase(std::string_view lower_hay, std::string_view phrase, size_t from, size_t* end) {
  const std::vector<std::string> words = PhraseWords(phrase);
  if (words.empty()) return std::string_view::npos;
  for (size_t at = from; at < lower_hay.size(); ++at)
    if (NaivePhraseAt(lower_hay, words, 0, at, end)) return at;
  return std::string_view::npos;
}

TEST(MimeFast, PhraseSearchAgreesWithTheBacktrackingReference) {
  std::mt19937 rng(11);
  static const char kWordChars[] = "aAbB:x";
  static const char* kGaps[] = {" ", "  ", "\t", "\n", "\n    ", " \r\n\t", "\n\n", "\n \n", ""};
  const std::string wide_gap(70, ' ');
  for (int round = 0; round < 30000; ++round) {
    // Words from a small alphabet so that near misses abound.
    std::vector<std::string> words(1 + rng() % 4);
    for (auto& w : words) {
      w.resize(1 + rng() % 3);
      for (char& c : w) c = kWordChars[rng() % (sizeof kWordChars - 1)];
    }
    std::string phrase;
    for (const auto& w : words) phrase += (phrase.empty() ? "" : " ") + w;
    // A text of random pieces: the words, random gaps (some not allowed),
    // random bytes.
    std::string hay;
    const size_t pieces = rng() % 12;
    for (size_t i = 0; i < pieces; ++i) {
      switch (rng() % 4) {
        case 0: hay += words[rng() % words.size()]; break;
        case 1: hay += rng() % 8 ? kGaps[rng() % 9] : wide_gap; break;
        case 2: hay += RandomText(rng, 6); break;
        default:  // the whole phrase, wrapped at random
          for (size_t w = 0; w < words.size(); ++w) {
            if (w) hay += rng() % 8 ? kGaps[rng() % 8] : wide_gap;
            hay += words[w];
          }
      }
    }
    for (char& c : hay)
      if (rng() % 3 == 0 && c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    const std::string lower = NaiveLower(hay);
    const size_t from = rng() % (hay.size() + 2);
    size_t want_end = 0, got_end = 0;
    const size_t want = NaiveFindPhrase(lower, phrase, from, &want_end);
    const size_t got = FindPhraseIn(lower, phrase, from, &got_end);
    ASSERT_EQ(got, want) << "hay=" << testing::PrintToString(hay) << " phrase=" << testing::PrintToString(phrase)
                         << " from=" << from;
    if (want != std::string_view::npos) {
      EXPECT_EQ(got_end, want_end);
    }
  }
  // Through Context, with the phrase in any case.
  Context ctx;
  ctx.text = "Hello,\n\nWe could not deliver it for the following\n    list of Recipients:\n\n<a@b.example>";
  ctx.lower = NaiveLower(ctx.text);
  size_t end = 0;
  const size_t at = ctx.FindPhrase(Phrase("the following LIST of recipients:"), 0, &end);
  ASSERT_NE(at, std::string::npos);
  EXPECT_EQ(ctx.text.substr(at, end - at), "the following\n    list of Recipients:");
  EXPECT_EQ(ctx.FindPhrase(Phrase("hello, we could")), std::string::npos);  // a blank line is no gap
  EXPECT_EQ(LineStartAt(ctx.text, end), ctx.text.find("    list"));
}

}  // namespace
}  // namespace rebound::bounce
