// delivery/service.h: the delivery side of `rebound serve`.
//
// A DeliveryService takes due recipients from the relay's Store (leased, so
// two workers never take the same one), groups them by destination domain,
// resolves the route (static route or MX), delivers over the SMTP client
// (several messages per connection, a cap on connections per destination and
// in total), and for every recipient turns the reply into a Verdict
// (Classifier) and the Verdict into an action (disposition.h), committed with
// Store::RecordAttempts in one transaction per message BEFORE the next message
// goes out on that connection. Hard bounces go on the account's suppression
// list; rate limits throttle the destination; blocklistings pause it and
// raise an alert; bounced and expired recipients get an RFC 3464 notice to the
// envelope sender (never to a null sender), enqueued like any message.
// Every attempt is also a line in a JSON Lines events log when configured.
//
// Threads: the service runs its coroutines on a strand of the io_context it
// is started on (any number of threads may run that io_context). DNS
// lookups and SQLite calls are made on that strand and block the thread
// running it meanwhile (`rebound serve` runs server.threads = 2 by default,
// so the submission sessions keep another one). Start() returns at once;
// Stop() asks the loop to finish after the messages in flight; the
// destructor waits for that.
//
// This header is light (no Boost.Asio): the CLI includes it.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "delivery/disposition.h"
#include "delivery/dns.h"
#include "delivery/throttle.h"
#include "rebound/classifier.h"
#include "rebound/status.h"

namespace boost::asio {
class io_context;
}
namespace rebound::relay {
class Store;
class Config;
struct MessageInfo;
struct RecipientRow;
}  // namespace rebound::relay

namespace rebound::delivery {

// What is done to a message on its way out, at the last moment before it is
// sent: a filter may rewrite the body (add a header, sign it). Filters run in
// the order they were added, so a signer added last signs the final bytes.
// A filter that fails defers the recipients, with its message as the reason.
using BodyFilter = std::function<Status(const relay::MessageInfo& info, std::string* body)>;
// The envelope sender for one recipient (a VERP return path); empty keeps the
// message's own MAIL FROM.
using ReturnPath = std::function<std::string(const relay::MessageInfo& info, const relay::RecipientRow& recipient)>;

struct DeliveryOptions {
  RetryPolicy retry;
  ThrottlePolicy throttle;  // throttle.max_connections: per destination
  ResolverOptions dns;
  std::string helo_name = "localhost";
  std::string tls = "opportunistic";          // off | opportunistic | require
  std::map<std::string, std::string> tls_per_domain;  // domain -> mode
  int max_connections = 50;                   // in total
  int max_messages_per_connection = 100;
  int claim_batch = 500;                      // recipients leased per pass
  int lease_seconds = 900;
  std::chrono::milliseconds poll_interval{200};
  // SMTP timeouts in seconds (RFC 5321 §4.5.3.2 defaults).
  int connect_timeout = 30, greeting_timeout = 300, command_timeout = 300;
  int data_init_timeout = 120, data_block_timeout = 180, data_end_timeout = 600;
  bool bounce_notices = true;
  std::string events_log;                     // JSON Lines file; empty: none
  std::function<int64_t()> clock;             // Unix seconds; default: system clock
};

// The [delivery], [dns], [routes] and [tls] keys of the service config, registered
// with relay::RegisterConfigKeys (see docs/delivery.md).
void RegisterDeliveryConfigKeys();
// Reads those keys; fails on a bad value (a route, a TLS mode).
Status DeliveryOptionsFromConfig(const relay::Config& config, const std::string& config_path, DeliveryOptions* out);

struct DeliveryCounters {
  int64_t attempts = 0, delivered = 0, deferred = 0, bounced = 0, expired = 0, suppressed = 0, dsns = 0;
};

class DeliveryService {
 public:
  // store and classifier are not owned and must outlive the service.
  static Status Create(const DeliveryOptions& options, relay::Store* store, const Classifier* classifier,
                       std::unique_ptr<DeliveryService>* out);
  ~DeliveryService();

  // Installed by the parts of `serve` (cli/serve_part.h) before Start().
  void AddBodyFilter(BodyFilter filter);
  // When set, each recipient is sent in its own transaction with its own
  // envelope sender.
  void SetReturnPath(ReturnPath return_path);

  // Starts the loop on io; returns at once.
  void Start(boost::asio::io_context& io);
  // Asks the loop to stop once the messages in flight are recorded.
  void Stop();
  // Wakes the loop now (e.g. right after a message was queued).
  void Wake();
  // Classifies with `classifier` from now on (serve's reload of
  // classifier.rules). Verdicts already taken point into the old one, so the
  // service keeps every classifier it was given until it is destroyed.
  // Safe from any thread.
  void ReplaceClassifier(std::unique_ptr<const Classifier> classifier);

  // Runs one pass on io until it is done: claims what is due now, delivers
  // it, records everything. Returns the number of recipients handled. For
  // tests and `rebound deliver --once`; do not mix with Start().
  int RunOnce(boost::asio::io_context& io);

  DeliveryCounters counters() const;

  class Impl;

 private:
  friend Status CreateDelivery(const relay::Config&, const std::string&, relay::Store*,
                               std::unique_ptr<DeliveryService>*);
  explicit DeliveryService(std::unique_ptr<Impl> impl);
  std::unique_ptr<const Classifier> owned_classifier_;  // when StartDelivery built it; outlives impl_
  std::mutex replaced_mu_;
  std::vector<std::unique_ptr<const Classifier>> replacements_;  // ReplaceClassifier's; outlive impl_
  std::unique_ptr<Impl> impl_;
};

// What `rebound serve` calls once its store exists: reads the delivery keys
// of the config, builds the classifier (embedded rule base) and creates the
// service, not yet started (the serve parts add their filters first). *out
// stays null when delivery.enabled is false. Destroy *out before the
// io_context it is started on.
Status CreateDelivery(const relay::Config& config, const std::string& config_path, relay::Store* store,
                      std::unique_ptr<DeliveryService>* out);

}  // namespace rebound::delivery
