// The verdict memo must answer exactly what a fresh classification answers,
// stay within its bounds, and keep addresses apart.
#include "logs/verdict_memo.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "core/civil_time.h"
#include "logs/scan.h"

namespace rebound::logs {
namespace {

std::string Describe(const Verdict& v) {
  return std::string(CategoryName(v.category)) + "/" + std::string(ReasonName(v.reason)) +
         " permanent=" + std::to_string(v.permanent) + " hard=" + std::to_string(v.hard_bounce) +
         " retry=" + std::to_string(v.retry_after) + " rule=" + std::string(v.rule) + " provider=" +
         std::string(v.provider) + " reference=" + std::string(v.reference) + " action=" + std::string(v.action) +
         " en=" + std::string(v.solution_en) + " zh=" + std::string(v.solution_zh);
}

std::string Describe(const Reply& r) {
  char buf[12];
  return std::to_string(r.code) + " " + std::string(r.status.Format(buf)) + " " +
         std::string(SmtpCommandName(r.command)) + " host=" + std::string(r.remote_host) + " text=" + std::string(r.text);
}

// Every reply text the repository has: the real Postfix log's diagnostics
// and the provider reply collections under tests/data/replies.
std::vector<std::string> ReplyTexts() {
  const std::filesystem::path root = REBOUND_SOURCE_DIR;
  std::vector<std::string> out;
  std::ifstream log(root / "tests/logs/fixtures/postfix.log");
  std::string line;
  while (std::getline(log, line))
    if (size_t p = line.find("status="); p != std::string::npos)
      if (size_t open = line.find('(', p); open != std::string::npos)
        out.push_back(line.substr(open + 1, line.size() - open - 2));
  for (const auto& f : std::filesystem::directory_iterator(root / "tests/data/replies")) {
    std::ifstream in(f.path());
    while (std::getline(in, line)) {
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.contains("reply") && j["reply"].is_string()) out.push_back(j["reply"]);
    }
  }
  return out;
}

class VerdictMemoTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(BuildClassifier({}, &classifier_).ok()); }

  // Runs the texts through the memo `passes` times; every answer must equal
  // a fresh classification by another scratch, checked after the memo's
  // scratch has moved on to other texts (so nothing points into it).
  void ExpectSameAsFresh(const std::vector<std::string>& texts, VerdictMemo* memo, int passes) {
    auto memo_scratch = classifier_->NewScratch();
    auto fresh_scratch = classifier_->NewScratch();
    for (int pass = 0; pass < passes; ++pass) {
      for (const std::string& t : texts) {
        const uint64_t h = HashBytes(t);
        const VerdictMemo::Entry* e = memo->Find(t, h);
        if (!e) {
          const Verdict v = classifier_->Classify(std::string_view(t), memo_scratch.get());
          e = memo->Insert(t, h, v, Classifier::LastReply(memo_scratch.get()));
          if (!e) continue;  // not kept: the caller uses the fresh answer
        } else {
          ++hits_;
        }
        classifier_->Classify(std::string_view("421 4.7.0 something else entirely"), memo_scratch.get());
        const Verdict fresh = classifier_->Classify(std::string_view(t), fresh_scratch.get());
        const Reply& fresh_reply = Classifier::LastReply(fresh_scratch.get());
        ASSERT_EQ(Describe(e->verdict), Describe(fresh)) << t;
        ASSERT_EQ(Describe(e->reply), Describe(fresh_reply)) << t;
        ASSERT_EQ(e->key, t);
        ASSERT_NE(e->id, 0u);
      }
    }
  }

  std::unique_ptr<const Classifier> classifier_;
  uint64_t hits_ = 0;
};

TEST_F(VerdictMemoTest, AnswersExactlyAsAFreshClassification) {
  const auto texts = ReplyTexts();
  ASSERT_GT(texts.size(), 300u);
  VerdictMemo memo;
  ExpectSameAsFresh(texts, &memo, 3);
  EXPECT_GT(hits_, texts.size() / 2);  // the third pass hits
  EXPECT_EQ(memo.clears(), 0u);
}

TEST_F(VerdictMemoTest, SameAnswersWhenClearedOften) {
  const auto texts = ReplyTexts();
  VerdictMemo memo(7, 2000);
  ExpectSameAsFresh(texts, &memo, 3);
  EXPECT_GT(memo.clears(), 10u);
  EXPECT_LE(memo.size(), 7u);
  EXPECT_LE(memo.bytes(), 2000u);
}

TEST_F(VerdictMemoTest, KeepsAddressesApartAndStaysBounded) {
  // One reply per recipient, as Postfix logs "<bob@x>: ..." replies; and a
  // provider whose name only the address domain carries.
  std::vector<std::string> texts;
  for (int i = 0; i < 5000; ++i) {
    const std::string domain = i % 3 == 0 ? "gmail.com" : i % 3 == 1 ? "qq.com" : "example.net";
    texts.push_back("host mx." + domain + "[192.0.2.1] said: 550 5.1.1 <user" + std::to_string(i) + "@" + domain +
                    ">: Recipient address rejected: User unknown (in reply to RCPT TO command)");
  }
  VerdictMemo memo(1000, 64 << 10);
  ExpectSameAsFresh(texts, &memo, 2);
  EXPECT_LE(memo.size(), 1000u);
  EXPECT_LE(memo.bytes(), size_t(64) << 10);
  EXPECT_GT(memo.clears(), 0u);
}

