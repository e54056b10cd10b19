#include "cli/store_command.h"

#include <ctime>
#include <iostream>

#include "cli/command.h"

namespace rebound::cli {

void AddServiceOptions(CLI::App* app, relay::ServiceOptions* o) {
  app->add_option("--config", o->config_path, "Service configuration file (TOML)")->check(CLI::ExistingFile);
  app->add_option("--data", o->data_dir, "Data directory (default: server.data_dir, ./rebound-data)");
}

bool ParseSince(const std::string& s, int64_t now, int64_t* out) {
  if (s.empty()) {
    *out = 0;
    return true;
  }
  // Relative: 90s, 15m, 2h, 3d (ago).
  char unit = s.back();
  std::string num = s.substr(0, s.size() - 1);
  auto all_digits = [](const std::string& x) {
    return !x.empty() && x.find_first_not_of("0123456789") == std::string::npos;
  };
  if ((unit == 's' || unit == 'm' || unit == 'h' || unit == 'd') && all_digits(num)) {
    int64_t n = std::stoll(num);
    int64_t mult = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : 86400;
    *out = now - n * mult;
    return true;
  }
  if (all_digits(s)) {
    *out = std::stoll(s);
    return true;
  }
  // ISO 8601 UTC: 2026-11-27, 2026-11-27T22:00:00Z, 2026-11-27 22:00:00
  struct tm tm {};
  const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end) end = strptime(s.c_str(), "%Y-%m-%d %H:%M:%S", &tm);
  if (!end) {
    tm = {};
    end = strptime(s.c_str(), "%Y-%m-%d", &tm);
  }
  if (!end || (*end && std::string(end) != "Z")) return false;
  *out = timegm(&tm);
  return true;
}

int OpenStoreForCommand(std::string_view command, const relay::ServiceOptions& so, std::unique_ptr<relay::Store>* store) {
  relay::Config config;
  Status s = relay::LoadServiceConfig(so, &config);
  if (!s.ok()) {
    std::cerr << "rebound " << command << ": " << s.message() << "\n";
    return kExitRules;
  }
  s = relay::OpenServiceStore(config, store);
  if (!s.ok()) {
    std::cerr << "rebound " << command << ": " << s.message() << "\n";
    return kExitRuntime;
  }
  return kExitOk;
}

}  // namespace rebound::cli
