// Round 9b (docs/generalization.md, "Round 9b"): the HELO/EHLO name judged,
// login credentials that lapsed, and a login refused because the client's
// own account or service is suspended. Each family in several wordings of
// our own, and the near misses that share its words but keep another reading.
#include <gtest/gtest.h>

#include "core/shipped_classifier_test_util.h"
#include "rebound/classifier.h"

namespace rebound {
namespace {

TEST(RoundNineB, TheHeloNameJudgedIsTheSendersSetup) {
  const testing::ReplyCase cases[] = {
      {"550 HELO must have a dot", Category::auth_policy},
      {"550 EHLO name is dynamic, use your provider's relay", Category::auth_policy},
      {"554 5.7.1 Your EHLO hostname does not resolve", Category::auth_policy},
      {"550 5.7.0 IP in EHLO is not the same as the actual client IP", Category::auth_policy},
      {"550 No matching A records found for the EHLO hostname", Category::auth_policy},
      {"550 HELO IP literal not in the same /24 as your IP address", Category::auth_policy},
      {"550 The HELO name is not fully qualified", Category::auth_policy},
      {"554 Forged HELO rejected", Category::auth_policy},
      // Near misses: a greeting out of order or without its argument is the
      // client's protocol; a block list naming the HELO domain is a listing.
      {"503 5.5.1 EHLO/HELO first.", Category::protocol_error},
      {"501 5.5.1 HELO/EHLO requires domain address", Category::protocol_error},
      {"502 Use HELO/EHLO first", Category::protocol_error},
      {"550 5.7.1 Service unavailable, Helo domain is listed in Spamhaus.", Category::ip_blacklisted},
      // Review of round 9: the greeting's place in the dialogue, worded with
      // the verbs that judge a name ('must', 'is', 'not'), is still protocol.
      {"503 5.5.1 HELO must be issued first", Category::protocol_error},
      {"503 HELO/EHLO must be sent before MAIL", Category::protocol_error},
      {"503 5.5.1 EHLO is required before MAIL FROM", Category::protocol_error},
      {"502 5.5.2 EHLO not supported", Category::protocol_error},
      {"503 5.5.1 EHLO was already given", Category::protocol_error},
      {"503 Duplicate HELO", Category::protocol_error},
      {"500 HELO not recognized", Category::protocol_error},
      // ... while a judged name that mentions no order still is the setup.
      {"550 5.7.1 HELO was not fully qualified", Category::auth_policy},
      {"554 Your HELO name must resolve to an A record", Category::auth_policy},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(RoundNineB, LapsedCredentialsAreAFailedLogin) {
  const testing::ReplyCase cases[] = {
      {"550 Login credentials no longer valid. Please re-authenticate.", Category::auth_failed},
      {"535 5.7.8 Your app password has been revoked", Category::auth_failed},
      {"454 4.7.0 OAuth token expired", Category::auth_failed},
      {"421 4.7.0 Please re-authenticate and try again", Category::auth_failed},
      // Near miss: a recipient's mailbox that expired is not a login.
      {"550 5.2.1 Mailbox expired and closed", Category::recipient_unavailable},
      // Review of round 9: a recipient's mailbox whose password lapsed is not
      // the client's credentials; a login's token still is.
      {"550 5.2.1 Mailbox unavailable: the user password has expired", Category::recipient_not_found},
      {"454 4.7.0 Session token expired, log in again", Category::auth_failed},
      {"535 5.7.8 Refresh token has been revoked", Category::auth_failed},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

// Review of round 9: a token that is no login's is not a failed login.
TEST(RoundNineB, AListsTokenIsNoLogin) {
  const char* const replies[] = {
      "550 Confirmation token expired, please subscribe again",
      "550 Unsubscribe token has expired",
      "550 Download link token was revoked",
  };
  auto scratch = testing::Shipped().NewScratch();
  for (const char* reply : replies) {
    Verdict v = testing::Shipped().Classify(reply, scratch.get());
    EXPECT_NE(v.category, Category::auth_failed) << reply << " decided by " << v.rule;
  }
}

TEST(RoundNineB, ALoginRefusedForASuspendedAccountIsTheSendersAccount) {
  const testing::ReplyCase cases[] = {
      {"535 Mail server has been suspended", Category::sender_account_unavailable},
      {"535 5.7.3 Service disabled for this customer", Category::sender_account_unavailable},
      {"530 5.7.0 Account suspended for abuse", Category::sender_account_unavailable},
      // Near misses: the same words answering RCPT speak of the recipient; a
      // failed login whose method is disabled is a failed login.
      {"535 5.7.139 Authentication unsuccessful, basic authentication is disabled.", Category::auth_failed},
      {"550 5.2.1 Mailbox has been suspended", Category::recipient_unavailable},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(RoundNineB, NoneOfTheseIsAHardBounce) {
  const char* const replies[] = {
      "550 Invalid HELO name: user unknown hosts are not accepted",
      "550 5.1.1 HELO must have a dot",
      "535 Mail server has been suspended",
  };
  testing::ExpectNoHardBounce(std::begin(replies), std::end(replies));
}

}  // namespace
}  // namespace rebound
