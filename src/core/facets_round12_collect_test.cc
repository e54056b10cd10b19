// Round 12 collection (docs/generalization.md, "Collection, round 12" and
// "Round 12"): an SMTP command or extension the server has switched off is a
// protocol error, not the switched-off mailbox the word "disabled" otherwise
// suggests; and a 501 about some domain, no party named, does not suppress.
// Wordings of our own around Postfix's and Sendmail's replies; the near
// misses keep their own reading.
#include <gtest/gtest.h>

#include "core/shipped_classifier_test_util.h"
#include "rebound/classifier.h"

namespace rebound {
namespace {

TEST(RoundTwelveCollect, ASwitchedOffExtensionIsAProtocolError) {
  const testing::ReplyCase cases[] = {
      {"501 5.7.1 DSN support is disabled", Category::protocol_error},
      {"502 5.5.1 VRFY command is disabled", Category::protocol_error},
      {"501 Error: SMTPUTF8 disabled", Category::protocol_error},
      {"502 5.5.1 EXPN has been disabled on this server", Category::protocol_error},
      {"502 5.5.2 Sorry, the CHUNKING extension is not enabled here", Category::protocol_error},
      {"458 ETRN service is turned off", Category::protocol_error},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
  const char* const replies[] = {
      "501 5.7.1 DSN support is disabled",
      "550 5.1.1 VRFY command is disabled",
      "553 5.1.3 SMTPUTF8 support is disabled for <jo@example.com>",
  };
  testing::ExpectNoHardBounce(std::begin(replies), std::end(replies));
}

// Near misses: a mailbox or an account switched off keeps its reading, and a
// true "user unknown" beside the word DSN stays a hard bounce.
TEST(RoundTwelveCollect, ADisabledMailboxKeepsItsReading) {
  const testing::ReplyCase cases[] = {
      {"550 5.2.1 <jo@example.com>... Mailbox disabled for this recipient",
       Category::recipient_unavailable},
      {"550 5.2.1 The email account that you tried to reach is disabled.",
       Category::recipient_unavailable},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
  const char* const bounces[] = {
      "550 5.1.1 <jo@example.com>: Recipient address rejected: User unknown in local recipient table",
      "550 5.1.1 <jo@example.com>... User unknown",
  };
  testing::ExpectHardBounce(std::begin(bounces), std::end(bounces));
}

// Sendmail answers a HELO name it cannot accept with "501 5.0.0 Invalid
// domain name". A 501 refuses a command's argument, and with no party named
// the domain may be the HELO name's or the sender's: no suppression. Named
// as the recipient's, or with an address status, it still is one.
TEST(RoundTwelveCollect, A501AboutSomeDomainDoesNotSuppress) {
  const char* const replies[] = {
      "501 5.0.0 Invalid domain name",
      "501 Invalid domain",
      "501 5.5.4 Syntax error: invalid domain name",
  };
  testing::ExpectNoHardBounce(std::begin(replies), std::end(replies));
  auto scratch = testing::Shipped().NewScratch();
  for (const char* reply : replies)
    EXPECT_EQ(testing::Shipped().Classify(reply, scratch.get()).hard_bounce_facts.veto, HardBounceVeto::kArgumentSyntax)
        << reply;
  const char* const bounces[] = {
      "501 5.1.3 Invalid domain name",
      "550 5.1.2 Invalid domain name",
      "501 Bad recipient address syntax",
  };
  testing::ExpectHardBounce(std::begin(bounces), std::end(bounces));
}

// The same words in answer to RCPT TO are about the recipient's domain: the
// argument refused is the recipient's address, whatever else a 501 may answer.
TEST(RoundTwelveCollect, A501AboutSomeDomainInAnswerToRcptStillSuppresses) {
  const char* const bounces[] = {
      "host mx.example.com[192.0.2.1] said: 501 5.0.0 Invalid domain name (in reply to RCPT TO command)",
      "host mx.example.net[192.0.2.7] said: 501 no such domain (in reply to RCPT TO command)",
      "SMTP error from remote mail server after RCPT TO:<jo@nosuch.example>: host mx.example.org [192.0.2.9]: 501 "
      "Host unknown",
  };
  testing::ExpectHardBounce(std::begin(bounces), std::end(bounces));
  // Answering HELO or MAIL, or with no command known, they still do not.
  const char* const replies[] = {
      "host mx.example.com[192.0.2.1] said: 501 5.0.0 Invalid domain name (in reply to HELO command)",
      "host mx.example.com[192.0.2.1] said: 501 5.0.0 Invalid domain name (in reply to MAIL FROM command)",
      "host mx.example.com[192.0.2.1] said: 501 no such domain",
  };
  testing::ExpectNoHardBounce(std::begin(replies), std::end(replies));
}

}  // namespace
}  // namespace rebound
