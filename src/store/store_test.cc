// The SQLite store on a real database file in a temporary directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <thread>

#include <sqlite3.h>

#include "store/store.h"

namespace rebound::relay {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/rebound-store-XXXXXX";
    dir_ = mkdtemp(tmpl);
    Open();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    store_.reset();
    StoreOptions o;
    o.clock = [this] { return now_.load(); };
    ASSERT_TRUE(OpenSqliteStore(dir_ + "/queue.db", o, &store_).ok());
  }
  NewMessage Msg(std::vector<std::string> rcpts) {
    NewMessage m;
    m.account = "alice";
    m.mail_from = "alice@example.com";
    m.recipients = std::move(rcpts);
    m.body = "Subject: hi\r\n\r\nbody\r\n";
    m.client_ip = "127.0.0.1";
    m.helo = "client.test";
    return m;
  }

  std::string dir_;
  std::atomic<int64_t> now_{1'800'000'000};
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, EnqueuedMessageSurvivesReopen) {
  int64_t id = 0;
  ASSERT_TRUE(store_->Enqueue(Msg({"bob@Example.NET", "carol@example.org"}), &id).ok());
  EXPECT_GT(id, 0);
  Open();
  Message m;
  ASSERT_TRUE(store_->ReadMessage(id, &m).ok());
  EXPECT_EQ(m.info.account, "alice");
  EXPECT_EQ(m.info.mail_from, "alice@example.com");
  EXPECT_EQ(m.body, "Subject: hi\r\n\r\nbody\r\n");
  EXPECT_EQ(m.info.size, static_cast<int64_t>(m.body.size()));
  ASSERT_EQ(m.info.recipients.size(), 2u);
  EXPECT_EQ(m.info.recipients[0].address, "bob@Example.NET");
  EXPECT_EQ(m.info.recipients[0].domain, "example.net");
  EXPECT_EQ(m.info.recipients[0].state, RecipientState::kQueued);
  EXPECT_EQ(m.info.recipients[0].queued_at, now_.load());
  std::vector<Event> events;
  EventFilter f;
  f.message_id = id;
  ASSERT_TRUE(store_->ListEvents(f, &events).ok());
  EXPECT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].decision, "queued");
}

TEST_F(StoreTest, ReadMissingMessageIsNotFound) {
  Message m;
  EXPECT_EQ(store_->ReadMessage(42, &m).code(), Status::Code::kNotFound);
  EXPECT_EQ(store_->DeleteMessage(42).code(), Status::Code::kNotFound);
}

TEST_F(StoreTest, ClaimLeasesAndRecordAttemptMovesState) {
  int64_t id1 = 0, id2 = 0;
  ASSERT_TRUE(store_->Enqueue(Msg({"a@x.test", "b@y.test"}), &id1).ok());
  ASSERT_TRUE(store_->Enqueue(Msg({"c@x.test"}), &id2).ok());
  std::vector<RecipientRow> claimed, again;
  ASSERT_TRUE(store_->ClaimDue(now_, 10, 200, &claimed).ok());
  ASSERT_EQ(claimed.size(), 3u);
  EXPECT_EQ(claimed[0].message_id, id1);
  EXPECT_EQ(claimed[2].message_id, id2);
  // Leased: nobody else gets them until the lease ends.
  ASSERT_TRUE(store_->ClaimDue(now_, 10, 200, &again).ok());
  EXPECT_TRUE(again.empty());

  AttemptRecord a;
  a.recipient_id = claimed[0].id;
  a.new_state = RecipientState::kDeferred;
  a.next_attempt_at = now_ + 300;
  a.reply = "451 4.7.1 greylisted";
  a.category = "greylisted";
  a.decision = "retry";
  a.mx = "mx.x.test";
  ASSERT_TRUE(store_->RecordAttempt(a).ok());
  AttemptRecord d;
  d.recipient_id = claimed[1].id;
  d.new_state = RecipientState::kDelivered;
  d.reply = "250 ok";
  d.category = "delivered";
  d.decision = "delivered";
  ASSERT_TRUE(store_->RecordAttempt(d).ok());

  // The lease on the deferred one was cleared, but it is not due yet.
  now_ += 100;
  ASSERT_TRUE(store_->ClaimDue(now_, 10, 60, &again).ok());
  EXPECT_TRUE(again.empty());
  now_ += 300;  // past next_attempt_at and past the lease of claimed[2]
  ASSERT_TRUE(store_->ClaimDue(now_, 10, 60, &again).ok());
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].id, claimed[0].id);
  EXPECT_EQ(again[0].attempts, 1);
  EXPECT_EQ(again[0].state, RecipientState::kDeferred);
  EXPECT_EQ(again[0].last_reply, "451 4.7.1 greylisted");
  EXPECT_EQ(again[1].id, claimed[2].id);

  std::vector<Event> events;
  EventFilter f;
  f.category = "greylisted";
  ASSERT_TRUE(store_->ListEvents(f, &events).ok());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].mx, "mx.x.test");
  EXPECT_EQ(events[0].next_attempt_at, 1'800'000'300);
  std::vector<int64_t> counts;
  ASSERT_TRUE(store_->CountRecipients(&counts).ok());
  EXPECT_EQ(counts[static_cast<int>(RecipientState::kDelivered)], 1);
  EXPECT_EQ(counts[static_cast<int>(RecipientState::kDeferred)], 1);
  EXPECT_EQ(counts[static_cast<int>(RecipientState::kQueued)], 1);
}

