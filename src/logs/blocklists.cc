// BlocklistName: see logs/scan.h. The names of the lists are data, the
// [[blocklist]] tables of rules/providers/dnsbl.toml (checked by the rule
// loader like every rule file), read from the embedded rule base once.
#include <string>
#include <toml++/toml.h>
#include <vector>

#include "core/embedded_rules.h"
#include "core/text.h"
#include "logs/scan.h"

namespace rebound::logs {

namespace {

struct Blocklist {
  std::string name;
  std::vector<std::string> mentioned_as;  // lower case
};

std::vector<Blocklist> LoadBlocklists() {
  std::vector<Blocklist> lists;
  for (const embedded::RuleFile& f : embedded::RuleFiles()) {
    if (f.name != "rules/providers/dnsbl.toml") continue;
    toml::table tbl;
    try {
      tbl = toml::parse(f.text, std::string(f.name));
    } catch (const toml::parse_error&) {
      break;  // the rule loader reports it; the report then names no list
    }
    const toml::array* arr = tbl["blocklist"].as_array();
    if (!arr) break;
    for (const toml::node& e : *arr) {
      const toml::table* t = e.as_table();
      if (!t) continue;
      Blocklist b;
      b.name = (*t)["name"].value_or(std::string());
      if (const toml::array* texts = (*t)["mentioned_as"].as_array())
        for (const toml::node& x : *texts) b.mentioned_as.push_back(x.value_or(std::string()));
      lists.push_back(std::move(b));
    }
  }
  return lists;
}

}  // namespace

std::string BlocklistName(std::string_view reply_text) {
  static const std::vector<Blocklist> kBlocklists = LoadBlocklists();
  for (const Blocklist& b : kBlocklists)
    for (const std::string& mention : b.mentioned_as)
      if (text::IFind(reply_text, mention) != std::string_view::npos) return b.name;
  for (std::string_view lead : {"blocked using ", "listed at ", "listed on ", "listed in ", "listed by "}) {
    if (size_t p = text::IFind(reply_text, lead); p != std::string_view::npos) {
      std::string_view rest = reply_text.substr(p + lead.size());
      rest = rest.substr(0, rest.find_first_of(" ;,()"));
      while (!rest.empty() && (rest.back() == '.' || rest.back() == ':')) rest.remove_suffix(1);
      if (!rest.empty()) return std::string(rest);
    }
  }
  return "a blocklist";
}

}  // namespace rebound::logs
