// `rebound serve`: the sending service. Runs the SMTP submission server
// (src/relay) with its durable queue; with no arguments it listens on
// 127.0.0.1:2525 and keeps its data in ./rebound-data.
#include <iostream>

#include "cli/command.h"
#include "delivery/service.h"
#include "relay/service.h"
#include "relay/smtp_server.h"

namespace rebound::cli {
namespace {

struct ServeOptions {
  relay::ServiceOptions service;
  std::string listen;
  std::vector<std::string> rules;
};

int Run(const ServeOptions& o) {
  relay::Config config;
  Status s = relay::LoadServiceConfig(o.service, &config);
  if (s.ok() && !o.listen.empty()) s = config.Set("server.listen", o.listen);
  for (const auto& path : o.rules)
    if (s.ok()) s = config.Set("classifier.rules", path);
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

  // --- delivery: start the delivery loop on server->io_context() here ---
  // (issue 6 adds its one call at this spot; it runs on the same threads.)
  std::unique_ptr<delivery::DeliveryService> delivery;
  s = delivery::StartDelivery(config, o.service.config_path, store.get(), server->io_context(), &delivery);
  if (!s.ok()) {
    std::cerr << "rebound serve: delivery: " << s.message() << "\n";
    return kExitRules;
  }
  // Mail just queued is due now: wake the delivery loop rather than wait for its next poll.
  if (delivery) server->SetQueuedCallback([d = delivery.get()](int64_t) { d->Wake(); });

  std::cerr << "rebound serve: SMTP submission on " << server->listen_address() << ", data in "
            << config.String("server.data_dir") << " (Ctrl-C stops)\n";
  s = server->Run();
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
  cmd->footer(
      "Accounts: rebound account add USER --domain DOMAIN (password on stdin).\n"
      "Logs: JSON Lines on stderr (server.log). Exit status: 0 stopped, 3 bad config, 4 could not start.");
  cmd->callback([o, exit_code] { *exit_code = Run(*o); });
}

REBOUND_REGISTER_COMMAND(50, Setup);

}  // namespace
}  // namespace rebound::cli
