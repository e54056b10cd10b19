// Charsets of bounce texts (issue 12, section 2): bodies and RFC 2047
// subjects in the CJK, Cyrillic and Windows charsets, labelled under their
// many aliases, mislabelled, or not labelled at all, decoded to UTF-8.
// The samples were made for these tests (the byte strings are the named
// charset's encoding of the UTF-8 text each is compared with).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>

#include "bounce/mime.h"

namespace rebound::bounce {
namespace {

std::string Body(std::string_view charset, std::string_view bytes) {
  CharsetConverter cc;
  std::string out;
  cc.ToUtf8(charset, bytes, &out);
  SanitizeUtf8(&out);
  return out;
}

// A one-part message, decoded as the bounce reader decodes it.
std::string PartText(std::string_view content_type, std::string_view body) {
  std::string msg = "From: MAILER-DAEMON@example.jp\nSubject: x\n";
  if (!content_type.empty()) msg += "Content-Type: " + std::string(content_type) + "\n";
  msg += "\n";
  msg += body;
  Part root;
  ParseEntity(msg, 0, &root);
  CharsetConverter cc;
  return DecodeText(root, &cc, 1 << 20);
}

// Japanese. "①" and "(株)" are rows of CP932 beyond JIS X 0208 that
// Windows mailers write in ISO-2022-JP and Shift_JIS alike.
constexpr std::string_view kJis =
    "\x1b$B-!$3$NEY$OAw?.$7$?%a!<%k$,08@h$KFO$-$^$;$s$G$7$?!#\x1b(B\n"
    "\x1b$B08@h$N%a!<%k%\"%I%l%9$,8+$D$+$j$^$;$s!#\x1b(B<user@example.jp>\n";
constexpr std::string_view kJisUtf8 =
    "①この度は送信したメールが宛先に届きませんでした。\n宛先のメールアドレスが見つかりません。<user@example.jp>\n";
constexpr std::string_view kSjis =
    "\x91\x97\x90M\x82\xb5\x82\xbd\x83\x81\x81[\x83\x8b\x82\xcd\x94z\x90M\x82\xc5\x82\xab\x82\xdc\x82\xb9\x82\xf1\x82"
    "\xc5\x82\xb5\x82\xbd\x81"
    "B~\\ \x87@\x87\x8a\n";
constexpr std::string_view kSjisUtf8 = "送信したメールは配信できませんでした。~\\ ①㈱\n";
constexpr std::string_view kEuc =
    "\xb0\xb8\xc0\xe8\xa4\xce\xa5\xe1\xa1\xbc\xa5\xeb\xa5\xdc\xa5\xc3\xa5\xaf\xa5\xb9\xa4\xac\xb0\xec\xc7\xd5\xa4\xc7"
    "\xa4\xb9\xa1\xa3(\xb3\xf4)\n";
constexpr std::string_view kEucUtf8 = "宛先のメールボックスが一杯です。(株)\n";
// Chinese, simplified and traditional.
constexpr std::string_view kGb =
    "\xd3\xca\xbc\xfe\xce\xde\xb7\xa8\xcd\xb6\xb5\xdd\xa3\xba\xca\xd5\xbc\xfe\xc8\xcb\xb5\xd8\xd6\xb7\xb2\xbb\xb4\xe6"
    "\xd4\xda\xa1\xa3\n";
constexpr std::string_view kGbUtf8 = "邮件无法投递：收件人地址不存在。\n";
constexpr std::string_view kBig5 =
    "\xb6l\xa5\xf3\xb5L\xaak\xa7\xeb\xbb\xbc\xa1G\xa6\xac\xa5\xf3\xa4H\xa6"
    "a\xa7}\xa4\xa3\xa6s\xa6"
    "b\xa1"
    "C\n";
constexpr std::string_view kBig5Utf8 = "郵件無法投遞：收件人地址不存在。\n";
// Korean.
constexpr std::string_view kKr =
    "\xb8\xde\xc0\xcf\xc0\xbb \xb9\xe8\xb4\xde\xc7\xd2 \xbc\xf6 \xbe\xf8\xbd\xc0\xb4\xcf\xb4\xd9. \xbc\xf6\xbd\xc5"
    "\xc0\xda \xc1\xd6\xbc\xd2\xb8\xa6 \xc3\xa3\xc0\xbb \xbc\xf6 \xbe\xf8\xbd\xc0\xb4\xcf\xb4\xd9.\n";
constexpr std::string_view kKrUtf8 = "메일을 배달할 수 없습니다. 수신자 주소를 찾을 수 없습니다.\n";
// Russian.
constexpr std::string_view kKoi8 =
    "\xf3\xcf\xcf\xc2\xdd\xc5\xce\xc9\xc5 \xce\xc5 \xc4\xcf\xd3\xd4\xc1\xd7\xcc\xc5\xce\xcf: \xd0\xcf\xde\xd4\xcf\xd7"
    "\xd9\xca \xd1\xdd\xc9\xcb \xd0\xc5\xd2\xc5\xd0\xcf\xcc\xce\xc5\xce.\n";
constexpr std::string_view kCp1251 =
    "\xd1\xee\xee\xe1\xf9\xe5\xed\xe8\xe5 \xed\xe5 \xe4\xee\xf1\xf2\xe0\xe2\xeb\xe5\xed\xee: \xef\xee\xf7\xf2\xee\xe2"
    "\xfb\xe9 \xff\xf9\xe8\xea \xef\xe5\xf0\xe5\xef\xee\xeb\xed\xe5\xed.\n";
constexpr std::string_view kRuUtf8 = "Сообщение не доставлено: почтовый ящик переполнен.\n";

TEST(Charset, UnlabelledIso2022JpNotice) {
  // No charset parameter, no Content-Type at all: the escapes tell.
  EXPECT_EQ(PartText("", kJis), kJisUtf8);
  EXPECT_EQ(PartText("text/plain", kJis), kJisUtf8);
  // Labelled as ASCII or Latin-1 by a gateway that did not know better.
  EXPECT_EQ(PartText("text/plain; charset=us-ascii", kJis), kJisUtf8);
  EXPECT_EQ(PartText("text/plain; charset=iso-8859-1", kJis), kJisUtf8);
  EXPECT_EQ(PartText("text/plain; charset=\"ISO-2022-JP\"", kJis), kJisUtf8);
}

TEST(Charset, Iso2022JpDesignations) {
  // ESC $ @ (JIS C 6226-1978), ESC ( J (JIS X 0201 Roman), ESC ( I and SO/SI
  // (half-width katakana), no return to ASCII before the line end.
  EXPECT_EQ(Body("", "\x1b$@%a!<%k\x1b(J ok"), "メール ok");
  EXPECT_EQ(Body("iso-2022-jp", "\x1b(I12\x1b(B x"), "ｱｲ x");
  EXPECT_EQ(Body("iso-2022-jp", "a\x0e\x31\x32\x0f b"), "aｱｲ b");
  EXPECT_EQ(Body("iso-2022-jp", "\x1b$B%a!<%k\n%a!<%k\x1b(B"), "メール\nメール");
  // JIS X 0212 (ESC $ ( D).
  EXPECT_EQ(Body("iso-2022-jp-1", "\x1b$(D\"/\x1b(B"), "\xcb\x98");
  // The escape found wherever it is (after a long ASCII stretch, scanned 64
  // bytes at a time).
  for (size_t pad : {0u, 15u, 16u, 63u, 64u, 100u, 200u}) {
    const std::string ascii(pad, 'x');
    EXPECT_EQ(Body("", ascii + "\x1b$B%a!<%k\x1b(B"), ascii + "メール") << pad;
  }
  // A lone ESC ( B proves nothing: plain text stays as it is.
  EXPECT_EQ(Body("", "a\x1b(Bb"), "a\x1b(Bb");
}

TEST(Charset, UnlabelledIso2022KrAndCn) {
  // ESC $ ) C designates KS X 1001 for SO (ISO-2022-KR), ESC $ ) A GB2312.
  EXPECT_EQ(Body("", "\x1b$)C\x0e\x38\x5e\x40\x4f\x0f ok"), "메일 ok");
  EXPECT_EQ(Body("us-ascii", "\x1b$)A\x0e\x4d\x4b\x50\x45\x0f"), "退信");
}

TEST(Charset, ShiftJisUnderEveryName) {
  for (const char* label : {"Shift_JIS", "shift-jis", "x-sjis", "SJIS", "cp932", "MS932", "Windows-31J", "\"x-sjis\""})
    EXPECT_EQ(Body(label, kSjis), kSjisUtf8) << label;
  // Unlabelled: read as Shift_JIS because it reads cleanly and has kana.
  EXPECT_EQ(PartText("text/plain", kSjis), kSjisUtf8);
  // Mislabelled as UTF-8 and as ISO-2022-JP.
  EXPECT_EQ(Body("utf-8", kSjis), kSjisUtf8);
  EXPECT_EQ(Body("iso-2022-jp", kSjis), kSjisUtf8);
}

TEST(Charset, LongUnlabelledTextJudgedOnItsStart) {
  // Over 16 KiB: the guess reads the start, then the whole is converted.
  std::string sjis, want;
  while (sjis.size() < (40u << 10)) {
    sjis += kSjis;
    want += kSjisUtf8;
  }
  EXPECT_EQ(PartText("text/plain", sjis), want);
}

TEST(Charset, EucJp) {
  for (const char* label : {"EUC-JP", "x-euc-jp", "eucjp", "ujis"}) EXPECT_EQ(Body(label, kEuc), kEucUtf8) << label;
  EXPECT_EQ(PartText("text/plain", kEuc), kEucUtf8);
}

TEST(Charset, Chinese) {
  for (const char* label : {"gb2312", "GB_2312-80", "GBK", "x-gbk", "gb18030", "cp936", "euc-cn"})
    EXPECT_EQ(Body(label, kGb), kGbUtf8) << label;
  EXPECT_EQ(PartText("text/plain", kGb), kGbUtf8);
  for (const char* label : {"big5", "Big5", "x-x-big5", "cp950"}) EXPECT_EQ(Body(label, kBig5), kBig5Utf8) << label;
  EXPECT_EQ(PartText("text/plain", kBig5), kBig5Utf8);
}

TEST(Charset, Korean) {
  for (const char* label : {"euc-kr", "EUC-KR", "ks_c_5601-1987", "KS_C_5601-1987", "ks_c_5601", "cp949", "korean"})
    EXPECT_EQ(Body(label, kKr), kKrUtf8) << label;
  EXPECT_EQ(PartText("text/plain", kKr), kKrUtf8);
}

TEST(Charset, CyrillicAndWindowsCodePages) {
  for (const char* label : {"koi8-r", "KOI8-R", "koi8"}) EXPECT_EQ(Body(label, kKoi8), kRuUtf8) << label;
  EXPECT_EQ(Body("koi8-u", kKoi8), kRuUtf8);
  for (const char* label : {"windows-1251", "cp1251", "win-1251", "x-cp1251"})
    EXPECT_EQ(Body(label, kCp1251), kRuUtf8) << label;
  EXPECT_EQ(Body("windows-1252", "caf\xe9 \x93ok\x94"), "café “ok”");
  EXPECT_EQ(Body("ISO8859-15", "\xa4 5"), "€ 5");
  EXPECT_EQ(Body("iso_8859-2", "\xb1"), "ą");
  EXPECT_EQ(Body("latin1", "caf\xe9"), "café");
}

TEST(Charset, Utf7) {
  const std::string want = "Zustellung fehlgeschlagen – Empfänger unbekannt";
  for (const char* label : {"utf-7", "UTF-7", "unicode-1-1-utf-7", "x-unicode-1-1-utf-7"})
    EXPECT_EQ(Body(label, "Zustellung fehlgeschlagen +IBM Empf+AOQ-nger unbekannt"), want) << label;
  // A '+' the sender did not escape ("+-"), in an address: no UTF-7 reads
  // it, so the text is taken as the ASCII it is.
  EXPECT_EQ(Body("unicode-1-1-utf-7", "to first.last+news_tag@example.com"), "to first.last+news_tag@example.com");
}

TEST(Charset, UnlabelledLatinIsWindows1252) {
  // Latin-1 words fail every CJK test (isolated ideographs, half-width
  // katakana, private-use characters): Windows-1252 is the last resort.
  EXPECT_EQ(PartText("text/plain", "Gr\xfc\xdf" "e aus M\xfcnchen, caf\xe9 \x93ok\x94"),
            "Grüße aus München, café “ok”");
  EXPECT_EQ(PartText("text/plain; charset=us-ascii", "D\xe9j\xe0 vu \x81"), "Déjà vu \xc2\x81");
  // Damaged UTF-8 stays UTF-8, the bad byte a replacement character.
  EXPECT_EQ(PartText("text/plain", "メール\xff配信"), "メール\uFFFD配信");
}

TEST(Charset, EncodedWordSubjects) {
  CharsetConverter cc;
  EXPECT_EQ(cc.DecodeHeader("=?ISO-2022-JP?B?GyRCR1s/LiUoJWkhPBsoQjogGyRCMDhAaElUTEAbKEI=?="), "配信エラー: 宛先不明");
  // One character cut across two words: decoded together.
  EXPECT_EQ(cc.DecodeHeader("=?Shift_JIS?B?g4GBW4OLlA==?= =?Shift_JIS?B?epBNjriUc4LMgqiSbYLngrk=?="),
            "メール配信失敗のお知らせ");
  EXPECT_EQ(cc.DecodeHeader("Re: =?EUC-JP?B?x9u/rsnUx70=?= (1)"), "Re: 配信不能 (1)");
  EXPECT_EQ(cc.DecodeHeader("=?gb2312?B?zcvQxaO608q8/s7et6jLzbTv?="), "退信：邮件无法送达");
  EXPECT_EQ(cc.DecodeHeader("=?GB_2312-80?B?zcvQxQ==?="), "退信");
  EXPECT_EQ(cc.DecodeHeader("=?big5?Q?=B0h=ABH=B3q=AA=BE?="), "退信通知");
  EXPECT_EQ(cc.DecodeHeader("=?ks_c_5601-1987?B?uN7AzyDA/LzbIL3HxtA=?="), "메일 전송 실패");
  EXPECT_EQ(cc.DecodeHeader("=?koi8-r?Q?=EE=C5=C4=CF=D3=D4=C1=D7=CC=C5=CE=CE=CF=C5_=D3=CF=CF=C2=DD=C5=CE=C9=C5?="),
            "Недоставленное сообщение");
  EXPECT_EQ(cc.DecodeHeader("=?windows-1251?B?zeUg5O7x8uDi6+Xt7g==?="), "Не доставлено");
  EXPECT_EQ(cc.DecodeHeader("=?unicode-1-1-utf-7?Q?Empf+AOQ-nger?="), "Empfänger");
  // Words in different charsets side by side.
  EXPECT_EQ(cc.DecodeHeader("=?EUC-JP?B?x9u/rsnUx70=?= =?gb2312?B?zcvQxQ==?="), "配信不能退信");
}

TEST(Charset, RawHeaderText) {
  CharsetConverter cc;
  // ISO-2022-JP and Shift_JIS written into the Subject without encoding.
  EXPECT_EQ(cc.DecodeHeader("\x1b$BITC#DLCN\x1b(B"), "不達通知");
  EXPECT_EQ(cc.DecodeHeader("Re: \x83\x81\x81[\x83\x8b\x95s\x92"
                            "B\x82\xcc\x82\xa8\x92m\x82\xe7\x82\xb9"),
            "Re: メール不達のお知らせ");
}

TEST(Charset, LabelsResolve) {
  std::string name;
  using S = CharsetConverter::Scheme;
  EXPECT_EQ(CharsetConverter::Resolve("ks_c_5601-1987", &name), S::kIconv);
  EXPECT_EQ(name, "CP949");
  EXPECT_EQ(CharsetConverter::Resolve("x-sjis", &name), S::kIconv);
  EXPECT_EQ(name, "CP932");
  EXPECT_EQ(CharsetConverter::Resolve("gb_2312-80", &name), S::kIconv);
  EXPECT_EQ(name, "GB18030");
  EXPECT_EQ(CharsetConverter::Resolve("unicode-1-1-utf-7", &name), S::kIconv);
  EXPECT_EQ(name, "UTF-7");
  EXPECT_EQ(CharsetConverter::Resolve("windows-1251", &name), S::kIconv);
  EXPECT_EQ(name, "CP1251");
  EXPECT_EQ(CharsetConverter::Resolve("iso8859-5", &name), S::kIconv);
  EXPECT_EQ(name, "ISO-8859-5");
  EXPECT_EQ(CharsetConverter::Resolve("iso-2022-jp", &name), S::kIso2022Jp);
  EXPECT_EQ(CharsetConverter::Resolve("us-ascii", &name), S::kUnlabelled);
  EXPECT_EQ(CharsetConverter::Resolve("uft-8", &name), S::kUnlabelled);  // a typo seen in real bounces
}

TEST(Charset, UnknownLabelReadsByContent) {
  // A name no converter knows is as good as none.
  EXPECT_EQ(Body("x-no-such-charset", kSjis), kSjisUtf8);
  EXPECT_EQ(Body("x-no-such-charset", "plain text"), "plain text");
  CharsetConverter cc;
  std::string out;
  cc.ToUtf8("x-no-such-charset", "Gr\xfc\xdf" "e", &out);
  EXPECT_EQ(out, "Grüße");
  EXPECT_EQ(cc.lossy_bytes(), 0u);
}

TEST(Charset, LossyBytesCounted) {
  CharsetConverter cc;
  std::string out;
  cc.ToUtf8("iso-2022-jp", kJis, &out);
  cc.ToUtf8("gb2312", kGb, &out);
  EXPECT_EQ(cc.lossy_bytes(), 0u);
  cc.ToUtf8("iso-2022-jp", "\x1b$B%a\x1b(B\x1bZ", &out);
  EXPECT_EQ(cc.lossy_bytes(), 1u);
}

bool ValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == 0) return false;
      ++i;
      continue;
    }
    const size_t len = (c >= 0xc2 && c <= 0xdf) ? 2 : (c >= 0xe0 && c <= 0xef) ? 3 : (c >= 0xf0 && c <= 0xf4) ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    i += len;
  }
  return true;
}

