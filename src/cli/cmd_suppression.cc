// `rebound suppression list|add|remove|import|export`: per-account lists of
// addresses the relay refuses at RCPT (CSV: account,address,reply,rule,source,time).
#include <fstream>
#include <iostream>

#include "cli/command.h"
#include "relay/service.h"

namespace rebound::cli {
namespace {

struct SuppressionOptions {
  relay::ServiceOptions service;
  std::string account, file, reply;
  std::vector<std::string> addresses;
};

void AddServiceOptions(CLI::App* app, relay::ServiceOptions* o) {
  app->add_option("--config", o->config_path, "Service configuration file (TOML)")->check(CLI::ExistingFile);
  app->add_option("--data", o->data_dir, "Data directory (default: server.data_dir, ./rebound-data)");
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// One CSV record (RFC 4180; quoted fields may not span lines here).
bool ParseCsvLine(const std::string& line, std::vector<std::string>* fields) {
  fields->assign(1, "");
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields->back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields->back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields->emplace_back();
    } else {
      fields->back() += c;
    }
  }
  return !quoted;
}

int Open(const SuppressionOptions& o, std::unique_ptr<relay::Store>* store) {
  relay::Config config;
  Status s = relay::LoadServiceConfig(o.service, &config);
  if (!s.ok()) {
    std::cerr << "rebound suppression: " << s.message() << "\n";
    return kExitRules;
  }
  s = relay::OpenServiceStore(config, store);
  if (!s.ok()) {
    std::cerr << "rebound suppression: " << s.message() << "\n";
    return kExitRuntime;
  }
  return kExitOk;
}

void Setup(CLI::App& root, int* exit_code) {
  auto o = std::make_shared<SuppressionOptions>();
  CLI::App* cmd = root.add_subcommand("suppression", "Manage per-account suppression lists");
  cmd->require_subcommand(1);
  cmd->footer("CSV columns: account,address,reply,rule,source,time (a header line is written and skipped).");

  CLI::App* list = cmd->add_subcommand("list", "List suppressed addresses");
  list->add_option("--account", o->account, "Only this account");
  AddServiceOptions(list, &o->service);
  CLI::App* exp = cmd->add_subcommand("export", "Write the lists as CSV (stdout or -o FILE)");
  exp->add_option("--account", o->account, "Only this account");
  exp->add_option("-o,--output", o->file, "Output file");
  AddServiceOptions(exp, &o->service);
  for (CLI::App* sub : {list, exp}) {
    const bool csv = sub == exp;
    sub->callback([o, exit_code, csv] {
      std::unique_ptr<relay::Store> store;
      if ((*exit_code = Open(*o, &store)) != kExitOk) return;
      std::vector<relay::Suppression> all;
      Status s = store->ListSuppressions(o->account, &all);
      if (!s.ok()) {
        std::cerr << "rebound suppression: " << s.message() << "\n";
        *exit_code = kExitRuntime;
        return;
      }
      std::ofstream file;
      std::ostream* out = &std::cout;
      if (!o->file.empty()) {
        file.open(o->file);
        if (!file) {
          std::cerr << "rebound suppression: " << o->file << ": cannot write\n";
          *exit_code = kExitInputError;
          return;
        }
        out = &file;
      }
      if (csv) *out << "account,address,reply,rule,source,time\n";
      for (const auto& e : all) {
        if (csv)
          *out << CsvField(e.account) << ',' << CsvField(e.address) << ',' << CsvField(e.reply) << ','
               << CsvField(e.rule) << ',' << CsvField(e.source) << ',' << e.time << "\n";
        else
          *out << e.account << "  " << e.address << "  " << e.source << (e.reply.empty() ? "" : "  " + e.reply) << "\n";
      }
    });
  }

  CLI::App* add = cmd->add_subcommand("add", "Suppress addresses for an account");
  add->add_option("--account", o->account, "Account")->required();
  add->add_option("address", o->addresses, "Addresses")->required();
  add->add_option("--reason", o->reply, "Why (kept with the entry)");
  AddServiceOptions(add, &o->service);
  add->callback([o, exit_code] {
    std::unique_ptr<relay::Store> store;
    if ((*exit_code = Open(*o, &store)) != kExitOk) return;
    std::vector<relay::Suppression> list;
    for (const auto& a : o->addresses) {
      if (a.find('@') == std::string::npos) {
        std::cerr << "rebound suppression: " << a << ": not an address\n";
        *exit_code = kExitInputError;
        return;
      }
      relay::Suppression s;
      s.account = o->account;
      s.address = a;
      s.reply = o->reply;
      s.source = "manual";
      list.push_back(s);
    }
    Status s = store->AddSuppressions(list);
    if (!s.ok()) {
      std::cerr << "rebound suppression: " << s.message() << "\n";
      *exit_code = kExitRuntime;
      return;
    }
    std::cout << "suppressed " << list.size() << " address(es) for " << o->account << "\n";
  });

  CLI::App* rm = cmd->add_subcommand("remove", "Remove addresses from an account's list");
  rm->add_option("--account", o->account, "Account")->required();
  rm->add_option("address", o->addresses, "Addresses")->required();
  AddServiceOptions(rm, &o->service);
  rm->callback([o, exit_code] {
    std::unique_ptr<relay::Store> store;
    if ((*exit_code = Open(*o, &store)) != kExitOk) return;
    for (const auto& a : o->addresses) {
      Status s = store->RemoveSuppression(o->account, a);
      if (!s.ok()) {
        std::cerr << "rebound suppression: " << s.message() << "\n";
        *exit_code = kExitInputError;
      } else {
        std::cout << "removed " << a << "\n";
      }
    }
  });

  CLI::App* imp = cmd->add_subcommand("import", "Read CSV (as exported; or lines of address with --account)");
  imp->add_option("file", o->file, "CSV file ('-' for stdin)")->required();
  imp->add_option("--account", o->account, "Account for rows without one (one-column files)");
  AddServiceOptions(imp, &o->service);
  imp->callback([o, exit_code] {
    std::unique_ptr<relay::Store> store;
    if ((*exit_code = Open(*o, &store)) != kExitOk) return;
    std::ifstream file;
    std::istream* in = &std::cin;
    if (o->file != "-") {
      file.open(o->file);
      if (!file) {
        std::cerr << "rebound suppression: " << o->file << ": cannot open\n";
        *exit_code = kExitInputError;
        return;
      }
      in = &file;
    }
    std::vector<relay::Suppression> list;
    std::string line;
    std::vector<std::string> f;
    size_t lineno = 0;
    while (std::getline(*in, line)) {
      ++lineno;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || (lineno == 1 && line.rfind("account,", 0) == 0)) continue;
      relay::Suppression s;
      s.source = "import";
      if (!ParseCsvLine(line, &f)) f.clear();
      if (f.size() == 1 && !o->account.empty()) {
        s.account = o->account;
        s.address = f[0];
      } else if (f.size() >= 2) {
        s.account = f[0].empty() ? o->account : f[0];
        s.address = f[1];
        if (f.size() > 2) s.reply = f[2];
        if (f.size() > 3) s.rule = f[3];
        if (f.size() > 4 && !f[4].empty()) s.source = f[4];
        if (f.size() > 5) s.time = atoll(f[5].c_str());
      }
      if (s.account.empty() || s.address.find('@') == std::string::npos) {
        std::cerr << "rebound suppression: " << o->file << ":" << lineno << ": expected account,address,...; skipped\n";
        *exit_code = kExitInputError;
        continue;
      }
      list.push_back(std::move(s));
    }
    Status s = store->AddSuppressions(list);
    if (!s.ok()) {
      std::cerr << "rebound suppression: " << s.message() << "\n";
      *exit_code = kExitRuntime;
      return;
    }
    std::cout << "imported " << list.size() << " address(es)\n";
  });
}

REBOUND_REGISTER_COMMAND(53, Setup);

}  // namespace
}  // namespace rebound::cli
