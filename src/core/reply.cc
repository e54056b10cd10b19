// Reply parsing: unwrap what MTAs put around a reply, find the codes, join
// continuation lines. See rebound/reply.h for the contract.
#include "rebound/reply.h"

#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/text.h"

namespace rebound {

using text::IFind;
using text::IsDigit;
using text::IStartsWith;
using text::Trim;
constexpr auto npos = std::string_view::npos;

namespace {
// std::isalnum in the C locale (the program never sets another), without
// the library call: it is asked for every byte of a diagnostic type.
bool IsAsciiAlnum(char c) { return IsDigit(c) || static_cast<unsigned char>((c | 0x20) - 'a') < 26; }
}  // namespace

std::string_view EnhancedStatus::Format(char* buf) const {
  if (!present()) return {};
  int n = 0;
  auto put = [&](unsigned v) {
    char tmp[4];
    int k = 0;
    do { tmp[k++] = char('0' + v % 10); v /= 10; } while (v && k < 4);
    while (k) buf[n++] = tmp[--k];
  };
  put(klass); buf[n++] = '.'; put(subject); buf[n++] = '.'; put(detail);
  return {buf, static_cast<size_t>(n)};
}

std::string_view SmtpCommandName(SmtpCommand c) {
  switch (c) {
    case SmtpCommand::kConnect: return "CONNECT";
    case SmtpCommand::kHelo: return "HELO";
    case SmtpCommand::kEhlo: return "EHLO";
    case SmtpCommand::kStartTls: return "STARTTLS";
    case SmtpCommand::kAuth: return "AUTH";
    case SmtpCommand::kMail: return "MAIL";
    case SmtpCommand::kRcpt: return "RCPT";
    case SmtpCommand::kData: return "DATA";
    case SmtpCommand::kDataEnd: return "DATA-END";
    case SmtpCommand::kQuit: return "QUIT";
    case SmtpCommand::kUnknown: break;
  }
  return {};
}

SmtpCommand SmtpCommandFromWords(std::string_view words, size_t* used) {
  struct Name { std::string_view words; SmtpCommand command; };
  // A name that begins another comes after it ("DATA-END" before "DATA").
  static constexpr Name kNames[] = {
      {"RCPT", SmtpCommand::kRcpt},
      {"MAIL", SmtpCommand::kMail},
      {"DATA-END", SmtpCommand::kDataEnd},
      {"end of DATA", SmtpCommand::kDataEnd},
      {"final DATA", SmtpCommand::kDataEnd},  // DragonFly: "did not like our final DATA"
      {".", SmtpCommand::kDataEnd},
      {"DATA", SmtpCommand::kData},
      {"EHLO", SmtpCommand::kEhlo},
      {"HELO", SmtpCommand::kHelo},
      {"STARTTLS", SmtpCommand::kStartTls},
      {"AUTH", SmtpCommand::kAuth},
      {"QUIT", SmtpCommand::kQuit},
      {"CONNECT", SmtpCommand::kConnect},
      {"initial connection", SmtpCommand::kConnect},
      {"initial greeting", SmtpCommand::kConnect},
  };
  // Exim and Postfix say "pipelined" before a command sent with others.
  const size_t lead = IStartsWith(words, "pipelined ") ? 10 : 0;
  const std::string_view w = words.substr(lead);
  for (const Name& n : kNames) {
    if (!IStartsWith(w, n.words)) continue;
    if (w.size() > n.words.size() && IsAsciiAlnum(w[n.words.size()])) continue;
    if (used) *used = lead + n.words.size();
    return n.command;
  }
  return SmtpCommand::kUnknown;
}

int ReplyCodeAt(std::string_view s, size_t i) {
  if (i + 3 > s.size()) return 0;
  if (s[i] < '2' || s[i] > '5' || !IsDigit(s[i + 1]) || !IsDigit(s[i + 2])) return 0;
  if (i > 0 && (IsAsciiAlnum(s[i - 1]) || s[i - 1] == '.')) return 0;
  const int code = (s[i] - '0') * 100 + (s[i + 1] - '0') * 10 + (s[i + 2] - '0');
  if (i + 3 == s.size()) return code;
  const char c = s[i + 3];
  if (c == ':') {
    if (i + 4 == s.size() || s[i + 4] == ' ') return code;
    EnhancedStatus st;
    return ParseEnhancedStatus(s.substr(i + 4), &st) && st.klass == s[i] - '0' ? code : 0;
  }
  return c == '-' || c == ',' || text::IsSpace(c) ? code : 0;
}

size_t ParseEnhancedStatus(std::string_view s, EnhancedStatus* out) {
  // class "." subject "." detail, with 1-3 digit subject and detail.
  if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return 0;
  size_t i = 2;
  unsigned parts[2] = {0, 0};
  for (int p = 0; p < 2; ++p) {
    size_t digits = 0;
    while (i < s.size() && IsDigit(s[i]) && digits < 4) parts[p] = parts[p] * 10 + unsigned(s[i++] - '0'), ++digits;
    if (digits == 0 || digits > 3) return 0;
    if (p == 0) {
      if (i >= s.size() || s[i] != '.') return 0;
      ++i;
    }
  }
  // Must not run on into more digits or dots ("5.1.1.2" is not a status).
  if (i < s.size() && (IsDigit(s[i]) || (s[i] == '.' && i + 1 < s.size() && IsDigit(s[i + 1])))) return 0;
  out->klass = static_cast<uint8_t>(s[0] - '0');
  out->subject = static_cast<uint16_t>(parts[0]);
  out->detail = static_cast<uint16_t>(parts[1]);
  return i;
}

namespace {

// A basic reply code at s[i]: [2-5]dd followed by end, space or '-'; or by
// a colon and then a space, the end or a status of its class, as logs and
// libraries write it ("451: Could not complete sender verification",
// "550:5.1.1 User unknown"). A colon before other text ("250:ok") is not one.
bool CodeAt(std::string_view s, size_t i) { return ReplyCodeAt(s, i) != 0; }

bool IsLeadPunct(char c) {
  return c == ' ' || c == '.' || c == '<' || c == '>' || c == ':' || c == ';' || c == '-' || c == '*' ||
         c == '#' || c == '"' || c == '\'' || c == '(' || c == '[';
}

size_t SkipLeadPunct(std::string_view s, size_t i) {
  while (i < s.size() && IsLeadPunct(s[i])) ++i;
  return i;
}

bool StartsWithReplyCode(std::string_view s) { return CodeAt(s, SkipLeadPunct(s, 0)); }

// The first offset at or after i of a byte that may begin a reply code
// ('2' to '5'), or s.size(). Sixteen bytes at a time where SSE2 is there:
// replies without a code at a line's start are scanned whole for one.
size_t NextCodeDigit(std::string_view s, size_t i) {
#if defined(__SSE2__)
  const __m128i lowest = _mm_set1_epi8('2'), span = _mm_set1_epi8(3);
  for (; i + 16 <= s.size(); i += 16) {
    // x - '2' <= 3, unsigned: min(d, 3) == d.
    const __m128i d = _mm_sub_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i)), lowest);
    if (const unsigned bits = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(d, span), d))))
      return i + static_cast<size_t>(__builtin_ctz(bits));
  }
