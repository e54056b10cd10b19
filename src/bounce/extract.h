// What the per-format extractors of src/bounce/extractors/ see and return.
//
// An extractor reads a bounce that is not a standard DSN (or a DSN whose
// fields lack the diagnostic) and returns the failed recipients with their
// diagnostic text. It decides nothing about the reason: the Classifier does,
// from the diagnostic, unless the format itself says something the text does
// not (e.g. "gave up after 5 days": expired), which goes in reason_hint.
//
// Extractors are tried in the fixed order of kExtractors (registry.cc); the
// first that returns recipients wins. Each one must reject quickly (a header
// or marker check) the bounces that are not its own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bounce/mime.h"
#include "rebound/reply.h"
#include "rebound/verdict.h"

namespace rebound::bounce {

// A prose phrase made ready for FindPhraseIn once (lower-cased, cut into
// words, the word to seek first chosen), so that a search costs only the
// search. Make one per call site with REBOUND_PHRASE("...") (a function-local
// static) or a static array.
class Phrase {
 public:
  explicit Phrase(std::string_view text);
  size_t size() const { return n_; }  // words
  std::string_view word(size_t i) const { return std::string_view(lower_.data() + start_[i], len_[i]); }
  // The word sought first, and the least and most bytes from the phrase's
  // start to it in a match.
  size_t anchor() const { return anchor_; }
  std::string_view anchor_word() const { return std::string_view(lower_.data() + start_[anchor_], len_[anchor_]); }
  size_t prefix_min() const { return prefix_min_; }
  size_t prefix_max() const { return prefix_max_; }

