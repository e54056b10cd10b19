// The blocklist names of the scan report: data in rules/providers/dnsbl.toml,
// checked by the rule loader.
#include <gtest/gtest.h>

#include "logs/scan.h"
#include "rebound/classifier.h"

namespace rebound::logs {
namespace {

TEST(Blocklists, NamedByWhatTheReplyMentionsInAnyCase) {
  EXPECT_EQ(BlocklistName("554 5.7.1 Client host [192.0.2.1] blocked using zen.SPAMHAUS.org"), "Spamhaus");
  EXPECT_EQ(BlocklistName("550 blocked - see https://www.spamcop.net/bl.shtml?192.0.2.1"), "SpamCop");
  EXPECT_EQ(BlocklistName("554 Service unavailable; Client host blocked using b.barracudacentral.org"), "Barracuda");
  EXPECT_EQ(BlocklistName("553 Your IP is BLACKLISTED at UCEPROTECT-LEVEL 1"), "UCEPROTECT");
  EXPECT_EQ(BlocklistName("554 blocked using cbl.abuseat.org"), "CBL");
  EXPECT_EQ(BlocklistName("550 listed in the CBL. see cbl.example"), "CBL");
  EXPECT_EQ(BlocklistName("550 rejected: listed by bl.mailspike.net"), "Mailspike");
  EXPECT_EQ(BlocklistName("550 poor reputation at senderscore.org"), "Sender Score");
  // The first list of the file that the reply mentions names it.
  EXPECT_EQ(BlocklistName("550 listed on spamcop and spamhaus"), "Spamhaus");
}

TEST(Blocklists, OtherwiseTheZoneAfterThePhrase) {
  EXPECT_EQ(BlocklistName("554 Client host [192.0.2.1] blocked using rbl.example.net; see http://x"), "rbl.example.net");
  EXPECT_EQ(BlocklistName("550 Your IP is LISTED AT dnsbl.test: go away"), "dnsbl.test");
  EXPECT_EQ(BlocklistName("550 listed in (something)"), "a blocklist");
  EXPECT_EQ(BlocklistName("554 5.7.1 rejected by policy"), "a blocklist");
}

TEST(Blocklists, OnlyTheShippedBlocklistFileMayNameThem) {
  ClassifierBuilder local;
  ASSERT_TRUE(local.AddDefaults().ok());
  local.AddText("mine.toml", "[[blocklist]]\nname = \"X\"\nmentioned_as = [\"x\"]\n", /*local=*/true);
  std::unique_ptr<const Classifier> c;
  const Status s = local.Build(&c);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("[[blocklist]] belongs in"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace rebound::logs
