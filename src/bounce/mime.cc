// The MIME reader: see bounce/mime.h. Charsets are bounce/charset.cc's.
#include "bounce/mime.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>  // SSE2 always; AVX2 only in functions compiled for it
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace rebound::bounce {
namespace {

constexpr int kMaxDepth = 12;
constexpr size_t kMaxChildren = 128;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

int Base64Value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

}  // namespace

std::string_view Headers::Raw(std::string_view name) const {
  if (!MayHave(name)) return {};
  for (const auto& f : fields)
    if (IEquals(f.name, name)) return f.value;
  return {};
}

bool Headers::Has(std::string_view name) const {
  if (!MayHave(name)) return false;
  for (const auto& f : fields)
    if (IEquals(f.name, name)) return true;
  return false;
}

namespace {

// The scans ParseHeaders makes (the first of some bytes from an offset), 16
// bytes at a time (SSE2, mime.h) or 32 (AVX2). Header lines run to 60-80
// bytes, so the wider compare halves the turns of the line-end loop.
struct Scan16 {
  static size_t FindAny(std::string_view s, size_t from, char a, char b, char c) { return text::FindAny(s, from, a, b, c); }
};
#if defined(REBOUND_HAVE_AVX2)
struct Scan32 {
  __attribute__((target("avx2"))) static size_t FindAny(std::string_view s, size_t from, char a, char b, char c) {
    size_t i = from;
    const __m256i va = _mm256_set1_epi8(a), vb = _mm256_set1_epi8(b), vc = _mm256_set1_epi8(c);
    for (; i + 32 <= s.size(); i += 32) {
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s.data() + i));
      const __m256i hit =
          _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(x, va), _mm256_cmpeq_epi8(x, vb)), _mm256_cmpeq_epi8(x, vc));
      const uint32_t bits = static_cast<uint32_t>(_mm256_movemask_epi8(hit));
      if (bits) return i + static_cast<size_t>(__builtin_ctz(bits));
    }
    return text::FindAny(s, i, a, b, c);  // the last 0-31 bytes
  }
};
#endif

// The reader, for either scan. Inlined into each entry point below, so that
// the AVX2 one is compiled for AVX2 throughout.
template <class Scan>
__attribute__((always_inline)) inline size_t ParseHeadersWith(std::string_view s, Headers* out) {
  out->fields.clear();
  if (out->fields.capacity() < 16) out->fields.reserve(16);  // one allocation for most parts
  for (uint64_t& w : out->name_bits) w = 0;
  out->names_counted = 0;
  // Every return below is after the fields are complete.
  struct CountNames {
    Headers* h;
    ~CountNames() {
      for (const auto& f : h->fields) h->AddName(f.name);
      h->names_counted = h->fields.size();
    }
  } count_names{out};
  size_t pos = 0;
  while (pos < s.size()) {
    // The usual line, "Name: value": the first ':', ' ' or '\n' tells, and
    // the line end is then sought from the colon on.
    if (const char first = s[pos]; first != ' ' && first != '\t' && first != '\r' && first != '\n') {
      const size_t stop = Scan::FindAny(s, pos, ':', ' ', '\n');
      if (stop < s.size() && s[stop] == ':' && stop > pos) {
        const size_t eol = Scan::FindAny(s, stop + 1, '\n', '\n', '\n');
        HeaderField f;
        f.name = s.substr(pos, stop - pos);
        f.value = Trim(s.substr(stop + 1, eol - stop - 1));
        if (f.value.empty()) f.value = std::string_view(s.data() + eol, 0);
        out->fields.push_back(f);
        pos = eol + 1;
        continue;
      }
    }
    // Anything else, as a whole line.
    const size_t eol = Scan::FindAny(s, pos, '\n', '\n', '\n');
    std::string_view line = s.substr(pos, eol - pos);
    // Only a line that starts with white space can be blank.
    const char c0 = line.empty() ? ' ' : line[0];
    const bool space_first = c0 == ' ' || c0 == '\t' || c0 == '\r';
    if (space_first && Trim(line).empty()) return std::min(eol + 1, s.size());
    if ((line[0] == ' ' || line[0] == '\t')) {
      // Continuation of the previous field (or stray whitespace at the top).
      if (!out->fields.empty()) {
        auto& f = out->fields.back();
        const char* begin = f.value.empty() ? line.data() : f.value.data();
        f.value = std::string_view(begin, static_cast<size_t>(line.data() + line.size() - begin));
      }
      pos = eol + 1;
      continue;
    }
    // The name runs up to the colon and holds no space.
    size_t colon = Scan::FindAny(line, 0, ':', ' ', ' ');
    if (colon == line.size() || line[colon] != ':') colon = std::string_view::npos;
    if (colon == std::string_view::npos || colon == 0) {
      // Not a header line: an mbox "From " line at the top is skipped; any
      // other line ends the header block (the body starts here).
      if (out->fields.empty() && line.starts_with("From ")) {
        pos = eol + 1;
        continue;
      }
      if (out->fields.empty() && line.starts_with(">From ")) {
        pos = eol + 1;
        continue;
      }
      return pos;
    }
    HeaderField f;
    f.name = line.substr(0, colon);
    f.value = Trim(line.substr(colon + 1));
    if (f.value.empty()) f.value = std::string_view(line.data() + line.size(), 0);
    out->fields.push_back(f);
    pos = eol + 1;
  }
  return s.size();
}

