// CharsetConverter: see bounce/charset.h.
#include "bounce/charset.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <initializer_list>

#include "bounce/mime.h"

namespace rebound::bounce {

CharsetConverter::~CharsetConverter() {
  for (auto& [name, conv] : cds_)
    if (conv.cd != reinterpret_cast<iconv_t>(-1)) iconv_close(conv.cd);
}

namespace {

// Whether s holds a byte >= 0x80 (SkipPlainAscii also stops at NUL).
bool Has8Bit(std::string_view s) {
  size_t i = text::SkipPlainAscii(s.data(), 0, s.size());
  while (i < s.size() && s[i] == 0) i = text::SkipPlainAscii(s.data(), i + 1, s.size());
  return i < s.size();
}

// True when every byte of s is ASCII and none is ESC, SO or SI (the bytes
// that change state in ISO 2022 charsets). Two vector scans.
bool IsPlainAscii(std::string_view s) { return !Has8Bit(s) && FindAny(s, 0, '\x1b', '\x0e', '\x0f') == s.size(); }

// Whether s holds an ISO-2022-JP designation: ESC $ B, ESC $ @, ESC $ ( D
// (the double-byte sets), ESC ( J, ESC ( I (JIS X 0201). ESC ( B alone
// (back to ASCII) proves nothing.
bool HasJisDesignation(std::string_view s) {
  for (size_t e = s.find('\x1b'); e != std::string_view::npos; e = s.find('\x1b', e + 1)) {
    const std::string_view next = s.substr(e + 1, 3);
    if (next.starts_with("$B") || next.starts_with("$@") || next.starts_with("(J") || next.starts_with("(I") ||
        next == "$(D" || next == "$(B" || next == "$(Q" || next == "$(O")
      return true;
  }
  return false;
}

// Whether cd (in its initial state) turns the plain-ASCII bytes into
// themselves; it is left in its initial state.
bool MapsAsciiToItself(iconv_t cd) {
  char probe[128];
  size_t n = 0;
  for (int c = 0; c < 0x80; ++c)
    if (c != 0x1b && c != 0x0e && c != 0x0f) probe[n++] = static_cast<char>(c);
  char result[512];
  char* src = probe;
  size_t src_left = n;
  char* dst = result;
  size_t dst_left = sizeof result;
  iconv(cd, nullptr, nullptr, nullptr, nullptr);
  size_t r = iconv(cd, &src, &src_left, &dst, &dst_left);
  if (r != static_cast<size_t>(-1)) r = iconv(cd, nullptr, nullptr, &dst, &dst_left);
  iconv(cd, nullptr, nullptr, nullptr, nullptr);
  return r != static_cast<size_t>(-1) && src_left == 0 && static_cast<size_t>(dst - result) == n &&
         memcmp(result, probe, n) == 0;
}

// The label as a bare lower-case name: white space, quotes and a trailing
// ';' are dropped ("\"Shift_JIS\"", " 'utf-8';").
void NormalizeLabel(std::string_view label, std::string* out) {
  out->clear();
  for (char c : label) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '"' || c == '\'' || c == ';') continue;
    out->push_back(Lower(c));
  }
}

bool OneOf(std::string_view s, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names)
    if (s == n) return true;
  return false;
}

// Counts of scripts in UTF-8 text, for the guess of an unlabelled CJK
// charset: which letters came out, and the longest run of ideographs and
// of Hangul syllables (ASCII ends a run).
struct ScriptCounts {
  size_t kana = 0, hangul = 0, han = 0, halfwidth_kana = 0, neutral = 0, other = 0;
  size_t han_run = 0, hangul_run = 0;
  size_t NonAscii() const { return kana + hangul + han + halfwidth_kana + neutral + other; }
};

