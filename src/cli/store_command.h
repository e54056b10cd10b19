// What the commands on the relay's data (account, queue, suppression,
// events, stats) share: the --config/--data options, opening the store the
// way `rebound serve` does, and reading --since.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "relay/service.h"

namespace rebound::cli {

void AddServiceOptions(CLI::App* app, relay::ServiceOptions* o);
// Loads the config (--config/--data) and opens the store; prints
// "rebound COMMAND: why" and returns the exit code when it fails, else kExitOk.
int OpenStoreForCommand(std::string_view command, const relay::ServiceOptions& so, std::unique_ptr<relay::Store>* store);
// --since: "" (everything), Unix seconds, YYYY-MM-DD[THH:MM:SSZ], or 90s/15m/2h/3d ago.
bool ParseSince(const std::string& s, int64_t now, int64_t* out);

}  // namespace rebound::cli
