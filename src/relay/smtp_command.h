// relay/smtp_command.h: parsing what an SMTP client sends (RFC 5321), with
// no I/O: one command line in, a Command out. Also mailbox syntax checks
// (RFC 5321 Mailbox, RFC 6531 when SMTPUTF8 is in use) and the SASL PLAIN
// decoding the server needs. Pure functions, thread-safe, fuzzed
// (fuzz/fuzz_smtp_command.cc). string_views in a Command point into the line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rebound::relay {

enum class Verb : uint8_t {
  kUnknown, kEhlo, kHelo, kMail, kRcpt, kData, kRset, kNoop, kQuit, kVrfy, kExpn, kHelp, kStartTls, kAuth, kBdat
};
std::string_view VerbName(Verb v);

struct Command {
  Verb verb = Verb::kUnknown;
  std::string_view arg;  // everything after the verb and its space, trimmed
  // MAIL FROM / RCPT TO only:
  std::string_view path;  // the address inside <>, "" for the null path <>
  std::vector<std::pair<std::string_view, std::string_view>> params;  // ESMTP keyword=value (value may be "")
};

enum class ParseResult : uint8_t {
  kOk,
  kUnknownVerb,   // 500 5.5.1
  kSyntax,        // 501 5.5.4: bad arguments (MAIL/RCPT path, params)
  kBadCharacter,  // 500 5.5.2: NUL or a bare CR in the line
};

// `line` without its CRLF.
ParseResult ParseCommand(std::string_view line, Command* out);

// RFC 5321 Mailbox: Local-part "@" ( Domain / address-literal ). With
// utf8 = true (SMTPUTF8 given in MAIL FROM), UTF-8 is allowed in atoms and
// labels (RFC 6531). Length limits: local part 64, domain 255, total 254.
bool IsValidMailbox(std::string_view address, bool utf8);

// Base64 (RFC 4648) decoding; false on bad input.
bool DecodeBase64(std::string_view in, std::string* out);
std::string EncodeBase64(std::string_view in);

// SASL PLAIN message: authzid NUL authcid NUL passwd.
bool ParseSaslPlain(std::string_view decoded, std::string* user, std::string* password);

}  // namespace rebound::relay