ScriptCounts CountScripts(std::string_view s) {
  ScriptCounts n;
  size_t han_run = 0, hangul_run = 0;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      han_run = hangul_run = 0;
      ++i;
      continue;
    }
    // iconv's output: valid UTF-8.
    const int len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    uint32_t cp = c & (len == 2 ? 0x1f : len == 3 ? 0x0f : 0x07);
    for (int k = 1; k < len && i + k < s.size(); ++k) cp = cp << 6 | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    i += static_cast<size_t>(len);
    bool is_han = false, is_hangul = false;
    if ((cp >= 0x3040 && cp <= 0x30ff) || (cp >= 0x31f0 && cp <= 0x31ff)) {
      ++n.kana;
    } else if ((cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0x3130 && cp <= 0x318f)) {
      ++n.hangul;
      is_hangul = true;
    } else if ((cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0xf900 && cp <= 0xfaff)) {
      ++n.han;
      is_han = true;
    } else if (cp >= 0xff61 && cp <= 0xff9f) {
      ++n.halfwidth_kana;
    } else if ((cp >= 0x3000 && cp <= 0x303f) || (cp >= 0xff01 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffef) ||
               (cp >= 0x2010 && cp <= 0x2312) || (cp >= 0x2460 && cp <= 0x25ff) || (cp >= 0x0391 && cp <= 0x03c9) ||
               (cp >= 0x0401 && cp <= 0x0451) || (cp >= 0x3200 && cp <= 0x33ff) || cp == 0xa7 || cp == 0xa8 ||
               cp == 0xb0 || cp == 0xb1 || cp == 0xb4 || cp == 0xb6 || cp == 0xd7 || cp == 0xf7) {
      // Punctuation, symbols, full-width forms, Greek and Cyrillic: the
      // non-letter rows every CJK double-byte set has.
      ++n.neutral;
    } else {
      ++n.other;
    }
    han_run = is_han ? han_run + 1 : 0;
    hangul_run = is_hangul ? hangul_run + 1 : 0;
    n.han_run = std::max(n.han_run, han_run);
    n.hangul_run = std::max(n.hangul_run, hangul_run);
  }
  return n;
}

// Valid multi-byte UTF-8 sequences, invalid bytes, NUL and ESC bytes in s:
// one vector scan for plain ASCII.
struct Utf8Counts {
  size_t valid = 0, invalid = 0, nul = 0, esc = 0;
};
Utf8Counts Utf8Stats(std::string_view s) {
  Utf8Counts n;
  for (size_t i = text::SkipPlainAscii<true>(s.data(), 0, s.size()); i < s.size();
       i = text::SkipPlainAscii<true>(s.data(), i, s.size())) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0 || c == 0x1b) {
      ++(c == 0 ? n.nul : n.esc);
      ++i;
    } else if (const size_t len = text::Utf8CharLength(s, i)) {
      ++n.valid;
      i += len;
    } else {
      ++n.invalid;
      ++i;
    }
  }
  return n;
}

// Share of double-byte pairs (lead >= 0x81) whose second byte is below
// 0x80, in percent: about 40 in Big5 text, none in GB2312 (whose pairs are
// both >= 0xA1) and few in GBK.
int LowTrailPercent(std::string_view s) {
  size_t pairs = 0, low = 0;
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    if (static_cast<unsigned char>(s[i]) < 0x81) continue;
    ++pairs;
    low += static_cast<unsigned char>(s[i + 1]) < 0x80;
    ++i;
  }
  return pairs ? static_cast<int>(low * 100 / pairs) : 0;
}