#endif
  while (i < s.size() && static_cast<unsigned char>(s[i] - '2') > 3) ++i;
  return i;
}

// Where the reply starts: a code at the start of s or of a line; failing
// that, a code followed by an enhanced status of its class anywhere.
size_t FindCode(std::string_view s) {
  for (size_t line = 0; line < s.size();) {
    size_t i = SkipLeadPunct(s, line);
    if (CodeAt(s, i)) return i;
    size_t nl = s.find('\n', line);
    if (nl == npos) break;
    line = nl + 1;
  }
  for (size_t i = NextCodeDigit(s, 0); i + 8 <= s.size(); i = NextCodeDigit(s, i + 1)) {
    if (!CodeAt(s, i) || (i > 0 && !(text::IsSpace(s[i - 1]) || s[i - 1] == ':' || s[i - 1] == ';' ||
                                     s[i - 1] == '(' || s[i - 1] == '"' || s[i - 1] == '>' || s[i - 1] == '=')))
      continue;
    EnhancedStatus st;
    if (ParseEnhancedStatus(s.substr(i + 4), &st) && st.klass == s[i] - '0') return i;
  }
  return npos;
}

// qmail and its chkuser patch write the status last, in brackets: "553
// sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
// "511 sorry, can't find a valid MX for rcpt domain (#5.1.1 - chkuser)".
// The status there, when it is of the code's class (any class without a
// code); none when the brackets hold anything else.
EnhancedStatus TrailingBracketStatus(std::string_view text, int code) {
  while (!text.empty() && (text.back() == '.' || text::IsSpace(text.back()))) text.remove_suffix(1);
  if (text.empty() || text.back() != ')') return {};
  const size_t open = text.rfind("(#");
  if (open == npos) return {};
  EnhancedStatus st;
  const size_t n = ParseEnhancedStatus(text.substr(open + 2), &st);
  if (n == 0 || (code != 0 && st.klass != code / 100)) return {};
  // After the status only the closing bracket, or " - " and a short tag.
  const std::string_view tag = text.substr(open + 2 + n, text.size() - 1 - (open + 2 + n));
  if (!tag.empty() && (tag.substr(0, 3) != " - " || tag.size() > 24 || tag.find_first_of("()") != npos)) return {};
  return st;
}

