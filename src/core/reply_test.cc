#include "rebound/reply.h"

#include <gtest/gtest.h>

#include <string>

namespace rebound {
namespace {

std::string Status(const Reply& r) {
  char buf[12];
  return std::string(r.status.Format(buf));
}

TEST(ReplyParser, SingleLineWithEnhancedStatus) {
  ReplyParser p;
  Reply r = p.Parse("550 5.1.1 <user@example.com>: Recipient address rejected: User unknown");
  EXPECT_EQ(r.code, 550);
  EXPECT_EQ(Status(r), "5.1.1");
  EXPECT_EQ(r.text, "<user@example.com>: Recipient address rejected: User unknown");
}

TEST(ReplyParser, MultiLineCrlfJoinsAndDropsRepeatedCodes) {
  ReplyParser p;
  Reply r = p.Parse(
      "550-5.1.1 The email account that you tried to reach does not exist.\r\n"
      "550-5.1.1 Please try double-checking the recipient's email\r\n"
      "550 5.1.1 https://support.google.com/mail/?p=NoSuchUser x1si123.2 - gsmtp\r\n");
  EXPECT_EQ(r.code, 550);
  EXPECT_EQ(Status(r), "5.1.1");
  EXPECT_EQ(r.text,
            "The email account that you tried to reach does not exist. Please try double-checking the "
            "recipient's email https://support.google.com/mail/?p=NoSuchUser x1si123.2 - gsmtp");
}

TEST(ReplyParser, EnhancedStatusWithoutBasicCode) {
  ReplyParser p;
  Reply r = p.Parse("5.1.1 user unknown");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(Status(r), "5.1.1");
  EXPECT_EQ(r.klass(), 5);
  EXPECT_EQ(r.text, "user unknown");
}

TEST(ReplyParser, NoCodeAtAll) {
  ReplyParser p;
  Reply r = p.Parse("  mailbox unavailable\t ");
  EXPECT_EQ(r.code, 0);
  EXPECT_FALSE(r.status.present());
  EXPECT_EQ(r.text, "mailbox unavailable");
}

TEST(ReplyParser, DiagnosticCodeField) {
  ReplyParser p;
  Reply r = p.Parse("Diagnostic-Code: smtp; 552 5.2.2 Mailbox full");
  EXPECT_EQ(r.code, 552);
  EXPECT_EQ(Status(r), "5.2.2");
  EXPECT_EQ(r.text, "Mailbox full");
}

TEST(ReplyParser, PostfixWrapperGivesHostAndCommand) {
  ReplyParser p;
  Reply r = p.Parse(
      "host mx.example.com[192.0.2.1] said: 550 5.1.1 <x@example.com>: Recipient address rejected: "
      "User unknown in virtual mailbox table (in reply to RCPT TO command)");
  EXPECT_EQ(r.code, 550);
  EXPECT_EQ(r.command, SmtpCommand::kRcpt);
  EXPECT_EQ(r.remote_host, "mx.example.com[192.0.2.1]");
  EXPECT_EQ(r.text, "<x@example.com>: Recipient address rejected: User unknown in virtual mailbox table");
}

// A reply with its own code that quotes another host's answer (Postfix's
// reject_unverified_sender) is the outer reply: its subject is the sender.
TEST(ReplyParser, QuotedHostAnswerInsideAReplyStaysQuoted) {
  ReplyParser p;
  Reply r = p.Parse(
      "550 5.1.7 <news@shop.example>: Sender address rejected: undeliverable address: host "
      "mx.shop.example[192.0.2.10] said: 550 5.1.1 <news@shop.example>: Recipient address rejected: User unknown");
  EXPECT_EQ(r.code, 550);
  EXPECT_EQ(Status(r), "5.1.7");
  EXPECT_TRUE(r.text.starts_with("<news@shop.example>: Sender address rejected: undeliverable address: host "));
  EXPECT_TRUE(r.remote_host.empty());
}

TEST(ReplyParser, PostfixFlattenedMultiLine) {
  ReplyParser p;
  Reply r = p.Parse(
      "host gmail-smtp-in.l.google.com[142.250.1.26] said: 550-5.1.1 The email account that you tried "
      "to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for "
      "typos or 550-5.1.1 unnecessary spaces. 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser "
      "(in reply to RCPT TO command)");
  EXPECT_EQ(r.code, 550);
  EXPECT_EQ(r.text,
            "The email account that you tried to reach does not exist. Please try double-checking the "
            "recipient's email address for typos or unnecessary spaces. "
            "https://support.google.com/mail/?p=NoSuchUser");
}

TEST(ReplyParser, PostfixEndOfData) {
  ReplyParser p;
  Reply r = p.Parse("host h[192.0.2.2] said: 554 5.7.1 rejected as spam (in reply to end of DATA command)");
  EXPECT_EQ(r.command, SmtpCommand::kDataEnd);
  EXPECT_EQ(r.code, 554);
}

TEST(ReplyParser, EximWrapper) {
  ReplyParser p;
  Reply r = p.Parse(
      "SMTP error from remote mail server after RCPT TO:<bob@example.org>:\n"
      "    host mx.example.org [192.0.2.7]: 550 5.1.1 <bob@example.org>: Recipient address rejected");
  EXPECT_EQ(r.code, 550);
  EXPECT_EQ(r.command, SmtpCommand::kRcpt);
  EXPECT_EQ(r.remote_host, "mx.example.org [192.0.2.7]");
  EXPECT_EQ(r.text, "<bob@example.org>: Recipient address rejected");
}

TEST(ReplyParser, SendmailStyle) {
  ReplyParser p;
  Reply r = p.Parse("... 550 5.1.1 <x@example.com>... User unknown");
  EXPECT_EQ(r.code, 550);
  EXPECT_EQ(Status(r), "5.1.1");
  EXPECT_EQ(r.text, "<x@example.com>... User unknown");
}

TEST(ReplyParser, SendmailTranscript) {
  ReplyParser p;
  Reply r = p.Parse(">>> RCPT To:<x@example.com>\n<<< 550 5.1.1 <x@example.com>... User unknown\n");
  EXPECT_EQ(r.code, 550);
  EXPECT_EQ(r.command, SmtpCommand::kRcpt);
  EXPECT_EQ(r.text, "<x@example.com>... User unknown");
}

TEST(ReplyParser, NulBytesTabsAndInvalidUtf8AreSafe) {
  ReplyParser p;
  std::string raw("550\t5.7.1 bad\0byte \xff\xfe end\r", 26);
  Reply r = p.Parse(raw);
  EXPECT_EQ(r.code, 550);
  EXPECT_EQ(Status(r), "5.7.1");
  EXPECT_EQ(r.text, "bad byte \xEF\xBF\xBD\xEF\xBF\xBD end");
}

TEST(ReplyParser, NumbersInsideTextAreNotCodes) {
  ReplyParser p;
  Reply r = p.Parse("Connection to 192.0.2.250 timed out after 300 seconds");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.text, "Connection to 192.0.2.250 timed out after 300 seconds");
}

TEST(ReplyParser, CodeFollowedByAColon) {
  ReplyParser p;
  Reply r = p.Parse("451: Could not complete sender verification");
  EXPECT_EQ(r.code, 451);
  EXPECT_EQ(r.text, "Could not complete sender verification");
  r = p.Parse("550:5.1.1 User unknown");
  EXPECT_EQ(r.code, 550);
  EXPECT_EQ(r.status.subject, 1);
  EXPECT_EQ(r.text, "User unknown");
  r = p.Parse("host mx.example.com[192.0.2.1] said: 552: Message rejected for spam");
  EXPECT_EQ(r.code, 552);
  EXPECT_EQ(r.text, "Message rejected for spam");
  // A colon before other text, or a status of another class, makes no code.
  for (const char* text : {"250:ok", "550:4.2.2 odd", "Retry at 23:55: queue busy", "2001:db8::25 refused"}) {
    r = p.Parse(text);
    EXPECT_EQ(r.code, 0) << text;
  }
}

// One definition of a reply code, shared by the parser and the bounce reader.
TEST(ReplyCodeAt, WhatFollowsAndPrecedesTheDigits) {
  struct Case {
    const char* text;
    size_t at;
    int code;
  };
  const Case cases[] = {
      {"550 5.1.1 unknown", 0, 550}, {"550-first line", 0, 550}, {"550", 0, 550},     {"550, quota exceeded", 0, 550},
      {"550\tno", 0, 550},          {"451: later", 0, 451},     {"550:5.1.1 x", 0, 550}, {"smtp;554 denied", 5, 554},
      {"(421 busy)", 1, 421},
      // Not a code: another class of status after the colon, other text
      // after it, glued to a word, number or dot, four digits, a 1xx or 6xx.
      {"550:4.2.2 odd", 0, 0},       {"250:ok", 0, 0},           {"550Too many", 0, 0},  {"id550 x", 2, 0},
      {"1.550 x", 2, 0},             {"5500 x", 0, 0},           {"650 x", 0, 0},        {"150 x", 0, 0},
      {"55", 0, 0},
  };
  for (const Case& c : cases) EXPECT_EQ(ReplyCodeAt(c.text, c.at), c.code) << c.text;
}

TEST(ReplyParser, QmailStatusInBracketsAtTheEnd) {
  ReplyParser p;
  Reply r = p.Parse("553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)");
  EXPECT_EQ(r.status.subject, 7);
  EXPECT_EQ(r.status.detail, 1);
  // The text keeps it: rules written for qmail's texts expect it there.
  EXPECT_EQ(r.text, "sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)");
  r = p.Parse("511 sorry, can't find a valid MX for rcpt domain (#5.1.1 - chkuser)");
  EXPECT_EQ(r.status.subject, 1);
  r = p.Parse("Sorry, no mailbox here by that name. (#5.1.1)");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.status.klass, 5);
  // A status first wins; another class, other words in the brackets, or
  // brackets before the end make none.
  r = p.Parse("550 5.7.1 refused (#5.1.1)");
  EXPECT_EQ(r.status.subject, 7);
  for (const char* text : {"550 refused (#4.2.2)", "550 refused (#5.1.1 and more words here than a tag)",
                           "550 refused (#5.1.1) by policy", "550 refused (see #5.1.1)", "550 refused (#5.1.1"}) {
    r = p.Parse(text);
    EXPECT_FALSE(r.status.present()) << text;
  }
}

