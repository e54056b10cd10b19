// A small MIME reader for bounce emails: headers (unfolded), the multipart
// tree with its boundaries, and decoding of text bodies to UTF-8. Pure and
// bounded: the tree is limited in depth and in number of parts, and views
// point into the caller's message (which must outlive the tree).
//
// Why not GMime: bounces need only the structure and a few text parts, and
// the speed/RSS budget of `rebound parse` (>= 50x Sisimai, <= 64 MB) is easier
// to hold with a reader that never copies attachment bodies.
#pragma once

#include <iconv.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rebound::bounce {

struct HeaderField {
  std::string_view name;   // as written
  std::string_view value;  // raw, folded lines included, trimmed
};

// Headers of one entity: a message or a MIME part.
struct Headers {
  std::vector<HeaderField> fields;
  // First field named name (case-insensitive), raw; "" when absent.
  std::string_view Raw(std::string_view name) const;
  bool Has(std::string_view name) const;

  // A Bloom filter of the field names ParseHeaders read (256 bits, two per
  // name): most lookups are for fields a message lacks, and it answers those
  // without walking the list (a top-level header block holds 30 to 60 names,
  // too many for one word). Ignored once fields is changed by other code
  // (its size then differs from names_counted).
  uint64_t name_bits[4] = {};
  size_t names_counted = 0;
  // Two bit numbers (0..255) for name, the same in any letter case.
  static void NameBitNumbers(std::string_view name, unsigned* a, unsigned* b) {
    const uint32_t c0 = static_cast<unsigned char>(name[0] | 0x20);
    const uint32_t c1 = name.size() > 1 ? static_cast<unsigned char>(name[1] | 0x20) : 0u;
    const uint32_t cl = static_cast<unsigned char>(name.back() | 0x20);
    const uint32_t h = static_cast<uint32_t>(name.size()) * 0x9E3779B1u ^ (c0 | c1 << 8 | cl << 16) * 0x85EBCA77u;
    *a = h >> 24;
    *b = (h * 0xC2B2AE35u) >> 24;
  }
  void AddName(std::string_view name) {
    if (name.empty()) return;
    unsigned a, b;
    NameBitNumbers(name, &a, &b);
    name_bits[a >> 6] |= uint64_t{1} << (a & 63);
    name_bits[b >> 6] |= uint64_t{1} << (b & 63);
  }
  bool MayHave(std::string_view name) const {
    if (names_counted != fields.size() || name.empty()) return true;
    unsigned a, b;
    NameBitNumbers(name, &a, &b);
    return ((name_bits[a >> 6] >> (a & 63)) & (name_bits[b >> 6] >> (b & 63)) & 1u) != 0;
  }
};

// Parses the header block at the start of s; returns the offset of the body
// (after the blank line, or s.size() when there is none).
size_t ParseHeaders(std::string_view s, Headers* out);
// For tests: the same with the 32-byte (AVX2, when the CPU has it) or the
// 16-byte scans, whichever ParseHeaders would not choose.
size_t ParseHeadersForTest(std::string_view s, Headers* out, bool wide);

// Unfolds a raw value: line breaks and the whitespace after them become one
// space; the result is trimmed.
std::string Unfold(std::string_view raw);
// Appends the words of s (runs of bytes other than ASCII white space)
// joined by single spaces: text::AppendCollapsed, faster.
void AppendUnfolded(std::string_view s, std::string* out);

struct ContentType {
  std::string type = "text/plain";  // lower case "type/subtype"
  std::string boundary, charset, report_type, name;
};
ContentType ParseContentType(std::string_view raw);

struct Part {
  Headers headers;
  ContentType content_type;
  std::string encoding;   // lower case Content-Transfer-Encoding
  std::string_view body;  // raw (not decoded)
  // multipart/* and message/rfc822 (one child: the attached message, of
  // which only headers and body are read; its content_type is left default)
  std::vector<Part> children;
  int depth = 0;
  bool is_attachment = false;  // Content-Disposition: attachment
};

// Parses the entity in s into *out (recursively). Never fails: malformed
// structure is read as well as possible (a missing boundary leaves the
// body as one part).
void ParseEntity(std::string_view s, int depth, Part* out);

// Case-insensitive helpers shared by the bounce code. ASCII letters only.
inline char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
// Inline: header lookups compare every field name, mostly of another length.
inline bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i] && LowerAscii(a[i]) != LowerAscii(b[i])) return false;
  return true;
}
inline bool IStartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && IEquals(s.substr(0, prefix.size()), prefix);
}
// Case-insensitive search: offset of needle in hay at or after from, or npos.
size_t IFind(std::string_view hay, std::string_view needle, size_t from = 0);
// Offset of the first of the bytes a, b or c in s at or after from
// (<= s.size()), or s.size(): an inline vector loop, cheaper than memchr on
// the short stretches it mostly scans (header lines, runs of HTML text).
inline size_t FindAny(std::string_view s, size_t from, char a, char b, char c) {
  size_t i = from;
#if defined(__SSE2__)
  const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b), vc = _mm_set1_epi8(c);
  for (; i + 16 <= s.size(); i += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
    const __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb)), _mm_cmpeq_epi8(x, vc));
    const unsigned bits = static_cast<unsigned>(_mm_movemask_epi8(hit));
    if (bits) return i + static_cast<size_t>(__builtin_ctz(bits));
  }
