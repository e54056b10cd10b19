// How subcommands plug into the `rebound` binary: each src/cli/cmd_*.cc
// registers itself with REBOUND_REGISTER_COMMAND; main.cc builds the CLI from
// the registry. Commands report their exit status through *exit_code.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rebound/classifier.h"

namespace rebound::cli {

// Exit statuses, documented in the README.
enum ExitCode : int {
  kExitOk = 0,
  kExitInputError = 1,  // some input (line, file, message) could not be processed
  kExitUsage = 2,       // bad command line
  kExitRules = 3,       // the rule base or the configuration is invalid
  kExitRuntime = 4,     // a service could not start or failed while running
};

using CommandSetup = std::function<void(CLI::App& root, int* exit_code)>;
bool RegisterCommand(int order, CommandSetup setup);
const std::vector<std::pair<int, CommandSetup>>& Commands();

#define REBOUND_CONCAT2(a, b) a##b
#define REBOUND_CONCAT(a, b) REBOUND_CONCAT2(a, b)
#define REBOUND_REGISTER_COMMAND(order, fn) \
  static const bool REBOUND_CONCAT(rebound_registered_, __LINE__) = ::rebound::cli::RegisterCommand(order, fn)

// Options shared by every command that classifies: --rules, --lang.
struct ClassifierOptions {
  std::vector<std::string> rule_paths;
  std::string lang = "en";
  void AddTo(CLI::App* app);
  Lang language() const { return lang == "zh" ? Lang::kZh : Lang::kEn; }
  // Builds the classifier; on failure prints the problems and returns null.
  std::unique_ptr<const Classifier> Build() const;
};

// ISO 8601 UTC ("2026-11-27T22:36:20Z") of Unix seconds; "" for t <= 0.
std::string IsoUtc(int64_t unix_seconds);

bool StdoutIsTty();
bool StderrIsTty();

}  // namespace rebound::cli