// Flattened: the vector push_back, a call per field otherwise, is inlined.
__attribute__((flatten)) size_t ParseHeaders16(std::string_view s, Headers* out) { return ParseHeadersWith<Scan16>(s, out); }
#if defined(REBOUND_HAVE_AVX2)
__attribute__((flatten, target("avx2"))) size_t ParseHeaders32(std::string_view s, Headers* out) {
  return ParseHeadersWith<Scan32>(s, out);
}
#endif

}  // namespace

size_t ParseHeaders(std::string_view s, Headers* out) {
#if defined(REBOUND_HAVE_AVX2)
  if (text::CpuHasAvx2()) return ParseHeaders32(s, out);
#endif
  return ParseHeaders16(s, out);
}

size_t ParseHeadersForTest(std::string_view s, Headers* out, bool wide) {
#if defined(REBOUND_HAVE_AVX2)
  if (wide && text::CpuHasAvx2()) return ParseHeaders32(s, out);
#endif
  return ParseHeaders16(s, out);
}

std::string Unfold(std::string_view raw) {
  std::string out;
  text::AppendCollapsed(raw, &out);
  return out;
}

ContentType ParseContentType(std::string_view raw) {
  ContentType ct;
  thread_local std::string v;  // scratch, its capacity kept from call to call
  v.clear();
  text::AppendCollapsed(raw, &v);
  std::string_view s = v;
  size_t semi = s.find(';');
  std::string_view type = Trim(s.substr(0, semi));
  if (!type.empty() && type.find('/') != std::string_view::npos) ct.type = Lower(type);
  else if (!type.empty()) ct.type = Lower(type) + "/plain";  // "Text" alone: be lenient
  while (semi != std::string_view::npos) {
    s.remove_prefix(semi + 1);
    size_t eq = s.find('=');
    if (eq == std::string_view::npos) break;
    std::string_view key = Trim(s.substr(0, eq));
    s.remove_prefix(eq + 1);
    s = Trim(s);
    std::string value;
    if (!s.empty() && s[0] == '"') {
      size_t i = 1;
      const size_t close = std::min(s.find('"', 1), s.size());
      if (s.substr(1, close - 1).find('\\') == std::string_view::npos) {
        value.assign(s.substr(1, close - 1));  // nothing escaped: the usual quoted boundary
        i = close;
      }
      while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        value.push_back(s[i++]);
      }
      s.remove_prefix(std::min(i + 1, s.size()));
      semi = s.find(';');
    } else {
      semi = s.find(';');
      value = std::string(Trim(s.substr(0, semi)));
    }
    if (IEquals(key, "boundary")) ct.boundary = std::move(value);
    else if (IEquals(key, "charset")) ct.charset = Lower(value);
    else if (IEquals(key, "report-type")) ct.report_type = Lower(value);
    else if (IEquals(key, "name")) ct.name = std::move(value);
  }
  return ct;
}

