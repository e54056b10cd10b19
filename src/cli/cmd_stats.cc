// `rebound stats`: what the delivery side did, by category, by destination
// domain and by receiving provider, with deferral and bounce rates.
//
// attempts       every delivery decision (delivered, deferred, bounced,
//                expired, suppressed); submission events are not counted
// deferral_rate  deferred / attempts
// bounce_rate    (bounced + expired) / recipients that reached a final state
// The provider comes from the rule that classified the reply (re-classified
// with the current rule base).
#include <ctime>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "cli/store_command.h"
#include "relay/service.h"

namespace rebound::cli {
namespace {

struct StatsOptions {
  relay::ServiceOptions service;
  std::string since;
  FormatOption format;
  int top = 20;
  ClassifierOptions classifier;
};

struct Tally {
  int64_t attempts = 0, delivered = 0, deferred = 0, bounced = 0, expired = 0, suppressed = 0;
  void Add(const std::string& decision) {
    ++attempts;
    if (decision == "delivered") ++delivered;
    else if (decision == "deferred") ++deferred;
    else if (decision == "bounced") ++bounced;
    else if (decision == "expired") ++expired;
    else if (decision == "suppressed") ++suppressed;
  }
  double DeferralRate() const { return attempts ? static_cast<double>(deferred) / static_cast<double>(attempts) : 0.0; }
  double BounceRate() const {
    int64_t final = delivered + bounced + expired + suppressed;
    return final ? static_cast<double>(bounced + expired) / static_cast<double>(final) : 0.0;
  }
  nlohmann::json Json() const {
    return {{"attempts", attempts}, {"delivered", delivered}, {"deferred", deferred},   {"bounced", bounced},
            {"expired", expired},   {"suppressed", suppressed}, {"deferral_rate", DeferralRate()}, {"bounce_rate", BounceRate()}};
  }
};

std::vector<std::pair<std::string, Tally>> Top(const std::map<std::string, Tally>& m, int n) {
  std::vector<std::pair<std::string, Tally>> v(m.begin(), m.end());
  std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second.attempts > b.second.attempts; });
  if (n > 0 && static_cast<int>(v.size()) > n) v.resize(static_cast<size_t>(n));
  return v;
}

