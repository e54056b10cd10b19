#include "delivery/disposition.h"

#include <algorithm>
#include <cmath>

namespace rebound::delivery {

std::string_view DecisionName(Decision d) {
  switch (d) {
    case Decision::kDelivered: return "delivered";
    case Decision::kDeferred: return "deferred";
    case Decision::kBounced: return "bounced";
    case Decision::kExpired: return "expired";
    case Decision::kSuppressed: return "suppressed";
  }
  return "deferred";
}

std::string_view DestinationActionName(DestinationAction a) {
  switch (a) {
    case DestinationAction::kNone: return "none";
    case DestinationAction::kThrottle: return "throttle";
    case DestinationAction::kPause: return "pause";
    case DestinationAction::kRecordSuccess: return "success";
  }
  return "none";
}

Seconds BackoffDelay(int failures, const RetryPolicy& policy) {
  if (failures < 1) failures = 1;
  double d = static_cast<double>(policy.first_retry.count());
  const double cap = static_cast<double>(std::max(policy.max_retry_interval, policy.first_retry).count());
  for (int i = 1; i < failures && d < cap; ++i) d *= std::max(1.0, policy.backoff_factor);
  return Seconds(static_cast<int64_t>(std::min(d, cap)));
}

namespace {

// Scales a delay by 1 +- jitter/2 so that recipients deferred together do not
// all come back in the same second.
Seconds Jittered(Seconds base, double jitter, double draw) {
  draw = std::clamp(draw, 0.0, 1.0);
  double scale = 1.0 + jitter * (draw - 0.5);
  return Seconds(std::max<int64_t>(1, static_cast<int64_t>(std::llround(static_cast<double>(base.count()) * scale))));
}

}  // namespace

Disposition Decide(const DispositionInput& in, const RetryPolicy& policy) {
  const Verdict& v = in.verdict;
  Disposition out;
  const TimePoint deadline = in.history.first_queued + policy.max_queue_age;

  if (in.address_suppressed) {
    out.decision = Decision::kSuppressed;
    out.why = "address on the suppression list";
    return out;
  }

  if (in.destination_held) {
    // Nothing was tried: no failure is counted and the destination has
    // already been acted on by the reply that throttled it.
    if (in.now >= deadline) {
      out.decision = Decision::kExpired;
      out.send_dsn = true;
      out.why = "queue lifetime exceeded while the destination was held";
      return out;
    }
    out.decision = Decision::kDeferred;
    out.next_attempt = std::min(std::max(in.destination_ready_at, in.now + Seconds(1)), deadline);
    out.why = "destination held by the throttle";
    return out;
  }

  if (v.category == Category::delivered) {
    out.decision = Decision::kDelivered;
    out.destination = DestinationAction::kRecordSuccess;
    out.why = "accepted by the receiver";
    return out;
  }

  // What the failure does to the destination, whatever becomes of the recipient.
  if (IsRateLimitCategory(v.category)) {
    out.destination = DestinationAction::kThrottle;
  } else if (v.category == Category::ip_blacklisted) {
    out.destination = DestinationAction::kPause;
    out.alert = true;
  }

  if (v.permanent) {
    out.decision = Decision::kBounced;
    out.send_dsn = true;
    // The one definition (rebound/verdict.h), on the facts the verdict was
    // judged on: a verdict put together elsewhere cannot claim a hard bounce
    // that its category, permanence or facts deny.
    out.suppress = policy.suppress_hard_bounces && IsHardBounce(v.category, v.reason, v.permanent, v.hard_bounce_facts);
    out.why = out.suppress ? "permanent failure, bad address" : "permanent failure";
    return out;
  }

  // mailbox_full: temporary, but an address whose mailbox has been full again
  // and again over days is treated as abandoned.
  if (v.category == Category::mailbox_full) {
    const int total = in.history.mailbox_full_failures + 1;
    const TimePoint first = in.history.mailbox_full_failures > 0 ? in.history.first_mailbox_full : in.now;
    if (policy.mailbox_full_suppress_after > 0 && total >= policy.mailbox_full_suppress_after &&
        in.now - first >= policy.mailbox_full_span) {
      out.decision = Decision::kBounced;
      out.send_dsn = true;
      out.suppress = true;
      out.why = "mailbox full, repeatedly over days";
      return out;
    }
  }

  if (in.now >= deadline) {
    out.decision = Decision::kExpired;
    out.send_dsn = true;
    out.counts_as_failure = v.category != Category::greylisted;
    out.why = "queue lifetime exceeded";
    return out;
  }

  out.decision = Decision::kDeferred;
  Seconds delay;
  if (v.category == Category::greylisted) {
    // Greylisting is the receiver asking for patience, not a failure: retry
    // after its delay and do not grow the backoff.
    delay = Seconds(v.retry_after > 0 ? v.retry_after : policy.first_retry.count());
    out.counts_as_failure = false;
    out.why = "greylisted, retry after the delay";
  } else {
    out.counts_as_failure = true;
    delay = BackoffDelay(in.history.failures + 1, policy);
    // The reply's stated delay (or the category's hint) is a floor: retrying
    // before the receiver said it would be ready only burns an attempt.
    delay = std::max(delay, Seconds(v.retry_after));
    out.why = out.destination == DestinationAction::kThrottle ? "rate limited, destination throttled"
              : out.destination == DestinationAction::kPause  ? "blocklisted, destination paused"
                                                               : "temporary failure, retry with backoff";
  }
  TimePoint next = in.now + Jittered(delay, policy.jitter, in.jitter_draw);
  if (in.destination_ready_at > next) next = in.destination_ready_at;
  // One last attempt at the deadline rather than none at all.
  out.next_attempt = std::min(next, std::max(deadline, in.now + Seconds(1)));
  return out;
}

}  // namespace rebound::delivery
