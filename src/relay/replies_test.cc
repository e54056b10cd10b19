// Each reply the submission server sends classifies back to its own category
// with the project's classifier (the embedded rule base), and every reply of
// replies.h is listed here: a reply added there without an expectation here
// fails the test.
#include "relay/replies.h"

#include <gtest/gtest.h>

#include <map>

#include "rebound/classifier.h"

namespace rebound::relay {
namespace {

struct Expected {
  Category category;
  bool permanent;
};

// By reply text. Replies that are not failures (2xx, the 3xx prompts) read
// as delivered or, without an enhanced status code, unknown; neither is
// permanent.
const std::map<std::string_view, Expected>& Expectations() {
  static const auto* expected = new std::map<std::string_view, Expected>{
      {kReplyQueued, {Category::delivered, false}},
      {kReplyAuthFailure, {Category::auth_failed, true}},
      {kReplyTooManyRcpts, {Category::too_many_recipients, true}},
      {kReplyTooLarge, {Category::message_too_large, true}},
      {kReplyInvalidRcpt, {Category::invalid_address, true}},
      {kReplyDailyQuota, {Category::sending_quota_exceeded, true}},
      {kReplyMonthlyQuota, {Category::sending_quota_exceeded, true}},
      {kReplyNotEnoughQuota, {Category::sending_quota_exceeded, true}},
      {kReplyAccountUnavailable, {Category::sender_account_unavailable, true}},
      {kReplyContentSpam, {Category::spam, true}},
      {kReplySuppressed, {Category::recipient_not_found, true}},
      {kReplySenderDomain, {Category::policy_rejected, true}},
      {kReplySenderNotVerified, {Category::policy_rejected, true}},
      {kReplyBadSender, {Category::policy_rejected, true}},
      {kReplyAuthRequired, {Category::auth_policy, true}},
      {kReplyEncryptionRequired, {Category::auth_policy, true}},
      {kReplyContentDeferred, {Category::greylisted, false}},
      {kReplyContentCheckUnavailable, {Category::recipient_unavailable, false}},  // a temporary failure: retry
      {kReplyTempQueueFailure, {Category::recipient_unavailable, false}},
      {kReplyBadSequence, {Category::protocol_error, true}},
      {kReplyHeloFirst, {Category::protocol_error, true}},
      {kReplyNestedMail, {Category::protocol_error, true}},
      {kReplyMailFirst, {Category::protocol_error, true}},
      {kReplyNoRecipients, {Category::protocol_error, true}},
      {kReplyTlsActive, {Category::protocol_error, true}},
      {kReplyUnknownCommand, {Category::protocol_error, true}},
      // The classifier reads "disabled" as about a mailbox.
      {kReplyVrfyDisabled, {Category::recipient_unavailable, true}},
      {kReplyNoChunking, {Category::protocol_error, true}},
      {kReplySyntax, {Category::protocol_error, true}},
      {kReplyBadBody, {Category::protocol_error, true}},
      {kReplyUnsupportedParameter, {Category::protocol_error, true}},
      {kReplyBadCharacter, {Category::protocol_error, true}},
      {kReplyLineTooLong, {Category::protocol_error, true}},
      {kReplyAuthChallengePlain, {Category::unknown, false}},
      {kReplyAuthChallengeUser, {Category::unknown, false}},
      {kReplyAuthChallengePassword, {Category::unknown, false}},
      {kReplyAuthCancelled, {Category::protocol_error, true}},
      {kReplyAuthUndecodable, {Category::protocol_error, true}},
      {kReplyAuthMalformedPlain, {Category::protocol_error, true}},
      {kReplyAuthMechanism, {Category::protocol_error, true}},
      {kReplyAuthSucceeded, {Category::delivered, false}},
      {kReplyOk, {Category::delivered, false}},
      {kReplySenderOk, {Category::delivered, false}},
      {kReplyRecipientOk, {Category::delivered, false}},
      {kReplyStartData, {Category::unknown, false}},
      {kReplyStartTls, {Category::delivered, false}},
      {kReplyHelp, {Category::delivered, false}},
      {kReplyBye, {Category::delivered, false}},
      {kReplyBusy, {Category::ip_rate_limited, false}},
      {kReplyTooManyCommands, {Category::policy_rejected, false}},
      {kReplyTooManyErrors, {Category::protocol_error, false}},
      {kReplyInternalError, {Category::recipient_unavailable, false}},
      {kReplyNotReturnPath, {Category::recipient_not_found, true}},
      {kReplyForgedReturnPath, {Category::policy_rejected, true}},
      {kReplyUnknownBouncedMessage, {Category::recipient_not_found, true}},
      {kReplyBounceTooLarge, {Category::message_too_large, true}},
      {kReplyBounceFlood, {Category::sender_rate_limited, false}},
      {kReplyBounceTooEarly, {Category::recipient_unavailable, false}},
  };
  return *expected;
}

class Replies : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(BuildClassifier({}, &classifier_).ok());
    scratch_ = classifier_->NewScratch();
  }
  void ExpectClassifiesAs(std::string_view reply, const Expected& e) {
    Verdict v = classifier_->Classify(reply, scratch_.get());
    EXPECT_EQ(CategoryName(v.category), CategoryName(e.category)) << reply;
    EXPECT_EQ(v.permanent, e.permanent) << reply;
  }
  std::unique_ptr<const Classifier> classifier_;
  Classifier::ScratchPtr scratch_;
};

TEST_F(Replies, EveryFixedReplyClassifiesToItsOwnCategory) {
  for (std::string_view reply : kServerReplies) {
    auto it = Expectations().find(reply);
    if (it == Expectations().end()) {
      ADD_FAILURE() << "no expectation for \"" << reply << "\"";
      continue;
    }
    ExpectClassifiesAs(reply, it->second);
  }
  // Nothing expected here that the server no longer sends.
  EXPECT_EQ(Expectations().size(), std::size(kServerReplies));
}

TEST_F(Replies, RepliesNamingTheHostClassifyToo) {
  const Expected expected[] = {
      {Category::delivered, false},              // greeting
      {Category::delivered, false},              // HELO
      {Category::recipient_unavailable, false},  // timeout
      {Category::recipient_unavailable, false},  // timeout during DATA
  };
  static_assert(std::size(expected) == std::size(kHostReplies));
  for (size_t i = 0; i < std::size(kHostReplies); ++i) ExpectClassifiesAs(kHostReplies[i].With("relay.test"), expected[i]);
  EXPECT_EQ(kReplyGreeting.With("relay.test"), "220 relay.test ESMTP Rebound");
}

TEST_F(Replies, EhloOffersWhatTheSessionAllows) {
  EXPECT_EQ(EhloReply("relay.test", "client.test", 1000, true, false),
            "250-relay.test Hello client.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n"
            "250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250 STARTTLS");
  EXPECT_EQ(EhloReply("relay.test", "client.test", 1000, false, true),
            "250-relay.test Hello client.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n"
            "250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250 AUTH PLAIN LOGIN");
  ExpectClassifiesAs("250 relay.test Hello client.test", {Category::delivered, false});
}

}  // namespace
}  // namespace rebound::relay
