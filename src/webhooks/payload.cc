#include "webhooks/payload.h"

#include "cli/verdict_json.h"
#include "core/civil_time.h"

namespace rebound::webhooks {

std::string WebhookId(int64_t outbox_id) { return "msg_" + std::to_string(outbox_id); }

std::string EndpointJson(const Endpoint& e) {
  std::string out;
  cli::JsonWriter w(&out);
  w.BeginObject().Int("id", e.id).String("url", e.url).String("account", e.account).BeginArray("events");
  for (size_t start = 0; start < e.events.size();) {
    size_t comma = std::min(e.events.find(',', start), e.events.size());
    w.Element(std::string_view(e.events).substr(start, comma - start));
    start = comma + 1;
  }
  w.EndArray().Bool("enabled", e.enabled).Int("batch", e.batch_size).Int("pending", e.pending);
  w.Int("failure_streak", e.failure_streak);
  if (e.failing_since) w.String("failing_since", FormatTime(e.failing_since * 1000, TimeFormat::kIso));
  else w.Null("failing_since");
  w.StringOrNull("disabled_reason", e.disabled_reason);
  if (!e.old_secret.empty()) w.String("rotating_until", FormatTime(e.old_secret_expires_at * 1000, TimeFormat::kIso));
  else w.Null("rotating_until");
  w.EndObject();
  return out;
}

PayloadBuilder::PayloadBuilder(const Classifier* classifier) : classifier_(classifier) {
  for (const Rule& r : classifier_->rules()) rules_.emplace(r.id, &r);
}

void PayloadBuilder::Append(const OutboxItem& it, std::string* out) const {
  cli::JsonWriter w(out);
  w.BeginObject()
      .String("type", it.type)
      .String("timestamp", FormatTime(it.time * 1000, TimeFormat::kIso))
      .String("webhook_id", WebhookId(it.id))
      .BeginObject("data")
      .String("account", it.account)
      .Int("message_id", it.message_id)
      .String("recipient", it.recipient)
      .String("state", it.state)
      .String("decision", it.decision)
      .String("reply", it.reply)
      .StringOrNull("mx", it.mx)
      .StringOrNull("ip", it.ip);
  if (it.next_attempt_at) w.String("next_attempt_at", FormatTime(it.next_attempt_at * 1000, TimeFormat::kIso));
  else w.Null("next_attempt_at");
  // The submission event (accepted) and events written without a reply's
  // reading (an unsubscribe) have no verdict.
  const std::optional<Category> category = CategoryFromName(it.category);
  if (it.decision == "queued" || !category) {
    w.Null("verdict");
  } else {
    const CategoryInfo& info = classifier_->category_info(*category);
    auto rule_it = rules_.find(it.rule);
    const Rule* rule = rule_it == rules_.end() ? nullptr : rule_it->second;
    Verdict v;
    v.category = *category;
    v.reason = ReasonFromName(it.reason).value_or(info.reason);
    v.permanent = it.permanent;
    v.hard_bounce = it.hard_bounce;
    v.action = info.action;
    if (!v.permanent && v.category != Category::delivered && v.category != Category::auto_reply)
      v.retry_after = it.next_attempt_at > it.time ? static_cast<int>(it.next_attempt_at - it.time)
                                                   : (rule && rule->retry_after >= 0 ? rule->retry_after : info.retry_after);
    v.solution_en = rule && !rule->solution_en.empty() ? std::string_view(rule->solution_en) : info.solution_en;
    v.solution_zh = rule && !rule->solution_zh.empty() ? std::string_view(rule->solution_zh) : info.solution_zh;
    v.rule = it.rule;
    if (rule) {
      v.provider = rule->provider;
      v.reference = rule->reference;
    }
    // The stored hard_bounce decides the action, as it did when classified:
    // an unconfirmed "user unknown" does not tell the receiver to suppress.
    classifier_->SettleAction(&v);
    w.BeginObject("verdict");
    cli::WriteVerdictFields(w, v, Lang::kEn);
    w.String("solution_zh", v.solution_zh);
    w.EndObject();
  }
  w.EndObject().EndObject();
}

std::string PayloadBuilder::Body(const std::vector<const OutboxItem*>& items, bool batch) const {
  std::string out;
  if (!batch) {
    Append(*items.front(), &out);
    return out;
  }
  out.push_back('[');
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back(',');
    Append(*items[i], &out);
  }
  out.push_back(']');
  return out;
}

}  // namespace rebound::webhooks
