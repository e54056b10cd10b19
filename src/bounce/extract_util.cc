#include <array>
#include <cctype>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "bounce/extract.h"
#include "core/text.h"
#include "rebound/reply.h"

namespace rebound::bounce {
namespace {

// Tables of the characters an address's local part and domain may hold
// (ASCII letters and digits as the "C" locale's isalnum, which rebound
// never changes, and any byte >= 0x80): a lookup per byte instead of
// isalnum and strchr.
constexpr bool AsciiAlnum(int c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
constexpr std::array<bool, 256> kLocalChar = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = AsciiAlnum(c) || c >= 0x80;
  for (char c : std::string_view(".!#$%&'*+-/=?^_`{|}~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();
constexpr std::array<bool, 256> kDomainChar = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = AsciiAlnum(c) || c == '.' || c == '-' || c == '_' || c >= 0x80;
  return t;
}();
bool LocalChar(unsigned char c) { return kLocalChar[c]; }
bool DomainChar(unsigned char c) { return kDomainChar[c]; }

// The byte length of the punctuation mark encoded in UTF-8 at s[i], or 0:
// CJK punctuation (U+3000-U+303F: "、。「」【】"), the full-width forms of
// ASCII punctuation (U+FF01-U+FF0F, U+FF1A-U+FF20, U+FF3B-U+FF40,
// U+FF5B-U+FF65: "：，（）"), typographic quotes (U+2018-U+201F), the
// no-break space and guillemets, the ellipsis (U+2026), the Arabic comma,
// semicolon and question mark (U+060C, U+061B, U+061F) and the Devanagari
// danda (U+0964, U+0965). Addresses may hold non-ASCII letters (RFC 6531),
// but these marks separate an address from the words around it in Chinese,
// Japanese, French, Russian, Arabic or Hindi text ("收件人：a@b.cn，",
// "مرحبًا a@b.com،").
size_t WidePunctuationAt(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
  const unsigned b0 = byte(0), b1 = byte(1), b2 = byte(2);
  if (b0 == 0xC2 && (b1 == 0xA0 || b1 == 0xAB || b1 == 0xBB)) return 2;
  if (b0 == 0xD8 && (b1 == 0x8C || b1 == 0x9B || b1 == 0x9F)) return 2;
  if (b0 == 0xE0 && b1 == 0xA5 && (b2 == 0xA4 || b2 == 0xA5)) return 3;
  if (b0 == 0xE2 && b1 == 0x80 && ((b2 >= 0x98 && b2 <= 0x9F) || b2 == 0xA6)) return 3;
  if (b0 == 0xE3 && b1 == 0x80 && b2 >= 0x80 && b2 <= 0xBF) return 3;
  if (b0 == 0xEF && b1 == 0xBC)
    return (b2 >= 0x81 && b2 <= 0x8F) || (b2 >= 0x9A && b2 <= 0xA0) || b2 >= 0xBB ? 3 : 0;
  if (b0 == 0xEF && b1 == 0xBD) return b2 <= 0x80 || (b2 >= 0x9B && b2 <= 0xA5) ? 3 : 0;
  return 0;
}

// Whether s[from, to) holds a byte >= 0x80 (only then can a wide
// punctuation mark be inside an address candidate).
bool HasHighByte(std::string_view s, size_t from, size_t to) {
  for (size_t i = from; i < to; ++i)
    if (static_cast<unsigned char>(s[i]) >= 0x80) return true;
  return false;
}

}  // namespace

namespace {
bool IsGapChar(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
// Whether a run of gap characters of length len holding newlines line
// breaks may stand for the space between two words of a phrase.
bool GapOk(size_t len, size_t newlines) { return len >= 1 && len <= kMaxPhraseGap && newlines <= 1; }
}  // namespace

Phrase::Phrase(std::string_view text) : lower_(Lower(text)) {
  for (size_t i = 0; i < lower_.size();) {
    size_t sp = lower_.find(' ', i);
    if (sp == std::string::npos) sp = lower_.size();
    if (sp > i && n_ < kMaxWords && sp - i <= 0xffff) {
      start_[n_] = static_cast<uint16_t>(i);
      len_[n_++] = static_cast<uint16_t>(sp - i);
    }
    i = sp + 1;
  }
  // The word sought first should be one most texts lack, so that the search
  // seldom stops on it (each stop costs a check and a new search): the
  // longest word of four letters or more that is not one nearly every
  // bounce holds, else the longest word.
  static constexpr std::string_view kCommon[] = {"message", "deliver", "delivery", "delivered", "following",
                                                 "recipient", "recipients", "address", "mail", "this",
                                                 "that", "from", "with", "have", "were", "been"};
  auto rare_length = [&](size_t i) -> size_t {
    if (len_[i] < 4) return 0;
    for (std::string_view c : kCommon)
      if (word(i) == c) return 0;
    return len_[i];
  };
  for (size_t i = 1; i < n_; ++i) {
    const size_t a = rare_length(anchor_), b = rare_length(i);
    if (b > a || (a == 0 && b == 0 && len_[i] > len_[anchor_])) anchor_ = i;
  }
  prefix_min_ = anchor_;
  prefix_max_ = anchor_ * kMaxPhraseGap;
  for (size_t i = 0; i < anchor_; ++i) prefix_min_ += len_[i], prefix_max_ += len_[i];
}

size_t FindPhraseAround(std::string_view hay, const Phrase& phrase, size_t from, size_t first, size_t* end) {
  // The anchor word was found with the fast search (first): the words around
  // each hit are checked with the gaps allowed. Every match holds the anchor
  // between prefix_min and prefix_max bytes from its start, which bounds
  // where the search starts and, once a match is found, how far an
  // earlier-starting one may still lie.
  const size_t n = phrase.size(), k = phrase.anchor();
  const size_t prefix_max = phrase.prefix_max();
  const std::string_view anchor = phrase.anchor_word();
  size_t best = std::string_view::npos, best_end = 0;
  // Once a match is found, only a hit before best + prefix_max may start
  // earlier: the search goes no further.
  std::string_view rest = hay;
  for (size_t q = first; q != std::string_view::npos; q = FindBytes(rest, anchor, q + 1)) {
    if (best != std::string_view::npos && q >= best + prefix_max) break;
    // The words after the anchor.
    size_t e = q + anchor.size();
    bool ok = true;
    for (size_t i = k + 1; ok && i < n; ++i) {
      size_t g = e, newlines = 0;
      while (g < hay.size() && g - e <= kMaxPhraseGap && IsGapChar(hay[g])) newlines += hay[g++] == '\n';
      const std::string_view w = phrase.word(i);
      ok = GapOk(g - e, newlines) && hay.size() - g >= w.size() && hay[g] == w[0] &&
           std::memcmp(hay.data() + g, w.data(), w.size()) == 0;
      e = g + w.size();
    }
    // The words before it.
    size_t s = q;
    for (size_t i = k; ok && i-- > 0;) {
      size_t g = s, newlines = 0;
      while (g > 0 && s - g <= kMaxPhraseGap && IsGapChar(hay[g - 1])) newlines += hay[--g] == '\n';
      const std::string_view w = phrase.word(i);
      ok = GapOk(s - g, newlines) && g >= w.size() && hay[g - 1] == w.back() &&
           std::memcmp(hay.data() + g - w.size(), w.data(), w.size()) == 0;
      s = ok ? g - w.size() : 0;
    }
    if (ok && s >= from && s < best) {
      best = s;
      best_end = e;
      rest = hay.substr(0, std::min(hay.size(), best + prefix_max + anchor.size()));
    }
  }
  if (end && best != std::string_view::npos) *end = best_end;
  return best;
}

size_t ParagraphEnd(std::string_view text, size_t at) {
  for (size_t nl = text.find('\n', at); nl != std::string_view::npos; nl = text.find('\n', nl + 1)) {
    size_t k = nl + 1;
    while (k < text.size() && (text[k] == ' ' || text[k] == '\t' || text[k] == '\r')) ++k;
    if (k >= text.size() || text[k] == '\n') return nl;
  }
  return text.size();
}

size_t LineStartAt(std::string_view text, size_t at) {
  if (at == 0 || text.empty()) return 0;
  size_t nl = text.rfind('\n', std::min(at, text.size()) - 1);
  return nl == std::string_view::npos ? 0 : nl + 1;
}

std::string FirstAddress(std::string_view s) {
  size_t from = 0;
  while (from < s.size()) {
    size_t at = s.find('@', from);
    if (at == std::string_view::npos) return "";
    size_t b = at;
    while (b > 0 && LocalChar(static_cast<unsigned char>(s[b - 1]))) --b;
    size_t e = at + 1;
    while (e < s.size() && DomainChar(static_cast<unsigned char>(s[e]))) ++e;
    if (HasHighByte(s, b, at)) {
      for (size_t i = b; i < at;) {
        const size_t n = WidePunctuationAt(s, i);
        i += n == 0 ? 1 : n;
        if (n != 0) b = i;
      }
    }
    if (HasHighByte(s, at + 1, e)) {
      for (size_t i = at + 1; i < e; ++i)
        if (WidePunctuationAt(s, i) != 0) e = i;
    }
    std::string_view local = s.substr(b, at - b);
    std::string_view domain = s.substr(at + 1, e - at - 1);
    while (!domain.empty() && (domain.back() == '.' || domain.back() == '-')) domain.remove_suffix(1);
    while (!local.empty() && (local.front() == '.' || local.front() == '\'' || local.front() == '=')) local.remove_prefix(1);
    if (local.size() >= 7 && IStartsWith(local, "mailto:")) local.remove_prefix(7);
    if (!local.empty() && !domain.empty()) {
      std::string address;
      address.reserve(local.size() + 1 + domain.size());
      address.append(local).append(1, '@').append(domain);
      return address;
    }
    from = at + 1;
  }
  return "";
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> out;
  // Room for lines of 32 bytes on average (bounce text lines are longer):
  // one allocation rather than one per doubling.
  out.reserve(std::min<size_t>(text.size() / 32 + 8, 4096));
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t eol = LineEnd(text, pos);
    if (eol == text.size()) {
      if (pos < text.size()) out.push_back(text.substr(pos));
      break;
    }
    out.push_back(text.substr(pos, eol - pos));
    pos = eol + 1;
  }
  return out;
}

bool IsAddressLine(std::string_view line, std::string* address) {
  std::string_view t = Trim(line);
  if (t.size() > 2 && (t[0] == '*' || t[0] == '-') && t[1] == ' ') t = Trim(t.substr(2));  // a bullet
  while (!t.empty() && (t.back() == ':' || t.back() == ',' || t.back() == '.')) t.remove_suffix(1);
  if (t.size() >= 2 && t.front() == '<' && t.back() == '>') t = t.substr(1, t.size() - 2);
  if (t.size() >= 2 && t.front() == '"' && t.back() == '"') t = t.substr(1, t.size() - 2);
  if (t.empty() || t.find('@') == std::string_view::npos) return false;
  for (char c : t)
    if (c == ' ' || c == '\t' || c == '<' || c == '>' || c == '(' || c == ')' || c == '"') return false;
  *address = Lower(FirstAddress(t));
  return !address->empty();
}

std::string JoinLines(const std::vector<std::string_view>& lines, size_t from, size_t to) {
  std::string out;
  for (size_t i = from; i < to && i < lines.size(); ++i) {
    std::string_view t = Trim(lines[i]);
    if (t.empty()) continue;
    if (!out.empty()) out.push_back(' ');
    out.append(t);
  }
  return out;
}

std::string Squash(std::string_view s) {
  std::string out;
  AppendUnfolded(s, &out);
  return out;
}

std::string SquashPrefix(std::string_view s, size_t max_out) {
  // Squashing a prefix of s gives a prefix of Squash(s) (a word cut at the
  // end is the start of that word), and never more bytes than the prefix
  // had: start with max_out bytes and widen (doubling) until the output has
  // a byte past the cut (to see whether the cut splits a character) or s is
  // used up.
  std::string out;
  for (size_t take = max_out + 1;; take *= 2) {
    out.clear();
    AppendUnfolded(s.substr(0, take), &out);
    if (out.size() > max_out || take >= s.size()) break;
  }
  if (out.size() > max_out) {
    size_t cut = max_out;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
    out.resize(cut);
    while (!out.empty() && out.back() == ' ') out.pop_back();
  }
  return out;
}

size_t FindOriginalMarker(std::string_view text) {
  static constexpr std::string_view kMarkers[] = {
      "--- Below this line is a copy of the message",
      "------ This is a copy of the message",
      "------ This is a copy of your message",
      "----- Original message -----",
      "----- Unsent message follows -----",
      "----- Message header follows -----",
      "Message headers follow",
      "----- Original message follows -----",
      "------ Original message ------",
      "--- Original message follows",
      "Original message follows.",
      "Below is a copy of the original message",
      "--- The header of the original message is following. ---",
      "------ This is a copy of the headers",
      "----- The following is a copy of the message",
      "-------- Original Message --------",
      "------- Returned message --------",
      "Unsent Message below:",
      "------ Failed Message Body -----",
      "--- Original Message ---",
      "The original message headers are included as attachment",
      "|------------------------- Message text follows",
  };
  // The markers begin a line (after optional spaces): test each line's start
  // rather than searching the whole text once per marker, and against only
  // the markers that begin with the line's first letter.
  static const auto kByFirst = [] {
    std::array<uint32_t, 256> by_first{};  // bit i: kMarkers[i]
    static_assert(sizeof kMarkers / sizeof kMarkers[0] <= 32);
    for (size_t i = 0; i < sizeof kMarkers / sizeof kMarkers[0]; ++i)
      by_first[static_cast<unsigned char>(LowerAscii(kMarkers[i][0]))] |= uint32_t{1} << i;
    return by_first;
  }();
  // Whether a line starting with c may hold a marker: a space or tab, or a
  // first letter (in either case) that begins one. Most lines are settled here.
  static const auto kMayStart = [] {
    std::array<bool, 256> may{};
    may[' '] = may['\t'] = true;
    for (int c = 0; c < 256; ++c) may[c] = may[c] || kByFirst[static_cast<unsigned char>(LowerAscii(static_cast<char>(c)))] != 0;
    return may;
  }();
  // Whether text at pos starts with the prose marker (one that begins with
  // a letter, "Below is a copy of the original message"), case-insensitively,
  // a space of the marker standing for any gap FindPhraseIn allows: those
  // sentences are wrapped where the template's width puts the line end. The
  // markers between dashes are heading lines, never wrapped: compared as
  // they are.
  auto starts_with_prose = [](std::string_view text, size_t pos, std::string_view marker) {
    const size_t n = text.size();
    for (const char m : marker) {
      if (pos >= n) return false;
      if (m != ' ') {
        if (LowerAscii(text[pos]) != LowerAscii(m)) return false;
        ++pos;
        continue;
      }
      size_t g = pos, newlines = 0;
      while (g < n && g - pos <= kMaxPhraseGap && IsGapChar(text[g])) newlines += text[g++] == '\n';
      if (!GapOk(g - pos, newlines)) return false;
      pos = g;
    }
    return true;
  };
  auto starts_with_marker = [&](std::string_view text, size_t pos, std::string_view marker) {
    return marker[0] == '-' ? IStartsWith(text.substr(pos), marker) : starts_with_prose(text, pos, marker);
  };
  // Whether the line starting at pos begins (after spaces) with a marker.
  auto marker_at = [&](size_t pos) {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
    if (pos >= text.size()) return false;
    for (uint32_t bits = kByFirst[static_cast<unsigned char>(LowerAscii(text[pos]))]; bits; bits &= bits - 1)
      if (starts_with_marker(text, pos, kMarkers[__builtin_ctz(bits)])) return true;
    return false;
  };
  if (!text.empty() && marker_at(0)) return 0;
  // The other line starts follow the line breaks, found 16 bytes at a time.
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i nl = _mm_set1_epi8('\n');
  for (; i + 16 <= text.size(); i += 16) {
    unsigned bits = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + i)), nl)));
    for (; bits; bits &= bits - 1) {
      const size_t start = i + static_cast<size_t>(__builtin_ctz(bits)) + 1;
      if (start < text.size() && kMayStart[static_cast<unsigned char>(text[start])] && marker_at(start)) return start;
    }
  }
