// Parse round 10 (docs/generalization.md, "Bounce reader, round 10"): a
// sending MTA that says it gave up ("giving up on <host>", "gave up",
// "retry timeout exceeded") beside a permanent reply that the address does
// not exist has given up because of that reply; its give-up is no
// counter-evidence to a hard bounce. Wordings of our own; the near misses
// keep the veto: a temporary reply, an expiry with no address named
// unknown, a full or disabled mailbox, a refusal of the message.
#include <gtest/gtest.h>

#include "core/shipped_classifier_test_util.h"
#include "rebound/classifier.h"

namespace rebound {
namespace {

TEST(RoundTen, AGiveUpAfterAnUnknownAddressIsStillAHardBounce) {
  const char* const hard[] = {
      "550 5.1.1 <ann@example.net>... User unknown Giving up on 192.0.2.7.",
      "550 5.1.1 No such user. I gave up on this address.",
      "550 5.1.1 <ann@example.net>: Recipient address rejected: User unknown; giving up",
      "retry timeout exceeded: 550 5.1.1 <ann@example.net>: user does not exist",
      "550 The recipient mailbox does not exist, gave up after 1 attempt",
  };
  testing::ExpectHardBounce(std::begin(hard), std::end(hard));
}

TEST(RoundTen, AGiveUpWithoutAnUnknownAddressIsNoHardBounce) {
  const char* const soft[] = {
      "450 4.1.1 <ann@example.net>: Recipient address rejected: User unknown; giving up",
      "550 5.4.7 Delivery time expired, giving up",
      "550 5.4.7 Message expired: gave up after 5 days, host unknown",
      "550 5.2.1 Mailbox disabled, giving up",
      "550 5.7.1 Message rejected as spam, giving up on 192.0.2.7",
      "550 5.2.2 Mailbox full. Giving up on 192.0.2.7.",
  };
  testing::ExpectNoHardBounce(std::begin(soft), std::end(soft));
}

}  // namespace
}  // namespace rebound
