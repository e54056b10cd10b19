// The sending-domain endpoints (see domain_routes.h).
#include "api/domain_routes.h"

#include <mutex>

#include "api/router.h"
#include "cli/json_writer.h"
#include "config/config.h"
#include "core/text.h"
#include "domains/dns_client.h"
#include "domains/domain_check.h"
#include "domains/domain_store.h"
#include "store/store.h"

namespace rebound::api {

namespace {

class Impl : public DomainRoutes {
 public:
  Impl(std::unique_ptr<domains::DomainStore> store, domains::DomainSettings settings)
      : store_(std::move(store)), settings_(std::move(settings)) {
    AddRoute({"GET", "/v1/domains", "read", [this](const Request& q, Response* r) { List(q, r); }, "api-domains"});
    AddRoute({"POST", "/v1/domains/{domain}/check", "admin", [this](const Request& q, Response* r) { Check(q, r); },
              "api-domains"});
  }
  ~Impl() override { RemoveRoutes("api-domains"); }

 private:
  void List(const Request& req, Response* res) {
    std::vector<domains::SendingDomain> list;
    {
      std::lock_guard lock(mu_);
      Status s = store_->List(req.account, &list);
      if (!s.ok()) return SetHttpError(res, 503, "cannot read the sending domains: " + s.message());
    }
    std::string out;
    cli::JsonWriter w(&out);
    w.BeginObject().BeginArray("domains");
    for (const auto& d : list) {
      w.BeginObject()
          .String("name", d.name)
          .Bool("verified", d.verified)
          .Int("verified_at", d.verified_at)
          .String("return_path_domain", d.return_path_domain)
          .BeginArray("records");
      for (const auto& r : domains::RecordsToPublish(d, settings_)) {
        w.BeginObject()
            .String("purpose", r.purpose)
            .String("type", r.type)
            .String("name", r.name)
            .String("value", r.value)
            .EndObject();
      }
      w.EndArray().EndObject();
    }
    w.EndArray().EndObject();
    res->Json(200, std::move(out));
  }

  void Check(const Request& req, Response* res) {
    const std::string name = text::Lower(req.path_params.at("domain"));
    domains::SendingDomain d;
    {
      std::lock_guard lock(mu_);
      if (!store_->Get(name, &d).ok() || d.account != req.account)
        return SetHttpError(res, 404, "no sending domain " + name.substr(0, 255) + " in this account");
    }
    // DNS is asked outside the lock: it may take the resolver's timeouts.
    const domains::DnsClient dns(settings_.dns_servers, settings_.dns_timeout_ms, settings_.dns_tries);
    const domains::DomainReport report = domains::CheckDomain(d, settings_, dns);
    std::vector<std::string> changes;
    {
      std::lock_guard lock(mu_);
      Status s = domains::ApplyCheck(store_.get(), report, settings_, relay::SystemNow(), &changes);
      if (s.ok()) s = store_->Get(name, &d);
      if (!s.ok()) return SetHttpError(res, 503, "cannot record the check: " + s.message());
    }
    std::string out;
    cli::JsonWriter w(&out);
    w.BeginObject().String("domain", d.name).Bool("verified", d.verified).Bool("all_ok", report.all_ok()).BeginArray("checks");
    for (const auto& c : report.checks) {
      w.BeginObject()
          .String("record", c.record)
          .String("type", c.type)
          .String("name", c.name)
          .Bool("ok", c.ok)
          .String("found", c.found)
          .String("fix", c.fix)
          .EndObject();
    }
    w.EndArray().BeginArray("changes");
    for (const auto& c : changes) w.Element(c);
    w.EndArray().EndObject();
    res->Json(200, std::move(out));
  }

  std::mutex mu_;
  std::unique_ptr<domains::DomainStore> store_;
  domains::DomainSettings settings_;
};

}  // namespace

Status DomainRoutes::Create(const relay::Config& config, std::unique_ptr<DomainRoutes>* out) {
  std::unique_ptr<domains::DomainStore> store;
  Status s = domains::DomainStore::Open(config.String("server.data_dir"), &store);
  if (!s.ok()) return s;
  *out = std::make_unique<Impl>(std::move(store), domains::SettingsFromConfig(config));
  return Status::Ok();
}

}  // namespace rebound::api
