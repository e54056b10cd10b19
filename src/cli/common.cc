#include <unistd.h>

#include <ctime>

#include <iostream>

#include "cli/command.h"
#include "core/civil_time.h"

namespace rebound::cli {

namespace {
std::vector<std::pair<int, CommandSetup>>& Registry() {
  static std::vector<std::pair<int, CommandSetup>> r;
  return r;
}
}  // namespace

bool RegisterCommand(int order, CommandSetup setup) {
  Registry().emplace_back(order, std::move(setup));
  return true;
}
const std::vector<std::pair<int, CommandSetup>>& Commands() { return Registry(); }

void ClassifierOptions::AddTo(CLI::App* app) {
  app->add_option("--rules", rule_paths,
                  "Local rule file or directory (TOML, see rules/SCHEMA.md); evaluated before the shipped rules. Repeatable.")
      ->check(CLI::ExistingPath)
      ->allow_extra_args(false);
  app->add_option("--lang", lang, "Language of solutions: en or zh")->check(CLI::IsMember({"en", "zh"}))->capture_default_str();
}

std::unique_ptr<const Classifier> ClassifierOptions::Build() const {
  std::unique_ptr<const Classifier> c;
  Status s = BuildClassifier(rule_paths, &c);
  if (!s.ok()) {
    std::cerr << "rebound: the rule base is invalid:\n" << s.message() << "\n";
    return nullptr;
  }
  return c;
}

std::string IsoUtc(int64_t unix_seconds) {
  if (unix_seconds <= 0) return {};
  return FormatTime(unix_seconds * 1000, TimeFormat::kIso);
}

bool StdoutIsTty() { return isatty(STDOUT_FILENO) == 1; }
bool StderrIsTty() { return isatty(STDERR_FILENO) == 1; }

}  // namespace rebound::cli
