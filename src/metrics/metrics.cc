// The process-wide registry behind the hooks of metrics.h.
#include "metrics/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <atomic>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "metrics/registry.h"

namespace rebound::metrics {

namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;

// Seconds; submission is a commit (milliseconds), delivery spans retries (days).
const Histogram::BucketBoundaries kSubmissionBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                        0.1,   0.25,   0.5,   1,    2.5,   5};
const Histogram::BucketBoundaries kDeliveryBuckets = {1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 86400, 3 * 86400};

struct Families {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  Family<Counter>& accepted = prometheus::BuildCounter()
                                  .Name("rebound_messages_accepted_total")
                                  .Help("Messages committed to the queue, by transport (smtp, http)")
                                  .Register(*registry);
  Family<Counter>& rejected = prometheus::BuildCounter()
                                  .Name("rebound_submission_rejections_total")
                                  .Help("Refusals sent to submitting clients, by transport and reply code")
                                  .Register(*registry);
  Family<Histogram>& submission_latency =
      prometheus::BuildHistogram()
          .Name("rebound_submission_duration_seconds")
          .Help("From the end of a submitted message to the answer (content check and queue commit)")
          .Register(*registry);
  Family<Gauge>& sessions = prometheus::BuildGauge()
                                .Name("rebound_sessions")
                                .Help("Client connections open now, by transport (smtp, http)")
                                .Register(*registry);
  Family<Counter>& outcomes = prometheus::BuildCounter()
                                  .Name("rebound_delivery_outcomes_total")
                                  .Help("Delivery outcomes per recipient, by decision, verdict category, "
                                        "destination domain (top domains, then other) and provider")
                                  .Register(*registry);
  Family<Histogram>& delivery_latency =
      prometheus::BuildHistogram()
          .Name("rebound_delivery_duration_seconds")
          .Help("From queueing to a final outcome (delivered, bounced, expired, suppressed), per recipient")
          .Register(*registry);
  Family<Gauge>& throttle_window = prometheus::BuildGauge()
                                       .Name("rebound_destination_throttle_window_seconds")
                                       .Help("Pause window of a throttled destination (absent when not throttled)")
                                       .Register(*registry);
  Family<Gauge>& throttle_until = prometheus::BuildGauge()
                                      .Name("rebound_destination_blocked_until_seconds")
                                      .Help("Unix time until which no new connection goes to a throttled destination")
                                      .Register(*registry);

  // Destination domains with a series of their own (first come, up to the limit).
  std::mutex domains_mu;
  std::unordered_set<std::string> domains;
  std::atomic<int> domain_limit{50};
  // Throttled destinations with a series (bounded like the domains).
  std::mutex throttle_mu;
  std::unordered_map<std::string, std::pair<Gauge*, Gauge*>> throttled;

  Families() {
    // Series a dashboard reads from the start show 0, not "no data".
    for (const char* transport : {"smtp", "http"}) {
      accepted.Add({{"transport", transport}});
      sessions.Add({{"transport", transport}});
    }
  }
};

Families& F() {
  static Families* families = new Families();  // never destroyed: hooks may run during exit
  return *families;
}

std::string CodeOf(std::string_view reply) {
  if (reply.size() >= 3 && reply[0] >= '2' && reply[0] <= '5' && reply[1] >= '0' && reply[1] <= '9' &&
      reply[2] >= '0' && reply[2] <= '9')
    return std::string(reply.substr(0, 3));
  return "other";
}

std::string BoundedDomain(std::string_view domain) {
  if (domain.empty()) return "none";
  Families& f = F();
  std::string d(domain);
  std::lock_guard<std::mutex> lock(f.domains_mu);
  if (f.domains.count(d)) return d;
  if (static_cast<int>(f.domains.size()) < f.domain_limit.load()) {
    f.domains.insert(d);
    return d;
  }
  return "other";
}

}  // namespace

std::shared_ptr<prometheus::Registry> Registry() { return F().registry; }

void SetDomainLimit(int limit) { F().domain_limit.store(limit < 0 ? 0 : limit); }

void MessageAccepted(std::string_view transport) { F().accepted.Add({{"transport", std::string(transport)}}).Increment(); }

void SubmissionRejected(std::string_view transport, std::string_view reply) {
  F().rejected.Add({{"transport", std::string(transport)}, {"code", CodeOf(reply)}}).Increment();
}

void SubmissionLatency(std::string_view transport, double seconds) {
  F().submission_latency.Add({{"transport", std::string(transport)}}, kSubmissionBuckets).Observe(seconds);
}

void SessionOpened(std::string_view transport) { F().sessions.Add({{"transport", std::string(transport)}}).Increment(); }
void SessionClosed(std::string_view transport) { F().sessions.Add({{"transport", std::string(transport)}}).Decrement(); }

void DeliveryOutcome(std::string_view outcome, std::string_view category, std::string_view domain,
                     std::string_view provider, int64_t queued_seconds) {
  Families& f = F();
  f.outcomes
      .Add({{"outcome", std::string(outcome)},
            {"category", category.empty() ? "none" : std::string(category)},
            {"domain", BoundedDomain(domain)},
            {"provider", provider.empty() ? "none" : std::string(provider)}})
      .Increment();
  if (outcome != "deferred" && queued_seconds >= 0)
    f.delivery_latency.Add({{"outcome", std::string(outcome)}}, kDeliveryBuckets)
        .Observe(static_cast<double>(queued_seconds));
}

void DestinationThrottle(std::string_view destination, int64_t window_seconds, int64_t blocked_until) {
  Families& f = F();
  std::string d(destination);
  std::lock_guard<std::mutex> lock(f.throttle_mu);
  auto it = f.throttled.find(d);
  if (window_seconds <= 0 && blocked_until <= 0) {
    if (it != f.throttled.end()) {
      f.throttle_window.Remove(it->second.first);
      f.throttle_until.Remove(it->second.second);
      f.throttled.erase(it);
    }
    return;
  }
  if (it == f.throttled.end()) {
    // Throttled destinations are few; the bound only guards against a flood
    // of distinct ones (each then still counts in the outcomes).
    if (static_cast<int>(f.throttled.size()) >= std::max(f.domain_limit.load(), 1)) return;
    Gauge* w = &f.throttle_window.Add({{"destination", d}});
    Gauge* u = &f.throttle_until.Add({{"destination", d}});
    it = f.throttled.emplace(d, std::make_pair(w, u)).first;
  }
  it->second.first->Set(static_cast<double>(window_seconds));
  it->second.second->Set(static_cast<double>(blocked_until));
}

}  // namespace rebound::metrics
