// Bounce layouts of Postfix, OpenSMTPD, Exim, qmail (and its imitators),
// Courier, Domino/Notes, Exchange 2003 and plain RFC 3464 reports that the
// visible corpus does not show: delay warnings, several recipients, no DSN
// part, local delivery errors, older releases. Fixed template sentences are
// kept as the software prints them (sources cited per test); the addresses,
// hosts and remote replies are made up.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bounce/parse_fixture.h"
#include "rebound/bounce.h"

namespace rebound {
namespace {

class BounceLayoutsMta : public BounceParseTest {};

struct Want {
  const char* recipient;
  Reason reason;
  const char* action = "failed";
  const char* command = nullptr;     // nullptr: not checked
  const char* diagnostic = nullptr;  // a part the diagnostic must hold
};

void ExpectRecords(const BounceResult& r, const std::vector<Want>& want) {
  ASSERT_TRUE(r.is_bounce);
  ASSERT_EQ(r.records.size(), want.size()) << "kind " << r.kind;
  for (size_t i = 0; i < want.size(); ++i) {
    const BounceRecord& got = r.records[i];
    SCOPED_TRACE("record " + std::to_string(i) + " diag: " + got.diagnostic);
    EXPECT_EQ(got.recipient, want[i].recipient);
    EXPECT_EQ(ReasonName(got.verdict.reason), ReasonName(want[i].reason));
    EXPECT_EQ(got.action, want[i].action);
    if (want[i].command) {
      EXPECT_EQ(got.smtp_command, want[i].command);
    }
    if (want[i].diagnostic) {
      EXPECT_NE(got.diagnostic.find(want[i].diagnostic), std::string::npos);
    }
  }
}

// ---------------------------------------------------------------- Postfix
// Templates: Postfix bounce(5) "failure_template", "delay_template"
// (postconf -b / bounce.cf.default); per-recipient lines from smtp(8),
// local(8), virtual(8) and lmtp.

const char kPostfixHead[] =
    "From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\n"
    "To: sender@example.com\n";

std::string PostfixFailure(const std::string& lines, bool with_dsn, const std::string& dsn_rcpts = "") {
  std::string m = kPostfixHead;
  m += "Subject: Undelivered Mail Returned to Sender\n";
  std::string text =
      "This is the mail system at host mx.example.org.\n\n"
      "I'm sorry to have to inform you that your message could not\n"
      "be delivered to one or more recipients. It's attached below.\n\n"
      "For further assistance, please send mail to postmaster.\n\n"
      "If you do so, please include this problem report. You can\n"
      "delete your own text from the attached returned message.\n\n"
      "                   The mail system\n\n" +
      lines + "\n";
  if (!with_dsn) {
    m += "\n" + text + "\n--- original\n";
    return m;
  }
  m += "MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status;\n"
       "\tboundary=\"B\"\n\n--B\nContent-Description: Notification\nContent-Type: text/plain; charset=us-ascii\n\n";
  m += text;
  m += "\n--B\nContent-Description: Delivery report\nContent-Type: message/delivery-status\n\n"
       "Reporting-MTA: dns; mx.example.org\nX-Postfix-Queue-ID: 4F1C2A0B3D\n"
       "Arrival-Date: Mon,  6 May 2024 10:00:00 +0000 (UTC)\n\n" +
       dsn_rcpts;
  m += "--B\nContent-Description: Undelivered Message Headers\nContent-Type: text/rfc822-headers\n\n"
       "From: sender@example.com\nTo: someone@example.net\nSubject: hello\nMessage-ID: <m1@example.com>\n\n--B--\n";
  return m;
}

TEST_F(BounceLayoutsMta, PostfixTwoRecipientsRcptAndData) {
  std::string lines =
      "<kijitora@example.net>: host mx.example.net[192.0.2.1] said: 550 5.1.1\n"
      "    <kijitora@example.net>: Recipient address rejected: User unknown in virtual\n"
      "    mailbox table (in reply to RCPT TO command)\n\n"
      "<neko@example.net>: host mx.example.net[192.0.2.1] said: 552 5.2.2 Mailbox\n"
      "    full (in reply to end of DATA command)\n";
  std::string dsn =
      "Final-Recipient: rfc822; kijitora@example.net\nOriginal-Recipient: rfc822;kijitora@example.net\n"
      "Action: failed\nStatus: 5.1.1\nRemote-MTA: dns; mx.example.net\n"
      "Diagnostic-Code: smtp; 550 5.1.1 <kijitora@example.net>: Recipient address\n"
      "    rejected: User unknown in virtual mailbox table\n\n"
      "Final-Recipient: rfc822; neko@example.net\nOriginal-Recipient: rfc822;neko@example.net\n"
      "Action: failed\nStatus: 5.2.2\nRemote-MTA: dns; mx.example.net\n"
      "Diagnostic-Code: smtp; 552 5.2.2 Mailbox full\n\n";
  ExpectRecords(Parse(PostfixFailure(lines, true, dsn)),
                {{"kijitora@example.net", Reason::userunknown, "failed", "RCPT", "User unknown"},
                 {"neko@example.net", Reason::mailboxfull, "failed", "DATA", "Mailbox full"}});
  // The same without the DSN part (a relay that strips it, or bounce_notice_recipient copies).
  ExpectRecords(Parse(PostfixFailure(lines, false)),
                {{"kijitora@example.net", Reason::userunknown, "failed", "RCPT", "User unknown"},
                 {"neko@example.net", Reason::mailboxfull, "failed", "DATA", "Mailbox full"}});
}

TEST_F(BounceLayoutsMta, PostfixDelayNotice) {
  std::string m = kPostfixHead;
  m += "Subject: Delayed Mail (still being retried)\nMIME-Version: 1.0\n"
       "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
       "--B\nContent-Type: text/plain\n\n"
       "This is the mail system at host mx.example.org.\n\n"
       "####################################################################\n"
       "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n"
       "####################################################################\n\n"
       "Your message could not be delivered for more than 4 hour(s).\n"
       "It will be retried until it is 5 day(s) old.\n\n"
       "For further assistance, please send mail to postmaster.\n\n"
       "If you do so, please include this problem report. You can\n"
       "delete your own text from the attached returned message.\n\n"
       "                   The mail system\n\n"
       "<kijitora@example.net>: connect to mx.example.net[192.0.2.1]:25: Connection\n"
       "    timed out\n\n"
       "--B\nContent-Type: message/delivery-status\n\n"
       "Reporting-MTA: dns; mx.example.org\n\n"
       "Final-Recipient: rfc822; kijitora@example.net\nAction: delayed\nStatus: 4.4.1\n"
       "Diagnostic-Code: X-Postfix; connect to mx.example.net[192.0.2.1]:25: Connection\n"
       "    timed out\n\n"
       "--B\nContent-Type: text/rfc822-headers\n\nFrom: sender@example.com\nSubject: hi\n\n--B--\n";
  ExpectRecords(Parse(m), {{"kijitora@example.net", Reason::expired, "delayed", nullptr, "Connection timed out"}});
}

TEST_F(BounceLayoutsMta, PostfixDelayNoticeWithoutDsn) {
  std::string m = kPostfixHead;
  m += "Subject: Delayed Mail (still being retried)\n\n"
       "This is the mail system at host mx.example.org.\n\n"
       "####################################################################\n"
       "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n"
       "####################################################################\n\n"
       "Your message could not be delivered for more than 4 hour(s).\n"
       "It will be retried until it is 5 day(s) old.\n\n"
       "                   The mail system\n\n"
       "<kijitora@example.net>: host mx.example.net[192.0.2.1] said: 451 4.7.1\n"
       "    Greylisted, please try again later (in reply to RCPT TO command)\n";
  ExpectRecords(Parse(m), {{"kijitora@example.net", Reason::blocked, "delayed", "RCPT", "Greylisted"}});
}

TEST_F(BounceLayoutsMta, PostfixLocalDeliveryErrors) {
  std::string lines =
      "<tora@example.org> (expanded from <info@example.org>): cannot update mailbox\n"
      "    /var/mail/tora for user tora. error writing message: Disk quota exceeded\n\n"
      "<mike@example.org>: unknown user: \"mike\"\n\n"
      "<loop@example.org>: mail for example.org loops back to myself\n\n"
      "<pipe@example.org>: Command died with status 75: \"/usr/bin/procmail\".\n"
      "    Command output: procmail: Couldn't create \"/var/mail/pipe\"\n";
  ExpectRecords(Parse(PostfixFailure(lines, false)),
                {{"tora@example.org", Reason::mailboxfull, "failed", nullptr, "Disk quota exceeded"},
                 {"mike@example.org", Reason::userunknown, "failed", nullptr, "unknown user"},
                 {"loop@example.org", Reason::networkerror, "failed", nullptr, "loops back to myself"},
                 {"pipe@example.org", Reason::mailererror, "failed", nullptr, "Command died"}});
}

TEST_F(BounceLayoutsMta, PostfixDnsAndConnectionErrors) {
  std::string lines =
      "<a@nonexistent.example>: Host or domain name not found. Name service error\n"
      "    for name=nonexistent.example type=MX: Host not found, try again\n\n"
      "<b@example.net>: host mx.example.net[192.0.2.1] refused to talk to me: 554\n"
      "    5.7.1 Service unavailable; Client host [198.51.100.7] blocked using\n"
      "    zen.spamhaus.org\n\n"
      "<c@example.com>: delivery temporarily suspended: connect to\n"
      "    mx.example.com[192.0.2.9]:25: Connection refused\n";
  ExpectRecords(Parse(PostfixFailure(lines, false)),
                {{"a@nonexistent.example", Reason::hostunknown, "failed", nullptr, "Host not found"},
                 {"b@example.net", Reason::blocked, "failed", nullptr, "spamhaus"},
                 {"c@example.com", Reason::networkerror, "failed", nullptr, "Connection refused"}});
}

TEST_F(BounceLayoutsMta, PostfixLmtpQuotaViaDovecot) {
  std::string lines =
      "<tora@example.org>: host mail.example.org[private/dovecot-lmtp] said: 552\n"
      "    5.2.2 <tora@example.org> Quota exceeded (mailbox for user is full) (in\n"
      "    reply to end of DATA command)\n";
  ExpectRecords(Parse(PostfixFailure(lines, false)),
                {{"tora@example.org", Reason::mailboxfull, "failed", "DATA", "Quota exceeded"}});
}

// Postfix before 2.3 (no DSN part): "This is the Postfix program at host".
TEST_F(BounceLayoutsMta, PostfixOldRelease) {
  std::string m = kPostfixHead;
  m += "Subject: Undelivered Mail Returned to Sender\n\n"
       "This is the Postfix program at host mx.example.org.\n\n"
       "I'm sorry to have to inform you that your message could not be\n"
       "be delivered to one or more recipients. It's attached below.\n\n"
       "For further assistance, please send mail to <postmaster>\n\n"
       "If you do so, please include this problem report. You can\n"
       "delete your own text from the attached returned message.\n\n"
       "\t\t\tThe Postfix program\n\n"
       "<kijitora@example.net>: host mx.example.net[192.0.2.1] said: 550\n"
       "    <kijitora@example.net>: User unknown in local recipient table (in reply to\n"
       "    RCPT TO command)\n";
  ExpectRecords(Parse(m), {{"kijitora@example.net", Reason::userunknown, "failed", "RCPT", "User unknown"}});
}

// ---------------------------------------------------------------- OpenSMTPD
// Texts: OpenSMTPD smtpd/bounce.c (NOTICE_INTRO, notice_error).
TEST_F(BounceLayoutsMta, OpenSmtpdErrorTwoRecipients) {
  std::string m =
      "From: Mailer Daemon <MAILER-DAEMON@mx.example.org>\nTo: sender@example.com\n"
      "Subject: Delivery status notification: error\n\n"
      "    Hi!\n\n"
      "    This is the MAILER-DAEMON, please DO NOT REPLY to this email.\n\n"
      "    An error has occurred while attempting to deliver a message for\n"
      "    the following list of recipients:\n\n"
      "kijitora@example.net: 550 5.1.1 <kijitora@example.net>: Recipient address rejected: User unknown\n\n"
      "neko@example.net: 552 5.2.2 Mailbox full\n\n"
      "    Below is a copy of the original message:\n\n"
      "From: sender@example.com\nSubject: hi\n\nbody\n";
  ExpectRecords(Parse(m), {{"kijitora@example.net", Reason::userunknown, "failed", nullptr, "User unknown"},
                           {"neko@example.net", Reason::mailboxfull, "failed", nullptr, "Mailbox full"}});
}

// ---------------------------------------------------------------- Exim
// Texts: Exim's default bounce and warning messages (deliver.c, and the
// "bounce_message_file" / "warn_message_file" documentation, spec chapter
// "Customizing bounce and warning messages").
std::string EximFailure(const std::string& list) {
  return "From: Mail Delivery System <Mailer-Daemon@mx.example.org>\nTo: sender@example.com\n"
         "Subject: Mail delivery failed: returning message to sender\n\n"
         "This message was created automatically by mail delivery software.\n\n"
         "A message that you sent could not be delivered to one or more of its\n"
         "recipients. This is a permanent error. The following address(es) failed:\n\n" +
         list +
         "\n------ This is a copy of the message, including all the headers. ------\n\n"
         "From: sender@example.com\nSubject: hi\n\nbody\n";
}

TEST_F(BounceLayoutsMta, EximRcptAndDataErrors) {
  ExpectRecords(
      Parse(EximFailure("  kijitora@example.net\n"
                        "    host mx.example.net [192.0.2.1]\n"
                        "    SMTP error from remote mail server after RCPT TO:<kijitora@example.net>:\n"
                        "    550 5.1.1 <kijitora@example.net>: Recipient address rejected: User unknown\n"
                        "  neko@example.net\n"
                        "    host mx.example.net [192.0.2.1]\n"
                        "    SMTP error from remote mail server after end of data:\n"
                        "    552 5.3.4 Message size exceeds fixed limit\n")),
      {{"kijitora@example.net", Reason::userunknown, "failed", "RCPT", "User unknown"},
       {"neko@example.net", Reason::mesgtoobig, "failed", "DATA-END", "size exceeds"}});
}

// Exim 4.6x-4.8x: the host on the SMTP error line.
TEST_F(BounceLayoutsMta, EximOlderHostOnErrorLine) {
  ExpectRecords(Parse(EximFailure("  kijitora@example.net\n"
                                  "    SMTP error from remote mail server after RCPT TO:<kijitora@example.net>:\n"
                                  "    host mx.example.net [192.0.2.1]: 550 5.1.1 No such user here\n")),
                {{"kijitora@example.net", Reason::userunknown, "failed", "RCPT", "No such user"}});
}

TEST_F(BounceLayoutsMta, EximMailFromAndConnectErrors) {
  ExpectRecords(
      Parse(EximFailure("  kijitora@example.net\n"
                        "    host mx.example.net [192.0.2.1]\n"
                        "    SMTP error from remote mail server after MAIL FROM:<sender@example.com> SIZE=1834:\n"
                        "    553 5.7.1 Sender address rejected: Domain not found\n")),
      {{"kijitora@example.net", Reason::rejected, "failed", "MAIL", "Sender address rejected"}});
}

TEST_F(BounceLayoutsMta, EximLocalErrors) {
  ExpectRecords(Parse(EximFailure("  nobody@example.org\n"
                                  "    Unrouteable address\n"
                                  "  tora@example.org\n"
                                  "    (generated from info@example.org)\n"
                                  "    mailbox is full (MTA-imposed quota exceeded while writing to file\n"
                                  "    /var/mail/tora)\n"
                                  "  kijitora@nxdomain.example\n"
                                  "    all relevant MX records point to non-existent hosts\n")),
                {{"nobody@example.org", Reason::hostunknown, "failed", nullptr, "Unrouteable address"},
                 {"tora@example.org", Reason::mailboxfull, "failed", nullptr, "mailbox is full"},
                 {"kijitora@nxdomain.example", Reason::hostunknown, "failed", nullptr, "non-existent hosts"}});
}

// A file or pipe target lists the address it was generated from; the error
// is the lines below that, not the whole text.
TEST_F(BounceLayoutsMta, EximPipeTransportError) {
  BounceResult r = Parse(EximFailure("  pipe to |/usr/local/bin/handler\n"
                                     "    generated by tickets@example.org\n"
                                     "    Child process of address_pipe transport returned 69 (could mean service or program\n"
                                     "    unavailable) from command: /usr/local/bin/handler\n"
                                     "  kijitora@example.net\n"
                                     "    Unrouteable address\n"
                                     "  save to /var/mail/tora\n"
                                     "    generated by tora@example.org\n"
                                     "    mailbox is full: retry timeout exceeded\n"));
  ExpectRecords(r, {{"tickets@example.org", Reason::mailererror, "failed", nullptr, "Child process"},
                    {"kijitora@example.net", Reason::hostunknown, "failed", nullptr, "Unrouteable"},
                    {"tora@example.org", Reason::mailboxfull, "failed", nullptr, "mailbox is full"}});
  EXPECT_EQ(r.records[0].diagnostic.find("This message"), std::string::npos) << r.records[0].diagnostic;
  EXPECT_EQ(r.records[2].diagnostic, "save to /var/mail/tora mailbox is full: retry timeout exceeded");
}

TEST_F(BounceLayoutsMta, EximRetryTimeout) {
  ExpectRecords(Parse(EximFailure("  kijitora@example.net\n"
                                  "    retry timeout exceeded\n")),
                {{"kijitora@example.net", Reason::expired, "failed", nullptr, "retry timeout exceeded"}});
}

TEST_F(BounceLayoutsMta, EximDelayWarning) {
  std::string m =
      "From: Mail Delivery System <Mailer-Daemon@mx.example.org>\nTo: sender@example.com\n"
      "Subject: Warning: message 1sAbCd-000Xyz-9Q delayed 24 hours\n\n"
      "This message was created automatically by mail delivery software.\n"
      "A message that you sent has not yet been delivered to one or more of its\n"
      "recipients after more than 24 hours on the queue on mx.example.org.\n\n"
      "The message identifier is:     1sAbCd-000Xyz-9Q\n"
      "The subject of the message is: meeting with sender@example.com\n"
      "The date of the message is:    Mon, 06 May 2024 10:00:00 +0000\n\n"
      "The address to which the message has not yet been delivered is:\n\n"
      "  kijitora@example.net\n"
      "    host mx.example.net [192.0.2.1]\n"
      "    Delay reason: SMTP error from remote mail server after RCPT TO:<kijitora@example.net>:\n"
      "    451 4.2.2 Mailbox full, try again later\n\n"
      "No action is required on your part. Delivery attempts will continue for\n"
      "some time, and this warning may be repeated at intervals if the message\n"
      "remains undelivered. Eventually the mail delivery software will give up,\n"
      "and when that happens, the message will be returned to you.\n";
  ExpectRecords(Parse(m), {{"kijitora@example.net", Reason::mailboxfull, "delayed", "RCPT", "Mailbox full"}});
}

// Exim 4.87+ adds a DSN part whose Status is the generic 5.0.0.
TEST_F(BounceLayoutsMta, EximWithDsnPart) {
  std::string m =
      "From: Mail Delivery System <Mailer-Daemon@mx.example.org>\nTo: sender@example.com\n"
      "Subject: Mail delivery failed: returning message to sender\nMIME-Version: 1.0\n"
      "Content-Type: multipart/report; report-type=delivery-status; boundary=1714990000-eximdsn-123\n\n"
      "--1714990000-eximdsn-123\nContent-type: text/plain; charset=us-ascii\n\n"
      "This message was created automatically by mail delivery software.\n\n"
      "A message that you sent could not be delivered to one or more of its\n"
      "recipients. This is a permanent error. The following address(es) failed:\n\n"
      "  kijitora@example.net\n"
      "    host mx.example.net [192.0.2.1]\n"
      "    SMTP error from remote mail server after RCPT TO:<kijitora@example.net>:\n"
      "    550 5.1.1 User unknown\n\n"
      "--1714990000-eximdsn-123\nContent-type: message/delivery-status\n\n"
      "Reporting-MTA: dns; mx.example.org\n\n"
      "Action: failed\nFinal-Recipient: rfc822;kijitora@example.net\nStatus: 5.0.0\n"
      "Remote-MTA: dns; mx.example.net\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\n\n"
      "--1714990000-eximdsn-123\nContent-type: message/rfc822\n\n"
      "From: sender@example.com\nSubject: hi\n\nbody\n--1714990000-eximdsn-123--\n";
  BounceResult r = Parse(m);
  ExpectRecords(r, {{"kijitora@example.net", Reason::userunknown, "failed", "RCPT", "User unknown"}});
  EXPECT_EQ(r.records[0].status, "5.1.1");
}

// ---------------------------------------------------------------- qmail
// Texts: qmail-send.c (bounce preamble), qmail-remote.c and qmail-local.c
// messages, vpopmail's vdelivermail.
std::string Qmail(const std::string& blocks, bool permanent_line = true) {
  return std::string("From: MAILER-DAEMON@mx.example.org\nTo: sender@example.com\nSubject: failure notice\n\n"
                     "Hi. This is the qmail-send program at mx.example.org.\n"
                     "I'm afraid I wasn't able to deliver your message to the following addresses.\n") +
         (permanent_line ? "This is a permanent error; I've given up. Sorry it didn't work out.\n" : "") + "\n" +
         blocks + "\n--- Below this line is a copy of the message.\n\nFrom: sender@example.com\nSubject: hi\n\nx\n";
}

TEST_F(BounceLayoutsMta, QmailRemoteSteps) {
  ExpectRecords(Parse(Qmail("<kijitora@example.net>:\n192.0.2.1 does not like recipient.\n"
                            "Remote host said: 550 5.1.1 <kijitora@example.net>: No such user\n"
                            "Giving up on 192.0.2.1.\n\n"
                            "<neko@example.net>:\n192.0.2.1 failed after I sent the message.\n"
                            "Remote host said: 554 5.7.1 Message rejected as spam\n\n"
                            "<tora@example.com>:\nConnected to 192.0.2.9 but sender was rejected.\n"
                            "Remote host said: 553 5.1.8 Domain of sender address does not exist\n")),
                {{"kijitora@example.net", Reason::userunknown, "failed", "RCPT", "No such user"},
                 {"neko@example.net", Reason::spamdetected, "failed", "DATA", "spam"},
                 {"tora@example.com", Reason::rejected, "failed", "MAIL", "Domain of sender"}});
}

TEST_F(BounceLayoutsMta, QmailLocalErrors) {
  ExpectRecords(Parse(Qmail("<nobody@example.org>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n"
                            "<tora@example.org>:\nThe users mailfolder is over the allowed quota (size). (#5.2.2)\n\n"
                            "<a@nxdomain.example>:\nSorry, I couldn't find any host named nxdomain.example. (#5.1.2)\n\n"
                            "<loop@example.org>:\nThis message is looping: it already has my Delivered-To line. (#5.4.6)\n")),
                {{"nobody@example.org", Reason::userunknown, "failed", nullptr, "no mailbox here"},
                 {"tora@example.org", Reason::mailboxfull, "failed", nullptr, "over the allowed quota"},
                 {"a@nxdomain.example", Reason::hostunknown, "failed", nullptr, "couldn't find any host"},
                 {"loop@example.org", Reason::systemerror, "failed", nullptr, "looping"}});
}

TEST_F(BounceLayoutsMta, QmailGaveUpTooLong) {
  ExpectRecords(Parse(Qmail("<kijitora@example.net>:\n"
                            "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n"
                            "I'm not going to try again; this message has been in the queue too long.\n")),
                // The reference reading (the corpus's lhost-qmail-07) keeps the
                // cause, networkerror, over the queue age.
                {{"kijitora@example.net", Reason::networkerror, "failed", nullptr, "SMTP connection"}});
}

// ---------------------------------------------------------------- Courier
// Texts: Courier's courierdsn templates (module.dsn "UNDELIVERABLE MAIL",
// "DELAYED DELIVERY").
std::string Courier(const char* heading, const char* intro, const char* block, const char* action,
                    const char* status, const char* diag) {
  return std::string(
             "From: \"Courier mail server at mx.example.org\" <@>\nTo: sender@example.com\n"
             "Subject: NOTICE: mail delivery status.\nMime-Version: 1.0\n"
             "Content-Type: multipart/report; report-type=delivery-status;\n    boundary=\"=_courier-1\"\n\n"
             "This is a MIME-formatted message.  If you see this text it means that your\n"
             "E-mail software does not support MIME-formatted messages.\n\n"
             "--=_courier-1\nContent-Type: text/plain; charset=\"utf-8\"\n\n"
             "This is a delivery status notification from mx.example.org,\n"
             "running the Courier mail server, version 1.1.\n\n"
             "The original message was received on Mon, 06 May 2024 10:00:00 +0000\n"
             "from localhost [127.0.0.1]\n\n"
             "---------------------------------------------------------------------------\n\n"
             "                           ") +
         heading + "\n\n" + intro + "\n\n" + block +
         "\n---------------------------------------------------------------------------\n\n"
         "--=_courier-1\nContent-Type: message/delivery-status\n\n"
         "Reporting-MTA: dns; mx.example.org\nArrival-Date: Mon, 06 May 2024 10:00:00 +0000\n\n"
         "Final-Recipient: rfc822; kijitora@example.net\nAction: " +
         action + "\nStatus: " + status + "\nRemote-MTA: dns; mx.example.net\nDiagnostic-Code: smtp; " + diag +
         "\n\n--=_courier-1\nContent-Type: text/rfc822-headers\n\nFrom: sender@example.com\nSubject: hi\n\n"
         "--=_courier-1--\n";
}

TEST_F(BounceLayoutsMta, CourierUndeliverable) {
  ExpectRecords(Parse(Courier("UNDELIVERABLE MAIL", "Your message to the following recipients cannot be delivered:",
                              "<kijitora@example.net>:\n    mx.example.net [192.0.2.1]:\n"
                              ">>> RCPT TO:<kijitora@example.net>\n<<< 550 5.1.1 <kijitora@example.net>... User Unknown\n",
                              "failed", "5.0.0", "550 5.1.1 <kijitora@example.net>... User Unknown")),
                {{"kijitora@example.net", Reason::userunknown, "failed", nullptr, "User Unknown"}});
}

TEST_F(BounceLayoutsMta, CourierDelayed) {
  ExpectRecords(
      Parse(Courier("DELAYED DELIVERY", "Your message to the following recipients has not been delivered yet.",
                    "<kijitora@example.net>:\n    mx.example.net [192.0.2.1]:\n"
                    ">>> RCPT TO:<kijitora@example.net>\n<<< 452 4.2.2 Mailbox over quota\n",
                    "delayed", "4.0.0", "452 4.2.2 Mailbox over quota")),
      {{"kijitora@example.net", Reason::mailboxfull, "delayed", nullptr, "over quota"}});
}

// ---------------------------------------------------------------- Domino
// Domino's router failure report (text form and the Notes table form).
TEST_F(BounceLayoutsMta, DominoTextForm) {
  ExpectRecords(Parse("From: Postmaster@example.org\nTo: sender@example.com\n"
                      "Subject: DELIVERY FAILURE: User kijitora (kijitora@example.org) not listed in Domino Directory\n\n"
                      "Your message\n\n  Subject: hello\n\nwas not delivered to:\n\n  kijitora@example.org\n\n"
                      "because:\n\n  User kijitora (kijitora@example.org) not listed in Domino Directory\n"),
                {{"kijitora@example.org", Reason::userunknown, "failed", nullptr, "not listed in Domino Directory"}});
}

TEST_F(BounceLayoutsMta, DominoTableForm) {
  ExpectRecords(Parse("From: Postmaster@example.org\nTo: sender@example.com\n"
                      "Subject: DELIVERY FAILURE: Error transferring to mx.example.net; Maximum hop count exceeded\n\n"
                      "Delivery Failure Report\n\n"
                      "Your document:\thello\n"
                      "was not delivered to:\tkijitora@example.net\n"
                      "because:\tError transferring to mx.example.net; Maximum hop count exceeded.  "
                      "Message probably in a routing loop.\n"
                      "What should you do?\tYou can resend the undeliverable document to the recipients.\n"),
                {{"kijitora@example.net", Reason::networkerror, "failed", nullptr, "routing loop"}});
}

// ---------------------------------------------------------------- Exchange 2003
TEST_F(BounceLayoutsMta, Exchange2003TwoRecipients) {
  ExpectRecords(
      Parse("From: System Administrator <postmaster@example.org>\nTo: sender@example.com\n"
            "Subject: Undeliverable: hello\n\n"
            "Your message\n\n  To:      kijitora@example.org; tora@example.org\n  Subject: hello\n"
            "  Sent:    Mon, 6 May 2024 10:00:00 +0200\n\n"
            "did not reach the following recipient(s):\n\n"
            "kijitora@example.org on Mon, 6 May 2024 10:00:05 +0200\n"
            "    The e-mail account does not exist at the organization this message was sent to.  "
            "Check the e-mail address, or contact the recipient directly to find out the correct address.\n"
            "    <EXCH01.example.org #5.1.1>\n\n"
            "tora@example.org on Mon, 6 May 2024 10:00:05 +0200\n"
            "    The recipient's mailbox is full and can't accept messages now.  "
            "Please try resending this message later, or contact the recipient directly.\n"
            "    <EXCH01.example.org #5.2.2>\n"),
      {{"kijitora@example.org", Reason::userunknown, "failed", nullptr, "does not exist"},
       {"tora@example.org", Reason::mailboxfull, "failed", nullptr, "mailbox is full"}});
}

TEST_F(BounceLayoutsMta, Exchange2003Expired) {
  ExpectRecords(Parse("From: System Administrator <postmaster@example.org>\nTo: sender@example.com\n"
                      "Subject: Undeliverable: hello\n\n"
                      "Your message\n\n  To:      kijitora@example.net\n  Subject: hello\n\n"
                      "did not reach the following recipient(s):\n\n"
                      "kijitora@example.net on Mon, 6 May 2024 10:00:05 +0200\n"
                      "    Could not deliver the message in the time limit specified.  Please retry or contact "
                      "your administrator.\n"
                      "    <EXCH01.example.org #4.4.7>\n"),
                {{"kijitora@example.net", Reason::expired, "failed", nullptr, "time limit"}});
}

// Exchange 2003's SMTP service DSN (Windows SMTP): no Diagnostic-Code.
TEST_F(BounceLayoutsMta, Exchange2003SmtpServiceDsn) {
  ExpectRecords(
      Parse("From: postmaster@example.org\nTo: sender@example.com\n"
            "Subject: Delivery Status Notification (Failure)\nMIME-Version: 1.0\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"9B095B5ADSN=_01\"\n\n"
            "--9B095B5ADSN=_01\nContent-Type: text/plain; charset=unicode-1-1-utf-7\n\n"
            "This is an automatically generated Delivery Status Notification.\n\n"
            "Delivery to the following recipients failed.\n\n       kijitora@example.net\n\n"
            "--9B095B5ADSN=_01\nContent-Type: message/delivery-status\n\n"
            "Reporting-MTA: dns;EXCH01.example.org\nReceived-From-MTA: dns;EXCH01.example.org\n"
            "Arrival-Date: Mon, 6 May 2024 10:00:00 +0200\n\n"
            "Final-Recipient: rfc822;kijitora@example.net\nAction: failed\nStatus: 5.1.1\n\n"
            "--9B095B5ADSN=_01\nContent-Type: message/rfc822\n\nFrom: sender@example.com\nSubject: hi\n\nx\n"
            "--9B095B5ADSN=_01--\n"),
      {{"kijitora@example.net", Reason::userunknown, "failed"}});
  ExpectRecords(
      Parse("From: postmaster@example.org\nTo: sender@example.com\n"
            "Subject: Delivery Status Notification (Delay)\nMIME-Version: 1.0\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"9B095B5ADSN=_01\"\n\n"
            "--9B095B5ADSN=_01\nContent-Type: text/plain\n\n"
            "This is an automatically generated Delivery Status Notification.\n\n"
            "THIS IS A WARNING MESSAGE ONLY.\n\nYOU DO NOT NEED TO RESEND YOUR MESSAGE.\n\n"
            "Delivery to the following recipients has been delayed.\n\n       kijitora@example.net\n\n"
            "--9B095B5ADSN=_01\nContent-Type: message/delivery-status\n\n"
            "Reporting-MTA: dns;EXCH01.example.org\n\n"
            "Final-Recipient: rfc822;kijitora@example.net\nAction: delayed\nStatus: 4.4.7\n\n"
            "--9B095B5ADSN=_01--\n"),
      {{"kijitora@example.net", Reason::expired, "delayed"}});
}

// ---------------------------------------------------------------- RFC 3464
// Plain DSNs of assorted MTAs: folded fields, X-Actual-Recipient, several
// recipients with mixed actions, "smtp;" without a space, a relayed report.
TEST_F(BounceLayoutsMta, Rfc3464MixedActions) {
  ExpectRecords(
      Parse("From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>\nTo: sender@example.com\n"
            "Subject: Returned mail: see transcript for details\nMIME-Version: 1.0\n"
            "Content-Type: multipart/report; report-type=\"delivery-status\"; boundary=\"b\"\n\n"
            "--b\nContent-Type: text/plain\n\nDelivery report.\n\n"
            "--b\nContent-Type: message/delivery-status\n\n"
            "Reporting-MTA: dns; mx.example.org\n\n"
            "Original-Recipient: rfc822;list@example.org\nFinal-Recipient: RFC822; kijitora@example.net\n"
            "Action: failed\nStatus: 5.1.1\nRemote-MTA: DNS; mx.example.net\n"
            "Diagnostic-Code: SMTP;550 5.1.1 <kijitora@example.net>... No such\n user\n"
            "Last-Attempt-Date: Mon, 6 May 2024 10:00:05 +0000\n\n"
            "Final-Recipient: rfc822; ok@example.net\nAction: delivered\nStatus: 2.0.0\n\n"
            "Final-Recipient: rfc822; slow@example.net\nAction: delayed\nStatus: 4.4.1\n"
            "Diagnostic-Code: smtp; 421 4.4.1 Connection timed out\n"
            "Will-Retry-Until: Fri, 10 May 2024 10:00:00 +0000\n\n"
            "--b--\n"),
      {{"kijitora@example.net", Reason::userunknown, "failed", nullptr, "No such user"},
       {"ok@example.net", Reason::delivered, "delivered"},
       {"slow@example.net", Reason::expired, "delayed", nullptr, "timed out"}});
}

// ---------------------------------------------------------------- more variants

// Postfix's success notice (success_template) for a NOTIFY=SUCCESS request.
TEST_F(BounceLayoutsMta, PostfixSuccessNotice) {
  std::string m = kPostfixHead;
  m += "Subject: Successful Mail Delivery Report\nMIME-Version: 1.0\n"
       "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
       "--B\nContent-Type: text/plain\n\n"
       "This is the mail system at host mx.example.org.\n\n"
       "Your message was successfully delivered to the destination(s)\n"
       "listed below. If the message was delivered to mailbox you will\n"
       "receive no further notifications. Otherwise you may still receive\n"
       "notifications of mail delivery errors from other systems.\n\n"
       "                   The mail system\n\n"
       "<kijitora@example.net>: delivery via mx.example.net[192.0.2.1]:25: 250 2.0.0\n"
       "    Ok: queued as 4VbXyZ1abc\n\n"
       "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
       "Final-Recipient: rfc822; kijitora@example.net\nAction: relayed\nStatus: 2.0.0\n"
       "Remote-MTA: dns; mx.example.net\nDiagnostic-Code: smtp; 250 2.0.0 Ok: queued as 4VbXyZ1abc\n\n--B--\n";
  ExpectRecords(Parse(m), {{"kijitora@example.net", Reason::delivered, "relayed"}});
}

TEST_F(BounceLayoutsMta, PostfixTransferErrors) {
  std::string lines =
      "<a@example.net>: conversation with mx.example.net[192.0.2.1] timed out while\n"
      "    sending message body\n\n"
      "<b@example.net>: message size 20971520 exceeds size limit 10240000 of server\n"
      "    mx.example.net[192.0.2.1]\n\n"
      "<c@example.net>: host mx.example.net[192.0.2.1] said: 553 5.7.1\n"
      "    <sender@example.com>: Sender address rejected: not owned by user\n"
      "    sender@example.com (in reply to MAIL FROM command)\n";
  ExpectRecords(Parse(PostfixFailure(lines, false)),
                // A time-out with no reply code in a failure notice: Postfix gave up
                // retrying (expired, docs/bounce.md).
                {{"a@example.net", Reason::expired, "failed", nullptr, "timed out while sending message body"},
                 {"b@example.net", Reason::mesgtoobig, "failed", nullptr, "exceeds size limit"},
                 {"c@example.net", Reason::rejected, "failed", "MAIL", "Sender address rejected"}});
}

// An alias expanded to its member: the DSN names the member (Final-Recipient)
// and the alias (Original-Recipient); the text line says "(expanded from".
TEST_F(BounceLayoutsMta, PostfixExpandedAliasWithDsn) {
  std::string lines =
      "<tora@example.net> (expanded from <sales@example.org>): host\n"
      "    mx.example.net[192.0.2.1] said: 550 5.1.1 <tora@example.net>: Recipient\n"
      "    address rejected: User unknown (in reply to RCPT TO command)\n";
  std::string dsn =
      "Final-Recipient: rfc822; tora@example.net\nOriginal-Recipient: rfc822; sales@example.org\n"
      "Action: failed\nStatus: 5.1.1\nRemote-MTA: dns; mx.example.net\n"
      "Diagnostic-Code: smtp; 550 5.1.1 <tora@example.net>: Recipient address\n    rejected: User unknown\n\n";
  ExpectRecords(Parse(PostfixFailure(lines, true, dsn)),
                {{"tora@example.net", Reason::userunknown, "failed", "RCPT", "User unknown"}});
}

// Exim as configured by some hosting providers (and newer builds): "The
// following address failed:", the address with a colon, and the error as
// "SMTP error from remote server for RCPT TO command, host: H (IP) reason: ...",
// a multi-line reply kept as the server sent it. Quoted in public mailing
// list threads (e.g. LKML, 2024).
TEST_F(BounceLayoutsMta, EximRemoteServerForCommandStyle) {
  std::string m =
      "From: Mail Delivery System <Mailer-Daemon@mx.example.org>\nTo: sender@example.com\n"
      "Subject: Mail delivery failed: returning message to sender\n\n"
      "This message was created automatically by mail delivery software.\n\n"
      "A message that you sent could not be delivered to one or more of\n"
      "its recipients. This is a permanent error. The following address\n"
      "failed:\n\n"
      "    kijitora@example.net:\n"
      "        SMTP error from remote server for RCPT TO command, host: mx.example.net (192.0.2.1) "
      "reason: 550-5.1.1 The email account that you tried to reach does not exist. Please\n"
      " try\n550-5.1.1 double-checking the recipient's email address for typos or\n"
      "550-5.1.1 unnecessary spaces.\n\n"
      "--- The header of the original message is following. ---\n\n"
      "From: sender@example.com\nSubject: hi\n";
  ExpectRecords(Parse(m), {{"kijitora@example.net", Reason::userunknown, "failed", "RCPT", "does not exist"}});
}

TEST_F(BounceLayoutsMta, EximPipelinedAndTwoDelayed) {
  ExpectRecords(Parse(EximFailure("  kijitora@example.net\n"
                                  "    host mx.example.net [192.0.2.1]\n"
                                  "    SMTP error from remote mail server after pipelined RCPT TO:<kijitora@example.net>:\n"
                                  "    550 5.1.1 No such user\n")),
                {{"kijitora@example.net", Reason::userunknown, "failed", "RCPT", "No such user"}});
  std::string m =
      "From: Mail Delivery System <Mailer-Daemon@mx.example.org>\nTo: sender@example.com\n"
      "Subject: Warning: message 1sAbCd-000Xyz-9Q delayed 48 hours\n\n"
      "This message was created automatically by mail delivery software.\n"
      "A message that you sent has not yet been delivered to one or more of its\n"
      "recipients after more than 48 hours on the queue on mx.example.org.\n\n"
      "The message identifier is:     1sAbCd-000Xyz-9Q\n"
      "The subject of the message is: hi\n\n"
      "The addresses to which the message has not yet been delivered are:\n\n"
      "  kijitora@example.net\n"
      "    Delay reason: SMTP error from remote mail server after RCPT TO:<kijitora@example.net>:\n"
      "    452 4.2.2 Over quota\n"
      "  neko@example.com\n"
      "    Delay reason: SMTP error from remote mail server after MAIL FROM:<sender@example.com> SIZE=2048:\n"
      "    421 4.7.0 Try again later, closing connection\n\n"
      "No action is required on your part. Delivery attempts will continue for\n"
      "some time, and this warning may be repeated at intervals if the message\n"
      "remains undelivered. Eventually the mail delivery software will give up,\n"
      "and when that happens, the message will be returned to you.\n";
  BounceResult r = Parse(m);
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0].recipient, "kijitora@example.net");
  EXPECT_EQ(r.records[0].action, "delayed");
  EXPECT_EQ(r.records[0].smtp_command, "RCPT");
  EXPECT_EQ(r.records[0].verdict.reason, Reason::mailboxfull);
  EXPECT_EQ(r.records[1].recipient, "neko@example.com");
  EXPECT_EQ(r.records[1].action, "delayed");
  EXPECT_EQ(r.records[1].smtp_command, "MAIL");
  EXPECT_FALSE(r.records[1].verdict.permanent);
}

