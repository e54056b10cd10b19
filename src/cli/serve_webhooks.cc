// The webhooks part of `rebound serve` (issue 15): the dispatcher that sends
// the outbox (src/webhooks) on the serve event loop, the [webhooks] keys, and
// the API's /v1/webhooks routes (an account manages its own endpoints).
#include <ctime>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "api/router.h"
#include "cli/json_writer.h"
#include "cli/serve_part.h"
#include "config/config.h"
#include "relay/smtp_server.h"
#include "webhooks/dispatcher.h"
#include "webhooks/payload.h"
#include "webhooks/webhook_store.h"

namespace rebound::cli {

namespace {
using T = relay::ConfigKey::Type;
}  // namespace

// Registered here, so `rebound config defaults` and every config file know them.
static const bool kWebhookKeysRegistered = (relay::RegisterConfigKeys({
    {"webhooks.enabled", T::kBool, "true", "Send the webhook outbox to its endpoints (rebound webhook add)"},
    {"webhooks.poll_interval_ms", T::kInt, "200", "Milliseconds between outbox scans when nothing is due"},
    {"webhooks.claim_batch", T::kInt, "500", "Outbox rows taken per pass"},
    {"webhooks.lease_seconds", T::kInt, "60", "A taken row is sent again after this if its outcome was never recorded"},
    {"webhooks.max_in_flight", T::kInt, "16", "POSTs at once (each on its own kept-alive connection)"},
    {"webhooks.timeout", T::kInt, "10", "Seconds for one POST: connect, TLS, request and response"},
    {"webhooks.first_retry", T::kInt, "30", "Seconds before the first retry of a failed POST; doubles per failure"},
    {"webhooks.max_retry_interval", T::kInt, "3600", "Retry intervals double up to this many seconds"},
    {"webhooks.jitter_percent", T::kInt, "20", "Random spread of each retry time, in percent"},
    {"webhooks.max_age", T::kInt, "259200", "Seconds after its event a webhook that still fails is dropped (3 days)"},
    {"webhooks.disable_after", T::kInt, "86400", "An endpoint failing this many seconds without a success..."},
    {"webhooks.disable_after_failures", T::kInt, "50", "...and this many POSTs in a row is disabled"},
    {"webhooks.ca_file", T::kString, "", "Extra CA certificates (PEM) trusted for https endpoints"},
}), true);

namespace {

// The API's handlers run on its worker threads: one connection, one at a time.
struct ApiState {
  std::mutex mu;
  std::unique_ptr<webhooks::WebhookStore> store;
};

// The endpoint `id` when it belongs to the request's account, else a 404 answer.
bool OwnEndpoint(ApiState& st, const api::Request& req, webhooks::Endpoint* e, api::Response* res) {
  int64_t id = 0;
  const std::string& text = req.path_params.at("id");
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos ||
      !st.store->GetEndpoint(id = std::stoll(text), e).ok() || e->account != req.account) {
    api::SetHttpError(res, 404, "no webhook " + text.substr(0, 20) + " in this account");
    return false;
  }
  return true;
}

void AddApiRoutes(std::shared_ptr<ApiState> st) {
  api::AddRoute({"GET", "/v1/webhooks", "read", [st](const api::Request& req, api::Response* res) {
                   std::lock_guard lock(st->mu);
                   std::vector<webhooks::Endpoint> all;
                   if (Status s = st->store->ListEndpoints(&all); !s.ok()) return api::SetHttpError(res, 503, s.message());
                   std::string body = "{\"webhooks\":[";
                   bool first = true;
                   for (const auto& e : all) {
                     if (e.account != req.account) continue;
                     if (!first) body += ',';
                     first = false;
                     body += webhooks::EndpointJson(e);
                   }
                   res->Json(200, body + "]}");
                 }, "webhooks"});
  api::AddRoute({"POST", "/v1/webhooks", "admin", [st](const api::Request& req, api::Response* res) {
                   nlohmann::json j = nlohmann::json::parse(req.body, nullptr, false);
                   if (j.is_discarded() || !j.is_object()) return api::SetHttpError(res, 400, "the body is not a JSON object");
                   webhooks::Endpoint e;
                   e.account = req.account;
                   if (!j.contains("url") || !j["url"].is_string() || !webhooks::IsWebhookUrl(j["url"].get<std::string>()))
                     return api::SetHttpError(res, 422, "'url' must be an http:// or https:// URL");
                   e.url = j["url"].get<std::string>();
                   if (j.contains("events")) {
                     if (!j["events"].is_array()) return api::SetHttpError(res, 422, "'events' must be a list of event types");
                     for (const auto& t : j["events"]) {
                       if (!t.is_string() || !webhooks::IsEventType(t.get<std::string>()))
                         return api::SetHttpError(res, 422, "'events': unknown type " + t.dump().substr(0, 40));
                       e.events += (e.events.empty() ? "" : ",") + t.get<std::string>();
                     }
                   }
                   if (j.contains("batch")) {
                     if (!j["batch"].is_number_integer() || j["batch"].get<int64_t>() < 1 || j["batch"].get<int64_t>() > 1000)
                       return api::SetHttpError(res, 422, "'batch' must be a number from 1 to 1000");
                     e.batch_size = j["batch"].get<int>();
                   }
                   std::lock_guard lock(st->mu);
                   if (Status s = st->store->AddEndpoint(&e, time(nullptr)); !s.ok())
                     return api::SetHttpError(res, 503, s.message());
                   std::string body = "{\"webhook\":" + webhooks::EndpointJson(e) + ",\"secret\":";
                   cli::AppendJsonString(&body, e.secret);
                   res->Json(201, body + "}");
                 }, "webhooks"});
  api::AddRoute({"DELETE", "/v1/webhooks/{id}", "admin", [st](const api::Request& req, api::Response* res) {
                   std::lock_guard lock(st->mu);
                   webhooks::Endpoint e;
                   if (!OwnEndpoint(*st, req, &e, res)) return;
                   if (Status s = st->store->RemoveEndpoint(e.id); !s.ok()) return api::SetHttpError(res, 503, s.message());
                   res->Json(200, "{\"deleted\":" + std::to_string(e.id) + "}");
                 }, "webhooks"});
  api::AddRoute({"POST", "/v1/webhooks/{id}/rotate-secret", "admin", [st](const api::Request& req, api::Response* res) {
                   int64_t grace = 86400;
                   if (!req.body.empty()) {
                     nlohmann::json j = nlohmann::json::parse(req.body, nullptr, false);
                     if (j.is_discarded() || !j.is_object()) return api::SetHttpError(res, 400, "the body is not a JSON object");
                     if (j.contains("grace_seconds")) {
                       if (!j["grace_seconds"].is_number_integer() || j["grace_seconds"].get<int64_t>() < 0 ||
                           j["grace_seconds"].get<int64_t>() > 30 * 86400)
                         return api::SetHttpError(res, 422, "'grace_seconds' must be from 0 to 2592000 (30 days)");
                       grace = j["grace_seconds"].get<int64_t>();
                     }
                   }
                   std::lock_guard lock(st->mu);
                   webhooks::Endpoint e;
                   if (!OwnEndpoint(*st, req, &e, res)) return;
                   std::string secret;
                   Status s = st->store->RotateSecret(e.id, time(nullptr), grace, &secret);
                   if (s.ok()) s = st->store->GetEndpoint(e.id, &e);
                   if (!s.ok()) return api::SetHttpError(res, 503, s.message());
                   std::string body = "{\"webhook\":" + webhooks::EndpointJson(e) + ",\"secret\":";
                   cli::AppendJsonString(&body, secret);
                   res->Json(200, body + "}");
                 }, "webhooks"});
}

class WebhooksPart final : public ServePart {
 public:
  void SetDispatcher(std::unique_ptr<webhooks::Dispatcher> d) { dispatcher_ = std::move(d); }
  ~WebhooksPart() override {
    api::RemoveRoutes("webhooks");
    if (dispatcher_) dispatcher_->Stop();
  }

