// Text in any charset a bounce arrives in, to UTF-8 (iconv, with the
// label read loosely and unlabelled text recognised by its content), and
// RFC 2047 encoded words in header values.
#pragma once

#include <iconv.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace rebound::bounce {

// Converts text in charset to UTF-8, caching iconv descriptors. Unknown
// charsets and invalid bytes degrade to a lossy copy (never fail).
//
// Bounces come in every charset, often mislabelled or unlabelled, so the
// label is a hint (details in charset.cc):
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
  // tests and statistics. SanitizeUtf8's replacements (U+FFFD) are not
  // counted.
  size_t lossy_bytes() const { return lossy_; }
  // Whether the last ToUtf8 is known to have appended valid UTF-8 without
  // NUL (text::SanitizeUtf8 would change nothing): text it checked on the way,
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

}  // namespace rebound::bounce
