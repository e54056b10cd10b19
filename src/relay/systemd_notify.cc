#include "relay/systemd_notify.h"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp needs std::exchange

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <string>

namespace rebound::relay::systemd {

namespace {

void Send(const std::string& state) { sd_notify(0, state.c_str()); }

// STATUS= is one line: a newline would start another assignment.
std::string OneLine(std::string_view text) {
  std::string line(text);
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  return line;
}

class TimerWatchdog final : public Watchdog {
 public:
  TimerWatchdog(boost::asio::io_context& io, std::chrono::microseconds interval)
      : timer_(io), interval_(interval) {}
  ~TimerWatchdog() override { timer_.cancel(); }

  void Ping() {
    Send("WATCHDOG=1");
    timer_.expires_after(interval_ / 2);
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) Ping();
    });
  }
  std::chrono::microseconds interval() const override { return interval_; }

 private:
  boost::asio::steady_timer timer_;
  std::chrono::microseconds interval_;
};

}  // namespace

void NotifyReady(std::string_view status) { Send("READY=1\nSTATUS=" + OneLine(status)); }

void NotifyReloading() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const uint64_t usec = static_cast<uint64_t>(now.tv_sec) * 1000000u + static_cast<uint64_t>(now.tv_nsec) / 1000u;
  Send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void NotifyStopping() { Send("STOPPING=1"); }

void NotifyStatus(std::string_view status) { Send("STATUS=" + OneLine(status)); }

std::unique_ptr<Watchdog> Watchdog::Start(boost::asio::io_context& io) {
  uint64_t usec = 0;
  // 0 keeps WATCHDOG_USEC/WATCHDOG_PID in the environment: nothing else reads them.
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return nullptr;
  auto watchdog = std::make_unique<TimerWatchdog>(io, std::chrono::microseconds(usec));
  watchdog->Ping();  // the first one at once, then every half interval from the loop
  return watchdog;
}

}  // namespace rebound::relay::systemd
