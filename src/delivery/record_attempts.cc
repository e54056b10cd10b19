// Recording attempts: each recipient's reply classified, Decide() asked what
// to do, and the outcome committed (attempt rows, suppressions, bounce
// notices), then written to the events log.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/civil_time.h"
#include "core/text.h"
#include "delivery/dsn.h"
#include "delivery/relay_codes.h"
#include "delivery/service_impl.h"
#include "metrics/metrics.h"

namespace rebound::delivery {

namespace {

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

}  // namespace

namespace {

// Drops from a reply's text the code and status it repeats: the client joins
// a multi-line reply's lines, each of which may repeat the status ("The
// account ... 5.1.1 double-checking ..."), and some receivers flatten the
// lines themselves ("... receiving 450-4.2.1 mail at a rate ...").
std::string DropRepeats(std::string_view text, int code, const EnhancedStatus& status) {
  char buf[12];
  const std::string_view status_text = status.Format(buf);
  const std::string code_text = code ? std::to_string(code) : std::string();
  std::vector<std::string_view> words;
  for (size_t from = 0; from < text.size();) {
    size_t sp = std::min(text.find(' ', from), text.size());
    words.push_back(text.substr(from, sp - from));
    from = sp + 1;
  }
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    std::string_view word = words[i];
    if (i > 0 && !status_text.empty() && word == status_text) continue;
    if (i > 0 && !code_text.empty()) {
      if (word == code_text && i + 1 < words.size() && words[i + 1] == status_text) {
        ++i;
        continue;
      }
      if (word.size() >= 4 && word.substr(0, 3) == code_text && word[3] == '-') {
        word.remove_prefix(4);
        if (word.empty() || word == status_text) continue;
      }
    }
    if (!out.empty()) out += ' ';
    out.append(word);
  }
  return out;
}

}  // namespace

Reply WireReply(std::string_view wire, std::string* text) {
  Reply r;
  std::string_view rest = wire;
  const bool coded = wire.size() >= 3 && wire[0] >= '2' && wire[0] <= '5' && text::IsDigit(wire[1]) &&
                     text::IsDigit(wire[2]) && (wire.size() == 3 || wire[3] == ' ' || wire[3] == '-');
  if (coded) {
    r.code = (wire[0] - '0') * 100 + (wire[1] - '0') * 10 + (wire[2] - '0');
    rest.remove_prefix(std::min<size_t>(4, wire.size()));
  }
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  EnhancedStatus status;
  if (size_t n = ParseEnhancedStatus(rest, &status); n && (r.code == 0 || status.klass == r.code / 100)) {
    r.status = status;
    rest.remove_prefix(n);
  }
  std::string clean, collapsed;
  text::AppendCleanUtf8(rest, &clean);
  text::AppendCollapsed(clean, &collapsed);
  *text = DropRepeats(collapsed, r.code, r.status);
  r.text = *text;
  return r;
}

// --- classify and decide ---------------------------------------------------

// The reply as the session received it, built from its parts: the code and
// status it starts with, the command it answered and the host that said it.
// Rebound's own relay codes answer no command of the receiver's.
Verdict DeliveryService::Impl::ClassifyOutcome(const RecipientOutcome& o, const std::string& host) {
  Reply r = WireReply(o.reply, &reply_text_);
  if (!o.relay_failure) {
    r.command = o.command;
    r.remote_host = host;
  }
  return classifier_->Classify(r, scratch_.get());
}

// Earlier mailbox_full replies for this address, any message, oldest
// first; a delivery in between means the mailbox works again and the count
// starts over.
DeliveryService::Impl::MailboxFullHistory DeliveryService::Impl::LoadMailboxFullHistory(const std::string& address,
                                                                                         int64_t since) {
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

// The verdict recorded for a recipient held by the throttle: the one that
// throttled (or paused) the destination, as a temporary failure of
// Rebound's own rule.
Verdict DeliveryService::Impl::HeldVerdict(const std::string& key) const {
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

void DeliveryService::Impl::DisposeSuppressed(const relay::RecipientRow& row, int64_t message_id,
                                              const relay::Suppression& found, int64_t now, Pending* out) {
  // The record carries the reply and rule that put the address on the list.
  relay::AttemptRecord a;
  a.recipient_id = row.id;
  a.time = now;
  a.reply = found.reply.empty() ? "on the suppression list" : found.reply;
  DispositionInput in;
  in.verdict = classifier_->Classify(a.reply, scratch_.get());
  in.now = At(now);
  in.history.first_queued = At(row.queued_at);
  in.history.failures = row.failures;
  in.address_suppressed = true;
  Disposition d = Decide(in, opt_.retry);
  a.new_state = StateFor(d.decision);
  a.category = std::string(CategoryName(in.verdict.category));
  a.reason = std::string(ReasonName(in.verdict.reason));
  a.rule = found.rule;
  a.decision = std::string(DecisionName(d.decision));
  a.counts_as_failure = d.counts_as_failure;
  metrics::DeliveryOutcome(a.decision, a.category, row.domain, "", now - row.queued_at);
  out->Add(std::move(a), message_id, row.address, d.why);
}

void DeliveryService::Impl::Dispose(const std::string& domain, const relay::Message& msg,
                                    const std::vector<relay::RecipientRow>& rows,
                                    const std::vector<RecipientOutcome>& outcomes, const std::string& mx,
                                    const std::string& ip, const Verdict* held_by, Pending* out) {
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
      metrics::DestinationThrottle(key, throttle_.Window(key).count(),
                                   throttle_.Blocked(key, At(now)) ? Unix(throttle_.ReadyAt(key, At(now), 0)) : 0);
      if (d.destination == DestinationAction::kThrottle || d.destination == DestinationAction::kPause) {
        throttle_cause_[key] = v;
        throttle_cause_[key].reference = {};  // may point into reply_text_, which the next reply reuses
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
    metrics::DeliveryOutcome(a.decision, a.category, domain, v.provider,
                             now - (rows[i].queued_at ? rows[i].queued_at : msg.info.queued_at));
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

// --- commit and log --------------------------------------------------------

Status DeliveryService::Impl::CommitSync(const Pending& p) {
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

boost::asio::awaitable<void> DeliveryService::Impl::Commit(Pending p) {
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

void DeliveryService::Impl::Log(const Pending& p) {
  if (!events_) return;
  std::string out;
  for (size_t i = 0; i < p.records.size(); ++i) {
    const relay::AttemptRecord& a = p.records[i];
    nlohmann::json j;
    j["ts"] = FormatTime(a.time * 1000, TimeFormat::kIsoMillis);
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

void DeliveryService::Impl::Alert(int64_t message_id, const std::string& recipient, const std::string& destination,
                                  const relay::AttemptRecord& a) {
  nlohmann::json j;
  j["ts"] = FormatTime(NowUnixMillis(), TimeFormat::kIsoMillis);
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

}  // namespace rebound::delivery