TEST(Charset, RandomInputAlwaysGivesUtf8) {
  // Fragments of every kind of text the decoders switch on, glued at random:
  // whatever the label, the result is valid UTF-8 without NUL, and nothing
  // crashes (this test also runs under the sanitizers in scripts/test).
  static const std::string_view kPieces[] = {
      "\x1b$B", "\x1b(B", "\x1b(J", "\x1b(I", "\x1b$(D", "\x1b$(Q", "\x1b$A", "\x1b$)C", "\x1b", "\x0e", "\x0f",
      "%a!<%k", "-!", "+AKA-", "+news", "=?", "?=", "=?utf-8?B?", "=?iso-2022-jp?b?GyRC", "?Q?=E9", "\n", " ",
      std::string_view("\0", 1), "a", "\x82\xa0", "\x83", "\xa4\xa2", "\xb0\xa1", "\xe3\x81\x82", "\xff", "\xfc\xdf", "\x8e"};
  static const char* kLabels[] = {"", "us-ascii", "utf-8", "iso-2022-jp", "shift_jis", "euc-jp", "gb2312", "big5",
                                  "ks_c_5601-1987", "koi8-r", "windows-1252", "utf-7", "iso-2022-kr", "x-unknown"};
  std::mt19937 rng(12);
  CharsetConverter cc;
  for (int round = 0; round < 3000; ++round) {
    std::string in;
    const int n = static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) in += kPieces[rng() % (sizeof kPieces / sizeof kPieces[0])];
    const char* label = kLabels[rng() % (sizeof kLabels / sizeof kLabels[0])];
    Part part;
    part.content_type.charset = label;
    part.body = in;
    const std::string body = DecodeText(part, &cc, 1 << 20);
    ASSERT_TRUE(ValidUtf8(body)) << label << " " << testing::PrintToString(in);
    const std::string header = cc.DecodeHeader(in);
    ASSERT_TRUE(ValidUtf8(header)) << testing::PrintToString(in);
  }
}

}  // namespace
}  // namespace rebound::bounce
