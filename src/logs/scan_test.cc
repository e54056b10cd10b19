#include <gtest/gtest.h>

#include "core/civil_time.h"
#include "logs/scan.h"

namespace rebound::logs {
namespace {

class ScanTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(BuildClassifier({}, &classifier_).ok()); }

  nlohmann::json Scan(const std::vector<std::string>& lines) {
    report_ = std::make_unique<ScanReport>(*classifier_);
    Scanner s(*classifier_, LogFormat::kPostfix, {CivilToEpoch(2026, 11, 28, 0, 0, 0)}, report_.get());
    s.set_sink([&](const DeliveryEvent& e, const Verdict& v) { verdicts_.emplace_back(std::string(e.recipient), v); });
    for (const auto& l : lines) s.Line(l);
    report_->AddInputStats("test", LogFormat::kPostfix, s.reader().stats(), 0);
    return report_->ToJson();
  }

  static std::string Bounce(int minute, const std::string& rcpt, const std::string& status, const std::string& dsn,
                            const std::string& reply) {
    char t[32];
    snprintf(t, sizeof t, "%02d:%02d:00", 10 + minute / 60, minute % 60);
    const std::string domain = rcpt.substr(rcpt.find('@') + 1);
    return std::string("Nov 27 ") + t + " mx postfix/smtp[9]: 4QID" + std::to_string(10000 + minute) + ": to=<" + rcpt +
           ">, relay=mx." + domain + "[192.0.2.80]:25, delay=1, delays=0/0/0.5/0.5, dsn=" + dsn + ", status=" + status +
           " (host mx." + domain + "[192.0.2.80] said: " + reply + " (in reply to RCPT TO command))";
  }

  std::unique_ptr<const Classifier> classifier_;
  std::unique_ptr<ScanReport> report_;
  std::vector<std::pair<std::string, Verdict>> verdicts_;
};

TEST_F(ScanTest, ReportCountsCategoriesAndRecommendsActions) {
  std::vector<std::string> lines;
  for (int i = 0; i < 5; ++i)
    lines.push_back(Bounce(i, "user" + std::to_string(i) + "@example.com", "bounced", "5.1.1",
                           "550 5.1.1 <user" + std::to_string(i) + "@example.com>: Recipient address rejected: User unknown"));
  for (int i = 0; i < 3; ++i)
    lines.push_back(Bounce(10 + i, "x" + std::to_string(i) + (i == 2 ? "@example.net" : "@example.org"), "bounced", "5.7.1",
                           "554 5.7.1 Service unavailable; Client host [198.51.100.10] blocked using zen.spamhaus.org"));
  for (int i = 0; i < 4; ++i) lines.push_back(Bounce(20 + i, "y@example.org", "deferred", "4.7.1", "450 4.7.1 Greylisted, please try again later"));
  lines.push_back(Bounce(30, "ok@example.com", "sent", "2.0.0", "250 2.0.0 Ok"));
  lines.push_back("garbage line");
  const auto r = Scan(lines);

  EXPECT_EQ(r["totals"]["attempts"], 13);
  EXPECT_EQ(r["totals"]["bounced"], 8);
  EXPECT_EQ(r["totals"]["deferred"], 4);
  EXPECT_EQ(r["totals"]["sent"], 1);
  EXPECT_NEAR(r["totals"]["bounce_rate"].get<double>(), 8.0 / 9.0, 1e-9);
  EXPECT_EQ(r["inputs"][0]["garbled"], 1);

  std::map<std::string, int> cats;
  for (const auto& c : r["categories"]) cats[c["category"]] = c["attempts"];
  EXPECT_EQ(cats["recipient_not_found"], 5);
  EXPECT_EQ(cats["ip_blacklisted"], 3);
  EXPECT_EQ(cats["greylisted"], 4);
  // Addresses are blanked in the top diagnostics: five replies, one line.
  for (const auto& c : r["categories"])
    if (c["category"] == "recipient_not_found") {
      ASSERT_EQ(c["top_diagnostics"].size(), 1u);
      EXPECT_EQ(c["top_diagnostics"][0]["count"], 5);
      EXPECT_NE(c["top_diagnostics"][0]["text"].get<std::string>().find("<address>"), std::string::npos);
    }

  bool saw_listing = false, saw_suppress = false;
  for (const auto& a : r["actions"]) {
    const std::string title = a["title"];
    if (title.find("198.51.100.10 is listed by Spamhaus at 2 receivers since 2026-11-27 10:10") != std::string::npos) saw_listing = true;
    if (title == "suppress these 5 addresses (hard bounces)") saw_suppress = true;
  }
  EXPECT_TRUE(saw_listing) << r["actions"].dump(2);
  EXPECT_TRUE(saw_suppress) << r["actions"].dump(2);
  EXPECT_EQ(r["actions"][0]["severity"], "critical");
  EXPECT_EQ(report_->SuppressList().size(), 5u);
  EXPECT_EQ(report_->SuppressList()[0], "user0@example.com");

  const std::string text = RenderReportText(r, false);
  EXPECT_NE(text.find("Recommended actions"), std::string::npos);
  EXPECT_NE(text.find("recipient_not_found"), std::string::npos);
  const std::string html = RenderReportHtml(r);
  EXPECT_NE(html.find("<svg id=\"chart-timeline\""), std::string::npos);
  EXPECT_NE(html.find("<svg id=\"chart-categories\""), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
}

TEST_F(ScanTest, RateLimitsInTheLastHour) {
  std::vector<std::string> lines;
  for (int i = 0; i < 90; ++i) lines.push_back(Bounce(i, "u@qq.com", "deferred", "4.7.0", "421 4.7.0 Ip frequency limited"));
  const auto r = Scan(lines);
  bool found = false;
  for (const auto& a : r["actions"])
    if (a["title"].get<std::string>().find("qq.com answered 61 rate-limit replies in the last hour") != std::string::npos) found = true;
  EXPECT_TRUE(found) << r["actions"].dump(2);
  EXPECT_EQ(verdicts_.size(), 90u);
  EXPECT_TRUE(IsRateLimitCategory(verdicts_[0].second.category)) << CategoryName(verdicts_[0].second.category);
}

TEST_F(ScanTest, SentIsDeliveredWithoutClassifyingEachLine) {
  const auto r = Scan({Bounce(0, "a@b.example", "sent", "2.0.0", "250 ok")});
  ASSERT_EQ(verdicts_.size(), 1u);
  EXPECT_EQ(verdicts_[0].second.category, Category::delivered);
  EXPECT_TRUE(r["actions"].empty());
}

}  // namespace
}  // namespace rebound::logs