// ISO-2022-JP to EUC-JP, the same JIS X 0208 rows with the high bit set.
// Decoding through EUC-JP-MS rather than iconv's ISO-2022-JP reads what
// Windows mailers put in "ISO-2022-JP" (the NEC and IBM rows of CP932:
// circled digits, "(株)", Roman numerals), which glibc's ISO-2022-JP
// converters reject, and it is lenient where mail is sloppy: no return to
// ASCII before a line end, JIS X 0201 katakana (ESC ( I, SO/SI, 8-bit).
// Returns false when the text designates a set EUC-JP lacks (JIS X 0213,
// the ISO-2022-JP-2 sets): iconv is used then. *bad counts bytes that are
// no character; each becomes '?'.
bool Iso2022JpToEucJp(std::string_view in, std::string* euc, size_t* bad) {
  enum Mode { kAscii, kKanji, kKana, kSupplement } mode = kAscii;
  bool shifted = false;  // SO: JIS X 0201 katakana until SI
  // No input byte gives more than two output bytes (a katakana byte after
  // SO, or 8-bit); written through a pointer.
  euc->resize(in.size() * 2 + 8);
  char* o = euc->data();
  const size_t n = in.size();
  for (size_t i = 0; i < n;) {
    const unsigned char c = static_cast<unsigned char>(in[i]);
    if (mode == kAscii && !shifted && c >= 0x20 && c < 0x7f) {
      // An ASCII run, to the next control byte (ESC, SO, SI, line end) or 8-bit byte.
      size_t j = i + 1;
      while (j < n && static_cast<unsigned char>(in[j]) >= 0x20 && static_cast<unsigned char>(in[j]) < 0x7f) ++j;
      memcpy(o, in.data() + i, j - i);
      o += j - i;
      i = j;
      continue;
    }
    if (c == 0x1b) {
      const std::string_view esc = in.substr(i + 1, 3);
      if (esc.starts_with("(B") || esc.starts_with("(J") || esc.starts_with("(H")) {
        mode = kAscii;
        i += 3;
      } else if (esc.starts_with("(I")) {
        mode = kKana;
        i += 3;
      } else if (esc.starts_with("$B") || esc.starts_with("$@")) {
        mode = kKanji;
        i += 3;
      } else if (esc == "$(B" || esc == "$(@") {
        mode = kKanji;
        i += 4;
      } else if (esc == "$(D") {
        mode = kSupplement;
        i += 4;
      } else if (esc.starts_with("&@")) {  // JIS X 0208-1990 announcer, before ESC $ B
        i += 3;
      } else if (esc.starts_with("$(") || esc.starts_with("$A") || esc.starts_with(".") || esc.starts_with("N")) {
        return false;
      } else {
        *o++ = '?';
        ++*bad;
        ++i;
      }
      continue;
    }
    if (c == 0x0e || c == 0x0f) {
      shifted = c == 0x0e;
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (c >= 0xa1 && c <= 0xdf) {  // 8-bit JIS X 0201 katakana
        *o++ = '\x8e';
        *o++ = static_cast<char>(c);
      } else {
        *o++ = '?';
        ++*bad;
      }
      ++i;
      continue;
    }
    if (c < 0x21 || c == 0x7f) {  // controls, space, line ends: the mode stays
      *o++ = static_cast<char>(c);
      ++i;
      continue;
    }
    if (shifted || mode == kKana) {
      if (c <= 0x5f) {
        *o++ = '\x8e';
        *o++ = static_cast<char>(c | 0x80);
      } else {
        *o++ = '?';
        ++*bad;
      }
      ++i;
    } else if (mode == kKanji || mode == kSupplement) {
      const unsigned char c2 = i + 1 < n ? static_cast<unsigned char>(in[i + 1]) : 0;
      if (c2 >= 0x21 && c2 <= 0x7e) {
        if (mode == kSupplement) *o++ = '\x8f';
        *o++ = static_cast<char>(c | 0x80);
        *o++ = static_cast<char>(c2 | 0x80);
        i += 2;
      } else {
        *o++ = '?';
        ++*bad;
        ++i;
      }
    } else {
      *o++ = static_cast<char>(c);
      ++i;
    }
  }
  euc->resize(static_cast<size_t>(o - euc->data()));
  return true;
}

// Windows-1252 to UTF-8, without iconv: ISO-8859-1 (byte = code point)
// but for 0x80-0x9F, which hold punctuation and a few letters; the five
// bytes Windows-1252 leaves undefined there keep their ISO-8859-1 meaning
// (C1 controls), as in the WHATWG encoding standard. It cannot fail.
void AppendWindows1252(std::string_view in, std::string* out) {
  static constexpr uint16_t kHigh[32] = {0x20ac, 0x81,   0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
                                         0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8d,   0x017d, 0x8f,
                                         0x90,   0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
                                         0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x9d,   0x017e, 0x0178};
  out->reserve(out->size() + in.size() + in.size() / 2);
  for (char ch : in) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out->push_back(ch);
      continue;
    }
    const uint32_t cp = c < 0xa0 ? kHigh[c - 0x80] : c;
    if (cp < 0x800) {
      out->push_back(static_cast<char>(0xc0 | cp >> 6));
    } else {
      out->push_back(static_cast<char>(0xe0 | cp >> 12));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    }
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

}  // namespace

