// The `rebound` binary: a thin shell that wires the registered subcommands
// (src/cli/cmd_*.cc) into one CLI11 application.
#include <algorithm>
#include <iostream>

#include "cli/command.h"

int main(int argc, char** argv) {
  CLI::App app{
      "Rebound makes SMTP return codes actionable: it classifies replies, reads bounces and\n"
      "mail logs, and runs a sending relay that acts on every reply.\n\n"
      "Examples:\n"
      "  rebound classify \"550 5.1.1 user unknown\"\n"
      "  rebound classify --jsonl -i replies.jsonl > verdicts.jsonl\n"
      "  rebound parse ~/Maildir/.Bounces/            # bounce emails to per-recipient verdicts\n"
      "  rebound scan /var/log/mail.log --html report.html\n"
      "  rebound serve                                 # the relay on 127.0.0.1:2525, data in ./rebound-data\n"
      "  rebound categories --lang zh\n\n"
      "Commands that list or report take --format text|json (csv for the relay's lists and\n"
      "stats); the default is text on a terminal, else json (JSON Lines).\n\n"
      "Each subcommand has --help with examples. Exit status: 0 ok, 1 some input skipped,\n"
      "2 usage, 3 invalid rules or configuration, 4 service failure.\n",
      "rebound"};
  app.set_version_flag("--version", "rebound " REBOUND_VERSION);  // the project version, from CMake
  app.require_subcommand(1);
  int exit_code = rebound::cli::kExitOk;
  auto commands = rebound::cli::Commands();
  std::stable_sort(commands.begin(), commands.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [order, setup] : commands) setup(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : rebound::cli::kExitUsage;
  }
  return exit_code;
}
