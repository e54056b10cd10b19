#include "webhooks/webhook_store.h"

#include <string_view>

#include "store/sqlite_util.h"
#include "webhooks/signing.h"

namespace rebound::webhooks {

using relay::Stmt;

bool IsEventType(std::string_view type) {
  for (const auto& m : kEventTypes)
    if (type == m.type) return true;
  return false;
}

namespace {

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS webhook_endpoints(
  id INTEGER PRIMARY KEY,
  url TEXT NOT NULL,
  account TEXT NOT NULL,
  events TEXT NOT NULL DEFAULT '',
  secret TEXT NOT NULL,
  old_secret TEXT NOT NULL DEFAULT '',
  old_secret_expires_at INTEGER NOT NULL DEFAULT 0,
  enabled INTEGER NOT NULL DEFAULT 1,
  batch_size INTEGER NOT NULL DEFAULT 1,
  failing_since INTEGER NOT NULL DEFAULT 0,
  failure_streak INTEGER NOT NULL DEFAULT 0,
  disabled_reason TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS webhook_event_types(
  decision TEXT PRIMARY KEY,
  type TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS webhook_outbox(
  id INTEGER PRIMARY KEY,
  endpoint_id INTEGER NOT NULL,
  event_id INTEGER NOT NULL,
  type TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  lease_until INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL DEFAULT 'pending',
  last_error TEXT NOT NULL DEFAULT '',
  sent_at INTEGER NOT NULL DEFAULT 0,
  UNIQUE(endpoint_id, event_id));
CREATE INDEX IF NOT EXISTS webhook_outbox_due ON webhook_outbox(next_attempt_at, id) WHERE state = 'pending';
CREATE TRIGGER IF NOT EXISTS webhook_outbox_fill AFTER INSERT ON events BEGIN
  INSERT OR IGNORE INTO webhook_outbox(endpoint_id, event_id, type, created_at, next_attempt_at)
  SELECT w.id, NEW.id, t.type, NEW.time, NEW.time
  FROM (SELECT COALESCE((SELECT type FROM webhook_event_types WHERE decision = NEW.decision), NEW.decision) AS type) t
  JOIN webhook_endpoints w ON w.enabled = 1
   AND (w.account = '*' OR w.account = (SELECT account FROM messages WHERE id = NEW.message_id))
   AND (w.events = '' OR instr(',' || w.events || ',', ',' || t.type || ',') > 0);
END;
)sql";

#define kEndpointColumns                                                                                     \
  "id, url, account, events, secret, old_secret, old_secret_expires_at, enabled, batch_size, failing_since, " \
  "failure_streak, disabled_reason, created_at, updated_at"

void ReadEndpoint(Stmt& q, Endpoint* e) {
  e->id = q.Int(0);
  e->url = q.Text(1);
  e->account = q.Text(2);
  e->events = q.Text(3);
  e->secret = q.Text(4);
  e->old_secret = q.Text(5);
  e->old_secret_expires_at = q.Int(6);
  e->enabled = q.Int(7) != 0;
  e->batch_size = static_cast<int>(q.Int(8));
  e->failing_since = q.Int(9);
  e->failure_streak = q.Int(10);
  e->disabled_reason = q.Text(11);
  e->created_at = q.Int(12);
  e->updated_at = q.Int(13);
}

}  // namespace

Status WebhookStore::Open(const std::string& path, std::unique_ptr<WebhookStore>* out) {
  sqlite3* db = nullptr;
  Status s = relay::OpenSqliteConnection(path, &db);
  if (!s.ok()) return s;
  std::unique_ptr<WebhookStore> store(new WebhookStore(db));
  {
    Stmt q(store->Prep("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('events', 'messages')"));
    if (q.Step() != SQLITE_ROW || q.Int(0) != 2)
      return Status::Unavailable(path + ": not a Rebound queue (no events table); open it with the store first");
  }
  s = relay::SqliteExec(db, "BEGIN IMMEDIATE");
  if (s.ok()) s = relay::SqliteExec(db, kSchema);
  for (const auto& m : kEventTypes) {
    if (!s.ok()) break;
    Stmt q(store->Prep("INSERT OR REPLACE INTO webhook_event_types(decision, type) VALUES(?1, ?2)"));
    q.Bind(1, std::string_view(m.decision)).Bind(2, std::string_view(m.type));
    if (q.Step() != SQLITE_DONE) s = store->Error("event types");
  }
  if (s.ok()) s = relay::SqliteExec(db, "COMMIT");
  if (!s.ok()) {
    relay::SqliteExec(db, "ROLLBACK");
    return s;
  }
  *out = std::move(store);
  return Status::Ok();
}

WebhookStore::~WebhookStore() {
  for (auto& [sql, stmt] : stmts_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

sqlite3_stmt* WebhookStore::Prep(const char* sql) {
  auto it = stmts_.find(sql);
  if (it != stmts_.end()) return it->second;
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK) {
    // A statement that does not compile is a bug in this file.
    fprintf(stderr, "rebound webhooks: SQL error: %s in %s\n", sqlite3_errmsg(db_), sql);
    abort();
  }
  stmts_.emplace(sql, s);
  return s;
}

Status WebhookStore::Error(const std::string& what) {
  return Status::IoError("webhooks: " + what + ": " + sqlite3_errmsg(db_));
}

Status WebhookStore::AddEndpoint(Endpoint* e, int64_t now) {
  if (e->secret.empty()) {
    Status s = NewSecret(&e->secret);
    if (!s.ok()) return s;
  }
  if (e->account.empty()) e->account = "*";
  if (e->batch_size < 1) e->batch_size = 1;
  e->created_at = e->updated_at = now;
  e->enabled = true;
  Stmt q(Prep("INSERT INTO webhook_endpoints(url, account, events, secret, batch_size, created_at, updated_at) "
              "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?6)"));
  q.Bind(1, e->url).Bind(2, e->account).Bind(3, e->events).Bind(4, e->secret).Bind(5, int64_t{e->batch_size});
  q.Bind(6, now);
  if (q.Step() != SQLITE_DONE) return Error("add endpoint");
  e->id = sqlite3_last_insert_rowid(db_);
  return Status::Ok();
}

Status WebhookStore::ListEndpoints(std::vector<Endpoint>* out) {
  out->clear();
  Stmt q(Prep("SELECT " kEndpointColumns ", (SELECT count(*) FROM webhook_outbox o WHERE o.endpoint_id = "
              "webhook_endpoints.id AND o.state = 'pending') FROM webhook_endpoints ORDER BY id"));
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    Endpoint e;
    ReadEndpoint(q, &e);
    e.pending = q.Int(14);
    out->push_back(std::move(e));
  }
  return rc == SQLITE_DONE ? Status::Ok() : Error("list endpoints");
}

Status WebhookStore::GetEndpoint(int64_t id, Endpoint* out) {
  Stmt q(Prep("SELECT " kEndpointColumns " FROM webhook_endpoints WHERE id = ?1"));
  q.Bind(1, id);
  int rc = q.Step();
  if (rc == SQLITE_DONE) return Status::NotFound("no webhook endpoint " + std::to_string(id));
  if (rc != SQLITE_ROW) return Error("get endpoint");
  ReadEndpoint(q, out);
  return Status::Ok();
}

Status WebhookStore::RemoveEndpoint(int64_t id) {
  Status s = relay::SqliteExec(db_, "BEGIN IMMEDIATE");
  if (!s.ok()) return s;
  int changed = 0;
  {
    Stmt q(Prep("DELETE FROM webhook_endpoints WHERE id = ?1"));
    q.Bind(1, id);
    if (q.Step() != SQLITE_DONE) s = Error("remove endpoint");
    changed = sqlite3_changes(db_);
  }
  if (s.ok()) {
    Stmt q(Prep("DELETE FROM webhook_outbox WHERE endpoint_id = ?1"));
    q.Bind(1, id);
    if (q.Step() != SQLITE_DONE) s = Error("remove endpoint's outbox");
  }
  if (s.ok() && changed == 0) s = Status::NotFound("no webhook endpoint " + std::to_string(id));
  relay::SqliteExec(db_, s.ok() ? "COMMIT" : "ROLLBACK");
  return s;
}

Status WebhookStore::RotateSecret(int64_t id, int64_t now, int64_t grace_seconds, std::string* new_secret) {
  Status s = NewSecret(new_secret);
  if (!s.ok()) return s;
  Stmt q(Prep("UPDATE webhook_endpoints SET old_secret = secret, old_secret_expires_at = ?2, secret = ?3, "
              "updated_at = ?4 WHERE id = ?1"));
  q.Bind(1, id).Bind(2, now + grace_seconds).Bind(3, *new_secret).Bind(4, now);
  if (q.Step() != SQLITE_DONE) return Error("rotate secret");
  if (sqlite3_changes(db_) == 0) return Status::NotFound("no webhook endpoint " + std::to_string(id));
  return Status::Ok();
}

Status WebhookStore::SetEnabled(int64_t id, bool enabled, std::string_view reason, int64_t now) {
  // Enabling starts a new failure streak.
  Stmt q(Prep("UPDATE webhook_endpoints SET enabled = ?2, disabled_reason = ?3, updated_at = ?4, "
              "failing_since = CASE WHEN ?2 THEN 0 ELSE failing_since END, "
              "failure_streak = CASE WHEN ?2 THEN 0 ELSE failure_streak END WHERE id = ?1"));
  q.Bind(1, id).Bind(2, int64_t{enabled}).Bind(3, enabled ? std::string_view() : reason).Bind(4, now);
  if (q.Step() != SQLITE_DONE) return Error("enable endpoint");
  if (sqlite3_changes(db_) == 0) return Status::NotFound("no webhook endpoint " + std::to_string(id));
  return Status::Ok();
}

Status WebhookStore::Claim(int64_t now, int lease_seconds, int limit, const std::vector<int64_t>& busy,
                           std::vector<OutboxItem>* out) {
  std::string busy_json = "[";
  for (int64_t id : busy) busy_json += (busy_json.size() > 1 ? "," : "") + std::to_string(id);
  busy_json += "]";
  out->clear();
  Status s = relay::SqliteExec(db_, "BEGIN IMMEDIATE");
  if (!s.ok()) return s;
  {
    Stmt q(Prep("SELECT o.id, o.endpoint_id, o.event_id, o.type, o.created_at, o.attempts, e.time, e.message_id, "
                "e.next_attempt_at, COALESCE(m.account, ''), e.recipient, e.state, e.mx, e.ip, e.reply, e.category, "
                "e.reason, e.rule, e.decision, e.permanent, e.hard_bounce "
                "FROM webhook_outbox o JOIN webhook_endpoints w ON w.id = o.endpoint_id AND w.enabled = 1 "
                "JOIN events e ON e.id = o.event_id LEFT JOIN messages m ON m.id = e.message_id "
                "WHERE o.state = 'pending' AND o.next_attempt_at <= ?1 AND o.lease_until <= ?1 "
                "AND o.endpoint_id NOT IN (SELECT value FROM json_each(?3)) "
                "ORDER BY o.next_attempt_at, o.id LIMIT ?2"));
    q.Bind(1, now).Bind(2, int64_t{limit}).Bind(3, busy_json);
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) {
      OutboxItem it;
      it.id = q.Int(0);
      it.endpoint_id = q.Int(1);
      it.event_id = q.Int(2);
      it.type = q.Text(3);
      it.created_at = q.Int(4);
      it.attempts = static_cast<int>(q.Int(5));
      it.time = q.Int(6);
      it.message_id = q.Int(7);
      it.next_attempt_at = q.Int(8);
      it.account = q.Text(9);
      it.recipient = q.Text(10);
      it.state = q.Text(11);
      it.mx = q.Text(12);
      it.ip = q.Text(13);
      it.reply = q.Text(14);
      it.category = q.Text(15);
      it.reason = q.Text(16);
      it.rule = q.Text(17);
      it.decision = q.Text(18);
      it.permanent = q.Int(19) != 0;
      it.hard_bounce = q.Int(20) != 0;
      out->push_back(std::move(it));
    }
    if (rc != SQLITE_DONE) s = Error("claim outbox");
  }
  for (const auto& it : *out) {
    if (!s.ok()) break;
    Stmt q(Prep("UPDATE webhook_outbox SET lease_until = ?2 WHERE id = ?1"));
    q.Bind(1, it.id).Bind(2, now + lease_seconds);
    if (q.Step() != SQLITE_DONE) s = Error("lease outbox row");
  }
  Status end = relay::SqliteExec(db_, s.ok() ? "COMMIT" : "ROLLBACK");
  if (s.ok()) s = end;
  if (!s.ok()) out->clear();
  return s;
}

Status WebhookStore::Record(const std::vector<DeliveryResult>& results, int64_t now, int64_t disable_after_seconds,
                            int64_t disable_after_failures, std::vector<int64_t>* disabled) {
  disabled->clear();
  if (results.empty()) return Status::Ok();
  Status s = relay::SqliteExec(db_, "BEGIN IMMEDIATE");
  if (!s.ok()) return s;
  for (const auto& r : results) {
    for (int64_t id : r.outbox_ids) {
      if (!s.ok()) break;
      Stmt q(Prep("UPDATE webhook_outbox SET attempts = attempts + 1, lease_until = 0, "
                  "state = CASE WHEN ?2 THEN 'sent' WHEN ?3 THEN 'dropped' ELSE 'pending' END, "
                  "sent_at = CASE WHEN ?2 THEN ?4 ELSE sent_at END, last_error = ?5, "
                  "next_attempt_at = CASE WHEN ?2 OR ?3 THEN next_attempt_at ELSE ?6 END WHERE id = ?1"));
      q.Bind(1, id).Bind(2, int64_t{r.ok}).Bind(3, int64_t{r.drop}).Bind(4, now).Bind(5, r.error);
      q.Bind(6, r.next_attempt_at);
      if (q.Step() != SQLITE_DONE) s = Error("record delivery");
    }
    if (!s.ok()) break;
    if (r.ok) {
      Stmt q(Prep("UPDATE webhook_endpoints SET failing_since = 0, failure_streak = 0 WHERE id = ?1"));
      q.Bind(1, r.endpoint_id);
      if (q.Step() != SQLITE_DONE) s = Error("endpoint streak");
      continue;
    }
    {
      Stmt q(Prep("UPDATE webhook_endpoints SET failure_streak = failure_streak + 1, "
                  "failing_since = CASE WHEN failing_since = 0 THEN ?2 ELSE failing_since END WHERE id = ?1"));
      q.Bind(1, r.endpoint_id).Bind(2, now);
      if (q.Step() != SQLITE_DONE) s = Error("endpoint streak");
    }
    if (!s.ok()) break;
    Stmt q(Prep("UPDATE webhook_endpoints SET enabled = 0, updated_at = ?2, disabled_reason = "
                "'failing since ' || strftime('%Y-%m-%dT%H:%M:%SZ', failing_since, 'unixepoch') || ' (' || "
                "failure_streak || ' failed deliveries in a row, last: ' || ?5 || ')' "
                "WHERE id = ?1 AND enabled = 1 AND failure_streak >= ?3 AND ?2 - failing_since >= ?4"));
    q.Bind(1, r.endpoint_id).Bind(2, now).Bind(3, disable_after_failures).Bind(4, disable_after_seconds);
    q.Bind(5, r.error);
    if (q.Step() != SQLITE_DONE) s = Error("disable endpoint");
    if (sqlite3_changes(db_) > 0) disabled->push_back(r.endpoint_id);
  }
  Status end = relay::SqliteExec(db_, s.ok() ? "COMMIT" : "ROLLBACK");
  if (s.ok()) s = end;
  if (!s.ok()) disabled->clear();
  return s;
}

Status WebhookStore::Backlog(int64_t* pending) {
  Stmt q(Prep("SELECT count(*) FROM webhook_outbox WHERE state = 'pending'"));
  if (q.Step() != SQLITE_ROW) return Error("backlog");
  *pending = q.Int(0);
  return Status::Ok();
}

}  // namespace rebound::webhooks