CharsetConverter::Scheme CharsetConverter::Resolve(std::string_view label, std::string* iconv_name) {
  iconv_name->clear();
  std::string_view s = label;
  if (s.starts_with("x-")) s.remove_prefix(2);  // x-sjis, x-euc-jp, x-gbk, x-mac-roman, ...
  // No label, ASCII, UTF-8 and words that name no charset: read by content.
  if (OneOf(s, {"", "us-ascii", "ascii", "us", "ansi_x3.4-1968", "iso646-us", "iso-ir-6", "cp367", "ibm367",
                "csascii", "utf-8", "utf8", "uft-8", "utf-8-bom", "unicode-1-1-utf-8", "unicode-2-0-utf-8",
                "unicode20utf8", "unknown", "unknown-8bit", "default", "7bit", "8bit", "none", "charset"}))
    return Scheme::kUnlabelled;
  if (s.starts_with("iso-2022-jp") || s.starts_with("iso2022jp") || s.starts_with("iso2022-jp") ||
      OneOf(s, {"jis", "csiso2022jp", "csiso2022jp2", "jis7", "jis_encoding", "csjisencoding"}))
    return Scheme::kIso2022Jp;
  const char* name = nullptr;
  // Shift_JIS as Microsoft's CP932 (Windows-31J): what is sent under that
  // name holds its extra rows (circled digits, "(株)", IBM kanji), and glibc's
  // SHIFT_JIS turns '\' and '~' into the yen sign and overline.
  if (OneOf(s, {"shift_jis", "shift-jis", "shiftjis", "sjis", "s-jis", "ms_kanji", "csshiftjis", "cp932", "ms932",
                "ms-cp932", "windows-31j", "windows-932", "ibm-943", "ibm943", "sjis-win", "sjis-open"}))
    name = "CP932";
  else if (OneOf(s, {"shift_jis-2004", "shift_jisx0213", "shift-jisx0213"}))
    name = "SHIFT_JISX0213";
  // EUC-JP as EUC-JP-MS: the same with the rows of CP932.
  else if (OneOf(s, {"euc-jp", "eucjp", "euc_jp", "ujis", "cseucpkdfmtjapanese", "euc-jp-ms", "eucjp-ms",
                     "eucjp-win", "eucjp-open", "cp51932", "cp20932"}))
    name = "EUC-JP-MS";
  else if (OneOf(s, {"euc-jisx0213", "euc-jis-2004"}))
    name = "EUC-JISX0213";
  // GB2312 and GBK as GB18030, their superset (GB2312-labelled mail holds
  // GBK characters more often than not).
  else if (OneOf(s, {"gb2312", "gb_2312-80", "gb_2312", "gb-2312", "gbk", "cp936", "ms936", "windows-936", "euc-cn",
                     "euccn", "csgb2312", "chinese", "iso-ir-58", "csiso58gb231280", "gb18030", "gb", "936"}))
    name = "GB18030";
  else if (OneOf(s, {"big5", "big-5", "cn-big5", "csbig5", "cp950", "ms950", "windows-950", "x-x-big5"}))
    name = "CP950";
  else if (OneOf(s, {"big5-hkscs", "big5hkscs", "big5_hkscs"}))
    name = "BIG5-HKSCS";
  // EUC-KR and its KS C 5601 aliases (which glibc does not know) as CP949
  // (Unified Hangul Code), the superset Windows and Korean webmail send.
  else if (OneOf(s, {"euc-kr", "euckr", "cseuckr", "ks_c_5601-1987", "ks_c_5601", "ks_c_5601-1989", "ks_c_5601-1992",
                     "ksc5601", "ksc_5601", "ks_x_1001", "korean", "csksc56011987", "iso-ir-149", "cp949", "ms949",
                     "windows-949", "uhc", "ks_c_5601-1987:1992"}))
    name = "CP949";
  else if (OneOf(s, {"koi8-r", "koi8r", "cskoi8r", "koi8", "koi"}))
    name = "KOI8-R";
  else if (OneOf(s, {"koi8-u", "koi8u"}))
    name = "KOI8-U";
  else if (OneOf(s, {"utf-7", "utf7", "unicode-1-1-utf-7", "unicode-2-0-utf-7", "csunicode11utf7"}))
    name = "UTF-7";
  else if (OneOf(s, {"latin1", "latin-1", "l1", "iso-latin-1", "iso_8859-1:1987"}))
    name = "ISO-8859-1";
  else if (OneOf(s, {"mac", "macintosh", "mac-roman", "macroman"}))
    name = "MACINTOSH";
  if (name) {
    iconv_name->assign(name);
    return Scheme::kIconv;
  }
  // Windows code pages (windows-1251, win-1251, cp-1251, ms-1251, cp1251) and
  // ISO 8859 parts in every spelling (iso8859-5, iso_8859-15, iso-8859-8-i).
  auto digits_after = [&](std::initializer_list<std::string_view> prefixes) -> std::string_view {
    for (std::string_view p : prefixes)
      if (s.starts_with(p)) {
        std::string_view rest = s.substr(p.size());
        size_t k = 0;
        while (k < rest.size() && rest[k] >= '0' && rest[k] <= '9') ++k;
        if (k > 0 && k <= 5) return rest.substr(0, k);
      }
    return {};
  };
  if (std::string_view d = digits_after({"windows-", "win-", "win", "cp-", "cp", "ms-", "ibm-", "ibm"}); !d.empty()) {
    iconv_name->assign("CP").append(d);
    return Scheme::kIconv;
  }
  if (std::string_view d = digits_after({"iso-8859-", "iso8859-", "iso_8859-", "iso8859_", "iso-8859_", "iso8859"});
      !d.empty()) {
    iconv_name->assign("ISO-8859-").append(d);
    return Scheme::kIconv;
  }
  iconv_name->assign(s);  // whatever iconv makes of it (utf-16le, tis-620, iso-2022-kr, ...)
  return Scheme::kIconv;
}