// Removes from text (in place) the code and status repeated inside a line
// that an MTA flattened: "... try 550-5.1.1 double-checking ...".
void StripInlineRepeats(std::string* text, size_t from, int code, const EnhancedStatus& st) {
  if (code == 0) return;
  const char c0 = char('0' + code / 100), c1 = char('0' + code / 10 % 10), c2 = char('0' + code % 10);
  std::string& t = *text;
  // The length of the repeat that starts at r (the code, its separator, the
  // status when it is the reply's own, the spaces after), or 0 for none.
  // Reads only bytes at or after the last one removed or kept, which are
  // still as they came.
  auto repeat_at = [&](size_t r) -> size_t {
    if (r == from || t[r - 1] != ' ' || r + 4 > t.size() || t[r + 1] != c1 || t[r + 2] != c2 ||
        (t[r + 3] != '-' && t[r + 3] != ' '))
      return 0;
    size_t skip = 4;
    EnhancedStatus again;
    const size_t n = ParseEnhancedStatus(std::string_view(t).substr(r + 4), &again);
    const bool same_status = n && again.klass == st.klass && again.subject == st.subject && again.detail == st.detail;
    if (t[r + 3] != '-' && !same_status) return 0;
    if (same_status) skip += n;
    while (r + skip < t.size() && t[r + skip] == ' ') ++skip;
    return skip;
  };
  // Candidates start with the code's first digit, rare in text: found by
  // memchr, and the bytes between repeats moved as blocks.
  size_t w = from, r = from;
  for (size_t c = t.find(c0, from); c != npos; c = t.find(c0, c + 1)) {
    const size_t skip = repeat_at(c);
    if (skip == 0) continue;
    if (w != r) memmove(t.data() + w, t.data() + r, c - r);
    w += c - r;
    r = c + skip;
    if (r >= t.size()) break;
    c = r - 1;
  }
  if (r < t.size()) {
    if (w != r) memmove(t.data() + w, t.data() + r, t.size() - r);
    w += t.size() - r;
  }
  t.resize(w);
  while (t.size() > from && t.back() == ' ') t.pop_back();
}

}  // namespace

ReplyParser::ReplyParser() { buf_.reserve(1024); }

