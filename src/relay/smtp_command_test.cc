#include "relay/smtp_command.h"

#include <gtest/gtest.h>

namespace rebound::relay {
namespace {

TEST(ParseCommand, VerbsAreCaseInsensitive) {
  Command c;
  EXPECT_EQ(ParseCommand("ehlo client.test", &c), ParseResult::kOk);
  EXPECT_EQ(c.verb, Verb::kEhlo);
  EXPECT_EQ(c.arg, "client.test");
  EXPECT_EQ(ParseCommand("StartTLS", &c), ParseResult::kOk);
  EXPECT_EQ(c.verb, Verb::kStartTls);
  EXPECT_EQ(ParseCommand("XYZZY", &c), ParseResult::kUnknownVerb);
  EXPECT_EQ(ParseCommand("", &c), ParseResult::kUnknownVerb);
  EXPECT_EQ(ParseCommand("EHLO", &c), ParseResult::kSyntax);
  EXPECT_EQ(ParseCommand("DATA now", &c), ParseResult::kSyntax);
  EXPECT_EQ(ParseCommand(std::string_view("NOOP\0x", 6), &c), ParseResult::kBadCharacter);
}

TEST(ParseCommand, MailFromWithParameters) {
  Command c;
  ASSERT_EQ(ParseCommand("MAIL FROM:<a@example.com> SIZE=1000 BODY=8BITMIME SMTPUTF8", &c), ParseResult::kOk);
  EXPECT_EQ(c.path, "a@example.com");
  ASSERT_EQ(c.params.size(), 3u);
  EXPECT_EQ(c.params[0].first, "SIZE");
  EXPECT_EQ(c.params[0].second, "1000");
  EXPECT_EQ(c.params[2].first, "SMTPUTF8");
  EXPECT_EQ(c.params[2].second, "");
  ASSERT_EQ(ParseCommand("MAIL FROM:<>", &c), ParseResult::kOk);
  EXPECT_EQ(c.path, "");
  ASSERT_EQ(ParseCommand("mail from: <a@example.com>", &c), ParseResult::kOk);
  EXPECT_EQ(c.path, "a@example.com");
  EXPECT_EQ(ParseCommand("MAIL FROM:a@example.com", &c), ParseResult::kSyntax);
  EXPECT_EQ(ParseCommand("MAIL FROM:<a@example.com", &c), ParseResult::kSyntax);
  EXPECT_EQ(ParseCommand("MAIL TO:<a@example.com>", &c), ParseResult::kSyntax);
  EXPECT_EQ(ParseCommand("MAIL FROM:<a@example.com>SIZE=1", &c), ParseResult::kSyntax);
}

TEST(ParseCommand, RcptPathsWithQuotesAndSourceRoutes) {
  Command c;
  ASSERT_EQ(ParseCommand("RCPT TO:<\"a>b\"@example.net>", &c), ParseResult::kOk);
  EXPECT_EQ(c.path, "\"a>b\"@example.net");
  ASSERT_EQ(ParseCommand("RCPT TO:<@relay.example,@b.example:user@example.net>", &c), ParseResult::kOk);
  EXPECT_EQ(c.path, "user@example.net");
}

TEST(Mailbox, Rfc5321Syntax) {
  for (const char* ok : {"a@example.com", "first.last+tag@sub.example.co", "\"john doe\"@example.net",
                         "x@[192.0.2.1]", "x@[IPv6:2001:db8::1]", "a!#$%&'*+/=?^_`{|}~-@example.com"})
    EXPECT_TRUE(IsValidMailbox(ok, false)) << ok;
  for (const char* bad : {"", "plain", "@example.com", "a@", "a@@example.com", "a..b@example.com", ".a@example.com",
                          "a.@example.com", "a@-x.example", "a@x-.example", "a@ex..ample", "a b@example.com",
                          "a@[300.1.1.1]", "a@[1.2.3]", "\"unterminated@example.com"})
    EXPECT_FALSE(IsValidMailbox(bad, false)) << bad;
  EXPECT_FALSE(IsValidMailbox(std::string(65, 'a') + "@example.com", false));
  EXPECT_FALSE(IsValidMailbox("a@" + std::string(64, 'b') + ".com", false));
}

TEST(Mailbox, Utf8OnlyWithSmtpUtf8) {
  const std::string addr = "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe6\xb5\x8b\xe8\xaf\x95";
  EXPECT_FALSE(IsValidMailbox(addr, false));
  EXPECT_TRUE(IsValidMailbox(addr, true));
  EXPECT_FALSE(IsValidMailbox("\xff\xfe@example.com", true));  // not UTF-8
  EXPECT_FALSE(IsValidMailbox("\xe7\x94@example.com", true));   // truncated sequence
}

TEST(Sasl, Base64AndPlain) {
  std::string d, user, pw;
  ASSERT_TRUE(DecodeBase64("AGFsaWNlAHB3", &d));
  ASSERT_TRUE(ParseSaslPlain(d, &user, &pw));
  EXPECT_EQ(user, "alice");
  EXPECT_EQ(pw, "pw");
  EXPECT_EQ(EncodeBase64(d), "AGFsaWNlAHB3");
  EXPECT_EQ(EncodeBase64("a"), "YQ==");
  EXPECT_EQ(EncodeBase64("ab"), "YWI=");
  EXPECT_FALSE(DecodeBase64("YR==", &d));  // non-canonical trailing bits
  EXPECT_FALSE(DecodeBase64("Y===", &d));
  EXPECT_FALSE(DecodeBase64("YQ=", &d));
  EXPECT_FALSE(DecodeBase64("Y!==", &d));
  ASSERT_TRUE(DecodeBase64("Ym9iAGFsaWNlAHB3", &d));  // authzid "bob" acting as alice: refused
  EXPECT_FALSE(ParseSaslPlain(d, &user, &pw));
  EXPECT_FALSE(ParseSaslPlain(std::string("\0\0pw", 4), &user, &pw));  // empty user
}

}  // namespace
}  // namespace rebound::relay
