// rebound/reply.h: turning the text of an SMTP reply, as people paste it and
// as MTAs print it, into its parts.
//
// Accepted: single and multi-line replies ("550-..." continuation lines), an
// enhanced status code (RFC 3463) with or without the basic code, no code at
// all, and the usual wrappers: a DSN "Diagnostic-Code: smtp; ..." field,
// Postfix's "host H[ip] said: ... (in reply to RCPT TO command)", Exim's
// "SMTP error from remote mail server after RCPT TO:<x>: ...", Sendmail's
// "... 550 5.1.1 <x>... User unknown". Any bytes are safe: CR/LF/tabs/NULs
// become spaces and invalid UTF-8 becomes U+FFFD, so the text is valid UTF-8.
//
// The parser is pure (no I/O, no clocks). A ReplyParser owns a buffer that it
// reuses, so parsing allocates nothing once the buffer has grown to the
// largest reply seen. The string_views of a Reply point into that buffer and
// stay valid until the next Parse() on the same parser. One parser per thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "rebound/export.h"

namespace rebound {

// RFC 3463 class.subject.detail; all zero when absent.
struct REBOUND_EXPORT EnhancedStatus {
  uint8_t klass = 0;     // 2, 4 or 5
  uint16_t subject = 0;  // 0..999
  uint16_t detail = 0;   // 0..999
  bool present() const { return klass != 0; }
  // "5.1.1", or "" when absent; buf must hold 12 bytes.
  std::string_view Format(char* buf) const;
};

// The SMTP command a reply answered, when the wrapper states it.
enum class SmtpCommand : uint8_t { kUnknown, kConnect, kHelo, kEhlo, kStartTls, kAuth, kMail, kRcpt, kData, kDataEnd, kQuit };
REBOUND_EXPORT std::string_view SmtpCommandName(SmtpCommand c);  // "RCPT", "" for kUnknown
// The command that words name at their start, the one vocabulary for every
// place that reads a command out of text: the verb as sent ("RCPT TO:<a@b>",
// "MAIL FROM", "EHLO mx.example.com"), the MTAs' wordings after "in reply
// to" and "after" ("pipelined RCPT TO", "end of DATA", "initial
// connection"), a transcript's lone "." (the end of the message data), and
// SmtpCommandName's own names ("DATA-END", "CONNECT"). Case-insensitive; a
// name must end where a word does ("DATABASE" names nothing). The end of
// the message data is kDataEnd, never kData: a refusal then is about the
// message sent, one at DATA is not. *used, when given, gets the bytes the
// name took. kUnknown when the words name no command.
REBOUND_EXPORT SmtpCommand SmtpCommandFromWords(std::string_view words, size_t* used = nullptr);

struct REBOUND_EXPORT Reply {
  int code = 0;                // basic reply code (RFC 5321), 0 when absent
  EnhancedStatus status;       // enhanced status code, when present
  SmtpCommand command = SmtpCommand::kUnknown;
  std::string_view remote_host;  // "mx.example.com[192.0.2.1]" when stated
  std::string_view text;         // the reply text without codes, one line, trimmed
  // The class the reply carries: the basic code's first digit, else the
  // enhanced status class, else 0 (unknown).
  int klass() const { return code ? code / 100 : status.klass; }
};

class REBOUND_EXPORT ReplyParser {
 public:
  ReplyParser();
  // Parses raw; never fails (a reply without any code has code 0 and the
  // whole cleaned input as text). Views in the result live until the next call.
  Reply Parse(std::string_view raw);

 private:
  std::string buf_;
};

// Parses an enhanced status code at the start of s ("5.1.1", "4.7.0").
// Returns the number of bytes used, 0 when s does not start with one.
REBOUND_EXPORT size_t ParseEnhancedStatus(std::string_view s, EnhancedStatus* out);

// The basic reply code ("550") that starts at s[i], or 0. One definition for
// the reply parser and the bounce reader: three digits, the first 2 to 5,
// not glued to a word, number or dot before them, and followed by the end,
// white space, '-', ',', or a colon with the end, a space or an enhanced
// status of the same class after it ("451: try later", "550:5.1.1").
REBOUND_EXPORT int ReplyCodeAt(std::string_view s, size_t i);

}  // namespace rebound
