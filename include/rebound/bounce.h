// rebound/bounce.h: reading bounce emails (DSNs, ARF reports, auto-replies
// and the non-standard bodies of real MTAs) into one record per recipient.
//
// BounceParser is pure: it takes the bytes of one RFC 5322 message and
// returns values; it opens no files and reads no clocks. Line ends may be LF,
// CRLF or CR. Text parts are decoded (quoted-printable, base64, RFC 2047,
// charsets through iconv) to UTF-8 before anything looks at them; bodies of
// attachments are never decoded or scanned, and only a bounded prefix of the
// bounce text is examined, so the cost of a message is bounded whatever its
// size. Every recipient's diagnostic is classified by the Classifier given
// at construction (not owned; must outlive the parser).
//
// One BounceParser per thread (it owns reusable buffers, iconv descriptors
// and a classifier scratch). Parse() fails only for input that is not an
// email at all (empty, binary, no header); a message that is an email but not
// a bounce is ok with is_bounce == false and no records.
//
// MboxSplitter cuts a byte stream into messages at "From " lines, so callers
// read a multi-gigabyte mbox in bounded memory.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rebound/classifier.h"
#include "rebound/export.h"
#include "rebound/reply.h"
#include "rebound/status.h"
#include "rebound/verdict.h"

namespace rebound {

// Headers of the message that bounced, so a bounce ties back to a send.
struct OriginalMessage {
  std::string message_id, from, to, subject;
  std::string list_id;         // List-Id, or a campaign header when present
  std::string verp_recipient;  // recipient decoded from a VERP return path
};

struct BounceRecord {
  std::string recipient;
  std::string action;      // failed, delayed, delivered, relayed, expanded
  std::string status;      // D.S.N. (RFC 3463), "" when unknown
  int reply_code = 0;      // basic SMTP code, 0 when the bounce has none
  std::string diagnostic;  // the full reply text as the bounce gives it
  std::string remote_mta;
  // The command the failing reply answered, when the bounce says; in JSON
  // its SmtpCommandName ("RCPT", "DATA-END"), null when unknown.
  SmtpCommand smtp_command = SmtpCommand::kUnknown;
  std::string timestamp;     // ISO 8601, "" when unknown
  std::string reporting_mta_kind;  // "rfc3464", "postfix", "arf", ...
  std::string feedback_type;       // ARF: abuse, fraud, opt-out, ...
  Verdict verdict;
  // Which part of the bounce decided the verdict: "diagnostic-code" (the
  // DSN's fields), "extractor:NAME" (a per-format reader's text), "text"
  // (the whole human-readable part), "format:KIND" (ARF, auto-reply),
  // "prose:near-recipient" / "prose:below-heading" (a sentence the generic
  // prose reader found where the others gave no cause), "none". Static
  // storage.
  std::string_view decided_by;
};

struct BounceResult {
  bool is_bounce = false;  // false: not a bounce (records is empty)
  std::string kind;        // reporting_mta_kind of the whole message
  OriginalMessage original;
  std::vector<BounceRecord> records;  // in the order the bounce lists them
};

class REBOUND_EXPORT BounceParser {
 public:
  explicit BounceParser(const Classifier* classifier);
  ~BounceParser();
  BounceParser(const BounceParser&) = delete;
  BounceParser& operator=(const BounceParser&) = delete;

  // Parses one message. *out is overwritten. A record's verdict views the
  // Classifier's rules, or (a URL the diagnostic names, as its reference)
  // the parser's own storage: use or copy the records before the next Parse.
  Status Parse(std::string_view message, BounceResult* out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Splits an mbox (or a single message, which may start with a "From " line)
// into messages. Feed chunks of any size; each complete message goes to the
// callback without its "From " separator line. Memory is bounded by the
// largest message, capped at max_message bytes (the rest of an oversized
// message is dropped; the callback is told it was truncated).
class REBOUND_EXPORT MboxSplitter {
 public:
  using Callback = std::function<void(std::string_view message, bool truncated)>;
  explicit MboxSplitter(Callback cb, size_t max_message = 32u << 20);
  ~MboxSplitter();
  MboxSplitter(const MboxSplitter&) = delete;
  MboxSplitter& operator=(const MboxSplitter&) = delete;
  void Feed(std::string_view chunk);
  void Finish();  // flushes the last message
  size_t messages() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rebound