#endif
  for (; i < text.size(); ++i)
    if (text[i] == '\n' && i + 1 < text.size() && marker_at(i + 1)) return i + 1;
  return std::string_view::npos;
}

void FindCodes(std::string_view text, int* code, std::string* status) {
  // Only a '2', '4' or '5' can start either: those are found 16 bytes at a
  // time, and the walk ends once both answers are in.
  for (size_t i = FindAny(text, 0, '2', '4', '5'); i + 3 <= text.size(); i = FindAny(text, i + 1, '2', '4', '5')) {
    if ((!code || *code) && (!status || !status->empty())) return;
    if (i > 0 && (std::isalnum(static_cast<unsigned char>(text[i - 1])) || text[i - 1] == '.')) continue;
    // After '=' only a status a log line names as one ("dsn=5.1.1",
    // "status=5.2.2", as Postfix and Sendmail log lines quoted in a notice
    // write it); "SIZE=512" and the like are no code.
    bool keyed_status = false;
    if (i > 0 && text[i - 1] == '=') {
      const std::string_view key = text.substr(0, i - 1);
      for (std::string_view name : {std::string_view("dsn"), std::string_view("status")})
        if (text::IEndsWith(key, name) &&
            (key.size() == name.size() || !std::isalnum(static_cast<unsigned char>(key[key.size() - name.size() - 1]))))
          keyed_status = true;  // not "xdsn=", "substatus="
      if (!keyed_status) continue;
    }
    if (status && status->empty() && i + 5 <= text.size() && text[i + 1] == '.') {
      EnhancedStatus es;
      size_t n = ParseEnhancedStatus(text.substr(i), &es);
      if (n && (i + n == text.size() || !std::isdigit(static_cast<unsigned char>(text[i + n])))) {
        char buf[12];
        *status = std::string(es.Format(buf));
      }
    }
    if (code && !*code && !keyed_status) *code = ReplyCodeAt(text, i);
  }
}

}  // namespace rebound::bounce