namespace {

// Splits a multipart body at its boundary lines. Returns false when the
// boundary never appears.
bool SplitMultipart(std::string_view body, std::string_view boundary, std::vector<std::string_view>* parts) {
  std::string delim = "--";
  delim.append(boundary);
  size_t pos = 0;
  size_t start = std::string_view::npos;  // start of the current part
  bool found = false;
  while (pos < body.size()) {
    // FindBytes rather than find(): bodies are full of the dashes every
    // delimiter starts with.
    const size_t hit = FindBytes(body, delim, pos);
    if (hit == std::string_view::npos) break;
    if (hit != 0 && body[hit - 1] != '\n') {
      pos = hit + delim.size();
      continue;
    }
    found = true;
    size_t after = hit + delim.size();
    bool close = body.substr(after, 2) == "--";
    if (start != std::string_view::npos) {
      size_t end = hit > start ? hit - 1 : start;  // drop the line break before the delimiter
      parts->push_back(body.substr(start, end - start));
      if (parts->size() >= kMaxChildren) return true;
    }
    size_t eol = body.find('\n', after);
    if (close) return true;
    if (eol == std::string_view::npos) return true;
    start = eol + 1;
    pos = start;
  }
  if (start != std::string_view::npos && start < body.size()) parts->push_back(body.substr(start));  // unterminated
  return found;
}

}  // namespace

void ParseEntity(std::string_view s, int depth, Part* out) {
  out->depth = depth;
  size_t body_at = ParseHeaders(s, &out->headers);
  out->body = s.substr(std::min(body_at, s.size()));
  // *out may be a Part reused from an earlier message (its vectors keep
  // their capacity): every member is set here.
  // The three fields a part's reading needs, in one walk over its fields
  // (the first of each name, as Raw gives it).
  std::string_view ct, cte, disp;
  bool have_ct = false, have_cte = false, have_disp = false;
  for (const HeaderField& f : out->headers.fields) {
    const size_t len = f.name.size();
    if (len == 12 && !have_ct && IEquals(f.name, "Content-Type")) {
      ct = f.value;
      have_ct = true;
    } else if (len == 25 && !have_cte && IEquals(f.name, "Content-Transfer-Encoding")) {
      cte = f.value;
      have_cte = true;
    } else if (len == 19 && !have_disp && IEquals(f.name, "Content-Disposition")) {
      disp = f.value;
      have_disp = true;
    }
  }
  if (!ct.empty()) out->content_type = ParseContentType(ct);
  else out->content_type = ContentType();
  if (!cte.empty()) LowerTo(Trim(cte), &out->encoding);
  else out->encoding.clear();
  out->is_attachment = IStartsWith(Trim(disp), "attachment");
  size_t children = 0;
  struct SizeChildren {  // on every return below
    Part* p;
    const size_t& n;
    ~SizeChildren() { p->children.resize(n); }
  } size_children{out, children};
  if (depth >= kMaxDepth) return;
  const std::string& type = out->content_type.type;
  if (type.starts_with("multipart/") && !out->content_type.boundary.empty()) {
    thread_local std::vector<std::string_view> parts;  // scratch; no recursion while it is in use
    parts.clear();
    if (!SplitMultipart(out->body, out->content_type.boundary, &parts)) return;
    children = parts.size();
    out->children.resize(children);
    // Copied out first: the children's own ParseEntity calls reuse parts.
    std::string_view views[kMaxChildren];
    std::copy(parts.begin(), parts.end(), views);
    for (size_t i = 0; i < children; ++i) ParseEntity(views[i], depth + 1, &out->children[i]);
  } else if ((type == "message/rfc822" || type == "message/global") && out->encoding != "base64" &&
             out->encoding != "quoted-printable") {
    // The returned message: only its headers matter (the bounce reader
    // never walks into it), so its own parts, attachments included, are not
    // split, and its content type and encoding are not read.
    children = 1;
    out->children.resize(1);
    Part& original = out->children[0];
    original.depth = kMaxDepth;
    const size_t body_at = ParseHeaders(out->body, &original.headers);
    original.body = out->body.substr(std::min(body_at, out->body.size()));
    original.content_type = ContentType();
    original.encoding.clear();
    original.is_attachment = false;
    original.children.clear();
  }
}

