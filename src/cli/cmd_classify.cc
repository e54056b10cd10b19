// `rebound classify`: SMTP replies in, verdicts out.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/verdict_json.h"

namespace rebound::cli {
namespace {

struct ClassifyOptions {
  std::vector<std::string> replies;
  std::string input;
  bool jsonl = false;
  bool explain = false;
  std::string format;
  ClassifierOptions classifier;
};

class Output {
 public:
  ~Output() { Flush(); }
  std::string& buf() { return buf_; }
  void MaybeFlush() {
    if (buf_.size() > (64 << 10)) Flush();
  }
  void Flush() {
    fwrite(buf_.data(), 1, buf_.size(), stdout);
    fflush(stdout);
    buf_.clear();
  }

 private:
  std::string buf_;
};

void AppendExplainJson(std::string* out, const std::vector<const Rule*>& rules) {
  out->append(",\"explain\":[");
  for (size_t i = 0; i < rules.size(); ++i) {
    const Rule& r = *rules[i];
    if (i) out->push_back(',');
    out->append("{\"rule\":");
    AppendJsonString(out, r.id);
    out->append(",\"file\":");
    AppendJsonString(out, r.file + ":" + std::to_string(r.line));
    out->append(",\"tier\":\"").append(RuleTierName(r.tier)).append("\"");
    out->append(",\"priority\":").append(std::to_string(r.priority));
    out->append(",\"category\":\"").append(CategoryName(r.category)).append("\"");
    out->append(",\"match\":");
    AppendJsonString(out, r.pattern);
    out->append(",\"code\":");
    std::string codes, statuses;
    for (const auto& c : r.code_texts) codes += (codes.empty() ? "" : " ") + c;
    for (const auto& s : r.status_texts) statuses += (statuses.empty() ? "" : " ") + s;
    AppendJsonString(out, codes);
    out->append(",\"status\":");
    AppendJsonString(out, statuses);
    out->append(",\"decided\":").append(i == 0 ? "true}" : "false}");
  }
  out->push_back(']');
}

void AppendReplyJson(std::string* out, std::string_view raw, const Reply& r) {
  out->append("{\"reply\":");
  AppendJsonString(out, raw);
  out->append(",\"code\":");
  out->append(r.code ? std::to_string(r.code) : "null");
  char buf[12];
  out->append(",\"status\":");
  if (r.status.present()) AppendJsonString(out, r.status.Format(buf));
  else out->append("null");
  out->append(",\"command\":");
  if (r.command != SmtpCommand::kUnknown) AppendJsonString(out, SmtpCommandName(r.command));
  else out->append("null");
  out->append(",\"remote_host\":");
  if (!r.remote_host.empty()) AppendJsonString(out, r.remote_host);
  else out->append("null");
  out->append(",\"text\":");
  AppendJsonString(out, r.text);
}

// What the facet layer read: the who and what facets found, and the row
// they select (whether or not a rule above the layer decided).
void AppendFacetsJson(std::string* out, const FacetExplanation& f) {
  auto list = [&](const char* key, const std::vector<std::string_view>& names) {
    out->append(",\"").append(key).append("\":[");
    for (size_t i = 0; i < names.size(); ++i) {
      if (i) out->push_back(',');
      AppendJsonString(out, names[i]);
    }
    out->push_back(']');
  };
  out->append(",\"facets\":{\"row\":");
  if (f.decided) AppendJsonString(out, f.decided->rule.id);
  else out->append("null");
  list("who", f.who);
  list("what", f.what);
  out->push_back('}');
}

void AppendText(std::string* out, std::string_view raw, const Reply& r, const Verdict& v, Lang lang,
                const std::vector<const Rule*>* explain, const FacetExplanation* facets) {
  std::string_view shown = raw.size() > 300 ? raw.substr(0, 300) : raw;
  out->append(shown);
  if (shown.size() < raw.size()) out->append("…");
  out->append("\n  ").append(CategoryName(v.category)).append(" (").append(ReasonName(v.reason)).append(")");
  out->append(v.permanent ? ", permanent" : ", temporary");
  if (v.hard_bounce) out->append(", hard bounce: suppress the address");
  if (!v.permanent && v.retry_after) out->append(", retry in ").append(std::to_string(v.retry_after)).append(" s");
  out->append("\n  action:   ").append(v.action);
  out->append("\n  solution: ").append(v.solution(lang));
  if (!v.provider.empty()) out->append("\n  provider: ").append(v.provider);
  if (!v.reference.empty()) out->append("\n  see:      ").append(v.reference);
  out->append("\n  rule:     ").append(v.rule.empty() ? std::string_view("(none matched)") : v.rule);
  if (explain) {
    char buf[12];
    out->append("\n  parsed:   code=").append(r.code ? std::to_string(r.code) : "-");
    out->append(" status=").append(r.status.present() ? r.status.Format(buf) : "-");
    out->append(" command=").append(r.command == SmtpCommand::kUnknown ? "-" : SmtpCommandName(r.command));
    if (!r.remote_host.empty()) out->append(" host=").append(r.remote_host);
    out->append("\n  text:     ").append(r.text);
    out->append("\n  matching rules, in evaluation order:");
    for (size_t i = 0; i < explain->size(); ++i) {
      const Rule& rule = *(*explain)[i];
      out->append(i == 0 ? "\n    * " : "\n      ").append(rule.id);
      out->append("  [").append(CategoryName(rule.category)).append(", ").append(RuleTierName(rule.tier));
      out->append(" tier, priority ").append(std::to_string(rule.priority));
      out->append(", ").append(rule.file).append(":").append(std::to_string(rule.line)).append("]");
      for (const auto& c : rule.code_texts) out->append(" code=").append(c);
      for (const auto& s : rule.status_texts) out->append(" status=").append(s);
      if (!rule.pattern.empty()) {
        std::string_view p = rule.pattern;
        out->append(" match='").append(p.substr(0, 80)).append(p.size() > 80 ? "…'" : "'");
      }
    }
    if (explain->empty()) out->append("\n      (none)");
    if (facets) {
      out->append("\n  facets:   who=");
      for (size_t i = 0; i < facets->who.size(); ++i) out->append(i ? "," : "").append(facets->who[i]);
      if (facets->who.empty()) out->append("-");
      out->append(" what=");
      for (size_t i = 0; i < facets->what.size(); ++i) out->append(i ? "," : "").append(facets->what[i]);
      if (facets->what.empty()) out->append("-");
      out->append(" -> ").append(facets->decided ? std::string_view(facets->decided->rule.id) : std::string_view("(no row)"));
    }
  }
  out->append("\n\n");
}

int Run(const ClassifyOptions& o) {
  auto classifier = o.classifier.Build();
  if (!classifier) return kExitRules;
  auto scratch = classifier->NewScratch();
  const Lang lang = o.classifier.language();
  const bool text = (o.format.empty() ? DefaultFormat() : o.format) == "text";
  Output out;
  int rc = kExitOk;

  auto classify_one = [&](std::string_view raw) {
    Verdict v = classifier->Classify(raw, scratch.get());
    const Reply& r = Classifier::LastReply(scratch.get());
    std::vector<const Rule*> rules;
    FacetExplanation facets;
    if (o.explain) {
      rules = classifier->Explain(r, scratch.get());
      facets = classifier->ExplainFacets(r, scratch.get());
    }
    if (text) {
      AppendText(&out.buf(), raw, r, v, lang, o.explain ? &rules : nullptr, o.explain ? &facets : nullptr);
    } else {
      AppendReplyJson(&out.buf(), raw, r);
      AppendVerdictFields(&out.buf(), v, lang);
      if (o.explain) {
        AppendExplainJson(&out.buf(), rules);
        AppendFacetsJson(&out.buf(), facets);
      }
      out.buf().append("}\n");
    }
    out.MaybeFlush();
  };

  if (!o.replies.empty() && !o.jsonl) {
    for (const auto& r : o.replies) classify_one(r);
    return rc;
  }
  std::ifstream file;
  std::istream* in = &std::cin;
  const std::string name = o.input.empty() || o.input == "-" ? "stdin" : o.input;
  if (!o.input.empty() && o.input != "-") {
    file.open(o.input, std::ios::binary);
    if (!file) {
      std::cerr << "rebound classify: " << o.input << ": cannot open\n";
      return kExitInputError;
    }
    in = &file;
  } else if (isatty(0)) {
    std::cerr << "rebound classify: reading replies from the terminal, one per line (Ctrl-D ends)\n";
  }
  std::string line;
  size_t lineno = 0;
  while (std::getline(*in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (!o.jsonl) {
      classify_one(line);
      continue;
    }
    nlohmann::json obj = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    std::string error;
    if (obj.is_discarded()) error = "malformed JSON";
    else if (!obj.is_object()) error = "not a JSON object";
    else if (!obj.contains("reply") || !obj["reply"].is_string()) error = "no string field \"reply\"";
    if (!error.empty()) {
      out.Flush();
      std::cerr << "rebound classify: " << name << ":" << lineno << ": " << error << "; line skipped\n";
      rc = kExitInputError;
      continue;
    }
    const std::string raw = obj["reply"].get<std::string>();
    Verdict v = classifier->Classify(raw, scratch.get());
    for (auto f : kVerdictFieldNames) obj.erase(std::string(f));
    std::string dumped = obj.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dumped.pop_back();  // the closing brace; the object is never empty ("reply")
    out.buf().append(dumped);
    AppendVerdictFields(&out.buf(), v, lang);
    out.buf().append("}\n");
    out.MaybeFlush();
  }
  return rc;
}

void Setup(CLI::App& root, int* exit_code) {
  auto o = std::make_shared<ClassifyOptions>();
  CLI::App* cmd = root.add_subcommand("classify", "Classify SMTP replies into actionable verdicts");
  cmd->footer(
      "Input: the REPLY arguments; else one reply per line from -i FILE or stdin; with --jsonl,\n"
      "JSON objects with a \"reply\" field (multi-line replies use \\n), written back with the\n"
      "verdict fields added and every other field untouched.\n\n"
      "Examples:\n"
      "  rebound classify \"550 5.1.1 user unknown\" \"421 RP-001\"\n"
      "  rebound classify --explain \"550 Ip frequency limited\"\n"
      "  tail -n 1000 replies.txt | rebound classify --format json\n"
      "  rebound classify --jsonl -i replies.jsonl --lang zh\n\n"
      "Exit status: 0 ok, 1 some input lines were skipped, 2 usage, 3 invalid rule base.");
  cmd->add_option("reply", o->replies, "SMTP reply text (quote it)");
  cmd->add_option("-i,--input", o->input, "Read replies from FILE ('-' for stdin), one per line");
  cmd->add_flag("--jsonl", o->jsonl, "Input is JSON Lines with a \"reply\" field; output keeps every input field");
  cmd->add_option("--format", o->format, "text or json (JSON Lines); default: text on a terminal, else json")
      ->check(CLI::IsMember({"text", "json"}));
  cmd->add_flag("--explain", o->explain, "Show the parsed reply, the deciding rule and the runners-up");
  o->classifier.AddTo(cmd);
  cmd->callback([o, exit_code] { *exit_code = Run(*o); });
}

REBOUND_REGISTER_COMMAND(10, Setup);

}  // namespace
}  // namespace rebound::cli