void CharsetConverter::Bound() {
  if (cds_.size() < 64) return;  // bounded: start over rather than grow without end
  for (auto& [name, old] : cds_)
    if (old.cd != reinterpret_cast<iconv_t>(-1)) iconv_close(old.cd);
  cds_.clear();
}

const CharsetConverter::Converter& CharsetConverter::GetIconv(const char* name) {
  // Keyed apart from the labels (which never hold a '\x01').
  std::string key = "\x01";
  key.append(name);
  auto it = cds_.find(key);
  if (it != cds_.end()) return it->second;
  iconv_t cd = iconv_open("UTF-8", name);
  const bool ascii = cd != reinterpret_cast<iconv_t>(-1) && MapsAsciiToItself(cd);
  return cds_.emplace(std::move(key), Converter{cd, ascii, Scheme::kIconv}).first->second;
}

const CharsetConverter::Converter& CharsetConverter::Get(const std::string& charset) {
  auto it = cds_.find(charset);
  if (it != cds_.end()) return it->second;
  std::string name;
  const Scheme scheme = Resolve(charset, &name);
  iconv_t cd = reinterpret_cast<iconv_t>(-1);
  if (scheme == Scheme::kIconv) cd = iconv_open("UTF-8", name.c_str());
  if (scheme == Scheme::kIconv && cd == reinterpret_cast<iconv_t>(-1) && name != charset)
    cd = iconv_open("UTF-8", charset.c_str());
  // A label no converter knows is as good as none: the text is read by
  // its content.
  const bool known = cd != reinterpret_cast<iconv_t>(-1);
  const Scheme effective = scheme == Scheme::kIconv && !known ? Scheme::kUnlabelled : scheme;
  const bool ascii = effective != Scheme::kIconv || MapsAsciiToItself(cd);
  return cds_.emplace(charset, Converter{cd, ascii, effective}).first->second;
}

bool CharsetConverter::Convert(iconv_t cd, std::string_view in, bool strict, std::string* out, size_t* bad) {
  iconv(cd, nullptr, nullptr, nullptr, nullptr);
  char* src = const_cast<char*>(in.data());
  size_t src_left = in.size();
  char buf[4096];
  while (src_left > 0) {
    char* dst = buf;
    size_t dst_left = sizeof(buf);
    size_t r = iconv(cd, &src, &src_left, &dst, &dst_left);
    out->append(buf, static_cast<size_t>(dst - buf));
    if (r == static_cast<size_t>(-1)) {
      if (errno == E2BIG) continue;
      if (strict) return false;
      // Invalid or incomplete sequence: replace one byte and go on.
      out->push_back('?');
      ++*bad;
      ++src;
      --src_left;
      iconv(cd, nullptr, nullptr, nullptr, nullptr);
    }
  }
  char* dst = buf;
  size_t dst_left = sizeof(buf);
  iconv(cd, nullptr, nullptr, &dst, &dst_left);
  out->append(buf, static_cast<size_t>(dst - buf));
  return true;
}

