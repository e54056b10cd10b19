// Round 10b (docs/generalization.md, "Round 10b"): a recipient's allowance
// per day or hour, an ESMTP parameter refused, TLS or a login asked for
// again, a login refused in clear, the sender's address not in form, and
// header fields counted. Each family in several wordings of our own, with
// the near misses that share its words but keep another reading.
#include <gtest/gtest.h>

#include "core/shipped_classifier_test_util.h"
#include "rebound/classifier.h"

namespace rebound {
namespace {

TEST(RoundTenB, ARecipientsAllowancePerPeriodIsTheRecipientsRate) {
  const testing::ReplyCase cases[] = {
      {"550 5.4.7 <a@example.com>: Recipient address rejected: Recipients Domain Daily Quota Exceeded",
       Category::recipient_rate_limited},
      {"452 4.2.2 Recipient hourly limit reached, try again later", Category::recipient_rate_limited},
      {"450 Daily inbound quota exceeded for this recipient", Category::recipient_rate_limited},
      {"451 The recipient has reached its daily receiving quota", Category::recipient_rate_limited},
      {"550 Tageslimit des Empfängers erreicht", Category::recipient_rate_limited},
      {"450 Le quota journalier de réception du destinataire est atteint", Category::recipient_rate_limited},
      {"550 收件人每日接收配额已满", Category::recipient_rate_limited},
      // Near misses: a quota with no period is storage; a sender's count of
      // recipients, or its daily sending quota, is the sending side.
      {"550 5.4.6 <a@example.com>: Recipient address rejected: Recipient Quota Exceeded;", Category::mailbox_full},
      {"550 5.1.90 Your message can't be sent because you've reached your daily limit for message recipients",
       Category::sending_quota_exceeded},
      {"550 5.4.5 Daily user sending quota exceeded.", Category::sending_quota_exceeded},
      {"452 4.5.3 Too many recipients per hour limit exceeded", Category::sender_rate_limited},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(RoundTenB, AnEsmtpParameterRefusedIsTheClientsProtocol) {
  const testing::ReplyCase cases[] = {
      {"501 5.5.4 BY parameter exceeds maximum of 86400 seconds.", Category::protocol_error},
      {"501 5.5.4 FUTURERELEASE extension has been disabled.", Category::protocol_error},
      {"501 5.5.4 Invalid NOTIFY parameter", Category::protocol_error},
      {"555 5.5.4 Unsupported ORCPT parameter", Category::protocol_error},
      {"501 5.5.4 MT-PRIORITY parameter value out of range", Category::protocol_error},
      {"555 RET=HDRS option not supported", Category::protocol_error},
      // Near misses: a size over the maximum is the message's size.
      {"552 5.3.4 SIZE parameter exceeds maximum message size", Category::message_too_large},
      {"552 5.3.4 Message size exceeds fixed maximum message size", Category::message_too_large},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(RoundTenB, TlsOrALoginAskedForAgainIsOutOfSequence) {
  const testing::ReplyCase cases[] = {
      {"504 5.7.4 Already in TLS mode.", Category::protocol_error},
      {"454 4.7.0 TLS already active", Category::protocol_error},
      {"503 5.5.1 STARTTLS already issued", Category::protocol_error},
      {"503 5.5.1 Error: already authenticated", Category::protocol_error},
      {"503 AUTH command already given", Category::protocol_error},
      // Near misses: a login required, TLS required, the receiver's TLS broken.
      {"530 5.7.0 Authentication required", Category::auth_policy},
      {"530 5.7.0 Must issue a STARTTLS command first.", Category::auth_policy},
      {"454 4.7.0 TLS not available due to local problem", Category::recipient_unavailable},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(RoundTenB, ALoginRefusedInClearIsTlsRequired) {
  const testing::ReplyCase cases[] = {
      {"503 5.5.1 Clear text authentication without TLS is forbidden.", Category::auth_policy},
      {"535 5.7.0 Plaintext authentication disallowed on non-secure connections", Category::auth_policy},
      {"538 5.7.11 Authentication is only allowed over TLS", Category::auth_policy},
      {"530 5.7.0 Must issue STARTTLS before authenticating", Category::auth_policy},
      {"504 AUTH not available before STARTTLS", Category::auth_policy},
      // Near misses: a failed login stays a failed login.
      {"535 5.7.8 Authentication failed", Category::auth_failed},
      {"535 5.7.8 Username and Password not accepted", Category::auth_failed},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(RoundTenB, TheSendersAddressNotInFormIsTheClientsProtocol) {
  const testing::ReplyCase cases[] = {
      {"501 5.1.8 Sender address must contain a domain", Category::protocol_error},
      {"553 5.1.7 Unable to normalize the sender address (msg ID = 4f2a9c1e)", Category::protocol_error},
      {"501 5.1.8 No domain part in address (msg ID = 4f2a9c1e)", Category::protocol_error},
      {"550 Invalid syntax. Syntax should be MAIL FROM:<userdomain>[crlf]", Category::protocol_error},
      {"501 5.1.7 From address has no domain part", Category::protocol_error},
      {"501 Invalid MAIL FROM syntax", Category::protocol_error},
      // Near misses: a sender domain that does not exist, Postfix's own
      // text, and a recipient's address without a domain.
      {"553 5.1.8 Domain of sender address does not exist", Category::policy_rejected},
      {"550 5.1.8 <a@example.org>: Sender address rejected: Domain not found", Category::policy_rejected},
      {"504 5.5.2 <a>: Sender address rejected: need fully-qualified address", Category::policy_rejected},
      {"501 5.1.3 No domain part in address", Category::invalid_address},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(RoundTenB, HeaderFieldsCountedAreTheMessagesForm) {
  const testing::ReplyCase cases[] = {
      {"550 5.7.0 Multiple From addresses are not allowed (msg ID = 4f2a9c1e)", Category::protocol_error},
      {"554 5.6.0 Duplicate Subject header found", Category::protocol_error},
      {"550 5.6.0 Message has no Date header", Category::protocol_error},
      {"550 5.7.1 Message-ID header field is missing", Category::protocol_error},
      {"554 5.6.0 Message rejected: more than one Message-ID header present", Category::protocol_error},
      // Near miss: a From address refused is the sender's, not the form.
      {"550 5.7.1 From address is not allowed", Category::policy_rejected},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(RoundTenB, NoneOfTheseIsAHardBounce) {
  const char* const replies[] = {
      "550 5.1.1 Recipients Domain Daily Quota Exceeded for user unknown@example.com",
      "550 5.1.1 Invalid NOTIFY parameter for user unknown",
      "550 5.1.1 No domain part in address: sender unknown, status 5.1.8",
      "501 5.1.8 Sender address must contain a domain",
      "553 5.1.1 Unable to normalize the sender address",
      "550 5.1.1 User unknown; duplicate From header found",
  };
  testing::ExpectNoHardBounce(std::begin(replies), std::end(replies));
}

// Review of round 10: a period's count said of an IP or the sending host is
// the sender's rate, not the recipient's allowance; 'To' and 'Cc' count as
// header fields only with 'header' or 'field' after them.
TEST(RoundTenB, ReviewNearMisses) {
  const testing::ReplyCase cases[] = {
      {"451 4.7.1 Hourly incoming mail limit reached for 192.0.2.1", Category::ip_rate_limited},
      {"421 4.7.0 Daily incoming message limit reached for your sending server", Category::ip_rate_limited},
      {"452 4.2.2 Daily inbound quota exceeded for this recipient", Category::recipient_rate_limited},
      {"550 5.6.0 Multiple To headers not allowed", Category::protocol_error},
      {"550 5.6.0 Duplicate Cc header field found", Category::protocol_error},
      {"503 5.5.1 Error: already authenticated", Category::protocol_error},
      {"550 5.7.1 The recipient is already logged in elsewhere", Category::policy_rejected},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
  const char* const hard[] = {
      "550 5.1.1 No such user here; multiple to addresses rejected",
      "550 5.1.1 User already logged in; mailbox does not exist",
  };
  testing::ExpectHardBounce(std::begin(hard), std::end(hard));
}

}  // namespace
}  // namespace rebound
