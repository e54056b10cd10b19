// Round 10c (docs/generalization.md, "Round 10c"): an address status under
// words that plainly speak of something else (a login, a part of the message,
// the dialogue's order, the client's connection, the sender's time limit)
// does not suppress the address. Each family in wordings of our own; the
// near misses are address replies that share a word and must still suppress.
#include <gtest/gtest.h>

#include "core/shipped_classifier_test_util.h"
#include "rebound/classifier.h"

namespace rebound {
namespace {

TEST(RoundTenC, ALoginUnderAnAddressStatusIsNoHardBounce) {
  const char* const replies[] = {
      "550 5.1.1 Incorrect user or password",
      "550 5.1.1 Wrong username/password combination",
      "553 5.1.3 Login and password do not match",
      "550 5.1.1 Authentication credentials invalid.",
      "550 5.1.1 Your password was rejected",
      "550 5.1.1 Invalid credential",
      "550 5.1.1 No authentication type succeeded",
      "550 5.1.1 Authentication mechanism not supported",
      "550 5.1.1 Authentication type is not specified",
      "550 5.1.1 Authentication exchange cancelled",
      "550 5.1.1 Login fail. Use an authorization code to log in",
      "550 5.1.1 Authentification required",
      "550 5.1.1 Authentification failed for this user",
      "550 5.1.1 Already authenticated",
      "550 5.1.1 AUTH not available on this port",
      "550 5.1.1 请使用授权码登录",
  };
  testing::ExpectNoHardBounce(std::begin(replies), std::end(replies));
}

TEST(RoundTenC, APartOfTheMessageOrDialogueIsNoHardBounce) {
  const char* const replies[] = {
      "550 5.1.1 Invalid setting: Tracking.OpenLevel",
      "550 5.1.1 Required headers not found",
      "550 5.1.1 Invalid priority value",
      "550 5.1.1 Header not terminated by CRLF",
      "550 5.1.1 Lone LF in headers",
      "550 5.1.1 JSON parsing error in request",
      "550 5.1.1 Unsupported charset in header",
      "550 5.1.1 Content-Type header is malformed",
      "550 5.1.1 Please say RCPT first",
      "550 5.1.1 Must have sender and recipient first",
      "550 5.1.1 Multiple MAIL FROM commands not allowed",
      "550 5.1.1 RCPT TO must not be empty",
      "550 5.1.1 Protocol violation",
      "550 5.1.1 Unimplemented command",
      "550 5.1.1 You are not allowed to connect",
      "550 5.1.1 Connection refused by policy",
      "550 5.1.1 Exceeded max time without delivery",
      "550 5.1.1 Maximum queue time exceeded",
      "550 5.1.1 DATA not allowed during message transfer",
      "550 5.1.1 Error: need MAIL command",
      "550 5.1.1 Please identify yourself first",
      "550 5.1.1 This is an LMTP server, use LHLO",
      "550 5.1.1 Error: TLS already active",
      "550 5.1.1 Unable to parse RCPT ESMTP parameters",
      "550 5.1.1 MAIL FROM parameters not recognized",
      "550 5.1.1 Syntax error (invalid NOTIFY parameter)",
      "550 5.1.1 Unknown RET value",
      "550 5.1.1 SMTPUTF8 is not supported",
      "550 5.1.1 Maximum limit of 100 recipients reached",
      // The sending side refused or asked for TLS, with the recipient named.
      "550 5.1.1 <jo@example.com>: Recipient address rejected: Your IP(192.0.2.4) is filtered",
      "550 5.1.1 Delivery to jo@example.com failed: your mail server has been blocked",
      "550 5.1.1 <jo@example.com>: Recipient address rejected: the sending IP is listed",
      "550 5.1.1 <jo@example.com>: Recipient address rejected: Your sender domain is required to send via an encrypted SMTP session",
      "550 5.1.1 <jo@example.com>: you must deliver mail over a secure connection",
  };
  testing::ExpectNoHardBounce(std::begin(replies), std::end(replies));
}

// Near misses: the address itself judged, beside the same words.
TEST(RoundTenC, TheAddressJudgedStillSuppresses) {
  const char* const replies[] = {
      "550 5.1.1 <jo@example.com>: Recipient address rejected: User unknown in virtual mailbox table",
      "553 5.1.3 Invalid characters in recipient address",
      "550 5.1.1 The email account that you tried to reach does not exist",
      "550 5.1.1 User unknown",
      "550 5.1.1 No such user here",
      // A user unknown beside a host that is named but not judged.
      "550 5.1.1 <jo@example.com>: Recipient address rejected: User unknown; your host was not judged",
  };
  testing::ExpectHardBounce(std::begin(replies), std::end(replies));
}

// A command's syntax shown with a placeholder is the command's form: a
// protocol error, never a verdict on the address it carried.
TEST(RoundTenC, ACommandsUsageIsAProtocolError) {
  const testing::ReplyCase cases[] = {
      {"501 5.5.4 Syntax: RCPT TO:<address>", Category::protocol_error},
      {"501 Usage: MAIL FROM: <address> [SIZE=n]", Category::protocol_error},
      {"501 5.5.2 Expected RCPT argument syntax of TO:<mailbox>", Category::protocol_error},
      {"501 syntax is RCPT TO:<forward-path>", Category::protocol_error},
      // Near misses: the address itself said to be badly written.
      {"501 5.1.3 Bad recipient address syntax", Category::invalid_address},
      {"553 5.1.3 The recipient address <jo@example> is not a valid RFC-5321 address", Category::invalid_address},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
  const char* const replies[] = {"501 5.1.3 Syntax: RCPT TO:<address>"};
  testing::ExpectNoHardBounce(std::begin(replies), std::end(replies));
}

// A message's size in the words of servers' DATA handlers, and a full
// folder; Postfix's message rate stays a rate.
TEST(RoundTenC, SizeAndFolderInOtherWords) {
  const testing::ReplyCase cases[] = {
      {"552 Error: Too much mail data", Category::message_too_large},
      {"552 5.2.3 Too much mail data.", Category::message_too_large},
      {"552 5.3.4 Error: too much mail data", Category::message_too_large},
      {"552 Too much mail data, max 10485760 bytes", Category::message_too_large},
      {"554 Message rejected: Stream is more than 10485760 bytes long.", Category::message_too_large},
      {"550 5.2.5 Folder full", Category::mailbox_full},
      {"452 4.2.2 Mail folder is over quota", Category::mailbox_full},
      // Near misses: mail that comes too fast is a rate, not a size.
      {"421 4.7.0 Error: too much mail from 192.0.2.1", Category::ip_rate_limited},
      {"450 4.7.1 Too much mail from your IP, slow down", Category::ip_rate_limited},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

// The families veto; they decide nothing new on their own: a login's words
// with a login's code are still a failed login, an unknown user still is one.
TEST(RoundTenC, TheVetoWordsKeepTheirCategories) {
  const testing::ReplyCase cases[] = {
      {"535 5.7.8 Incorrect user or password", Category::auth_failed},
      {"530 5.7.0 Authentification required", Category::auth_policy},
      {"550 5.1.1 User unknown", Category::recipient_not_found},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

// Review of round 10: an argument or keyword called bad with no command or
// ESMTP named only keeps an address status from suppressing the address; it
// no longer decides protocol_error over the address's own words.
TEST(RoundTenC, ABareArgumentIsAVetoOnly) {
  const testing::ReplyCase cases[] = {
      {"501 5.5.4 Unable to parse MAIL ESMTP parameters", Category::protocol_error},
      {"555 5.5.4 RCPT TO parameters not recognized or not implemented", Category::protocol_error},
      {"550 5.1.1 <bob@example.com>: Recipient address rejected: invalid mailbox, bad argument",
       Category::recipient_not_found},
      {"550 5.1.1 Recipient unknown. Unknown keyword in address", Category::recipient_not_found},
      {"503 5.5.1 MAIL not allowed during a mail transaction", Category::protocol_error},
      {"503 5.5.1 RCPT not allowed in this state", Category::protocol_error},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
  const char* const not_hard[] = {
      "550 5.1.1 Invalid arguments",
      "550 5.1.1 Bad argument",
  };
  testing::ExpectNoHardBounce(std::begin(not_hard), std::end(not_hard));
  const char* const hard[] = {
      "550 5.1.1 <bob@example.com>: user unknown, mail not allowed in this domain",
  };
  testing::ExpectHardBounce(std::begin(hard), std::end(hard));
}

}  // namespace
}  // namespace rebound