std::string DecodeQuotedPrintable(std::string_view s) {
  // Decoding never lengthens: written through a pointer into a buffer of the
  // input's size, runs without '=' copied at once.
  std::string out(s.size(), '\0');
  char* o = out.data();
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const size_t eq = FindEither(s, i, '=', '=');
    memcpy(o, s.data() + i, eq - i);
    o += eq - i;
    i = eq;
    if (i >= n) break;
    if (i + 1 < n && s[i + 1] == '\n') {  // soft line break
      i += 2;
      continue;
    }
    if (i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
      i += 3;
      continue;
    }
    int hi = i + 1 < n ? HexValue(s[i + 1]) : -1;
    int lo = i + 2 < n ? HexValue(s[i + 2]) : -1;
    if (hi >= 0 && lo >= 0) {
      *o++ = static_cast<char>(hi * 16 + lo);
      i += 3;
      continue;
    }
    // "=" followed by trailing spaces then a newline is also a soft break.
    size_t j = i + 1;
    while (j < n && (s[j] == ' ' || s[j] == '\t')) ++j;
    if (j < n && s[j] == '\n') {
      i = j + 1;
      continue;
    }
    *o++ = '=';
    ++i;
  }
  out.resize(static_cast<size_t>(o - out.data()));
  return out;
}

std::string DecodeBase64(std::string_view s) {
  static const auto kValue = [] {
    std::array<int8_t, 256> v{};
    for (int c = 0; c < 256; ++c) v[c] = static_cast<int8_t>(Base64Value(static_cast<unsigned char>(c)));
    return v;
  }();
  // Every 4 valid characters give 3 bytes, so the output fits in 3/4 of the
  // input; written through a pointer rather than byte by byte push_back.
  std::string out(s.size() / 4 * 3 + 3, '\0');
  char* o = out.data();
  unsigned acc = 0;
  int bits = 0;
  for (unsigned char c : s) {
    if (c == '=') break;
    const int v = kValue[c];
    if (v < 0) continue;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      *o++ = static_cast<char>((acc >> bits) & 0xff);
    }
  }
  out.resize(static_cast<size_t>(o - out.data()));
  return out;
}

namespace {
// CRLF and lone CR to LF, in place. The parser made the message's own line
// ends LF, but decoding brings back the ones the sender encoded: text is
// base64-encoded in canonical form, with CRLF (RFC 2045 6.8), and "=0D=0A"
// spells one in quoted-printable. Extractors expect LF only.
void LineEndsToLf(std::string* s) {
  size_t r = s->find('\r');
  if (r == std::string::npos) return;
  size_t w = r;
  for (; r < s->size(); ++r) {
    char c = (*s)[r];
    if (c == '\r') {
      c = '\n';
      if (r + 1 < s->size() && (*s)[r + 1] == '\n') ++r;
    }
    (*s)[w++] = c;
  }
  s->resize(w);
}
}  // namespace

void AppendDecodedText(const Part& part, CharsetConverter* cc, size_t limit, std::string* out) {
  std::string_view body = part.body.substr(0, std::min(limit, part.body.size()));
  std::string decoded;
  std::string_view bytes = body;
  if (part.encoding == "quoted-printable") {
    decoded = DecodeQuotedPrintable(body);
    LineEndsToLf(&decoded);
    bytes = decoded;
  } else if (part.encoding == "base64") {
    decoded = DecodeBase64(body);
    LineEndsToLf(&decoded);
    bytes = decoded;
  }
  // An unlabelled part is read by its content (ISO-2022-JP escapes, UTF-8,
  // a CJK guess): CharsetConverter::ToUtf8 with an empty label.
  const size_t from = out->size();
  cc->ToUtf8(part.content_type.charset, bytes, out);
  if (!cc->last_output_clean()) SanitizeUtf8(out, from);
}

std::string DecodeText(const Part& part, CharsetConverter* cc, size_t limit) {
  std::string out;
  AppendDecodedText(part, cc, limit, &out);
  return out;
}

}  // namespace rebound::bounce
