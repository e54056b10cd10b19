// relay/replies.h: every reply the submission server sends, in one table.
// The session and the listener write no reply text of their own: they send
// these constants, and the few replies that name the server's host go
// through HostReply or EhloReply below. The document's return codes are sent
// word for word (no enhanced status code, as the document writes them); the
// server's own replies carry one. kServerReplies and kHostReplies list them
// all; src/relay/replies_test.cc checks that each classifies to its category
// and that none is missing from those lists.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rebound::relay {

// --- the replies of the document, word for word ---------------------------
inline constexpr std::string_view kReplyAuthFailure = "535 Authentication failure";
inline constexpr std::string_view kReplyTooManyRcpts = "556 The number of RCPTs is over the size limit";
inline constexpr std::string_view kReplyTooLarge = "557 The length of DATA content has reached the maximum threshold";
inline constexpr std::string_view kReplyInvalidRcpt = "559 Invalid rcptto";
inline constexpr std::string_view kReplyDailyQuota = "552 Daily sending quota exceeded";
inline constexpr std::string_view kReplyMonthlyQuota = "552 Monthly sending quota exceeded";
inline constexpr std::string_view kReplyNotEnoughQuota = "552 Not enough sending quota";
inline constexpr std::string_view kReplyAccountUnavailable = "551 Main account unavailable";
inline constexpr std::string_view kReplyContentSpam = "554 Reject by content spam";
inline constexpr std::string_view kReplyQueued = "250 send mail ok";
// --- the server's own replies (RFC 5321 / 3463 / 4954) --------------------
// Refusals about the message or the account.
inline constexpr std::string_view kReplySuppressed = "550 5.1.1 Recipient address is on the suppression list of this account";
inline constexpr std::string_view kReplySenderDomain = "553 5.7.1 Sender address domain not allowed for this account";
// MAIL FROM's or the From header's domain is not a verified sending domain of
// the account (docs/domains.md); only where sending domains are enforced.
inline constexpr std::string_view kReplySenderNotVerified = "550 5.7.1 Sender domain is not a verified sending domain of this account";
inline constexpr std::string_view kReplyBadSender = "501 5.1.7 Invalid sender address";
inline constexpr std::string_view kReplyAuthRequired = "530 5.7.0 Authentication required";
inline constexpr std::string_view kReplyEncryptionRequired = "538 5.7.11 Encryption required for requested authentication mechanism";
inline constexpr std::string_view kReplyContentDeferred = "451 4.7.1 Greylisted by the content check, try again later";
inline constexpr std::string_view kReplyContentCheckUnavailable = "451 4.7.0 Content check temporarily unavailable, try again later";
inline constexpr std::string_view kReplyTempQueueFailure = "451 4.3.0 Temporary failure while queueing the message, try again";
// The inbound listener of the return path (src/inbound): refusals at RCPT
// and DATA. It accepts with kReplyOk and kReplyRecipientOk.
inline constexpr std::string_view kReplyNotReturnPath = "550 5.1.1 No such recipient here: this host takes only returned mail";
inline constexpr std::string_view kReplyForgedReturnPath = "550 5.7.1 Bounce address does not verify";
inline constexpr std::string_view kReplyUnknownBouncedMessage = "550 5.1.1 Bounce address names no message sent from here";
inline constexpr std::string_view kReplyBounceTooLarge = "552 5.3.4 Message too big for the bounce address";
inline constexpr std::string_view kReplyBounceFlood = "421 4.7.0 Too many messages from this source, try again later";
inline constexpr std::string_view kReplyBounceTooEarly = "451 4.3.0 The bounced message is still being sent, try again later";
// Commands out of sequence (the session's verb table picks among these).
inline constexpr std::string_view kReplyBadSequence = "503 5.5.1 Bad sequence of commands";
inline constexpr std::string_view kReplyHeloFirst = "503 5.5.1 Send EHLO or HELO first";
inline constexpr std::string_view kReplyNestedMail = "503 5.5.1 Nested MAIL command";
inline constexpr std::string_view kReplyMailFirst = "503 5.5.1 Need MAIL before RCPT";
inline constexpr std::string_view kReplyNoRecipients = "554 5.5.1 No valid recipients";
inline constexpr std::string_view kReplyTlsActive = "503 5.5.1 TLS already active";
// Commands the server does not offer or cannot read.
inline constexpr std::string_view kReplyUnknownCommand = "500 5.5.1 Command unrecognized";
inline constexpr std::string_view kReplyVrfyDisabled = "502 5.5.1 VRFY and EXPN are disabled";
inline constexpr std::string_view kReplyNoChunking = "502 5.5.1 CHUNKING is not offered";
inline constexpr std::string_view kReplySyntax = "501 5.5.4 Syntax error in parameters or arguments";
inline constexpr std::string_view kReplyBadBody = "501 5.5.4 BODY must be 7BIT or 8BITMIME";
inline constexpr std::string_view kReplyUnsupportedParameter = "555 5.5.4 Unsupported MAIL parameter";
inline constexpr std::string_view kReplyBadCharacter = "500 5.5.2 Invalid character in command";
inline constexpr std::string_view kReplyLineTooLong = "500 5.5.2 Line too long";
// AUTH (RFC 4954). The 334 challenges carry base64 "Username:" and "Password:".
inline constexpr std::string_view kReplyAuthChallengePlain = "334 ";
inline constexpr std::string_view kReplyAuthChallengeUser = "334 VXNlcm5hbWU6";
inline constexpr std::string_view kReplyAuthChallengePassword = "334 UGFzc3dvcmQ6";
inline constexpr std::string_view kReplyAuthCancelled = "501 5.0.0 Authentication cancelled";
inline constexpr std::string_view kReplyAuthUndecodable = "501 5.5.2 Cannot decode the response";
inline constexpr std::string_view kReplyAuthMalformedPlain = "501 5.5.2 Malformed PLAIN response";
inline constexpr std::string_view kReplyAuthMechanism = "504 5.5.4 Unrecognized authentication type";
inline constexpr std::string_view kReplyAuthSucceeded = "235 2.7.0 Authentication successful";
// Positive replies of the dialogue.
inline constexpr std::string_view kReplyOk = "250 2.0.0 OK";
inline constexpr std::string_view kReplySenderOk = "250 2.1.0 Sender OK";
inline constexpr std::string_view kReplyRecipientOk = "250 2.1.5 Recipient OK";
inline constexpr std::string_view kReplyStartData = "354 End data with <CR><LF>.<CR><LF>";
inline constexpr std::string_view kReplyStartTls = "220 2.0.0 Ready to start TLS";
inline constexpr std::string_view kReplyHelp = "214 2.0.0 Commands: EHLO HELO STARTTLS AUTH MAIL RCPT DATA RSET NOOP QUIT";
inline constexpr std::string_view kReplyBye = "221 2.0.0 Bye";
// The session or the listener ends the connection.
inline constexpr std::string_view kReplyBusy = "421 4.7.0 Too many connections, try again later";
inline constexpr std::string_view kReplyTooManyCommands = "421 4.7.0 Too many commands, closing connection";
inline constexpr std::string_view kReplyTooManyErrors = "421 4.7.0 Too many errors, closing connection";
inline constexpr std::string_view kReplyInternalError = "421 4.3.0 Internal error, closing connection";