TEST_F(BounceLayoutsMta, EximLongFailurePeriod) {
  ExpectRecords(Parse(EximFailure("  kijitora@example.net\n"
                                  "    retry time not reached for any host after a long failure period\n")),
                {{"kijitora@example.net", Reason::expired, "failed", nullptr, "long failure period"}});
}

TEST_F(BounceLayoutsMta, QmailMoreLocalErrors) {
  ExpectRecords(Parse(Qmail("<a@nxdomain.example>:\n"
                            "Sorry, I couldn't find a mail exchanger or IP address. (#5.4.4)\n\n"
                            "<tora@example.org>:\nuser is over quota\n")),
                // #5.4.4, no mail exchanger: the rules read a domain that takes no mail.
                {{"a@nxdomain.example", Reason::notaccept, "failed", nullptr, "mail exchanger"},
                 {"tora@example.org", Reason::mailboxfull, "failed", nullptr, "over quota"}});
}

TEST_F(BounceLayoutsMta, DominoTwoRecipients) {
  ExpectRecords(Parse("From: Postmaster@example.org\nTo: sender@example.com\n"
                      "Subject: DELIVERY FAILURE: Recipient's Domino Directory entry does not specify a valid Notes mail file\n\n"
                      "Your message\n\n  Subject: hello\n\nwas not delivered to:\n\n"
                      "  kijitora@example.org\n  tora@example.org\n\n"
                      "because:\n\n  User tora (tora@example.org) not listed in Domino Directory\n"),
                {{"kijitora@example.org", Reason::userunknown, "failed", nullptr, "not listed"},
                 {"tora@example.org", Reason::userunknown, "failed", nullptr, "not listed"}});
}

