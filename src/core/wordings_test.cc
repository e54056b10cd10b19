// Families of wordings that the staged real replies
// (tests/data/replies-incoming) showed the rule base missing: each family in
// wordings of our own, beyond the replies it came from, and the near misses
// that must not suppress an address.
#include <gtest/gtest.h>

#include "core/shipped_classifier_test_util.h"
#include "rebound/classifier.h"

namespace rebound {
namespace {

TEST(Wordings, PostfixRestrictionPrefixNamesTheParty) {
  const testing::ReplyCase cases[] = {
      // A greylisting policy service answers through whichever restriction it is plugged into.
      {"450 4.2.0 <a@example.org>: Sender address rejected: Greylisted, retry in 120 seconds", Category::greylisted},
      {"450 4.7.1 <mx.example.net[192.0.2.8]>: Client host rejected: greylisted, come back later", Category::greylisted},
      // The sender's own mailbox, switched off or taken over.
      {"550 5.7.1 <b@example.org>: Sender address rejected: account suspended by the administrator", Category::sender_account_unavailable},
      {"554 5.7.1 <c@example.org>: Sender address rejected: this mailbox was compromised, change its password", Category::sender_account_unavailable},
      // reject_unlisted_sender: a table named for recipients, an address that is the sender's.
      {"550 5.1.0 <d@example.org>: Sender address rejected: User unknown in virtual mailbox table", Category::policy_rejected},
      // A bare REJECT in the client access table: no public list to be delisted from.
      {"554 5.7.1 <host.example.net[192.0.2.9]>: Client host rejected: Access denied", Category::policy_rejected},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(Wordings, TheRecipientSideRestrictsWhoMaySend) {
  const testing::ReplyCase cases[] = {
      {"550 5.7.133 Sender not authenticated for group all-staff@example.org", Category::policy_rejected},
      {"550 This distribution list only accepts messages from internal senders", Category::policy_rejected},
      {"550 5.7.1 You are not on the allowed senders list of this mailbox", Category::policy_rejected},
      {"550 Message blocked by your organization's policy", Category::policy_rejected},
      // The recipient's own block list: the recipient refuses this sender.
      {"550 Your message was rejected by the recipient.", Category::sender_blacklisted},
      {"554 Sender refused: on the user's reject list", Category::sender_blacklisted},
      {"550 This user does not accept mail from you", Category::sender_blacklisted},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(Wordings, ConditionsAndMechanisms) {
  const testing::ReplyCase cases[] = {
      // A domain that takes no mail over IPv6 takes it over IPv4: not a null MX.
      {"550 5.7.1 example.org does not accept mail over IPv6", Category::policy_rejected},
      {"550 5.7.1 IPv6 sending guidelines require a PTR record and SPF or DKIM that pass", Category::auth_policy},
      // An IP known as an open relay is listed; a relay refused is a relay refusal.
      {"554 Client host [192.0.2.4] blocked: mail was sent through an open relay", Category::ip_blacklisted},
      {"451 Open relay not permitted", Category::relay_denied},
      // An AUTH mechanism the server does not have is the client's setup.
      {"504 5.5.4 Authentication mechanism not supported", Category::protocol_error},
      {"535 5.7.8 Invalid base64 in AUTH response", Category::protocol_error},
      // POP before SMTP.
      {"553 Please check your mail with POP3 first before sending", Category::auth_policy},
      // A local delivery agent that ran out of quota: the mailbox is full.
      {"procmail: Quota exceeded while writing \"/var/mail/ann\"", Category::mailbox_full},
      // Greylisting's own words.
      {"451 192.0.2.7 is not yet allowed to send mail from <a@example.net> to <b@example.org>, please retry", Category::greylisted},
      // A rate counted over the last N minutes.
      {"450 4.7.1 You sent too many messages in the last 15 minutes", Category::sender_rate_limited},
      // An account archived or barred from receiving: unavailable.
      {"550 Recipient mailbox archived", Category::recipient_unavailable},
      {"550 This user is not allowed to receive mail", Category::recipient_unavailable},
      // Loops counted by Received headers or hops.
      {"554 5.4.0 Message has too many Received headers, probably a mail loop", Category::connection_failed},
      // The session broke the protocol, or the message its format.
      {"554 SMTP synchronization error: data sent before greeting", Category::protocol_error},
      {"550 5.7.1 RFC 5322 requirement not met: more than one Subject field", Category::protocol_error},
      {"550 The Date header is missing", Category::protocol_error},
      // A mailbox about to pass its size: full, not a message too large.
      {"552 Delivery would exceed the maximum mailbox size for bob", Category::mailbox_full},
      // A submission sender the account has not set up.
      {"550 The sender address is not a confirmed Sender Signature", Category::sender_account_unavailable},
      {"550 Domain example.org is not associated with your account", Category::sender_account_unavailable},
      {"553 5.7.1 <a@example.org>: Sender address rejected: not logged in", Category::auth_policy},
      // A message blocked by an anti-spam system.
      {"554 Your message was blocked by the provider's anti-spam gateway", Category::spam},
      // A sender the server hosts must log in to send as it.
      {"530 5.7.0 You are not logged in: authenticate to use this sender", Category::auth_policy},
      {"553 Sender address is a local address: please authenticate", Category::auth_policy},
      // A recipient refused with nothing more said: the receiver's policy.
      {"550 Recipient is rejected.", Category::policy_rejected},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(Wordings, NearMissesAreNotHardBounces) {
  const char* replies[] = {
      "550 5.1.0 <d@example.org>: Sender address rejected: User unknown in local recipient table",
      "550 5.7.1 example.org does not accept mail over IPv6",
      "451 Authentication failed: maximum credits exceeded",
  };
  testing::ExpectNoHardBounce(std::begin(replies), std::end(replies));
}

// Round 7b's staged families (docs/generalization.md): the sending side
// read as the recipient's or the IP's, in wordings of our own.
TEST(Wordings, RoundSevenBSendingSide) {
  const testing::ReplyCase cases[] = {
      {"4.7.323 certificate-revoked: the destination's certificate was revoked", Category::auth_policy},
      {"450 4.4.317 Cannot connect to remote server: the certificate is not trusted", Category::auth_policy},
      {"535 5.7.8 Authentication failed for this login: account is not subscribed to the relay service", Category::auth_failed},
      {"538 5.7.0 Account suspended, contact support", Category::sender_account_unavailable},
      {"554 5.2.2 Submission refused: your inbox is out of space", Category::sender_account_unavailable},
      {"451 4.7.1 Per-account rate limit reached, slow down", Category::sender_rate_limited},
      {"550 5.7.1 Connections from dial-up hosts are refused", Category::auth_policy},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

}  // namespace
}  // namespace rebound
