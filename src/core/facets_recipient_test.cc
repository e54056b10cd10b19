// Round 8 of the families of wordings, the recipient side
// (rules/facets-recipient.toml, docs/generalization.md "Round 8: families of
// wordings (recipient side)"): each family in wordings of our own, in
// several languages and word orders, and the near misses that share its
// words but must take another category or stay off the suppression list.
#include <gtest/gtest.h>

#include "core/shipped_classifier_test_util.h"
#include "rebound/classifier.h"

namespace rebound {
namespace {

TEST(FacetsRecipient, MailboxUnavailableInOtherWordsAndLanguages) {
  const testing::ReplyCase cases[] = {
      {"550 Mailbox not available", Category::recipient_not_found},
      {"550 The mailbox is currently not available", Category::recipient_not_found},
      {"550 Postfach nicht verfügbar", Category::recipient_not_found},
      {"550 Le destinataire: boîte aux lettres indisponible", Category::recipient_not_found},
      {"550 Buzón no disponible", Category::recipient_not_found},
      {"550 La casella di posta non disponibile", Category::recipient_not_found},
      {"550 Caixa postal indisponível", Category::recipient_not_found},
      {"550 Skrzynka odbiorcy jest niedostępna", Category::recipient_not_found},
      {"550 Почтовый ящик недоступен", Category::recipient_not_found},
      {"550 收件人邮箱不可用", Category::recipient_not_found},
      {"550 メールボックスは利用できません", Category::recipient_not_found},
      {"550 Mailbox niet beschikbaar", Category::recipient_not_found},
      // RFC 5321's 550 text quoted without its code.
      {"Requested action not taken: mailbox unavailable (ref 8812)", Category::recipient_not_found},
      // Near misses: the disabled-mailbox status, a why after it, the 450 text, a 4xx that says "for now".
      {"550 5.2.1 Mailbox not available", Category::recipient_unavailable},
      {"550 5.2.1 Skrzynka niedostępna", Category::recipient_unavailable},
      {"Requested action not taken: mailbox unavailable. Reject due to policy restrictions", Category::policy_rejected},
      {"450 Requested mail action not taken: mailbox unavailable", Category::recipient_unavailable},
      {"421 Requested action not taken: mailbox unavailable", Category::recipient_unavailable},
      {"451 Postfach vorübergehend nicht verfügbar", Category::recipient_unavailable},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(FacetsRecipient, RecipientRefusedByTheDirectory) {
  const testing::ReplyCase cases[] = {
      {"550 5.4.1 Access denied for recipient <bob@example.org>", Category::recipient_not_found},
      {"550 5.4.1 RCPT rejected - access denied", Category::recipient_not_found},
      {"550 5.7.504 Recipient address rejected: Access denied", Category::recipient_not_found},
      // Near misses: the same words as a local policy (5.7.1), a whole batch, relaying.
      {"554 5.7.1 <ann@example.org>: Recipient address rejected: Access denied", Category::policy_rejected},
      {"550 5.4.1 All recipient addresses rejected : Access denied", Category::policy_rejected},
      {"550 5.4.1 Recipient address rejected: Relay access denied", Category::relay_denied},
      // A 4xx with 4.4.1 (no answer from the host) is not the directory's verdict.
      {"450 4.4.1 Recipient address rejected: Access denied", Category::policy_rejected},
      {"421 4.4.1 Access denied for recipient", Category::policy_rejected},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(FacetsRecipient, RecipientCouldNotBeVerified) {
  const testing::ReplyCase cases[] = {
      {"550 The recipient cannot be verified", Category::recipient_not_found},
      {"554 Recipient address verification failed", Category::recipient_not_found},
      {"550 Empfänger konnte nicht verifiziert werden", Category::recipient_not_found},
      {"550 收件人验证失败", Category::recipient_not_found},
      // The check itself went wrong, or a 4xx: retry.
      {"451 Could not verify recipient, try again", Category::recipient_unavailable},
      {"550 Recipient verification problem", Category::recipient_unavailable},
      {"550 Recipient check timed out", Category::recipient_unavailable},
      // Near miss: the sender's verification.
      {"550 Sender verification failed", Category::policy_rejected},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(FacetsRecipient, EmptyListsSyntaxAndSwitchedOffWords) {
  const testing::ReplyCase cases[] = {
      {"550 The distribution list all@example.org has no members", Category::recipient_not_found},
      {"550 Empty mailing list", Category::recipient_not_found},
      {"451 4.3.0 The distribution list is empty, try again later", Category::recipient_unavailable},
      {"550 invalid local name syntax", Category::invalid_address},
      {"553 Mailbox name not allowed: bad syntax", Category::invalid_address},
      {"550 Konto wyłączone", Category::recipient_unavailable},
      {"550 Skrzynka jest wyłączona", Category::recipient_unavailable},
      {"550 收件人帐号已过期", Category::recipient_unavailable},
      {"550 Gebruiker inactief", Category::recipient_unavailable},
      {"550 Учётная запись отключена", Category::recipient_unavailable},
      {"550 정지된 계정입니다", Category::recipient_unavailable},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(FacetsRecipient, NearMissesAreNotHardBounces) {
  const char* replies[] = {
      // Not found, but no word says the mailbox does not exist.
      "550 Mailbox not available",
      "550 Postfach nicht verfügbar",
      "Requested action not taken: mailbox unavailable (ref 8812)",
      "550 5.4.1 Access denied for recipient <bob@example.org>",
      "550 The recipient cannot be verified",
      "550 Recipient verification problem",
      // Switched off: it may come back, even beside a 5.1.1.
      "550 5.1.1 <d@example.org>: inactive mailbox",
      "550 5.1.1 Benutzerkonto deaktiviert",
      "550 Konto wyłączone",
      "550 5.2.1 Mailbox not available",
      // A list with no members can be filled.
      "550 The distribution list all@example.org has no members",
      "554 maillist team@example.org is null, please contact admin",
  };
  testing::ExpectNoHardBounce(std::begin(replies), std::end(replies));
}

}  // namespace
}  // namespace rebound
