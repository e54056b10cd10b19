// Round 11 (docs/generalization.md, "Round 11"): an address status under words
// about a header field or a line, binary data, a refused attachment, a reset,
// a failed DNS lookup, the receiver's requirements, a delivery that succeeded
// or a plain "later" does not suppress the address; and a recipient_not_found
// verdict that is not a hard bounce does not tell the sender to suppress.
// Each family in wordings of our own; the near misses are address replies that
// share a word and must still suppress.
#include <gtest/gtest.h>

#include "core/shipped_classifier_test_util.h"
#include "rebound/classifier.h"

namespace rebound {
namespace {

TEST(RoundEleven, AHeaderFieldALineOrBinaryDataIsNoHardBounce) {
  const char* const replies[] = {
      "550 5.1.1 <jo@example.com>: Missing required RFC5322 Date field",
      "550 5.1.1 missing mandatory From header field",
      "550 5.1.1 Message-ID field is missing",
      "550 5.1.1 <jo@example.com>: Line to long",
      "550 5.1.1 lines are too long",
      "550 5.1.1 line length exceeded (lines longer than 998 characters)",
      "550 5.1.1 DATA not allowed for BINARYMIME messages",
      "550 5.1.1 8-bit data not accepted",
      "550 5.1.1 <jo@example.com>: Matched map: FORBIDDEN_FILE_EXTENSION",
      "550 5.1.1 Blocked attachment type (.exe)",
      "550 5.1.1 file extension not allowed",
        // Header words, not the address: but the To field is not among them
      // ("the recipient in the To field is invalid" is about the address).
      "550 5.1.1 Date header field is missing",
};
  testing::ExpectNoHardBounce(std::begin(replies), std::end(replies));
}

TEST(RoundEleven, TheDialogueALookupOrTheReceiversRequirementsAreNoHardBounce) {
  const char* const replies[] = {
      "550 5.1.1 <jo@example.com>: Issue a reset if you want to start over",
      "550 5.1.1 send RSET first",
      "550 5.1.1 <jo@example.com>: failure in DNS look-up.",
      "550 5.1.1 error during MX lookup",
      "550 5.1.1 timeout in DNS query",
      "550 5.1.1 <jo@example.com>: This message does not meet our delivery requirements",
      "550 5.1.1 message fails to pass our security checks",
      "550 5.1.1 Security level check failed",
      "550 5.1.1 <jo@example.com>: User has no permission",
      "550 5.1.1 sender has no permission to send to this list",
  };
  testing::ExpectNoHardBounce(std::begin(replies), std::end(replies));
}

TEST(RoundEleven, ASuccessOrALaterIsNoHardBounce) {
  const char* const replies[] = {
      "550 5.1.1 <jo@example.com>: Ok: queued as 4F77C524",
      "550 5.1.1 2.0.0 Ok: queued as 919DC16A314",
      "550 5.1.1 1wu354tcpc-1 Message accepted for delivery",
      "550 5.1.1 <id@example.com> Queued mail for delivery",
      "550 5.1.1 250 ok, accepted for delivery",
      "550 5.1.1 <jo@example.com>: message was accepted for delivery",
      "550 5.1.1 mailbox busy, try again later",
      "550 5.1.1 cannot deliver now, retry later",
  };
  testing::ExpectNoHardBounce(std::begin(replies), std::end(replies));
}

TEST(RoundElevenB, TheDialogueInServersOwnWordsIsNoHardBounce) {
  const char* const replies[] = {
      "550 5.1.1 SASL negotiation was aborted",
      "550 5.1.1 authentication exchange canceled by the client",
      "550 5.1.1 cannot split auth value",
      "550 5.1.1 Invalid SASL challenge",
      "550 5.1.1 missing initial auth response",
      "550 5.1.1 Usage: AUTH mechanism [initial-response]",
      "550 5.1.1 cannot assume another role",
      "550 5.1.1 RCPT TO needed first",
      "550 5.1.1 MAIL FROM already given",
      "550 5.1.1 already have a MAIL",
      "550 5.1.1 missing MAIL FROM",
      "550 5.1.1 cannot starttls after login",
      "550 5.1.1 Missing host name in HELO",
      "550 5.1.1 duplicate parameter BODY",
      "550 5.1.1 REQUIRETLS is not allowed here",
      "550 5.1.1 HOLDUNTIL in the past",
      "550 5.1.1 bare LF in message, possible smtp smuggling",
      "550 5.1.1 a message requires both a header and a body",
      "550 5.1.1 maximum of 100 recipients exceeded",
      "550 5.1.1 only one rcpt allowed for a bounce",
  };
  testing::ExpectNoHardBounce(std::begin(replies), std::end(replies));
}

TEST(RoundEleven, NearMissesStillSuppress) {
  const char* const replies[] = {
      // "try again" with no time: the address is to be corrected first.
      "550 5.1.1 The recipient does not exist. Please check the address and try again",
      "550 5.1.1 Invalid recipient, please try again with a valid address",
      "550 5.1.1 <jo@example.com>: Recipient address rejected: User unknown in virtual mailbox table",
      "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
      "550 5.1.1 <jo@example.com>... User unknown",
      "550 5.1.1 The email account that you tried to reach does not exist.",
      "550 5.1.1 user unknown; the field of recipients is empty on our side",
      // Review of round 11: "accepted for delivery" denied is a refusal,
      // not a success.
      "550 5.1.1 <jo@example.com>: Recipient address rejected: User unknown; message not accepted for delivery",
      "550 5.1.1 <jo@example.com>: user does not exist, mail could not be accepted for delivery",
      "550 5.1.1 No such user here - message cannot be accepted for delivery",
      "550 5.1.1 <jo@example.com>: user unknown; queued as undeliverable",
      // Words of round 11b beside a real verdict on the address.
      "550 5.1.1 <jo@example.com>: mailbox unavailable, user unknown (duplicate delivery suppressed earlier)",
      "550 5.1.1 No such user: the recipient was never set up",
  };
  testing::ExpectHardBounce(std::begin(replies), std::end(replies));
}

TEST(RoundEleven, ListedAsAStateIsNoListing) {
  const testing::ReplyCase cases[] = {
      {"550 The mailbox is listed as inactive", Category::recipient_unavailable},
      {"550 5.1.1 This account is listed as closed", Category::recipient_not_found},
      // Listings still read as listings.
      {"554 Your IP is listed as a spam source", Category::ip_blacklisted},
      {"550 IP 192.0.2.1 is listed.", Category::ip_blacklisted},
      {"550 you are currently listed and blocked", Category::ip_blacklisted},
      {"554 5.7.1 Service unavailable; Client host [192.0.2.1] is listed in zen.spamhaus.org", Category::ip_blacklisted},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(RoundEleven, NoUsableMailExchanger) {
  const char* const recipient_side[] = {
      "511 sorry, can't find a valid MX for rcpt domain",
      "550 5.1.2 no usable MX records for example.org",
      "550 unable to find a working mail exchanger for example.org",
  };
  testing::ExpectHardBounce(std::begin(recipient_side), std::end(recipient_side));
  const char* const elsewhere[] = {
      "511 sorry, can't find a valid MX for sender domain",
      "550 Sender domain has no valid MX record",
      "451 4.4.0 no usable MX records for example.org, try again later",
  };
  testing::ExpectNoHardBounce(std::begin(elsewhere), std::end(elsewhere));
}

TEST(RoundEleven, TheHeloNameRefusedIsTheSendingHosts) {
  const testing::ReplyCase cases[] = {
      {"553 sorry, your HELO host name has been denied (#5.7.1)", Category::auth_policy},
      {"550 EHLO name has been rejected", Category::auth_policy},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(RoundEleven, TheActionFollowsTheHardBounce) {
  auto scratch = testing::Shipped().NewScratch();
  const CategoryInfo& info = testing::Shipped().category_info(Category::recipient_not_found);
  ASSERT_FALSE(info.action_unconfirmed.empty());

  Verdict sure = testing::Shipped().Classify("550 5.1.1 <jo@example.com>: user unknown", scratch.get());
  EXPECT_EQ(sure.category, Category::recipient_not_found);
  EXPECT_TRUE(sure.hard_bounce);
  EXPECT_EQ(sure.action, info.action);
  EXPECT_EQ(sure.solution_en, info.solution_en);

  // RFC 5321's "mailbox unavailable" is said of other things too: no hard
  // bounce, so no advice to suppress on this one reply.
  Verdict unsure = testing::Shipped().Classify("550 Requested action not taken: mailbox unavailable", scratch.get());
  EXPECT_EQ(unsure.category, Category::recipient_not_found);
  EXPECT_FALSE(unsure.hard_bounce);
  EXPECT_EQ(unsure.action, info.action_unconfirmed);
  EXPECT_EQ(unsure.solution_en, info.solution_unconfirmed_en);
  EXPECT_EQ(unsure.solution_zh, info.solution_unconfirmed_zh);

  // Judged again (as parse does when the report adds evidence), the action
  // goes back to the confirmed one.
  unsure.hard_bounce = true;
  testing::Shipped().SettleAction(&unsure);
  EXPECT_EQ(unsure.action, info.action);
  EXPECT_EQ(unsure.solution_en, info.solution_en);

  // Categories without an unconfirmed action keep theirs either way.
  Verdict full = testing::Shipped().Classify("552 5.2.2 mailbox full", scratch.get());
  EXPECT_EQ(full.action, testing::Shipped().category_info(Category::mailbox_full).action);
}

TEST(RoundEleven, AnUnconfirmedActionNeedsItsSolutions) {
  ClassifierBuilder b;
  ASSERT_TRUE(b.AddDefaults().ok());
  Status s = b.AddText("categories-local.toml", R"([[category]]
id = "recipient_not_found"
reason = "userunknown"
action = "suppress the address"
solution_en = "gone"
solution_zh = "gone"
action_unconfirmed = "count it"
)", /*local=*/false);
  std::unique_ptr<const Classifier> c;
  if (s.ok()) s = b.Build(&c);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("go together"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace rebound
