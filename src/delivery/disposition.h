// delivery/disposition.h: the ONE place that turns a Verdict into an action.
//
// Every reply the delivery side sees -- a remote server's reply to RCPT or to
// the end of DATA, a session failure (connect, greeting, EHLO, MAIL, a dropped
// connection), or one of Rebound's own relay failure codes (423/524/526/427,
// see relay_codes.h) -- goes through Classifier::Classify and then Decide()
// below. Decide() says what happens to the recipient (delivered, deferred with
// its next attempt, bounced, expired), whether the address is suppressed, and
// what happens to the destination (throttle, pause + alert).
//
// Pure: no clock, no randomness, no I/O. "now" and a jitter draw in [0,1) are
// inputs, so tests are exact. Thread-safe (no state).
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "rebound/verdict.h"

namespace rebound::delivery {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;
using Seconds = std::chrono::seconds;

// Decisions as the events log and `rebound events` name them.
enum class Decision : uint8_t { kDelivered, kDeferred, kBounced, kExpired, kSuppressed };
std::string_view DecisionName(Decision d);  // "delivered", "deferred", ...

// Who a reply is about. A reply to RCPT (or a per-recipient reply to DATA) is
// about that recipient; a failure to connect, a greeting/EHLO/MAIL refusal or
// a dropped connection is about the whole destination: every recipient that
// was waiting for it gets the same verdict.
enum class ReplyScope : uint8_t { kRecipient, kSession };

// What to do to the receiving destination (domain / provider) besides the
// recipient itself.
enum class DestinationAction : uint8_t {
  kNone,
  kThrottle,       // rate limit: fewer connections and messages, for a window
  kPause,          // our IP is on a blocklist: stop sending there for a while
  kRecordSuccess,  // a delivery went through: the throttle window may shrink
};
std::string_view DestinationActionName(DestinationAction a);

// Retry schedule and suppression policy. Defaults are the documented ones
// ([delivery] keys in the config, see docs/delivery.md).
struct RetryPolicy {
  Seconds first_retry{300};         // first retry after a temporary failure
  Seconds max_retry_interval{3600}; // the doubling stops here
  double backoff_factor = 2.0;
  double jitter = 0.2;              // each delay is scaled by 1 +- jitter/2
  Seconds max_queue_age{3 * 86400}; // give up (expired) after this long in the queue
  bool suppress_hard_bounces = true;
  // mailbox_full suppresses the address only after this many mailbox_full
  // failures spread over at least mailbox_full_span.
  int mailbox_full_suppress_after = 5;
  Seconds mailbox_full_span{3 * 86400};
};

// What is known of the recipient before this reply.
struct RecipientHistory {
  int failures = 0;           // temporary failures counted so far (greylisting excluded)
  TimePoint first_queued{};   // when the message entered the queue
  // Earlier mailbox_full failures of this address (any message), and the
  // time of the first of them; the scheduler reads them from the events.
  int mailbox_full_failures = 0;
  TimePoint first_mailbox_full{};
};

struct DispositionInput {
  Verdict verdict;
  ReplyScope scope = ReplyScope::kRecipient;
  RecipientHistory history;
  TimePoint now{};
  double jitter_draw = 0.5;  // uniform in [0,1); 0.5 means "no jitter"
  // When the destination is throttled or paused, deferred recipients go no
  // earlier than this (the throttle spreads them; see throttle.h). The
  // scheduler gives the throttle as it stands after this reply's own
  // destination action, if any.
  TimePoint destination_ready_at{};
  // No connection was made: the destination is held by the throttle (a rate
  // limit's window, a blocklist pause). The verdict is the one that throttled
  // it. The recipient is deferred to destination_ready_at without counting a
  // failure, or expires when its queue lifetime is over.
  bool destination_held = false;
  // Not tried either: the address is on the account's suppression list
  // (the verdict is that of the reply that put it there).
  bool address_suppressed = false;
};

struct Disposition {
  Decision decision = Decision::kDeferred;
  TimePoint next_attempt{};     // for kDeferred
  bool counts_as_failure = false;  // add one to the recipient's failures (stored with the attempt)
  bool suppress = false;        // put the address on the account's suppression list
  bool send_dsn = false;        // bounced or expired: notify the envelope sender
  bool alert = false;           // emit an alert event (ip_blacklisted)
  DestinationAction destination = DestinationAction::kNone;
  std::string_view why;         // a short phrase for the events log ("why"); static storage
};

// The decision. Rules, in order:
//  - the address is on the suppression list: suppressed, nothing else.
//  - held by the throttle (no connection made): deferred until the
//    destination is ready again, not a failure, no destination action; or
//    expired when the queue lifetime is over.
//  - delivered (2xx / category delivered): delivered, lets the destination's
//    throttle shrink.
//  - permanent: bounced; suppressed when the verdict is a hard bounce (never
//    for sender-side categories: reputation, authentication, policy, rate).
//  - greylisted (temporary): retry after the verdict's delay, not a failure.
//  - other temporary: exponential backoff with jitter, at least the delay the
//    reply states; expired once the message is older than max_queue_age.
//    mailbox_full that has repeated over mailbox_full_span is bounced and
//    suppressed.
//  - rate-limit categories throttle the destination; ip_blacklisted pauses
//    it and raises an alert.
Disposition Decide(const DispositionInput& in, const RetryPolicy& policy);

// The backoff delay after `failures` temporary failures (1 = the first),
// before jitter: first_retry * factor^(failures-1), capped.
Seconds BackoffDelay(int failures, const RetryPolicy& policy);

}  // namespace rebound::delivery
