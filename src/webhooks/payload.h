// webhooks/payload.h: the JSON body of a webhook, from an outbox row and its
// event. The verdict is the one the delivery recorded (category, reason,
// permanent, hard_bounce, rule from the events row); what the taxonomy and
// the rule base say of it (action, solution, provider, reference) comes from
// the classifier, and is written by the same WriteVerdictFields as
// `rebound classify --format json`.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "rebound/classifier.h"
#include "webhooks/webhook_store.h"

namespace rebound::webhooks {

// "msg_<outbox id>": stable across retries and restarts.
std::string WebhookId(int64_t outbox_id);

// An endpoint as the CLI (--format json) and the API show it, without its
// secrets: {"id", "url", "account", "events": [...], "enabled", "batch",
// "pending", "failure_streak", "failing_since", "disabled_reason",
// "rotating_until"}. Times are ISO 8601 UTC or null.
std::string EndpointJson(const Endpoint& e);

class PayloadBuilder {
 public:
  // classifier must outlive the builder.
  explicit PayloadBuilder(const Classifier* classifier);
  // One event as a JSON object:
  // {"type", "timestamp", "webhook_id", "data": {account, message_id,
  //  recipient, state, reply, mx, ip, next_attempt_at, verdict: {...} | null}}
  void Append(const OutboxItem& item, std::string* out) const;
  // The body of one POST: the object for one item, a JSON array for a batch.
  std::string Body(const std::vector<const OutboxItem*>& items, bool batch) const;

 private:
  const Classifier* classifier_;
  std::map<std::string_view, const Rule*, std::less<>> rules_;
};

}  // namespace rebound::webhooks