TEST_F(StoreTest, QuotaIsEnforcedInsideTheCommit) {
  std::string day, month;
  QuotaPeriods("UTC", now_, &day, &month);
  NewMessage m = Msg({"a@x.test", "b@x.test"});
  m.day_period = day;
  m.month_period = month;
  m.daily_limit = 3;
  int64_t id = 0;
  ASSERT_TRUE(store_->Enqueue(m, &id).ok());
  int64_t used = 0;
  ASSERT_TRUE(store_->QuotaUsage("alice", day, &used).ok());
  EXPECT_EQ(used, 2);
  // 2 more would make 4 > 3: refused, nothing written.
  Status s = store_->Enqueue(m, &id);
  EXPECT_EQ(s.code(), Status::Code::kUnavailable);
  ASSERT_TRUE(store_->QuotaUsage("alice", day, &used).ok());
  EXPECT_EQ(used, 2);
  std::vector<MessageInfo> list;
  ASSERT_TRUE(store_->ListMessages({}, &list).ok());
  EXPECT_EQ(list.size(), 1u);
}

TEST_F(StoreTest, QuotaPeriodsFollowTheTimeZone) {
  // 2026-11-30 20:00 UTC is already December 1st in Shanghai (UTC+8).
  const int64_t t = 1796068800;
  std::string day, month;
  QuotaPeriods("UTC", t, &day, &month);
  EXPECT_EQ(day, "d:2026-11-30");
  EXPECT_EQ(month, "m:2026-11");
  if (!std::filesystem::exists("/usr/share/zoneinfo/Asia/Shanghai")) GTEST_SKIP() << "no tzdata installed";
  QuotaPeriods("Asia/Shanghai", t, &day, &month);
  EXPECT_EQ(day, "d:2026-12-01");
  EXPECT_EQ(month, "m:2026-12");
}

TEST_F(StoreTest, SuppressionsAreCaseInsensitivePerAccount) {
  Suppression s;
  s.account = "alice";
  s.address = "Bob@Example.com";
  s.reply = "550 5.1.1 user unknown";
  s.source = "bounce";
  ASSERT_TRUE(store_->AddSuppression(s).ok());
  bool sup = false;
  Suppression found;
  ASSERT_TRUE(store_->IsSuppressed("alice", "BOB@example.COM", &sup, &found).ok());
  EXPECT_TRUE(sup);
  EXPECT_EQ(found.reply, "550 5.1.1 user unknown");
  EXPECT_EQ(found.source, "bounce");
  ASSERT_TRUE(store_->IsSuppressed("mallory", "bob@example.com", &sup).ok());
  EXPECT_FALSE(sup);
  std::vector<Suppression> list;
  ASSERT_TRUE(store_->ListSuppressions("", &list).ok());
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].address, "bob@example.com");
  ASSERT_TRUE(store_->RemoveSuppression("alice", "bob@EXAMPLE.com").ok());
  EXPECT_EQ(store_->RemoveSuppression("alice", "bob@example.com").code(), Status::Code::kNotFound);
  ASSERT_TRUE(store_->IsSuppressed("alice", "bob@example.com", &sup).ok());
  EXPECT_FALSE(sup);
}

TEST_F(StoreTest, AccountsRoundTrip) {
  Account a;
  a.name = "alice";
  a.password_hash = "$argon2id$fake";
  a.daily_quota = 100;
  a.monthly_quota = 1000;
  a.timezone = "Asia/Shanghai";
  a.domains = {"Example.com", "example.org"};
  ASSERT_TRUE(store_->PutAccount(a).ok());
  Account b;
  ASSERT_TRUE(store_->GetAccount("alice", &b).ok());
  EXPECT_EQ(b.domains, (std::vector<std::string>{"example.com", "example.org"}));
  EXPECT_EQ(b.daily_quota, 100);
  EXPECT_TRUE(b.enabled);
  b.enabled = false;
  b.domains = {"example.com"};
  ASSERT_TRUE(store_->PutAccount(b).ok());
  Open();
  Account c;
  ASSERT_TRUE(store_->GetAccount("alice", &c).ok());
  EXPECT_FALSE(c.enabled);
  EXPECT_EQ(c.domains.size(), 1u);
  EXPECT_EQ(c.created_at, now_.load());
  EXPECT_EQ(store_->GetAccount("nobody", &c).code(), Status::Code::kNotFound);
}

