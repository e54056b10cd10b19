// The delivery loop: claim -> group by destination -> route -> SMTP, one
// message at a time per connection; each message's outcomes are recorded
// (record_attempts.cc) before the next one goes out on that connection.
#include <utility>  // before Asio: Boost 1.74 awaitable.hpp needs std::exchange

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "delivery/relay_codes.h"
#include "delivery/service_impl.h"

namespace rebound::delivery {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;

awaitable<void> DeliveryService::Impl::Loop() {
  wake_ = std::make_unique<asio::steady_timer>(*strand_);
  while (!stopping_) {
    int n = co_await Pass();
    if (n > 0 || stopping_) continue;
    wake_->expires_after(opt_.poll_interval);
    boost::system::error_code ec;
    co_await wake_->async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

awaitable<int> DeliveryService::Impl::Pass() {
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

bool DeliveryService::Impl::PopBatch(const std::string& domain, Batch* out) {
  auto it = queues_.find(domain);
  if (it == queues_.end() || it->second.empty()) return false;
  *out = std::move(it->second.front());
  it->second.pop_front();
  return true;
}

awaitable<void> DeliveryService::Impl::WaitForConnectionSlot() {
  asio::steady_timer t(*strand_);
  while (active_connections_ >= opt_.max_connections) {
    t.expires_after(std::chrono::milliseconds(20));
    boost::system::error_code ec;
    co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
  }
  ++active_connections_;
}

SmtpClientOptions DeliveryService::Impl::ClientOptions(const std::string& domain) const {
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

// One session to a destination: it takes the domain's batches one by one
// until none is left, reopening the connection when the receiver or the
// per-connection cap closes it.
awaitable<void> DeliveryService::Impl::DomainSession(std::string domain) {
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

// One message on an open session: the recipients on the suppression list are
// recorded without being tried, the others sent; all of it committed at once.
awaitable<void> DeliveryService::Impl::DeliverBatch(const std::string& domain, Batch batch, SmtpSession& session) {
  relay::Message message;
  if (!store_->ReadMessage(batch.message_id, &message).ok()) co_return;  // deleted meanwhile: nothing to deliver

  Pending pending;
  std::vector<relay::RecipientRow> to_send;
  const int64_t now = Now();
  for (const auto& row : batch.rows) {
    bool suppressed = false;
    relay::Suppression found;
    if (store_->IsSuppressed(message.info.account, row.address, &suppressed, &found).ok() && suppressed) {
      DisposeSuppressed(row, batch.message_id, found, now, &pending);
    } else {
      to_send.push_back(row);
    }
  }
  std::vector<RecipientOutcome> outcomes;
  if (!to_send.empty()) {
    std::string body = message.body;
    Status filtered = Status::Ok();
    for (const auto& filter : body_filters_)
      if (filtered.ok()) filtered = filter(message.info, &body);
    if (!filtered.ok()) {
      // Not sent: a local failure the disposition reads as temporary.
      RecipientOutcome o;
      o.reply = PrepareFailureReply(filtered.message());
      o.scope = ReplyScope::kSession;
      outcomes.assign(to_send.size(), o);
    } else if (return_path_) {
      // One transaction per recipient, each with its own envelope sender.
      for (const auto& r : to_send) {
        OutgoingMessage m;
        m.mail_from = return_path_(message.info, r);
        m.recipients.push_back(r.address);
        m.body = &body;
        std::vector<RecipientOutcome> one = co_await session.Send(m);
        outcomes.push_back(one.empty() ? RecipientOutcome{} : std::move(one.front()));
      }
    } else {
      OutgoingMessage m;
      m.mail_from = message.info.mail_from;
      for (const auto& r : to_send) m.recipients.push_back(r.address);
      m.body = &body;
      outcomes = co_await session.Send(m);
    }
  }
  Dispose(domain, message, to_send, outcomes, session.mx(), session.ip(), nullptr, &pending);
  co_await Commit(std::move(pending));
}

// Every waiting batch of the domain gets the same session failure.
awaitable<void> DeliveryService::Impl::FailRest(const std::string& domain, Batch first, const RecipientOutcome& o,
                                                std::string mx, std::string ip) {
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
awaitable<void> DeliveryService::Impl::DeferThrottled(const std::string& domain, Batch first) {
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

}  // namespace rebound::delivery