// RFC 6533 internationalised report (Postfix with SMTPUTF8, Exchange).
TEST_F(BounceLayoutsMta, GlobalDeliveryStatus) {
  ExpectRecords(
      Parse("From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\nTo: sender@example.com\n"
            "Subject: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
            "--B\nContent-Type: text/plain; charset=utf-8\n\nThis is the mail system at host mx.example.org.\n\n"
            "--B\nContent-Type: message/global-delivery-status\n\n"
            "Reporting-MTA: dns; mx.example.org\n\n"
            "Final-Recipient: utf-8; kijitora@example.net\nAction: failed\nStatus: 5.1.1\n"
            "Diagnostic-Code: smtp; 550 5.1.1 No such user\n\n"
            "--B\nContent-Type: message/global-headers\n\nFrom: sender@example.com\nSubject: hi\n\n--B--\n"),
      {{"kijitora@example.net", Reason::userunknown, "failed", nullptr, "No such user"}});
}

// Domino's own DSN part: Diagnostic-Code of type X-Notes.
TEST_F(BounceLayoutsMta, DominoDsnXNotes) {
  ExpectRecords(
      Parse("From: Postmaster@example.org\nTo: sender@example.com\nSubject: DELIVERY FAILURE: hi\nMIME-Version: 1.0\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"0__=B\"\n\n"
            "--0__=B\nContent-Type: text/plain\n\nYour message\n\n  Subject: hi\n\nwas not delivered to:\n\n"
            "  kijitora@example.org\n\nbecause:\n\n  User kijitora (kijitora@example.org) not listed in Domino Directory\n\n"
            "--0__=B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns;mail.example.org\n\n"
            "Final-Recipient: rfc822;kijitora@example.org\nAction: failed\nStatus: 5.0.0\n"
            "Diagnostic-Code: X-Notes; User kijitora (kijitora@example.org) not listed in Domino Directory\n\n"
            "--0__=B--\n"),
      {{"kijitora@example.org", Reason::userunknown, "failed", nullptr, "not listed"}});
}

