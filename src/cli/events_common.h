// Shared by `rebound events` and `rebound stats` (delivery side): time
// parsing/printing and opening the store the way every relay command does.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "relay/service.h"

namespace rebound::cli {

// --since: "" (everything), Unix seconds, YYYY-MM-DD[THH:MM:SSZ], or 90s/15m/2h/3d ago.
bool ParseSince(const std::string& s, int64_t now, int64_t* out);
// Loads the config (--config/--data) and opens the store; prints the error
// and returns the exit code when it fails, else kExitOk.
int OpenStoreForCommand(const char* name, const relay::ServiceOptions& so, std::unique_ptr<relay::Store>* store);

}  // namespace rebound::cli
