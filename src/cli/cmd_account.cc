// `rebound account ...`: sending accounts of the relay (passwords, sender
// domains, quotas, enabled/disabled).
#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "cli/store_command.h"
#include "relay/password.h"
#include "relay/service.h"

namespace rebound::cli {
namespace {

struct AccountOptions {
  relay::ServiceOptions service;
  std::string user;
  std::vector<std::string> domains;
  int64_t daily = -1, monthly = -1;
  std::string timezone;
  FormatOption format;
};

std::string ReadLineNoEcho(const char* prompt) {
  std::cerr << prompt << std::flush;
  termios old{};
  tcgetattr(STDIN_FILENO, &old);
  termios quiet = old;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  std::string line;
  std::getline(std::cin, line);
  tcsetattr(STDIN_FILENO, TCSANOW, &old);
  std::cerr << "\n";
  return line;
}

// From stdin when it is not a terminal (one line), else prompted twice.
// Never from the command line, where other users could read it.
Status ReadPassword(std::string* pw) {
  if (!isatty(STDIN_FILENO)) {
    if (!std::getline(std::cin, *pw)) return Status::InvalidArgument("no password on stdin");
    if (!pw->empty() && pw->back() == '\r') pw->pop_back();
  } else {
    *pw = ReadLineNoEcho("Password: ");
    if (ReadLineNoEcho("Password again: ") != *pw) return Status::InvalidArgument("the passwords differ");
  }
  if (pw->empty()) return Status::InvalidArgument("the password is empty");
  return Status::Ok();
}

std::string Describe(const relay::Account& a) {
  std::string out = a.name + (a.enabled ? "  enabled" : "  DISABLED");
  out += "  daily " + (a.daily_quota ? std::to_string(a.daily_quota) : std::string("unlimited"));
  out += "  monthly " + (a.monthly_quota ? std::to_string(a.monthly_quota) : std::string("unlimited"));
  out += "  tz " + a.timezone + "  domains";
  for (const auto& d : a.domains) out += " " + d;
  return out;
}

nlohmann::json ToJson(const relay::Account& a) {
  return {{"name", a.name},           {"enabled", a.enabled},   {"daily_quota", a.daily_quota},
          {"monthly_quota", a.monthly_quota}, {"timezone", a.timezone}, {"domains", a.domains},
          {"created_at", a.created_at}, {"updated_at", a.updated_at}};
}

int WithStore(const AccountOptions& o, const std::function<int(relay::Store*)>& fn) {
  std::unique_ptr<relay::Store> store;
  if (int rc = OpenStoreForCommand("account", o.service, &store); rc != kExitOk) return rc;
  return fn(store.get());
}

int Fail(const Status& s) {
  std::cerr << "rebound account: " << s.message() << "\n";
  return s.code() == Status::Code::kNotFound || s.code() == Status::Code::kInvalidArgument ? kExitInputError
                                                                                           : kExitRuntime;
}

// Loads USER, applies `change`, stores it.
int Modify(const AccountOptions& o, const std::function<Status(relay::Account*)>& change) {
  return WithStore(o, [&](relay::Store* store) {
    relay::Account a;
    Status s = store->GetAccount(o.user, &a);
    if (s.ok()) s = change(&a);
    if (s.ok()) s = store->PutAccount(a);
    if (!s.ok()) return Fail(s);
    std::cout << Describe(a) << "\n";
    return int{kExitOk};
  });
}

void Setup(CLI::App& root, int* exit_code) {
  auto o = std::make_shared<AccountOptions>();
  CLI::App* cmd = root.add_subcommand("account", "Manage the relay's sending accounts");
  cmd->require_subcommand(1);
  cmd->footer(
      "Passwords are read from stdin when it is not a terminal, else prompted; never from the command line.\n"
      "Example:\n  echo 's3cret' | rebound account add alice --domain example.com --daily-quota 1000");

  CLI::App* add = cmd->add_subcommand("add", "Create an account");
  add->add_option("user", o->user, "Account (user) name")->required();
  add->add_option("--domain", o->domains, "Sender domain allowed in MAIL FROM (repeatable)")->required();
  add->add_option("--daily-quota", o->daily, "Recipients per day (0: unlimited)");
  add->add_option("--monthly-quota", o->monthly, "Recipients per month (0: unlimited)");
  add->add_option("--timezone", o->timezone, "IANA time zone where days and months start (default UTC)");
  AddServiceOptions(add, &o->service);
  add->callback([o, exit_code] {
    *exit_code = WithStore(*o, [&](relay::Store* store) {
      relay::Account a;
      if (store->GetAccount(o->user, &a).ok()) return Fail(Status::InvalidArgument("account " + o->user + " exists"));
      a = relay::Account();
      a.name = o->user;
      a.domains = o->domains;
      a.daily_quota = std::max<int64_t>(o->daily, 0);
      a.monthly_quota = std::max<int64_t>(o->monthly, 0);
      if (!o->timezone.empty()) a.timezone = o->timezone;
      std::string pw;
      Status s = ReadPassword(&pw);
      if (s.ok()) s = relay::HashPassword(pw, &a.password_hash);
      if (s.ok()) s = store->PutAccount(a);
      if (!s.ok()) return Fail(s);
      std::cout << "created " << Describe(a) << "\n";
      return int{kExitOk};
    });
  });

  CLI::App* list = cmd->add_subcommand("list", "List accounts");
  o->format.AddTo(list, {OutputFormat::kText, OutputFormat::kJson, OutputFormat::kCsv});
  AddServiceOptions(list, &o->service);
  list->callback([o, exit_code] {
    *exit_code = WithStore(*o, [&](relay::Store* store) {
      std::vector<relay::Account> all;
      Status s = store->ListAccounts(&all);
      if (!s.ok()) return Fail(s);
      Output out(o->format.Get(), {"name", "enabled", "daily_quota", "monthly_quota", "timezone", "domains",
                                   "created_at", "updated_at"});
      for (const auto& a : all) {
        switch (out.format()) {
          case OutputFormat::kJson: out.JsonLine(ToJson(a)); break;
          case OutputFormat::kCsv: {
            std::string domains;  // one field: the domains separated by spaces
            for (const auto& d : a.domains) domains += (domains.empty() ? "" : " ") + d;
            out.CsvRow({a.name, a.enabled ? "true" : "false", std::to_string(a.daily_quota),
                        std::to_string(a.monthly_quota), a.timezone, domains, std::to_string(a.created_at),
                        std::to_string(a.updated_at)});
            break;
          }
          case OutputFormat::kText: out.buffer().append(Describe(a)).append("\n"); break;
        }
      }
      return int{kExitOk};
    });
  });

  CLI::App* show = cmd->add_subcommand("show", "Show one account with today's and this month's usage");
  show->add_option("user", o->user, "Account name")->required();
  AddServiceOptions(show, &o->service);
  show->callback([o, exit_code] {
    *exit_code = WithStore(*o, [&](relay::Store* store) {
      relay::Account a;
      Status s = store->GetAccount(o->user, &a);
      if (!s.ok()) return Fail(s);
      std::string day, month;
      relay::QuotaPeriods(a.timezone, relay::SystemNow(), &day, &month);
      int64_t used_day = 0, used_month = 0;
      store->QuotaUsage(a.name, day, &used_day);
      store->QuotaUsage(a.name, month, &used_month);
      nlohmann::json j = ToJson(a);
      j["used_today"] = used_day;
      j["used_this_month"] = used_month;
      std::cout << j.dump(2) << "\n";
      return int{kExitOk};
    });
  });

  for (bool enable : {false, true}) {
    CLI::App* sub = cmd->add_subcommand(enable ? "enable" : "disable",
                                        enable ? "Enable an account" : "Disable an account (its mail gets 551)");
    sub->add_option("user", o->user, "Account name")->required();
    AddServiceOptions(sub, &o->service);
    sub->callback([o, exit_code, enable] {
      *exit_code = Modify(*o, [enable](relay::Account* a) {
        a->enabled = enable;
        return Status::Ok();
      });
    });
  }

  CLI::App* quota = cmd->add_subcommand("set-quota", "Change an account's quotas");
  quota->add_option("user", o->user, "Account name")->required();
  quota->add_option("--daily", o->daily, "Recipients per day (0: unlimited)");
  quota->add_option("--monthly", o->monthly, "Recipients per month (0: unlimited)");
  quota->add_option("--timezone", o->timezone, "IANA time zone where days and months start");
  AddServiceOptions(quota, &o->service);
  quota->callback([o, exit_code] {
    *exit_code = Modify(*o, [o](relay::Account* a) {
      if (o->daily >= 0) a->daily_quota = o->daily;
      if (o->monthly >= 0) a->monthly_quota = o->monthly;
      if (!o->timezone.empty()) a->timezone = o->timezone;
      return Status::Ok();
    });
  });

  CLI::App* domains = cmd->add_subcommand("set-domains", "Replace an account's allowed sender domains");
  domains->add_option("user", o->user, "Account name")->required();
  domains->add_option("domain", o->domains, "Sender domains")->required();
  AddServiceOptions(domains, &o->service);
  domains->callback([o, exit_code] {
    *exit_code = Modify(*o, [o](relay::Account* a) {
      a->domains = o->domains;
      return Status::Ok();
    });
  });

  CLI::App* passwd = cmd->add_subcommand("passwd", "Set an account's password (stdin or prompt)");
  passwd->add_option("user", o->user, "Account name")->required();
  AddServiceOptions(passwd, &o->service);
  passwd->callback([o, exit_code] {
    *exit_code = Modify(*o, [](relay::Account* a) {
      std::string pw;
      Status s = ReadPassword(&pw);
      if (s.ok()) s = relay::HashPassword(pw, &a->password_hash);
      return s;
    });
  });
}

REBOUND_REGISTER_COMMAND(51, Setup);

}  // namespace
}  // namespace rebound::cli
