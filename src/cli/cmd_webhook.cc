// `rebound webhook add|list|remove|rotate-secret|enable|disable`: the
// endpoints that `rebound serve` posts signed delivery events to
// (docs/webhooks.md). They live in queue.db beside the queue.
#include <ctime>
#include <iostream>
#include <sstream>

#include "cli/command.h"
#include "cli/output.h"
#include "cli/store_command.h"
#include "relay/service.h"
#include "webhooks/dispatcher.h"
#include "webhooks/payload.h"
#include "webhooks/webhook_store.h"

namespace rebound::cli {
namespace {

struct WebhookOptions {
  relay::ServiceOptions service;
  std::string url, account, events, grace = "24h";
  bool all_accounts = false;
  int batch = 1;
  int64_t id = 0;
  FormatOption format;
};

// Opens the queue (creating it as `serve` would) and then the webhook tables.
int OpenWebhooks(const WebhookOptions& o, std::unique_ptr<relay::Store>* store,
                 std::unique_ptr<webhooks::WebhookStore>* out) {
  if (int rc = OpenStoreForCommand("webhook", o.service, store); rc != kExitOk) return rc;
  relay::Config config;
  Status s = relay::LoadServiceConfig(o.service, &config);
  if (s.ok()) s = webhooks::WebhookStore::Open(config.String("server.data_dir") + "/queue.db", out);
  if (!s.ok()) {
    std::cerr << "rebound webhook: " << s.message() << "\n";
    return kExitRuntime;
  }
  return kExitOk;
}

int Fail(const Status& s) {
  std::cerr << "rebound webhook: " << s.message() << "\n";
  return s.code() == Status::Code::kNotFound ? kExitInputError : kExitRuntime;
}

// "90s", "15m", "24h", "3d" or plain seconds.
bool ParseDuration(const std::string& s, int64_t* out) {
  if (s.empty()) return false;
  int64_t unit = 1;
  std::string digits = s;
  switch (s.back()) {
    case 's': unit = 1; digits.pop_back(); break;
    case 'm': unit = 60; digits.pop_back(); break;
    case 'h': unit = 3600; digits.pop_back(); break;
    case 'd': unit = 86400; digits.pop_back(); break;
    default: break;
  }
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) return false;
  *out = std::stoll(digits) * unit;
  return true;
}

// Text (on a terminal): the secret alone on stdout, the rest on stderr.
// JSON (the default in a pipe): one object with the secret.
void PrintSecret(const WebhookOptions& o, const webhooks::Endpoint& e, const std::string& secret, bool rotated) {
  if (o.format.Get() == OutputFormat::kJson) {
    Output out(OutputFormat::kJson);
    out.JsonLine({{"id", e.id}, {"url", e.url}, {"account", e.account}, {"secret", secret},
                  {"old_secret_expires_at", rotated ? nlohmann::json(e.old_secret_expires_at) : nlohmann::json(nullptr)}});
    return;
  }
  std::cout << secret << "\n";
  std::cerr << (rotated ? "rebound webhook: new secret of endpoint " : "rebound webhook: added endpoint ") << e.id
            << " (" << e.url << ", account " << e.account << "); the secret above is shown only this once"
            << (rotated ? "; the old one stays valid until " + IsoUtc(e.old_secret_expires_at) : "") << "\n";
}

void Setup(CLI::App& root, int* exit_code) {
  auto o = std::make_shared<WebhookOptions>();
  CLI::App* cmd = root.add_subcommand("webhook", "Manage webhook endpoints (signed delivery events over HTTP)");
  cmd->require_subcommand(1);
  cmd->footer(
      "Events: accepted, delivered, deferred, bounced, expired, suppressed, complained, unsubscribed, each with\n"
      "its recipient, reply and verdict, signed the Standard Webhooks way (webhook-id, webhook-timestamp,\n"
      "webhook-signature). `rebound serve` sends them; see docs/webhooks.md.\n"
      "Examples:\n"
      "  rebound webhook add https://app.example.com/hooks --account alice --events delivered,bounced\n"
      "  rebound webhook list\n"
      "  rebound webhook rotate-secret 1 --grace 24h\n"
      "  rebound webhook enable 1        # after it was disabled for failing");

  CLI::App* add = cmd->add_subcommand("add", "Add an endpoint; prints its secret once");
  add->add_option("url", o->url, "http:// or https:// URL the events are POSTed to")->required();
  add->add_option("--account", o->account, "The account whose events it gets");
  add->add_flag("--all-accounts", o->all_accounts, "Every account's events");
  add->add_option("--events", o->events, "Only these types, comma-separated (default: all)");
  add->add_option("--batch", o->batch, "Events per POST; above 1 the body is a JSON array")->check(CLI::Range(1, 1000));
  o->format.AddTo(add, {OutputFormat::kText, OutputFormat::kJson});
  AddServiceOptions(add, &o->service);
  add->callback([o, exit_code] {
    if (o->all_accounts == !o->account.empty()) {
      std::cerr << "rebound webhook add: give --account NAME or --all-accounts\n";
      *exit_code = kExitUsage;
      return;
    }
    if (!webhooks::IsWebhookUrl(o->url)) {
      std::cerr << "rebound webhook add: " << o->url << ": expected an http:// or https:// URL\n";
      *exit_code = kExitUsage;
      return;
    }
    std::stringstream types(o->events);
    for (std::string t; std::getline(types, t, ',');) {
      if (!webhooks::IsEventType(t)) {
        std::cerr << "rebound webhook add: --events: unknown type '" << t << "' (accepted, delivered, deferred, "
                  << "bounced, expired, suppressed, complained, unsubscribed, auto_reply)\n";
        *exit_code = kExitUsage;
        return;
      }
    }
    std::unique_ptr<relay::Store> store;
    std::unique_ptr<webhooks::WebhookStore> hooks;
    if ((*exit_code = OpenWebhooks(*o, &store, &hooks)) != kExitOk) return;
    if (!o->all_accounts) {
      relay::Account a;
      if (Status s = store->GetAccount(o->account, &a); !s.ok()) {
        *exit_code = Fail(s);
        return;
      }
    }
    webhooks::Endpoint e;
    e.url = o->url;
    e.account = o->all_accounts ? "*" : o->account;
    e.events = o->events;
    e.batch_size = o->batch;
    if (Status s = hooks->AddEndpoint(&e, time(nullptr)); !s.ok()) {
      *exit_code = Fail(s);
      return;
    }
    PrintSecret(*o, e, e.secret, false);
  });

  CLI::App* list = cmd->add_subcommand("list", "List endpoints (without their secrets), with their backlog");
  o->format.AddTo(list, {OutputFormat::kText, OutputFormat::kJson, OutputFormat::kCsv});
  AddServiceOptions(list, &o->service);
  list->callback([o, exit_code] {
    std::unique_ptr<relay::Store> store;
    std::unique_ptr<webhooks::WebhookStore> hooks;
    if ((*exit_code = OpenWebhooks(*o, &store, &hooks)) != kExitOk) return;
    std::vector<webhooks::Endpoint> all;
    if (Status s = hooks->ListEndpoints(&all); !s.ok()) {
      *exit_code = Fail(s);
      return;
    }
    Output out(o->format.Get(), {"id", "url", "account", "events", "enabled", "batch", "pending", "failure_streak",
                                 "failing_since", "disabled_reason", "rotating_until"});
    for (const auto& e : all) {
      const std::string failing_since = e.failing_since ? IsoUtc(e.failing_since) : "";
      const std::string rotating_until = e.old_secret.empty() ? "" : IsoUtc(e.old_secret_expires_at);
      switch (out.format()) {
        case OutputFormat::kJson:
          out.buffer() += webhooks::EndpointJson(e);
          out.EndJsonRecord();
          break;
        case OutputFormat::kCsv:
          out.CsvRow({std::to_string(e.id), e.url, e.account, e.events, e.enabled ? "true" : "false",
                      std::to_string(e.batch_size), std::to_string(e.pending), std::to_string(e.failure_streak),
                      failing_since, e.disabled_reason, rotating_until});
          break;
        case OutputFormat::kText:
          out.buffer() += std::to_string(e.id) + "  " + e.url + "  account " + e.account + "  " +
                          (e.events.empty() ? "all events" : e.events) + (e.batch_size > 1 ? "  batch " + std::to_string(e.batch_size) : "") +
                          "  " + std::to_string(e.pending) + " pending" + (e.enabled ? "" : "  DISABLED: " + e.disabled_reason) +
                          (e.failure_streak && e.enabled ? "  failing since " + failing_since : "") +
                          (e.old_secret.empty() ? "" : "  old secret valid until " + rotating_until) + "\n";
          break;
      }
    }
    out.Flush();
  });

  CLI::App* rm = cmd->add_subcommand("remove", "Remove an endpoint and its unsent events");
  rm->add_option("id", o->id, "Endpoint id (rebound webhook list)")->required();
  AddServiceOptions(rm, &o->service);
  rm->callback([o, exit_code] {
    std::unique_ptr<relay::Store> store;
    std::unique_ptr<webhooks::WebhookStore> hooks;
    if ((*exit_code = OpenWebhooks(*o, &store, &hooks)) != kExitOk) return;
    if (Status s = hooks->RemoveEndpoint(o->id); !s.ok()) *exit_code = Fail(s);
    else std::cerr << "rebound webhook: removed endpoint " << o->id << "\n";
  });

  CLI::App* rotate = cmd->add_subcommand("rotate-secret", "Give an endpoint a new secret; prints it once");
  rotate->add_option("id", o->id, "Endpoint id")->required();
  rotate->add_option("--grace", o->grace, "How long the old secret also signs: 90s, 15m, 24h (default), 3d");
  o->format.AddTo(rotate, {OutputFormat::kText, OutputFormat::kJson});
  AddServiceOptions(rotate, &o->service);
  rotate->callback([o, exit_code] {
    int64_t grace = 0;
    if (!ParseDuration(o->grace, &grace)) {
      std::cerr << "rebound webhook rotate-secret: --grace: expected seconds or 90s/15m/24h/3d, got '" << o->grace << "'\n";
      *exit_code = kExitUsage;
      return;
    }
    std::unique_ptr<relay::Store> store;
    std::unique_ptr<webhooks::WebhookStore> hooks;
    if ((*exit_code = OpenWebhooks(*o, &store, &hooks)) != kExitOk) return;
    std::string secret;
    webhooks::Endpoint e;
    Status s = hooks->RotateSecret(o->id, time(nullptr), grace, &secret);
    if (s.ok()) s = hooks->GetEndpoint(o->id, &e);
    if (!s.ok()) {
      *exit_code = Fail(s);
      return;
    }
    PrintSecret(*o, e, secret, true);
  });

  for (bool enable : {true, false}) {
    CLI::App* sub = cmd->add_subcommand(enable ? "enable" : "disable",
                                        enable ? "Send to an endpoint again (its failure streak starts over)"
                                               : "Stop sending to an endpoint; its events wait in the outbox");
    sub->add_option("id", o->id, "Endpoint id")->required();
    AddServiceOptions(sub, &o->service);
    sub->callback([o, exit_code, enable] {
      std::unique_ptr<relay::Store> store;
      std::unique_ptr<webhooks::WebhookStore> hooks;
      if ((*exit_code = OpenWebhooks(*o, &store, &hooks)) != kExitOk) return;
      if (Status s = hooks->SetEnabled(o->id, enable, "disabled by hand", time(nullptr)); !s.ok()) *exit_code = Fail(s);
    });
  }
}

REBOUND_REGISTER_COMMAND(64, Setup);

}  // namespace
}  // namespace rebound::cli