// Exim's local_scan rejection notice (the "rejected by the local scanning
// code" bounce text of Exim's deliver.c): the recipients are the original's.
TEST_F(BounceLayoutsMta, EximLocalScanReject) {
  std::string m =
      "From: Mail Delivery System <Mailer-Daemon@mx.example.org>\nTo: sender@example.com\n"
      "Subject: Mail failure - rejected by local scanning code\n\n"
      "A message that you sent was rejected by the local scanning code that\n"
      "checks incoming messages on this system. The following error was given:\n\n"
      "  This message contains a virus (Eicar-Test-Signature) and has been rejected\n\n"
      "------ This is a copy of your message, including all the headers. ------\n\n"
      "From: sender@example.com\nTo: kijitora@example.org\nSubject: hi\n\nX5O!P%@AP\n";
  BounceResult r = Parse(m);
  ASSERT_TRUE(r.is_bounce);
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].recipient, "kijitora@example.org");
  EXPECT_EQ(r.records[0].verdict.reason, Reason::virusdetected) << r.records[0].diagnostic;
}

// Exchange 5.5/2000 style with MSEXCH codes and tab-indented lines; the
// text part quoted-printable with CRLF line ends.
TEST_F(BounceLayoutsMta, Exchange2003MsexchQuotedPrintable) {
  ExpectRecords(
      Parse("From: System Administrator <postmaster@example.org>\r\nTo: sender@example.com\r\n"
            "Subject: Undeliverable: hi\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"----_=_NextPart_001\"\r\n\r\n"
            "------_=_NextPart_001\r\nContent-Type: text/plain; charset=\"iso-8859-1\"\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            "Your message\r\n\r\n  To:      kijitora@example.org\r\n  Subject: hi\r\n"
            "  Sent:    Thu, 29 Apr 2010 23:34:45 +0900\r\n\r\n"
            "did not reach the following recipient(s):\r\n\r\n"
            "kijitora@example.org on Thu, 29 Apr 2010 23:34:46 +0900\r\n"
            "            The recipient name is not recognized\r\n"
            "\tThe MTS-ID of the original message is: c=3Djp;a=3D ;p=3Dexample;l=3DEXCH1-100429=\r\n"
            "1434450001\r\n"
            "\tMSEXCH:IMS:EXAMPLE:TOKYO:EXCH1 0 (000C05A6) Unknown Recipient\r\n\r\n"
            "------_=_NextPart_001\r\nContent-Type: message/rfc822\r\n\r\n"
            "From: sender@example.com\r\nSubject: hi\r\n\r\nx\r\n------_=_NextPart_001--\r\n"),
      {{"kijitora@example.org", Reason::userunknown, "failed", nullptr, "not recognized"}});
}

