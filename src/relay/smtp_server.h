// relay/smtp_server.h: the ESMTP submission server of `rebound serve`.
//
// What it is: a Boost.Asio server (C++20 coroutines, one strand per session)
// whose sessions are an explicit state machine: smtp_session.cc's
// SessionState, with a verb table (kVerbRules) saying which command runs in
// which state. The listener (smtp_listener.cc) binds, caps sessions and hands
// each connection to a session; every reply sent is in relay/replies.h; the
// JSON Lines log is relay/event_log.h. It authenticates accounts, applies the
// limits and quotas with the return codes of the document (535, 556, 557,
// 559, 552, 551, 550 for suppressed recipients), runs the optional content
// check (rspamd, relay/content_check.h: 554 Reject by content spam) after
// DATA, and answers "250 send mail ok" only after Store::Enqueue() committed
// the message.
//
// Reload() re-reads what may change while sessions run (see below); each
// session keeps the settings it started with, so a reload never disturbs one.
//
// Ownership: the server borrows the Store and the Config (both must outlive
// it). Threads: Run() blocks, running the event loop on server.threads
// threads; Stop() may be called from any thread or a signal handler context
// via the built-in SIGINT/SIGTERM handling. The Asio types stay out of this
// header (only a forward declaration) to keep compile times small.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "config/config.h"
#include "store/store.h"

namespace boost::asio {
class io_context;
}

namespace rebound::relay {

class EventLog;

class SmtpServer {
 public:
  // Binds the listening socket, loads or creates the TLS certificate.
  static Status Create(const Config& config, Store* store, std::unique_ptr<SmtpServer>* out);
  virtual ~SmtpServer() = default;

  // The address actually bound ("127.0.0.1:2525"; the real port when 0 was asked).
  virtual std::string listen_address() const = 0;
  // The event loop, for other services of `rebound serve` (delivery) to run
  // on the same threads. Post work to it before Run().
  virtual boost::asio::io_context& io_context() = 0;
  // Called after each message is committed (from a session's strand, before
  // its 250 is sent); e.g. to wake the delivery loop. Set before Run().
  virtual void SetQueuedCallback(std::function<void(int64_t message_id)> fn) = 0;
  // Serves until Stop() or SIGINT/SIGTERM (which tell systemd STOPPING=1).
  virtual Status Run() = 0;
  // Applies `config`'s live settings to sessions started from now on: the
  // server.* session limits, server.max_sessions(_per_ip), the TLS
  // certificate and key, [content_check], and server.log (reopened even when
  // unchanged, for logrotate). server.listen, data_dir, threads and
  // store_threads keep the values the server was created with. On error
  // nothing changed. Safe from any thread, while Run() runs.
  virtual Status Reload(const Config& config) = 0;
  // server.log: serve writes its own events (reload) there too.
  virtual EventLog& event_log() = 0;
  virtual void Stop() = 0;
};

// Writes a self-signed certificate and key (PEM, key mode 0600) for
// `hostname` unless both files already exist.
Status EnsureSelfSignedCertificate(const std::string& cert_path, const std::string& key_path,
                                   const std::string& hostname);

}  // namespace rebound::relay