#endif
  for (; i < s.size(); ++i)
    if (s[i] == a || s[i] == b || s[i] == c) return i;
  return s.size();
}
inline size_t FindEither(std::string_view s, size_t from, char a, char b) { return FindAny(s, from, a, b, b); }
// Offset of the first '\n' in s at or after from, or s.size().
inline size_t LineEnd(std::string_view s, size_t from) { return FindEither(s, from, '\n', '\n'); }
// Exact search, the same contract (hay.find(needle, from), faster on long
// texts: 16 candidate positions tested at once by their first and last byte).
size_t FindBytes(std::string_view hay, std::string_view needle, size_t from = 0);
std::string Lower(std::string_view s);
void LowerTo(std::string_view s, std::string* out);  // *out = Lower(s), its capacity reused; s may be *out
// The same for a temporary (Lower(FirstAddress(...))): lower-cased in place,
// no second string.
inline std::string Lower(std::string&& s) {
  LowerTo(s, &s);
  return std::move(s);
}
inline std::string_view Trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// Decoders.
std::string DecodeQuotedPrintable(std::string_view s);
std::string DecodeBase64(std::string_view s);

// Converts text in charset to UTF-8, caching iconv descriptors. Unknown
// charsets and invalid bytes degrade to a lossy copy (never fail).
//
// Bounces come in every charset, often mislabelled or unlabelled, so the
// label is a hint (details in mime.cc):
// * names are matched loosely (case, quotes, "x-" prefixes, the common
//   aliases: "x-sjis", "ms932", "gb_2312-80", "ks_c_5601-1987",
//   "unicode-1-1-utf-7", ...) and mapped to the superset that decodes what
//   senders really write under them (Shift_JIS as CP932, EUC-JP as
//   EUC-JP-MS, GB2312/GBK as GB18030, EUC-KR as CP949, Big5 as CP950);
// * ISO-2022-JP is decoded here (with the CP932 extensions Windows mailers
//   put in it), also in 7-bit text with no label or a wrong one;
// * unlabelled 8-bit text that is not UTF-8 is tried as Japanese, Korean
//   and Chinese, taken only when one of them reads cleanly and looks like
//   that language, and read as Windows-1252 otherwise.
class CharsetConverter {
 public:
  ~CharsetConverter();
  // Appends the conversion of in to *out.
  void ToUtf8(std::string_view charset, std::string_view in, std::string* out);
  // RFC 2047 encoded words in a header value, then unfolding. Raw
  // ISO-2022-JP and 8-bit bytes outside encoded words are decoded too.
  std::string DecodeHeader(std::string_view raw);
  // The same into *out (overwritten, its capacity reused).
  void DecodeHeaderTo(std::string_view raw, std::string* out);
  // Input bytes that no charset could read so far (each became '?'), for
  // tests and statistics. SanitizeUtf8's replacements are not counted.
  size_t lossy_bytes() const { return lossy_; }
  // Whether the last ToUtf8 is known to have appended valid UTF-8 without
  // NUL (SanitizeUtf8 would change nothing): text it checked on the way,
  // so that AppendDecodedText need not scan it again.
  bool last_output_clean() const { return clean_; }

  // How a label is decoded (public for tests): kUnlabelled for no label,
  // ASCII and UTF-8 labels and names no converter knows.
  enum class Scheme : uint8_t { kUnlabelled, kIso2022Jp, kIconv };
  // The scheme and, for kIconv, the iconv name used for a lower-case label.
  static Scheme Resolve(std::string_view label, std::string* iconv_name);

 private:
  struct Converter {
    iconv_t cd;
    // iconv maps every ASCII byte (but ESC, SO, SI, which switch state in
    // the ISO 2022 charsets) to itself: plain-ASCII text, most of what
    // bounces carry whatever their label, is then copied without iconv.
    bool ascii_compatible;
    Scheme scheme;
  };
  const Converter& Get(const std::string& label);
  const Converter& GetIconv(const char* name);  // by the converter's own name
  // iconv of in appended to *out; strict: stops and returns false at the
  // first invalid byte; else each invalid byte becomes '?' (counted in
  // *bad) and the conversion goes on.
  bool Convert(iconv_t cd, std::string_view in, bool strict, std::string* out, size_t* bad);
  void DecodeUnlabelled(std::string_view in, std::string* out);
  void DecodeIso2022Jp(std::string_view in, std::string* out);
  bool GuessCjk(std::string_view in, std::string* out);
  // After a lossy conversion of 8-bit text: UTF-8 or a CJK guess instead,
  // when one reads in cleanly. Replaces *out from offset from.
  bool Recover(std::string_view in, size_t from, std::string* out);
  void Bound();  // closes every converter when there are too many
  std::map<std::string, Converter, std::less<>> cds_;
  std::string scratch_;  // the lower-cased charset name
  std::string unfolded_;  // DecodeHeaderTo's input when it holds encoded words
  std::string work_;  // an intermediate form (EUC-JP from ISO-2022-JP)
  std::string trial_;  // a guess's output
  size_t lossy_ = 0;
  bool clean_ = false;
};

// The body of a text part, transfer-decoded and converted to UTF-8, at most
// limit bytes of input considered.
std::string DecodeText(const Part& part, CharsetConverter* cc, size_t limit);
// The same, appended to *out (only the appended bytes are made valid UTF-8).
void AppendDecodedText(const Part& part, CharsetConverter* cc, size_t limit, std::string* out);

// Makes s valid UTF-8 in place (invalid bytes become '?', NUL a space);
// from: only the bytes from that offset on.
void SanitizeUtf8(std::string* s, size_t from = 0);

}  // namespace rebound::bounce
