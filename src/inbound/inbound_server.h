// inbound/inbound_server.h: the SMTP listener of the return path
// (`rebound serve --inbound-listen`, [inbound] listen).
//
// It takes mail only for the relay's VERP return paths (return_path.h): an
// RCPT to any other address is refused, one whose MAC does not verify is
// refused as forged, and one that names a message or recipient the queue does
// not have (never sent, deleted, older than accept_days) is refused too, all
// at RCPT with the replies of relay/replies.h. No AUTH, no STARTTLS (bounces
// come from any MTA on port 25). Accepted mail goes to a BounceDisposer on a
// thread of its own, and only once its decisions are committed is 250 sent;
// a failure to commit is a 451, so the sending MTA keeps it and retries.
//
// Hostile clients: command lines over 512 bytes and data lines over 1000 are
// cut off with 500 5.5.2 and the connection closed; a client silent for
// command_timeout (data_timeout in DATA) is closed with 421 4.4.2; a message
// over max_message_size is read to its end and refused with 552 5.3.4
// (a SIZE= over the limit at MAIL already); sessions are capped in total and
// per client address (421 Too many connections); each client address may
// start at most rate_per_minute transactions a minute (a token bucket; over
// it, MAIL gets 421 and the connection ends), so a bounce flood costs the
// relay little.
//
// Threads and lifetime: sessions run as coroutines on the io_context given
// (the one event loop of `serve`), one strand each; the parsing and the
// store run on the server's own thread. Destroying the server closes the
// listener and waits for that thread; sessions still open hold the shared
// state they need, so the io_context may outlive the server.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "inbound/disposer.h"
#include "inbound/return_path.h"
#include "rebound/status.h"
#include "store/store.h"

namespace boost::asio {
class io_context;
}
namespace rebound::relay {
class EventLog;
}

namespace rebound::inbound {

struct InboundOptions {
  std::string listen;    // ADDR:PORT ([v6]:PORT); port 0 picks one
  std::string hostname;  // in the greeting and EHLO
  int64_t max_message_size = 10 << 20;
  int64_t max_recipients = 20;
  int64_t max_sessions = 100, max_sessions_per_ip = 10;
  int64_t rate_per_minute = 60;  // transactions per client address
  int64_t command_timeout = 300, data_timeout = 600;
  int64_t max_errors = 10, max_commands = 1000;
  int64_t accept_days = 30;  // bounces for messages queued longer ago are refused
  relay::Clock clock;        // default: system clock
};

class InboundServer {
 public:
  // Binds and starts accepting on io. codec and store are borrowed and must
  // outlive the io_context's sessions; log may be null.
  static Status Start(boost::asio::io_context& io, const InboundOptions& options, relay::Store* store,
                      std::shared_ptr<const ReturnPathCodec> codec, std::unique_ptr<BounceDisposer> disposer,
                      std::shared_ptr<relay::EventLog> log, std::unique_ptr<InboundServer>* out);
  ~InboundServer();
  std::string listen_address() const;

  struct State;

 private:
  explicit InboundServer(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace rebound::inbound