TEST_F(StoreTest, ConcurrentEnqueuesAllCommitWithDistinctIds) {
  constexpr int kThreads = 8, kEach = 25;
  std::vector<std::thread> threads;
  std::vector<std::vector<int64_t>> ids(kThreads);
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        int64_t id = 0;
        if (!store_->Enqueue(Msg({"r" + std::to_string(i) + "@x.test"}), &id).ok()) ++failures;
        ids[t].push_back(id);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  std::set<int64_t> all;
  for (auto& v : ids) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kEach));
  Open();
  std::vector<MessageInfo> list;
  ASSERT_TRUE(store_->ListMessages({}, &list).ok());
  EXPECT_EQ(list.size(), static_cast<size_t>(kThreads * kEach));
}

TEST_F(StoreTest, DeleteRemovesMessageAndRecipients) {
  int64_t id = 0;
  ASSERT_TRUE(store_->Enqueue(Msg({"a@x.test"}), &id).ok());
  ASSERT_TRUE(store_->DeleteMessage(id).ok());
  std::vector<RecipientRow> claimed;
  ASSERT_TRUE(store_->ClaimDue(now_, 10, 60, &claimed).ok());
  EXPECT_TRUE(claimed.empty());
}

// The per-state counts a metrics scrape reads are kept by triggers: they
// follow every enqueue, attempt and delete, and a file written before they
// existed (schema version 2) gets them counted when it is opened.
TEST_F(StoreTest, RecipientCountsFollowEveryChangeAndAreBuiltForOlderFiles) {
  auto counts = [this] {
    std::vector<int64_t> c;
    EXPECT_TRUE(store_->CountRecipients(&c).ok());
    return c;
  };
  auto in = [](const std::vector<int64_t>& c, RecipientState s) { return c[static_cast<int>(s)]; };
  int64_t first = 0, second = 0;
  ASSERT_TRUE(store_->Enqueue(Msg({"a@x.test", "b@x.test", "c@x.test"}), &first).ok());
  ASSERT_TRUE(store_->Enqueue(Msg({"d@y.test"}), &second).ok());
  EXPECT_EQ(in(counts(), RecipientState::kQueued), 4);
  std::vector<RecipientRow> claimed;
  ASSERT_TRUE(store_->ClaimDue(now_, 10, 60, &claimed).ok());
  ASSERT_EQ(claimed.size(), 4u);
  AttemptRecord delivered;
  delivered.recipient_id = claimed[0].id;
  delivered.new_state = RecipientState::kDelivered;
  delivered.decision = "delivered";
  AttemptRecord deferred = delivered;
  deferred.recipient_id = claimed[1].id;
  deferred.new_state = RecipientState::kDeferred;
  deferred.next_attempt_at = now_ + 300;
  deferred.decision = "deferred";
  AttemptRecord deferred_again = deferred;  // the same state again: counted once
  ASSERT_TRUE(store_->RecordAttempts({delivered, deferred, deferred_again}).ok());
  std::vector<int64_t> c = counts();
  EXPECT_EQ(in(c, RecipientState::kDelivered), 1);
  EXPECT_EQ(in(c, RecipientState::kDeferred), 1);
  EXPECT_EQ(in(c, RecipientState::kQueued), 2);
  ASSERT_TRUE(store_->DeleteMessage(second).ok());
  c = counts();
  EXPECT_EQ(in(c, RecipientState::kQueued), 1);
  EXPECT_EQ(c[0] + c[1] + c[2] + c[3] + c[4] + c[5], 3);

  // Make it a version 2 file (no counts) and open it again.
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/queue.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP TRIGGER recipient_counts_insert; DROP TRIGGER recipient_counts_delete;"
                         "DROP TRIGGER recipient_counts_update; DROP TABLE recipient_counts;"
                         "UPDATE meta SET value = '2' WHERE key = 'schema_version';",
                         nullptr, nullptr, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
  Open();
  std::vector<int64_t> upgraded = counts();
  EXPECT_EQ(upgraded, c);
}

}  // namespace
}  // namespace rebound::relay
