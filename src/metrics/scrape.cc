#include "metrics/scrape.h"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "metrics/registry.h"
#include "store/sqlite_util.h"

namespace rebound::metrics {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily GaugeFamily(std::string name, std::string help) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = MetricType::Gauge;
  return f;
}

void AddGauge(MetricFamily* f, std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = value;
  f->metric.push_back(std::move(m));
}

// The webhook outbox of src/webhooks: deliveries still pending. The table
// belongs to that module; until it exists the backlog is 0.
constexpr const char* kWebhookOutboxTable = "webhook_outbox";
constexpr const char* kWebhookBacklogSql = "SELECT COUNT(*) FROM webhook_outbox WHERE state = 'pending'";

}  // namespace

Status Scraper::Create(const ScrapeSources& sources, std::unique_ptr<Scraper>* out) {
  if (!sources.store) return Status::InvalidArgument("metrics: no store");
  std::unique_ptr<Scraper> s(new Scraper(sources));
  if (!s->sources_.clock) s->sources_.clock = relay::SystemNow;
  if (!sources.database_path.empty()) {
    Status st = relay::OpenSqliteConnection(sources.database_path, &s->db_);
    if (!st.ok()) return st;
  }
  *out = std::move(s);
  return Status::Ok();
}

Scraper::~Scraper() {
  if (db_) sqlite3_close(db_);
}

int64_t Scraper::WebhookBacklog() {
  if (!db_) return 0;
  sqlite3_stmt* raw = nullptr;
  const std::string exists = std::string("SELECT 1 FROM sqlite_master WHERE type='table' AND name='") +
                             kWebhookOutboxTable + "'";
  if (sqlite3_prepare_v2(db_, exists.c_str(), -1, &raw, nullptr) != SQLITE_OK) return -1;
  bool present = sqlite3_step(raw) == SQLITE_ROW;
  sqlite3_finalize(raw);
  if (!present) return 0;
  if (sqlite3_prepare_v2(db_, kWebhookBacklogSql, -1, &raw, nullptr) != SQLITE_OK) return -1;
  int64_t n = sqlite3_step(raw) == SQLITE_ROW ? sqlite3_column_int64(raw, 0) : -1;
  sqlite3_finalize(raw);
  return n;
}

std::string Scraper::Text() {
  std::lock_guard<std::mutex> lock(mu_);
  relay::Store* store = sources_.store;
  const int64_t now = sources_.clock();
  std::vector<MetricFamily> families = Registry()->Collect();

  std::vector<int64_t> per_state;
  const bool counted = store->CountRecipients(&per_state).ok();
  if (counted) {
    MetricFamily depth = GaugeFamily("rebound_queue_recipients", "Recipients in the queue, by state");
    for (size_t i = 0; i < per_state.size(); ++i)
      AddGauge(&depth, {{"state", std::string(relay::RecipientStateName(static_cast<relay::RecipientState>(i)))}},
               static_cast<double>(per_state[i]));
    families.push_back(std::move(depth));
  } else {
    ++errors_;
  }

  // The oldest message still waiting: messages are listed by id, which grows
  // with time, so the first one with a queued or a deferred recipient is it.
  int64_t oldest = 0;
  bool ok = true;
  for (relay::RecipientState state : {relay::RecipientState::kQueued, relay::RecipientState::kDeferred}) {
    // Looking for a state nobody is in walks every message: skip it.
    const size_t index = static_cast<size_t>(state);
    if (counted && index < per_state.size() && per_state[index] == 0) continue;
    relay::QueueFilter filter;
    filter.state = state;
    filter.limit = 1;
    std::vector<relay::MessageInfo> first;
    if (!store->ListMessages(filter, &first).ok()) {
      ok = false;
      break;
    }
    if (!first.empty() && (oldest == 0 || first[0].queued_at < oldest)) oldest = first[0].queued_at;
  }
  if (ok) {
    MetricFamily age = GaugeFamily("rebound_queue_oldest_age_seconds",
                                   "Age of the oldest message with a recipient still queued or deferred (0: none)");
    AddGauge(&age, {}, oldest == 0 ? 0.0 : static_cast<double>(std::max<int64_t>(0, now - oldest)));
    families.push_back(std::move(age));
  } else {
    ++errors_;
  }

  std::vector<relay::Account> accounts;
  if (store->ListAccounts(&accounts).ok()) {
    MetricFamily used = GaugeFamily("rebound_account_quota_used",
                                    "Recipients accepted for an account in the current period (day, month)");
    MetricFamily limit = GaugeFamily("rebound_account_quota_limit",
                                     "An account's quota for the period in recipients (0: unlimited)");
    for (const auto& a : accounts) {
      std::string day, month;
      relay::QuotaPeriods(a.timezone, now, &day, &month);
      int64_t used_day = 0, used_month = 0;
      if (!store->QuotaUsage(a.name, day, &used_day).ok() || !store->QuotaUsage(a.name, month, &used_month).ok()) {
        ++errors_;
        continue;
      }
      AddGauge(&used, {{"account", a.name}, {"period", "day"}}, static_cast<double>(used_day));
      AddGauge(&used, {{"account", a.name}, {"period", "month"}}, static_cast<double>(used_month));
      AddGauge(&limit, {{"account", a.name}, {"period", "day"}}, static_cast<double>(a.daily_quota));
      AddGauge(&limit, {{"account", a.name}, {"period", "month"}}, static_cast<double>(a.monthly_quota));
    }
    families.push_back(std::move(used));
    families.push_back(std::move(limit));
  } else {
    ++errors_;
  }

  const int64_t backlog = WebhookBacklog();
  if (backlog >= 0) {
    MetricFamily webhooks = GaugeFamily("rebound_webhook_backlog", "Webhook deliveries waiting in the outbox");
    AddGauge(&webhooks, {}, static_cast<double>(backlog));
    families.push_back(std::move(webhooks));
  } else {
    ++errors_;
  }

  MetricFamily errors;
  errors.name = "rebound_scrape_errors_total";
  errors.help = "Store reads that failed during scrapes (their families were left out)";
  errors.type = MetricType::Counter;
  ClientMetric e;
  e.counter.value = static_cast<double>(errors_);
  errors.metric.push_back(e);
  families.push_back(std::move(errors));

  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace rebound::metrics
