// `rebound serve`: the sending service. Runs the SMTP submission server
// (src/relay) with its durable queue; with no arguments it listens on
// 127.0.0.1:2525 and keeps its data in ./rebound-data.
#include <algorithm>
#include <iostream>
#include <map>

#include "cli/command.h"
#include "cli/serve_part.h"
#include "delivery/service.h"
#include "relay/service.h"
#include "relay/smtp_server.h"

namespace rebound::cli {

static std::vector<ServePartSpec>& PartRegistry() {
  static std::vector<ServePartSpec> parts;
  return parts;
}

bool RegisterServePart(ServePartSpec spec) {
  auto& parts = PartRegistry();
  parts.push_back(std::move(spec));
  std::stable_sort(parts.begin(), parts.end(), [](const auto& a, const auto& b) { return a.order < b.order; });
  return true;
}

const std::vector<ServePartSpec>& ServeParts() { return PartRegistry(); }

namespace {

struct ServeOptions {
  relay::ServiceOptions service;
  std::string listen;
  std::vector<std::string> rules;
  std::map<std::string, std::string> part_flags;  // config key -> value given on the command line
};

int Run(const ServeOptions& o) {
  relay::Config config;
  Status s = relay::LoadServiceConfig(o.service, &config);
  if (s.ok() && !o.listen.empty()) s = config.Set("server.listen", o.listen);
  for (const auto& path : o.rules)
    if (s.ok()) s = config.Set("classifier.rules", path);
  for (const auto& [key, value] : o.part_flags)
    if (s.ok() && !value.empty()) s = config.Set(key, value);
  if (!s.ok()) {
    std::cerr << "rebound serve: " << s.message() << "\n";
    return kExitRules;
  }
  std::unique_ptr<relay::Store> store;
  s = relay::OpenServiceStore(config, &store);
  std::unique_ptr<relay::SmtpServer> server;
  if (s.ok()) s = relay::SmtpServer::Create(config, store.get(), &server);
  if (!s.ok()) {
    std::cerr << "rebound serve: " << s.message() << "\n";
    return kExitRuntime;
  }

  // Delivery runs on the server's io_context; it starts after the serve
  // parts, which may add their filters to it (DKIM, the return path).
  std::unique_ptr<delivery::DeliveryService> delivery;
  s = delivery::CreateDelivery(config, o.service.config_path, store.get(), &delivery);
  if (!s.ok()) {
    std::cerr << "rebound serve: delivery: " << s.message() << "\n";
    return kExitRules;
  }
  // Mail just queued is due now: wake the delivery loop rather than wait for its next poll.
  if (delivery) server->SetQueuedCallback([d = delivery.get()](int64_t) { d->Wake(); });

  ServeContext context;
  context.config = &config;
  context.config_path = o.service.config_path;
  context.store = store.get();
  context.server = server.get();
  context.delivery = delivery.get();
  std::vector<std::unique_ptr<ServePart>> parts;  // destroyed in reverse order, before delivery and the store
  for (const auto& spec : ServeParts()) {
    std::unique_ptr<ServePart> part;
    s = spec.start(context, &part);
    if (!s.ok()) {
      std::cerr << "rebound serve: " << spec.name << ": " << s.message() << "\n";
      while (!parts.empty()) parts.pop_back();
      return kExitRuntime;
    }
    if (part) parts.push_back(std::move(part));
  }
  if (delivery) delivery->Start(server->io_context());

  std::cerr << "rebound serve: SMTP submission on " << server->listen_address() << ", data in "
            << config.String("server.data_dir") << " (Ctrl-C stops)\n";
  s = server->Run();
  while (!parts.empty()) parts.pop_back();
  if (!s.ok()) {
    std::cerr << "rebound serve: " << s.message() << "\n";
    return kExitRuntime;
  }
  return kExitOk;
}

void Setup(CLI::App& root, int* exit_code) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* cmd = root.add_subcommand("serve", "Run the sending service (SMTP submission with durable queue)");
  cmd->add_option("--config", o->service.config_path, "Service configuration file (TOML; see `rebound config defaults`)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--listen", o->listen, "ADDR:PORT to listen on (default 127.0.0.1:2525)");
  cmd->add_option("--data", o->service.data_dir, "Data directory (default ./rebound-data)");
  cmd->add_option("--rules", o->rules,
                  "Local rule file or directory (TOML, see rules/SCHEMA.md) for the delivery verdicts, on top of "
                  "[classifier] rules; evaluated before the shipped rules. Repeatable.")
      ->check(CLI::ExistingPath)
      ->allow_extra_args(false);
  for (const auto& spec : ServeParts())
    for (const auto& flag : spec.flags) cmd->add_option(flag.flag, o->part_flags[flag.config_key], flag.help);
  cmd->footer(
      "Accounts: rebound account add USER --domain DOMAIN (password on stdin).\n"
      "Logs: JSON Lines on stderr (server.log). Exit status: 0 stopped, 3 bad config, 4 could not start.");
  cmd->callback([o, exit_code] { *exit_code = Run(*o); });
}

REBOUND_REGISTER_COMMAND(50, Setup);

}  // namespace
}  // namespace rebound::cli
