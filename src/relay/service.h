// relay/service.h: what every relay subcommand shares: --config/--data
// handling and opening the store in the data directory. Not thread-related;
// errors as Status with a message fit for the user.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "store/store.h"

namespace rebound::relay {

struct ServiceOptions {
  std::string config_path;  // --config FILE (empty: defaults only)
  std::string data_dir;     // --data DIR (empty: server.data_dir from the config)
};

// Loads the configuration and applies the command-line overrides.
Status LoadServiceConfig(const ServiceOptions& o, Config* out);
// Creates the data directory when needed and opens <data_dir>/queue.db.
Status OpenServiceStore(const Config& c, std::unique_ptr<Store>* out);

}  // namespace rebound::relay
