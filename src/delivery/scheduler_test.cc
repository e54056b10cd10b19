// The delivery loop end to end: a real SQLite store (the relay's), the real
// classifier, the SMTP client against the aiosmtpd receiver and routes/DNS,
// with a clock the test moves. Asserts states, retry timing, suppressions,
// throttles, alerts and bounce notices.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include <sqlite3.h>

#include "delivery/service.h"
#include "delivery/service_impl.h"
#include "store/store.h"
#include "test_util.h"

namespace rebound::delivery {
namespace {

namespace fs = std::filesystem;
using testing::FreePort;
using testing::HaveAiosmtpd;
using testing::Received;
using testing::Subprocess;

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveAiosmtpd()) GTEST_SKIP() << "python3-aiosmtpd not installed (scripts/install-deps.sh --with-tests)";
    dir_ = fs::temp_directory_path() /
           ("rebound-scheduler-" + std::to_string(getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    port_ = testing::StartOnFreePort(
        &server_,
        [&](int port) {
          return std::vector<std::string>{"/usr/bin/python3",
                                          std::string(REBOUND_SOURCE_DIR) + "/tests/delivery/smtp_server.py",
                                          "--port", std::to_string(port), "--outdir", (dir_ / "out").string(),
                                          "--grey-seconds", "0.5"};
        },
        (dir_ / "server.log").string());
    ASSERT_NE(port_, 0) << "aiosmtpd did not start";
    relay::StoreOptions so;
    so.clock = [this] { return now_.load(); };
    so.synchronous_full = false;
    ASSERT_TRUE(relay::OpenSqliteStore((dir_ / "queue.db").string(), so, &store_).ok());
    ASSERT_TRUE(BuildClassifier({}, &classifier_).ok());

    opt_.helo_name = "relay.rebound.test";
    opt_.clock = [this] { return now_.load(); };
    const std::string target = "127.0.0.1:" + std::to_string(port_);
    opt_.dns.routes = {{"rcpt.test", target}, {"example.org", target}, {"rate.test", target}, {"rbl.test", target}};
    opt_.dns.servers = "127.0.0.1:" + std::to_string(FreePort(SOCK_DGRAM));  // nobody answers: 423
    opt_.dns.timeout_ms = 200;
    opt_.dns.tries = 1;
    opt_.connect_timeout = opt_.greeting_timeout = opt_.command_timeout = 5;
    opt_.data_init_timeout = opt_.data_block_timeout = opt_.data_end_timeout = 5;
    opt_.events_log = (dir_ / "events.jsonl").string();
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    server_.Stop();
    // REBOUND_KEEP_TEST_DIR=1 keeps the store and the events log to look at.
    if (!dir_.empty() && !HasFailure() && !getenv("REBOUND_KEEP_TEST_DIR")) fs::remove_all(dir_);
  }
  void MakeService() { ASSERT_TRUE(DeliveryService::Create(opt_, store_.get(), classifier_.get(), &service_).ok()); }
  int64_t Enqueue(std::string from, std::vector<std::string> rcpts, std::string subject = "hello") {
    relay::NewMessage m;
    m.account = "acct";
    m.mail_from = std::move(from);
    m.recipients = std::move(rcpts);
    m.body = "From: sender@example.org\r\nSubject: " + subject + "\r\nMessage-ID: <" + subject + "@example.org>\r\n\r\nHello.\r\n";
    int64_t id = 0;
    EXPECT_TRUE(store_->Enqueue(m, &id).ok());
    return id;
  }
  relay::RecipientRow Row(int64_t message_id, const std::string& address) {
    relay::MessageInfo info;
    EXPECT_TRUE(store_->GetMessageInfo(message_id, &info).ok());
    for (const auto& r : info.recipients)
      if (r.address == address) return r;
    ADD_FAILURE() << "no recipient " << address;
    return {};
  }
  int Pass() {
    boost::asio::io_context io;
    return service_->RunOnce(io);
  }
  std::vector<nlohmann::json> EventsLog() {
    std::vector<nlohmann::json> out;
    std::ifstream f(dir_ / "events.jsonl");
    std::string line;
    while (std::getline(f, line)) out.push_back(nlohmann::json::parse(line));
    return out;
  }

  std::atomic<int64_t> now_{1'800'000'000};
  fs::path dir_;
  int port_ = 0;
  Subprocess server_;
  std::unique_ptr<relay::Store> store_;
  std::unique_ptr<const Classifier> classifier_;
  DeliveryOptions opt_;
  std::unique_ptr<DeliveryService> service_;
};

TEST_F(SchedulerTest, EveryReplyGetsItsAction) {
  MakeService();
  const int64_t t0 = now_;
  int64_t id = Enqueue("sender@example.org", {"ok@rcpt.test", "unknown@rcpt.test", "full@rcpt.test", "grey@rcpt.test"});
  EXPECT_EQ(Pass(), 4);

  EXPECT_EQ(Row(id, "ok@rcpt.test").state, relay::RecipientState::kDelivered);
  auto unknown = Row(id, "unknown@rcpt.test");
  EXPECT_EQ(unknown.state, relay::RecipientState::kBounced);
  EXPECT_EQ(unknown.last_category, "recipient_not_found");
  auto full = Row(id, "full@rcpt.test");
  EXPECT_EQ(full.state, relay::RecipientState::kDeferred);
  EXPECT_EQ(full.last_category, "mailbox_full");
  // mailbox_full hints an hour; jitter keeps it within +-10 %.
  EXPECT_GE(full.next_attempt_at - t0, 3240);
  EXPECT_LE(full.next_attempt_at - t0, 3960);
  auto grey = Row(id, "grey@rcpt.test");
  EXPECT_EQ(grey.state, relay::RecipientState::kDeferred);
  EXPECT_EQ(grey.last_category, "greylisted");
  EXPECT_LE(grey.next_attempt_at - t0, 330);

  // Hard bounce: suppressed with the reply and the rule.
  bool suppressed = false;
  relay::Suppression found;
  ASSERT_TRUE(store_->IsSuppressed("acct", "unknown@rcpt.test", &suppressed, &found).ok());
  EXPECT_TRUE(suppressed);
  EXPECT_NE(found.reply.find("550 5.1.1"), std::string::npos);
  EXPECT_FALSE(found.rule.empty());
  EXPECT_EQ(found.source, "bounce");
  ASSERT_TRUE(store_->IsSuppressed("acct", "full@rcpt.test", &suppressed).ok());
  EXPECT_FALSE(suppressed);

  auto got = Received(dir_ / "out");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["rcpt_tos"], nlohmann::json::array({"ok@rcpt.test"}));

  // Nothing is due before the retry times.
  EXPECT_EQ(Pass(), 1);  // only the bounce notice (queued just now) is due
  got = Received(dir_ / "out");
  ASSERT_EQ(got.size(), 2u);
  const nlohmann::json& dsn = got[0]["mail_from"] == "" ? got[0] : got[1];
  EXPECT_EQ(dsn["mail_from"], "");
  EXPECT_EQ(dsn["rcpt_tos"], nlohmann::json::array({"sender@example.org"}));
  std::string body = dsn["data"];
  EXPECT_NE(body.find("multipart/report"), std::string::npos);
  EXPECT_NE(body.find("Final-Recipient: rfc822; unknown@rcpt.test"), std::string::npos);
  EXPECT_NE(body.find("Status: 5.1.1"), std::string::npos);
  EXPECT_EQ(body.find("full@rcpt.test>:"), std::string::npos);  // deferred: not in the notice

  // After the greylisting delay the retry goes through, and it did not count
  // as a failure.
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // the receiver's real-time greylist
  now_ = t0 + 400;
  EXPECT_EQ(Pass(), 1);
  EXPECT_EQ(Row(id, "grey@rcpt.test").state, relay::RecipientState::kDelivered);

  // A new message to the suppressed address is not attempted.
  int64_t id2 = Enqueue("sender@example.org", {"unknown@rcpt.test"}, "again");
  size_t before = Received(dir_ / "out").size();
  EXPECT_EQ(Pass(), 1);
  EXPECT_EQ(Row(id2, "unknown@rcpt.test").state, relay::RecipientState::kSuppressed);
  EXPECT_EQ(Received(dir_ / "out").size(), before);

  // mailbox_full keeps deferring; after three days it expires with a notice.
  now_ = full.next_attempt_at;
  EXPECT_EQ(Pass(), 1);
  auto full2 = Row(id, "full@rcpt.test");
  EXPECT_EQ(full2.state, relay::RecipientState::kDeferred);
  EXPECT_EQ(full2.attempts, 2);
  now_ = t0 + 3 * 86400 + 10;
  EXPECT_GE(Pass(), 1);
  EXPECT_EQ(Row(id, "full@rcpt.test").state, relay::RecipientState::kExpired);
  EXPECT_EQ(Pass(), 1);  // the expiry notice
  bool expiry_notice = false;
  for (const auto& m : Received(dir_ / "out")) {
    std::string d = m["data"];
    expiry_notice |= m["mail_from"] == "" && d.find("Final-Recipient: rfc822; full@rcpt.test") != std::string::npos &&
                     d.find("Status: 4.4.7") != std::string::npos;  // RFC 3463: delivery time expired
  }
  EXPECT_TRUE(expiry_notice);

  // The events: in the store and in the JSON Lines log, with decisions.
  std::vector<relay::Event> events;
  relay::EventFilter f;
  f.message_id = id;
  ASSERT_TRUE(store_->ListEvents(f, &events).ok());
  int delivered = 0, bounced = 0, deferred = 0, expired = 0;
  for (const auto& e : events) {
    delivered += e.decision == "delivered";
    bounced += e.decision == "bounced";
    deferred += e.decision == "deferred";
    expired += e.decision == "expired";
  }
  EXPECT_EQ(delivered, 2);
  EXPECT_EQ(bounced, 1);
  EXPECT_EQ(deferred, 3);
  EXPECT_EQ(expired, 1);
  auto log = EventsLog();
  EXPECT_GE(log.size(), 9u);
  EXPECT_EQ(log[0]["message_id"], id);
  EXPECT_TRUE(log[0].contains("category"));
  EXPECT_TRUE(log[0].contains("decision"));
  EXPECT_EQ(log[0]["mx"], "127.0.0.1");
}

TEST_F(SchedulerTest, NoNoticeForNullSenderAndNoticesCanBeTurnedOff) {
  MakeService();
  Enqueue("", {"unknown@rcpt.test"});
  Pass();
  EXPECT_EQ(service_->counters().bounced, 1);
  EXPECT_EQ(service_->counters().dsns, 0);
  EXPECT_EQ(Pass(), 0);  // nothing was queued

  opt_.bounce_notices = false;
  MakeService();
  Enqueue("sender@example.org", {"unknown2@rcpt.test", "unknown@rcpt.test"});
  Pass();
  EXPECT_EQ(service_->counters().dsns, 0);
  EXPECT_EQ(Pass(), 0);
}

TEST_F(SchedulerTest, RateLimitThrottlesTheDestination) {
  MakeService();
  const int64_t t0 = now_;
  int64_t a = Enqueue("sender@example.org", {"rate@rate.test"}, "m1");
  EXPECT_EQ(Pass(), 1);
  auto r = Row(a, "rate@rate.test");
  EXPECT_EQ(r.state, relay::RecipientState::kDeferred);
  EXPECT_EQ(r.last_category, "ip_rate_limited");
  // Never suppressed.
  bool suppressed = true;
  ASSERT_TRUE(store_->IsSuppressed("acct", "rate@rate.test", &suppressed).ok());
  EXPECT_FALSE(suppressed);

  // While the window lasts, nothing else goes to rate.test: later messages
  // are deferred, spread after the window, without a connection.
  std::vector<int64_t> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(Enqueue("sender@example.org", {"user" + std::to_string(i) + "@rate.test"}, "n" + std::to_string(i)));
  size_t received_before = Received(dir_ / "out").size();
  EXPECT_EQ(Pass(), 10);
  EXPECT_EQ(Received(dir_ / "out").size(), received_before);
  std::set<int64_t> times;
  for (size_t i = 0; i < ids.size(); ++i) {
    auto row = Row(ids[i], "user" + std::to_string(i) + "@rate.test");
    EXPECT_EQ(row.state, relay::RecipientState::kDeferred);
    EXPECT_GE(row.next_attempt_at, t0 + 60);  // after the throttle window
    times.insert(row.next_attempt_at);
  }
  EXPECT_GT(times.size(), 3u) << "deferred recipients should be spread, not all at one second";
  // Other destinations are not affected.
  int64_t other = Enqueue("sender@example.org", {"fine@rcpt.test"}, "other");
  EXPECT_EQ(Pass(), 1);
  EXPECT_EQ(Row(other, "fine@rcpt.test").state, relay::RecipientState::kDelivered);

  // After the window they go through.
  now_ = t0 + 200;
  EXPECT_EQ(Pass(), 10);
  for (size_t i = 0; i < ids.size(); ++i)
    EXPECT_EQ(Row(ids[i], "user" + std::to_string(i) + "@rate.test").state, relay::RecipientState::kDelivered);
}

// A recipient whose queue lifetime ends while its destination is held by the
// throttle expires (once, with a notice); it is not put back by a second on
// every pass, with an events row each time, until the throttle lets go.
TEST_F(SchedulerTest, PastItsLifetimeBehindTheThrottleExpires) {
  opt_.retry.max_queue_age = Seconds(30);  // the throttle's first window is 60 s
  MakeService();
  const int64_t t0 = now_;
  int64_t a = Enqueue("sender@example.org", {"rate@rate.test"}, "m1");
  EXPECT_EQ(Pass(), 1);  // 421 frequency limited: rate.test is throttled until t0 + 60
  auto r = Row(a, "rate@rate.test");
  ASSERT_EQ(r.state, relay::RecipientState::kDeferred);
  EXPECT_EQ(r.next_attempt_at, t0 + 30);  // the last attempt moved to the deadline

  // A second message while the throttle holds: deferred without a connection.
  now_ = t0 + 5;
  int64_t b = Enqueue("sender@example.org", {"user@rate.test"}, "m2");
  size_t received = Received(dir_ / "out").size();
  EXPECT_EQ(Pass(), 1);
  EXPECT_EQ(Received(dir_ / "out").size(), received);
  auto rb = Row(b, "user@rate.test");
  EXPECT_EQ(rb.state, relay::RecipientState::kDeferred);
  EXPECT_EQ(rb.next_attempt_at, t0 + 5 + 30);  // the window ends after its deadline

  // At the deadline the throttle still holds rate.test: both expire.
  for (int64_t t = t0 + 30; t <= t0 + 40; ++t) {
    now_ = t;
    Pass();
  }
  EXPECT_EQ(Row(a, "rate@rate.test").state, relay::RecipientState::kExpired);
  EXPECT_EQ(Row(b, "user@rate.test").state, relay::RecipientState::kExpired);
  EXPECT_EQ(Row(a, "rate@rate.test").failures, 1);  // the rate-limit reply; holds are not failures
  EXPECT_EQ(Row(b, "user@rate.test").failures, 0);
  int held_expiries = 0;
  for (const auto& e : EventsLog())
    held_expiries += e.value("rule", "") == "local.throttle" && e.value("decision", "") == "expired" &&
                     e.value("why", "") == "queue lifetime exceeded while the destination was held";
  EXPECT_EQ(held_expiries, 2);
  EXPECT_EQ(Received(dir_ / "out").size(), received + 2);  // nothing to rate.test; one expiry notice per message
  for (int64_t id : {a, b}) {
    std::vector<relay::Event> events;
    relay::EventFilter f;
    f.message_id = id;
    ASSERT_TRUE(store_->ListEvents(f, &events).ok());
    std::vector<std::string> decisions;
    for (const auto& e : events) decisions.push_back(e.decision);
    const std::vector<std::string> expect = {"queued", "deferred", "expired"};
    EXPECT_EQ(decisions, expect) << "message " << id;
    ASSERT_EQ(events.size(), 3u);
    if (id == b) {
      // The throttle's own rows: no connection, the category that throttled.
      for (size_t i = 1; i < 3; ++i) {
        EXPECT_EQ(events[i].rule, "local.throttle");
        EXPECT_EQ(events[i].category, "ip_rate_limited");
        EXPECT_EQ(events[i].mx, "");
        EXPECT_NE(events[i].reply.find("held by the throttle"), std::string::npos) << events[i].reply;
      }
    }
  }
}

TEST_F(SchedulerTest, BlocklistPausesAndAlerts) {
  MakeService();
  int64_t a = Enqueue("sender@example.org", {"rbl@rbl.test"}, "m1");
  EXPECT_EQ(Pass(), 1);
  auto r = Row(a, "rbl@rbl.test");
  EXPECT_EQ(r.state, relay::RecipientState::kBounced);
  EXPECT_EQ(r.last_category, "ip_blacklisted");
  bool suppressed = true;
  ASSERT_TRUE(store_->IsSuppressed("acct", "rbl@rbl.test", &suppressed).ok());
  EXPECT_FALSE(suppressed);
  bool alert = false;
  for (const auto& e : EventsLog()) alert |= e.contains("alert") && e["destination"] == "rbl.test";
  EXPECT_TRUE(alert);
  // Paused: the next message waits for the pause, without a connection.
  int64_t b = Enqueue("sender@example.org", {"someone@rbl.test"}, "m2");
  Pass();
  auto rb = Row(b, "someone@rbl.test");
  EXPECT_EQ(rb.state, relay::RecipientState::kDeferred);
  EXPECT_GE(rb.next_attempt_at, now_ + 3600);
}

TEST_F(SchedulerTest, SpamAndDropMidData) {
  MakeService();
  int64_t s = Enqueue("sender@example.org", {"spam@rcpt.test"}, "spam");
  int64_t d = Enqueue("sender@example.org", {"drop@rcpt.test"}, "drop");
  int64_t after = Enqueue("sender@example.org", {"after@rcpt.test"}, "after");
  EXPECT_EQ(Pass(), 3);
  auto rs = Row(s, "spam@rcpt.test");
  EXPECT_EQ(rs.state, relay::RecipientState::kBounced);
  EXPECT_EQ(rs.last_category, "spam");
  bool suppressed = true;
  ASSERT_TRUE(store_->IsSuppressed("acct", "spam@rcpt.test", &suppressed).ok());
  EXPECT_FALSE(suppressed);
  auto rd = Row(d, "drop@rcpt.test");
  EXPECT_EQ(rd.state, relay::RecipientState::kDeferred);  // connection lost: retry
  EXPECT_NE(rd.last_reply.find("421 4.4.2"), std::string::npos);
  // The message after the drop goes out on a new connection.
  EXPECT_EQ(Row(after, "after@rcpt.test").state, relay::RecipientState::kDelivered);
}

// The reply is classified as received, with the command from the session:
// words of the receiver that look like a wrapper do not lose its code.
TEST_F(SchedulerTest, ReceiverWordsThatLookLikeAWrapper) {
  MakeService();
  int64_t id = Enqueue("sender@example.org", {"said@rcpt.test"}, "said");
  EXPECT_EQ(Pass(), 1);
  auto r = Row(id, "said@rcpt.test");
  EXPECT_EQ(r.state, relay::RecipientState::kDeferred) << r.last_category;  // a 451, not a bounce
  EXPECT_NE(r.last_category, "unknown");
  EXPECT_EQ(r.failures, 1);
}

// A reply from the wire is read as sent, not through the wrappers of pasted
// text: words that look like a wrapper stay the receiver's words, and the
// status each joined line repeats is dropped.
TEST(WireReply, ReadsTheReplyAsSent) {
  std::string text;
  Reply r = WireReply("451 4.3.0 <a@b.test>: Temporarily deferred, the scanner said: busy", &text);
  EXPECT_EQ(r.code, 451);
  EXPECT_EQ(r.status.klass, 4);
  EXPECT_EQ(r.status.subject, 3);
  EXPECT_EQ(r.status.detail, 0);
  EXPECT_EQ(r.text, "<a@b.test>: Temporarily deferred, the scanner said: busy");
  EXPECT_EQ(r.command, SmtpCommand::kUnknown);
  EXPECT_TRUE(r.remote_host.empty());

  r = WireReply("550 5.1.1 Unknown user (in reply to RCPT TO command)", &text);
  EXPECT_EQ(r.text, "Unknown user (in reply to RCPT TO command)");
  EXPECT_EQ(r.command, SmtpCommand::kUnknown);

  // Lines joined by the client, and lines the receiver flattened itself.
  r = WireReply("550 5.1.1 The account does not exist. 5.1.1 Please try again", &text);
  EXPECT_EQ(r.text, "The account does not exist. Please try again");
  r = WireReply("450 4.2.1 The user is receiving 450-4.2.1 mail too fast", &text);
  EXPECT_EQ(r.text, "The user is receiving mail too fast");

  r = WireReply("554 no status\there", &text);
  EXPECT_EQ(r.code, 554);
  EXPECT_FALSE(r.status.present());
  EXPECT_EQ(r.text, "no status here");
}

TEST_F(SchedulerTest, RelayCodesForDnsAndConnectionFailures) {
  opt_.dns.routes["dead.test"] = "127.0.0.1:" + std::to_string(FreePort());
  MakeService();
  int64_t a = Enqueue("sender@example.org", {"x@unrouted.test"}, "dns");
  int64_t b = Enqueue("sender@example.org", {"y@dead.test"}, "dead");
  EXPECT_EQ(Pass(), 2);
  auto ra = Row(a, "x@unrouted.test");
  EXPECT_EQ(ra.state, relay::RecipientState::kDeferred);
  EXPECT_EQ(ra.last_category, "dns_failure");
  EXPECT_EQ(ra.last_reply.rfind("423 Dns resolve error", 0), 0u) << ra.last_reply;
  auto rb = Row(b, "y@dead.test");
  EXPECT_EQ(rb.state, relay::RecipientState::kDeferred);
  EXPECT_EQ(rb.last_category, "connection_failed");
  EXPECT_EQ(rb.last_reply.rfind("427 Socks Connect to UNREACHABLE host", 0), 0u) << rb.last_reply;
  // Backoff: 300 s doubling, floored by the category's hint (600 s for
  // connection_failed): about 600, 600, 1200, 2400, then the 3600 cap.
  std::vector<int64_t> delays = {rb.next_attempt_at - now_};
  for (int i = 0; i < 4; ++i) {
    now_ = Row(b, "y@dead.test").next_attempt_at;
    Pass();
    delays.push_back(Row(b, "y@dead.test").next_attempt_at - now_);
  }
  EXPECT_EQ(Row(b, "y@dead.test").attempts, 5);
  const int64_t expect[] = {600, 600, 1200, 2400, 3600};
  for (size_t i = 0; i < delays.size(); ++i) {
    EXPECT_GE(delays[i], expect[i] * 9 / 10) << i;  // jitter: +-10 %
    EXPECT_LE(delays[i], expect[i] * 11 / 10) << i;
  }
}

TEST_F(SchedulerTest, MailboxFullSuppressesOnlyAfterRepeatsOverDays) {
  opt_.retry.mailbox_full_suppress_after = 3;
  opt_.retry.mailbox_full_span = Seconds(2 * 86400);
  opt_.retry.max_queue_age = Seconds(10 * 86400);
  opt_.bounce_notices = false;
  MakeService();
  bool suppressed = true;
  int64_t a = Enqueue("sender@example.org", {"full@rcpt.test"}, "d0");
  Pass();
  EXPECT_EQ(Row(a, "full@rcpt.test").state, relay::RecipientState::kDeferred);
  now_ += 86400;
  int64_t b = Enqueue("sender@example.org", {"full@rcpt.test"}, "d1");
  Pass();  // a's retry and b: three mailbox_full replies, but within one day
  EXPECT_EQ(Row(a, "full@rcpt.test").attempts, 2);
  EXPECT_EQ(Row(b, "full@rcpt.test").state, relay::RecipientState::kDeferred);
  ASSERT_TRUE(store_->IsSuppressed("acct", "full@rcpt.test", &suppressed).ok());
  EXPECT_FALSE(suppressed);
  now_ += 86400 + 60;
  Enqueue("sender@example.org", {"full@rcpt.test"}, "d2");
  Pass();  // more than two days of mailbox_full: bounced and suppressed
  relay::Suppression found;
  ASSERT_TRUE(store_->IsSuppressed("acct", "full@rcpt.test", &suppressed, &found).ok());
  EXPECT_TRUE(suppressed);
  EXPECT_NE(found.reply.find("452 4.2.2"), std::string::npos);
  EXPECT_EQ(Row(a, "full@rcpt.test").state, relay::RecipientState::kBounced);
}

// The failures the backoff counts are stored with each attempt
// (recipients.failures, schema version 2); a version 1 file gets the column,
// filled from its events the way they used to be counted.
TEST(StoreFailures, CountedWithTheAttemptAndMigratedFromVersionOne) {
  const fs::path dir = fs::temp_directory_path() / ("rebound-store-failures-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "queue.db").string();
  relay::StoreOptions so;
  so.clock = [] { return int64_t{1'800'000'000}; };
  so.synchronous_full = false;
  int64_t id = 0;
  std::vector<int64_t> rcpt;
  {
    std::unique_ptr<relay::Store> store;
    ASSERT_TRUE(relay::OpenSqliteStore(path, so, &store).ok());
    relay::NewMessage m;
    m.account = "acct";
    m.mail_from = "s@example.org";
    m.recipients = {"a@x.test", "b@x.test"};
    m.body = "Subject: x\r\n\r\nx\r\n";
    ASSERT_TRUE(store->Enqueue(m, &id).ok());
    relay::MessageInfo info;
    ASSERT_TRUE(store->GetMessageInfo(id, &info).ok());
    for (const auto& r : info.recipients) rcpt.push_back(r.id);
    // a: a counted failure, greylisting, a throttle hold, a counted failure.
    auto attempt = [&](int64_t who, const char* category, const char* rule, bool counts) {
      relay::AttemptRecord a;
      a.recipient_id = who;
      a.new_state = relay::RecipientState::kDeferred;
      a.next_attempt_at = 1'800'000'100;
      a.category = category;
      a.rule = rule;
      a.decision = "deferred";
      a.counts_as_failure = counts;
      return a;
    };
    ASSERT_TRUE(store->RecordAttempts({attempt(rcpt[0], "ip_rate_limited", "facet.rate", true),
                                       attempt(rcpt[0], "greylisted", "postgrey.greylisted", false),
                                       attempt(rcpt[0], "ip_rate_limited", "local.throttle", false),
                                       attempt(rcpt[0], "dns_failure", "seed.dns-resolve-error", true),
                                       attempt(rcpt[1], "greylisted", "postgrey.greylisted", false)})
                    .ok());
    ASSERT_TRUE(store->GetMessageInfo(id, &info).ok());
    EXPECT_EQ(info.recipients[0].attempts, 4);
    EXPECT_EQ(info.recipients[0].failures, 2);
    EXPECT_EQ(info.recipients[1].failures, 0);
  }
  // Make it a version 1 file: no failures column, no recipient counts.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "ALTER TABLE recipients DROP COLUMN failures;"
                           "DROP TRIGGER recipient_counts_insert; DROP TRIGGER recipient_counts_delete;"
                           "DROP TRIGGER recipient_counts_update; DROP TABLE recipient_counts;"
                           "UPDATE meta SET value = '1' WHERE key = 'schema_version';",
                           nullptr, nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  for (int open = 0; open < 2; ++open) {  // the second open finds it current
    std::unique_ptr<relay::Store> store;
    ASSERT_TRUE(relay::OpenSqliteStore(path, so, &store).ok());
    relay::MessageInfo info;
    ASSERT_TRUE(store->GetMessageInfo(id, &info).ok());
    EXPECT_EQ(info.recipients[0].failures, 2 + open);
    EXPECT_EQ(info.recipients[1].failures, 0);
    relay::AttemptRecord a;
    a.recipient_id = rcpt[0];
    a.new_state = relay::RecipientState::kDeferred;
    a.decision = "deferred";
    a.counts_as_failure = true;
    ASSERT_TRUE(store->RecordAttempt(a).ok());
  }
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* q = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &q, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(q, 0)), "3");
    sqlite3_finalize(q);
    sqlite3_close(db);
  }
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}


// The parts of `serve` change a message on its way out: body filters run in
// the order added on the bytes sent (the queued copy stays as it was), a
// failing filter defers with the local "cannot prepare" reply, and a return
// path sends each recipient in its own transaction with its own MAIL FROM.
TEST_F(SchedulerTest, BodyFiltersAndReturnPath) {
  MakeService();
  service_->AddBodyFilter([](const relay::MessageInfo&, std::string* body) {
    body->insert(0, "X-First: 1\r\n");
    return Status::Ok();
  });
  service_->AddBodyFilter([](const relay::MessageInfo& info, std::string* body) {
    body->insert(0, "X-Second: " + std::to_string(info.id) + "\r\n");
    return Status::Ok();
  });
  service_->SetReturnPath([](const relay::MessageInfo& info, const relay::RecipientRow& r) {
    return "b+" + std::to_string(info.id) + "-" + std::to_string(r.id) + "@bounce.example.org";
  });
  int64_t id = Enqueue("sender@example.org", {"ok@rcpt.test", "ok2@rcpt.test"});
  EXPECT_EQ(Pass(), 2);
  auto got = Received(dir_ / "out");
  ASSERT_EQ(got.size(), 2u);
  for (const auto& m : got) {
    ASSERT_EQ(m["rcpt_tos"].size(), 1u);
    const std::string rcpt = m["rcpt_tos"][0];
    EXPECT_EQ(m["mail_from"], "b+" + std::to_string(id) + "-" + std::to_string(Row(id, rcpt).id) + "@bounce.example.org");
    const std::string data = m["data"];
    EXPECT_EQ(data.rfind("X-Second: " + std::to_string(id) + "\r\nX-First: 1\r\nFrom: sender@example.org", 0), 0u) << data;
  }
  relay::Message stored;
  ASSERT_TRUE(store_->ReadMessage(id, &stored).ok());
  EXPECT_EQ(stored.body.rfind("From: ", 0), 0u);
}

TEST_F(SchedulerTest, AFailingBodyFilterDefers) {
  MakeService();
  service_->AddBodyFilter([](const relay::MessageInfo&, std::string*) { return Status::IoError("no signing key"); });
  int64_t id = Enqueue("sender@example.org", {"ok@rcpt.test"});
  EXPECT_EQ(Pass(), 1);
  EXPECT_TRUE(Received(dir_ / "out").empty());
  auto row = Row(id, "ok@rcpt.test");
  EXPECT_EQ(row.state, relay::RecipientState::kDeferred);
  EXPECT_NE(row.last_reply.find("cannot prepare the message: no signing key"), std::string::npos) << row.last_reply;
}

}  // namespace
}  // namespace rebound::delivery
