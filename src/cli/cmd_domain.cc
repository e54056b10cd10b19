// `rebound domain add|list|remove|rotate|check|records|events`: the relay's
// sending domains (docs/domains.md): their DKIM keys, the DNS records to
// publish, and the check of what DNS serves.
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "cli/store_command.h"
#include "config/config.h"
#include "domains/domain_check.h"
#include "domains/domain_store.h"
#include "relay/service.h"
#include "store/store.h"

namespace rebound::cli {

// [domains] joins the one config table before any command loads a config.
static const bool kDomainKeysRegistered = (domains::RegisterDomainConfigKeys(), true);

namespace {

struct DomainOptions {
  relay::ServiceOptions service;
  std::string domain, account, return_path;
  FormatOption format;
};

int Fail(const Status& s) {
  std::cerr << "rebound domain: " << s.message() << "\n";
  return s.code() == Status::Code::kNotFound || s.code() == Status::Code::kInvalidArgument ? kExitInputError
                                                                                           : kExitRuntime;
}

// Loads the config and opens the domain store in its data directory.
int Open(const DomainOptions& o, relay::Config* config, std::unique_ptr<domains::DomainStore>* store) {
  Status s = relay::LoadServiceConfig(o.service, config);
  if (!s.ok()) {
    std::cerr << "rebound domain: " << s.message() << "\n";
    return kExitRules;
  }
  s = domains::DomainStore::Open(config->String("server.data_dir"), store);
  if (!s.ok()) {
    std::cerr << "rebound domain: " << s.message() << "\n";
    return kExitRuntime;
  }
  return kExitOk;
}

void PrintRecords(const domains::SendingDomain& d, const domains::DomainSettings& settings, OutputFormat format) {
  const auto records = domains::RecordsToPublish(d, settings);
  if (format == OutputFormat::kJson) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : records)
      list.push_back({{"type", r.type}, {"name", r.name}, {"value", r.value}, {"purpose", r.purpose}});
    std::cout << nlohmann::json{{"domain", d.name}, {"records", list}}.dump() << "\n";
    return;
  }
  std::cout << "; DNS records for " << d.name << " (account " << d.account << "). Publish them, then run\n"
            << ";   rebound domain check " << d.name << "\n"
            << "; Only the ownership record is needed before sending; the others decide whether mail is trusted.\n"
            << "; SPF: if " << d.name << " already has a v=spf1 record, add the ip4:/ip6: terms to it instead (one SPF record per name).\n";
  if (settings.sending_ips.empty())
    std::cout << "; Warning: [domains] sending_ips is empty, so the SPF records name no addresses of this relay.\n";
  for (const auto& r : records) std::cout << "\n; " << r.purpose << "\n" << domains::ZoneLine(r) << "\n";
}

std::string KeysSummary(const domains::SendingDomain& d) {
  std::string out;
  for (const auto& k : d.keys)
    out += (out.empty() ? "" : ", ") + k.selector + " " + std::string(domains::KeyStateName(k.state));
  return out;
}

nlohmann::json DomainJson(const domains::SendingDomain& d) {
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& k : d.keys)
    keys.push_back({{"selector", k.selector},        {"generation", k.generation},
                    {"algorithm", k.algorithm},      {"state", domains::KeyStateName(k.state)},
                    {"created_at", IsoUtc(k.created)}, {"published_at", IsoUtc(k.published)},
                    {"retire_after", IsoUtc(k.retire_after)}});
  return {{"domain", d.name},         {"account", d.account},         {"return_path_domain", d.return_path_domain},
          {"verified", d.verified},   {"verified_at", IsoUtc(d.verified_at)}, {"created_at", IsoUtc(d.created)},
          {"keys", keys}};
}

