// delivery/throttle.h: per-destination slow-down learned from the replies.
//
// Receivers keep their rate limits secret; they only say "too many". A
// rate-limit verdict (see disposition.h) throttles the destination for a
// window: no new connections until it ends, then fewer connections until
// successes shrink the window again. The window doubles on repeats (up to a
// cap) and halves on each success. An ip_blacklisted verdict pauses the
// destination for a fixed time.
//
// When a window ends, deferred recipients must not all come back in the same
// second: ReadyAt() spreads them over a fraction of the window after its end.
//
// Pure state machine: time and the random draw are arguments. Not
// thread-safe; the scheduler owns one and uses it from its own strand.
#pragma once

#include <string>
#include <unordered_map>

#include "delivery/disposition.h"

namespace rebound::delivery {

struct ThrottlePolicy {
  Seconds initial_window{60};    // first rate-limit reply: pause this long
  Seconds max_window{3600};      // repeats double the window up to this
  Seconds blocklist_pause{3600}; // ip_blacklisted: pause this long
  double spread = 0.5;           // deferred recipients return over window*spread after it ends
  int max_connections = 5;       // per destination when not throttled
};

class DestinationThrottle {
 public:
  explicit DestinationThrottle(ThrottlePolicy policy = {}) : policy_(policy) {}

  void OnRateLimited(const std::string& destination, TimePoint now);
  void OnBlocklisted(const std::string& destination, TimePoint now);
  void OnSuccess(const std::string& destination, TimePoint now);
  // Applies a disposition's destination action.
  void Apply(DestinationAction action, const std::string& destination, TimePoint now);

  // True while no new connection may be opened to the destination.
  bool Blocked(const std::string& destination, TimePoint now) const;
  // Earliest time a recipient to this destination may be tried, spread by
  // draw in [0,1) over the end of the window; `now` when not throttled.
  TimePoint ReadyAt(const std::string& destination, TimePoint now, double draw) const;
  // Connections allowed at once: max_connections, halved per doubling of
  // the window, at least one.
  int AllowedConnections(const std::string& destination) const;
  // The current window (0 when the destination is not throttled).
  Seconds Window(const std::string& destination) const;

 private:
  struct State {
    Seconds window{0};
    TimePoint blocked_until{};
    int level = 0;  // number of doublings above the initial window
  };
  ThrottlePolicy policy_;
  std::unordered_map<std::string, State> states_;
};

}  // namespace rebound::delivery
