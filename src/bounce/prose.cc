// The generic prose reader (see prose.h).
#include "bounce/prose.h"

#include <algorithm>
#include <array>

#include "bounce/extract.h"
#include "bounce/mime.h"

namespace rebound::bounce {
namespace {

constexpr size_t kMaxParagraph = 2000;  // bytes of a squashed paragraph read
constexpr size_t kMaxSentence = 600;    // bytes of one candidate sentence

constexpr bool AsciiAlnum(unsigned char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
constexpr std::array<bool, 256> kAddrChar = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = AsciiAlnum(static_cast<unsigned char>(c)) || c >= 0x80;
  for (char c : std::string_view(".!#$%&'*+-/=?^_`{|}~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();
bool AddrChar(char c) { return kAddrChar[static_cast<unsigned char>(c)]; }
bool Letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || static_cast<unsigned char>(c) >= 0x80; }

bool HasWords(std::string_view s) {
  size_t letters = 0;
  for (char c : s)
    if (Letter(c) && ++letters >= 3) return true;
  return false;
}

// Cuts s to at most max bytes at a UTF-8 character boundary.
std::string_view CutAt(std::string_view s, size_t max) {
  if (s.size() <= max) return s;
  while (max > 0 && (static_cast<unsigned char>(s[max]) & 0xC0) == 0x80) --max;
  return s.substr(0, max);
}

// The address token around the '@' at offset at of s: [*b, *e), angle
// brackets and quotes included.
void TokenAround(std::string_view s, size_t at, size_t* b, size_t* e) {
  size_t i = at;
  while (i > 0 && AddrChar(s[i - 1])) --i;
  while (i > 0 && (s[i - 1] == '<' || s[i - 1] == '"')) --i;
  size_t j = at + 1;
  while (j < s.size() && AddrChar(s[j])) ++j;
  while (j < s.size() && (s[j] == '>' || s[j] == '"')) ++j;
  *b = i;
  *e = j;
}

// Start of the first address token at or after from in s, or s.size().
// Tokens holding skip (lower case; the recipient itself, which replies
// often repeat: "550 <x@y>... Mailbox full") are passed over.
size_t NextToken(std::string_view s, size_t from, std::string_view skip = {}) {
  for (size_t at = s.find('@', from); at != std::string_view::npos; at = s.find('@', at + 1)) {
    size_t b, e;
    TokenAround(s, at, &b, &e);
    if (!skip.empty() && e - b >= skip.size() && Lower(s.substr(b, e - b)).find(skip) != std::string::npos) {
      at = e > at ? e - 1 : at;
      continue;
    }
    return std::max(b, from);
  }
  return s.size();
}

// End of the last address token that ends at or before to in s, or 0.
size_t PrevTokenEnd(std::string_view s, size_t to) {
  if (to == 0) return 0;
  const size_t at = s.rfind('@', to - 1);
  if (at == std::string_view::npos) return 0;
  size_t b, e;
  TokenAround(s, at, &b, &e);
  return e <= to ? e : 0;
}

// Whether a sentence ends at s[i] ('.', '!', '?' after a letter, followed by
// a space), or s[i..i+2] is the ideographic full stop.
size_t SentenceEndAt(std::string_view s, size_t i) {
  const char c = s[i];
  if ((c == '.' || c == '!' || c == '?') && i > 0 && i + 1 < s.size() && s[i + 1] == ' ' &&
      (Letter(s[i - 1]) || s[i - 1] == ')' || s[i - 1] == '"'))
    return i + 1;
  if (c == '\xE3' && i + 2 < s.size() && s[i + 1] == '\x80' && s[i + 2] == '\x82') return i + 3;
  return 0;
}

// Start of the sentence holding offset at of s.
size_t SentenceStart(std::string_view s, size_t at) {
  size_t start = 0;
  for (size_t i = 0; i < at; ++i)
    if (size_t e = SentenceEndAt(s, i); e && e <= at) start = e;
  return start;
}

// End of the sentence holding offset at of s (past its full stop).
size_t SentenceEnd(std::string_view s, size_t at) {
  for (size_t i = at; i < s.size(); ++i)
    if (size_t e = SentenceEndAt(s, i)) return e;
  return s.size();
}

size_t ParagraphStartAt(std::string_view text, size_t at) {
  size_t s = LineStartAt(text, at);
  while (s > 0) {
    const size_t prev = LineStartAt(text, s - 1);  // the line that text[s - 1] ends
    if (Trim(text.substr(prev, s - 1 - prev)).empty()) break;
    s = prev;
  }
  return s;
}

// The paragraph before the one starting at start: its start, or npos.
size_t PreviousParagraph(std::string_view text, size_t start) {
  size_t i = start;
  while (i > 0 && (text[i - 1] == '\n' || text[i - 1] == ' ' || text[i - 1] == '\t' || text[i - 1] == '\r')) --i;
  if (i == 0) return std::string_view::npos;
  return ParagraphStartAt(text, i - 1);
}

// The paragraph after the one ending at end (ParagraphEnd): its start, or npos.
size_t NextParagraph(std::string_view text, size_t end) {
  size_t i = end;
  while (i < text.size() && (text[i] == '\n' || text[i] == ' ' || text[i] == '\t' || text[i] == '\r')) ++i;
  return i < text.size() ? LineStartAt(text, i) : std::string_view::npos;
}

std::string SquashedParagraph(std::string_view text, size_t start) {
  return SquashPrefix(text.substr(start, ParagraphEnd(text, start) - start), kMaxParagraph);
}

// Header fields of a message. One of the first set begins a returned
// message on its own. The second set, on consecutive unindented lines,
// begins one when the run holds two fields and one of them is not what a
// bounce's own summary of the message shows ("Subject: 'Hello'", "Date:
// ..."; From, To, Cc, Subject and Date are).
// The field name that begins line ("Received" of "Received: from ..."), or
// "" when the line does not begin with one (a name is at most 40 bytes of
// letters, digits and '-', then ':').
std::string_view FieldName(std::string_view line) {
  const size_t n = std::min<size_t>(line.size(), 41);
  for (size_t i = 0; i < n; ++i) {
    const char c = line[i];
    if (c == ':') return line.substr(0, i);
    if (!(AsciiAlnum(static_cast<unsigned char>(c)) || c == '-')) return {};
  }
  return {};
}
bool NameIn(std::string_view name, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names)
    if (IEquals(name, n)) return true;
  return false;
}
bool MessageOnlyField(std::string_view name) {
  return NameIn(name, {"Received", "Return-Path", "DKIM-Signature", "ARC-Seal", "Authentication-Results",
                       "X-Original-To", "Delivered-To"});
}
bool SummaryField(std::string_view name) { return NameIn(name, {"From", "To", "Cc", "Subject", "Date"}); }
bool OtherMessageField(std::string_view name) {
  return NameIn(name, {"Reply-To", "Sender", "Message-ID", "MIME-Version", "X-Mailer", "User-Agent", "In-Reply-To",
                       "References"});
}
// Content-Type and the like head MIME parts as well as messages: they
// continue a run of fields but neither start nor complete one.
bool ContentField(std::string_view name) { return IStartsWith(name, "Content-"); }

// A line that announces the returned message: it names the copy
// ("original message", "returned mail", "message headers", ...) and reads
// as a heading (a short line, between delimiters, or ending in ':', or
// saying it follows, is below, attached or included). The caller checks
// that it begins its paragraph (Postfix's "You can delete your own text
// from the attached returned message." ends one).
bool AnnouncesOriginal(std::string_view line) {
  if (line.empty() || line.size() > 120) return false;
  size_t words = 1;
  for (char c : line) words += c == ' ';
  if (words > 10) return false;
  static constexpr std::string_view kNames[] = {
      "original message", "original mail", "original e-mail", "original email", "returned message",
      "returned mail",    "undelivered message", "unsent message", "copy of the message", "copy of your message",
      "copy of the original", "message headers", "original headers", "headers of the original", "message follows",
      "message text follows", "original text", "originalnachricht", "ursprüngliche nachricht", "message d'origine",
      "message original", "messaggio originale", "mensaje original"};
  const std::string l = Lower(line);
  bool named = false;
  for (std::string_view n : kNames) named = named || l.find(n) != std::string::npos;
  if (!named) return false;
  const char first = l.front();
  if (first == '-' || first == '=' || first == '*' || first == '_' || first == '~' || first == '#' || first == '[' ||
      first == '<' || first == '(' || first == '>')
    return true;
  if (l.back() == ':') return true;
  for (std::string_view w : {"follow", "below", "attached", "included", "enclosed", "folgt", "ci-dessous", "suit"})
    if (l.find(w) != std::string::npos) return true;
  return false;
}

bool SpeaksOfFailure(std::string_view lower_para) {
  static constexpr std::string_view kWords[] = {
      "deliver", "fail", "could not", "couldn't", "unable", "rejected", "returned", "bounce", "not be sent",
      "zugestellt", "zustellbar", "remis", "distribu", "entregar", "consegn", "送信", "配信", "投递", "退信", "送達"};
  for (std::string_view w : kWords)
    if (lower_para.find(w) != std::string_view::npos) return true;
  return false;
}

class Collector {
 public:
  explicit Collector(std::vector<ProseSentence>* out) : out_(out), base_(out->size()) {}
  bool full() const { return out_->size() - base_ >= kMaxProseSentences; }
  void Add(std::string_view s, ProseWhere where) {
    // Leading punctuation left by the cut after an address ("...", ":").
    while (!s.empty() && (s.front() == ' ' || s.front() == ':' || s.front() == '.' || s.front() == ',' ||
                          s.front() == ';' || s.front() == '>' || s.front() == ')' || s.front() == ']' ||
                          s.front() == '-' || s.front() == '"'))
      s.remove_prefix(1);
    s = Trim(CutAt(s, kMaxSentence));
    if (full() || !HasWords(s)) return;
    for (size_t i = base_; i < out_->size(); ++i)
      if ((*out_)[i].text == s) return;
    out_->push_back(ProseSentence{std::string(s), where});
  }
  // A squashed paragraph as a whole (when it holds more than one
  // sentence: a reply that the sentence cut would split, "550 5.2.0 Mail
  // rejete. Mail rejected. ofr_506", keeps its context), then each of its
  // sentences, in order.
  void AddSentences(std::string_view p, ProseWhere where) {
    if (SentenceEnd(p, 0) < p.size()) Add(p, where);
    size_t start = 0;
    while (start < p.size() && !full()) {
      const size_t end = SentenceEnd(p, start);
      Add(p.substr(start, end - start), where);
      start = end;
    }
  }

 private:
  std::vector<ProseSentence>* out_;
  size_t base_;
};

// Whether the address at [a, a + n) of lower stands alone (not part of a
// longer address).
bool WholeAddress(std::string_view lower, size_t a, size_t n) {
  if (a > 0 && AddrChar(lower[a - 1])) return false;
  const size_t e = a + n;
  return e >= lower.size() || !(AsciiAlnum(static_cast<unsigned char>(lower[e])) || lower[e] == '-' || lower[e] == '_' ||
                                (lower[e] == '.' && e + 1 < lower.size() && AsciiAlnum(static_cast<unsigned char>(lower[e + 1]))));
}

}  // namespace

std::string_view ProseWhereName(ProseWhere w) {
  return w == ProseWhere::kNearRecipient ? "prose:near-recipient" : "prose:below-heading";
}

size_t ProseEnd(std::string_view text) {
  size_t pos = 0;
  size_t run_start = std::string_view::npos;  // first of consecutive unindented message fields
  size_t run_fields = 0;
  bool run_other = false;  // the run holds a field a bounce's summary does not show
  bool paragraph_start = true;  // the line follows a blank line (or starts the text)
  while (pos < text.size()) {
    const size_t eol = LineEnd(text, pos);
    std::string_view line = text.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string_view quoted = line;  // a "> " quotation of the message is still the message
    if (quoted.starts_with("> ")) quoted.remove_prefix(2);
    const std::string_view name = FieldName(quoted);
    if (!name.empty() && MessageOnlyField(name)) return pos;
    const bool other = !name.empty() && OtherMessageField(name);
    if (other || (!name.empty() && SummaryField(name))) {
      if (run_start == std::string_view::npos) run_start = pos, run_fields = 0, run_other = false;
      ++run_fields;
      run_other = run_other || other;
      if (run_fields >= 2 && run_other) return run_start;
    } else if (!(line.starts_with(' ') || line.starts_with('\t') || ContentField(name))) {
      run_start = std::string_view::npos;  // (a folded field's continuation keeps the run)
    }
    if (paragraph_start && AnnouncesOriginal(Trim(line))) return pos;
    paragraph_start = Trim(line).empty();
    if (eol >= text.size()) break;
    pos = eol + 1;
  }
  return text.size();
}

size_t ProseEndOf(const Context& ctx) {
  if (ctx.prose_end == std::string::npos) ctx.prose_end = ProseEnd(ctx.text);
  return ctx.prose_end;
}

void ProseSentences(std::string_view text, std::string_view lower, size_t end, std::string_view recipient,
                    std::vector<ProseSentence>* out) {
  end = std::min(end, text.size());
  text = text.substr(0, end);
  lower = lower.substr(0, std::min(end, lower.size()));
  Collector col(out);
  size_t first_para = std::string_view::npos;
  int paragraphs = 0;
  if (recipient.find('@') != std::string_view::npos) {
    size_t from = 0;  // each paragraph once: the search goes on after it
    for (size_t at = FindBytes(lower, recipient); at != std::string_view::npos && paragraphs < 3 && !col.full();
         at = FindBytes(lower, recipient, std::max(from, at + recipient.size()))) {
      if (!WholeAddress(lower, at, recipient.size())) continue;
      const size_t ps = ParagraphStartAt(text, at);
      if (first_para == std::string_view::npos) first_para = ps;
      ++paragraphs;
      const size_t pe = ParagraphEnd(text, ps);
      from = pe;
      const std::string p = SquashedParagraph(text, ps);
      const std::string pl = Lower(p);
      bool ends_paragraph = false;
      size_t occurrences = 0;
      for (size_t a = FindBytes(pl, recipient); a != std::string::npos && occurrences < 2;
           a = FindBytes(pl, recipient, a + recipient.size())) {
        if (!WholeAddress(pl, a, recipient.size())) continue;
        ++occurrences;
        size_t tb, te;
        TokenAround(p, a + recipient.find('@'), &tb, &te);
        // The words after the address, to the next address.
        const size_t next = NextToken(p, te, recipient);
        const std::string_view after = std::string_view(p).substr(te, next - te);
        col.Add(after, ProseWhere::kNearRecipient);
        ends_paragraph = ends_paragraph || !HasWords(after);
        // The sentence that names it. Words after another address in the
        // same sentence are that address's ("a@x: mailbox full b@y: ..."):
        // then the sentence starts at this address.
        const size_t sentence_start = SentenceStart(p, tb);
        const size_t s = PrevTokenEnd(p, tb) > sentence_start ? tb : sentence_start;
        const size_t e = std::min(SentenceEnd(p, te), next);
        col.Add(std::string_view(p).substr(s, e - s), ProseWhere::kNearRecipient);
      }
      if (ends_paragraph) {
        // The cause in the paragraph below the address (up to another address).
        const size_t np = NextParagraph(text, pe);
        if (np != std::string_view::npos) {
          const std::string below = SquashedParagraph(text, np);
          col.Add(std::string_view(below).substr(0, NextToken(below, 0)), ProseWhere::kNearRecipient);
        }
      }
      // The words of the recipient's paragraph before its first address: a
      // heading that the list of addresses follows without a blank line.
      const size_t first_token = NextToken(p, 0);
      if (first_token < p.size()) col.AddSentences(std::string_view(p).substr(0, first_token), ProseWhere::kBelowHeading);
    }
  }
  if (first_para != std::string_view::npos) {
    // The heading: the paragraphs above, nearest first; those naming
    // addresses are other recipients' blocks (or the sender's), not headings.
    size_t ps = first_para;
    for (int looked = 0; looked < 4 && !col.full(); ++looked) {
      ps = PreviousParagraph(text, ps);
      if (ps == std::string_view::npos) break;
      const std::string p = SquashedParagraph(text, ps);
      if (p.find('@') != std::string::npos) continue;
      col.AddSentences(p, ProseWhere::kBelowHeading);
    }
    return;
  }
  // The text does not name the recipient: the first paragraph that speaks of
  // a failed delivery, and what follows it.
  for (size_t ps = NextParagraph(text, 0); ps != std::string_view::npos; ps = NextParagraph(text, ParagraphEnd(text, ps))) {
    const size_t pe = ParagraphEnd(text, ps);
    if (!SpeaksOfFailure(lower.substr(ps, std::min(pe - ps, kMaxParagraph)))) continue;
    size_t p = ps;
    for (int k = 0; k < 4 && p != std::string_view::npos && !col.full(); ++k, p = NextParagraph(text, ParagraphEnd(text, p)))
      col.AddSentences(SquashedParagraph(text, p), ProseWhere::kBelowHeading);
    return;
  }
}

}  // namespace rebound::bounce
