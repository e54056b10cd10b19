// `rebound queue list|show|delete`: the relay's durable queue.
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "cli/store_command.h"
#include "relay/service.h"

namespace rebound::cli {
namespace {

struct QueueOptions {
  relay::ServiceOptions service;
  std::string state, account;
  FormatOption format;
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

void Setup(CLI::App& root, int* exit_code) {
  auto o = std::make_shared<QueueOptions>();
  CLI::App* cmd = root.add_subcommand("queue", "Inspect or delete messages in the relay's queue");
  cmd->require_subcommand(1);

  CLI::App* list = cmd->add_subcommand("list", "List queued messages with their recipients' states");
  list->add_option("--state", o->state, "Only messages with a recipient in this state")
      ->check(CLI::IsMember({"queued", "deferred", "delivered", "bounced", "expired", "suppressed"}));
  list->add_option("--account", o->account, "Only this account's messages");
  list->add_option("--limit", o->limit, "At most N messages");
  o->format.AddTo(list, {OutputFormat::kText, OutputFormat::kJson, OutputFormat::kCsv});
  list->footer("JSON: one object per message, its recipients inside. CSV: one row per recipient, the message's\n"
               "columns repeated: id,account,mail_from,size,client_ip,queued_at,recipient_id,address,state,\n"
               "attempts,next_attempt_at,last_reply,last_category.");
  AddServiceOptions(list, &o->service);
  list->callback([o, exit_code] {
    std::unique_ptr<relay::Store> store;
    if ((*exit_code = OpenStoreForCommand("queue", o->service, &store)) != kExitOk) return;
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
    Output out(o->format.Get(), {"id", "account", "mail_from", "size", "client_ip", "queued_at", "recipient_id",
                                 "address", "state", "attempts", "next_attempt_at", "last_reply", "last_category"});
    for (const auto& m : msgs) {
      switch (out.format()) {
        case OutputFormat::kJson: out.JsonLine(MessageJson(m)); break;
        case OutputFormat::kCsv:
          for (const auto& r : m.recipients)
            out.CsvRow({std::to_string(m.id), m.account, m.mail_from, std::to_string(m.size), m.client_ip,
                        IsoUtc(m.queued_at), std::to_string(r.id), r.address, relay::RecipientStateName(r.state),
                        std::to_string(r.attempts), std::to_string(r.next_attempt_at), r.last_reply, r.last_category});
          break;
        case OutputFormat::kText: {
          std::string& text = out.buffer();
          text += std::to_string(m.id) + "  " + IsoUtc(m.queued_at) + "  " + m.account + "  <" + m.mail_from + ">  " +
                  std::to_string(m.size) + " bytes\n";
          for (const auto& r : m.recipients)
            text += std::string("    ") + std::string(relay::RecipientStateName(r.state)) + "  " + r.address +
                    (r.attempts ? "  attempts " + std::to_string(r.attempts) : "") +
                    (r.last_reply.empty() ? "" : "  " + r.last_reply) + "\n";
          out.MaybeFlush();
          break;
        }
      }
    }
  });

  CLI::App* show = cmd->add_subcommand("show", "Show a message's envelope, recipients and events");
  show->add_option("id", o->ids, "Message id")->required();
  show->add_flag("--body", o->body, "Print the message itself");
  AddServiceOptions(show, &o->service);
  show->callback([o, exit_code] {
    std::unique_ptr<relay::Store> store;
    if ((*exit_code = OpenStoreForCommand("queue", o->service, &store)) != kExitOk) return;
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
    if ((*exit_code = OpenStoreForCommand("queue", o->service, &store)) != kExitOk) return;
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