TEST(ReplyParser, StatusOfAnotherClassIsNotTaken) {
  ReplyParser p;
  Reply r = p.Parse("550 4.2.2 odd server");
  EXPECT_EQ(r.code, 550);
  EXPECT_FALSE(r.status.present());
}

TEST(ReplyParser, HugeLineIsLinear) {
  ReplyParser p;
  std::string raw = "550 5.1.1 " + std::string(10 << 20, 'a');
  Reply r = p.Parse(raw);
  EXPECT_EQ(r.code, 550);
  EXPECT_EQ(r.text.size(), size_t(10 << 20));
}

TEST(ReplyParser, EmptyInput) {
  ReplyParser p;
  Reply r = p.Parse("");
  EXPECT_EQ(r.code, 0);
  EXPECT_TRUE(r.text.empty());
}

TEST(SmtpCommandFromWords, OneVocabulary) {
  EXPECT_EQ(SmtpCommandFromWords("RCPT TO:<a@example.org>"), SmtpCommand::kRcpt);
  EXPECT_EQ(SmtpCommandFromWords("pipelined MAIL FROM:<>"), SmtpCommand::kMail);
  EXPECT_EQ(SmtpCommandFromWords("end of data"), SmtpCommand::kDataEnd);
  EXPECT_EQ(SmtpCommandFromWords("DATA-END"), SmtpCommand::kDataEnd);
  EXPECT_EQ(SmtpCommandFromWords("final DATA: 550 ..."), SmtpCommand::kDataEnd);
  EXPECT_EQ(SmtpCommandFromWords("."), SmtpCommand::kDataEnd);
  EXPECT_EQ(SmtpCommandFromWords("DATA command"), SmtpCommand::kData);
  EXPECT_EQ(SmtpCommandFromWords("HELO mx.example.org"), SmtpCommand::kHelo);
  EXPECT_EQ(SmtpCommandFromWords("ehlo"), SmtpCommand::kEhlo);
  EXPECT_EQ(SmtpCommandFromWords("STARTTLS"), SmtpCommand::kStartTls);
  EXPECT_EQ(SmtpCommandFromWords("initial connection"), SmtpCommand::kConnect);
  EXPECT_EQ(SmtpCommandFromWords("RCPT_TO]"), SmtpCommand::kRcpt);
  // A name ends where a word does.
  EXPECT_EQ(SmtpCommandFromWords("database error"), SmtpCommand::kUnknown);
  EXPECT_EQ(SmtpCommandFromWords("mailbox full"), SmtpCommand::kUnknown);
  EXPECT_EQ(SmtpCommandFromWords(""), SmtpCommand::kUnknown);
  size_t used = 0;
  EXPECT_EQ(SmtpCommandFromWords("pipelined RCPT TO:<x>", &used), SmtpCommand::kRcpt);
  EXPECT_EQ(used, 14u);
  // Every canonical name reads back as itself.
  for (auto c : {SmtpCommand::kConnect, SmtpCommand::kHelo, SmtpCommand::kEhlo, SmtpCommand::kStartTls,
                 SmtpCommand::kAuth, SmtpCommand::kMail, SmtpCommand::kRcpt, SmtpCommand::kData,
                 SmtpCommand::kDataEnd, SmtpCommand::kQuit}) {
    used = 0;
    EXPECT_EQ(SmtpCommandFromWords(SmtpCommandName(c), &used), c) << SmtpCommandName(c);
    EXPECT_EQ(used, SmtpCommandName(c).size());
  }
}

