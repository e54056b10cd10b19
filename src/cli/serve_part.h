// cli/serve_part.h: how the parts of `rebound serve` that run beside SMTP
// submission and delivery plug in (the HTTP API, the inbound return path,
// webhooks, metrics, domain checks, ...).
//
// Each part is one file src/cli/serve_<part>.cc that registers itself with
// REBOUND_REGISTER_SERVE_PART: the `serve` flags it adds (each one sets a
// config key, so the flag and the key are one setting) and a Start function.
// cmd_serve.cc calls the Start functions in `order` once the store is open
// and the submission server and the delivery service exist, all on the one
// io_context; it destroys the parts in reverse order before the store.
// A part whose config says it is off leaves *out null.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"
#include "rebound/status.h"

namespace rebound::relay {
class Config;
class SmtpServer;
class Store;
}  // namespace rebound::relay
namespace rebound::delivery {
class DeliveryService;
}

namespace rebound::cli {

struct ServeContext {
  const relay::Config* config = nullptr;
  std::string config_path;
  relay::Store* store = nullptr;
  relay::SmtpServer* server = nullptr;               // server->io_context() is the event loop
  delivery::DeliveryService* delivery = nullptr;     // null when delivery.enabled is false
};

// What a started part is: destroying it stops it (after its work in flight).
class ServePart {
 public:
  virtual ~ServePart() = default;
};

struct ServeFlag {
  std::string flag;        // "--http-listen"
  std::string config_key;  // "http.listen"
  std::string help;
};

struct ServePartSpec {
  int order = 0;
  std::string name;  // for error messages: "rebound serve: <name>: ..."
  std::vector<ServeFlag> flags;
  Status (*start)(const ServeContext& context, std::unique_ptr<ServePart>* out) = nullptr;
};

bool RegisterServePart(ServePartSpec spec);
// Sorted by order.
const std::vector<ServePartSpec>& ServeParts();

#define REBOUND_REGISTER_SERVE_PART(spec) \
  static const bool REBOUND_CONCAT(rebound_serve_part_, __LINE__) = ::rebound::cli::RegisterServePart(spec)

}  // namespace rebound::cli