bool CharsetConverter::GuessCjk(std::string_view in, std::string* out) {
  // Unlabelled (or UTF-8- or ASCII-labelled) 8-bit text that is not UTF-8.
  // The bounces that arrive so are Japanese above all (carrier and Domino
  // notices written by servers configured for Shift_JIS or EUC-JP), then
  // Korean and Chinese. The double-byte charsets accept much the same
  // bytes, so a charset is taken only when all of the text converts without
  // an error and the result looks like the language:
  // * Japanese (CP932, then EUC-JP): kana, which every Japanese sentence
  //   has and no other language writes in quantity, at least 1 in 20 of the
  //   kana and ideographs (Korean text read as EUC-JP gives a stray jamo row
  //   at most);
  // * Korean (CP949): Hangul syllables, at least 9 in 10 of Hangul and
  //   ideographs together (GB2312 text read as CP949 turns half its
  //   ideographs into Hangul, the rest into Hanja);
  // * Chinese (GB18030, or Big5 first when a fifth of its pairs have a
  //   second byte below 0x80, which GB2312 never has): a run of at least
  //   two ideographs, no kana or Hangul.
  // and in each case almost nothing (at most 1 in 10 characters) outside
  // the CJK letters, punctuation and symbols. Latin-1 text, the usual
  // other source of stray 8-bit bytes, reads as isolated ideographs, half-
  // width katakana or private-use characters and fails these tests; the
  // caller reads it as Windows-1252, as anything else no test accepts.
  enum Language { kJapanese, kKorean, kChinese };
  struct Candidate {
    const char* name;
    Language language;
  };
  const bool big5_first = LowTrailPercent(in) >= 20;
  const Candidate order[] = {{"CP932", kJapanese},
                             {"EUC-JP-MS", kJapanese},
                             {"CP949", kKorean},
                             {big5_first ? "CP950" : "GB18030", kChinese},
                             {big5_first ? "GB18030" : "CP950", kChinese}};
  // Judged on the first 16 KiB (to a line end): a long text is then
  // converted once more, not five times.
  std::string_view sample = in;
  if (sample.size() > (16u << 10)) {
    const size_t eol = sample.rfind('\n', 16u << 10);
    sample = sample.substr(0, eol == std::string_view::npos || eol == 0 ? (16u << 10) : eol);
  }
  for (const Candidate& candidate : order) {
    const Converter& conv = GetIconv(candidate.name);
    if (conv.cd == reinterpret_cast<iconv_t>(-1)) continue;
    trial_.clear();
    size_t bad = 0;
    if (!Convert(conv.cd, sample, true, &trial_, &bad)) continue;
    const ScriptCounts n = CountScripts(trial_);
    const size_t total = n.NonAscii();
    if (total == 0 || n.other * 10 > total) continue;
    bool ok = false;
    switch (candidate.language) {
      case kJapanese:
        // Half-width katakana are Japanese too, but Latin-1 and Big5 bytes
        // read as CP932 give them in runs: full-width letters must lead.
        ok = n.kana >= 2 && n.kana * 20 >= n.kana + n.han && n.kana + n.han >= n.halfwidth_kana && n.hangul == 0;
        break;
      case kKorean:
        ok = n.hangul >= 2 && n.hangul_run >= 2 && n.hangul * 10 >= (n.hangul + n.han) * 9 && n.kana == 0;
        break;
      case kChinese:
        ok = n.han >= 2 && n.han_run >= 2 && n.kana == 0 && n.hangul == 0 && n.halfwidth_kana == 0;
        break;
    }
    if (!ok) continue;
    if (sample.size() == in.size()) {
      out->append(trial_);
    } else {
      Convert(conv.cd, in, false, out, &bad);
      lossy_ += bad;
    }
    return true;
  }
  return false;
}

void CharsetConverter::DecodeIso2022Jp(std::string_view in, std::string* out) {
  size_t bad = 0;
  if (Iso2022JpToEucJp(in, &work_, &bad)) {
    const Converter& conv = GetIconv("EUC-JP-MS");
    if (conv.cd != reinterpret_cast<iconv_t>(-1)) {
      Convert(conv.cd, work_, false, out, &bad);
      lossy_ += bad;
      return;
    }
  }
  // JIS X 0213 or the ISO-2022-JP-2 sets: iconv's converter for those.
  const bool jp2 = in.find("\x1b$A") != std::string_view::npos || in.find("\x1b$(C") != std::string_view::npos ||
                   in.find("\x1b.") != std::string_view::npos;
  const Converter& conv = GetIconv(jp2 ? "ISO-2022-JP-2" : "ISO-2022-JP-3");
  if (conv.cd == reinterpret_cast<iconv_t>(-1)) {
    out->append(in);
    return;
  }
  bad = 0;
  Convert(conv.cd, in, false, out, &bad);
  lossy_ += bad;
}

