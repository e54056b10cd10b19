// The SQLite implementation of relay::Store (format: docs/queue-format.md);
// what every backend shares is in store.cc.
//
// One connection, guarded by a mutex. Enqueue() uses group commit in the
// manner of LevelDB's writer queue: callers line up, the one at the front
// commits everybody waiting in one transaction (one fsync), then wakes them.
#include <sqlite3.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <unordered_map>

#include "core/text.h"
#include "store/sqlite_util.h"
#include "store/store.h"

namespace rebound::relay {
namespace {

#define kRecipientColumns \
  "id, message_id, address, domain, state, attempts, next_attempt_at, lease_until, queued_at, updated_at, " \
  "last_reply, last_category, failures"

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', '3');
CREATE TABLE IF NOT EXISTS messages(
  id INTEGER PRIMARY KEY,
  account TEXT NOT NULL,
  mail_from TEXT NOT NULL,
  size INTEGER NOT NULL,
  client_ip TEXT NOT NULL DEFAULT '',
  helo TEXT NOT NULL DEFAULT '',
  queued_at INTEGER NOT NULL,
  body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS recipients(
  id INTEGER PRIMARY KEY,
  message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  address TEXT NOT NULL,
  domain TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  lease_until INTEGER NOT NULL DEFAULT 0,
  queued_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  last_reply TEXT NOT NULL DEFAULT '',
  last_category TEXT NOT NULL DEFAULT '',
  failures INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS recipients_due ON recipients(next_attempt_at) WHERE state IN ('queued', 'deferred');
CREATE INDEX IF NOT EXISTS recipients_message ON recipients(message_id);
-- Recipients per state, kept by triggers so a metrics scrape reads six rows
-- instead of counting the whole queue under the store's lock.
CREATE TABLE IF NOT EXISTS recipient_counts(state TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS recipient_counts_insert AFTER INSERT ON recipients BEGIN
  INSERT INTO recipient_counts(state, n) VALUES(NEW.state, 1) ON CONFLICT(state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS recipient_counts_delete AFTER DELETE ON recipients BEGIN
  UPDATE recipient_counts SET n = n - 1 WHERE state = OLD.state;
END;
CREATE TRIGGER IF NOT EXISTS recipient_counts_update AFTER UPDATE OF state ON recipients
WHEN OLD.state IS NOT NEW.state BEGIN
  UPDATE recipient_counts SET n = n - 1 WHERE state = OLD.state;
  INSERT INTO recipient_counts(state, n) VALUES(NEW.state, 1) ON CONFLICT(state) DO UPDATE SET n = n + 1;
END;
CREATE TABLE IF NOT EXISTS events(
  id INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  message_id INTEGER NOT NULL,
  recipient TEXT NOT NULL,
  state TEXT NOT NULL,
  mx TEXT NOT NULL DEFAULT '',
  ip TEXT NOT NULL DEFAULT '',
  reply TEXT NOT NULL DEFAULT '',
  category TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  permanent INTEGER NOT NULL DEFAULT 0,
  hard_bounce INTEGER NOT NULL DEFAULT 0,
  rule TEXT NOT NULL DEFAULT '',
  decision TEXT NOT NULL,
  next_attempt_at INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS events_time ON events(time);
CREATE INDEX IF NOT EXISTS events_message ON events(message_id);
CREATE INDEX IF NOT EXISTS events_recipient ON events(recipient COLLATE NOCASE);
CREATE TABLE IF NOT EXISTS suppressions(
  account TEXT NOT NULL,
  address TEXT NOT NULL,
  reply TEXT NOT NULL DEFAULT '',
  rule TEXT NOT NULL DEFAULT '',
  source TEXT NOT NULL DEFAULT 'manual',
  time INTEGER NOT NULL,
  PRIMARY KEY(account, address)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS accounts(
  name TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  enabled INTEGER NOT NULL DEFAULT 1,
  daily_quota INTEGER NOT NULL DEFAULT 0,
  monthly_quota INTEGER NOT NULL DEFAULT 0,
  timezone TEXT NOT NULL DEFAULT 'UTC',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS account_domains(
  account TEXT NOT NULL,
  domain TEXT NOT NULL,
  PRIMARY KEY(account, domain)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS quota_usage(
  account TEXT NOT NULL,
  period TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY(account, period)) WITHOUT ROWID;
)sql";

// Version 1 -> 2: recipients.failures, the temporary failures the backoff
// counts. Until then they were counted from the events rows by their strings;
// the same count fills the new column.
const char* kMigrateTo2 = R"sql(
ALTER TABLE recipients ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
UPDATE recipients SET failures = (
  SELECT count(*) FROM events e
  WHERE e.message_id = recipients.message_id AND e.recipient = recipients.address COLLATE NOCASE
    AND e.decision = 'deferred' AND e.category <> 'greylisted' AND e.rule <> 'local.throttle');
UPDATE meta SET value = '2' WHERE key = 'schema_version';
)sql";

// Version 2 -> 3: recipient_counts (created empty by kSchema, its triggers
// counting from then on) starts from a count of the queue as it is.
const char* kMigrateTo3 = R"sql(
DELETE FROM recipient_counts;
INSERT INTO recipient_counts(state, n) SELECT state, count(*) FROM recipients GROUP BY state;
UPDATE meta SET value = '3' WHERE key = 'schema_version';
)sql";

class SqliteStore final : public Store {
 public:
  SqliteStore(sqlite3* db, Clock clock) : db_(db), clock_(std::move(clock)) {}
  ~SqliteStore() override {
    for (auto& [sql, stmt] : stmts_) sqlite3_finalize(stmt);
    sqlite3_close(db_);
  }

  Status Init(bool synchronous_full) {
    sqlite3_busy_timeout(db_, 10000);
    Status s = Exec("PRAGMA journal_mode=WAL;");
    if (s.ok()) s = Exec(synchronous_full ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=OFF;");
    if (s.ok()) s = Exec("PRAGMA foreign_keys=ON;");
    if (s.ok()) s = Exec(kSchema);
    if (s.ok()) s = Migrate();
    return s;
  }

  // Brings a file written by an older Rebound to the current schema, in one
  // transaction; two processes opening it at once migrate it once.
  Status Migrate() {
    auto outdated = [this] {
      const std::string v = SchemaVersion();
      return v == "1" || v == "2";
    };
    if (!outdated()) return Status::Ok();  // current (or newer): no write lock taken
    Status s = Exec("BEGIN IMMEDIATE");
    if (!s.ok()) return s;
    // Another process may have migrated it meanwhile: read the version again.
    if (SchemaVersion() == "1") s = Exec(kMigrateTo2);
    if (s.ok() && SchemaVersion() == "2") s = Exec(kMigrateTo3);
    if (!s.ok()) return Rollback(s);
    return Exec("COMMIT");
  }

  std::string SchemaVersion() {
    Stmt q(Prep("SELECT value FROM meta WHERE key = 'schema_version'"));
    return q.Step() == SQLITE_ROW ? q.Text(0) : std::string();
  }

  Status Enqueue(const NewMessage& m, int64_t* message_id) override {
    Writer w;
    w.message = &m;
    w.id = message_id;
    std::unique_lock<std::mutex> lock(writers_mu_);
    writers_.push_back(&w);
    while (!w.done && &w != writers_.front()) w.cv.wait(lock);
    if (w.done) return w.status;
    // This caller leads: commit everyone queued so far.
    size_t n = std::min<size_t>(writers_.size(), 256);
    std::vector<Writer*> batch(writers_.begin(), writers_.begin() + n);
    lock.unlock();
    CommitBatch(batch);
    lock.lock();
    for (size_t i = 0; i < n; ++i) {
      Writer* done = writers_.front();
      writers_.pop_front();
      if (done != &w) {
        done->done = true;
        done->cv.notify_one();
      }
    }
    if (!writers_.empty()) writers_.front()->cv.notify_one();
    return w.status;
  }

  Status ClaimDue(int64_t now, int limit, int lease_seconds, std::vector<RecipientRow>* out) override {
    out->clear();
    std::lock_guard<std::mutex> lock(db_mu_);
    Status s = Exec("BEGIN IMMEDIATE");
    if (!s.ok()) return s;
    {
      Stmt q(Prep("SELECT " kRecipientColumns " FROM recipients WHERE state IN ('queued','deferred') "
                  "AND next_attempt_at <= ?1 AND lease_until <= ?1 ORDER BY message_id, domain, id LIMIT ?2"));
      q.Bind(1, now).Bind(2, static_cast<int64_t>(limit > 0 ? limit : -1));
      int rc;
      while ((rc = q.Step()) == SQLITE_ROW) out->push_back(ReadRecipient(q));
      if (rc != SQLITE_DONE) return Rollback(Error("claim"));
    }
    for (auto& r : *out) {
      r.lease_until = now + lease_seconds;
      Stmt u(Prep("UPDATE recipients SET lease_until = ?1 WHERE id = ?2"));
      u.Bind(1, r.lease_until).Bind(2, r.id);
      if (u.Step() != SQLITE_DONE) return Rollback(Error("claim"));
    }
    return Exec("COMMIT");
  }

  Status ReadMessage(int64_t message_id, Message* out) override {
    std::lock_guard<std::mutex> lock(db_mu_);
    Status s = ReadInfoLocked(message_id, &out->info);
    if (!s.ok()) return s;
    Stmt q(Prep("SELECT body FROM messages WHERE id = ?1"));
    q.Bind(1, message_id);
    if (q.Step() != SQLITE_ROW) return Status::NotFound("message " + std::to_string(message_id) + " not found");
    out->body = q.Blob(0);
    return Status::Ok();
  }

  Status RecordAttempt(const AttemptRecord& a) override { return RecordAttempts({a}); }

  Status RecordAttempts(const std::vector<AttemptRecord>& attempts) override {
    std::lock_guard<std::mutex> lock(db_mu_);
    Status s = Exec("BEGIN IMMEDIATE");
    if (!s.ok()) return s;
    for (const auto& a : attempts) {
      const int64_t t = a.time ? a.time : clock_();
      const int64_t next = IsFinal(a.new_state) ? 0 : a.next_attempt_at;
      int64_t message_id = 0;
      std::string address;
      {
        Stmt q(Prep("SELECT message_id, address FROM recipients WHERE id = ?1"));
        q.Bind(1, a.recipient_id);
        if (q.Step() != SQLITE_ROW)
          return Rollback(Status::NotFound("recipient " + std::to_string(a.recipient_id) + " not found"));
        message_id = q.Int(0);
        address = q.Text(1);
      }
      {
        Stmt u(Prep("UPDATE recipients SET state = ?1, attempts = attempts + 1, failures = failures + ?7, "
                    "next_attempt_at = ?2, lease_until = 0, updated_at = ?3, last_reply = ?4, last_category = ?5 "
                    "WHERE id = ?6"));
        u.Bind(1, RecipientStateName(a.new_state)).Bind(2, next).Bind(3, t).Bind(4, a.reply).Bind(5, a.category);
        u.Bind(6, a.recipient_id).Bind(7, int64_t{a.counts_as_failure});
        if (u.Step() != SQLITE_DONE) return Rollback(Error("record attempt"));
      }
      Event e;
      e.time = t;
      e.message_id = message_id;
      e.recipient = address;
      e.state = RecipientStateName(a.new_state);
      e.mx = a.mx;
      e.ip = a.ip;
      e.reply = a.reply;
      e.category = a.category;
      e.reason = a.reason;
      e.rule = a.rule;
      e.permanent = a.permanent;
      e.hard_bounce = a.hard_bounce;
      e.decision = a.decision;
      e.next_attempt_at = next;
      s = InsertEvent(e);
      if (!s.ok()) return Rollback(s);
    }
    return Exec("COMMIT");
  }

  Status ListMessages(const QueueFilter& f, std::vector<MessageInfo>* out) override {
    out->clear();
    std::lock_guard<std::mutex> lock(db_mu_);
    std::vector<int64_t> ids;
    {
      Stmt q(Prep("SELECT m.id FROM messages m WHERE (?1 = '' OR m.account = ?1) AND (?2 = '' OR EXISTS "
                  "(SELECT 1 FROM recipients r WHERE r.message_id = m.id AND r.state = ?2)) ORDER BY m.id LIMIT ?3"));
      q.Bind(1, f.account).Bind(2, f.state ? RecipientStateName(*f.state) : std::string_view());
      q.Bind(3, static_cast<int64_t>(f.limit > 0 ? f.limit : -1));
      int rc;
      while ((rc = q.Step()) == SQLITE_ROW) ids.push_back(q.Int(0));
      if (rc != SQLITE_DONE) return Error("list messages");
    }
    for (int64_t id : ids) {
      MessageInfo info;
      Status s = ReadInfoLocked(id, &info);
      if (!s.ok()) return s;
      out->push_back(std::move(info));
    }
    return Status::Ok();
  }

  Status GetMessageInfo(int64_t message_id, MessageInfo* out) override {
    std::lock_guard<std::mutex> lock(db_mu_);
    return ReadInfoLocked(message_id, out);
  }

  Status DeleteMessage(int64_t message_id) override {
    std::lock_guard<std::mutex> lock(db_mu_);
    Status s = Exec("BEGIN IMMEDIATE");
    if (!s.ok()) return s;
    {
      Stmt d(Prep("DELETE FROM recipients WHERE message_id = ?1"));
      d.Bind(1, message_id);
      if (d.Step() != SQLITE_DONE) return Rollback(Error("delete"));
    }
    {
      Stmt d(Prep("DELETE FROM messages WHERE id = ?1"));
      d.Bind(1, message_id);
      if (d.Step() != SQLITE_DONE) return Rollback(Error("delete"));
    }
    if (sqlite3_changes(db_) == 0)
      return Rollback(Status::NotFound("message " + std::to_string(message_id) + " not found"));
    return Exec("COMMIT");
  }

  Status CountRecipients(std::vector<int64_t>* per_state) override {
    per_state->assign(6, 0);
    std::lock_guard<std::mutex> lock(db_mu_);
    Stmt q(Prep("SELECT state, n FROM recipient_counts"));
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) {
      if (auto st = RecipientStateFromName(q.Text(0))) (*per_state)[static_cast<int>(*st)] = q.Int(1);
    }
    return rc == SQLITE_DONE ? Status::Ok() : Error("count");
  }

  Status ListEvents(const EventFilter& f, std::vector<Event>* out) override {
    out->clear();
    std::lock_guard<std::mutex> lock(db_mu_);
    // The newest `limit` events, returned oldest first.
    Stmt q(Prep("SELECT * FROM (SELECT id, time, message_id, recipient, state, mx, ip, reply, category, reason, "
                "permanent, hard_bounce, rule, decision, next_attempt_at FROM events WHERE (?1 = 0 OR message_id = ?1) "
                "AND (?2 = '' OR recipient = ?2 COLLATE NOCASE) AND time >= ?3 AND (?4 = '' OR category = ?4) "
                "ORDER BY id DESC LIMIT ?5) ORDER BY id"));
    q.Bind(1, f.message_id).Bind(2, f.recipient).Bind(3, f.since).Bind(4, f.category);
    q.Bind(5, static_cast<int64_t>(f.limit > 0 ? f.limit : -1));
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) {
      Event e;
      e.id = q.Int(0);
      e.time = q.Int(1);
      e.message_id = q.Int(2);
      e.recipient = q.Text(3);
      e.state = q.Text(4);
      e.mx = q.Text(5);
      e.ip = q.Text(6);
      e.reply = q.Text(7);
      e.category = q.Text(8);
      e.reason = q.Text(9);
      e.permanent = q.Int(10) != 0;
      e.hard_bounce = q.Int(11) != 0;
      e.rule = q.Text(12);
      e.decision = q.Text(13);
      e.next_attempt_at = q.Int(14);
      out->push_back(std::move(e));
    }
    return rc == SQLITE_DONE ? Status::Ok() : Error("list events");
  }

  Status AddSuppression(const Suppression& s) override { return AddSuppressions({s}); }

  Status AddSuppressions(const std::vector<Suppression>& list) override {
    std::lock_guard<std::mutex> lock(db_mu_);
    Status s = Exec("BEGIN IMMEDIATE");
    if (!s.ok()) return s;
    for (const auto& e : list) {
      Stmt q(Prep("INSERT OR REPLACE INTO suppressions(account, address, reply, rule, source, time) "
                  "VALUES(?1, ?2, ?3, ?4, ?5, ?6)"));
      q.Bind(1, e.account).Bind(2, text::Lower(e.address)).Bind(3, e.reply).Bind(4, e.rule);
      q.Bind(5, e.source.empty() ? std::string_view("manual") : std::string_view(e.source));
      q.Bind(6, e.time ? e.time : clock_());
      if (q.Step() != SQLITE_DONE) return Rollback(Error("add suppression"));
    }
    return Exec("COMMIT");
  }

  Status IsSuppressed(std::string_view account, std::string_view address, bool* suppressed,
                      Suppression* found) override {
    std::lock_guard<std::mutex> lock(db_mu_);
    Stmt q(Prep("SELECT account, address, reply, rule, source, time FROM suppressions WHERE account = ?1 AND address = ?2"));
    q.Bind(1, account).Bind(2, text::Lower(address));
    int rc = q.Step();
    if (rc == SQLITE_ROW) {
      *suppressed = true;
      if (found) *found = ReadSuppression(q);
      return Status::Ok();
    }
    *suppressed = false;
    return rc == SQLITE_DONE ? Status::Ok() : Error("suppression lookup");
  }

  Status RemoveSuppression(std::string_view account, std::string_view address) override {
    std::lock_guard<std::mutex> lock(db_mu_);
    Stmt q(Prep("DELETE FROM suppressions WHERE account = ?1 AND address = ?2"));
    q.Bind(1, account).Bind(2, text::Lower(address));
    if (q.Step() != SQLITE_DONE) return Error("remove suppression");
    if (sqlite3_changes(db_) == 0)
      return Status::NotFound(std::string(address) + " is not on the suppression list of " + std::string(account));
    return Status::Ok();
  }

  Status ListSuppressions(std::string_view account, std::vector<Suppression>* out) override {
    out->clear();
    std::lock_guard<std::mutex> lock(db_mu_);
    Stmt q(Prep("SELECT account, address, reply, rule, source, time FROM suppressions WHERE ?1 = '' OR account = ?1 "
                "ORDER BY account, address"));
    q.Bind(1, account);
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) out->push_back(ReadSuppression(q));
    return rc == SQLITE_DONE ? Status::Ok() : Error("list suppressions");
  }

  Status PutAccount(const Account& a) override {
    std::lock_guard<std::mutex> lock(db_mu_);
    Status s = Exec("BEGIN IMMEDIATE");
    if (!s.ok()) return s;
    const int64_t now = clock_();
    {
      Stmt q(Prep("INSERT INTO accounts(name, password_hash, enabled, daily_quota, monthly_quota, timezone, created_at, "
                  "updated_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) ON CONFLICT(name) DO UPDATE SET "
                  "password_hash = ?2, enabled = ?3, daily_quota = ?4, monthly_quota = ?5, timezone = ?6, updated_at = ?7"));
      q.Bind(1, a.name).Bind(2, a.password_hash).Bind(3, int64_t{a.enabled}).Bind(4, a.daily_quota);
      q.Bind(5, a.monthly_quota).Bind(6, a.timezone).Bind(7, now);
      if (q.Step() != SQLITE_DONE) return Rollback(Error("put account"));
    }
    {
      Stmt d(Prep("DELETE FROM account_domains WHERE account = ?1"));
      d.Bind(1, a.name);
      if (d.Step() != SQLITE_DONE) return Rollback(Error("put account"));
    }
    for (const auto& dom : a.domains) {
      Stmt q(Prep("INSERT OR IGNORE INTO account_domains(account, domain) VALUES(?1, ?2)"));
      q.Bind(1, a.name).Bind(2, text::Lower(dom));
      if (q.Step() != SQLITE_DONE) return Rollback(Error("put account"));
    }
    return Exec("COMMIT");
  }

  Status GetAccount(std::string_view name, Account* out) override {
    std::lock_guard<std::mutex> lock(db_mu_);
    return GetAccountLocked(name, out);
  }

  Status ListAccounts(std::vector<Account>* out) override {
    out->clear();
    std::lock_guard<std::mutex> lock(db_mu_);
    std::vector<std::string> names;
    {
      Stmt q(Prep("SELECT name FROM accounts ORDER BY name"));
      int rc;
      while ((rc = q.Step()) == SQLITE_ROW) names.push_back(q.Text(0));
      if (rc != SQLITE_DONE) return Error("list accounts");
    }
    for (const auto& n : names) {
      Account a;
      Status s = GetAccountLocked(n, &a);
      if (!s.ok()) return s;
      out->push_back(std::move(a));
    }
    return Status::Ok();
  }

  Status QuotaUsage(std::string_view account, std::string_view period, int64_t* used) override {
    std::lock_guard<std::mutex> lock(db_mu_);
    return QuotaUsageLocked(account, period, used);
  }

 private:

  struct Writer {
    const NewMessage* message = nullptr;
    int64_t* id = nullptr;
    Status status;
    bool done = false;
    std::condition_variable cv;
  };

  void CommitBatch(const std::vector<Writer*>& batch) {
    std::lock_guard<std::mutex> lock(db_mu_);
    Status s = Exec("BEGIN IMMEDIATE");
    if (!s.ok()) {
      for (Writer* w : batch) w->status = s;
      return;
    }
    for (Writer* w : batch) {
      // Each message in its own savepoint: a quota refusal undoes only it.
      Exec("SAVEPOINT msg");
      w->status = InsertMessageLocked(*w->message, w->id);
      if (!w->status.ok()) Exec("ROLLBACK TO msg");
      Exec("RELEASE msg");
    }
    s = Exec("COMMIT");
    if (!s.ok()) {
      Exec("ROLLBACK");
      for (Writer* w : batch)
        if (w->status.ok()) w->status = s;
    }
  }

  Status InsertMessageLocked(const NewMessage& m, int64_t* message_id) {
    const int64_t now = clock_();
    const int64_t n = static_cast<int64_t>(m.recipients.size());
    if (!m.day_period.empty() && m.daily_limit > 0) {
      int64_t used = 0;
      Status s = QuotaUsageLocked(m.account, m.day_period, &used);
      if (!s.ok()) return s;
      if (used + n > m.daily_limit) return Status::Unavailable("daily quota");
    }
    if (!m.month_period.empty() && m.monthly_limit > 0) {
      int64_t used = 0;
      Status s = QuotaUsageLocked(m.account, m.month_period, &used);
      if (!s.ok()) return s;
      if (used + n > m.monthly_limit) return Status::Unavailable("monthly quota");
    }
    {
      Stmt q(Prep("INSERT INTO messages(account, mail_from, size, client_ip, helo, queued_at, body) "
                  "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
      q.Bind(1, m.account).Bind(2, m.mail_from).Bind(3, static_cast<int64_t>(m.body.size()));
      q.Bind(4, m.client_ip).Bind(5, m.helo).Bind(6, now).BindBlob(7, m.body);
      if (q.Step() != SQLITE_DONE) return Error("insert message");
    }
    *message_id = sqlite3_last_insert_rowid(db_);
    for (const auto& rcpt : m.recipients) {
      Stmt q(Prep("INSERT INTO recipients(message_id, address, domain, state, next_attempt_at, queued_at, updated_at) "
                  "VALUES(?1, ?2, ?3, 'queued', ?4, ?4, ?4)"));
      q.Bind(1, *message_id).Bind(2, rcpt).Bind(3, AddressDomain(rcpt)).Bind(4, now);
      if (q.Step() != SQLITE_DONE) return Error("insert recipient");
      Event e;
      e.time = now;
      e.message_id = *message_id;
      e.recipient = rcpt;
      e.state = "queued";
      e.decision = "queued";
      e.category = "delivered";  // the submission itself succeeded
      Status s = InsertEvent(e);
      if (!s.ok()) return s;
    }
    for (const std::string* period : {&m.day_period, &m.month_period}) {
      if (period->empty()) continue;
      Stmt q(Prep("INSERT INTO quota_usage(account, period, count) VALUES(?1, ?2, ?3) "
                  "ON CONFLICT(account, period) DO UPDATE SET count = count + ?3"));
      q.Bind(1, m.account).Bind(2, *period).Bind(3, n);
      if (q.Step() != SQLITE_DONE) return Error("quota usage");
    }
    return Status::Ok();
  }

  Status InsertEvent(const Event& e) {
    Stmt q(Prep("INSERT INTO events(time, message_id, recipient, state, mx, ip, reply, category, reason, permanent, "
                "hard_bounce, rule, decision, next_attempt_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
                "?12, ?13, ?14)"));
    q.Bind(1, e.time).Bind(2, e.message_id).Bind(3, e.recipient).Bind(4, e.state).Bind(5, e.mx).Bind(6, e.ip);
    q.Bind(7, e.reply).Bind(8, e.category).Bind(9, e.reason).Bind(10, int64_t{e.permanent});
    q.Bind(11, int64_t{e.hard_bounce}).Bind(12, e.rule).Bind(13, e.decision).Bind(14, e.next_attempt_at);
    return q.Step() == SQLITE_DONE ? Status::Ok() : Error("insert event");
  }

  Status QuotaUsageLocked(std::string_view account, std::string_view period, int64_t* used) {
    Stmt q(Prep("SELECT count FROM quota_usage WHERE account = ?1 AND period = ?2"));
    q.Bind(1, account).Bind(2, period);
    int rc = q.Step();
    *used = rc == SQLITE_ROW ? q.Int(0) : 0;
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? Status::Ok() : Error("quota usage");
  }

  Status GetAccountLocked(std::string_view name, Account* out) {
    {
      Stmt q(Prep("SELECT name, password_hash, enabled, daily_quota, monthly_quota, timezone, created_at, updated_at "
                  "FROM accounts WHERE name = ?1"));
      q.Bind(1, name);
      int rc = q.Step();
      if (rc == SQLITE_DONE) return Status::NotFound("no account named " + std::string(name));
      if (rc != SQLITE_ROW) return Error("get account");
      out->name = q.Text(0);
      out->password_hash = q.Text(1);
      out->enabled = q.Int(2) != 0;
      out->daily_quota = q.Int(3);
      out->monthly_quota = q.Int(4);
      out->timezone = q.Text(5);
      out->created_at = q.Int(6);
      out->updated_at = q.Int(7);
    }
    out->domains.clear();
    Stmt q(Prep("SELECT domain FROM account_domains WHERE account = ?1 ORDER BY domain"));
    q.Bind(1, name);
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) out->domains.push_back(q.Text(0));
    return rc == SQLITE_DONE ? Status::Ok() : Error("get account");
  }

  Status ReadInfoLocked(int64_t message_id, MessageInfo* out) {
    {
      Stmt q(Prep("SELECT id, account, mail_from, size, client_ip, helo, queued_at FROM messages WHERE id = ?1"));
      q.Bind(1, message_id);
      int rc = q.Step();
      if (rc == SQLITE_DONE) return Status::NotFound("message " + std::to_string(message_id) + " not found");
      if (rc != SQLITE_ROW) return Error("read message");
      out->id = q.Int(0);
      out->account = q.Text(1);
      out->mail_from = q.Text(2);
      out->size = q.Int(3);
      out->client_ip = q.Text(4);
      out->helo = q.Text(5);
      out->queued_at = q.Int(6);
    }
    out->recipients.clear();
    Stmt q(Prep("SELECT " kRecipientColumns " FROM recipients WHERE message_id = ?1 ORDER BY id"));
    q.Bind(1, message_id);
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) out->recipients.push_back(ReadRecipient(q));
    return rc == SQLITE_DONE ? Status::Ok() : Error("read recipients");
  }

  static RecipientRow ReadRecipient(Stmt& q) {
    RecipientRow r;
    r.id = q.Int(0);
    r.message_id = q.Int(1);
    r.address = q.Text(2);
    r.domain = q.Text(3);
    r.state = RecipientStateFromName(q.Text(4)).value_or(RecipientState::kQueued);
    r.attempts = static_cast<int>(q.Int(5));
    r.next_attempt_at = q.Int(6);
    r.lease_until = q.Int(7);
    r.queued_at = q.Int(8);
    r.updated_at = q.Int(9);
    r.last_reply = q.Text(10);
    r.last_category = q.Text(11);
    r.failures = static_cast<int>(q.Int(12));
    return r;
  }

  static Suppression ReadSuppression(Stmt& q) {
    Suppression s;
    s.account = q.Text(0);
    s.address = q.Text(1);
    s.reply = q.Text(2);
    s.rule = q.Text(3);
    s.source = q.Text(4);
    s.time = q.Int(5);
    return s;
  }

  // Cached by the address of the SQL literal; callers hold db_mu_.
  sqlite3_stmt* Prep(const char* sql) {
    auto it = stmts_.find(sql);
    if (it != stmts_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK) {
      // A programming error in a literal: fail loudly rather than run on.
      fprintf(stderr, "rebound: bad SQL (%s): %s\n", sqlite3_errmsg(db_), sql);
      abort();
    }
    stmts_.emplace(sql, stmt);
    return stmt;
  }

  Status Exec(const char* sql) { return SqliteExec(db_, sql); }

  Status Error(const char* what) { return Status::IoError(std::string("sqlite: ") + what + ": " + sqlite3_errmsg(db_)); }

  Status Rollback(Status s) {
    Exec("ROLLBACK");
    return s;
  }

  sqlite3* db_;
  Clock clock_;
  std::mutex db_mu_;
  std::unordered_map<const char*, sqlite3_stmt*> stmts_;
  std::mutex writers_mu_;
  std::deque<Writer*> writers_;
};

}  // namespace

Status OpenSqliteStore(const std::string& path, const StoreOptions& options, std::unique_ptr<Store>* out) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = path + ": cannot open the queue database: " + (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return Status::IoError(msg);
  }
  auto store = std::make_unique<SqliteStore>(db, options.clock ? options.clock : Clock(SystemNow));
  Status s = store->Init(options.synchronous_full);
  if (!s.ok()) return Status::IoError(path + ": " + s.message());
  *out = std::move(store);
  return Status::Ok();
}

}  // namespace rebound::relay