// A reply that names the server's host name: head + hostname + tail.
struct HostReply {
  std::string_view head, tail;
  std::string With(std::string_view hostname) const {
    std::string s(head);
    s.append(hostname).append(tail);
    return s;
  }
};
inline constexpr HostReply kReplyGreeting{"220 ", " ESMTP Rebound"};
inline constexpr HostReply kReplyHelo{"250 ", ""};
inline constexpr HostReply kReplyTimeout{"421 4.4.2 ", " Timeout, closing connection"};
inline constexpr HostReply kReplyDataTimeout{"421 4.4.2 ", " Timeout during DATA, closing connection"};

// The multi-line EHLO reply, without the final CRLF: a greeting naming the
// client's EHLO argument, then the extensions offered.
inline std::string EhloReply(std::string_view hostname, std::string_view helo, int64_t max_message_size,
                             bool offer_starttls, bool offer_auth) {
  std::vector<std::string> lines = {std::string(hostname) + " Hello " + std::string(helo),
                                    "PIPELINING",
                                    "SIZE " + std::to_string(max_message_size),
                                    "8BITMIME",
                                    "SMTPUTF8",
                                    "ENHANCEDSTATUSCODES"};
  if (offer_starttls) lines.push_back("STARTTLS");
  if (offer_auth) lines.push_back("AUTH PLAIN LOGIN");
  std::string s;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) s += "\r\n";
    s += (i + 1 < lines.size() ? "250-" : "250 ") + lines[i];
  }
  return s;
}

// The one table: every fixed reply above.
inline constexpr std::string_view kServerReplies[] = {
    kReplyAuthFailure,     kReplyTooManyRcpts,        kReplyTooLarge,
    kReplyInvalidRcpt,     kReplyDailyQuota,          kReplyMonthlyQuota,
    kReplyNotEnoughQuota,  kReplyAccountUnavailable,  kReplyContentSpam,
    kReplyQueued,          kReplySuppressed,          kReplySenderDomain,    kReplySenderNotVerified,
    kReplyBadSender,       kReplyAuthRequired,        kReplyEncryptionRequired,
    kReplyContentDeferred, kReplyContentCheckUnavailable, kReplyTempQueueFailure,
    kReplyBadSequence,     kReplyHeloFirst,           kReplyNestedMail,
    kReplyMailFirst,       kReplyNoRecipients,        kReplyTlsActive,
    kReplyUnknownCommand,  kReplyVrfyDisabled,        kReplyNoChunking,
    kReplySyntax,          kReplyBadBody,             kReplyUnsupportedParameter,
    kReplyBadCharacter,    kReplyLineTooLong,         kReplyAuthChallengePlain,
    kReplyAuthChallengeUser, kReplyAuthChallengePassword, kReplyAuthCancelled,
    kReplyAuthUndecodable, kReplyAuthMalformedPlain,  kReplyAuthMechanism,
    kReplyAuthSucceeded,   kReplyOk,                  kReplySenderOk,
    kReplyRecipientOk,     kReplyStartData,           kReplyStartTls,
    kReplyHelp,            kReplyBye,                 kReplyBusy,
    kReplyTooManyCommands, kReplyTooManyErrors,       kReplyInternalError,
    kReplyNotReturnPath,   kReplyForgedReturnPath,    kReplyUnknownBouncedMessage,
    kReplyBounceTooLarge,  kReplyBounceFlood,         kReplyBounceTooEarly,
};
inline constexpr HostReply kHostReplies[] = {kReplyGreeting, kReplyHelo, kReplyTimeout, kReplyDataTimeout};

}  // namespace rebound::relay