void CharsetConverter::DecodeUnlabelled(std::string_view in, std::string* out) {
  // One scan tells plain ASCII (the usual case), UTF-8 and other 8-bit text
  // apart.
  const Utf8Counts counts = Utf8Stats(in);
  const size_t valid = counts.valid, invalid = counts.invalid, nul = counts.nul;
  if (invalid == 0 && valid == 0) {
    // 7-bit. ISO-2022-JP often goes unlabelled (or labelled US-ASCII): its
    // designations (ESC $ B, ESC $ @, ESC ( J, ...) tell. So do those of
    // ISO-2022-KR (ESC $ ) C) and ISO-2022-CN (ESC $ ) A, ESC $ ) G).
    if (counts.esc == 0) {
      out->append(in);
      clean_ = nul == 0;
    } else if (HasJisDesignation(in)) {
      DecodeIso2022Jp(in, out);
    } else {
      const char* name = in.find("\x1b$)C") != std::string_view::npos ? "ISO-2022-KR"
                         : in.find("\x1b$)A") != std::string_view::npos || in.find("\x1b$)G") != std::string_view::npos
                             ? "ISO-2022-CN-EXT"
                             : nullptr;
      const Converter* conv = name ? &GetIconv(name) : nullptr;
      if (conv && conv->cd != reinterpret_cast<iconv_t>(-1)) {
        size_t bad = 0;
        Convert(conv->cd, in, false, out, &bad);
        lossy_ += bad;
      } else {
        out->append(in);
      }
    }
    return;
  }
  // 8-bit: UTF-8 when most of it reads as UTF-8 (a damaged UTF-8 text stays
  // UTF-8, its bad bytes made U+FFFD by SanitizeUtf8 afterwards); else a CJK
  // charset when one fits (GuessCjk); else Windows-1252.
  if (invalid == 0 || valid >= invalid * 4) {
    out->append(in);
    clean_ = invalid == 0 && nul == 0;
    return;
  }
  if (HasJisDesignation(in)) {  // ISO-2022-JP with stray 8-bit bytes
    DecodeIso2022Jp(in, out);
    return;
  }
  if (GuessCjk(in, out)) return;
  // Last resort: Windows-1252, the superset of ISO-8859-1 that mailers
  // send under no label or a wrong one. Most 8-bit text that is neither
  // UTF-8 nor CJK is in a Latin script (French, German, Spanish, ...
  // notices), and this reading keeps every byte as a character where the
  // earlier lossy copy made each a '?'; text in another single-byte charset
  // (KOI8-R, Windows-1251) comes out as Latin letters, no less readable than
  // the '?' it gave before.
  AppendWindows1252(in, out);
}

bool CharsetConverter::Recover(std::string_view in, size_t from, std::string* out) {
  if (!Has8Bit(in)) return false;
  if (Utf8Stats(in).invalid == 0) {  // UTF-8 under another label
    out->resize(from);
    out->append(in);
    return true;
  }
  std::string guessed;
  if (!GuessCjk(in, &guessed)) return false;
  out->resize(from);
  out->append(guessed);
  return true;
}

void CharsetConverter::ToUtf8(std::string_view charset_in, std::string_view in, std::string* out) {
  clean_ = false;
  NormalizeLabel(charset_in, &scratch_);
  const std::string& charset = scratch_;
  // The labels of most bounce text, read by content without a lookup.
  if (charset.empty() || charset == "us-ascii" || charset == "utf-8" || charset == "utf8" || charset == "ascii") {
    DecodeUnlabelled(in, out);
    return;
  }
  Bound();
  const Converter& conv = Get(charset);
  if (conv.scheme == Scheme::kUnlabelled) {
    DecodeUnlabelled(in, out);
    return;
  }
  if (conv.ascii_compatible && IsPlainAscii(in)) {
    out->append(in);
    return;
  }
  if (conv.scheme == Scheme::kIso2022Jp) {
    // 8-bit text under an ISO-2022-JP label is mislabelled Shift_JIS,
    // EUC-JP or UTF-8 more often than it is 8-bit katakana.
    const size_t from = out->size();
    const size_t before = lossy_;
    DecodeIso2022Jp(in, out);
    if (lossy_ > before && Recover(in, from, out)) lossy_ = before;
    return;
  }
  // ISO-2022-JP under a wrong label (ISO-8859-1, Windows-1252): 7-bit with
  // JIS designations cannot be meant as anything else.
  if (conv.ascii_compatible && !Has8Bit(in) && HasJisDesignation(in)) {
    DecodeIso2022Jp(in, out);
    return;
  }
  const size_t from = out->size();
  size_t bad = 0;
  Convert(conv.cd, in, false, out, &bad);
  if (bad == 0) return;
  // Invalid bytes in the labelled charset: the label is wrong (a CJK text
  // under another CJK label, UTF-8 under a legacy one); another reading
  // that takes every byte wins. 7-bit text that a 7-bit charset (UTF-7,
  // ISO-2022-KR) cannot read is ASCII under a wrong label: a '+' in an
  // address is no UTF-7 shift when the sender did not write "+-".
  if (Recover(in, from, out)) return;
  if (!Has8Bit(in)) {
    out->resize(from);
    out->append(in);
    return;
  }
  lossy_ += bad;
}