// Exchange 2003 with its DSN part (no Diagnostic-Code): the text's reason fills it.
TEST_F(BounceLayoutsMta, Exchange2003WithDsnPart) {
  ExpectRecords(
      Parse("From: System Administrator <postmaster@example.org>\nTo: sender@example.com\n"
            "Subject: Undeliverable: hi\nMIME-Version: 1.0\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"X\"\n\n"
            "--X\nContent-Type: text/plain\n\n"
            "Your message\n\n  To:      tora@example.org\n  Subject: hi\n\n"
            "did not reach the following recipient(s):\n\n"
            "tora@example.org on Mon, 6 May 2024 10:00:05 +0200\n"
            "    The recipient's mailbox is full and can't accept messages now.  Please try resending this "
            "message later, or contact the recipient directly.\n"
            "    <EXCH01.example.org #5.2.2>\n\n"
            "--X\nContent-Type: message/delivery-status\n\nReporting-MTA: dns;EXCH01.example.org\n\n"
            "Final-Recipient: rfc822;tora@example.org\nAction: failed\nStatus: 5.2.2\n"
            "X-Display-Name: Tora\n\n--X--\n"),
      {{"tora@example.org", Reason::mailboxfull, "failed", nullptr, "mailbox is full"}});
}

// OpenSMTPD's own MTA error (no remote reply): the domain has no address.
TEST_F(BounceLayoutsMta, OpenSmtpdErrorWithMtaError) {
  ExpectRecords(Parse("From: Mailer Daemon <MAILER-DAEMON@mx.example.org>\nTo: sender@example.com\n"
                      "Subject: Delivery status notification: error\n\n"
                      "    Hi!\n\n"
                      "    This is the MAILER-DAEMON, please DO NOT REPLY to this email.\n\n"
                      "    An error has occurred while attempting to deliver a message for\n"
                      "    the following list of recipients:\n\n"
                      "kijitora@nxdomain.example: Domain does not exist\n\n"
                      "    Below is a copy of the original message:\n\n"
                      "From: sender@example.com\nSubject: hi\n\nbody\n"),
                {{"kijitora@nxdomain.example", Reason::hostunknown, "failed", nullptr, "Domain does not exist"}});
}