 private:
  std::unique_ptr<webhooks::Dispatcher> dispatcher_;
};

Status Start(const ServeContext& context, std::unique_ptr<ServePart>* out) {
  const relay::Config& c = *context.config;
  const std::string db_path = c.String("server.data_dir") + "/queue.db";
  // The routes serve whenever the HTTP API does, even with the dispatcher off.
  auto api_state = std::make_shared<ApiState>();
  Status s = webhooks::WebhookStore::Open(db_path, &api_state->store);
  if (!s.ok()) return s;
  AddApiRoutes(api_state);
  auto part = std::make_unique<WebhooksPart>();  // on an error below, removes the routes again
  if (!c.Bool("webhooks.enabled")) {
    *out = std::move(part);
    return Status::Ok();
  }
  webhooks::DispatcherOptions o;
  o.db_path = db_path;
  o.poll_interval_ms = static_cast<int>(c.Int("webhooks.poll_interval_ms"));
  o.claim_batch = static_cast<int>(c.Int("webhooks.claim_batch"));
  o.lease_seconds = static_cast<int>(c.Int("webhooks.lease_seconds"));
  o.max_in_flight = static_cast<int>(c.Int("webhooks.max_in_flight"));
  o.timeout_seconds = static_cast<int>(c.Int("webhooks.timeout"));
  o.first_retry = static_cast<int>(c.Int("webhooks.first_retry"));
  o.max_retry_interval = static_cast<int>(c.Int("webhooks.max_retry_interval"));
  o.jitter_percent = static_cast<int>(c.Int("webhooks.jitter_percent"));
  o.max_age = c.Int("webhooks.max_age");
  o.disable_after = c.Int("webhooks.disable_after");
  o.disable_after_failures = c.Int("webhooks.disable_after_failures");
  o.ca_file = c.String("webhooks.ca_file");
  if (o.poll_interval_ms < 1 || o.claim_batch < 1 || o.max_in_flight < 1 || o.timeout_seconds < 1 ||
      o.first_retry < 1 || o.max_retry_interval < o.first_retry)
    return Status::InvalidArgument("[webhooks] poll_interval_ms, claim_batch, max_in_flight, timeout and first_retry "
                                   "must be positive, max_retry_interval at least first_retry");
  if (o.lease_seconds < 1) return Status::InvalidArgument("webhooks.lease_seconds must be positive");
  std::unique_ptr<const Classifier> classifier;
  s = BuildClassifier(c.StringList("classifier.rules"), &classifier);
  if (!s.ok()) return s;
  std::unique_ptr<webhooks::Dispatcher> dispatcher;
  s = webhooks::Dispatcher::Create(o, std::move(classifier), &dispatcher);
  if (!s.ok()) return s;
  dispatcher->Start(context.server->io_context());
  part->SetDispatcher(std::move(dispatcher));
  *out = std::move(part);
  return Status::Ok();
}

REBOUND_REGISTER_SERVE_PART((ServePartSpec{
    60,
    "webhooks",
    {{"--webhooks", "webhooks.enabled", "Send webhooks to the endpoints of `rebound webhook add` (true|false)"}},
    Start}));

}  // namespace
}  // namespace rebound::cli
