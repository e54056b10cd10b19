// delivery/service_impl.h: the inside of DeliveryService, internal to
// src/delivery. Three files share it, one job each:
//
//   service.cc          wiring: options checked, the service created, started,
//                       stopped and woken; StartDelivery for `rebound serve`
//   scheduler.cc        the loop: a pass claims what is due, groups it by
//                       destination and runs sessions (connect, send, hold
//                       by the throttle, fail what waits behind a failure)
//   record_attempts.cc  one attempt per recipient: the reply classified,
//                       Decide() asked, the outcome committed to the store,
//                       the events log, suppressions and bounce notices
//
// Threads: everything here runs on strand_; only counters_ is read from
// other threads (under counters_mu_).
#pragma once

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp needs std::exchange

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <cstdio>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "delivery/service.h"
#include "delivery/smtp_client.h"
#include "store/store.h"

namespace rebound::delivery {

inline TimePoint At(int64_t unix_seconds) { return TimePoint(Seconds(unix_seconds)); }

// A reply as the SMTP client keeps it ("550 5.1.1 <x>: User unknown", its
// lines joined) in its parts: the code, the enhanced status, and the text,
// cleaned into *text, which the Reply's views point into. A reply from the
// wire has no wrapper to peel, whatever its words look like.
Reply WireReply(std::string_view wire, std::string* text);

// The TLS mode a config value names; *ok is false for an unknown one.
TlsMode ParseTlsMode(std::string_view s, bool* ok);

class DeliveryService::Impl {
 public:
  Impl(const DeliveryOptions& o, relay::Store* store, const Classifier* classifier, std::unique_ptr<Resolver> resolver);
  ~Impl();

  // The recipients of one message bound for one domain, in claim order.
  struct Batch {
    int64_t message_id = 0;
    std::vector<relay::RecipientRow> rows;
  };

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

  // --- the loop (scheduler.cc) ----------------------------------------------
  boost::asio::awaitable<void> Loop();
  // Claims what is due now and delivers it; the number of recipients claimed.
  boost::asio::awaitable<int> Pass();

  // --- recording attempts (record_attempts.cc) ------------------------------
  // Classifies each outcome (or takes `held_by`: every row is held by the
  // throttle), asks Decide() what to do, and adds the records, suppressions
  // and notice to `out`.
  void Dispose(const std::string& domain, const relay::Message& msg, const std::vector<relay::RecipientRow>& rows,
               const std::vector<RecipientOutcome>& outcomes, const std::string& mx, const std::string& ip,
               const Verdict* held_by, Pending* out);
  // A recipient not tried because its address is on the account's
  // suppression list; `found` is the entry that put it there.
  void DisposeSuppressed(const relay::RecipientRow& row, int64_t message_id, const relay::Suppression& found,
                         int64_t now, Pending* out);
  // The verdict recorded for a recipient held by the throttle of `key`.
  Verdict HeldVerdict(const std::string& key) const;
  // One transaction for the attempts; suppressions and the notices right after.
  boost::asio::awaitable<void> Commit(Pending p);

  int64_t Now() const { return opt_.clock(); }
  // Destinations are throttled by the provider their replies name, else by domain.
  std::string ThrottleKey(const std::string& domain) const {
    auto it = provider_of_.find(domain);
    return it == provider_of_.end() ? domain : it->second;
  }

  DeliveryOptions opt_;
  std::vector<BodyFilter> body_filters_;
  ReturnPath return_path_;
  relay::Store* store_;
  const Classifier* classifier_;
  Classifier::ScratchPtr scratch_;
  std::unique_ptr<Resolver> resolver_;
  boost::asio::ssl::context tls_;
  DestinationThrottle throttle_;
  std::mt19937_64 rng_;
  std::string reply_text_;  // the cleaned text of the reply being classified
  std::unordered_map<std::string, std::string> provider_of_;  // domain -> provider named by replies
  std::unordered_map<std::string, Verdict> throttle_cause_;  // throttle key -> the verdict that throttled it
  std::optional<boost::asio::strand<boost::asio::io_context::executor_type>> strand_;
  std::unique_ptr<boost::asio::steady_timer> wake_;
  std::atomic<bool> stopping_{false};
  FILE* events_ = nullptr;
  mutable std::mutex counters_mu_;
  DeliveryCounters counters_;

 private:
  // --- the loop --------------------------------------------------------------
  bool PopBatch(const std::string& domain, Batch* out);
  boost::asio::awaitable<void> WaitForConnectionSlot();
  boost::asio::awaitable<void> DomainSession(std::string domain);
  boost::asio::awaitable<void> DeliverBatch(const std::string& domain, Batch batch, SmtpSession& session);
  boost::asio::awaitable<void> FailRest(const std::string& domain, Batch first, const RecipientOutcome& o,
                                        std::string mx, std::string ip);
  boost::asio::awaitable<void> DeferThrottled(const std::string& domain, Batch first);
  SmtpClientOptions ClientOptions(const std::string& domain) const;

  // --- recording attempts ----------------------------------------------------
  struct MailboxFullHistory {
    int failures = 0;
    int64_t first = 0;
  };
  MailboxFullHistory LoadMailboxFullHistory(const std::string& address, int64_t since);
  Verdict ClassifyOutcome(const RecipientOutcome& o, const std::string& host);
  Status CommitSync(const Pending& p);
  void Log(const Pending& p);
  void Alert(int64_t message_id, const std::string& recipient, const std::string& destination,
             const relay::AttemptRecord& a);
  double Draw() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

  std::unordered_map<std::string, std::deque<Batch>> queues_;
  int active_connections_ = 0;
  int running_tasks_ = 0;
  boost::asio::steady_timer* join_ = nullptr;  // lives in the running Pass()
};

}  // namespace rebound::delivery