// Courier's local delivery failure: no remote host, the error of its own
// delivery agent in the text.
TEST_F(BounceLayoutsMta, CourierLocalUnknownUser) {
  ExpectRecords(
      Parse(Courier("UNDELIVERABLE MAIL", "Your message to the following recipients cannot be delivered:",
                    "<kijitora@example.net>:\n    Unknown user: kijitora@example.net\n", "failed", "5.0.0",
                    "550 5.1.1 Unknown user: kijitora@example.net")),
      {{"kijitora@example.net", Reason::userunknown, "failed", nullptr, "Unknown user"}});
}

// OpenSMTPD's delay notice (notice_warning, notice_warning2 of bounce.c).
TEST_F(BounceLayoutsMta, OpenSmtpdWarning) {
  ExpectRecords(Parse("From: Mailer Daemon <MAILER-DAEMON@mx.example.org>\nTo: sender@example.com\n"
                      "Subject: Delivery status notification: warning\n\n"
                      "    Hi!\n\n"
                      "    This is the MAILER-DAEMON, please DO NOT REPLY to this email.\n\n"
                      "    A message is delayed for more than 4h for the following\n"
                      "    list of recipients:\n\n"
                      "kijitora@example.net: 451 4.7.1 Greylisted, please try again later\n\n"
                      "    Please note that this is only a temporary failure report.\n"
                      "    The message is kept in the queue for up to 4d.\n"
                      "    You DO NOT NEED to re-send the message to these recipients.\n\n"
                      "    Below is a copy of the original message:\n\n"
                      "From: sender@example.com\nSubject: hi\n\nbody\n"),
                {{"kijitora@example.net", Reason::blocked, "delayed", nullptr, "Greylisted"}});
}

// OpenSMTPD 5.x (no indentation, "this e-mail").
TEST_F(BounceLayoutsMta, OpenSmtpdOlderError) {
  ExpectRecords(Parse("From: MAILER-DAEMON@mx.example.org\nTo: sender@example.com\n"
                      "Subject: Delivery status notification\n\n"
                      "Hi!\n\n"
                      "This is the MAILER-DAEMON, please DO NOT REPLY to this e-mail.\n\n"
                      "An error has occurred while attempting to deliver a message for\n"
                      "the following list of recipients:\n\n"
                      "kijitora@example.net: 550 5.1.1 <kijitora@example.net>... User Unknown\n\n"
                      "Below is a copy of the original message:\n\n"
                      "From: sender@example.com\nSubject: hi\n\nbody\n"),
                {{"kijitora@example.net", Reason::userunknown, "failed", nullptr, "User Unknown"}});
}

