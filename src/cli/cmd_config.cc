// `rebound config defaults|check`: the service configuration keys.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"
#include "config/config.h"

namespace rebound::cli {
namespace {

void Setup(CLI::App& root, int* exit_code) {
  CLI::App* cmd = root.add_subcommand("config", "Show or check the service configuration (TOML)");
  cmd->require_subcommand(1);
  CLI::App* defaults = cmd->add_subcommand("defaults", "Print every key with its default and documentation");
  auto commented = std::make_shared<bool>(false);
  auto settings = std::make_shared<std::vector<std::string>>();
  defaults->add_flag("--commented", *commented,
                     "Comment out every key, so the file sets only what --set gives (a packaged config)");
  defaults->add_option("--set", *settings, "Write KEY=VALUE as set (a key of this document; repeatable)");
  defaults->footer(
      "Examples:\n"
      "  rebound config defaults > rebound.toml\n"
      "  rebound config defaults --commented --set server.data_dir=/var/lib/rebound > /etc/rebound/rebound.toml\n"
      "  rebound config defaults --set routes.example.test=127.0.0.1:2626   # an entry of a [routes]-like table");
  defaults->callback([commented, settings, exit_code] {
    relay::DefaultsLayout layout;
    layout.commented = *commented;
    for (const std::string& setting : *settings) {
      size_t eq = setting.find('=');
      if (eq == std::string::npos || eq == 0) {
        std::cerr << "rebound config: --set wants KEY=VALUE, got '" << setting << "'\n";
        *exit_code = kExitUsage;
        return;
      }
      layout.set.emplace_back(setting.substr(0, eq), setting.substr(eq + 1));
    }
    std::string doc;
    if (Status s = relay::Config::DefaultsToml(layout, &doc); !s.ok()) {
      std::cerr << "rebound config: " << s.message() << "\n";
      *exit_code = kExitUsage;
      return;
    }
    std::cout << doc;
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