 private:
  static constexpr size_t kMaxWords = 24;  // more words are dropped (no marker is that long)
  std::string lower_;
  uint16_t start_[kMaxWords] = {}, len_[kMaxWords] = {};
  size_t n_ = 0, anchor_ = 0, prefix_min_ = 0, prefix_max_ = 0;
};
#define REBOUND_PHRASE(text)                         \
  ([]() -> const ::rebound::bounce::Phrase& {        \
    static const ::rebound::bounce::Phrase p(text); \
    return p;                                        \
  }())

struct Context {
  const Headers* headers = nullptr;  // the bounce's own top-level headers
  std::string subject;               // decoded
  std::string from;                  // decoded, lower case
  std::string to;                    // decoded, lower case
  // The human-readable bounce text: decoded text parts outside any attached
  // message, cut before the returned copy of the original message. Bounded.
  std::string text;
  std::string lower;  // text with A-Z lower-cased: same length and offsets
  // Case-insensitive search in text (through lower): offset or npos.
  size_t Find(std::string_view needle, size_t from = 0) const {
    char buf[128];
    if (needle.size() > sizeof buf) return IFind(text, needle, from);
    for (size_t i = 0; i < needle.size(); ++i) buf[i] = Lower(needle[i]);
    return FindBytes(lower, std::string_view(buf, needle.size()), from);
  }
  // Case-insensitive search for a prose phrase (words separated by single
  // spaces) that the text may have wrapped: between two words any run of
  // blanks holding at most one line break stands for the space (see
  // FindPhraseIn). Offset of the match or npos; *end, when given, gets the
  // offset just past it (the match may be longer than the phrase).
  size_t FindPhrase(const Phrase& phrase, size_t from = 0, size_t* end = nullptr) const;
  // The decoded text after a "copy of the message follows" marker, when the
  // original is inline rather than an attached part (bounded).
  std::string inline_original;
  bool has_rfc822_part = false;
  // The message holds a delivery-status part (read by its own stage).
  bool has_delivery_status = false;
  // Headers of the attached original message, when there is one.
  const Headers* original_headers = nullptr;
  // Where the bounce's own words in text end (ProseEnd, prose.h), found
  // once for the generic extractor and the prose reader; npos until then.
  mutable size_t prose_end = std::string::npos;
};

struct Candidate {
  std::string recipient;
  std::string diagnostic;
  std::string status;  // D.S.N. when the format states it apart from the text
  int reply_code = 0;
  std::string remote_mta;
  SmtpCommand command = SmtpCommand::kUnknown;  // the one the format states apart from the text
  std::string action;  // "failed" unless the format says "delayed"
  std::string timestamp;      // raw date text (RFC 5322 or similar)
  std::string feedback_type;  // ARF only
  std::optional<Reason> reason_hint;
  // The format says the receiving server refused this address itself (its
  // recipient check), not the message: a "user unknown" then means what it
  // says even when the SMTP command is not stated (format_hints.cc).
  bool recipient_refused = false;
  // The format states its own verdict that the address is bad (PowerMTA's
  // bounce category "bad-mailbox"): evidence for a hard bounce.
  bool format_says_bad_address = false;
  // What gave the diagnostic, for BounceRecord::decided_by (static
  // storage; set by the parser, not by the extractors).
  std::string_view source;
  // The diagnostic is the whole human-readable text, not words about this
  // recipient: the prose reader's sentences are tried before it.
  bool whole_text = false;
};

struct Extraction {
  std::string kind;  // reporting_mta_kind
  std::vector<Candidate> recipients;
};

using ExtractFn = bool (*)(const Context& ctx, Extraction* out);

struct ExtractorEntry {
  const char* name;
  ExtractFn fn;
};

// The extractors in the order they are tried (registry.cc).
const std::vector<ExtractorEntry>& Extractors();

// Facts a report's format states about its recipients beyond their fields
// (format_hints.cc), applied to whatever read the report. dsn_fields is the
// raw message/delivery-status part, "" when there is none.
void ApplyFormatHints(const Context& ctx, std::string_view dsn_fields, Extraction* ex);

// Helpers shared by extractors (extract_util.cc).
//
// The phrase search behind Context::FindPhrase, over an already lower-cased
// haystack. Templates wrap their sentences wherever the addresses, host
// names, dates or language push the line end, so a marker sentence may be
// split anywhere between its words by a line break and indentation. A gap
// between two words of the phrase matches a run of 1 to kMaxPhraseGap of
// ' ', '\t', '\r', '\n' holding at most one '\n' (a blank line ends a
// paragraph: no marker spans it). Words match as in FindBytes (no word
// boundaries), case-insensitively. Returns the leftmost match at or after
// from, or npos; *end gets the offset past the match.
inline constexpr size_t kMaxPhraseGap = 64;
// FindPhraseIn past the first hit q of the phrase's anchor word.
size_t FindPhraseAround(std::string_view lower_hay, const Phrase& phrase, size_t from, size_t q, size_t* end);
inline size_t FindPhraseIn(std::string_view lower_hay, const Phrase& phrase, size_t from = 0, size_t* end = nullptr) {
  // Most texts lack the anchor word: one fast search settles them, inline.
  if (phrase.size() == 0 || from > lower_hay.size() || lower_hay.size() - from < phrase.prefix_min())
    return std::string_view::npos;
  const size_t q = FindBytes(lower_hay, phrase.anchor_word(), from + phrase.prefix_min());
  return q == std::string_view::npos ? q : FindPhraseAround(lower_hay, phrase, from, q, end);
}
// The same for a phrase used once (made ready on each call).
inline size_t FindPhraseIn(std::string_view lower_hay, std::string_view phrase, size_t from = 0, size_t* end = nullptr) {
  return FindPhraseIn(lower_hay, Phrase(phrase), from, end);
}
// Offset of the end of the paragraph holding offset at: the line break
// before the first blank (or white-space only) line after it, else
// text.size(). A wrapped sentence ends there at the latest.
size_t ParagraphEnd(std::string_view text, size_t at);
// Offset of the start of the line holding offset at (text[at] itself may be
// the line break ending it).
size_t LineStartAt(std::string_view text, size_t at);
//
// The first e-mail address in s (angle brackets, "mailto:" and quotes
// stripped), lower-cased domain kept as written; "" when none.
std::string FirstAddress(std::string_view s);
// Splits text into lines (no line ends).
std::vector<std::string_view> Lines(std::string_view text);
// True when s looks like an address line: optional spaces, an address in
// angle brackets or bare, optional trailing ':' and nothing else of substance.
bool IsAddressLine(std::string_view line, std::string* address);
// Joins lines [from, to) with single spaces, trimmed.
std::string JoinLines(const std::vector<std::string_view>& lines, size_t from, size_t to);
// Collapses runs of whitespace to one space and trims.
std::string Squash(std::string_view s);
// Squash(s) cut to at most max_out bytes (at a UTF-8 character boundary),
// without squashing more of s than that needs. The cut is made in the
// squashed text, so the same words give the same diagnostic however they
// are spaced, wrapped or padded (Squash(s.substr(0, n)) cuts a text with
// CRs or trailing blanks earlier).
std::string SquashPrefix(std::string_view s, size_t max_out);
// Offset of the first of the usual "original message follows" markers in
// text, or npos.
size_t FindOriginalMarker(std::string_view text);
// Reply code ("550") and status ("5.1.1") found in a diagnostic text, when present.
void FindCodes(std::string_view text, int* code, std::string* status);

inline size_t Context::FindPhrase(const Phrase& phrase, size_t from, size_t* end) const {
  return FindPhraseIn(lower, phrase, from, end);
}

}  // namespace rebound::bounce

