// The hooks and the scrape over a real SQLite store.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <regex>
#include <set>
#include <string>

#include "metrics/metrics.h"
#include "metrics/scrape.h"
#include "store/sqlite_util.h"
#include "store/store.h"

namespace rebound::metrics {
namespace {

// The value of the sample line `series` (name and labels exactly as
// exposed), or -1 when it is absent.
double Sample(const std::string& text, const std::string& series) {
  size_t pos = 0;
  while ((pos = text.find(series + " ", pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') return std::stod(text.substr(pos + series.size() + 1));
    pos += series.size();
  }
  return -1;
}

class ScrapeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/rebound-metrics-XXXXXX";
    dir_ = mkdtemp(tmpl);
    relay::StoreOptions o;
    o.clock = [this] { return now_; };
    ASSERT_TRUE(relay::OpenSqliteStore(dir_ + "/queue.db", o, &store_).ok());
    ScrapeSources sources;
    sources.store = store_.get();
    sources.database_path = dir_ + "/queue.db";
    sources.clock = [this] { return now_; };
    ASSERT_TRUE(Scraper::Create(sources, &scraper_).ok());
  }
  void TearDown() override {
    scraper_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  int64_t Enqueue(const std::string& account, std::vector<std::string> rcpts) {
    relay::NewMessage m;
    m.account = account;
    m.mail_from = "a@example.com";
    m.recipients = std::move(rcpts);
    m.body = "Subject: x\r\n\r\nhi\r\n";
    relay::QuotaPeriods("UTC", now_, &m.day_period, &m.month_period);
    int64_t id = 0;
    EXPECT_TRUE(store_->Enqueue(m, &id).ok());
    return id;
  }

  std::string dir_;
  int64_t now_ = 1'800'000'000;
  std::unique_ptr<relay::Store> store_;
  std::unique_ptr<Scraper> scraper_;
};

TEST_F(ScrapeTest, QueueDepthOldestAgeAndQuotaComeFromTheStore) {
  relay::Account a;
  a.name = "alice";
  a.daily_quota = 100;
  a.monthly_quota = 1000;
  ASSERT_TRUE(store_->PutAccount(a).ok());
  std::string text = scraper_->Text();
  EXPECT_EQ(Sample(text, "rebound_queue_recipients{state=\"queued\"}"), 0);
  EXPECT_EQ(Sample(text, "rebound_queue_oldest_age_seconds"), 0);

  Enqueue("alice", {"x@one.test", "y@two.test"});
  now_ += 90;
  Enqueue("alice", {"z@one.test"});
  now_ += 10;
  text = scraper_->Text();
  EXPECT_EQ(Sample(text, "rebound_queue_recipients{state=\"queued\"}"), 3);
  EXPECT_EQ(Sample(text, "rebound_queue_recipients{state=\"delivered\"}"), 0);
  EXPECT_EQ(Sample(text, "rebound_queue_oldest_age_seconds"), 100);
  EXPECT_EQ(Sample(text, "rebound_account_quota_used{account=\"alice\",period=\"day\"}"), 3);
  EXPECT_EQ(Sample(text, "rebound_account_quota_limit{account=\"alice\",period=\"day\"}"), 100);
  EXPECT_EQ(Sample(text, "rebound_account_quota_limit{account=\"alice\",period=\"month\"}"), 1000);
  // No webhook outbox table yet: the backlog is 0, not an error.
  EXPECT_EQ(Sample(text, "rebound_webhook_backlog"), 0);
  EXPECT_EQ(Sample(text, "rebound_scrape_errors_total"), 0);

  // The first message delivered to both: the oldest waiting one is the second.
  relay::Message m;
  ASSERT_TRUE(store_->ReadMessage(1, &m).ok());
  for (const auto& r : m.info.recipients) {
    relay::AttemptRecord rec;
    rec.recipient_id = r.id;
    rec.new_state = relay::RecipientState::kDelivered;
    rec.time = now_;
    rec.decision = "delivered";
    ASSERT_TRUE(store_->RecordAttempt(rec).ok());
  }
  text = scraper_->Text();
  EXPECT_EQ(Sample(text, "rebound_queue_recipients{state=\"delivered\"}"), 2);
  EXPECT_EQ(Sample(text, "rebound_queue_oldest_age_seconds"), 10);
}

TEST_F(ScrapeTest, WebhookBacklogCountsTheOutboxWhenItExists) {
  sqlite3* db = nullptr;
  ASSERT_TRUE(relay::OpenSqliteConnection(dir_ + "/queue.db", &db).ok());
  ASSERT_TRUE(relay::SqliteExec(db, "CREATE TABLE webhook_outbox(id INTEGER PRIMARY KEY, state TEXT);"
                                    "INSERT INTO webhook_outbox(state) VALUES ('pending'), ('sent'), ('pending');")
                  .ok());
  sqlite3_close(db);
  EXPECT_EQ(Sample(scraper_->Text(), "rebound_webhook_backlog"), 2);
}

TEST(Hooks, CountByTransportCodeAndOutcome) {
  relay::StoreOptions o;
  char tmpl[] = "/tmp/rebound-metrics-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::unique_ptr<relay::Store> store;
  ASSERT_TRUE(relay::OpenSqliteStore(dir + "/queue.db", o, &store).ok());
  std::unique_ptr<Scraper> scraper;
  ASSERT_TRUE(Scraper::Create({store.get(), "", nullptr}, &scraper).ok());

  const std::string before = scraper->Text();
  const double accepted0 = Sample(before, "rebound_messages_accepted_total{transport=\"smtp\"}");
  EXPECT_GE(accepted0, 0);
  MessageAccepted("smtp");
  MessageAccepted("smtp");
  SubmissionRejected("smtp", "550 Mailbox not found");
  SubmissionRejected("smtp", "550 Mailbox not found");
  SubmissionRejected("smtp", "535 Error: authentication failed");
  SubmissionRejected("http", "garbage");
  SubmissionLatency("smtp", 0.003);
  SessionOpened("smtp");
  SessionOpened("smtp");
  SessionClosed("smtp");
  DeliveryOutcome("delivered", "delivered", "qq.com", "qq", 42);
  DeliveryOutcome("deferred", "greylisted", "qq.com", "qq", 42);
  const std::string text = scraper->Text();
  EXPECT_EQ(Sample(text, "rebound_messages_accepted_total{transport=\"smtp\"}"), accepted0 + 2);
  EXPECT_EQ(Sample(text, "rebound_submission_rejections_total{code=\"550\",transport=\"smtp\"}"), 2);
  EXPECT_EQ(Sample(text, "rebound_submission_rejections_total{code=\"535\",transport=\"smtp\"}"), 1);
  EXPECT_EQ(Sample(text, "rebound_submission_rejections_total{code=\"other\",transport=\"http\"}"), 1);
  EXPECT_EQ(Sample(text, "rebound_submission_duration_seconds_count{transport=\"smtp\"}"), 1);
  EXPECT_EQ(Sample(text, "rebound_submission_duration_seconds_bucket{transport=\"smtp\",le=\"0.005\"}"), 1);
  EXPECT_EQ(Sample(text, "rebound_submission_duration_seconds_bucket{transport=\"smtp\",le=\"0.0025\"}"), 0);
  EXPECT_EQ(Sample(text, "rebound_sessions{transport=\"smtp\"}"), 1);
  EXPECT_EQ(Sample(text, "rebound_delivery_outcomes_total{category=\"delivered\",domain=\"qq.com\",outcome=\"delivered\","
                         "provider=\"qq\"}"),
            1);
  // Only final outcomes are latencies.
  EXPECT_EQ(Sample(text, "rebound_delivery_duration_seconds_count{outcome=\"delivered\"}"), 1);
  EXPECT_EQ(Sample(text, "rebound_delivery_duration_seconds_count{outcome=\"deferred\"}"), -1);
  scraper.reset();
  store.reset();
  std::filesystem::remove_all(dir);
}

TEST(Hooks, DomainsBeyondTheLimitAreOther) {
  SetDomainLimit(3);
  // Earlier tests may have admitted qq.com; fill what is left.
  for (int i = 0; i < 10; ++i)
    DeliveryOutcome("bounced", "user_unknown", "d" + std::to_string(i) + ".test", "", 5);
  relay::StoreOptions o;
  char tmpl[] = "/tmp/rebound-metrics-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::unique_ptr<relay::Store> store;
  ASSERT_TRUE(relay::OpenSqliteStore(dir + "/queue.db", o, &store).ok());
  std::unique_ptr<Scraper> scraper;
  ASSERT_TRUE(Scraper::Create({store.get(), "", nullptr}, &scraper).ok());
  const std::string text = scraper->Text();
  std::regex domain_label("domain=\"([^\"]*)\"");
  std::set<std::string> domains;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), domain_label); it != std::sregex_iterator(); ++it)
    domains.insert((*it)[1]);
  EXPECT_EQ(domains.size(), 4u) << text;  // three domains and "other"
  EXPECT_TRUE(domains.count("other"));
  EXPECT_GE(Sample(text, "rebound_delivery_outcomes_total{category=\"user_unknown\",domain=\"other\",outcome=\"bounced\","
                         "provider=\"none\"}"),
            7);
  // Provider "none" for replies no provider rule claimed.
  EXPECT_EQ(text.find("provider=\"\""), std::string::npos);
  scraper.reset();
  store.reset();
  std::filesystem::remove_all(dir);
  SetDomainLimit(50);
}

TEST(Hooks, AThrottleSeriesLeavesWhenTheWindowCloses) {
  relay::StoreOptions o;
  char tmpl[] = "/tmp/rebound-metrics-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::unique_ptr<relay::Store> store;
  ASSERT_TRUE(relay::OpenSqliteStore(dir + "/queue.db", o, &store).ok());
  std::unique_ptr<Scraper> scraper;
  ASSERT_TRUE(Scraper::Create({store.get(), "", nullptr}, &scraper).ok());
  DestinationThrottle("mx.163.com", 120, 1'800'000'120);
  std::string text = scraper->Text();
  EXPECT_EQ(Sample(text, "rebound_destination_throttle_window_seconds{destination=\"mx.163.com\"}"), 120);
  EXPECT_EQ(Sample(text, "rebound_destination_blocked_until_seconds{destination=\"mx.163.com\"}"), 1'800'000'120);
  DestinationThrottle("mx.163.com", 0, 0);
  text = scraper->Text();
  EXPECT_EQ(Sample(text, "rebound_destination_throttle_window_seconds{destination=\"mx.163.com\"}"), -1);
  scraper.reset();
  store.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rebound::metrics