namespace rebound::bounce {

void AddressBlocks(const std::vector<std::string_view>& lines, size_t from, size_t to, std::vector<Candidate>* out) {
  to = std::min(to, lines.size());
  auto indent = [](std::string_view l) {
    size_t n = 0;
    while (n < l.size() && (l[n] == ' ' || l[n] == '\t')) ++n;
    return n;
  };
  std::string addr;
  for (size_t i = from; i < to; ++i) {
    if (!IsAddressLine(lines[i], &addr)) continue;
    const size_t own_indent = indent(lines[i]);
    size_t j = i + 1;
    std::string next;
    while (j < to && Trim(lines[j]).empty()) ++j;  // blank lines before the text
    size_t start = j;
    // The block ends at a blank line or at the next address line at the same
    // depth; a more indented address is part of the text ("RCPT TO:\n <a@b>:"),
    // and so is the block's own address alone on a line: a wrapped reply
    // ("550 Unknown user\nrcpt@example.com") puts it there.
    auto block_end = [&](size_t k) {
      while (k < to && !Trim(lines[k]).empty() &&
             !(indent(lines[k]) <= own_indent && IsAddressLine(lines[k], &next) && next != addr))
        ++k;
      return k;
    };
    j = block_end(j);
    // A heading of a line or two that ends in a colon ("This error message
    // may give you a hint about what caused the\nfailure:") says nothing
    // itself: it introduces the paragraph below, which holds the cause.
    if (j > start && j - start <= 2 && Trim(lines[j - 1]).ends_with(":")) {
      size_t k = j;
      while (k < to && Trim(lines[k]).empty()) ++k;
      if (k > j && k < to && !IsAddressLine(lines[k], &next)) {
        start = k;
        j = block_end(k);
      }
    }
    Candidate c;
    c.recipient = addr;
    c.diagnostic = JoinLines(lines, start, j);
    bool dup = false;
    for (const auto& o : *out) dup = dup || o.recipient == c.recipient;
    if (!dup) out->push_back(std::move(c));
    i = j - 1;
  }
}

size_t FindLine(const std::vector<std::string_view>& lines, std::string_view needle, size_t from) {
  for (size_t i = from; i < lines.size(); ++i)
    if (IFind(lines[i], needle) != std::string_view::npos) return i;
  return std::string_view::npos;
}

namespace {
// A session log's line ("Thu 2026-12-10 16:19:59: --> RCPT To:<a@b>", as
// MDaemon and other Windows servers write them): the arrow that marks a
// command sent ("-->") or a reply read ("<--"), at the line's start or
// after a time-stamped prefix ending in ": ". Returns the line from the
// arrow on (the arrow is 3 bytes), or "" when there is none.
std::string_view LogArrow(std::string_view t) {
  if (t.starts_with("-->") || t.starts_with("<--")) return t;
  for (size_t at = t.find(": "); at != std::string_view::npos && at < 48; at = t.find(": ", at + 1)) {
    std::string_view rest = t.substr(at + 2);
    if (!(rest.starts_with("--> ") || rest.starts_with("<-- "))) continue;
    // The prefix is a time stamp: it holds digits and a clock's colon.
    const std::string_view prefix = t.substr(0, at);
    if (prefix.find_first_of("0123456789") != std::string_view::npos && prefix.find(':') != std::string_view::npos)
      return rest;
  }
  return {};
}
}  // namespace

TranscriptReader::Step TranscriptReader::Read(const std::vector<std::string_view>& lines, size_t* i) {
  std::string_view t = Trim(lines[*i]);
  if (std::string_view arrow = LogArrow(t); !arrow.empty()) t = arrow;  // "-->" sent, "<--" a reply
  if (t.starts_with(">>>") || t.starts_with("In:") || t.starts_with("-->")) {
    const std::string_view sent = Trim(t.substr(3));  // all three markers are 3 bytes
    command_ = SmtpCommandFromWords(sent);
    rcpt_ = command_ == SmtpCommand::kRcpt ? Lower(FirstAddress(sent)) : std::string();
    sent_.push_back({command_, rcpt_});
    sent_any_ = true;
    return Step::kSent;
  }
  const bool arrows = t.starts_with("<<<") || t.starts_with("<--");
  if (!arrows && !t.starts_with("Out:")) {
    // Sendmail starts each connection with "... while talking to HOST:".
    if (t.starts_with("... while talking to")) {
      sent_.clear();
      answered_ = 0;
    }
    return Step::kOther;
  }
  if (answered_ < sent_.size()) {
    command_ = sent_[answered_].command;
    rcpt_ = sent_[answered_].rcpt;
    ++answered_;
  } else if (!sent_.empty()) {
    command_ = sent_.back().command;
    rcpt_ = sent_.back().rcpt;
  } else {
    command_ = SmtpCommand::kConnect;  // nothing sent yet: the greeting
    rcpt_.clear();
  }
  reply_.assign(Trim(t.substr(arrows ? 3 : 4)));
  if (arrows) {
    // Every line of a multi-line reply is marked: it goes on while a line
    // says so ("550-...") or while no command awaits a reply of its own.
    std::string_view last = reply_;
    size_t last_at = 0;
    while (*i + 1 < lines.size()) {
      std::string_view n = Trim(lines[*i + 1]);
      if (std::string_view arrow = LogArrow(n); !arrow.empty()) n = arrow;
      const bool continues = last.size() > 3 && last[3] == '-';
      if (!(n.starts_with("<<<") || n.starts_with("<--")) || !(continues || answered_ >= sent_.size())) break;
      ++*i;
      last_at = reply_.size() + 1;
      reply_.push_back(' ');
      reply_.append(Trim(n.substr(3)));
      last = std::string_view(reply_).substr(last_at);
    }
  } else {
    // Postfix marks the first line only; the rest run to a blank line or
    // the next marked one.
    while (*i + 1 < lines.size()) {
      const std::string_view n = Trim(lines[*i + 1]);
      if (n.empty() || n.starts_with("In:") || n.starts_with("Out:")) break;
      ++*i;
      reply_.push_back(' ');
      reply_.append(n);
    }
  }
  return Step::kReply;
}

bool FindFailingReply(const std::vector<std::string_view>& lines, std::string_view recipient, FailingReply* out) {
  TranscriptReader session;
  FailingReply last;
  bool found_own = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (session.Read(lines, &i) != TranscriptReader::Step::kReply || !session.in_session()) continue;
    const std::string_view reply = session.reply();
    if (reply.size() < 3 || (reply[0] != '4' && reply[0] != '5') || !std::isdigit(static_cast<unsigned char>(reply[1])) ||
        !std::isdigit(static_cast<unsigned char>(reply[2])))
      continue;
    if (!recipient.empty() && session.rcpt() == recipient) {
      *out = {std::string(reply), session.command()};
      found_own = true;
      break;
    }
    if (session.command() == SmtpCommand::kRcpt && !session.rcpt().empty()) continue;  // another recipient's
    last = {std::string(reply), session.command()};
  }
  if (found_own) return true;
  if (last.reply.empty()) return false;
  *out = std::move(last);
  return true;
}

