// `rebound rules check|list` and `rebound categories`: the rule base as data.
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli/command.h"
#include "cli/verdict_json.h"

namespace rebound::cli {
namespace {

int Check(const std::vector<std::string>& paths, bool shipped) {
  ClassifierBuilder b;
  if (!shipped) b.AddDefaults();
  for (const auto& p : paths) {
    Status s = b.AddPath(p, /*local=*/!shipped);
    if (!s.ok()) {
      std::cerr << s.message() << "\n";
      return kExitRules;
    }
  }
  std::unique_ptr<const Classifier> c;
  Status s = b.Build(&c);
  if (!s.ok()) {
    std::cerr << s.message() << "\n";
    return kExitRules;
  }
  size_t local = 0;
  for (const auto& r : c->rules()) local += r.local;
  if (shipped) std::cout << "ok: " << c->rules().size() << " rule(s) valid as a complete rule base\n";
  else std::cout << "ok: " << local << " local rule(s) valid on top of " << c->rules().size() - local << " shipped rule(s)\n";
  return kExitOk;
}

int List(const ClassifierOptions& opts, const std::string& format) {
  auto c = opts.Build();
  if (!c) return kExitRules;
  if ((format.empty() ? DefaultFormat() : format) == "json") {
    std::string out;
    for (const auto& r : c->rules()) {
      out.append("{\"rule\":");
      AppendJsonString(&out, r.id);
      out.append(",\"category\":\"").append(CategoryName(r.category));
      out.append("\",\"reason\":\"").append(ReasonName(r.reason)).append("\",\"priority\":").append(std::to_string(r.priority));
      out.append(",\"local\":").append(r.local ? "true" : "false").append(",\"provider\":");
      AppendJsonString(&out, r.provider);
      out.append(",\"file\":");
      AppendJsonString(&out, r.file + ":" + std::to_string(r.line));
      out.append(",\"match\":");
      AppendJsonString(&out, r.pattern);
      out.append("}\n");
    }
    std::cout << out;
    return kExitOk;
  }
  std::cout << std::left << std::setw(44) << "RULE" << std::setw(28) << "CATEGORY" << std::setw(6) << "PRIO"
            << std::setw(14) << "PROVIDER" << "DEFINED AT\n";
  for (const auto& r : c->rules())
    std::cout << std::setw(44) << r.id << std::setw(28) << CategoryName(r.category) << std::setw(6) << r.priority
              << std::setw(14) << (r.provider.empty() ? "-" : r.provider) << r.file << ":" << r.line << "\n";
  std::cout << c->rules().size() << " rules, evaluated top to bottom; the first match decides.\n";
  return kExitOk;
}

int Categories(const ClassifierOptions& opts, const std::string& format) {
  auto c = opts.Build();
  if (!c) return kExitRules;
  const Lang lang = opts.language();
  const bool json = (format.empty() ? DefaultFormat() : format) == "json";
  std::string out;
  for (int i = 0; i < kCategoryCount; ++i) {
    const CategoryInfo& info = c->category_info(static_cast<Category>(i));
    const bool hard = info.id == Category::recipient_not_found || info.id == Category::invalid_address ||
                      info.id == Category::dns_failure;
    if (json) {
      out.append("{\"category\":\"").append(CategoryName(info.id)).append("\",\"reason\":\"").append(ReasonName(info.reason));
      out.append("\",\"hard_bounce_when_permanent\":").append(hard ? "true" : "false").append(",\"action\":");
      AppendJsonString(&out, info.action);
      out.append(",\"solution\":");
      AppendJsonString(&out, lang == Lang::kZh ? info.solution_zh : info.solution_en);
      out.append("}\n");
    } else {
      out.append(CategoryName(info.id)).append("  (reason ").append(ReasonName(info.reason));
      out.append(hard ? "; hard bounce when permanent)\n" : ")\n");
      out.append("  action:   ").append(info.action).append("\n  solution: ");
      out.append(lang == Lang::kZh ? info.solution_zh : info.solution_en).append("\n\n");
    }
  }
  std::cout << out;
  return kExitOk;
}

void Setup(CLI::App& root, int* exit_code) {
  CLI::App* rules = root.add_subcommand("rules", "Check and list classification rules");
  rules->require_subcommand(1);
  auto paths = std::make_shared<std::vector<std::string>>();
  auto shipped = std::make_shared<bool>(false);
  CLI::App* check = rules->add_subcommand("check", "Validate rule files: TOML, categories, reasons, ids, patterns");
  check->add_option("path", *paths, "Rule file or directory")->required()->check(CLI::ExistingPath);
  check->add_flag("--shipped", *shipped,
                  "Check the files as a complete rule base (categories included) instead of local rules on top of the embedded ones");
  check->footer("Local rules are checked on top of the embedded rule base (an id may not repeat a shipped one).\n"
                "Prints every problem as file:line: message and exits 3 when there is any.\n\n"
                "Examples:\n  rebound rules check /etc/rebound/rules/\n  rebound rules check --shipped rules/   # the repository's own rule base");
  check->callback([paths, shipped, exit_code] { *exit_code = Check(*paths, *shipped); });

  auto list_opts = std::make_shared<ClassifierOptions>();
  auto list_format = std::make_shared<std::string>();
  CLI::App* list = rules->add_subcommand("list", "List every rule in evaluation order");
  list_opts->AddTo(list);
  list->add_option("--format", *list_format, "text or json")->check(CLI::IsMember({"text", "json"}));
  list->footer("Example:\n  rebound rules list --rules ./my-rules | grep qq");
  list->callback([list_opts, list_format, exit_code] { *exit_code = List(*list_opts, *list_format); });

  auto cat_opts = std::make_shared<ClassifierOptions>();
  auto cat_format = std::make_shared<std::string>();
  CLI::App* cats = root.add_subcommand("categories", "Show the taxonomy: every category, its action and solution");
  cat_opts->AddTo(cats);
  cats->add_option("--format", *cat_format, "text or json")->check(CLI::IsMember({"text", "json"}));
  cats->footer("Example:\n  rebound categories --lang zh");
  cats->callback([cat_opts, cat_format, exit_code] { *exit_code = Categories(*cat_opts, *cat_format); });
}

REBOUND_REGISTER_COMMAND(20, Setup);

}  // namespace
}  // namespace rebound::cli
