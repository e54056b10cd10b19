// metrics/metrics.h: the counters of `rebound serve`, fed by one-line hooks.
//
// The submission side (relay), the HTTP API and delivery call these functions
// where something countable happens; they update one process-wide registry
// (prometheus-cpp). What the store already knows (queue depth, quota use) is
// not counted here but read at scrape time (metrics/scrape.h).
//
// Every hook is cheap (an atomic add, or a short mutex for a labelled
// series) and thread-safe, and does nothing harmful when nobody scrapes.
// This header is light (no prometheus-cpp): relay and delivery include it.
#pragma once

#include <cstdint>
#include <string_view>

namespace rebound::metrics {

// How many destination domains get a series of their own; the rest are
// counted under domain="other". Set once at start ([metrics] top_domains).
void SetDomainLimit(int limit);

// --- submission (transport: "smtp" or "http") ---
// A message committed to the queue (the 250 / 202 the client gets).
void MessageAccepted(std::string_view transport);
// A refusal sent to a client: `reply` is the reply line; its three-digit
// code is the label ("550 Mailbox not found" -> code="550").
void SubmissionRejected(std::string_view transport, std::string_view reply);
// From the end of the message (the final "." or the request body read) to
// the answer, in seconds.
void SubmissionLatency(std::string_view transport, double seconds);
// Sessions (connections) open now.
void SessionOpened(std::string_view transport);
void SessionClosed(std::string_view transport);

// --- delivery ---
// One recipient's outcome: `outcome` is the decision ("delivered",
// "deferred", "bounced", "expired", "suppressed"), `category` the verdict's
// category, `domain` the destination domain (bounded, see SetDomainLimit),
// `provider` the verdict's provider ("" when none). `queued_seconds` is how
// long the recipient has been in the queue; it feeds the delivery latency
// histogram when the outcome is final.
void DeliveryOutcome(std::string_view outcome, std::string_view category, std::string_view domain,
                     std::string_view provider, int64_t queued_seconds);
// A destination's throttle after a reply acted on it: the rate-limit window
// in seconds and until when no new connection is opened (Unix seconds; 0:
// not held). With both 0 the destination's series go away.
void DestinationThrottle(std::string_view destination, int64_t window_seconds, int64_t blocked_until);

}  // namespace rebound::metrics
