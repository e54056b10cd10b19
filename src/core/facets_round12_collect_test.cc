// Round 12 collection (docs/generalization.md, "Collection, round 12"): an
// SMTP command or extension the server has switched off is a protocol error,
// not the switched-off mailbox the word "disabled" otherwise suggests.
// Wordings of our own around Postfix's replies; the near misses keep their
// own reading.
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

}  // namespace
}  // namespace rebound