std::string CharsetConverter::DecodeHeader(std::string_view raw) {
  std::string out;
  DecodeHeaderTo(raw, &out);
  return out;
}

void CharsetConverter::DecodeHeaderTo(std::string_view raw, std::string* out_ptr) {
  out_ptr->clear();
  text::AppendCollapsed(raw, out_ptr);
  if (out_ptr->find("=?") == std::string::npos) {  // no encoded word: the usual case
    const Utf8Counts n = Utf8Stats(*out_ptr);
    if (n.invalid == 0 && n.nul == 0 && (n.valid > 0 || n.esc == 0)) return;  // ASCII, UTF-8
    if (n.invalid > 0 || n.esc > 0) {
      // Raw ISO-2022-JP or 8-bit text (old Japanese mailers write the
      // Subject so): read it as an unlabelled body would be.
      unfolded_.swap(*out_ptr);
      out_ptr->clear();
      DecodeUnlabelled(unfolded_, out_ptr);
    }
    SanitizeUtf8(out_ptr);
    return;
  }
  // The unfolded value becomes the input, *out_ptr the output.
  std::string& unfolded = unfolded_;
  unfolded.swap(*out_ptr);
  std::string& out = *out_ptr;
  out.clear();
  std::string_view s = unfolded;
  // Adjacent encoded words in one charset are decoded together: mailers
  // cut long Japanese subjects into words mid-character (against RFC 2047
  // 5, but common), and only the joined bytes make the character.
  std::string pending_charset, pending_bytes;
  auto flush = [&] {
    if (pending_bytes.empty()) return;
    ToUtf8(pending_charset, pending_bytes, &out);
    pending_bytes.clear();
  };
  auto append_text = [&](std::string_view text) {
    flush();
    if (IsPlainAscii(text)) out.append(text);
    else DecodeUnlabelled(text, &out);
  };
  size_t pos = 0;
  bool last_was_word = false;
  std::string bytes;
  while (pos < s.size()) {
    size_t start = s.find("=?", pos);
    if (start == std::string_view::npos) {
      append_text(s.substr(pos));
      break;
    }
    // =?charset?X?text?=
    size_t q1 = s.find('?', start + 2);
    size_t q2 = q1 == std::string_view::npos ? q1 : s.find('?', q1 + 1);
    size_t end = q2 == std::string_view::npos ? q2 : s.find("?=", q2 + 1);
    if (end == std::string_view::npos || q2 != q1 + 2) {
      append_text(s.substr(pos, start + 2 - pos));
      pos = start + 2;
      last_was_word = false;
      continue;
    }
    std::string_view between = s.substr(pos, start - pos);
    std::string charset = Lower(s.substr(start + 2, q1 - start - 2));
    if (size_t star = charset.find('*'); star != std::string::npos) charset.resize(star);  // RFC 2231 language
    if (!(last_was_word && Trim(between).empty())) append_text(between);
    else if (charset != pending_charset) flush();
    char enc = Lower(s[q1 + 1]);
    std::string_view text = s.substr(q2 + 1, end - q2 - 1);
    if (enc == 'b') {
      bytes = DecodeBase64(text);
    } else {
      std::string t(text);
      for (char& c : t)
        if (c == '_') c = ' ';
      bytes = DecodeQuotedPrintable(t);
    }
    pending_charset = std::move(charset);
    pending_bytes.append(bytes);
    pos = end + 2;
    last_was_word = true;
  }
  flush();
  SanitizeUtf8(&out);
}

}  // namespace rebound::bounce
