// The generic prose reader's pieces (prose.h): where the bounce's own words
// end, and which sentences it offers for a recipient, in which order.
#include "bounce/prose.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "bounce/mime.h"

namespace rebound::bounce {
namespace {

std::vector<ProseSentence> Sentences(const std::string& text, std::string_view rcpt) {
  std::vector<ProseSentence> out;
  const std::string lower = Lower(text);
  ProseSentences(text, lower, ProseEnd(text), rcpt, &out);
  return out;
}

std::vector<std::string> Texts(const std::vector<ProseSentence>& v) {
  std::vector<std::string> out;
  for (const auto& s : v) out.push_back(s.text);
  return out;
}

TEST(ProseEnd, StopsAtAReturnedMessagesHeaders) {
  const std::string text =
      "We could not deliver your message.\n\nReceived: from a.example by b.example\nSubject: hi\n\nuser unknown\n";
  EXPECT_EQ(ProseEnd(text), text.find("Received:"));
  // Unindented fields that a bounce's summary does not show, two in a row.
  const std::string quoted = "Failed.\n\nFrom: a@example.com\nTo: b@example.net\nMessage-ID: <x@y>\n\nbody\n";
  EXPECT_EQ(ProseEnd(quoted), quoted.find("From:"));
}

TEST(ProseEnd, KeepsABouncesSummaryOfTheMessage) {
  const std::string text =
      "We had trouble delivering your message:\n\nSubject: 'Hello'\nDate: 'Thu, 29 Apr 2012'\n\n"
      "The recipient's mailbox is full.\n";
  EXPECT_EQ(ProseEnd(text), text.size());
}

TEST(ProseEnd, StopsAtAHeadingThatAnnouncesTheOriginal) {
  const std::string text = "Your message could not be delivered.\n\nOriginal message follows:\n\nuser unknown\n";
  EXPECT_EQ(ProseEnd(text), text.find("Original message"));
  // Postfix's sentence mentions the returned message inside a paragraph.
  const std::string postfix =
      "If you do so, please include this problem report. You can\n"
      "delete your own text from the attached returned message.\n\n<a@example.com>: mailbox full\n";
  EXPECT_EQ(ProseEnd(postfix), postfix.size());
}

TEST(ProseSentences, TheCauseOnTheAddressLineComesFirst) {
  const auto s = Sentences("Delivery failed.\n\n<aoi@example.net>: mailbox is over quota\n", "aoi@example.net");
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s[0].text, "mailbox is over quota");
  EXPECT_EQ(s[0].where, ProseWhere::kNearRecipient);
}

TEST(ProseSentences, TheRecipientRepeatedInItsReplyDoesNotEndTheCause) {
  const auto s = Sentences("<aoi@example.net>: 550 5.2.2 <aoi@example.net>... Mailbox full\n", "aoi@example.net");
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s[0].text, "550 5.2.2 <aoi@example.net>... Mailbox full");
}

TEST(ProseSentences, AnotherRecipientsTextIsNotOffered) {
  const auto s = Sentences(
      "Delivery to these addresses failed:\n\nsora@example.com: the mailbox is full\n"
      "riku@example.com: message too large\n",
      "riku@example.com");
  for (const auto& t : Texts(s)) EXPECT_EQ(t.find("mailbox is full"), std::string::npos) << t;
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s[0].text, "message too large");
}

TEST(ProseSentences, TheParagraphBelowTheAddressAndTheHeadingAbove) {
  const auto s = Sentences(
      "Mailbox full for the following recipients:\n\n    hana@example.jp\n\nNo more attempts will be made.\n",
      "hana@example.jp");
  const auto t = Texts(s);
  ASSERT_GE(t.size(), 2u);
  EXPECT_NE(std::find(t.begin(), t.end(), "No more attempts will be made."), t.end());
  bool heading = false;
  for (const auto& x : s) heading = heading || (x.where == ProseWhere::kBelowHeading && x.text.starts_with("Mailbox full"));
  EXPECT_TRUE(heading);
}

TEST(ProseSentences, ALongerAddressIsNotTheRecipient) {
  const auto s = Sentences("xkenji@example.org: user unknown\nkenji@example.org.uk: user unknown\n", "kenji@example.org");
  for (const auto& x : s) EXPECT_NE(x.where, ProseWhere::kNearRecipient) << x.text;
}

TEST(ProseSentences, TheSameWordsGiveTheSameSentencesHoweverWrapped) {
  const std::string narrow =
      "I'm sorry to have to inform you that your\nmessage could not be delivered. The\n"
      "recipient <mio@example.com> has a mailbox\nthat is over its quota.\n";
  const std::string wide =
      "I'm sorry to have to inform you that your message could not be delivered. The recipient\n"
      "<mio@example.com> has a mailbox that is over its quota.\n";
  EXPECT_EQ(Texts(Sentences(narrow, "mio@example.com")), Texts(Sentences(wide, "mio@example.com")));
}

TEST(ProseSentences, QuotedOriginalIsNotRead) {
  const auto s = Sentences(
      "We could not deliver your message to <yuki@example.net>.\n\nFrom: a@example.com\nTo: yuki@example.net\n"
      "Message-ID: <1@a>\n\nyuki@example.net: 550 user unknown\n",
      "yuki@example.net");
  for (const auto& t : Texts(s)) EXPECT_EQ(t.find("unknown"), std::string::npos) << t;
}

}  // namespace
}  // namespace rebound::bounce
