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

#include "delivery/dsn.h"
#include "delivery/service.h"
#include "delivery/smtp_client.h"
#include "relay/config.h"
#include "relay/store.h"

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

std::string_view PostfixCommandWords(SmtpCommand c) {
  switch (c) {
    case SmtpCommand::kMail: return "MAIL FROM";
    case SmtpCommand::kRcpt: return "RCPT TO";
    case SmtpCommand::kData: return "DATA";
    case SmtpCommand::kDataEnd: return "end of DATA";
    case SmtpCommand::kEhlo: return "EHLO";
    case SmtpCommand::kHelo: return "HELO";
    case SmtpCommand::kStartTls: return "STARTTLS";
    case SmtpCommand::kConnect: return "initial greeting";
    default: return "";
  }
}

bool IsOwnRelayCode(std::string_view reply) {
  for (RelayFailure f : {RelayFailure::kDnsTemporary, RelayFailure::kDnsNotFound, RelayFailure::kDnsNoData,
                         RelayFailure::kNullMx, RelayFailure::kUnreachable, RelayFailure::kConnectionLost}) {
    if (reply.rfind(RelayFailureReply(f), 0) == 0) return true;
  }
  return false;
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
  std::unordered_map<std::string, std::string> provider_of_;  // domain -> provider named by replies
  std::unordered_map<std::string, std::string> throttle_cause_;  // throttle key -> category
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

    std::vector<relay::AttemptRecord> records;
    std::vector<relay::RecipientRow> to_send;
    const int64_t now = Now();
    for (size_t i = 0; i < batch.rows.size(); ++i) {
      if (!loaded.suppressed[i]) {
        to_send.push_back(batch.rows[i]);
        continue;
      }
      relay::AttemptRecord a;
      a.recipient_id = batch.rows[i].id;
      a.new_state = relay::RecipientState::kSuppressed;
      a.time = now;
      a.reply = loaded.found[i].reply.empty() ? "on the suppression list" : loaded.found[i].reply;
      Verdict v = classifier_->Classify(a.reply, scratch_.get());
      a.category = std::string(CategoryName(v.category));
      a.reason = std::string(ReasonName(v.reason));
      a.rule = loaded.found[i].rule;
      a.decision = "suppressed";
      records.push_back(std::move(a));
    }
    std::vector<RecipientOutcome> outcomes;
    if (!to_send.empty()) {
      OutgoingMessage m;
      m.mail_from = loaded.message.info.mail_from;
      for (const auto& r : to_send) m.recipients.push_back(r.address);
      m.body = &loaded.message.body;
      outcomes = co_await session.Send(m);
    }
    co_await Dispose(domain, loaded.message, to_send, outcomes, session.mx(), session.ip(), std::move(records));
  }

  // Every waiting batch of the domain gets the same session failure.
  awaitable<void> FailRest(const std::string& domain, Batch first, const RecipientOutcome& o, std::string mx, std::string ip) {
    std::optional<Batch> b = std::move(first);
    while (b) {
      relay::Message msg;
      Status st = store_->ReadMessage(b->message_id, &msg);
      if (st.ok()) {
        std::vector<RecipientOutcome> outcomes(b->rows.size(), o);
        co_await Dispose(domain, msg, b->rows, outcomes, mx, ip, {});
      }
      Batch next;
      if (PopBatch(domain, &next)) b = std::move(next);
      else b.reset();
    }
  }

  // The destination is throttled: put the batch back, spread over the end of
  // the window, without trying it.
  awaitable<void> DeferThrottled(const std::string& domain, Batch first) {
    std::vector<relay::AttemptRecord> records;
    const int64_t now = Now();
    const std::string key = ThrottleKey(domain);
    std::optional<Batch> b = std::move(first);
    while (b) {
      for (const auto& r : b->rows) {
        relay::AttemptRecord a;
        a.recipient_id = r.id;
        a.new_state = relay::RecipientState::kDeferred;
        a.time = now;
        TimePoint ready = throttle_.ReadyAt(key, At(now), Draw());
        TimePoint deadline = At(r.queued_at) + opt_.retry.max_queue_age;
        a.next_attempt_at = Unix(std::min(ready, std::max(deadline, At(now + 1))));
        a.reply = "451 4.7.0 Rebound: deliveries to " + key + " are held by the throttle";
        a.category = throttle_cause_.count(key) ? throttle_cause_[key] : "ip_rate_limited";
        a.rule = "local.throttle";
        a.decision = "deferred";
        records.push_back(std::move(a));
      }
      Batch next;
      if (PopBatch(domain, &next)) b = std::move(next);
      else b.reset();
    }
    co_await Commit(std::move(records), {}, {}, nullptr);
  }

  // ---- classify, decide, commit --------------------------------------------

  struct History {
    int failures = 0;
    int mailbox_full = 0;
    int64_t first_mailbox_full = 0;
  };

  std::vector<History> LoadHistory(const std::vector<relay::RecipientRow>& rows, const std::vector<Verdict>& verdicts,
                                   int64_t message_id, int64_t since) {
    const size_t n = verdicts.size();
    std::vector<History> h(n);
    for (size_t i = 0; i < n; ++i) {
      if (verdicts[i].permanent || verdicts[i].category == Category::delivered) continue;
      relay::EventFilter f;
      f.message_id = message_id;
      f.recipient = rows[i].address;
      std::vector<relay::Event> ev;
      if (store_->ListEvents(f, &ev).ok()) {
        for (const auto& e : ev)
          h[i].failures += e.decision == "deferred" && e.category != "greylisted" && e.rule != "local.throttle";
      }
      if (verdicts[i].category == Category::mailbox_full) {
        // Every message to this address counts, oldest first; a delivery in
        // between means the mailbox works again and the count starts over.
        relay::EventFilter m;
        m.recipient = rows[i].address;
        m.since = since;
        ev.clear();
        if (store_->ListEvents(m, &ev).ok()) {
          for (const auto& e : ev) {
            if (e.decision == "delivered") {
              h[i].mailbox_full = 0;
              h[i].first_mailbox_full = 0;
            } else if (e.decision == "deferred" && e.category == "mailbox_full") {
              if (h[i].mailbox_full++ == 0) h[i].first_mailbox_full = e.time;
            }
          }
        }
      }
    }
    return h;
  }

  awaitable<void> Dispose(const std::string& domain, const relay::Message& msg, const std::vector<relay::RecipientRow>& rows,
                          const std::vector<RecipientOutcome>& outcomes, std::string mx, std::string ip,
                          std::vector<relay::AttemptRecord> records) {
    const size_t n = std::min(rows.size(), outcomes.size());
    std::vector<Verdict> verdicts(n);
    std::vector<std::string> raw(n);
    for (size_t i = 0; i < n; ++i) {
      const RecipientOutcome& o = outcomes[i];
      // Remote replies are classified as Postfix logs them, so rules that
      // depend on the command (RCPT vs end of DATA) see it.
      if (!mx.empty() && !IsOwnRelayCode(o.reply) && !PostfixCommandWords(o.command).empty()) {
        raw[i] = "host " + mx + "[" + ip + "] said: " + o.reply + " (in reply to " + std::string(PostfixCommandWords(o.command)) + " command)";
      } else {
        raw[i] = o.reply;
      }
      verdicts[i] = classifier_->Classify(raw[i], scratch_.get());
      if (!verdicts[i].provider.empty()) provider_of_[domain] = std::string(verdicts[i].provider);
    }
    // History for temporary failures: earlier failures of this recipient,
    // and earlier mailbox_full replies for this address.
    std::vector<History> history(n);
    bool need_history = false;
    for (size_t i = 0; i < n; ++i) need_history |= !verdicts[i].permanent && verdicts[i].category != Category::delivered;
    if (need_history) {
      const int64_t since = Now() - 2 * opt_.retry.mailbox_full_span.count();
      history = LoadHistory(rows, verdicts, msg.info.id, since);
    }

    const int64_t now = Now();
    const std::string key = ThrottleKey(domain);
    bool destination_acted = false;
    std::vector<relay::Suppression> suppressions;
    std::vector<DsnRecipient> dsn;
    for (size_t i = 0; i < n; ++i) {
      const Verdict& v = verdicts[i];
      DispositionInput in;
      in.verdict = v;
      in.scope = outcomes[i].scope;
      in.now = At(now);
      in.jitter_draw = Draw();
      in.history.failures = history[i].failures;
      in.history.first_queued = At(rows[i].queued_at ? rows[i].queued_at : msg.info.queued_at);
      in.history.mailbox_full_failures = history[i].mailbox_full;
      in.history.first_mailbox_full = At(history[i].first_mailbox_full);
      in.destination_ready_at = throttle_.ReadyAt(key, At(now), Draw());
      Disposition d = Decide(in, opt_.retry);
      // A destination acts once per message, not once per recipient: one
      // rate-limit reply repeated for ten recipients is one signal. Success
      // counts once too.
      if (d.destination != DestinationAction::kNone && !destination_acted) {
        throttle_.Apply(d.destination, key, At(now));
        if (d.destination == DestinationAction::kThrottle || d.destination == DestinationAction::kPause) {
          throttle_cause_[key] = std::string(CategoryName(v.category));
          destination_acted = true;
        }
      }
      if (d.decision == Decision::kDeferred && throttle_.Blocked(key, At(now))) {
        TimePoint ready = throttle_.ReadyAt(key, At(now), Draw());
        TimePoint deadline = in.history.first_queued + opt_.retry.max_queue_age;
        d.next_attempt = std::min(std::max(d.next_attempt, ready), std::max(deadline, At(now + 1)));
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
      if (d.suppress) {
        relay::Suppression s;
        s.account = msg.info.account;
        s.address = rows[i].address;
        s.reply = outcomes[i].reply;
        s.rule = std::string(v.rule);
        s.source = "bounce";
        s.time = now;
        suppressions.push_back(std::move(s));
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
      records.push_back(std::move(a));
    }
    std::optional<relay::NewMessage> notice;
    if (!dsn.empty()) {
      DsnInput in;
      in.reporting_mta = opt_.helo_name;
      in.original_sender = msg.info.mail_from;
      in.original_envelope_id = std::to_string(msg.info.id);
      in.original_message = msg.body;
      in.arrival_time = msg.info.queued_at;
      in.now = now;
      in.recipients = std::move(dsn);
      relay::NewMessage m;
      m.account = msg.info.account;
      m.mail_from = "";  // null sender: a notice never causes another notice
      m.recipients = {msg.info.mail_from};
      m.body = BuildDsn(in);
      m.client_ip = "127.0.0.1";
      m.helo = opt_.helo_name;
      notice = std::move(m);
    }
    co_await Commit(std::move(records), std::move(suppressions), std::move(notice), &msg);
  }

  Status CommitSync(const std::vector<relay::AttemptRecord>& records, const std::vector<relay::Suppression>& suppressions,
                    const std::optional<relay::NewMessage>& notice) {
    Status s = store_->RecordAttempts(records);
    if (!s.ok()) return s;
    if (!suppressions.empty()) {
      Status t = store_->AddSuppressions(suppressions);
      if (!t.ok()) return t;
    }
    if (notice) {
      int64_t id = 0;
      Status t = store_->Enqueue(*notice, &id);
      if (!t.ok()) return t;
    }
    return Status::Ok();
  }

  // One transaction for the attempts; suppressions and the notice right after.
  awaitable<void> Commit(std::vector<relay::AttemptRecord> records, std::vector<relay::Suppression> suppressions,
                         std::optional<relay::NewMessage> notice, const relay::Message* msg) {
    if (records.empty()) co_return;
    Status st = CommitSync(records, suppressions, notice);
    if (!st.ok()) fprintf(stderr, "rebound delivery: recording attempts: %s\n", st.ToString().c_str());
    Log(records, msg);
    std::lock_guard<std::mutex> lock(counters_mu_);
    for (const auto& r : records) {
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
    if (notice && st.ok()) ++counters_.dsns;
  }

  void Log(const std::vector<relay::AttemptRecord>& records, const relay::Message* msg) {
    if (!events_) return;
    std::string out;
    for (const auto& a : records) {
      nlohmann::json j;
      j["time"] = a.time;
      j["message_id"] = msg ? msg->info.id : 0;
      j["recipient_id"] = a.recipient_id;
      if (msg) {
        for (const auto& r : msg->info.recipients)
          if (r.id == a.recipient_id) j["recipient"] = r.address;
      }
      j["mx"] = a.mx;
      j["ip"] = a.ip;
      j["reply"] = a.reply;
      j["category"] = a.category;
      j["reason"] = a.reason;
      j["permanent"] = a.permanent;
      j["hard_bounce"] = a.hard_bounce;
      j["rule"] = a.rule;
      j["decision"] = a.decision;
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
  s = BuildClassifier({}, &classifier);
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