TEST(ReplyParser, SendmailEndOfDataLine) {
  ReplyParser p;
  Reply r = p.Parse(">>> .\n<<< 554 5.7.1 Message rejected");
  EXPECT_EQ(r.command, SmtpCommand::kDataEnd);
  EXPECT_EQ(r.code, 554);
}

TEST(EnhancedStatus, RejectsLookalikes) {
  EnhancedStatus s;
  EXPECT_EQ(ParseEnhancedStatus("5.1.10 x", &s), 6u);
  EXPECT_EQ(s.detail, 10);
  EXPECT_EQ(ParseEnhancedStatus("5.1.1.2", &s), 0u);
  EXPECT_EQ(ParseEnhancedStatus("3.1.1", &s), 0u);
  EXPECT_EQ(ParseEnhancedStatus("5.1", &s), 0u);
  EXPECT_EQ(ParseEnhancedStatus("5.1234.1", &s), 0u);
}

}  // namespace

// Round 9 (docs/generalization.md, "Hard bounces, round 9"): a status behind
// a marker (Cisco IronPort's and qmail's '#') or a gateway's tag of one word
// with an underscore (Barracuda's cuda_nsu) is read; the text is left as it
// came, tag and status included, for the rules written for it.
TEST(ReplyParser, StatusBehindAMarkerOrAGatewayTag) {
  ReplyParser p;
  Reply r = p.Parse("550 cuda_nsu 5.4.1 [a@example.org]: Recipient address rejected: Access denied");
  EXPECT_EQ(r.code, 550);
  EXPECT_EQ(Status(r), "5.4.1");
  EXPECT_EQ(r.text, "cuda_nsu 5.4.1 [a@example.org]: Recipient address rejected: Access denied");
  r = p.Parse("smtp;450 cuda_nsu 4.7.1 <a@example.org>: Recipient address rejected: Policy Rejection");
  EXPECT_EQ(Status(r), "4.7.1");
  r = p.Parse("553 #5.1.8 Domain of sender address <n@shop.example> does not exist");
  EXPECT_EQ(Status(r), "5.1.8");
  EXPECT_EQ(r.text, "#5.1.8 Domain of sender address <n@shop.example> does not exist");
  r = p.Parse("550 #5.1.0 Address rejected.");
  EXPECT_EQ(Status(r), "5.1.0");
  // Not a tag: a plain word, a status of another class, no space after it.
  EXPECT_EQ(Status(p.Parse("550 Mailbox 5.1.1 unknown")), "");
  EXPECT_EQ(Status(p.Parse("550 cuda_nsu 4.7.1 blocked")), "");
  EXPECT_EQ(Status(p.Parse("550 cuda_nsu:5.1.1 unknown")), "");
  EXPECT_EQ(Status(p.Parse("550 #5.1.1.2 unknown")), "");
  // Review of round 9: a number with thousands dots behind a tag or a '#'
  // is a size or a count, not a status (RFC 3463 subjects are one digit).
  EXPECT_EQ(Status(p.Parse("552 max_size 5.242.880 bytes exceeded")), "");
  EXPECT_EQ(Status(p.Parse("452 msg_count 4.000.000 messages queued")), "");
  EXPECT_EQ(Status(p.Parse("552 #5.242.880 bytes is the limit")), "");
  EXPECT_EQ(Status(p.Parse("550 #12 5.7.1 rejected")), "");
  EXPECT_EQ(Status(p.Parse("450 #4.2.2 Mailbox full")), "4.2.2");
}

}  // namespace rebound
