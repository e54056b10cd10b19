// relay/replies.h: the submission server's replies, in one table. The
// document's return codes are sent word for word (no enhanced status code,
// as the document writes them); the server's own replies carry one.
// src/relay/replies_test.cc checks that each classifies to its category.
#pragma once

#include <string_view>

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
inline constexpr std::string_view kReplySuppressed = "550 5.1.1 Recipient address is on the suppression list of this account";
inline constexpr std::string_view kReplySenderDomain = "553 5.7.1 Sender address domain not allowed for this account";
inline constexpr std::string_view kReplyBadSender = "501 5.1.7 Invalid sender address";
inline constexpr std::string_view kReplyAuthRequired = "530 5.7.0 Authentication required";
inline constexpr std::string_view kReplyEncryptionRequired = "538 5.7.11 Encryption required for requested authentication mechanism";
inline constexpr std::string_view kReplyBadSequence = "503 5.5.1 Bad sequence of commands";
inline constexpr std::string_view kReplyUnknownCommand = "500 5.5.1 Command unrecognized";
inline constexpr std::string_view kReplySyntax = "501 5.5.4 Syntax error in parameters or arguments";
inline constexpr std::string_view kReplyBadCharacter = "500 5.5.2 Invalid character in command";
inline constexpr std::string_view kReplyLineTooLong = "500 5.5.2 Line too long";
inline constexpr std::string_view kReplyContentDeferred = "451 4.7.1 Greylisted by the content check, try again later";
inline constexpr std::string_view kReplyContentCheckUnavailable = "451 4.7.0 Content check temporarily unavailable, try again later";
inline constexpr std::string_view kReplyTempQueueFailure = "451 4.3.0 Temporary failure while queueing the message, try again";

}  // namespace rebound::relay
