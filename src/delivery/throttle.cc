#include "delivery/throttle.h"

#include <algorithm>

namespace rebound::delivery {

void DestinationThrottle::OnRateLimited(const std::string& destination, TimePoint now) {
  State& s = states_[destination];
  if (s.window.count() == 0) {
    s.window = policy_.initial_window;
    s.level = 0;
  } else if (now < s.blocked_until + s.window) {
    // Limited again soon after the last window: the receiver wants more room.
    s.window = std::min(s.window * 2, policy_.max_window);
    s.level = std::min(s.level + 1, 16);
  }
  s.blocked_until = std::max(s.blocked_until, now + s.window);
}

void DestinationThrottle::OnBlocklisted(const std::string& destination, TimePoint now) {
  State& s = states_[destination];
  s.window = std::max(s.window, policy_.blocklist_pause);
  s.blocked_until = std::max(s.blocked_until, now + policy_.blocklist_pause);
}

void DestinationThrottle::OnSuccess(const std::string& destination, TimePoint now) {
  auto it = states_.find(destination);
  if (it == states_.end()) return;
  State& s = it->second;
  if (now < s.blocked_until) return;  // a success from before the window does not count
  s.window /= 2;
  if (s.level > 0) --s.level;
  if (s.window < policy_.initial_window) states_.erase(it);
}

void DestinationThrottle::Apply(DestinationAction action, const std::string& destination, TimePoint now) {
  switch (action) {
    case DestinationAction::kThrottle: OnRateLimited(destination, now); break;
    case DestinationAction::kPause: OnBlocklisted(destination, now); break;
    case DestinationAction::kRecordSuccess: OnSuccess(destination, now); break;
    case DestinationAction::kNone: break;
  }
}

bool DestinationThrottle::Blocked(const std::string& destination, TimePoint now) const {
  auto it = states_.find(destination);
  return it != states_.end() && now < it->second.blocked_until;
}

TimePoint DestinationThrottle::ReadyAt(const std::string& destination, TimePoint now, double draw) const {
  auto it = states_.find(destination);
  if (it == states_.end() || now >= it->second.blocked_until) return now;
  draw = std::clamp(draw, 0.0, 1.0);
  auto spread = std::chrono::duration_cast<Seconds>(it->second.window * policy_.spread * draw);
  return it->second.blocked_until + spread;
}

int DestinationThrottle::AllowedConnections(const std::string& destination) const {
  auto it = states_.find(destination);
  if (it == states_.end()) return std::max(1, policy_.max_connections);
  return std::max(1, policy_.max_connections >> (it->second.level + 1));
}

Seconds DestinationThrottle::Window(const std::string& destination) const {
  auto it = states_.find(destination);
  return it == states_.end() ? Seconds(0) : it->second.window;
}

}  // namespace rebound::delivery