// A remote reply that happens to say "the mail system" must not make an
// Exim bounce read as Postfix's (the Postfix reader is tried first).
TEST_F(BounceLayoutsMta, EximReplyMentioningTheMailSystem) {
  ExpectRecords(Parse(EximFailure("  kijitora@example.net\n"
                                  "    host mx.example.net [192.0.2.1]\n"
                                  "    SMTP error from remote mail server after end of data:\n"
                                  "    554 5.7.1 Message rejected as spam by the mail system\n"
                                  "  neko@example.net\n"
                                  "    host mx.example.net [192.0.2.1]\n"
                                  "    SMTP error from remote mail server after RCPT TO:<neko@example.net>:\n"
                                  "    550 5.1.1 unknown user\n")),
                {{"kijitora@example.net", Reason::spamdetected, "failed", "DATA-END", "as spam"},
                 {"neko@example.net", Reason::userunknown, "failed", "RCPT", "unknown user"}});
}

// Exim 4.87+ DSN with a reply lacking an enhanced code and Status 5.0.0:
// the RCPT the text names makes "unknown user" the mailbox's absence.
TEST_F(BounceLayoutsMta, EximDsnPlainReplyCode) {
  std::string m =
      "From: Mail Delivery System <Mailer-Daemon@mx.example.org>\nTo: sender@example.com\n"
      "Subject: Mail delivery failed: returning message to sender\nMIME-Version: 1.0\n"
      "Content-Type: multipart/report; report-type=delivery-status; boundary=E\n\n"
      "--E\nContent-type: text/plain; charset=us-ascii\n\n"
      "This message was created automatically by mail delivery software.\n\n"
      "A message that you sent could not be delivered to one or more of its\n"
      "recipients. This is a permanent error. The following address(es) failed:\n\n"
      "  kijitora@example.net\n"
      "    host mx.example.net [192.0.2.1]\n"
      "    SMTP error from remote mail server after RCPT TO:<kijitora@example.net>:\n"
      "    550 unknown user\n"
      "  neko@example.net\n"
      "    host mx.example.net [192.0.2.1]\n"
      "    SMTP error from remote mail server after end of data:\n"
      "    550 unknown user\n\n"
      "--E\nContent-type: message/delivery-status\n\n"
      "Reporting-MTA: dns; mx.example.org\n\n"
      "Action: failed\nFinal-Recipient: rfc822;kijitora@example.net\nStatus: 5.0.0\n"
      "Remote-MTA: dns; mx.example.net\nDiagnostic-Code: smtp; 550 unknown user\n\n"
      "Action: failed\nFinal-Recipient: rfc822;neko@example.net\nStatus: 5.0.0\n"
      "Remote-MTA: dns; mx.example.net\nDiagnostic-Code: smtp; 550 unknown user\n\n"
      "--E--\n";
  ExpectRecords(Parse(m), {{"kijitora@example.net", Reason::userunknown, "failed", "RCPT", "unknown user"},
                           // refused only after the content: a filter's word
                           {"neko@example.net", Reason::filtered, "failed", "DATA-END", "unknown user"}});
}

// An Exchange 2003 report as Outlook renders it (forwarded or saved):
// "The following recipient(s) cannot be reached:" with indented addresses.
TEST_F(BounceLayoutsMta, Exchange2003OutlookRendered) {
  ExpectRecords(
      Parse("From: System Administrator <postmaster@example.org>\nTo: sender@example.com\n"
            "Subject: Undeliverable: hi\n\n"
            "Your message did not reach some or all of the intended recipients.\n\n"
            "      Subject:\thi\n      Sent:\t5/6/2024 10:00 AM\n\n"
            "The following recipient(s) cannot be reached:\n\n"
            "      kijitora@example.org on 5/6/2024 10:00 AM\n"
            "            The e-mail account does not exist at the organization this message was sent to.  "
            "Check the e-mail address, or contact the recipient directly to find out the correct address.\n"
            "            <EXCH01.example.org #5.1.1>\n"),
      {{"kijitora@example.org", Reason::userunknown, "failed", nullptr, "does not exist"}});
}

// RFC 3464 details different MTAs write differently: CRLF, folded fields
// with tabs, a Final-Recipient in angle brackets or without its type, a
// status with a comment, "Action: Failed (bad address)", a multi-line
// Diagnostic-Code, and a base64-encoded delivery-status part.
TEST_F(BounceLayoutsMta, Rfc3464FieldSpellings) {
  ExpectRecords(
      Parse("From: postmaster@mx.example.org\r\nTo: sender@example.com\r\nSubject: Delivery failure\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"R\"\r\n\r\n"
            "--R\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\r\n"
            "--R\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns;\r\n\tmx.example.org\r\n\r\n"
            "Final-Recipient: rfc822;<kijitora@example.net>\r\nAction: Failed (bad address)\r\n"
            "Status: 5.1.1 (bad destination mailbox address)\r\n"
            "Diagnostic-Code: smtp;550-5.1.1 The email account that you tried to reach does\r\n"
            "\tnot exist.\r\n\r\n"
            "Final-Recipient: tora@example.net\r\nAction: failed\r\nStatus: 5.2.2\r\n"
            "Diagnostic-Code: smtp; 552 5.2.2 Mailbox quota exceeded\r\n\r\n"
            "--R--\r\n"),
      {{"kijitora@example.net", Reason::userunknown, "failed", nullptr, "does not exist"},
       {"tora@example.net", Reason::mailboxfull, "failed", nullptr, "quota exceeded"}});
}

