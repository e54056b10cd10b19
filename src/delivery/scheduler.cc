// The delivery loop: claim -> group by destination -> route -> SMTP ->
// classify -> disposition -> commit, one message at a time per connection.
#include <utility>  // before Asio: Boost 1.74 awaitable.hpp needs std::exchange

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <unordered_map>

#include "config/config.h"
#include "delivery/dsn.h"
#include "delivery/relay_codes.h"
#include "delivery/service.h"
#include "delivery/smtp_client.h"
#include "store/store.h"

namespace rebound::delivery {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;

namespace {

TimePoint At(int64_t unix_seconds) { return TimePoint(Seconds(unix_seconds)); }
int64_t Unix(TimePoint t) { return std::chrono::duration_cast<Seconds>(t.time_since_epoch()).count(); }

relay::RecipientState StateFor(Decision d) {
  switch (d) {
    case Decision::kDelivered: return relay::RecipientState::kDelivered;
    case Decision::kDeferred: return relay::RecipientState::kDeferred;
    case Decision::kBounced: return relay::RecipientState::kBounced;
    case Decision::kExpired: return relay::RecipientState::kExpired;
    case Decision::kSuppressed: return relay::RecipientState::kSuppressed;
  }
  return relay::RecipientState::kDeferred;
}

// The basic code a reply from the wire starts with (the SMTP client keeps
// it), 0 when there is none.
int WireCode(std::string_view reply) {
  if (reply.size() < 3 || reply[0] < '2' || reply[0] > '5' || !isdigit(static_cast<unsigned char>(reply[1])) ||
      !isdigit(static_cast<unsigned char>(reply[2])))
    return 0;
  if (reply.size() > 3 && reply[3] != ' ' && reply[3] != '-') return 0;
  return (reply[0] - '0') * 100 + (reply[1] - '0') * 10 + (reply[2] - '0');
}

TlsMode ParseTlsMode(std::string_view s, bool* ok) {
  *ok = true;
  if (s == "off" || s == "none") return TlsMode::kOff;
  if (s == "require" || s == "required") return TlsMode::kRequire;
  if (s == "opportunistic" || s == "may" || s.empty()) return TlsMode::kOpportunistic;
  *ok = false;
  return TlsMode::kOpportunistic;
}

}  // namespace

class DeliveryService::Impl {
 public:
  Impl(const DeliveryOptions& o, relay::Store* store, const Classifier* classifier, std::unique_ptr<Resolver> resolver)
      : opt_(o), store_(store), classifier_(classifier), scratch_(classifier->NewScratch()),
        resolver_(std::move(resolver)), tls_(asio::ssl::context::tls_client), throttle_(o.throttle),
        rng_(std::random_device{}()) {
    tls_.set_verify_mode(asio::ssl::verify_none);  // opportunistic encryption, as MTAs do between each other
    if (!opt_.clock) opt_.clock = relay::SystemNow;
    if (!opt_.events_log.empty()) events_ = fopen(opt_.events_log.c_str(), "a");
  }
  ~Impl() {
    if (events_) fclose(events_);
  }

  DeliveryOptions opt_;
  relay::Store* store_;
  const Classifier* classifier_;
  Classifier::ScratchPtr scratch_;
  std::unique_ptr<Resolver> resolver_;
  asio::ssl::context tls_;
  DestinationThrottle throttle_;
  std::mt19937_64 rng_;
  ReplyParser parser_;
  std::unordered_map<std::string, std::string> provider_of_;  // domain -> provider named by replies
  std::unordered_map<std::string, Verdict> throttle_cause_;  // throttle key -> the verdict that throttled it
  std::optional<asio::strand<asio::io_context::executor_type>> strand_;
  std::unique_ptr<asio::steady_timer> wake_;
  std::atomic<bool> stopping_{false};
  int active_connections_ = 0;
  FILE* events_ = nullptr;
  mutable std::mutex counters_mu_;
  DeliveryCounters counters_;

  struct Batch {
    int64_t message_id = 0;
    std::vector<relay::RecipientRow> rows;
  };
  std::unordered_map<std::string, std::deque<Batch>> queues_;
  int running_tasks_ = 0;
  asio::steady_timer* join_ = nullptr;  // lives in the running Pass()