namespace rebound::bounce {

// The common shape of text bounces: an address line ("<a@b>:", "  a@b")
// followed by its diagnostic lines, up to a blank line once some text was
// read, or the next address line. Scans lines [from, to). Addresses listed
// twice keep their first block.
void AddressBlocks(const std::vector<std::string_view>& lines, size_t from, size_t to, std::vector<Candidate>* out);

// The To header of the returned message (attached or inline), raw; "".
std::string OriginalTo(const Context& ctx);

// Index of the first line containing needle (case-insensitive), or npos.
size_t FindLine(const std::vector<std::string_view>& lines, std::string_view needle, size_t from = 0);

// An SMTP session as bounces quote it, read a line at a time: Postfix's
// notice to the postmaster ("In: RCPT TO:<a@b>", "Out: 550 ..." with its
// continuation lines unmarked) and the transcripts of Sendmail and Courier
// (">>> RCPT To:<a@b>", "<<< 550-..." on every line), and the session logs
// some servers quote, a time stamp before each "--> RCPT To:<a@b>" or
// "<-- 550 ..." (MDaemon). With PIPELINING
// several commands go out before their replies come back, so a reply
// answers the oldest command not yet answered, or the last one sent once
// all have been; one before any command is the greeting (kConnect).
class TranscriptReader {
 public:
  enum class Step { kOther, kSent, kReply };
  // What lines[*i] is. A reply takes its continuation lines with it: *i is
  // left on the last of them.
  Step Read(const std::vector<std::string_view>& lines, size_t* i);
  // kSent: the command sent. kReply: the command answered.
  SmtpCommand command() const { return command_; }
  // That command's address when it is a RCPT, else "" (lower case).
  const std::string& rcpt() const { return rcpt_; }
  // kReply: the reply, its lines joined by single spaces.
  const std::string& reply() const { return reply_; }
  // Some command was sent: the replies come from a remote server.
  bool in_session() const { return sent_any_; }

 private:
  struct Sent {
    SmtpCommand command;
    std::string rcpt;
  };
  std::vector<Sent> sent_;  // in this connection
  size_t answered_ = 0;
  bool sent_any_ = false;
  SmtpCommand command_ = SmtpCommand::kUnknown;
  std::string rcpt_, reply_;
};


// The reply of a quoted session that reports the failure for recipient
// (lower case): a session holds the 250s to MAIL FROM and to the other
// recipients too, so the failure is the 4xx/5xx that answered this
// recipient's RCPT, else the last 4xx/5xx of the session (a refusal of the
// message data, or of the connection). False when the text quotes no
// session with such a reply.
struct FailingReply {
  std::string reply;
  SmtpCommand command = SmtpCommand::kUnknown;
};
bool FindFailingReply(const std::vector<std::string_view>& lines, std::string_view recipient, FailingReply* out);

// The command that a quoted session shows answered by the reply a record
// already holds (a DSN's Diagnostic-Code quoting the "<<< 554 5.7.9 ..."
// that followed ">>> DATA"), compared with white space squashed and letter
// case ignored; kUnknown when no reply of the session is that one.
SmtpCommand CommandOfQuotedReply(const std::vector<std::string_view>& lines, std::string_view diagnostic);

// The SMTP step a sending MTA's own narrative names rather than by the
// command's name (qmail-remote and its forks: "Connected to x but my name
// was rejected" is HELO, "does not like recipient" RCPT, "failed after I
// sent the message" the end of the data); kUnknown when it names none.
SmtpCommand StepNamedInNarrative(std::string_view text);

}  // namespace rebound::bounce
