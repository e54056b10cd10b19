// The facet layer in other languages (rules/facets-languages.toml): the
// localized wordings of bounce notices and SMTP replies say who and what in
// Japanese, Chinese, Korean, German, French, Spanish, Portuguese, Italian,
// Russian, Dutch and Polish, and the shipped [[decide]] rows read them.
#include <gtest/gtest.h>

#include "core/shipped_classifier_test_util.h"
#include "rebound/classifier.h"

namespace rebound {
namespace {

TEST(FacetLanguages, Japanese) {
  const testing::ReplyCase cases[] = {
      {"550 ユーザが存在しません", Category::recipient_not_found},
      {"550 宛先不明", Category::recipient_not_found},
      {"550 このユーザーは登録されていません", Category::recipient_not_found},
      {"552 受信者のメールボックスが一杯です", Category::mailbox_full},
      {"550 あて先のアカウントは利用停止中です", Category::recipient_unavailable},
      {"552 メールサイズが大きすぎます", Category::message_too_large},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(FacetLanguages, Chinese) {
  const testing::ReplyCase cases[] = {
      {"550 用户不存在", Category::recipient_not_found},
      {"550 收件者不存在", Category::recipient_not_found},
      {"552 收件人邮箱空间已满", Category::mailbox_full},
      {"552 收件人信箱已滿", Category::mailbox_full},
      {"550 收件人帳號已停用", Category::recipient_unavailable},
      {"554 邮件过大", Category::message_too_large},
      {"451 投递超时", Category::expired},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(FacetLanguages, Korean) {
  const testing::ReplyCase cases[] = {
      {"550 존재하지 않는 사용자입니다", Category::recipient_not_found},
      {"552 받는사람의 메일함 용량이 부족합니다", Category::mailbox_full},
      {"550 휴면 계정입니다", Category::recipient_unavailable},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(FacetLanguages, German) {
  const testing::ReplyCase cases[] = {
      {"550 5.1.1 Der Empfänger wurde nicht gefunden", Category::recipient_not_found},
      {"550 Benutzer existiert nicht", Category::recipient_not_found},
      {"552 Postfach des Empfängers ist voll", Category::mailbox_full},
      {"452 Speicherkontingent des Empfängers überschritten", Category::mailbox_full},
      {"550 Das Postfach des Empfängers wurde deaktiviert", Category::recipient_unavailable},
      {"552 Die Nachricht überschreitet die maximale Größe", Category::message_too_large},
      {"550 Die Nachricht konnte nach mehreren Versuchen nicht zugestellt werden", Category::expired},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(FacetLanguages, French) {
  const testing::ReplyCase cases[] = {
      {"550 5.1.1 Destinataire introuvable", Category::recipient_not_found},
      {"552 Boîte aux lettres pleine", Category::mailbox_full},
      {"452 Quota dépassé pour ce destinataire", Category::mailbox_full},
      {"554 Message refusé : courrier indésirable", Category::spam},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(FacetLanguages, Spanish) {
  const testing::ReplyCase cases[] = {
      {"550 Usuario desconocido", Category::recipient_not_found},
      {"552 Buzón lleno", Category::mailbox_full},
      {"550 La cuenta del destinatario está deshabilitada", Category::recipient_unavailable},
      {"552 El mensaje excede el tamaño máximo permitido", Category::message_too_large},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(FacetLanguages, Portuguese) {
  const testing::ReplyCase cases[] = {
      {"550 Usuário inexistente", Category::recipient_not_found},
      {"552 Caixa postal cheia", Category::mailbox_full},
      {"550 Conta do destinatário desativada", Category::recipient_unavailable},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(FacetLanguages, Italian) {
  const testing::ReplyCase cases[] = {
      {"550 Utente inesistente", Category::recipient_not_found},
      {"552 Casella piena", Category::mailbox_full},
      {"552 Quota superata per la casella di posta del destinatario", Category::mailbox_full},
      {"421 Troppi messaggi, riprovare più tardi", Category::sender_rate_limited},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(FacetLanguages, Russian) {
  const testing::ReplyCase cases[] = {
      {"550 нет такого пользователя", Category::recipient_not_found},
      {"550 Адресат не найден", Category::recipient_not_found},
      {"552 Ящик переполнен", Category::mailbox_full},
      {"554 Сообщение отклонено как спам", Category::spam},
      {"421 Слишком много писем, повторите попытку позже", Category::sender_rate_limited},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

TEST(FacetLanguages, DutchAndPolish) {
  const testing::ReplyCase cases[] = {
      {"550 Ontvanger onbekend", Category::recipient_not_found},
      {"552 Postvak is vol", Category::mailbox_full},
      {"550 Użytkownik nie istnieje", Category::recipient_not_found},
      {"552 Skrzynka odbiorcy jest przepełniona", Category::mailbox_full},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
}

// Words that count recipients are not a rate, a closed connection is not a
// closed account, and sender-side words still veto a hard bounce.
TEST(FacetLanguages, NoMisreadings) {
  const testing::ReplyCase cases[] = {
      {"452 宛先が多すぎます", Category::too_many_recipients},
      {"550 Absender unbekannt", Category::policy_rejected},
      {"421 Zu viele Verbindungen von Ihrer IP", Category::ip_rate_limited},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
  auto scratch = testing::Shipped().NewScratch();
  Verdict closed_connection = testing::Shipped().Classify("421 Verbindung geschlossen, bitte später erneut versuchen", scratch.get());
  EXPECT_FALSE(closed_connection.hard_bounce) << closed_connection.rule;
  EXPECT_NE(closed_connection.category, Category::recipient_not_found) << closed_connection.rule;
  Verdict spam = testing::Shipped().Classify("550 5.7.1 Nachricht als Spam eingestuft, Empfänger unbekannt", scratch.get());
  EXPECT_FALSE(spam.hard_bounce) << spam.rule;
  EXPECT_TRUE(testing::Shipped().Classify("550 нет такого пользователя", scratch.get()).hard_bounce);
}

// Round 7b: a dynamic IP refused, the sender's own mailbox full and a TLS
// certificate failing, in the languages their users meet; and the address
// words for a closed account (Chinese), an address not in use (Japanese) and
// "no such user" in Polish, Russian and accent-less Spanish.
TEST(FacetLanguages, RoundSevenBFamilies) {
  const testing::ReplyCase cases[] = {
      {"550 Verbindungen von dynamischen IP-Adressen werden nicht angenommen: dynamische IP", Category::auth_policy},
      {"550 Les connexions depuis une IP dynamique sont refusées", Category::auth_policy},
      {"550 No se aceptan correos desde IP dinámica", Category::auth_policy},
      {"550 Отклонено: динамический IP", Category::auth_policy},
      {"550 拒绝来自动态IP的连接", Category::auth_policy},
      {"550 動的IPアドレスからの接続は受け付けません", Category::auth_policy},
      {"554 5.2.2 您的邮箱已满，无法发送邮件", Category::sender_account_unavailable},
      {"554 Ihr Postfach ist voll, Versand nicht möglich", Category::sender_account_unavailable},
      {"554 Votre boîte aux lettres est pleine, envoi impossible", Category::sender_account_unavailable},
      {"554 Su buzón está lleno", Category::sender_account_unavailable},
      {"454 4.7.0 证书已过期", Category::auth_policy},
      {"454 4.7.0 Zertifikat ist abgelaufen", Category::auth_policy},
      {"535 5.7.8 Konto deaktiviert", Category::sender_account_unavailable},
      {"535 账号已停用", Category::sender_account_unavailable},
      // The recipient's own full mailbox stays the recipient's.
      {"552 Postfach des Empfängers ist voll", Category::mailbox_full},
      {"552 收件人邮箱空间已满", Category::mailbox_full},
  };
  testing::ExpectCategories(std::begin(cases), std::end(cases));
  const char* hard_bounces[] = {
      "550 该账户已注销", "550 收件人邮箱已被注销", "550 该帐号已销户", "550 このメールアドレスは現在使われておりません",
      "550 このアドレスは使用されていません", "550 Brak takiego użytkownika", "550 Такого ящика нет", "550 direccion no valida",
      "550 Usuario no valido", "550 Direccion de destino invalida",
  };
  const char* not_hard_bounces[] = {
      "550 发件人账户已注销", "550 您的账户已注销", "550 转发目标账户已注销", "550 该账户可能已注销", "550 部分收件人账户已注销",
      "550 送信者のメールアドレスは現在使われておりません", "550 転送先のメールアドレスは現在使われておりません",
      "550 このメールアドレスは現在使われていない可能性があります", "550 Brak takiego nadawcy", "550 Adres przekierowania nie istnieje",
      "550 Отправитель: нет такого пользователя", "550 Адрес пересылки: такого ящика нет", "550 Возможно, такого пользователя нет",
      "550 Direccion del remitente no valida", "550 La direccion de reenvio no es valida", "550 La direccion puede no ser valida",
  };
  auto scratch = testing::Shipped().NewScratch();
  for (const char* reply : hard_bounces) {
    Verdict v = testing::Shipped().Classify(reply, scratch.get());
    EXPECT_TRUE(v.hard_bounce) << reply << " decided by " << v.rule;
    EXPECT_EQ(v.category, Category::recipient_not_found) << reply << " decided by " << v.rule;
  }
  for (const char* reply : not_hard_bounces) {
    Verdict v = testing::Shipped().Classify(reply, scratch.get());
    EXPECT_FALSE(v.hard_bounce) << reply << " decided by " << v.rule;
  }
}

}  // namespace
}  // namespace rebound