Reply ReplyParser::Parse(std::string_view raw) {
  Reply r;
  // buf_ holds the cleaned input followed by the joined text; reserve both
  // halves first so the views taken below stay valid.
  buf_.clear();
  buf_.reserve(2 * raw.size() * 3 + 16);  // U+FFFD may triple a byte
  text::AppendCleanUtf8(raw, &buf_);
  const size_t clean_len = buf_.size();
  std::string_view s = Trim(std::string_view(buf_.data(), clean_len));

  if (IStartsWith(s, "Diagnostic-Code:")) s = Trim(s.substr(16));
  // Diagnostic type: "smtp; ", "X-Postfix; ", "X-Unix; ".
  for (size_t i = 0; i < s.size() && i < 24; ++i) {
    const char c = s[i];
    if (c == ';') { s = Trim(s.substr(i + 1)); break; }
    if (!(IsAsciiAlnum(c) || c == '-')) break;
  }

  // Postfix: "... (in reply to RCPT TO command)". Looked for from the
  // first '(' (memchr), and not at all in the many replies without one.
  if (size_t p = s.find('('); p != npos && (p = IFind(s, "(in reply to ", p)) != npos) {
    r.command = SmtpCommandFromWords(s.substr(p + 13));
    s = Trim(s.substr(0, p));
  }
  // Postfix: "host mx.example.com[192.0.2.1] said: 550 ...", or
  // "... refused to talk to me: 554 ...". Colons are few, so look at what
  // precedes each one rather than searching for every phrase.
  for (size_t colon = s.find(':'); colon != npos; colon = s.find(':', colon + 1)) {
    const std::string_view before = s.substr(0, colon);
    size_t verb = npos;
    if (text::IEndsWith(before, " said")) {
      verb = colon - 5;
    } else if (text::IEndsWith(before, " refused to talk to me")) {
      verb = colon - 22;
      if (r.command == SmtpCommand::kUnknown) r.command = SmtpCommand::kConnect;
    }
    if (verb == npos) continue;
    const std::string_view head = s.substr(0, verb);
    // A reply that opens with its own code and quotes another host's answer
    // ("550 5.1.7 <x>: Sender address rejected: undeliverable address: host
    // h said: 550 5.1.1 ... User unknown") is that reply, about its own
    // subject: the quote is the check it made, not the answer to our mail.
    if (StartsWithReplyCode(head)) break;
    if (size_t h = IFind(head, "host "); h != npos) r.remote_host = Trim(head.substr(h + 5));
    s = Trim(s.substr(colon + 1));
    break;
  }
  // Exim: "SMTP error from remote mail server after RCPT TO:<x>: host h [ip]: 550 ...".
  if (size_t e = s.find(':') == npos ? npos : IFind(s, "SMTP error from remote mail"); e != npos) {
    size_t after = IFind(s, " after ", e);
    if (after != npos) {
      std::string_view rest = s.substr(after + 7);
      if (r.command == SmtpCommand::kUnknown) r.command = SmtpCommandFromWords(rest);
      size_t colon = rest.find(':');
      if (size_t gt = rest.find(">:"); gt != npos && (colon == npos || gt < rest.find('\n'))) colon = gt + 1;
      if (colon != npos) rest = Trim(rest.substr(colon + 1));
      if (IStartsWith(rest, "host ")) {
        if (size_t hc = rest.find(": "); hc != npos) {
          r.remote_host = Trim(rest.substr(5, hc - 5));
          rest = Trim(rest.substr(hc + 2));
        }
      }
      s = rest;
    }
  }
  // Sendmail transcript: ">>> RCPT To:<x>" then "<<< 550 5.1.1 ...".
  if (size_t t = s.find("<<< "); t != npos) {
    if (size_t cmd = s.rfind(">>> ", t); cmd != npos && r.command == SmtpCommand::kUnknown)
      r.command = SmtpCommandFromWords(s.substr(cmd + 4));
    s = s.substr(t);
  }

  size_t start = FindCode(s);
  size_t body;  // where the reply's own text begins
  if (start != npos) {
    r.code = (s[start] - '0') * 100 + (s[start + 1] - '0') * 10 + (s[start + 2] - '0');
    body = start + 3;
    if (body < s.size()) ++body;  // the separator
  } else {
    start = SkipLeadPunct(s, 0);
    body = start;
  }
  while (body < s.size() && s[body] == ' ') ++body;
  if (size_t n = ParseEnhancedStatus(s.substr(body), &r.status)) {
    if (r.code == 0 || r.status.klass == r.code / 100) body += n;
    else r.status = EnhancedStatus();
  } else if (r.code != 0) {
    // A status behind a marker or a gateway's tag: Cisco IronPort's and
    // qmail's "550 #5.1.0 Address rejected", Barracuda's "550 cuda_nsu 5.4.1
    // [x]: ...". The tag is one word with an underscore, so a word of the
    // text before a number is none. Only the status is read; the text keeps
    // marker, tag and status, as the rules written for it expect.
    size_t at = body;
    if (at < s.size() && s[at] == '#') {
      ++at;
    } else {
      bool underscore = false;
      size_t w = at;
      while (w < s.size() && w - at < 24 && (IsAsciiAlnum(s[w]) || s[w] == '_')) underscore |= s[w++] == '_';
      if (underscore && w < s.size() && s[w] == ' ') at = w + 1;
    }
    // The subject is one digit (RFC 3463 has x.0 to x.7): a number written
    // with thousands dots behind a tag ("552 max_size 5.242.880 bytes") is
    // no status.
    EnhancedStatus behind;
    if (at != body && ParseEnhancedStatus(s.substr(at), &behind) && behind.klass == r.code / 100 &&
        at + 3 < s.size() && s[at + 3] == '.')
      r.status = behind;
  }

  // Join the reply's lines, dropping each line's repeated code and status.
  const size_t text_begin = buf_.size();
  std::string_view rest = s.substr(body);
  bool first = true;
  while (true) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    if (!first) {
      line = Trim(line);
      if (line.substr(0, 4) == "<<< ") line.remove_prefix(4);
      if (r.code && line.size() >= 3 && CodeAt(line, 0) && (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0') == r.code) {
        line.remove_prefix(line.size() > 3 ? 4 : 3);
        line = Trim(line);
        EnhancedStatus again;
        if (size_t n = ParseEnhancedStatus(line, &again); n && again.klass == r.status.klass &&
                                                          again.subject == r.status.subject && again.detail == r.status.detail)
          line.remove_prefix(n);
      }
    }
    if (buf_.size() > text_begin) buf_.push_back(' ');
    text::AppendCollapsed(line, &buf_);
    first = false;
    if (nl == npos) break;
    rest.remove_prefix(nl + 1);
  }
  StripInlineRepeats(&buf_, text_begin, r.code, r.status);
  r.text = Trim(std::string_view(buf_).substr(text_begin));
  if (!r.status.present()) r.status = TrailingBracketStatus(r.text, r.code);
  return r;
}

}  // namespace rebound
