// `rebound rules check|list` and `rebound categories`: the rule base as data.
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli/command.h"
#include "cli/output.h"

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

int List(const ClassifierOptions& opts, OutputFormat format) {
  auto c = opts.Build();
  if (!c) return kExitRules;
  if (format == OutputFormat::kJson) {
    Output out(format);
    for (const auto& r : c->rules()) {
      out.Json()
          .BeginObject()
          .String("rule", r.id)
          .String("category", CategoryName(r.category))
          .String("reason", ReasonName(r.reason))
          .Int("priority", r.priority)
          .Bool("local", r.local)
          .String("provider", r.provider)
          .String("file", r.file + ":" + std::to_string(r.line))
          .String("match", r.pattern)
          .EndObject();
      out.EndJsonRecord();
    }
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

int Categories(const ClassifierOptions& opts, OutputFormat format) {
  auto c = opts.Build();
  if (!c) return kExitRules;
  const Lang lang = opts.language();
  Output output(format);
  std::string& out = output.buffer();
  for (int i = 0; i < kCategoryCount; ++i) {
    const CategoryInfo& info = c->category_info(static_cast<Category>(i));
    const bool hard = info.id == Category::recipient_not_found || info.id == Category::invalid_address ||
                      info.id == Category::dns_failure;
    if (format == OutputFormat::kJson) {
      output.Json()
          .BeginObject()
          .String("category", CategoryName(info.id))
          .String("reason", ReasonName(info.reason))
          .Bool("hard_bounce_when_permanent", hard)
          .String("action", info.action)
          .String("solution", lang == Lang::kZh ? info.solution_zh : info.solution_en)
          .EndObject();
      output.EndJsonRecord();
    } else {
      out.append(CategoryName(info.id)).append("  (reason ").append(ReasonName(info.reason));
      out.append(hard ? "; hard bounce when permanent)\n" : ")\n");
      out.append("  action:   ").append(info.action).append("\n  solution: ");
      out.append(lang == Lang::kZh ? info.solution_zh : info.solution_en).append("\n\n");
    }
  }
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
  auto list_format = std::make_shared<FormatOption>();
  CLI::App* list = rules->add_subcommand("list", "List every rule in evaluation order");
  list_opts->AddTo(list);
  list_format->AddTo(list, {OutputFormat::kText, OutputFormat::kJson});
  list->footer("Example:\n  rebound rules list --rules ./my-rules | grep qq");
  list->callback([list_opts, list_format, exit_code] { *exit_code = List(*list_opts, list_format->Get()); });

  auto cat_opts = std::make_shared<ClassifierOptions>();
  auto cat_format = std::make_shared<FormatOption>();
  CLI::App* cats = root.add_subcommand("categories", "Show the taxonomy: every category, its action and solution");
  cat_opts->AddTo(cats);
  cat_format->AddTo(cats, {OutputFormat::kText, OutputFormat::kJson});
  cats->footer("Example:\n  rebound categories --lang zh");
  cats->callback([cat_opts, cat_format, exit_code] { *exit_code = Categories(*cat_opts, cat_format->Get()); });
}

REBOUND_REGISTER_COMMAND(20, Setup);

}  // namespace
}  // namespace rebound::cli
