// `rebound apikey ...`: the HTTP API's keys (create, list, revoke); see
// api/api_keys.h for how they are kept and docs/api.md for their use.
#include <iostream>

#include "api/api_keys.h"
#include "cli/command.h"
#include "cli/output.h"
#include "cli/store_command.h"
#include "core/civil_time.h"
#include "relay/service.h"

namespace rebound::cli {
namespace {

struct ApiKeyOptions {
  relay::ServiceOptions service;
  std::string account;
  std::string scopes = "send";
  std::string id;
  FormatOption format;
};

int Fail(const Status& s) {
  std::cerr << "rebound apikey: " << s.message() << "\n";
  return s.code() == Status::Code::kNotFound || s.code() == Status::Code::kInvalidArgument ? kExitInputError
                                                                                           : kExitRuntime;
}

// Opens the store (which makes queue.db and checks the config) and the keys beside it.
int WithKeys(const ApiKeyOptions& o, const std::function<int(relay::Store*, api::ApiKeys*)>& fn) {
  std::unique_ptr<relay::Store> store;
  if (int rc = OpenStoreForCommand("apikey", o.service, &store); rc != kExitOk) return rc;
  relay::Config config;
  Status s = relay::LoadServiceConfig(o.service, &config);
  std::unique_ptr<api::ApiKeys> keys;
  if (s.ok()) s = api::ApiKeys::Open(config.String("server.data_dir") + "/queue.db", &keys);
  if (!s.ok()) return Fail(s);
  return fn(store.get(), keys.get());
}

void Setup(CLI::App& root, int* exit_code) {
  auto o = std::make_shared<ApiKeyOptions>();
  CLI::App* cmd = root.add_subcommand("apikey", "Manage the HTTP API's keys (Authorization: Bearer KEY)");
  cmd->require_subcommand(1);
  cmd->footer(
      "A key belongs to one account and holds scopes: send (POST /v1/messages...), read (GET messages, events,\n"
      "suppressions, stats, domains), admin (change suppressions, check domains). Only a hash of the key is\n"
      "stored: keep the printed key.\n"
      "Example:\n  KEY=$(rebound apikey create --account alice --scope send,read)\n"
      "  curl -H \"Authorization: Bearer $KEY\" http://127.0.0.1:8025/v1/stats");

  CLI::App* create = cmd->add_subcommand("create", "Create a key; prints it once, alone on stdout");
  create->add_option("--account", o->account, "The account the key sends as")->required();
  create->add_option("--scope", o->scopes, "Comma-separated scopes: send, read, admin (default send)");
  AddServiceOptions(create, &o->service);
  create->callback([o, exit_code] {
    *exit_code = WithKeys(*o, [&](relay::Store* store, api::ApiKeys* keys) {
      relay::Account a;
      if (!store->GetAccount(o->account, &a).ok())
        return Fail(Status::NotFound("no account " + o->account + " (rebound account add)"));
      std::string scopes, key;
      Status s = api::NormalizeScopes(o->scopes, &scopes);
      api::ApiKey info;
      if (s.ok()) s = keys->Create(o->account, scopes, &key, &info);
      if (!s.ok()) return Fail(s);
      std::cout << key << "\n";
      std::cerr << "rebound apikey: created key " << info.id << " for " << info.account << " (" << info.scopes
                << "); it is not shown again\n";
      return int{kExitOk};
    });
  });

  CLI::App* list = cmd->add_subcommand("list", "List keys (ids, accounts, scopes; never the keys themselves)");
  o->format.AddTo(list, {OutputFormat::kText, OutputFormat::kJson, OutputFormat::kCsv});
  AddServiceOptions(list, &o->service);
  list->callback([o, exit_code] {
    *exit_code = WithKeys(*o, [&](relay::Store*, api::ApiKeys* keys) {
      std::vector<api::ApiKey> all;
      Status s = keys->List(&all);
      if (!s.ok()) return Fail(s);
      Output out(o->format.Get(), {"id", "account", "scopes", "created_at", "revoked_at"});
      for (const auto& k : all) {
        switch (out.format()) {
          case OutputFormat::kJson:
            out.Json()
                .BeginObject()
                .String("id", k.id)
                .String("account", k.account)
                .String("scopes", k.scopes)
                .Int("created_at", k.created_at)
                .Int("revoked_at", k.revoked_at)
                .EndObject();
            out.EndJsonRecord();
            break;
          case OutputFormat::kCsv:
            out.CsvRow({k.id, k.account, k.scopes, std::to_string(k.created_at), std::to_string(k.revoked_at)});
            break;
          case OutputFormat::kText:
            out.buffer()
                .append(k.id)
                .append("  ")
                .append(k.account)
                .append("  ")
                .append(k.scopes)
                .append("  created ")
                .append(FormatTime(k.created_at * 1000, TimeFormat::kIso))
                .append(k.revoked_at ? "  REVOKED " + FormatTime(k.revoked_at * 1000, TimeFormat::kIso) : "")
                .append("\n");
            break;
        }
      }
      return int{kExitOk};
    });
  });

  CLI::App* revoke = cmd->add_subcommand("revoke", "Revoke a key by its id (from `apikey list`); it stops working at once");
  revoke->add_option("id", o->id, "The key's id (the 16 hex digits after rbk_)")->required();
  AddServiceOptions(revoke, &o->service);
  revoke->callback([o, exit_code] {
    *exit_code = WithKeys(*o, [&](relay::Store*, api::ApiKeys* keys) {
      Status s = keys->Revoke(o->id);
      if (!s.ok()) return Fail(s);
      std::cout << "revoked " << o->id << "\n";
      return int{kExitOk};
    });
  });
}

REBOUND_REGISTER_COMMAND(58, Setup);

}  // namespace
}  // namespace rebound::cli
