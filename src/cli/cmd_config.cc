// `rebound config defaults|check`: the service configuration keys.
#include <iostream>

#include "cli/command.h"
#include "config/config.h"

namespace rebound::cli {
namespace {

void Setup(CLI::App& root, int* exit_code) {
  CLI::App* cmd = root.add_subcommand("config", "Show or check the service configuration (TOML)");
  cmd->require_subcommand(1);
  CLI::App* defaults = cmd->add_subcommand("defaults", "Print every key with its default and documentation");
  defaults->callback([exit_code] {
    std::cout << relay::Config::DefaultsToml();
    *exit_code = kExitOk;
  });
  auto path = std::make_shared<std::string>();
  CLI::App* check = cmd->add_subcommand("check", "Validate a configuration file");
  check->add_option("file", *path, "TOML file")->required()->check(CLI::ExistingFile);
  check->callback([path, exit_code] {
    relay::Config c;
    Status s = relay::Config::Load(*path, &c);
    if (!s.ok()) {
      std::cerr << "rebound config: " << s.message() << "\n";
      *exit_code = kExitRules;
      return;
    }
    std::cout << *path << ": ok\n";
    *exit_code = kExitOk;
  });
}

REBOUND_REGISTER_COMMAND(60, Setup);

}  // namespace
}  // namespace rebound::cli
