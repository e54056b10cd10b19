// api/domain_routes.h: GET /v1/domains and POST /v1/domains/{domain}/check,
// the sending domains of src/domains through the API: an account's domains
// with their verification and the DNS records to publish, and a check of
// what DNS serves now (which verifies the domain once its ownership record
// is there). Built only when src/domains is (REBOUND_API_DOMAINS).
//
// Ownership: opens its own DomainStore on queue.db, used under a mutex (it
// is thread-compatible); destroying it removes its routes.
#pragma once

#include <memory>
#include <string>

#include "rebound/status.h"

namespace rebound::relay {
class Config;
}

namespace rebound::api {

class DomainRoutes {
 public:
  static Status Create(const relay::Config& config, std::unique_ptr<DomainRoutes>* out);
  virtual ~DomainRoutes() = default;
};

}  // namespace rebound::api
