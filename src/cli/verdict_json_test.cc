// AppendJsonString's vector scan against the plain byte-by-byte escaper, on
// random strings rich in the bytes that need escaping and the bytes next to
// them (0x1f/0x20, 0x7f/0x80, '"', '\\', UTF-8 lead and continuation
// bytes), at every length around the 16-byte blocks; and JsonWriter's commas
// and nesting.
#include "cli/verdict_json.h"

#include <gtest/gtest.h>

#include <random>

#include "core/text.h"

namespace rebound::cli {
namespace {

std::string Reference(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    const char ch = s[i];
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c >= 0x80) {  // a valid character as it is, any other byte U+FFFD
      const size_t n = text::Utf8CharLength(s, i);
      out += n == 0 ? std::string_view("\xEF\xBF\xBD") : s.substr(i, n);
      if (n > 1) i += n - 1;
    } else if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

TEST(VerdictJson, EscapesLikeTheByteLoopOnRandomInput) {
  std::mt19937 rng(20261128);
  const unsigned char kEdge[] = {0x00, 0x01, '\t', '\n', '\r', 0x1f, 0x20, '"', '\\', 0x7f, 0x80, 0x9f, 0xff, 'a', '/',
                                 0xc3, 0xa9, 0xe4, 0xbd, 0xa0, 0xf0, 0x9f, 0xed, 0xc0};
  for (int round = 0; round < 20000; ++round) {
    const size_t len = rng() % 70;
    const unsigned mode = rng() % 3;  // 0: any byte, 1: mostly text, 2: mostly edge bytes
    std::string s(len, ' ');
    for (auto& ch : s) {
      const unsigned r = rng();
      if (mode == 0) ch = static_cast<char>(r & 0xff);
      else if (mode == 1) ch = (r % 23 == 0) ? static_cast<char>(kEdge[(r >> 8) % sizeof kEdge]) : static_cast<char>('a' + (r >> 8) % 26);
      else ch = static_cast<char>(kEdge[(r >> 8) % sizeof kEdge]);
    }
    std::string out = "prefix";
    AppendJsonString(&out, s);
    ASSERT_EQ(out, "prefix" + Reference(s)) << "round " << round;
  }
}

TEST(VerdictJson, EscapesEveryControlByteQuoteAndBackslash) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  std::string out;
  AppendJsonString(&out, all);
  EXPECT_EQ(out, Reference(all));
  EXPECT_NE(out.find("\\u001f !\\\"#"), std::string::npos);
  // Whatever bytes come in, what goes out is UTF-8 (JSON's encoding).
  for (size_t i = 0; i < out.size();) {
    const size_t n = text::Utf8CharLength(out, i);
    ASSERT_NE(n, 0u) << "invalid UTF-8 at " << i;
    i += n;
  }
  out.clear();
  AppendJsonString(&out, "");
  EXPECT_EQ(out, "\"\"");
}

TEST(JsonWriter, SeparatesMembersAndElementsAtEveryDepth) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().String("a", "x\"y").StringOrNull("b", "").Int("c", -3).BeginObject("d").Bool("e", true);
  w.BeginArray("f").Element("1").Element("2").EndArray().EndObject().BeginArray("g").EndArray().Raw("h", "0.5");
  w.EndObject();
  EXPECT_EQ(out, R"({"a":"x\"y","b":null,"c":-3,"d":{"e":true,"f":["1","2"]},"g":[],"h":0.5})");
  // Two objects in a row at the top level (JSON Lines) take no comma.
  out.clear();
  JsonWriter lines(&out);
  lines.BeginObject().Null("a").EndObject();
  lines.BeginObject().Null("b").EndObject();
  EXPECT_EQ(out, R"({"a":null}{"b":null})");
}

TEST(JsonWriter, ResumesAnObjectWrittenElsewhere) {
  std::string out = R"({"id":7)";
  JsonWriter w(&out);
  w.ResumeObject().String("category", "unknown").EndObject();
  EXPECT_EQ(out, R"({"id":7,"category":"unknown"})");
}

}  // namespace
}  // namespace rebound::cli
