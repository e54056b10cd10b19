#include "rebound/classifier.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

#include <unistd.h>

namespace rebound {
namespace {

const Classifier& Default() {
  static std::unique_ptr<const Classifier> c = [] {
    std::unique_ptr<const Classifier> out;
    Status s = BuildClassifier({}, &out);
    if (!s.ok()) ADD_FAILURE() << s.message();
    return out;
  }();
  return *c;
}

std::string SourceDir() { return REBOUND_SOURCE_DIR; }

// Reads a JSON Lines test table; every line needs "reply" and "category".
std::vector<nlohmann::json> ReadTable(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  std::vector<nlohmann::json> rows;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

TEST(Classifier, SeedCasesClassifyExactly) {
  auto scratch = Default().NewScratch();
  auto rows = ReadTable(SourceDir() + "/tests/data/seed-cases.jsonl");
  ASSERT_GE(rows.size(), 130u);
  int wrong = 0;
  for (const auto& row : rows) {
    Verdict v = Default().Classify(row["reply"].get<std::string>(), scratch.get());
    if (CategoryName(v.category) != row["category"].get<std::string>() || v.permanent != row["permanent"].get<bool>()) {
      ++wrong;
      ADD_FAILURE() << row["reply"] << ": got " << CategoryName(v.category) << " permanent=" << v.permanent
                    << " by " << v.rule << ", want " << row["category"] << " permanent=" << row["permanent"];
    }
  }
  EXPECT_EQ(wrong, 0);
}

// Real replies from providers and MTAs, each with its public source.
TEST(Classifier, ProviderAndMtaReplies) {
  auto scratch = Default().NewScratch();
  const std::string dir = SourceDir() + "/tests/data/replies";
  ASSERT_TRUE(std::filesystem::is_directory(dir));
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    for (const auto& row : ReadTable(e.path().string())) {
      ++n;
      Verdict v = Default().Classify(row["reply"].get<std::string>(), scratch.get());
      EXPECT_EQ(CategoryName(v.category), row["category"].get<std::string>())
          << e.path().filename() << ": " << row["reply"] << " decided by " << v.rule;
      if (row.contains("permanent")) {
        EXPECT_EQ(v.permanent, row["permanent"].get<bool>()) << row["reply"];
      }
      // A row without a provider asserts that no provider rule claimed it.
      EXPECT_EQ(v.provider, row.value("provider", std::string())) << e.path().filename() << ": " << row["reply"];
    }
  }
  EXPECT_GT(n, 0u);
}

TEST(Classifier, TextOverridesWhatTheCodeSuggests) {
  auto scratch = Default().NewScratch();
  Verdict qq = Default().Classify("550 Ip frequency limited", scratch.get());
  EXPECT_EQ(qq.category, Category::ip_rate_limited);
  Verdict godaddy = Default().Classify(
      "550 5.1.1 <x@example.com> sent to too many recipients this hour. Please try again later.", scratch.get());
  EXPECT_EQ(godaddy.category, Category::sender_rate_limited);
  EXPECT_FALSE(godaddy.hard_bounce);
  Verdict rcpt552 = Default().Classify(
      "host mx.example.com[192.0.2.1] said: 552 5.2.2 Mailbox full (in reply to RCPT TO command)", scratch.get());
  EXPECT_EQ(rcpt552.category, Category::mailbox_full);
  EXPECT_FALSE(rcpt552.permanent) << "RFC 5321 4.5.3.1.10: 552 to RCPT is temporary";
  Verdict data552 = Default().Classify("552 5.2.2 Mailbox full", scratch.get());
  EXPECT_TRUE(data552.permanent);
}

TEST(Classifier, UnknownKeepsThePermanenceOfTheCode) {
  auto scratch = Default().NewScratch();
  Verdict perm = Default().Classify("599 zzqx blorf", scratch.get());
  EXPECT_EQ(perm.category, Category::unknown);
  EXPECT_TRUE(perm.permanent);
  Verdict temp = Default().Classify("499 zzqx blorf", scratch.get());
  EXPECT_EQ(temp.category, Category::unknown);
  EXPECT_FALSE(temp.permanent);
  EXPECT_GT(temp.retry_after, 0);
}

TEST(Classifier, HardBounceOnlyForBadAddresses) {
  auto scratch = Default().NewScratch();
  EXPECT_TRUE(Default().Classify("550 5.1.1 User unknown", scratch.get()).hard_bounce);
  EXPECT_FALSE(Default().Classify("450 4.1.1 User unknown, try later", scratch.get()).hard_bounce);
  EXPECT_FALSE(Default().Classify("554 Client host 192.0.2.10 denied by RBL", scratch.get()).hard_bounce);
  // Sender-side categories never make a hard bounce, even on 5xx.
  for (const auto& row : ReadTable(SourceDir() + "/tests/data/seed-cases.jsonl")) {
    Verdict v = Default().Classify(row["reply"].get<std::string>(), scratch.get());
    if (IsSenderSideCategory(v.category)) {
      EXPECT_FALSE(v.hard_bounce) << row["reply"];
    }
  }
}

// Why a verdict is or is not a hard bounce: the facts the classifier read,
// judged by the one definition (JudgeHardBounce), for every verdict.
TEST(Classifier, HardBounceFactsSayWhy) {
  auto scratch = Default().NewScratch();
  struct Case {
    const char* reply;
    AddressEvidence evidence;
    HardBounceVeto veto;
    HardBounceAnswer answer;
  };
  const Case cases[] = {
      {"550 5.1.1 <a@example.net>: Recipient address rejected: User unknown", AddressEvidence::kAddressWords,
       HardBounceVeto::kNone, HardBounceAnswer::kHardBounce},
      {"550 5.1.1", AddressEvidence::kAddressStatus, HardBounceVeto::kNone, HardBounceAnswer::kHardBounce},
      {"450 4.1.1 <a@example.net>: Recipient address rejected: User unknown", AddressEvidence::kAddressWords,
       HardBounceVeto::kNone, HardBounceAnswer::kNotPermanent},
      {"550 Requested action not taken: mailbox unavailable", AddressEvidence::kNone, HardBounceVeto::kNone,
       HardBounceAnswer::kNoEvidence},
      // Read whatever the category: the bounce reader may settle on another.
      {"550 5.1.1 <a@example.net>: Recipient address rejected: too many invalid recipients from your IP",
       AddressEvidence::kAddressWords, HardBounceVeto::kContraryWords, HardBounceAnswer::kNotAboutAddress},
      {"553 5.1.8 <s@example.com>: Sender address rejected: Domain not found", AddressEvidence::kNone,
       HardBounceVeto::kSenderStatus, HardBounceAnswer::kNotAboutAddress},
      // MTA wordings marked address_level in rules/bounce.toml and mta.toml.
      {"550 Unrouteable address", AddressEvidence::kRuleForText, HardBounceVeto::kNone, HardBounceAnswer::kHardBounce},
      {"mail.local: unknown user: neko 554 <neko@example.org>... Service unavailable", AddressEvidence::kRuleForText,
       HardBounceVeto::kNone, HardBounceAnswer::kHardBounce},
  };
  for (const Case& c : cases) {
    Verdict v = Default().Classify(c.reply, scratch.get());
    EXPECT_EQ(AddressEvidenceName(v.hard_bounce_facts.evidence), AddressEvidenceName(c.evidence)) << c.reply;
    EXPECT_EQ(HardBounceVetoName(v.hard_bounce_facts.veto), HardBounceVetoName(c.veto)) << c.reply;
    const HardBounceAnswer answer = JudgeHardBounce(v.category, v.reason, v.permanent, v.hard_bounce_facts);
    EXPECT_EQ(HardBounceAnswerName(answer), HardBounceAnswerName(c.answer)) << c.reply << " as " << CategoryName(v.category);
    EXPECT_EQ(v.hard_bounce, answer == HardBounceAnswer::kHardBounce) << c.reply;
  }
  // A veto outranks any evidence; evidence is needed only once the rest holds.
  EXPECT_EQ(JudgeHardBounce(Category::recipient_not_found, Reason::userunknown, true,
                            {AddressEvidence::kRuleForText, HardBounceVeto::kContraryWords}),
            HardBounceAnswer::kVetoed);
  EXPECT_EQ(JudgeHardBounce(Category::mailbox_full, Reason::mailboxfull, true, {AddressEvidence::kAddressStatus}),
            HardBounceAnswer::kNotAboutAddress);
}

TEST(Classifier, StatedDelayBecomesRetryAfter) {
  auto scratch = Default().NewScratch();
  Verdict v = Default().Classify("451 4.7.1 Please try again in 7 minutes", scratch.get());
  EXPECT_FALSE(v.permanent);
  EXPECT_EQ(v.retry_after, 420);
}

TEST(Classifier, ReplyUrlBecomesReference) {
  auto scratch = Default().NewScratch();
  Verdict v = Default().Classify("550 5.1.1 https://support.google.com/mail/?p=NoSuchUser", scratch.get());
  EXPECT_EQ(v.reference, "https://support.google.com/mail/?p=NoSuchUser");
}

TEST(Classifier, LocalRulesTakePrecedence) {
  ClassifierBuilder b;
  ASSERT_TRUE(b.AddDefaults().ok());
  ASSERT_TRUE(b.AddText("local.toml", R"([[rule]]
id = "local.odd"
category = "greylisted"
match = "user unknown"
priority = 1
)", true).ok());
  std::unique_ptr<const Classifier> c;
  Status s = b.Build(&c);
  ASSERT_TRUE(s.ok()) << s.message();
  auto scratch = c->NewScratch();
  Verdict v = c->Classify("550 5.1.1 user unknown", scratch.get());
  EXPECT_EQ(v.category, Category::greylisted);
  EXPECT_EQ(v.rule, "local.odd");
  EXPECT_TRUE(v.permanent) << "the category never changes the class the server gave";
}

TEST(Classifier, BadRuleFilesAreReportedWithFileAndLine) {
  ClassifierBuilder b;
  ASSERT_TRUE(b.AddDefaults().ok());
  b.AddText("bad.toml", R"(
[[rule]]
id = "x.one"
category = "no_such_category"
match = "a"

[[rule]]
id = "seed.delivered"
category = "spam"
match = "b"

[[rule]]
id = "x.three"
category = "spam"
match = "(unclosed"

[[rule]]
id = "x.four"
category = "spam"
reason = "nonsense"
code = "abc"

[[rule]]
id = "x.five"
category = "recipient_not_found"
match = "c"
address_level = "mailbox-ish"
)", true);
  b.AddText("broken.toml", "[[rule]\nid=", true);
  std::unique_ptr<const Classifier> c;
  Status s = b.Build(&c);
  ASSERT_FALSE(s.ok());
  const std::string& m = s.message();
  EXPECT_NE(m.find("bad.toml:2: rule x.one: unknown category 'no_such_category'"), std::string::npos) << m;
  EXPECT_NE(m.find("bad.toml:7: duplicate rule id 'seed.delivered'"), std::string::npos) << m;
  EXPECT_NE(m.find("bad.toml:12: rule x.three: pattern does not compile"), std::string::npos) << m;
  EXPECT_NE(m.find("bad.toml:17: rule x.four: unknown reason 'nonsense'"), std::string::npos) << m;
  EXPECT_NE(m.find("bad code 'abc'"), std::string::npos) << m;
  EXPECT_NE(m.find("bad.toml:27: rule x.five: address_level must be \"mailbox\" or \"domain\""), std::string::npos) << m;
  EXPECT_NE(m.find("broken.toml:1: bad TOML"), std::string::npos) << m;
}

TEST(Classifier, DatabaseCacheIsUsedAndSurvivesCorruption) {
  // A directory of this process's own: two checkouts' suites may run at once.
  const std::string dir = testing::TempDir() + "/rebound-cache-test-" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  auto build = [&] {
    ClassifierBuilder b;
    b.set_cache_dir(dir);
    EXPECT_TRUE(b.AddDefaults().ok());
    std::unique_ptr<const Classifier> c;
    Status s = b.Build(&c);
    EXPECT_TRUE(s.ok()) << s.message();
    return c;
  };
  auto first = build();
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files.push_back(e.path());
  ASSERT_EQ(files.size(), 3u) << "one cached database each: the rules above the facet layer, those below it, the facets";
  auto second = build();  // from the cache
  auto scratch = second->NewScratch();
  EXPECT_EQ(second->Classify("421 RP-001", scratch.get()).category, Category::ip_rate_limited);
  EXPECT_EQ(second->Classify("550 Empfänger unbekannt", scratch.get()).category, Category::recipient_not_found);
  for (const auto& file : files) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.write("garbage!", 8);
  }
  auto third = build();  // corrupt entries: rebuilt, not trusted
  auto scratch3 = third->NewScratch();
  EXPECT_EQ(third->Classify("421 RP-001", scratch3.get()).category, Category::ip_rate_limited);
  EXPECT_EQ(third->Classify("550 Empfänger unbekannt", scratch3.get()).category, Category::recipient_not_found);
  std::filesystem::remove_all(dir);
}

TEST(Classifier, ExplainListsTheDeciderFirst) {
  auto scratch = Default().NewScratch();
  ReplyParser p;
  Reply r = p.Parse("550 5.1.1 <u@example.com>: user unknown");
  auto rules = Default().Explain(r, scratch.get());
  ASSERT_GE(rules.size(), 2u);
  EXPECT_EQ(rules[0]->id, Default().Classify(r, scratch.get()).rule);
}

TEST(Classifier, SharedAcrossThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      auto scratch = Default().NewScratch();
      for (int i = 0; i < 2000; ++i) {
        if (Default().Classify("421 RP-001", scratch.get()).category != Category::ip_rate_limited) ++wrong;
        if (Default().Classify("550 5.1.1 no such user", scratch.get()).category != Category::recipient_not_found) ++wrong;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong, 0);
}

TEST(Classifier, EveryIanaEnhancedCodeHasARule) {
  // The registry's codes, as listed in tests/data/rfc3463-codes.txt.
  std::ifstream in(SourceDir() + "/tests/data/rfc3463-codes.txt");
  ASSERT_TRUE(in);
  auto scratch = Default().NewScratch();
  std::string code;
  int n = 0;
  while (in >> code) {
    if (code[0] == '#') { std::getline(in, code); continue; }
    ++n;
    for (char klass : {'4', '5'}) {
      std::string c = code;
      c[0] = klass;
      Verdict v = Default().Classify(c + " some text", scratch.get());
      EXPECT_NE(v.category, Category::unknown) << c;
      EXPECT_EQ(v.permanent, klass == '5') << c;
    }
  }
  EXPECT_GT(n, 50);
}

}  // namespace
}  // namespace rebound