  int64_t Now() const { return opt_.clock(); }
  double Draw() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }
  std::string ThrottleKey(const std::string& domain) const {
    auto it = provider_of_.find(domain);
    return it == provider_of_.end() ? domain : it->second;
  }


  SmtpClientOptions ClientOptions(const std::string& domain) const {
    SmtpClientOptions c;
    c.helo_name = opt_.helo_name;
    bool ok;
    auto it = opt_.tls_per_domain.find(domain);
    c.tls = ParseTlsMode(it == opt_.tls_per_domain.end() ? opt_.tls : it->second, &ok);
    using S = std::chrono::seconds;
    c.connect_timeout = S(opt_.connect_timeout);
    c.greeting_timeout = S(opt_.greeting_timeout);
    c.command_timeout = S(opt_.command_timeout);
    c.data_init_timeout = S(opt_.data_init_timeout);
    c.data_block_timeout = S(opt_.data_block_timeout);
    c.data_end_timeout = S(opt_.data_end_timeout);
    return c;
  }

  // ---- one pass -----------------------------------------------------------

  awaitable<int> Pass() {
    const int64_t now = Now();
    std::vector<relay::RecipientRow> rows;
    Status st = store_->ClaimDue(now, opt_.claim_batch, opt_.lease_seconds, &rows);
    if (!st.ok()) {
      fprintf(stderr, "rebound delivery: claiming due recipients: %s\n", st.ToString().c_str());
      co_return 0;
    }
    if (rows.empty()) co_return 0;
    for (auto& r : rows) {
      auto& q = queues_[r.domain];
      if (q.empty() || q.back().message_id != r.message_id) q.push_back(Batch{r.message_id, {}});
      q.back().rows.push_back(std::move(r));
    }
    asio::steady_timer join(*strand_);
    join_ = &join;
    std::vector<std::string> domains;
    for (auto& [domain, q] : queues_) domains.push_back(domain);
    for (const auto& domain : domains) {
      int sessions = std::min<int>(throttle_.AllowedConnections(ThrottleKey(domain)),
                                   static_cast<int>(queues_[domain].size()));
      for (int i = 0; i < std::max(1, sessions); ++i) {
        ++running_tasks_;
        asio::co_spawn(*strand_, DomainSession(domain), [this](std::exception_ptr e) {
          if (e) {
            try {
              std::rethrow_exception(e);
            } catch (const std::exception& ex) {
              fprintf(stderr, "rebound delivery: session failed: %s\n", ex.what());
            }
          }
          if (--running_tasks_ == 0 && join_) join_->cancel();
        });
      }
    }
    while (running_tasks_ > 0) {
      join.expires_after(std::chrono::hours(1));
      boost::system::error_code ec;
      co_await join.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    join_ = nullptr;
    queues_.clear();
    co_return static_cast<int>(rows.size());
  }

  bool PopBatch(const std::string& domain, Batch* out) {
    auto it = queues_.find(domain);
    if (it == queues_.end() || it->second.empty()) return false;
    *out = std::move(it->second.front());
    it->second.pop_front();
    return true;
  }

  awaitable<void> WaitForConnectionSlot() {
    asio::steady_timer t(*strand_);
    while (active_connections_ >= opt_.max_connections) {
      t.expires_after(std::chrono::milliseconds(20));
      boost::system::error_code ec;
      co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    ++active_connections_;
  }

  awaitable<void> DomainSession(std::string domain) {
    Batch first;
    if (!PopBatch(domain, &first)) co_return;  // another session of this domain took everything
    if (throttle_.Blocked(ThrottleKey(domain), At(Now()))) {
      co_await DeferThrottled(domain, std::move(first));
      co_return;
    }
    Route route = resolver_->Resolve(domain);
    if (route.status != RouteStatus::kOk) {
      RecipientOutcome o;
      o.reply = std::string(RelayFailureReply(route.failure()));
      if (!route.detail.empty()) o.reply += " (" + route.detail + ")";
      o.relay_failure = route.failure();
      o.command = SmtpCommand::kConnect;
      o.scope = ReplyScope::kSession;
      co_await FailRest(domain, std::move(first), o, "", "");
      co_return;
    }
    co_await WaitForConnectionSlot();
    SmtpSession session(*strand_, tls_, ClientOptions(domain));
    RecipientOutcome failure;
    bool open = co_await session.Open(route, &failure);
    if (!open) {
      --active_connections_;
      co_await FailRest(domain, std::move(first), failure, session.mx(), session.ip());
      co_return;
    }
    std::optional<Batch> next = std::move(first);
    int reopened = 0;
    while (next) {
      if (throttle_.Blocked(ThrottleKey(domain), At(Now()))) {
        co_await DeferThrottled(domain, std::move(*next));
        break;
      }
      if (!session.usable() || session.messages_sent() >= opt_.max_messages_per_connection) {
        co_await session.Quit();
        bool again = false;
        if (reopened++ < 3) again = co_await session.Open(route, &failure);
        if (!again) {
          co_await FailRest(domain, std::move(*next), failure, session.mx(), session.ip());
          break;
        }
      }
      co_await DeliverBatch(domain, std::move(*next), session);
      Batch b;
      if (PopBatch(domain, &b)) next = std::move(b);
      else next.reset();
    }
    co_await session.Quit();
    --active_connections_;
  }

  // ---- one message on an open session --------------------------------------

  struct Loaded {
    Status status;
    relay::Message message;
    std::vector<bool> suppressed;
    std::vector<relay::Suppression> found;
  };

  void Load(const Batch& batch, Loaded* l) {
    l->status = store_->ReadMessage(batch.message_id, &l->message);
    if (!l->status.ok()) return;
    l->suppressed.resize(batch.rows.size());
    l->found.resize(batch.rows.size());
    for (size_t i = 0; i < batch.rows.size(); ++i) {
      bool s = false;
      if (store_->IsSuppressed(l->message.info.account, batch.rows[i].address, &s, &l->found[i]).ok()) l->suppressed[i] = s;
    }
  }

  awaitable<void> DeliverBatch(const std::string& domain, Batch batch, SmtpSession& session) {
    Loaded loaded;
    Load(batch, &loaded);
    if (!loaded.status.ok()) co_return;  // deleted meanwhile: nothing to deliver

    Pending pending;
    std::vector<relay::RecipientRow> to_send;
    const int64_t now = Now();
    for (size_t i = 0; i < batch.rows.size(); ++i) {
      if (!loaded.suppressed[i]) {
        to_send.push_back(batch.rows[i]);
        continue;
      }
      // Not tried: the address is on the account's suppression list. The
      // record carries the reply and rule that put it there.
      relay::AttemptRecord a;
      a.recipient_id = batch.rows[i].id;
      a.time = now;
      a.reply = loaded.found[i].reply.empty() ? "on the suppression list" : loaded.found[i].reply;
      DispositionInput in;
      in.verdict = classifier_->Classify(a.reply, scratch_.get());
      in.now = At(now);
      in.history.first_queued = At(batch.rows[i].queued_at);
      in.history.failures = batch.rows[i].failures;
      in.address_suppressed = true;
      Disposition d = Decide(in, opt_.retry);
      a.new_state = StateFor(d.decision);
      a.category = std::string(CategoryName(in.verdict.category));
      a.reason = std::string(ReasonName(in.verdict.reason));
      a.rule = loaded.found[i].rule;
      a.decision = std::string(DecisionName(d.decision));
      a.counts_as_failure = d.counts_as_failure;
      pending.Add(std::move(a), batch.message_id, batch.rows[i].address, d.why);
    }
    std::vector<RecipientOutcome> outcomes;
    if (!to_send.empty()) {
      OutgoingMessage m;
      m.mail_from = loaded.message.info.mail_from;
      for (const auto& r : to_send) m.recipients.push_back(r.address);
      m.body = &loaded.message.body;
      outcomes = co_await session.Send(m);
    }
    Dispose(domain, loaded.message, to_send, outcomes, session.mx(), session.ip(), nullptr, &pending);
    co_await Commit(std::move(pending));
  }

  // Every waiting batch of the domain gets the same session failure.
  awaitable<void> FailRest(const std::string& domain, Batch first, const RecipientOutcome& o, std::string mx, std::string ip) {
    std::optional<Batch> b = std::move(first);
    while (b) {
      relay::Message msg;
      Status st = store_->ReadMessage(b->message_id, &msg);
      if (st.ok()) {
        std::vector<RecipientOutcome> outcomes(b->rows.size(), o);
        Pending pending;
        Dispose(domain, msg, b->rows, outcomes, mx, ip, nullptr, &pending);
        co_await Commit(std::move(pending));
      }
      Batch next;
      if (PopBatch(domain, &next)) b = std::move(next);
      else b.reset();
    }
  }

  // The destination is held by the throttle: no connection. Each recipient
  // still goes through Decide() (deferred to the end of the window, spread,
  // or expired once its queue lifetime is over), with the verdict that
  // throttled the destination; all of them in one commit.
  awaitable<void> DeferThrottled(const std::string& domain, Batch first) {
    const std::string key = ThrottleKey(domain);
    const Verdict held_by = HeldVerdict(key);
    const std::string reply = ThrottleHoldReply(key);
    Pending pending;
    std::optional<Batch> b = std::move(first);
    while (b) {
      relay::Message msg;  // the body is read only if a notice needs it
      if (store_->GetMessageInfo(b->message_id, &msg.info).ok()) {
        RecipientOutcome o;
        o.reply = reply;
        o.scope = ReplyScope::kSession;
        std::vector<RecipientOutcome> outcomes(b->rows.size(), o);
        Dispose(domain, msg, b->rows, outcomes, "", "", &held_by, &pending);
      }
      Batch next;
      if (PopBatch(domain, &next)) b = std::move(next);
      else b.reset();
    }
    co_await Commit(std::move(pending));
  }

  // The verdict recorded for a recipient held by the throttle: the one that
  // throttled (or paused) the destination, as a temporary failure of
  // Rebound's own rule.
  Verdict HeldVerdict(const std::string& key) const {
    Verdict v;
    v.category = Category::ip_rate_limited;
    if (auto it = throttle_cause_.find(key); it != throttle_cause_.end()) v = it->second;
    v.permanent = false;
    v.hard_bounce = false;
    v.retry_after = 0;
    v.rule = kThrottleHoldRule;
    v.tier = RuleTier::kNone;
    return v;
  }

  // ---- classify, decide, commit --------------------------------------------

  // What the dispositions of one or more messages commit together.
  struct Pending {
    std::vector<relay::AttemptRecord> records;
    // For the log: each record's message id and address, and Decide()'s why.
    std::vector<std::pair<int64_t, std::string>> about;
    std::vector<std::string_view> why;
    std::vector<relay::Suppression> suppressions;
    std::vector<relay::NewMessage> notices;
    void Add(relay::AttemptRecord a, int64_t message_id, std::string address, std::string_view reason) {
      records.push_back(std::move(a));
      about.emplace_back(message_id, std::move(address));
      why.push_back(reason);
    }
  };

  struct MailboxFullHistory {
    int failures = 0;
    int64_t first = 0;
  };

  // Earlier mailbox_full replies for this address, any message, oldest
  // first; a delivery in between means the mailbox works again and the count
  // starts over.
  MailboxFullHistory LoadMailboxFullHistory(const std::string& address, int64_t since) {
    MailboxFullHistory h;
    relay::EventFilter m;
    m.recipient = address;
    m.since = since;
    std::vector<relay::Event> ev;
    if (!store_->ListEvents(m, &ev).ok()) return h;
    for (const auto& e : ev) {
      if (e.decision == "delivered") {
        h = {};
      } else if (e.decision == "deferred" && e.category == "mailbox_full") {
        if (h.failures++ == 0) h.first = e.time;
      }
    }
    return h;
  }

  // The reply as the session received it, with the command it answered and
  // the host that said it; Rebound's own relay codes answer no command.
  Verdict ClassifyOutcome(const RecipientOutcome& o, const std::string& host) {
    Reply r = parser_.Parse(o.reply);
    if (!o.relay_failure) {
      // The parser peels the wrappers of pasted text, and a receiver's own
      // words can look like one ("451 4.3.0 Deferred, the scanner said:
      // busy"). When that loses the code the receiver sent, read the reply
      // again behind the session's own "host ... said:", so that only that
      // one is peeled.
      if (r.code != WireCode(o.reply) && !host.empty()) r = parser_.Parse("host " + host + " said: " + o.reply);
      r.command = o.command;
      if (!host.empty()) r.remote_host = host;
    }
    return classifier_->Classify(r, scratch_.get());
  }

  // Classifies each outcome (or takes `held_by`: every row is held by the
  // throttle), asks Decide() what to do, and adds the records, suppressions
  // and notice to `out`.
  void Dispose(const std::string& domain, const relay::Message& msg, const std::vector<relay::RecipientRow>& rows,
               const std::vector<RecipientOutcome>& outcomes, const std::string& mx, const std::string& ip,
               const Verdict* held_by, Pending* out) {
    const size_t n = std::min(rows.size(), outcomes.size());
    const std::string host = mx.empty() ? std::string() : mx + "[" + ip + "]";
    std::vector<Verdict> verdicts(n);
    for (size_t i = 0; i < n; ++i) {
      if (held_by) {
        verdicts[i] = *held_by;
        continue;
      }
      verdicts[i] = ClassifyOutcome(outcomes[i], host);
      if (!verdicts[i].provider.empty()) provider_of_[domain] = std::string(verdicts[i].provider);
    }

    const int64_t now = Now();
    const std::string key = ThrottleKey(domain);
    bool destination_acted = false;
    std::vector<DsnRecipient> dsn;
    for (size_t i = 0; i < n; ++i) {
      const Verdict& v = verdicts[i];
      DispositionInput in;
      in.verdict = v;
      in.scope = outcomes[i].scope;
      in.now = At(now);
      in.jitter_draw = Draw();
      in.history.failures = rows[i].failures;
      in.history.first_queued = At(rows[i].queued_at ? rows[i].queued_at : msg.info.queued_at);
      if (v.category == Category::mailbox_full && !v.permanent && !held_by) {
        MailboxFullHistory h = LoadMailboxFullHistory(rows[i].address, now - 2 * opt_.retry.mailbox_full_span.count());
        in.history.mailbox_full_failures = h.failures;
        in.history.first_mailbox_full = At(h.first);
      }
      in.destination_ready_at = throttle_.ReadyAt(key, At(now), Draw());
      in.destination_held = held_by != nullptr;
      Disposition d = Decide(in, opt_.retry);
      // A destination acts once per message, not once per recipient: one
      // rate-limit reply repeated for ten recipients is one signal. Success
      // counts once too.
      if (d.destination != DestinationAction::kNone && !destination_acted) {
        throttle_.Apply(d.destination, key, At(now));
        if (d.destination == DestinationAction::kThrottle || d.destination == DestinationAction::kPause) {
          throttle_cause_[key] = v;
          throttle_cause_[key].reference = {};  // may point into the parser's buffer, which the next reply reuses
          destination_acted = true;
          // What this reply did to the destination is part of what becomes
          // of the recipient: decide again with the window it opened.
          in.destination_ready_at = throttle_.ReadyAt(key, At(now), Draw());
          d = Decide(in, opt_.retry);
        }
      }
      relay::AttemptRecord a;
      a.recipient_id = rows[i].id;
      a.new_state = StateFor(d.decision);
      a.next_attempt_at = d.decision == Decision::kDeferred ? Unix(d.next_attempt) : 0;
      a.time = now;
      a.mx = mx;
      a.ip = ip;
      a.reply = outcomes[i].reply;
      a.category = std::string(CategoryName(v.category));
      a.reason = std::string(ReasonName(v.reason));
      a.rule = std::string(v.rule);
      a.permanent = v.permanent;
      a.hard_bounce = v.hard_bounce;
      a.decision = std::string(DecisionName(d.decision));
      a.counts_as_failure = d.counts_as_failure;
      if (d.suppress) {
        relay::Suppression s;
        s.account = msg.info.account;
        s.address = rows[i].address;
        s.reply = outcomes[i].reply;
        s.rule = std::string(v.rule);
        s.source = "bounce";
        s.time = now;
        out->suppressions.push_back(std::move(s));
      }
      if (d.send_dsn && opt_.bounce_notices && !msg.info.mail_from.empty()) {
        DsnRecipient r;
        r.address = rows[i].address;
        r.reply = outcomes[i].reply;
        r.remote_mta = mx;
        r.expired = d.decision == Decision::kExpired;
        r.explanation = std::string(v.solution_en.empty() ? v.action : v.solution_en);
        dsn.push_back(std::move(r));
      }
      if (d.alert) Alert(msg.info.id, rows[i].address, key, a);
      out->Add(std::move(a), msg.info.id, rows[i].address, d.why);
    }
    if (!dsn.empty()) {
      relay::Message full;  // DeferThrottled reads the message without its body
      const relay::Message* m = &msg;
      if (held_by && store_->ReadMessage(msg.info.id, &full).ok()) m = &full;
      DsnInput in;
      in.reporting_mta = opt_.helo_name;
      in.original_sender = m->info.mail_from;
      in.original_envelope_id = std::to_string(m->info.id);
      in.original_message = m->body;
      in.arrival_time = m->info.queued_at;
      in.now = now;
      in.recipients = std::move(dsn);
      relay::NewMessage notice;
      notice.account = m->info.account;
      notice.mail_from = "";  // null sender: a notice never causes another notice
      notice.recipients = {m->info.mail_from};
      notice.body = BuildDsn(in);
      notice.client_ip = "127.0.0.1";
      notice.helo = opt_.helo_name;
      out->notices.push_back(std::move(notice));
    }
  }

  Status CommitSync(const Pending& p) {
    Status s = store_->RecordAttempts(p.records);
    if (!s.ok()) return s;
    if (!p.suppressions.empty()) {
      Status t = store_->AddSuppressions(p.suppressions);
      if (!t.ok()) return t;
    }
    for (const auto& notice : p.notices) {
      int64_t id = 0;
      Status t = store_->Enqueue(notice, &id);
      if (!t.ok()) return t;
    }
    return Status::Ok();
  }

  // One transaction for the attempts; suppressions and the notices right after.
  awaitable<void> Commit(Pending p) {
    if (p.records.empty()) co_return;
    Status st = CommitSync(p);
    if (!st.ok()) fprintf(stderr, "rebound delivery: recording attempts: %s\n", st.ToString().c_str());
    Log(p);
    std::lock_guard<std::mutex> lock(counters_mu_);
    for (const auto& r : p.records) {
      ++counters_.attempts;
      switch (r.new_state) {
        case relay::RecipientState::kDelivered: ++counters_.delivered; break;
        case relay::RecipientState::kDeferred: ++counters_.deferred; break;
        case relay::RecipientState::kBounced: ++counters_.bounced; break;
        case relay::RecipientState::kExpired: ++counters_.expired; break;
        case relay::RecipientState::kSuppressed: ++counters_.suppressed; break;
        default: break;
      }
    }
    if (st.ok()) counters_.dsns += static_cast<int64_t>(p.notices.size());
  }

  void Log(const Pending& p) {
    if (!events_) return;
    std::string out;
    for (size_t i = 0; i < p.records.size(); ++i) {
      const relay::AttemptRecord& a = p.records[i];
      nlohmann::json j;
      j["time"] = a.time;
      j["message_id"] = p.about[i].first;
      j["recipient_id"] = a.recipient_id;
      j["recipient"] = p.about[i].second;
      j["mx"] = a.mx;
      j["ip"] = a.ip;
      j["reply"] = a.reply;
      j["category"] = a.category;
      j["reason"] = a.reason;
      j["permanent"] = a.permanent;
      j["hard_bounce"] = a.hard_bounce;
      j["rule"] = a.rule;
      j["decision"] = a.decision;
      if (!p.why[i].empty()) j["why"] = p.why[i];
      j["state"] = relay::RecipientStateName(a.new_state);
      if (a.next_attempt_at) j["next_attempt_at"] = a.next_attempt_at;
      out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      out += '\n';
    }
    fwrite(out.data(), 1, out.size(), events_);
    fflush(events_);
  }

  void Alert(int64_t message_id, const std::string& recipient, const std::string& destination, const relay::AttemptRecord& a) {
    nlohmann::json j;
    j["time"] = Now();
    j["alert"] = "destination_paused";
    j["destination"] = destination;
    j["message_id"] = message_id;
    j["recipient"] = recipient;
    j["reply"] = a.reply;
    j["category"] = a.category;
    j["rule"] = a.rule;
    j["paused_seconds"] = opt_.throttle.blocklist_pause.count();
    std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    fprintf(stderr, "rebound delivery: ALERT %s\n", line.c_str());
    if (events_) {
      line += '\n';
      fwrite(line.data(), 1, line.size(), events_);
      fflush(events_);
    }
  }

  awaitable<void> Loop() {
    wake_ = std::make_unique<asio::steady_timer>(*strand_);
    while (!stopping_) {
      int n = co_await Pass();
      if (n > 0 || stopping_) continue;
      wake_->expires_after(opt_.poll_interval);
      boost::system::error_code ec;
      co_await wake_->async_wait(asio::redirect_error(use_awaitable, ec));
    }
  }
};

Status DeliveryService::Create(const DeliveryOptions& options, relay::Store* store, const Classifier* classifier,
                               std::unique_ptr<DeliveryService>* out) {
  if (!store || !classifier) return Status::InvalidArgument("delivery: store and classifier are required");
  bool ok;
  ParseTlsMode(options.tls, &ok);
  if (!ok) return Status::InvalidArgument("delivery.tls: expected off, opportunistic or require, got \"" + options.tls + "\"");
  for (const auto& [domain, mode] : options.tls_per_domain) {
    ParseTlsMode(mode, &ok);
    if (!ok) return Status::InvalidArgument("tls.\"" + domain + "\": expected off, opportunistic or require, got \"" + mode + "\"");
  }
  if (options.max_connections < 1 || options.claim_batch < 1 || options.lease_seconds < 1)
    return Status::InvalidArgument("delivery: max_connections, claim_batch and lease_seconds must be positive");
  std::unique_ptr<Resolver> resolver;
  Status s = Resolver::Create(options.dns, &resolver);
  if (!s.ok()) return s;
  auto impl = std::make_unique<Impl>(options, store, classifier, std::move(resolver));
  if (!options.events_log.empty() && !impl->events_)
    return Status::IoError("delivery: cannot open the events log " + options.events_log);
  out->reset(new DeliveryService(std::move(impl)));
  return Status::Ok();
}

DeliveryService::DeliveryService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DeliveryService::~DeliveryService() { Stop(); }

void DeliveryService::Start(asio::io_context& io) {
  impl_->strand_.emplace(asio::make_strand(io));
  asio::co_spawn(*impl_->strand_, impl_->Loop(), asio::detached);
}

void DeliveryService::Stop() {
  impl_->stopping_ = true;
  Wake();
}

void DeliveryService::Wake() {
  if (!impl_->strand_) return;
  Impl* impl = impl_.get();
  asio::post(*impl_->strand_, [impl] {
    if (impl->wake_) impl->wake_->cancel();
  });
}

int DeliveryService::RunOnce(asio::io_context& io) {
  impl_->strand_.emplace(asio::make_strand(io));
  int n = 0;
  struct Runner {
    Impl* impl;
    int* n;
    awaitable<void> operator()() {
      int r = co_await impl->Pass();
      *n = r;
    }
  };
  asio::co_spawn(*impl_->strand_, Runner{impl_.get(), &n}, asio::detached);
  io.restart();
  io.run();
  impl_->strand_.reset();  // io may go away after this call
  return n;
}

DeliveryCounters DeliveryService::counters() const {
  std::lock_guard<std::mutex> lock(impl_->counters_mu_);
  return impl_->counters_;
}

Status StartDelivery(const relay::Config& config, const std::string& config_path, relay::Store* store,
                     asio::io_context& io, std::unique_ptr<DeliveryService>* out) {
  out->reset();
  if (!config.Bool("delivery.enabled")) return Status::Ok();
  DeliveryOptions options;
  Status s = DeliveryOptionsFromConfig(config, config_path, &options);
  if (!s.ok()) return s;
  std::unique_ptr<const Classifier> classifier;
  s = BuildClassifier(config.StringList("classifier.rules"), &classifier);
  if (!s.ok()) return s;
  std::unique_ptr<DeliveryService> service;
  s = DeliveryService::Create(options, store, classifier.get(), &service);
  if (!s.ok()) return s;
  service->owned_classifier_ = std::move(classifier);
  service->Start(io);
  *out = std::move(service);
  return Status::Ok();
}

}  // namespace rebound::delivery
