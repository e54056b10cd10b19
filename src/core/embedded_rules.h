// The shipped rule base, embedded at build time (cmake/embed.cmake).
#pragma once

#include <string_view>
#include <vector>

namespace rebound::embedded {

struct RuleFile {
  std::string_view name;  // path relative to the repository, e.g. "rules/seed.toml"
  std::string_view text;
};

// categories.toml first, then every other rule file in path order.
const std::vector<RuleFile>& RuleFiles();

}  // namespace rebound::embedded