namespace {
// s lower-cased with every run of white space made one space, trimmed.
std::string SquashedLower(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const bool space = ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
    if (space) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}
}  // namespace

SmtpCommand CommandOfQuotedReply(const std::vector<std::string_view>& lines, std::string_view diagnostic) {
  const std::string wanted = SquashedLower(diagnostic);
  if (wanted.size() < 8) return SmtpCommand::kUnknown;  // a bare code says too little to pair
  TranscriptReader session;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (session.Read(lines, &i) != TranscriptReader::Step::kReply || !session.in_session()) continue;
    const std::string reply = SquashedLower(session.reply());
    if (reply.size() >= 8 && (reply.find(wanted) != std::string::npos || wanted.find(reply) != std::string::npos))
      return session.command();
  }
  return SmtpCommand::kUnknown;
}

SmtpCommand StepNamedInNarrative(std::string_view text) {
  static constexpr std::pair<std::string_view, SmtpCommand> kSteps[] = {
      {"but greeting failed", SmtpCommand::kConnect},
      {"but my name was rejected", SmtpCommand::kHelo},
      {"but sender was rejected", SmtpCommand::kMail},
      {"does not like recipient", SmtpCommand::kRcpt},
      {"failed on DATA command", SmtpCommand::kData},
      {"failed after I sent the message", SmtpCommand::kDataEnd}};
  for (const auto& [words, command] : kSteps)
    if (IFind(text, words) != std::string_view::npos) return command;
  return SmtpCommand::kUnknown;
}

}  // namespace rebound::bounce
