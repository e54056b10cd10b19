// A small MIME reader for bounce emails: headers (unfolded), the multipart
// tree with its boundaries, and transfer decoding of text bodies (their
// charsets are bounce/charset.h's). Pure and bounded: the tree is limited in
// depth and in number of parts, and views point into the caller's message
// (which must outlive the tree).
//
// Why not GMime: bounces need only the structure and a few text parts, and
// the speed/RSS budget of `rebound parse` (>= 50x Sisimai, <= 64 MB) is easier
// to hold with a reader that never copies attachment bodies.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bounce/charset.h"
#include "core/text.h"

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
// The same appended to *out: unfolding is collapsing white space.
inline void AppendUnfolded(std::string_view s, std::string* out) { text::AppendCollapsed(s, out); }

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

// The bounce code calls the shared text layer (core/text.h) unqualified.
using text::FindAny;
using text::FindBytes;
using text::FindEither;
using text::IEquals;
using text::IFind;
using text::IStartsWith;
using text::LineEnd;
using text::Lower;
using text::LowerTo;
using text::SanitizeUtf8;
using text::Trim;
// The name older bounce code uses for text::Lower(char).
inline char LowerAscii(char c) { return text::Lower(c); }

// Decoders.
std::string DecodeQuotedPrintable(std::string_view s);
std::string DecodeBase64(std::string_view s);

// The body of a text part, transfer-decoded and converted to UTF-8, at most
// limit bytes of input considered.
std::string DecodeText(const Part& part, CharsetConverter* cc, size_t limit);
// The same, appended to *out (only the appended bytes are made valid UTF-8).
void AppendDecodedText(const Part& part, CharsetConverter* cc, size_t limit, std::string* out);

}  // namespace rebound::bounce
