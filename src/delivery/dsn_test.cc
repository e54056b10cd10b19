// The bounce notice, read back by Rebound's own bounce reader (RFC 3464
// parser + classifier): what we send must be what bounce processors expect.
#include "delivery/dsn.h"

#include <gtest/gtest.h>

#include "rebound/bounce.h"
#include "rebound/classifier.h"

namespace rebound::delivery {
namespace {

DsnInput Sample() {
  DsnInput in;
  in.reporting_mta = "relay.rebound.test";
  in.original_sender = "sender@example.org";
  in.original_envelope_id = "42";
  in.original_message = "From: sender@example.org\r\nTo: a@rcpt.test\r\nSubject: hello\r\nMessage-ID: <m42@example.org>\r\n\r\nbody text\r\n";
  in.arrival_time = 1'800'000'000;
  in.now = 1'800'000'600;
  DsnRecipient unknown;
  unknown.address = "nobody@rcpt.test";
  unknown.reply = "550 5.1.1 <nobody@rcpt.test>: Recipient address rejected: User unknown";
  unknown.remote_mta = "mx.rcpt.test";
  unknown.explanation = "suppress the address";
  DsnRecipient expired;
  expired.address = "slow@rcpt.test";
  expired.reply = "451 4.3.0 Temporary local problem";
  expired.expired = true;
  in.recipients = {unknown, expired};
  return in;
}

TEST(Dsn, StatusCodes) {
  EXPECT_EQ(DsnStatusFor("550 5.1.1 no such user", false), "5.1.1");
  EXPECT_EQ(DsnStatusFor("554 rejected", false), "5.0.0");
  EXPECT_EQ(DsnStatusFor("451 4.3.0 later", true), "4.4.7");
  EXPECT_EQ(DsnStatusFor("524 Host not found by dns resolve", false), "5.0.0");
  EXPECT_EQ(Rfc5322Date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
}

TEST(Dsn, StructureAndNoHeaderInjection) {
  DsnInput in = Sample();
  in.recipients[0].reply += "\r\nBcc: evil@example.com";
  std::string m = BuildDsn(in);
  EXPECT_NE(m.find("Content-Type: multipart/report; report-type=delivery-status;"), std::string::npos);
  EXPECT_NE(m.find("To: <sender@example.org>"), std::string::npos);
  EXPECT_NE(m.find("Final-Recipient: rfc822; nobody@rcpt.test"), std::string::npos);
  EXPECT_NE(m.find("Status: 5.1.1"), std::string::npos);
  EXPECT_NE(m.find("Status: 4.4.7"), std::string::npos);
  EXPECT_NE(m.find("Subject: hello"), std::string::npos);  // original headers quoted
  EXPECT_EQ(m.find("body text"), std::string::npos);       // but not the body
  EXPECT_EQ(m.find("\r\nBcc:"), std::string::npos);
  EXPECT_EQ(m.find("\n\n"), std::string::npos);            // CRLF only
}

TEST(Dsn, ReadBackByTheBounceParser) {
  std::unique_ptr<const Classifier> classifier;
  ASSERT_TRUE(BuildClassifier({}, &classifier).ok());
  BounceParser parser(classifier.get());
  BounceResult result;
  ASSERT_TRUE(parser.Parse(BuildDsn(Sample()), &result).ok());
  ASSERT_TRUE(result.is_bounce);
  ASSERT_EQ(result.records.size(), 2u);
  EXPECT_EQ(result.records[0].recipient, "nobody@rcpt.test");
  EXPECT_EQ(result.records[0].status, "5.1.1");
  EXPECT_EQ(result.records[0].action, "failed");
  EXPECT_EQ(result.records[0].verdict.category, Category::recipient_not_found);
  EXPECT_TRUE(result.records[0].verdict.hard_bounce);
  EXPECT_EQ(result.records[1].recipient, "slow@rcpt.test");
  EXPECT_FALSE(result.records[1].verdict.hard_bounce);
  EXPECT_EQ(result.original.subject, "hello");
}

}  // namespace
}  // namespace rebound::delivery
