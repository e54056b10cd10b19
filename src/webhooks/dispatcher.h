// webhooks/dispatcher.h: sends the outbox. Runs on the serve io_context (a
// strand of it): every poll it leases the due outbox rows of the endpoints
// no earlier pass is still sending to, POSTs them (Boost.Beast, http and
// https, keep-alive, a time limit per request, max_in_flight at once over
// all passes), and commits what came back every 50 ms. 2xx is done; anything else is tried again after an
// exponential backoff with jitter until the event is max_age old, then
// dropped. An endpoint that has failed for disable_after seconds and
// disable_after_failures POSTs in a row is disabled. Both are logged as
// JSON lines on stderr and kept in the tables (docs/webhooks.md).
//
// At least once: a row is marked sent only after its 2xx; a crash between
// the two sends it again when its lease ends, with the same webhook-id.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "rebound/classifier.h"
#include "rebound/status.h"

namespace boost::asio {
class io_context;
}

namespace rebound::webhooks {

struct DispatcherOptions {
  std::string db_path;           // <data_dir>/queue.db
  int poll_interval_ms = 200;
  int claim_batch = 500;         // rows leased per pass
  int lease_seconds = 60;        // a row whose outcome was never recorded (a crash) is sent again after this
  int max_in_flight = 16;        // POSTs at once
  int timeout_seconds = 10;      // per request: connect, TLS, write, response
  int first_retry = 30;          // seconds; doubles per failed attempt...
  int max_retry_interval = 3600; // ...up to this
  int jitter_percent = 20;
  int64_t max_age = 259200;      // drop an event this old (3 days)
  int64_t disable_after = 86400; // failing continuously this long...
  int64_t disable_after_failures = 50;  // ...and this many POSTs in a row
  std::string ca_file;           // extra CA for https endpoints (PEM); the system's are always trusted
  std::function<int64_t()> clock;  // Unix seconds; default: system clock
};

// An http:// or https:// URL the dispatcher can post to.
bool IsWebhookUrl(std::string_view url);

class Dispatcher {
 public:
  // The classifier gives the payloads what the rule base says of a verdict.
  static Status Create(const DispatcherOptions& options, std::unique_ptr<const Classifier> classifier,
                       std::unique_ptr<Dispatcher>* out);
  ~Dispatcher();
  void Start(boost::asio::io_context& io);
  // The loop ends at its next pass (the io_context may be stopped already).
  void Stop();

  struct State;

 private:
  explicit Dispatcher(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;  // shared with the coroutines, which may outlive this object
};

}  // namespace rebound::webhooks
