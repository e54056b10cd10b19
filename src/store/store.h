// store/store.h: the relay's durable state behind one interface.
//
// What it is: the queue (messages and their recipients with delivery state),
// the event history, the suppression lists, the accounts and their quota
// usage. Store is abstract and its callers (the SMTP server, the scheduler,
// the CLI) see nothing else. A backend derives from it and adds an Open
// function below; it shares store.cc (state names, quota periods) and keeps
// the contract of this comment. SQLite (sqlite_store.cc, on-disk format in
// docs/queue-format.md) is the one backend today; PostgreSQL is planned.
//
// Durability: every mutating call is one transaction and returns only after
// it is committed to disk (SQLite: WAL, synchronous=FULL). Enqueue()
// returning ok is what allows the server to answer "250 send mail ok".
//
// Threads: a Store is safe to use from many threads at once. Concurrent
// Enqueue() calls are committed together (group commit), each caller
// returning after the shared commit.
//
// Errors: Status; NotFound for a missing message/account, Unavailable for a
// quota that the message would exceed (see Enqueue), IoError for the database.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rebound/status.h"

namespace rebound::relay {

// Unix seconds. Tests inject their own clock through StoreOptions.
using Clock = std::function<int64_t()>;
int64_t SystemNow();

enum class RecipientState : uint8_t { kQueued, kDeferred, kDelivered, kBounced, kExpired, kSuppressed };
std::string_view RecipientStateName(RecipientState s);  // "queued", "deferred", ...
std::optional<RecipientState> RecipientStateFromName(std::string_view name);
bool IsFinal(RecipientState s);  // delivered, bounced, expired, suppressed

// A message as the submission side hands it over.
struct NewMessage {
  std::string account;
  std::string mail_from;                // without <>; empty for the null sender
  std::vector<std::string> recipients;  // without <>
  std::string body;                     // CRLF line ends, dot-unstuffed, no final "."
  std::string client_ip;
  std::string helo;
  // Quota enforcement inside the commit (0 = unlimited). The periods are the
  // account-local keys "d:YYYY-MM-DD" and "m:YYYY-MM" (see QuotaPeriods()).
  // When usage + recipients would exceed a limit, nothing is written and
  // Enqueue returns Unavailable.
  std::string day_period, month_period;
  int64_t daily_limit = 0, monthly_limit = 0;
};

struct RecipientRow {
  int64_t id = 0;
  int64_t message_id = 0;
  std::string address;
  std::string domain;  // lower case
  RecipientState state = RecipientState::kQueued;
  int attempts = 0;
  // Temporary failures the retry backoff counts: attempts whose record said
  // counts_as_failure (not greylisting, not the throttle's own deferrals).
  int failures = 0;
  int64_t next_attempt_at = 0;
  int64_t lease_until = 0;
  int64_t queued_at = 0;
  int64_t updated_at = 0;
  std::string last_reply;
  std::string last_category;
};

struct MessageInfo {
  int64_t id = 0;
  std::string account;
  std::string mail_from;
  int64_t size = 0;
  std::string client_ip;
  std::string helo;
  int64_t queued_at = 0;
  std::vector<RecipientRow> recipients;
};

struct Message {
  MessageInfo info;
  std::string body;
};

// The outcome of one delivery attempt of one recipient (RecordAttempt).
struct AttemptRecord {
  int64_t recipient_id = 0;
  RecipientState new_state = RecipientState::kDeferred;
  int64_t next_attempt_at = 0;  // for kDeferred; ignored for final states
  int64_t time = 0;             // when the attempt ended
  std::string mx, ip;           // host and address tried
  std::string reply;            // SMTP reply (or local reason)
  // Verdict fields, as names (CategoryName/ReasonName) so the store does not
  // depend on the classifier.
  std::string category, reason, rule;
  bool permanent = false, hard_bounce = false;
  // delivery::DecisionName: "delivered", "deferred", "bounced", "expired" or
  // "suppressed" (the events row Enqueue writes says "queued").
  std::string decision;
  // The disposition's word on whether this attempt adds one to the
  // recipient's failures (RecipientRow::failures), which the backoff reads.
  bool counts_as_failure = false;
};

struct Event {
  int64_t id = 0, time = 0, message_id = 0;
  std::string recipient, state, mx, ip, reply, category, reason, rule, decision;
  bool permanent = false, hard_bounce = false;
  int64_t next_attempt_at = 0;
};

struct EventFilter {
  int64_t message_id = 0;  // 0: any
  std::string recipient;   // exact, case-insensitive; empty: any
  int64_t since = 0;       // time >= since
  std::string category;    // empty: any
  int limit = 0;           // 0: no limit; newest last
};

struct Suppression {
  std::string account;
  std::string address;  // stored lower case
  std::string reply;    // why (the reply that caused it, or a note)
  std::string rule;
  std::string source;  // "manual", "import", "bounce"
  int64_t time = 0;
};

struct Account {
  std::string name;
  std::string password_hash;  // crypto_pwhash_str (argon2id)
  bool enabled = true;
  int64_t daily_quota = 0;    // recipients per day, 0 = unlimited
  int64_t monthly_quota = 0;  // recipients per month, 0 = unlimited
  std::string timezone = "UTC";
  std::vector<std::string> domains;  // allowed MAIL FROM domains, lower case
  int64_t created_at = 0, updated_at = 0;
};

struct QueueFilter {
  std::optional<RecipientState> state;  // messages with at least one recipient in it
  std::string account;
  int limit = 0;  // 0: no limit
};

class Store {
 public:
  virtual ~Store() = default;

