// Rebound's own temporary replies (src/delivery/relay_codes.h) classify as
// what they are: the sending service has not sent the message yet. The
// words they quote (DKIM, a destination's name, "throttle") must not be read
// as the receiver's policy or rate limit.
#include <gtest/gtest.h>

#include "core/shipped_classifier_test_util.h"
#include "rebound/classifier.h"

namespace rebound {
namespace {

struct LocalCase {
  const char* reply;
  Reason reason;
};

TEST(ReboundOwnReplies, AreALocalTemporaryFailure) {
  const LocalCase cases[] = {
      // PrepareFailureReply, with the reasons a body filter gives.
      {"451 4.3.0 Rebound: cannot prepare the message: DKIM signing with selector s1 failed", Reason::mailererror},
      {"451 4.3.0 Rebound: cannot prepare the message: no signing key for example.com", Reason::mailererror},
      {"451 4.3.0 Rebound: cannot prepare the message: SPF record of the sender not found, user unknown",
       Reason::mailererror},
      // ThrottleHoldReply, keyed by a provider or by a domain.
      {"451 4.7.0 Rebound: deliveries to gmail are held by the throttle", Reason::onhold},
      {"451 4.7.0 Rebound: deliveries to example.com are held by the throttle", Reason::onhold},
      // Any other temporary reply with the marker.
      {"451 4.3.0 Rebound: spool is being rotated, try again", Reason::mailererror},
  };
  auto scratch = testing::Shipped().NewScratch();
  for (const LocalCase& c : cases) {
    Verdict v = testing::Shipped().Classify(c.reply, scratch.get());
    EXPECT_EQ(v.category, Category::recipient_unavailable) << c.reply << " decided by " << v.rule;
    EXPECT_EQ(v.reason, c.reason) << c.reply;
    EXPECT_FALSE(v.permanent) << c.reply;
    EXPECT_FALSE(v.hard_bounce) << c.reply;
  }
}

// The marker is Rebound's, but only its temporary replies carry it: a remote
// 5xx that happens to say "Rebound:" is read by its code and words as usual.
TEST(ReboundOwnReplies, OnlyTemporaryRepliesAreTakenAsLocal) {
  auto scratch = testing::Shipped().NewScratch();
  Verdict v = testing::Shipped().Classify("550 5.7.1 Rebound: relaying denied", scratch.get());
  EXPECT_EQ(v.category, Category::relay_denied) << v.rule;
  EXPECT_TRUE(v.permanent);
  // Without the marker, the same words are the receiver's.
  Verdict dkim = testing::Shipped().Classify("451 4.7.0 DKIM signature verification failed", scratch.get());
  EXPECT_EQ(dkim.category, Category::auth_policy) << dkim.rule;
}

}  // namespace
}  // namespace rebound
