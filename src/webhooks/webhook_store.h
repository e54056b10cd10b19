// webhooks/webhook_store.h: the webhook endpoints and the durable outbox, in
// the relay's SQLite file (queue.db), on a connection of their own.
//
// The outbox is filled by a trigger on the Store's `events` table (created
// here, kept in the file): every event row inserts one outbox row per enabled
// endpoint that wants it, inside the transaction that writes the event, so
// no event is committed without its webhooks and the Store knows nothing of
// them. The dispatcher leases due rows (like the Store's ClaimDue), so a row
// whose POST was cut short by a crash is sent again, with the same
// webhook-id, once its lease ends. Schema: docs/queue-format.md.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "rebound/status.h"

namespace rebound::webhooks {

// The event types a webhook carries, and the events.decision each comes from
// (docs/webhooks.md). A decision not in the table keeps its own name.
struct EventTypeMapping {
  const char* decision;
  const char* type;
};
inline constexpr EventTypeMapping kEventTypes[] = {
    {"queued", "accepted"},         {"delivered", "delivered"},      {"deferred", "deferred"},
    {"bounced", "bounced"},         {"expired", "expired"},          {"suppressed", "suppressed"},
    {"complaint", "complained"},    {"complained", "complained"},    {"unsubscribe", "unsubscribed"},
    {"unsubscribed", "unsubscribed"},
    // Written by the return path (src/inbound) from bounces that come back:
    // a downstream delay notice, a bounce for a recipient already final.
    {"delayed", "deferred"},        {"bounce_noted", "bounced"},     {"auto_reply", "auto_reply"},
};
// True for a type a subscriber may ask for (the right-hand column above).
bool IsEventType(std::string_view type);

struct Endpoint {
  int64_t id = 0;
  std::string url;
  std::string account = "*";  // "*": every account
  std::string events;         // comma-separated types; empty: all
  std::string secret;         // whsec_...
  std::string old_secret;     // the previous one during a rotation
  int64_t old_secret_expires_at = 0;
  bool enabled = true;
  int batch_size = 1;         // events per POST; above 1 the body is a JSON array
  int64_t failing_since = 0;  // first failure of the current streak; 0: none
  int64_t failure_streak = 0; // failed POSTs since the last success
  std::string disabled_reason;
  int64_t created_at = 0, updated_at = 0;
  // Filled by List: outbox rows still to send.
  int64_t pending = 0;
};

// One due outbox row with what its payload is made of.
struct OutboxItem {
  int64_t id = 0;  // the webhook-id is "msg_<id>"
  int64_t endpoint_id = 0;
  int64_t event_id = 0;
  std::string type;
  int64_t created_at = 0;
  int attempts = 0;
  // The event (events row) and the message's account.
  int64_t time = 0, message_id = 0, next_attempt_at = 0;
  std::string account, recipient, state, mx, ip, reply, category, reason, rule, decision;
  bool permanent = false, hard_bounce = false;
};

// What one POST came to, for Record.
struct DeliveryResult {
  std::vector<int64_t> outbox_ids;
  int64_t endpoint_id = 0;
  bool ok = false;
  std::string error;         // "HTTP 500", "connect: refused", ...
  int64_t next_attempt_at = 0;  // when !ok and not dropped
  bool drop = false;         // gave up (too old)
};

class WebhookStore {
 public:
  // Opens <path> (queue.db), which the Store has created (its `events` and
  // `messages` tables must exist), and creates the webhook tables and the
  // trigger when absent.
  static Status Open(const std::string& path, std::unique_ptr<WebhookStore>* out);
  ~WebhookStore();

  // Fills in id, secret (a new one unless given), times.
  Status AddEndpoint(Endpoint* e, int64_t now);
  Status ListEndpoints(std::vector<Endpoint>* out);
  Status GetEndpoint(int64_t id, Endpoint* out);
  // Deletes the endpoint and its unsent outbox rows.
  Status RemoveEndpoint(int64_t id);
  // A new secret; the current one stays valid for grace_seconds.
  Status RotateSecret(int64_t id, int64_t now, int64_t grace_seconds, std::string* new_secret);
  Status SetEnabled(int64_t id, bool enabled, std::string_view reason, int64_t now);

  // Leases up to `limit` due rows of enabled endpoints for lease_seconds,
  // oldest first, leaving out the endpoints in `busy` (still being sent to).
  Status Claim(int64_t now, int lease_seconds, int limit, const std::vector<int64_t>& busy,
               std::vector<OutboxItem>* out);
  // Commits the outcome of a pass in one transaction: sent rows are done,
  // failed rows wait for their next attempt (or are dropped), each endpoint's
  // failure streak is updated. Endpoints that have failed for at least
  // disable_after_seconds and disable_after_failures POSTs in a row are
  // disabled; their ids are returned in *disabled.
  Status Record(const std::vector<DeliveryResult>& results, int64_t now, int64_t disable_after_seconds,
                int64_t disable_after_failures, std::vector<int64_t>* disabled);
  // Outbox rows not yet sent (all endpoints).
  Status Backlog(int64_t* pending);

 private:
  explicit WebhookStore(sqlite3* db) : db_(db) {}
  sqlite3_stmt* Prep(const char* sql);
  Status Error(const std::string& what);
  sqlite3* db_;
  std::map<const char*, sqlite3_stmt*> stmts_;
};

}  // namespace rebound::webhooks
