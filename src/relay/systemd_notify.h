// relay/systemd_notify.h: what `rebound serve` tells systemd through
// sd_notify(3) when it runs as a Type=notify service: ready, reloading,
// stopping, a status line, and the watchdog's keep-alive pings.
//
// Every call is a no-op when NOTIFY_SOCKET is unset (serve started from a
// shell or a test), so serve makes them unconditionally. Thread-safe: each
// call is one datagram.
#pragma once

#include <chrono>
#include <memory>
#include <string_view>

namespace boost::asio {
class io_context;
}

namespace rebound::relay::systemd {

// READY=1 with STATUS=<status>: every listener is bound and the loop runs.
void NotifyReady(std::string_view status);
// RELOADING=1 with MONOTONIC_USEC=<now>, as systemd wants it before a reload.
void NotifyReloading();
// STOPPING=1: the service is shutting down (SIGTERM/SIGINT).
void NotifyStopping();
// STATUS=<status> alone (e.g. why the last reload was refused).
void NotifyStatus(std::string_view status);

// The watchdog: when systemd asked for one (WATCHDOG_USEC set, and
// WATCHDOG_PID naming this process or unset), a timer on the event loop sends
// WATCHDOG=1 every half interval. The pings come from the loop itself, so a
// loop that hangs stops them and systemd restarts the service.
class Watchdog {
 public:
  // Null when systemd asked for no watchdog. Destroy it before `io`.
  static std::unique_ptr<Watchdog> Start(boost::asio::io_context& io);
  virtual ~Watchdog() = default;
  // The interval systemd gave (WATCHDOG_USEC).
  virtual std::chrono::microseconds interval() const = 0;
};

}  // namespace rebound::relay::systemd
