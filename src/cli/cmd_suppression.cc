// `rebound suppression list|add|remove|import|export`: per-account lists of
// addresses the relay refuses at RCPT (CSV: account,address,reply,rule,source,time).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/output.h"
#include "cli/store_command.h"
#include "relay/service.h"

namespace rebound::cli {
namespace {

struct SuppressionOptions {
  relay::ServiceOptions service;
  std::string account, file, reply;
  std::vector<std::string> addresses;
  FormatOption format;
};

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

void Setup(CLI::App& root, int* exit_code) {
  auto o = std::make_shared<SuppressionOptions>();
  CLI::App* cmd = root.add_subcommand("suppression", "Manage per-account suppression lists");
  cmd->require_subcommand(1);
  cmd->footer("CSV columns: account,address,reply,rule,source,time (a header line is written and skipped).\n"
              "JSON (list --format json): one object per address with the same fields.");

  CLI::App* list = cmd->add_subcommand("list", "List suppressed addresses");
  list->add_option("--account", o->account, "Only this account");
  o->format.AddTo(list, {OutputFormat::kText, OutputFormat::kJson, OutputFormat::kCsv});
  AddServiceOptions(list, &o->service);
  CLI::App* exp = cmd->add_subcommand("export", "Write the lists as CSV (stdout or -o FILE); as list --format csv");
  exp->add_option("--account", o->account, "Only this account");
  exp->add_option("-o,--output", o->file, "Output file");
  AddServiceOptions(exp, &o->service);
  for (CLI::App* sub : {list, exp}) {
    const bool is_export = sub == exp;
    sub->callback([o, exit_code, is_export] {
      std::unique_ptr<relay::Store> store;
      if ((*exit_code = OpenStoreForCommand("suppression", o->service, &store)) != kExitOk) return;
      std::vector<relay::Suppression> all;
      Status s = store->ListSuppressions(o->account, &all);
      if (!s.ok()) {
        std::cerr << "rebound suppression: " << s.message() << "\n";
        *exit_code = kExitRuntime;
        return;
      }
      FILE* to = stdout;
      if (is_export && !o->file.empty() && !(to = fopen(o->file.c_str(), "w"))) {
        std::cerr << "rebound suppression: " << o->file << ": cannot write\n";
        *exit_code = kExitInputError;
        return;
      }
      {
        Output out(is_export ? OutputFormat::kCsv : o->format.Get(),
                   {"account", "address", "reply", "rule", "source", "time"}, to);
        for (const auto& e : all) {
          switch (out.format()) {
            case OutputFormat::kJson:
              out.JsonLine({{"account", e.account}, {"address", e.address}, {"reply", e.reply},
                            {"rule", e.rule},       {"source", e.source},   {"time", e.time}});
              break;
            case OutputFormat::kCsv:
              out.CsvRow({e.account, e.address, e.reply, e.rule, e.source, std::to_string(e.time)});
              break;
            case OutputFormat::kText:
              out.buffer() += e.account + "  " + e.address + "  " + e.source + (e.reply.empty() ? "" : "  " + e.reply) + "\n";
              out.MaybeFlush();
              break;
          }
        }
        out.Flush();
        if (!out.ok()) {
          std::cerr << "rebound suppression: " << (to == stdout ? "stdout" : o->file) << ": cannot write\n";
          *exit_code = kExitRuntime;
        }
      }
      if (to != stdout) fclose(to);
    });
  }

  CLI::App* add = cmd->add_subcommand("add", "Suppress addresses for an account");
  add->add_option("--account", o->account, "Account")->required();
  add->add_option("address", o->addresses, "Addresses")->required();
  add->add_option("--reason", o->reply, "Why (kept with the entry)");
  AddServiceOptions(add, &o->service);
  add->callback([o, exit_code] {
    std::unique_ptr<relay::Store> store;
    if ((*exit_code = OpenStoreForCommand("suppression", o->service, &store)) != kExitOk) return;
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
    if ((*exit_code = OpenStoreForCommand("suppression", o->service, &store)) != kExitOk) return;
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
    if ((*exit_code = OpenStoreForCommand("suppression", o->service, &store)) != kExitOk) return;
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
