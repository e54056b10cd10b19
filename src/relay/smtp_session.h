// relay/smtp_session.h: one SMTP submission session, internal to src/relay.
//
// The listener (smtp_listener.cc) accepts a connection and hands it to
// StartSession(); from there the session runs alone as a coroutine on the
// socket's strand, with a watchdog coroutine enforcing the deadline of the
// state it is in. Which command may run in which state is one table in
// smtp_session.cc (kVerbRules); every reply it sends is in relay/replies.h.
//
// Ownership: a session borrows its SessionContext, which the listener owns
// and which outlives every session (the listener joins its event loop before
// it goes). This header pulls in Boost.Asio: include it only from src/relay's
// .cc files.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "relay/content_check.h"
#include "relay/event_log.h"
#include "store/store.h"

namespace rebound::relay {

// The server.* settings a session applies.
struct SessionLimits {
  std::string hostname;
  int64_t max_message_size = 0, max_recipients = 0, max_command_line = 0, max_data_line = 0, max_errors = 0,
          max_commands = 0, command_timeout = 0, data_timeout = 0, auth_failure_delay_ms = 0;
  bool auth_requires_tls = true, auth_plaintext_on_loopback = true, check_sender_domain = true;
  std::string loopback_account;
};

// What every session borrows from the listener.
struct SessionContext {
  SessionLimits limits;
  ContentCheckSettings content_check;
  Store* store = nullptr;
  EventLog* log = nullptr;
  boost::asio::ssl::context* tls = nullptr;
  // Blocking work goes here so that the event loop never waits for a disk
  // (store) or for argon2 (auth).
  boost::asio::thread_pool* store_pool = nullptr;
  boost::asio::thread_pool* auth_pool = nullptr;
  // After a message is committed, before its 250 is sent; may be empty.
  std::function<void(int64_t message_id)> on_queued;
  // When the session is gone: the listener counts sessions per client IP.
  std::function<void(const std::string& ip)> on_closed;
};

// Runs the session of an accepted connection; `id` names it in the log.
void StartSession(const SessionContext& context, boost::asio::ip::tcp::socket socket, uint64_t id);

}  // namespace rebound::relay