  // --- queue (submission) ---
  // Commits the message, its recipients (state queued, due now) and the
  // quota usage in one transaction. Returns Unavailable (nothing written)
  // when a quota in `m` would be exceeded.
  virtual Status Enqueue(const NewMessage& m, int64_t* message_id) = 0;

  // --- queue (delivery) ---
  // Leases up to `limit` due recipients (state queued/deferred,
  // next_attempt_at <= now, no live lease) until now + lease_seconds, ordered
  // by (message_id, domain) so a caller can group them. Two callers never
  // get the same recipient while its lease lives.
  virtual Status ClaimDue(int64_t now, int limit, int lease_seconds, std::vector<RecipientRow>* out) = 0;
  virtual Status ReadMessage(int64_t message_id, Message* out) = 0;
  // One transaction: state, attempts+1, failures+1 when the record counts
  // as a failure, next_attempt_at, last reply and category, lease cleared,
  // one events row.
  virtual Status RecordAttempt(const AttemptRecord& a) = 0;
  // Several attempts in one transaction (one fsync).
  virtual Status RecordAttempts(const std::vector<AttemptRecord>& a) = 0;

  // --- queue (operators) ---
  virtual Status ListMessages(const QueueFilter& f, std::vector<MessageInfo>* out) = 0;
  virtual Status GetMessageInfo(int64_t message_id, MessageInfo* out) = 0;
  virtual Status DeleteMessage(int64_t message_id) = 0;  // NotFound if absent
  // Number of recipients per state (index = RecipientState).
  virtual Status CountRecipients(std::vector<int64_t>* per_state) = 0;

  // --- events ---
  virtual Status ListEvents(const EventFilter& f, std::vector<Event>* out) = 0;

  // --- suppression lists (per account) ---
  virtual Status AddSuppression(const Suppression& s) = 0;  // replaces an existing entry
  virtual Status AddSuppressions(const std::vector<Suppression>& s) = 0;
  virtual Status IsSuppressed(std::string_view account, std::string_view address, bool* suppressed,
                              Suppression* found = nullptr) = 0;
  virtual Status RemoveSuppression(std::string_view account, std::string_view address) = 0;  // NotFound
  virtual Status ListSuppressions(std::string_view account /* empty: all */, std::vector<Suppression>* out) = 0;

  // --- accounts ---
  virtual Status PutAccount(const Account& a) = 0;  // insert or replace, domains included
  virtual Status GetAccount(std::string_view name, Account* out) = 0;  // NotFound
  virtual Status ListAccounts(std::vector<Account>* out) = 0;
  virtual Status QuotaUsage(std::string_view account, std::string_view period, int64_t* used) = 0;
};

struct StoreOptions {
  Clock clock;                // default: SystemNow
  bool synchronous_full = true;  // false only for tests that measure without fsync
};

// Opens (creating when absent) the SQLite store at `path`.
Status OpenSqliteStore(const std::string& path, const StoreOptions& options, std::unique_ptr<Store>* out);

// The account-local period keys for quota counting at Unix time `now`:
// "d:YYYY-MM-DD" and "m:YYYY-MM". `timezone` is an IANA name or "UTC";
// an unknown name is treated as UTC.
void QuotaPeriods(std::string_view timezone, int64_t now, std::string* day, std::string* month);

// The domain part of an address, lower case ("" when there is no '@').
std::string AddressDomain(std::string_view address);

}  // namespace rebound::relay
