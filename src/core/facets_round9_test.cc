// Round 9 of the families of wordings (rules/facets-round9.toml,
// docs/generalization.md "Round 9: families of wordings"): each family in
// wordings of our own, in several word orders, providers' styles and
// languages, with the near misses that share its words but must keep another
// reading or stay off the suppression list.
#include <gtest/gtest.h>

#include "core/shipped_classifier_test_util.h"
#include "rebound/classifier.h"

namespace rebound {
namespace {

TEST(FacetsRoundNine, ADomainNamedAsThePartyOfARate) {
  const testing::ReplyCase cases[] = {
      {"550 shop.example.com has exceeded the max emails per hour (250/250 (100%)) allowed. Message discarded.",
       Category::domain_rate_limited},
      {"example.net has exceeded the maximum emails per hour allowed", Category::domain_rate_limited},
      {"451 <news.example.org> has reached its hourly limit of messages", Category::domain_rate_limited},
      {"550 You have exceeded the maximum number of emails per hour for the domain example.org",
       Category::domain_rate_limited},
      {"451 Your plan is on trial: domains are limited to 50 messages per hour", Category::domain_rate_limited},
      {"421 Domain example.org is not allowed to send: recipient limit exceeded, try again after 12:00 UTC",
       Category::domain_rate_limited},
      {"Domain mail.example.net is not allowed to send: hourly recipient limit reached",
       Category::domain_rate_limited},
      // Near misses: a mailbox's address before "has exceeded" is a full mailbox;
      // an IP is not a domain; a recipient limit with no party and no period is per message.
      {"552 user@example.com has exceeded its quota", Category::mailbox_full},
      {"552 5.2.2 <ann@example.org> has exceeded the maximum mailbox size", Category::mailbox_full},
      {"421 192.0.2.7 has exceeded the max connections per hour", Category::ip_rate_limited},
      {"452 4.5.3 Too many recipients", Category::too_many_recipients},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(FacetsRoundNine, ARateCountedForTheConnectingClient) {
  const testing::ReplyCase cases[] = {
      {"421 4.4.2 Message submission rate for this client has exceeded the configured limit",
       Category::ip_rate_limited},
      {"450 4.7.1 Recipient address rate for this client has exceeded the configured limit",
       Category::ip_rate_limited},
      {"421 4.4.5 Service unavailable, concurrency limit reached", Category::ip_rate_limited},
      {"451 Client connection rate limit exceeded, slow down", Category::ip_rate_limited},
      // Near misses: a 4.4.2 that names no rate is a broken connection; a
      // sender named as the party is the sender's rate.
      {"421 4.4.2 Connection dropped by remote host", Category::connection_failed},
      {"450 4.7.1 Sender rate limit exceeded for this client", Category::sender_rate_limited},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(FacetsRoundNine, TheMessagesFormIsNotStandard) {
  const testing::ReplyCase cases[] = {
      {"550 5.7.512 Access denied, message must be RFC 5322 section 3.6.2 compliant", Category::protocol_error},
      {"5.7.512 Access denied, message must be RFC 5322 section 3.6.2 compliant", Category::protocol_error},
      {"554 This message is not RFC 2822 compliant", Category::protocol_error},
      {"5.6.211 Invalid MIME Content: bad boundary in a multipart body", Category::protocol_error},
      {"554 Failed: Malformed MIME field: Content-Disposition: attachment; name", Category::protocol_error},
      {"550 Malformed message headers", Category::protocol_error},
      {"550 Die Nachricht entspricht nicht RFC 5322", Category::protocol_error},
      {"550 Message non conforme à la RFC 5322", Category::protocol_error},
      // Near misses: a spam or virus verdict beside the form; a malformed address is the address.
      {"554 5.7.1 Spam detected (malformed message)", Category::spam},
      {"550 Invalid MIME content: virus found in attachment", Category::virus},
      {"501 5.1.3 Malformed destination address", Category::invalid_address},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(FacetsRoundNine, TheSendersAllowanceInOtherWordsAndLanguages) {
  const testing::ReplyCase cases[] = {
      {"5.7.0 The limit on the number of allowed outgoing messages was exceeded.",
       Category::sending_quota_exceeded},
      {"You (jdoe) have reached your message limit.", Category::sending_quota_exceeded},
      {"550 Your account has reached the daily message limit", Category::sending_quota_exceeded},
      {"550 Versandlimit überschritten", Category::sending_quota_exceeded},
      {"550 Limite d'envoi dépassée pour aujourd'hui", Category::sending_quota_exceeded},
      {"550 Se ha superado el límite de envío", Category::sending_quota_exceeded},
      {"550 Limite di invio superato", Category::sending_quota_exceeded},
      {"550 Limite de envio excedido", Category::sending_quota_exceeded},
      {"550 Verzendlimiet overschreden", Category::sending_quota_exceeded},
      {"550 Przekroczono limit wysyłki", Category::sending_quota_exceeded},
      // Near miss: a message's size limit is not an allowance of messages.
      {"552 Message size limit exceeded", Category::message_too_large},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(FacetsRoundNine, DutchAndPolishForABlockedIpOrAFullMailbox) {
  const testing::ReplyCase cases[] = {
      {"554 Uw IP-adres is geblokkeerd", Category::ip_blacklisted},
      {"554 Uw IP-adres is geweigerd", Category::ip_blacklisted},
      {"554 Uw IP-adres staat op een zwarte lijst", Category::ip_blacklisted},
      {"554 Adres IP znajduje się na czarnej liście", Category::ip_blacklisted},
      {"554 Twój adres IP został zablokowany", Category::ip_blacklisted},
      {"452 Postvak vol", Category::mailbox_full},
      {"552 Mailbox vol, bericht geweigerd", Category::mailbox_full},
      // Near miss: the user unknown stays unknown.
      {"550 Gebruiker onbekend", Category::recipient_not_found},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(FacetsRoundNine, TheEnvelopeBlocked) {
  const testing::ReplyCase cases[] = {
      {"550 Envelope blocked - personal block entry", Category::sender_blacklisted},
      {"554 Administrative prohibition - envelope blocked", Category::sender_blacklisted},
      {"554 5.7.1 Blocked envelope sender", Category::sender_blacklisted},
      {"550 Envelope-From is blacklisted here", Category::sender_blacklisted},
      {"550 Envelope blocked for recipient bob@example.org", Category::sender_blacklisted},
      // Near misses: the recipient's envelope address, an unknown user beside it, an IP named.
      {"550 Envelope recipient blocked", Category::recipient_unavailable},
      {"550 5.7.1 <bob@example.org>: envelope blocked, no such user", Category::recipient_not_found},
      {"554 Envelope blocked: connecting IP 192.0.2.4 is listed", Category::ip_blacklisted},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(FacetsRoundNine, ServiceRefusedWithNoWhy) {
  const testing::ReplyCase cases[] = {
      {"550 5.7.1 Service refused, please try later.", Category::policy_rejected},
      {"550 Service refusé. Veuillez essayer plus tard.", Category::policy_rejected},
      {"554 Service denied", Category::policy_rejected},
      {"421 Dienst verweigert, bitte später erneut versuchen", Category::policy_rejected},
      {"554 Servicio denegado", Category::policy_rejected},
      {"554 Servizio rifiutato", Category::policy_rejected},
      {"554 Serviço recusado", Category::policy_rejected},
      // Near misses: a why after it decides; "not available" is not a refusal.
      {"450 4.7.1 Service refused due to bad behaviour - too many spam messages", Category::spam},
      {"554 Service refused: your IP 192.0.2.1 is listed on a DNSBL", Category::ip_blacklisted},
      {"550 Service refused: user unknown", Category::recipient_not_found},
      {"421 Service not available, closing transmission channel", Category::recipient_unavailable},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(FacetsRoundNine, NearMissesAreNotHardBounces) {
  const char* replies[] = {
      // The round's words beside a 5.1.1 or an unknown user: each names a cause
      // that is not the address, so none may suppress it.
      "550 5.1.1 Domain example.org is not allowed to send: recipient limit exceeded, try again after 12:00",
      "550 5.1.1 Message submission rate for this client has exceeded the configured limit",
      "550 5.1.1 Access denied, message must be RFC 5322 section 3.6.2 compliant",
      "550 5.1.1 Malformed MIME field: Content-Type",
      "550 5.1.1 <bob@example.org>: envelope blocked, no such user",
      "550 5.1.1 Verzendlimiet overschreden",
      "550 5.1.1 The limit on the number of allowed outgoing messages was exceeded",
      "550 shop.example.com has exceeded the max emails per hour, user unknown",
  };
  testing::ExpectNoHardBounce(std::begin(replies), std::end(replies));
}

TEST(FacetsRoundNine, AnUnknownUserBesideServiceRefusedStaysAHardBounce) {
  const char* replies[] = {
      "550 5.1.1 Service refused: user unknown",
      "550 Service refusé: utilisateur inconnu",
  };
  testing::ExpectHardBounce(std::begin(replies), std::end(replies));
}

}  // namespace
}  // namespace rebound
