// `rebound events`: every delivery decision, from the store.
// `rebound events [--message ID] [--recipient ADDR] [--since T] [--category C]
// [--format json|text]`; JSON Lines when stdout is not a terminal.
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/events_common.h"
#include "delivery/service.h"
#include "relay/service.h"

namespace rebound::cli {

// The delivery keys ([delivery], [dns]) join the one config table before any
// command loads a config file. Here because this file is always linked.
static const bool kDeliveryKeysRegistered = (delivery::RegisterDeliveryConfigKeys(), true);

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

int OpenStoreForCommand(const char* name, const relay::ServiceOptions& so, std::unique_ptr<relay::Store>* store) {
  relay::Config config;
  Status s = relay::LoadServiceConfig(so, &config);
  if (!s.ok()) {
    std::cerr << "rebound " << name << ": " << s.message() << "\n";
    return kExitRules;
  }
  s = relay::OpenServiceStore(config, store);
  if (!s.ok()) {
    std::cerr << "rebound " << name << ": " << s.message() << "\n";
    return kExitRuntime;
  }
  return kExitOk;
}

namespace {

struct EventsOptions {
  relay::ServiceOptions service;
  int64_t message_id = 0;
  std::string recipient, since, category, format;
  int limit = 0;
  bool include_queued = false;
};

int Run(const EventsOptions& o) {
  if (!o.category.empty() && !CategoryFromName(o.category)) {
    std::cerr << "rebound events: unknown category '" << o.category << "' (see `rebound categories`)\n";
    return kExitUsage;
  }
  relay::EventFilter f;
  f.message_id = o.message_id;
  f.recipient = o.recipient;
  f.category = o.category;
  f.limit = o.limit;
  if (!ParseSince(o.since, time(nullptr), &f.since)) {
    std::cerr << "rebound events: --since: expected Unix seconds, YYYY-MM-DD[THH:MM:SSZ] or 15m/2h/3d, got '" << o.since << "'\n";
    return kExitUsage;
  }
  std::unique_ptr<relay::Store> store;
  if (int rc = OpenStoreForCommand("events", o.service, &store); rc != kExitOk) return rc;
  std::vector<relay::Event> events;
  Status s = store->ListEvents(f, &events);
  if (!s.ok()) {
    std::cerr << "rebound events: " << s.message() << "\n";
    return kExitRuntime;
  }
  const std::string format = o.format.empty() ? DefaultFormat() : o.format;
  std::string out;
  for (const auto& e : events) {
    if (!o.include_queued && e.decision == "queued") continue;
    if (format == "json") {
      nlohmann::json j = {{"time", IsoUtc(e.time)}, {"message_id", e.message_id}, {"recipient", e.recipient},
                          {"decision", e.decision}, {"state", e.state},       {"mx", e.mx},
                          {"ip", e.ip},             {"reply", e.reply},       {"category", e.category},
                          {"reason", e.reason},     {"permanent", e.permanent}, {"hard_bounce", e.hard_bounce},
                          {"rule", e.rule}};
      j["next_attempt_at"] = e.next_attempt_at ? nlohmann::json(IsoUtc(e.next_attempt_at)) : nlohmann::json(nullptr);
      out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      out += '\n';
    } else {
      out += IsoUtc(e.time) + "  #" + std::to_string(e.message_id) + "  " + e.recipient + "  " + e.decision + "  " +
             e.category + (e.mx.empty() ? "" : "  via " + e.mx + (e.ip.empty() ? "" : "[" + e.ip + "]")) + "\n    " +
             e.reply + (e.next_attempt_at ? "\n    next attempt " + IsoUtc(e.next_attempt_at) : "") + "\n";
    }
    if (out.size() > (64 << 10)) {
      fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  fwrite(out.data(), 1, out.size(), stdout);
  fflush(stdout);
  return kExitOk;
}

void Setup(CLI::App& root, int* exit_code) {
  auto o = std::make_shared<EventsOptions>();
  CLI::App* cmd = root.add_subcommand("events", "Delivery attempts and decisions of the sending service");
  cmd->add_option("--config", o->service.config_path, "Service configuration file (TOML)")->check(CLI::ExistingFile);
  cmd->add_option("--data", o->service.data_dir, "Data directory (default ./rebound-data)");
  cmd->add_option("--message", o->message_id, "Only this message id");
  cmd->add_option("--recipient", o->recipient, "Only this recipient address");
  cmd->add_option("--since", o->since, "From this time: Unix seconds, YYYY-MM-DD[THH:MM:SSZ], or 15m/2h/3d ago");
  cmd->add_option("--category", o->category, "Only this verdict category");
  cmd->add_option("--limit", o->limit, "Only the newest N events");
  cmd->add_flag("--queued", o->include_queued, "Also show the submission events (decision queued)");
  cmd->add_option("--format", o->format, "json (JSON Lines) or text; default: text on a terminal, else json")
      ->check(CLI::IsMember({"json", "text"}));
  cmd->callback([o, exit_code] { *exit_code = Run(*o); });
}

REBOUND_REGISTER_COMMAND(62, Setup);

}  // namespace
}  // namespace rebound::cli
