// `rebound events`: every delivery decision, from the store.
// `rebound events [--message ID] [--recipient ADDR] [--since T] [--category C]
// [--format text|json|csv]`; JSON Lines when stdout is not a terminal.
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "cli/store_command.h"
#include "delivery/service.h"
#include "relay/service.h"

namespace rebound::cli {

// The delivery keys ([delivery], [dns]) join the one config table before any
// command loads a config file. Here because this file is always linked.
static const bool kDeliveryKeysRegistered = (delivery::RegisterDeliveryConfigKeys(), true);

namespace {

struct EventsOptions {
  relay::ServiceOptions service;
  int64_t message_id = 0;
  std::string recipient, since, category;
  FormatOption format;
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
  Output out(o.format.Get(), {"time", "message_id", "recipient", "decision", "state", "mx", "ip", "reply", "category",
                              "reason", "permanent", "hard_bounce", "rule", "next_attempt_at"});
  for (const auto& e : events) {
    if (!o.include_queued && e.decision == "queued") continue;
    const std::string next_attempt_at = IsoUtc(e.next_attempt_at);
    switch (out.format()) {
      case OutputFormat::kJson: {
        nlohmann::json j = {{"time", IsoUtc(e.time)}, {"message_id", e.message_id}, {"recipient", e.recipient},
                            {"decision", e.decision}, {"state", e.state},       {"mx", e.mx},
                            {"ip", e.ip},             {"reply", e.reply},       {"category", e.category},
                            {"reason", e.reason},     {"permanent", e.permanent}, {"hard_bounce", e.hard_bounce},
                            {"rule", e.rule}};
        j["next_attempt_at"] = e.next_attempt_at ? nlohmann::json(next_attempt_at) : nlohmann::json(nullptr);
        out.JsonLine(j);
        break;
      }
      case OutputFormat::kCsv:
        out.CsvRow({IsoUtc(e.time), std::to_string(e.message_id), e.recipient, e.decision, e.state, e.mx, e.ip, e.reply,
                    e.category, e.reason, e.permanent ? "true" : "false", e.hard_bounce ? "true" : "false", e.rule,
                    next_attempt_at});
        break;
      case OutputFormat::kText:
        out.buffer() += IsoUtc(e.time) + "  #" + std::to_string(e.message_id) + "  " + e.recipient + "  " + e.decision +
                        "  " + e.category + (e.mx.empty() ? "" : "  via " + e.mx + (e.ip.empty() ? "" : "[" + e.ip + "]")) +
                        "\n    " + e.reply + (e.next_attempt_at ? "\n    next attempt " + next_attempt_at : "") + "\n";
        out.MaybeFlush();
        break;
    }
  }
  return kExitOk;
}

void Setup(CLI::App& root, int* exit_code) {
  auto o = std::make_shared<EventsOptions>();
  CLI::App* cmd = root.add_subcommand("events", "Delivery attempts and decisions of the sending service");
  AddServiceOptions(cmd, &o->service);
  cmd->add_option("--message", o->message_id, "Only this message id");
  cmd->add_option("--recipient", o->recipient, "Only this recipient address");
  cmd->add_option("--since", o->since, "From this time: Unix seconds, YYYY-MM-DD[THH:MM:SSZ], or 15m/2h/3d ago");
  cmd->add_option("--category", o->category, "Only this verdict category");
  cmd->add_option("--limit", o->limit, "Only the newest N events");
  cmd->add_flag("--queued", o->include_queued, "Also show the submission events (decision queued)");
  o->format.AddTo(cmd, {OutputFormat::kText, OutputFormat::kJson, OutputFormat::kCsv});
  cmd->callback([o, exit_code] { *exit_code = Run(*o); });
}

REBOUND_REGISTER_COMMAND(62, Setup);

}  // namespace
}  // namespace rebound::cli
