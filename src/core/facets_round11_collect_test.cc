// Round 11 collection (docs/generalization.md, "Collection, round 11"):
// relaying refused with a negated verb is relay_denied, not the invalid
// address a bare 553 suggests. Wordings of our own around qmail's reply; the
// near misses keep their own reading.
#include <gtest/gtest.h>

#include "core/shipped_classifier_test_util.h"
#include "rebound/classifier.h"

namespace rebound {
namespace {

TEST(RoundElevenCollect, RelayingRefusedWithANegatedVerb) {
  const testing::ReplyCase cases[] = {
      {"553 we don't relay (#5.7.1)", Category::relay_denied},
      {"550 We don't relay mail for other domains", Category::relay_denied},
      {"554 5.7.1 This server does not relay", Category::relay_denied},
      {"550 I don't relay for you", Category::relay_denied},
      {"553 5.7.1 This host doesn't relay mail to external domains", Category::relay_denied},
      {"553 sorry, we dont relay for 192.0.2.7", Category::relay_denied},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
  const char* const replies[] = {
      "553 we don't relay (#5.7.1)",
      "550 5.1.1 We don't relay mail for example.com",
      "553 5.1.3 This server does not relay",
  };
  testing::ExpectNoHardBounce(std::begin(replies), std::end(replies));
}

// Near misses: a relay table or a relay limit is no refusal to relay.
TEST(RoundElevenCollect, RelayTablesAndLimitsKeepTheirReading) {
  const char* const bounces[] = {
      "550 5.1.1 <jo@example.com>: Recipient address rejected: User unknown in relay recipient table",
  };
  testing::ExpectHardBounce(std::begin(bounces), std::end(bounces));
  const testing::ReplyCase cases[] = {
      {"550 5.1.1 <jo@example.com>: Recipient address rejected: User unknown in relay recipient table",
       Category::recipient_not_found},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

}  // namespace
}  // namespace rebound
