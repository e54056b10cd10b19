// `rebound serve`, metrics: GET /metrics on the HTTP server, in Prometheus
// text format (metrics/scrape.h; names and meanings in docs/metrics.md).
#include <memory>

#include "api/router.h"
#include "cli/serve_part.h"
#include "config/config.h"
#include "metrics/metrics.h"
#include "metrics/scrape.h"

namespace rebound::cli {
namespace {

using T = relay::ConfigKey::Type;

const bool kKeysRegistered = (relay::RegisterConfigKeys({
    {"metrics.enabled", T::kBool, "true", "Serve GET /metrics (Prometheus text format) on the HTTP server"},
    {"metrics.scope", T::kString, "",
     "API key scope /metrics asks for (read, admin); empty: public, as Prometheus scrapes without a key"},
    {"metrics.top_domains", T::kInt, "50",
     "Destination domains with series of their own in the delivery outcomes; the rest count as 'other'"},
}), true);

class MetricsPart : public ServePart {
 public:
  ~MetricsPart() override { api::RemoveRoutes("metrics"); }
  std::unique_ptr<metrics::Scraper> scraper;
};

Status Start(const ServeContext& context, std::unique_ptr<ServePart>* out) {
  const relay::Config& config = *context.config;
  metrics::SetDomainLimit(static_cast<int>(config.Int("metrics.top_domains")));
  if (!config.Bool("metrics.enabled")) return Status::Ok();
  const std::string scope = config.String("metrics.scope");
  if (!scope.empty() && scope != "read" && scope != "admin" && scope != "send")
    return Status::InvalidArgument("metrics.scope is read, admin, send or empty (public), not '" + scope + "'");
  auto part = std::make_unique<MetricsPart>();
  metrics::ScrapeSources sources;
  sources.store = context.store;
  sources.database_path = config.String("server.data_dir") + "/queue.db";
  Status s = metrics::Scraper::Create(sources, &part->scraper);
  if (!s.ok()) return s;
  metrics::Scraper* scraper = part->scraper.get();
  api::AddRoute({"GET", "/metrics", scope,
                 [scraper](const api::Request&, api::Response* res) {
                   res->Text(200, metrics::kExpositionContentType, scraper->Text());
                 },
                 "metrics"});
  *out = std::move(part);
  return Status::Ok();
}

REBOUND_REGISTER_SERVE_PART((ServePartSpec{95, "metrics", {}, Start}));

}  // namespace
}  // namespace rebound::cli