int Run(const StatsOptions& o) {
  relay::EventFilter f;
  if (!ParseSince(o.since, time(nullptr), &f.since)) {
    std::cerr << "rebound stats: --since: expected Unix seconds, YYYY-MM-DD[THH:MM:SSZ] or 15m/2h/3d, got '" << o.since << "'\n";
    return kExitUsage;
  }
  auto classifier = o.classifier.Build();
  if (!classifier) return kExitRules;
  std::unique_ptr<relay::Store> store;
  if (int rc = OpenStoreForCommand("stats", o.service, &store); rc != kExitOk) return rc;
  std::vector<relay::Event> events;
  Status s = store->ListEvents(f, &events);
  if (!s.ok()) {
    std::cerr << "rebound stats: " << s.message() << "\n";
    return kExitRuntime;
  }
  auto scratch = classifier->NewScratch();
  Tally total;
  std::map<std::string, Tally> by_category, by_domain, by_provider;
  for (const auto& e : events) {
    if (e.decision == "queued") continue;
    total.Add(e.decision);
    by_category[e.category.empty() ? "unknown" : e.category].Add(e.decision);
    std::string domain = relay::AddressDomain(e.recipient);
    by_domain[domain.empty() ? "(none)" : domain].Add(e.decision);
    std::string provider;
    if (!e.reply.empty()) provider = std::string(classifier->Classify(e.reply, scratch.get()).provider);
    by_provider[provider.empty() ? "(unidentified)" : provider].Add(e.decision);
  }
  const OutputFormat format = o.format.Get();
  if (format == OutputFormat::kCsv) {
    Output out(format, {"section", "key", "attempts", "delivered", "deferred", "bounced", "expired", "suppressed",
                        "deferral_rate", "bounce_rate"});
    auto row = [&](std::string_view section, std::string_view key, const Tally& t) {
      auto rate = [](double r) {
        char b[32];
        snprintf(b, sizeof b, "%.4f", r);
        return std::string(b);
      };
      out.CsvRow({section, key, std::to_string(t.attempts), std::to_string(t.delivered), std::to_string(t.deferred),
                  std::to_string(t.bounced), std::to_string(t.expired), std::to_string(t.suppressed),
                  rate(t.DeferralRate()), rate(t.BounceRate())});
    };
    row("total", "", total);
    for (const auto& [k, t] : by_category) row("category", k, t);
    for (const auto& [k, t] : Top(by_domain, o.top)) row("domain", k, t);
    for (const auto& [k, t] : Top(by_provider, o.top)) row("provider", k, t);
    return kExitOk;
  }
  if (format == OutputFormat::kJson) {
    nlohmann::json j;
    j["since"] = f.since ? nlohmann::json(IsoUtc(f.since)) : nlohmann::json(nullptr);
    j["total"] = total.Json();
    for (const char* section : {"by_category", "by_domain", "by_provider"}) j[section] = nlohmann::json::object();
    for (const auto& [k, t] : by_category) j["by_category"][k] = t.Json();
    for (const auto& [k, t] : Top(by_domain, o.top)) j["by_domain"][k] = t.Json();
    for (const auto& [k, t] : Top(by_provider, o.top)) j["by_provider"][k] = t.Json();
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  auto pct = [](double r) {
    char b[16];
    snprintf(b, sizeof b, "%5.1f%%", r * 100.0);
    return std::string(b);
  };
  auto table = [&](const char* title, const std::vector<std::pair<std::string, Tally>>& rows) {
    printf("\n%s\n", title);
    printf("  %-32s %9s %9s %9s %9s %9s %9s %9s\n", "", "attempts", "delivered", "deferred", "bounced", "expired", "defer", "bounce");
    for (const auto& [k, t] : rows)
      printf("  %-32s %9lld %9lld %9lld %9lld %9lld %9s %9s\n", k.c_str(), static_cast<long long>(t.attempts),
             static_cast<long long>(t.delivered), static_cast<long long>(t.deferred), static_cast<long long>(t.bounced),
             static_cast<long long>(t.expired), pct(t.DeferralRate()).c_str(), pct(t.BounceRate()).c_str());
  };
  printf("Delivery since %s: %lld attempts, %lld delivered, %lld deferred, %lld bounced, %lld expired, %lld suppressed\n",
         f.since ? IsoUtc(f.since).c_str() : "the beginning", static_cast<long long>(total.attempts),
         static_cast<long long>(total.delivered), static_cast<long long>(total.deferred), static_cast<long long>(total.bounced),
         static_cast<long long>(total.expired), static_cast<long long>(total.suppressed));
  printf("Deferral rate %s, bounce rate %s\n", pct(total.DeferralRate()).c_str(), pct(total.BounceRate()).c_str());
  table("By category", Top(by_category, 0));
  table("By domain", Top(by_domain, o.top));
  table("By provider", Top(by_provider, o.top));
  return kExitOk;
}

void Setup(CLI::App& root, int* exit_code) {
  auto o = std::make_shared<StatsOptions>();
  CLI::App* cmd = root.add_subcommand("stats", "Delivery statistics: by category, domain and provider; deferral and bounce rates");
  AddServiceOptions(cmd, &o->service);
  cmd->add_option("--since", o->since, "From this time: Unix seconds, YYYY-MM-DD[THH:MM:SSZ], or 15m/2h/3d ago");
  cmd->add_option("--top", o->top, "Rows per domain/provider table (0: all)");
  o->format.AddTo(cmd, {OutputFormat::kText, OutputFormat::kJson, OutputFormat::kCsv}, "one JSON document");
  cmd->footer("CSV: one row per table line (section total, category, domain or provider; key; the counts; the rates).");
  o->classifier.AddTo(cmd);
  cmd->callback([o, exit_code] { *exit_code = Run(*o); });
}

REBOUND_REGISTER_COMMAND(63, Setup);

}  // namespace
}  // namespace rebound::cli