TEST_F(VerdictMemoTest, FirstSightIsNotKept) {
  auto scratch = classifier_->NewScratch();
  VerdictMemo memo;
  const std::string t = "450 4.7.1 Greylisted, please try again later";
  const uint64_t h = HashBytes(t);
  const Verdict v = classifier_->Classify(std::string_view(t), scratch.get());
  EXPECT_EQ(memo.Insert(t, h, v, Classifier::LastReply(scratch.get())), nullptr);
  EXPECT_EQ(memo.Find(t, h), nullptr);
  const VerdictMemo::Entry* e = memo.Insert(t, h, v, Classifier::LastReply(scratch.get()));
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(memo.Find(t, h), e);
  EXPECT_EQ(memo.Insert(std::string(VerdictMemo::kMaxKeyBytes + 1, 'x'), 1, v, Classifier::LastReply(scratch.get())),
            nullptr);
}

// The Scanner, memo and all, gives every event of the real Postfix log (read
// three times over) the verdict a fresh classification of its input gives.
TEST_F(VerdictMemoTest, ScannerVerdictsEqualFreshOnesOverTheFixture) {
  std::ifstream in(std::filesystem::path(REBOUND_SOURCE_DIR) / "tests/logs/fixtures/postfix.log");
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_GT(lines.size(), 100u);
  ScanReport report(*classifier_);
  Scanner scanner(*classifier_, LogFormat::kPostfix, {CivilToEpoch(2026, 11, 28, 0, 0, 0)}, &report);
  auto scratch = classifier_->NewScratch();
  std::string buf;
  size_t checked = 0;
  scanner.set_sink([&](const DeliveryEvent& e, const Verdict& v) {
    const Verdict fresh = e.status == DeliveryStatus::kSent
                              ? classifier_->Classify(std::string_view("250 2.0.0 Ok"), scratch.get())
                              : classifier_->Classify(ClassifierInput(e, &buf), scratch.get());
    EXPECT_EQ(Describe(v), Describe(fresh)) << e.diagnostic;
    ++checked;
  });
  for (int pass = 0; pass < 3; ++pass)
    for (const auto& l : lines) scanner.Line(l);
  EXPECT_GT(checked, 100u);
  EXPECT_GT(scanner.memo().size(), 5u);
}

}  // namespace
}  // namespace rebound::logs

namespace rebound::logs {
namespace {

// The normalisation as first written (word by word with library searches),
// kept as the reference the single-pass version must equal.
std::string ReferenceNormalise(const Reply& r) {
  std::string out;
  if (r.code) out = std::to_string(r.code);
  char buf[12];
  if (r.status.present()) out.append(out.empty() ? "" : " ").append(r.status.Format(buf));
  if (!r.text.empty()) out.append(out.empty() ? "" : " ");
  std::string_view t = r.text;
  size_t i = 0;
  while (i < t.size() && out.size() < 200) {
    size_t sp = t.find(' ', i);
    if (sp == std::string_view::npos) sp = t.size();
    std::string_view word = t.substr(i, sp - i);
    if (word.find('@') != std::string_view::npos) {
      const size_t lead = word.find_first_not_of("<\"'(");
      const size_t trail = word.find_last_not_of(">\"'):;,.");
      for (char ch : word.substr(0, lead == std::string_view::npos ? 0 : lead))
        if (ch != '<') out.push_back(ch);
      out.append("<address>");
      if (trail != std::string_view::npos && trail + 1 < word.size())
        for (char ch : word.substr(trail + 1))
          if (ch != '>') out.push_back(ch);
    } else {
      out.append(word);
    }
    if (sp < t.size()) out.push_back(' ');
    i = sp + 1;
  }
  if (out.size() > 200) out.resize(200);
  return out;
}

TEST(NormaliseDiagnostic, EqualsTheReferenceOnRealAndOddReplies) {
  std::vector<std::string> texts = ReplyTexts();
  std::mt19937 rng(7);
  const std::string alphabet = "ab@<>\"'():;,. 5x";
  for (int i = 0; i < 20000; ++i) {
    std::string t = "550 5.1.1 ";
    const size_t len = rng() % 300;
    for (size_t k = 0; k < len; ++k) t.push_back(alphabet[rng() % alphabet.size()]);
    texts.push_back(t);
  }
  ReplyParser parser;
  std::string out;
  for (const auto& t : texts) {
    const Reply r = parser.Parse(t);
    NormaliseDiagnostic(r, &out);
    ASSERT_EQ(out, ReferenceNormalise(r)) << t;
  }
}

}  // namespace
}  // namespace rebound::logs