int RunCheck(const DomainOptions& o) {
  relay::Config config;
  std::unique_ptr<domains::DomainStore> store;
  if (int rc = Open(o, &config, &store); rc != kExitOk) return rc;
  const domains::DomainSettings settings = domains::SettingsFromConfig(config);
  std::vector<domains::SendingDomain> list;
  Status s;
  if (o.domain.empty()) {
    s = store->List("", &list);
  } else {
    list.emplace_back();
    s = store->Get(o.domain, &list.back());
  }
  if (!s.ok()) return Fail(s);
  if (list.empty()) {
    std::cerr << "rebound domain check: no sending domains (add one with `rebound domain add DOMAIN --account A`)\n";
    return kExitInputError;
  }
  const domains::DnsClient dns(settings.dns_servers, settings.dns_timeout_ms, settings.dns_tries);
  Output out(o.format.Get());
  bool all_ok = true;
  for (const auto& d : list) {
    domains::DomainReport report = domains::CheckDomain(d, settings, dns);
    std::vector<std::string> changes;
    s = domains::ApplyCheck(store.get(), report, settings, time(nullptr), &changes);
    if (!s.ok()) return Fail(s);
    all_ok = all_ok && report.all_ok();
    if (out.format() == OutputFormat::kJson) {
      nlohmann::json checks = nlohmann::json::array();
      for (const auto& c : report.checks)
        checks.push_back({{"record", c.record}, {"type", c.type},   {"name", c.name},
                          {"result", c.ok ? "pass" : "fail"}, {"found", c.found}, {"fix", c.fix}});
      out.JsonLine({{"domain", d.name}, {"ok", report.all_ok()}, {"verified", report.ownership_ok() || d.verified},
                    {"checks", checks}, {"changes", changes}});
      continue;
    }
    std::string& b = out.buffer();
    b += d.name + (report.all_ok() ? ": every record passes\n" : ": some records fail\n");
    for (const auto& c : report.checks) {
      b += std::string("  ") + (c.ok ? "pass  " : "FAIL  ") + c.record + "  (" + c.type + " " + c.name + ")\n";
      b += "        found: " + c.found + "\n";
      if (!c.ok) b += "        fix:   " + c.fix + "\n";
    }
    for (const auto& ch : changes) b += "  " + ch + "\n";
    b += "\n";
  }
  out.Flush();
  return all_ok ? kExitOk : kExitInputError;
}

