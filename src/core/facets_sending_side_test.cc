// Round 8, the sending side (docs/generalization.md, "Round 8: families of
// wordings (sending side)"): each family in wordings of our own (several
// word orders, providers' styles and languages), and the near misses that
// share its words but must keep another reading and never be hard bounces.
#include <gtest/gtest.h>

#include "core/shipped_classifier_test_util.h"
#include "rebound/classifier.h"

namespace rebound {
namespace {

TEST(SendingSide, TlsSaidAsARequirementNotMet) {
  const testing::ReplyCase cases[] = {
      {"550 5.7.1 Message was not sent over a TLS connection", Category::auth_policy},
      {"421 4.7.0 Senders must use TLS", Category::auth_policy},
      {"550 Mail sent without STARTTLS is refused here", Category::auth_policy},
      {"554 5.7.0 Refused: unencrypted connection", Category::auth_policy},
      {"451 Your message was rate limited: it was not delivered over an encrypted channel", Category::auth_policy},
      {"450 Unverschlüsselte Verbindung nicht erlaubt", Category::auth_policy},
      {"550 Connexion non chiffrée refusée", Category::auth_policy},
      {"554 不接受未加密的连接", Category::auth_policy},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(SendingSide, ARateOrVolumeOfSpamIsSpam) {
  const testing::ReplyCase cases[] = {
      {"421 4.7.0 An unusual rate of unsolicited mail comes from your network; mail from it is blocked", Category::spam},
      {"550 High volume of spam from 192.0.2.4", Category::spam},
      {"554 Your spam rate is too high", Category::spam},
      {"550 Too much junk mail from your server", Category::spam},
      {"421 Hohes Spam-Aufkommen von Ihrer IP", Category::spam},
      {"554 Volume élevé de spam depuis votre serveur", Category::spam},
      {"550 检测到大量垃圾邮件", Category::spam},
      // Near misses: said in rate words, the rate rows decide; a named block list is a listing.
      {"421 High volume of spam from your IP: its sending has been rate limited", Category::ip_rate_limited},
      {"554 High volume of spam: 192.0.2.4 blocked using zen.spamhaus.org", Category::ip_blacklisted},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(SendingSide, TheSendingDomainsReputationIsSpam) {
  const testing::ReplyCase cases[] = {
      {"550 5.7.1 Rejected due to the poor reputation of your domain", Category::spam},
      {"554 Sender domain has a poor reputation", Category::spam},
      {"550 Domain reputation too low", Category::spam},
      {"421 The sending domain's reputation is under review; try later", Category::spam},
      {"550 Réputation du domaine insuffisante", Category::spam},
      {"550 Reputation der Absenderdomain zu niedrig", Category::spam},
      // Near misses: the IP's reputation stays a listing.
      {"554 Rejected: the sending IP has a poor reputation", Category::ip_blacklisted},
      {"550 IP reputation too low", Category::ip_blacklisted},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(SendingSide, AClientRefusedWithNoWhy) {
  const testing::ReplyCase cases[] = {
      {"554 Client host rejected", Category::policy_rejected},
      {"554 Client host [192.0.2.1] rejected", Category::policy_rejected},
      {"421 Connecting host refused.", Category::policy_rejected},
      {"550 Remote host denied", Category::policy_rejected},
      // Near misses: a why after it decides; an IP refused by name stays a listing.
      {"554 Client host rejected: cannot find your reverse hostname", Category::auth_policy},
      {"554 Client host [192.0.2.1] blocked using bl.example.net", Category::ip_blacklisted},
      {"451 Client IP refused", Category::ip_blacklisted},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(SendingSide, TheSendersCheckFailed) {
  const testing::ReplyCase cases[] = {
      {"550 Verification failed for <a@example.com>. The mail server could not deliver mail to a@example.com. "
       "The account or domain may not exist. Sender verify failed",
       Category::policy_rejected},
      {"550 5.7.1 Sender address verification failure", Category::policy_rejected},
      {"550 Could not verify sender address", Category::policy_rejected},
      {"550 Absenderprüfung fehlgeschlagen", Category::policy_rejected},
      {"550 发件人验证失败", Category::policy_rejected},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(SendingSide, ADailyAllowancePerIp) {
  const testing::ReplyCase cases[] = {
      {"550 5.7.1 Your access was denied: you sent too many e-mails, you are not allowed to send more e-mails within 24 hours.",
       Category::ip_rate_limited},
      {"451 Daily limit for your IP address reached", Category::ip_rate_limited},
      {"550 192.0.2.8: 24-hour allowance used up, try tomorrow", Category::ip_rate_limited},
      // Near misses: an account's or a domain's quota is the sending quota.
      {"550 5.4.5 Your account has exceeded its daily sending quota", Category::sending_quota_exceeded},
      {"554 Your domain has exceeded its monthly sending limit", Category::sending_quota_exceeded},
      // "you are not allowed to send" still a sender block when the recipient follows it.
      {"550 You are not allowed to send mail to this user", Category::sender_blacklisted},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(SendingSide, RateLimitersNameTheirBucket) {
  const testing::ReplyCase cases[] = {
      {"451 4.7.1 Ratelimit \"to\" exceeded", Category::recipient_rate_limited},
      {"451 4.7.1 Ratelimit \"bounce_to_ip\" exceeded", Category::recipient_rate_limited},
      {"451 Per-recipient rate limit reached, try later", Category::recipient_rate_limited},
      {"451 4.7.1 Ratelimit \"user\" exceeded", Category::sender_rate_limited},
      // A party before a bare "rate limit exceeded" decides whose rate it is.
      {"550 5.1.0 Sender rate limit exceeded", Category::sender_rate_limited},
      {"452 Rate limit exceeded for your account", Category::sender_rate_limited},
      {"550 Domain rate limit exceeded for example.com", Category::domain_rate_limited},
      {"421 Rate limit exceeded", Category::ip_rate_limited},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(SendingSide, TheIpJudgedInvalidOrUnauthorized) {
  const testing::ReplyCase cases[] = {
      {"550 Requested action not taken: Invalid IP", Category::ip_blacklisted},
      {"550 Your IP address is not authorized", Category::ip_blacklisted},
      {"554 Unauthorized source IP", Category::ip_blacklisted},
      {"554 IP non autorizzato", Category::ip_blacklisted},
      {"550 IP-Adresse nicht autorisiert", Category::ip_blacklisted},
      {"554 非法IP", Category::ip_blacklisted},
      // Near misses: SPF's "not authorized to send" and a refused relay keep their rows.
      {"550 192.0.2.1 is not authorized to send mail for example.com", Category::spf_failed},
      {"554 IP not authorized to relay", Category::relay_denied},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(SendingSide, TheSendingAccountsState) {
  const testing::ReplyCase cases[] = {
      {"5.2.0 Rejected: the sending account is suspended", Category::sender_account_unavailable},
      {"550 Your account has been suspended", Category::sender_account_unavailable},
      {"554 Outbound mail for your account is disabled", Category::sender_account_unavailable},
      {"550 Sending from this account has been paused", Category::sender_account_unavailable},
      {"554 Ihr Konto wurde gesperrt", Category::sender_account_unavailable},
      {"554 Votre compte est suspendu", Category::sender_account_unavailable},
      {"550 Su cuenta ha sido suspendida", Category::sender_account_unavailable},
      {"554 您的账户已被冻结", Category::sender_account_unavailable},
      // Near misses: the recipient's account keeps its reading.
      {"550 5.2.1 The recipient's account is suspended", Category::recipient_unavailable},
      {"550 Account suspended", Category::recipient_unavailable},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

// The precedence of issue 11: a bare code or an enhanced status alone must
// not outrank a text that says what happened.
TEST(SendingSide, TheTextOutranksACodeAlone) {
  const testing::ReplyCase cases[] = {
      {"553 Message blocked", Category::policy_rejected},
      {"553 From <a@example.org>, message blocked.", Category::policy_rejected},
      {"554 Mail refused", Category::policy_rejected},
      {"550 5.7.1 Message blocked", Category::policy_rejected},
      {"553 Nachricht blockiert", Category::policy_rejected},
      {"554 邮件被拒绝", Category::policy_rejected},
      {"503 5.5.0 Client host rejected", Category::protocol_error},  // a 503 keeps its code's reading (seen Sohu row)
      // A why after it decides.
      {"553 Message blocked: spam detected", Category::spam},
      {"552 Message refused: size exceeds the limit", Category::message_too_large},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(SendingSide, NearMissesAreNotHardBounces) {
  // Each with a 5.1.1 beside it, which would make it a hard bounce if the
  // round's words did not say what the reply is about.
  const char* not_hard_bounces[] = {
      "553 5.1.1 Message blocked",
      "553 5.1.1 From <a@example.org>, message blocked.",
      "550 5.1.1 Client host rejected",
      "550 5.1.1 Invalid IP",
      "550 5.1.1 Sender verify failed: the account or domain may not exist",
      "550 Verification failed for <a@example.com>. The account or domain may not exist. Sender verify failed",
      "550 5.1.1 The sending account is disabled",
      "550 5.1.1 Your account has been suspended",
      "550 5.1.1 High volume of spam to unknown users from your IP",
      "550 5.1.1 Mail sent without TLS to this user is refused",
      "550 5.1.1 Ratelimit \"to\" exceeded",
  };
  testing::ExpectNoHardBounce(std::begin(not_hard_bounces), std::end(not_hard_bounces));
}

// The round's words beside a reply that does say the recipient is unknown:
// the address evidence stands.
TEST(SendingSide, AnUnknownUserBesideTheRoundsWordsStaysAHardBounce) {
  const char* hard_bounces[] = {
      "550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown in virtual mailbox table; message rejected",
      "553 Sorry, no mailbox here by that name. Message rejected",
      "550 5.1.1 User unknown. Message rejected.",
  };
  testing::ExpectHardBounce(std::begin(hard_bounces), std::end(hard_bounces));
  const testing::ReplyCase cases[] = {
      // A status after the words, as qmail writes it, leaves them the last words.
      {"553 Message blocked (#5.7.1)", Category::policy_rejected},
      {"553 You are not allowed to send e-mail. (#5.7.1)", Category::sender_blacklisted},
      {"550 You are not allowed to send from this address", Category::sender_blacklisted},
      // A rate limit with no party named is the IP's, as the seen tables read it.
      {"421 Sorry, rate limit exceeded, try later", Category::ip_rate_limited},
      {"421 4.7.0 You have exceeded the rate limit, try later", Category::ip_rate_limited},
      // The HELO's IP literal is a protocol matter, not the sending IP refused.
      {"501 5.5.2 Invalid IP address literal in EHLO", Category::protocol_error},
      {"450 unverschlüsselte übertragung nicht erlaubt", Category::auth_policy},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

}  // namespace
}  // namespace rebound