TEST_F(BounceLayoutsMta, Rfc3464Base64Part) {
  ExpectRecords(
      Parse("From: postmaster@mx.example.org\r\nTo: sender@example.com\r\nSubject: Delivery Status Notification\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"R\"\r\n\r\n"
            "--R\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n\r\n"
            "--R\r\nContent-Type: message/delivery-status\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            "UmVwb3J0aW5nLU1UQTogZG5zOyBteC5leGFtcGxlLm9yZw0KDQpGaW5hbC1SZWNpcGllbnQ6IHJm\r\nYzgyMjsga2lqaXRvcmFAZXhhbXBsZS5uZXQNCkFjdGlvbjogZmFpbGVkDQpTdGF0dXM6IDUuMS4x\r\nDQpEaWFnbm9zdGljLUNvZGU6IHNtdHA7IDU1MCA1LjEuMSA8a2lqaXRvcmFAZXhhbXBsZS5uZXQ+\r\nOiBVc2VyIHVua25vd24NCg==\r\n--R--\r\n"),
      {{"kijitora@example.net", Reason::userunknown, "failed", nullptr, "User unknown"}});
}

// Courier's DSN part always says Status 5.0.0 and never the command; its
// text's ">>> RCPT TO:" line does. A bare "550 Unknown user" to RCPT is the
// mailbox's absence, to DATA a filter's word (as the corpus's courier-02).
TEST_F(BounceLayoutsMta, CourierCommandFromTranscript) {
  ExpectRecords(Parse(Courier("UNDELIVERABLE MAIL", "Your message to the following recipients cannot be delivered:",
                              "<kijitora@example.net>:\n    mx.example.net [192.0.2.1]:\n"
                              ">>> RCPT TO:<kijitora@example.net>\n<<< 550 Unknown user kijitora@example.net\n",
                              "failed", "5.0.0", "550 Unknown user kijitora@example.net")),
                {{"kijitora@example.net", Reason::userunknown, "failed", "RCPT", "Unknown user"}});
  ExpectRecords(Parse(Courier("UNDELIVERABLE MAIL", "Your message to the following recipients cannot be delivered:",
                              "<kijitora@example.net>:\n    mx.example.net [192.0.2.1]:\n"
                              ">>> DATA\n<<< 550 Unknown user kijitora@example.net\n",
                              "failed", "5.0.0", "550 Unknown user kijitora@example.net")),
                {{"kijitora@example.net", Reason::filtered, "failed", "DATA", "Unknown user"}});
}

// Postfix relaying a multi-line reply (Gmail's) and a DATA-stage block.
TEST_F(BounceLayoutsMta, PostfixMultiLineRemoteReply) {
  std::string lines =
      "<kijitora@gmail.example>: host gmail-smtp-in.l.google.com[192.0.2.26] said:\n"
      "    550-5.1.1 The email account that you tried to reach does not exist. Please\n"
      "    try 550-5.1.1 double-checking the recipient's email address for typos or\n"
      "    550-5.1.1 unnecessary spaces. For more information, go to 550 5.1.1\n"
      "    https://support.google.com/mail/?p=NoSuchUser a1si123 - gsmtp (in reply to\n"
      "    RCPT TO command)\n\n"
      "<neko@gmail.example>: host gmail-smtp-in.l.google.com[192.0.2.26] said:\n"
      "    550-5.7.26 Unauthenticated email from example.com is not accepted due to\n"
      "    550-5.7.26 domain's DMARC policy. 550 5.7.26 - gsmtp (in reply to end of DATA\n"
      "    command)\n";
  ExpectRecords(Parse(PostfixFailure(lines, false)),
                {{"kijitora@gmail.example", Reason::userunknown, "failed", "RCPT", "does not exist"},
                 {"neko@gmail.example", Reason::authfailure, "failed", "DATA", "DMARC"}});
}

// The "remote server for ... command" style with a DSN part (Status 5.0.0).
TEST_F(BounceLayoutsMta, EximRemoteServerForCommandWithDsn) {
  std::string m =
      "From: Mail Delivery System <Mailer-Daemon@mx.example.org>\nTo: sender@example.com\n"
      "Subject: Mail delivery failed: returning message to sender\nMIME-Version: 1.0\n"
      "Content-Type: multipart/report; report-type=delivery-status; boundary=E\n\n"
      "--E\nContent-type: text/plain; charset=us-ascii\n\n"
      "This message was created automatically by mail delivery software.\n\n"
      "A message that you sent could not be delivered to one or more of its\n"
      "recipients. This is a permanent error. The following address(es) failed:\n\n"
      "  kijitora@example.net\n"
      "    SMTP error from remote server for RCPT TO command, host: mx.example.net (192.0.2.1) reason: 550 No such "
      "recipient here\n\n"
      "--E\nContent-type: message/delivery-status\n\n"
      "Reporting-MTA: dns; mx.example.org\n\n"
      "Action: failed\nFinal-Recipient: rfc822;kijitora@example.net\nStatus: 5.0.0\n"
      "Remote-MTA: dns; mx.example.net\nDiagnostic-Code: smtp; 550 No such recipient here\n\n--E--\n";
  ExpectRecords(Parse(m), {{"kijitora@example.net", Reason::userunknown, "failed", "RCPT", "No such recipient"}});
}

// Exchange 2003 naming a recipient of its own organisation by display name
// only; the DSN part's Final-Recipient gives the address, the text the reason.
TEST_F(BounceLayoutsMta, Exchange2003DisplayNameOnly) {
  BounceResult r = Parse(
      "From: System Administrator <postmaster@example.org>\nTo: sender@example.com\n"
      "Subject: Undeliverable: hi\nMIME-Version: 1.0\n"
      "Content-Type: multipart/report; report-type=delivery-status; boundary=\"X\"\n\n"
      "--X\nContent-Type: text/plain\n\n"
      "Your message\n\n  To:      Kijitora Cat\n  Subject: hi\n  Sent:    Mon, 6 May 2024 10:00:00 +0200\n\n"
      "did not reach the following recipient(s):\n\n"
      "Kijitora Cat on Mon, 6 May 2024 10:00:05 +0200\n"
      "    You do not have permission to send to this recipient.  For assistance, contact your system "
      "administrator.\n"
      "    <EXCH01.example.org #5.7.1>\n\n"
      "--X\nContent-Type: message/delivery-status\n\nReporting-MTA: dns;EXCH01.example.org\n\n"
      "Final-Recipient: rfc822;kijitora@example.org\nAction: failed\nStatus: 5.7.1\nX-Display-Name: Kijitora Cat\n\n"
      "--X--\n");
  ExpectRecords(r, {{"kijitora@example.org", Reason::policyviolation, "failed", nullptr, "permission"}});
  EXPECT_EQ(r.records[0].diagnostic.find("Your message"), std::string::npos) << r.records[0].diagnostic;
}

// qmail-remote's greeting and HELO failures, and a reply of several lines.
TEST_F(BounceLayoutsMta, QmailGreetingHeloAndMultiLine) {
  ExpectRecords(Parse(Qmail("<a@example.net>:\nConnected to 192.0.2.1 but greeting failed.\n"
                            "Remote host said: 554 5.7.1 Service unavailable; Client host [198.51.100.7] blocked "
                            "using bl.example.org\n\n"
                            "<b@example.net>:\nConnected to 192.0.2.2 but my name was rejected.\n"
                            "Remote host said: 501 5.5.2 <mx>: Helo command rejected: need fully-qualified hostname\n\n"
                            "<c@example.net>:\n192.0.2.3 does not like recipient.\n"
                            "Remote host said: 550-5.1.1 The email account that you tried to reach does not exist.\n"
                            "550-5.1.1 Please try double-checking the recipient's email address for typos\n"
                            "550 5.1.1 or unnecessary spaces.\n"
                            "Giving up on 192.0.2.3.\n")),
                {{"a@example.net", Reason::blocked, "failed", "CONNECT", "blocked using"},
                 {"b@example.net", Reason::requireptr, "failed", "HELO", "fully-qualified hostname"},
                 {"c@example.net", Reason::userunknown, "failed", "RCPT", "does not exist"}});
}

// Exchange 2003's SMTP-side texts: the remote reply in the "<host #x.y.z
// smtp;...>" line, DNS failure, refused delivery (wording of Exchange
// 2003's NDR texts, as quoted in Microsoft KB 284204 and many threads).
// ("could not be found in Domain Name Service (DNS) ... #5.4.0" reads as
// networkerror by its status: left to the rules.)
std::string Exchange2003(const std::string& blocks) {
  return "From: System Administrator <postmaster@example.org>\nTo: sender@example.com\n"
         "Subject: Undeliverable: hi\n\n"
         "Your message\n\n  To:      someone@example.net\n  Subject: hi\n  Sent:    Mon, 6 May 2024 10:00:00 +0200\n\n"
         "did not reach the following recipient(s):\n\n" +
         blocks;
}

TEST_F(BounceLayoutsMta, Exchange2003SmtpReplies) {
  ExpectRecords(
      Parse(Exchange2003(
          "a@example.net on Mon, 6 May 2024 10:00:05 +0200\n"
          "    A problem occurred during the delivery of this message to this e-mail address. Try sending this "
          "message again. If the problem continues, please contact your helpdesk.\n"
          "    <mx.example.net #5.5.0 smtp;550 5.1.1 <a@example.net>... User unknown>\n\n"
          "c@example.net on Mon, 6 May 2024 10:00:05 +0200\n"
          "    The message reached the recipient's e-mail system, but delivery was refused.  Attempt to resend the "
          "message.  If it still fails, contact your system administrator.\n"
          "    <mx.example.net #5.0.0 smtp;554 5.7.1 Message rejected as spam>\n")),
      {{"a@example.net", Reason::userunknown, "failed", nullptr, "User unknown"},
       {"c@example.net", Reason::spamdetected, "failed", nullptr, "as spam"}});
}

// Postfix's notice to the postmaster (notify_classes; "Postfix SMTP server:
// errors from HOST[IP]"): the SMTP session as " In:" / " Out:" lines.
std::string PostfixTranscript(const std::string& session) {
  return "From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\nTo: postmaster@mx.example.org\n"
         "Subject: Postfix SMTP server: errors from mail.example.com[192.0.2.1]\nMIME-Version: 1.0\n"
         "Content-Type: multipart/mixed; boundary=\"B\"\n\n--B\nContent-Description: Transcript of session\n"
         "Content-Type: text/plain; charset=us-ascii\n\nTranscript of session follows.\n\n"
         " Out: 220 mx.example.org ESMTP Postfix\n In:  EHLO mail.example.com\n Out: 250-mx.example.org\n"
         " Out: 250 8BITMIME\n In:  MAIL FROM:<sender@example.com>\n Out: 250 2.1.0 Ok\n" +
         session + " In:  QUIT\n Out: 221 2.0.0 Bye\n\nFor other details, see the local mail logfile\n--B--\n";
}

TEST_F(BounceLayoutsMta, PostfixPostmasterTranscript) {
  ExpectRecords(Parse(PostfixTranscript(" In:  RCPT TO:<ok@example.org>\n Out: 250 2.1.5 Ok\n"
                                        " In:  RCPT TO:<kijitora@example.org>\n"
                                        " Out: 550 5.1.1 <kijitora@example.org>: Recipient address rejected: User unknown\n"
                                        "     in local recipient table\n")),
                {{"kijitora@example.org", Reason::userunknown, "failed", "RCPT", "local recipient table"}});
  // Refused after the content: every accepted recipient.
  ExpectRecords(Parse(PostfixTranscript(" In:  RCPT TO:<a@example.org>\n Out: 250 2.1.5 Ok\n"
                                        " In:  RCPT TO:<b@example.org>\n Out: 250 2.1.5 Ok\n"
                                        " In:  DATA\n Out: 354 End data with <CR><LF>.<CR><LF>\n In:  .\n"
                                        " Out: 554 5.7.1 Message rejected as spam\n")),
                {{"a@example.org", Reason::spamdetected, "failed", "DATA", "as spam"},
                 {"b@example.org", Reason::spamdetected, "failed", "DATA", "as spam"}});
}

}  // namespace
}  // namespace rebound