void Setup(CLI::App& root, int* exit_code) {
  auto o = std::make_shared<DomainOptions>();
  CLI::App* cmd = root.add_subcommand("domain", "Sending domains: DKIM keys, the DNS records to publish, their check");
  cmd->require_subcommand(1);
  cmd->footer(
      "A domain is registered to one account. Publish the records `add` prints; `check` resolves them and marks the\n"
      "domain verified once its ownership record is seen. Settings: [domains] sending_ips, return_path_mx, dmarc_rua,\n"
      "rotation_overlap, check_interval, require_verified (rebound config defaults). See docs/domains.md.\n"
      "Examples:\n"
      "  rebound domain add example.com --account alice\n"
      "  rebound domain check example.com\n"
      "  rebound domain rotate example.com && rebound domain records example.com");

  CLI::App* add = cmd->add_subcommand("add", "Register a sending domain, make its DKIM keys, print its DNS records");
  add->add_option("domain", o->domain, "The domain mail will be From")->required();
  add->add_option("--account", o->account, "The account that sends as this domain")->required();
  add->add_option("--return-path", o->return_path, "Envelope sender (bounce) domain, under the domain (default bounce.DOMAIN)");
  o->format.AddTo(add, {OutputFormat::kText, OutputFormat::kJson}, "one JSON document");
  AddServiceOptions(add, &o->service);
  add->callback([o, exit_code] {
    relay::Config config;
    std::unique_ptr<domains::DomainStore> store;
    if ((*exit_code = Open(*o, &config, &store)) != kExitOk) return;
    {
      std::unique_ptr<relay::Store> relay_store;
      if ((*exit_code = OpenStoreForCommand("domain", o->service, &relay_store)) != kExitOk) return;
      relay::Account account;
      if (!relay_store->GetAccount(o->account, &account).ok()) {
        *exit_code = Fail(Status::NotFound("no account '" + o->account + "' (create it with `rebound account add`)"));
        return;
      }
    }
    domains::SendingDomain d;
    Status s = store->Add(o->domain, o->account, o->return_path, &d);
    if (!s.ok()) {
      *exit_code = Fail(s);
      return;
    }
    PrintRecords(d, domains::SettingsFromConfig(config), o->format.Get());
    *exit_code = kExitOk;
  });

  CLI::App* records = cmd->add_subcommand("records", "Print the DNS records a registered domain publishes");
  records->add_option("domain", o->domain, "Sending domain")->required();
  o->format.AddTo(records, {OutputFormat::kText, OutputFormat::kJson}, "one JSON document");
  AddServiceOptions(records, &o->service);
  records->callback([o, exit_code] {
    relay::Config config;
    std::unique_ptr<domains::DomainStore> store;
    if ((*exit_code = Open(*o, &config, &store)) != kExitOk) return;
    domains::SendingDomain d;
    if (Status s = store->Get(o->domain, &d); !s.ok()) {
      *exit_code = Fail(s);
      return;
    }
    PrintRecords(d, domains::SettingsFromConfig(config), o->format.Get());
  });

  CLI::App* list = cmd->add_subcommand("list", "List sending domains, their verification and keys");
  list->add_option("--account", o->account, "Only this account's domains");
  o->format.AddTo(list, {OutputFormat::kText, OutputFormat::kJson});
  AddServiceOptions(list, &o->service);
  list->callback([o, exit_code] {
    relay::Config config;
    std::unique_ptr<domains::DomainStore> store;
    if ((*exit_code = Open(*o, &config, &store)) != kExitOk) return;
    std::vector<domains::SendingDomain> all;
    if (Status s = store->List(o->account, &all); !s.ok()) {
      *exit_code = Fail(s);
      return;
    }
    Output out(o->format.Get());
    for (const auto& d : all) {
      if (out.format() == OutputFormat::kJson) {
        out.JsonLine(DomainJson(d));
      } else {
        out.buffer() += d.name + "  account " + d.account + "  " +
                        (d.verified ? "verified " + IsoUtc(d.verified_at) : std::string("NOT VERIFIED")) +
                        "  return path " + d.return_path_domain + "  keys " + KeysSummary(d) + "\n";
      }
    }
    out.Flush();
  });

  CLI::App* remove = cmd->add_subcommand("remove", "Forget a sending domain and delete its keys");
  remove->add_option("domain", o->domain, "Sending domain")->required();
  AddServiceOptions(remove, &o->service);
  remove->callback([o, exit_code] {
    relay::Config config;
    std::unique_ptr<domains::DomainStore> store;
    if ((*exit_code = Open(*o, &config, &store)) != kExitOk) return;
    if (Status s = store->Remove(o->domain); !s.ok()) {
      *exit_code = Fail(s);
      return;
    }
    std::cout << "removed " << o->domain << " and its DKIM keys; its DNS records can go\n";
  });

  CLI::App* rotate = cmd->add_subcommand("rotate", "Make a new DKIM generation (pending until check sees it published)");
  rotate->add_option("domain", o->domain, "Sending domain")->required();
  o->format.AddTo(rotate, {OutputFormat::kText, OutputFormat::kJson}, "one JSON document");
  AddServiceOptions(rotate, &o->service);
  rotate->callback([o, exit_code] {
    relay::Config config;
    std::unique_ptr<domains::DomainStore> store;
    if ((*exit_code = Open(*o, &config, &store)) != kExitOk) return;
    std::string gen;
    domains::SendingDomain d;
    Status s = store->Rotate(o->domain, &gen);
    if (s.ok()) s = store->Get(o->domain, &d);
    if (!s.ok()) {
      *exit_code = Fail(s);
      return;
    }
    if (o->format.Get() == OutputFormat::kText)
      std::cout << "; new DKIM generation " << gen << " for " << d.name
                << ": publish its two records; `rebound domain check` switches signing to it once it sees them.\n";
    PrintRecords(d, domains::SettingsFromConfig(config), o->format.Get());
  });

  CLI::App* check = cmd->add_subcommand("check", "Resolve every record of one or all domains: pass/fail with the fix");
  check->add_option("domain", o->domain, "Sending domain (default: every one)");
  o->format.AddTo(check, {OutputFormat::kText, OutputFormat::kJson});
  AddServiceOptions(check, &o->service);
  check->footer("Exit status 0 when every record passes, 1 when one fails. Uses [dns] servers like delivery does.");
  check->callback([o, exit_code] { *exit_code = RunCheck(*o); });

  CLI::App* events = cmd->add_subcommand("events", "Records that broke since they last passed (from serve's re-checks)");
  events->add_option("domain", o->domain, "Only this domain");
  o->format.AddTo(events, {OutputFormat::kText, OutputFormat::kJson});
  AddServiceOptions(events, &o->service);
  events->callback([o, exit_code] {
    relay::Config config;
    std::unique_ptr<domains::DomainStore> store;
    if ((*exit_code = Open(*o, &config, &store)) != kExitOk) return;
    std::vector<domains::DomainStore::Event> list;
    if (Status s = store->ListEvents(o->domain, &list); !s.ok()) {
      *exit_code = Fail(s);
      return;
    }
    Output out(o->format.Get());
    for (const auto& e : list) {
      if (out.format() == OutputFormat::kJson)
        out.JsonLine({{"time", IsoUtc(e.time)}, {"domain", e.domain}, {"event", e.event}, {"record", e.record},
                      {"detail", e.detail}});
      else
        out.buffer() += IsoUtc(e.time) + "  " + e.domain + "  " + e.event + "  " + e.record + "  " + e.detail + "\n";
    }
    out.Flush();
  });
}

}  // namespace

REBOUND_REGISTER_COMMAND(54, Setup);

}  // namespace rebound::cli
