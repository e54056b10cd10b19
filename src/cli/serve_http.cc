// The HTTP API part of `rebound serve` (issue 15): the [http] keys, the
// server on the serve event loop (src/api/http_server.h) and the /v1
// endpoints (src/api/endpoints.h). Off while http.listen is empty.
#include <iostream>

#include "api/api_keys.h"
#include "api/domain_routes.h"
#include "api/endpoints.h"
#include "api/http_server.h"
#include "cli/serve_part.h"
#include "config/config.h"
#include "delivery/service.h"
#include "relay/smtp_server.h"

namespace rebound::cli {

namespace {
using T = relay::ConfigKey::Type;
}  // namespace

static const bool kHttpKeysRegistered = (relay::RegisterConfigKeys({
    {"http.listen", T::kString, "", "ADDR:PORT of the HTTP API (docs/api.md); empty: no HTTP API"},
    {"http.tls_cert", T::kString, "", "PEM certificate chain for HTTPS; with tls_key; empty: plain HTTP"},
    {"http.tls_key", T::kString, "", "PEM private key for HTTPS"},
    {"http.max_body", T::kInt, "22020096", "Largest request body (bytes); larger gets 413 (base64 attachments grow by 4/3)"},
    {"http.max_header", T::kInt, "16384", "Largest request header (bytes); larger gets 431"},
    {"http.read_timeout", T::kInt, "30", "Seconds for one whole request (header and body); slower gets 408"},
    {"http.idle_timeout", T::kInt, "60", "Seconds a kept-alive connection may wait for its next request"},
    {"http.max_connections", T::kInt, "512", "Connections at once; more get 503"},
    {"http.workers", T::kInt, "16", "Threads running handlers; they wait for the store's fsync, and concurrent sends share one"},
    {"http.key_rate", T::kInt, "100", "Requests per second per API key on average; more get 429; 0: no limit"},
    {"http.key_burst", T::kInt, "200", "Requests one API key may send at once above its rate"},
    {"http.max_batch", T::kInt, "1000", "Recipients of one POST /v1/messages/batch"},
}), true);

namespace {

class HttpPart final : public ServePart {
 public:
  HttpPart(std::unique_ptr<api::ApiKeys> keys, std::unique_ptr<api::Endpoints> endpoints,
           std::unique_ptr<api::DomainRoutes> domain_routes, std::unique_ptr<api::HttpServer> server)
      : keys_(std::move(keys)),
        endpoints_(std::move(endpoints)),
        domain_routes_(std::move(domain_routes)),
        server_(std::move(server)) {}
  ~HttpPart() override {
    server_.reset();  // joins the handlers in flight before what they use goes
    domain_routes_.reset();
    endpoints_.reset();
  }

 private:
  std::unique_ptr<api::ApiKeys> keys_;
  std::unique_ptr<api::Endpoints> endpoints_;
  std::unique_ptr<api::DomainRoutes> domain_routes_;
  std::unique_ptr<api::HttpServer> server_;
};

Status Start(const ServeContext& context, std::unique_ptr<ServePart>* out) {
  const relay::Config& c = *context.config;
  api::HttpOptions o;
  o.listen = c.String("http.listen");
  if (o.listen.empty()) return Status::Ok();
  o.tls_cert = c.String("http.tls_cert");
  o.tls_key = c.String("http.tls_key");
  o.max_body = c.Int("http.max_body");
  o.max_header = c.Int("http.max_header");
  o.read_timeout = c.Int("http.read_timeout");
  o.idle_timeout = c.Int("http.idle_timeout");
  o.max_connections = c.Int("http.max_connections");
  o.workers = c.Int("http.workers");
  o.key_rate = static_cast<double>(c.Int("http.key_rate"));
  o.key_burst = static_cast<double>(std::max<int64_t>(1, c.Int("http.key_burst")));
  if (o.max_body <= 0 || o.max_header <= 0 || o.read_timeout <= 0 || o.idle_timeout <= 0 || o.max_connections <= 0 ||
      o.workers <= 0)
    return Status::InvalidArgument("http.max_body, max_header, read_timeout, idle_timeout, max_connections and workers must be positive");

  const std::string db = c.String("server.data_dir") + "/queue.db";
  std::unique_ptr<api::ApiKeys> keys;
  Status s = api::ApiKeys::Open(db, &keys);
  if (!s.ok()) return s;
  api::ApiContext ac;
  ac.store = context.store;
  ac.db_path = db;
  ac.limits.max_message_size = c.Int("server.max_message_size");
  ac.limits.max_recipients = c.Int("server.max_recipients");
  ac.limits.check_sender_domain = c.Bool("server.check_sender_domain");
  ac.max_batch = c.Int("http.max_batch");
  if (context.delivery) ac.on_queued = [d = context.delivery](int64_t) { d->Wake(); };
  std::unique_ptr<api::Endpoints> endpoints;
  s = api::Endpoints::Create(ac, &endpoints);
  if (!s.ok()) return s;
  std::unique_ptr<api::DomainRoutes> domain_routes;
#if REBOUND_API_DOMAINS  // /v1/domains when src/domains is built
  s = api::DomainRoutes::Create(c, &domain_routes);
  if (!s.ok()) return s;
#endif
  std::unique_ptr<api::HttpServer> server;
  s = api::HttpServer::Start(context.server->io_context(), o, keys.get(), &server);
  if (!s.ok()) return s;
  std::cerr << "rebound serve: HTTP API on " << (o.tls_cert.empty() ? "http://" : "https://") << server->listen_address()
            << "\n";
  *out = std::make_unique<HttpPart>(std::move(keys), std::move(endpoints), std::move(domain_routes), std::move(server));
  return Status::Ok();
}

// After the parts that add routes of their own (they may start in any
// order: the server reads the route table per request); stopped first, so
// its handlers finish before their owners go.
REBOUND_REGISTER_SERVE_PART((ServePartSpec{
    .order = 90,
    .name = "http",
    .flags = {{"--http-listen", "http.listen", "ADDR:PORT of the HTTP API (docs/api.md); keys: rebound apikey create"}},
    .start = &Start,
}));

}  // namespace
}  // namespace rebound::cli
