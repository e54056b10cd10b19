// `rebound queue list|show|delete`: the relay's durable queue.
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "relay/service.h"

namespace rebound::cli {
namespace {

struct QueueOptions {
  relay::ServiceOptions service;
  std::string state, account, format;
  int limit = 0;
  std::vector<int64_t> ids;
  bool body = false;
};

nlohmann::json RecipientJson(const relay::RecipientRow& r) {
  return {{"id", r.id},
          {"address", r.address},
          {"state", relay::RecipientStateName(r.state)},
          {"attempts", r.attempts},
          {"next_attempt_at", r.next_attempt_at},
          {"last_reply", r.last_reply},
          {"last_category", r.last_category}};
}

nlohmann::json MessageJson(const relay::MessageInfo& m) {
  nlohmann::json rc = nlohmann::json::array();
  for (const auto& r : m.recipients) rc.push_back(RecipientJson(r));
  return {{"id", m.id},         {"account", m.account},   {"mail_from", m.mail_from}, {"size", m.size},
          {"client_ip", m.client_ip}, {"queued_at", IsoUtc(m.queued_at)}, {"recipients", rc}};
}

int Open(const QueueOptions& o, std::unique_ptr<relay::Store>* store) {
  relay::Config config;
  Status s = relay::LoadServiceConfig(o.service, &config);
  if (!s.ok()) {
    std::cerr << "rebound queue: " << s.message() << "\n";
    return kExitRules;
  }
  s = relay::OpenServiceStore(config, store);
  if (!s.ok()) {
    std::cerr << "rebound queue: " << s.message() << "\n";
    return kExitRuntime;
  }
  return kExitOk;
}

void AddServiceOptions(CLI::App* app, relay::ServiceOptions* o) {
  app->add_option("--config", o->config_path, "Service configuration file (TOML)")->check(CLI::ExistingFile);
  app->add_option("--data", o->data_dir, "Data directory (default: server.data_dir, ./rebound-data)");
}

void Setup(CLI::App& root, int* exit_code) {
  auto o = std::make_shared<QueueOptions>();
  CLI::App* cmd = root.add_subcommand("queue", "Inspect or delete messages in the relay's queue");
  cmd->require_subcommand(1);

  CLI::App* list = cmd->add_subcommand("list", "List queued messages with their recipients' states");
  list->add_option("--state", o->state, "Only messages with a recipient in this state")
      ->check(CLI::IsMember({"queued", "deferred", "delivered", "bounced", "expired", "suppressed"}));
  list->add_option("--account", o->account, "Only this account's messages");
  list->add_option("--limit", o->limit, "At most N messages");
  list->add_option("--format", o->format, "text or json")->check(CLI::IsMember({"text", "json"}));
  AddServiceOptions(list, &o->service);
  list->callback([o, exit_code] {
    std::unique_ptr<relay::Store> store;
    if ((*exit_code = Open(*o, &store)) != kExitOk) return;
    relay::QueueFilter f;
    if (!o->state.empty()) f.state = relay::RecipientStateFromName(o->state);
    f.account = o->account;
    f.limit = o->limit;
    std::vector<relay::MessageInfo> msgs;
    Status s = store->ListMessages(f, &msgs);
    if (!s.ok()) {
      std::cerr << "rebound queue: " << s.message() << "\n";
      *exit_code = kExitRuntime;
      return;
    }
    const bool json = (o->format.empty() ? DefaultFormat() : o->format) == "json";
    for (const auto& m : msgs) {
      if (json) {
        std::cout << MessageJson(m).dump() << "\n";
        continue;
      }
      std::cout << m.id << "  " << IsoUtc(m.queued_at) << "  " << m.account << "  <" << m.mail_from << ">  "
                << m.size << " bytes\n";
      for (const auto& r : m.recipients)
        std::cout << "    " << relay::RecipientStateName(r.state) << "  " << r.address
                  << (r.attempts ? "  attempts " + std::to_string(r.attempts) : "")
                  << (r.last_reply.empty() ? "" : "  " + r.last_reply) << "\n";
    }
  });

  CLI::App* show = cmd->add_subcommand("show", "Show a message's envelope, recipients and events");
  show->add_option("id", o->ids, "Message id")->required();
  show->add_flag("--body", o->body, "Print the message itself");
  AddServiceOptions(show, &o->service);
  show->callback([o, exit_code] {
    std::unique_ptr<relay::Store> store;
    if ((*exit_code = Open(*o, &store)) != kExitOk) return;
    for (int64_t id : o->ids) {
      relay::Message m;
      Status s = store->ReadMessage(id, &m);
      if (!s.ok()) {
        std::cerr << "rebound queue: " << s.message() << "\n";
        *exit_code = kExitInputError;
        continue;
      }
      if (o->body) {
        std::cout << m.body;
        continue;
      }
      nlohmann::json j = MessageJson(m.info);
      j["helo"] = m.info.helo;
      relay::EventFilter f;
      f.message_id = id;
      std::vector<relay::Event> events;
      store->ListEvents(f, &events);
      j["events"] = nlohmann::json::array();
      for (const auto& e : events)
        j["events"].push_back({{"time", IsoUtc(e.time)}, {"recipient", e.recipient}, {"decision", e.decision},
                               {"state", e.state}, {"reply", e.reply}, {"category", e.category}, {"mx", e.mx}});
      std::cout << j.dump(2) << "\n";
    }
  });

  CLI::App* del = cmd->add_subcommand("delete", "Delete messages from the queue (nothing more is attempted)");
  del->add_option("id", o->ids, "Message ids")->required();
  AddServiceOptions(del, &o->service);
  del->callback([o, exit_code] {
    std::unique_ptr<relay::Store> store;
    if ((*exit_code = Open(*o, &store)) != kExitOk) return;
    for (int64_t id : o->ids) {
      Status s = store->DeleteMessage(id);
      if (!s.ok()) {
        std::cerr << "rebound queue: " << s.message() << "\n";
        *exit_code = kExitInputError;
      } else {
        std::cout << "deleted " << id << "\n";
      }
    }
  });
}

REBOUND_REGISTER_COMMAND(52, Setup);

}  // namespace
}  // namespace rebound::cli
