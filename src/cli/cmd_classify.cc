// `rebound classify`: SMTP replies in, verdicts out.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "cli/command.h"
#include "cli/output.h"
#include "cli/verdict_json.h"
#include "core/bounded_memo.h"

namespace rebound::cli {
namespace {

struct ClassifyOptions {
  std::vector<std::string> replies;
  std::string input;
  bool jsonl = false;
  bool explain = false;
  bool no_memo = false;
  FormatOption format;
  ClassifierOptions classifier;
};

// The records already written for reply lines seen before in this run.
// Real input repeats itself (the retries of a deferred message, the rate
// limits and blocklist replies that name no address), and a record is a
// function of the line alone (the classifier and the options are fixed), so
// a repeated line gets the same bytes for the cost of a hash lookup
// (admission on second sight, bounds and clearing: core/bounded_memo.h).
class RecordMemo {
 public:
  // Small enough that the slot and filter tables (32 KiB each) stay in the
  // cache: on input that never repeats, their lookups are all it costs.
  static constexpr size_t kMaxEntries = 4096, kMaxBytes = 4 << 20, kMaxLine = 2048;

  static uint64_t Hash(std::string_view line) { return std::hash<std::string_view>{}(line); }
  // The record kept for exactly this line, or null.
  const std::string_view* Find(std::string_view line, uint64_t hash) const {
    const Entry* e = table_.Find(hash, [&](const Entry& e) { return e.line == line; });
    return e ? &e->record : nullptr;
  }
  // Offers the record written for line (not found by Find).
  void Insert(std::string_view line, uint64_t hash, std::string_view record) {
    if (line.size() > kMaxLine) return;
    if (Entry* e = table_.Add(hash, line.size() + record.size())) {
      e->line = table_.Copy(line);
      e->record = table_.Copy(record);
    }
  }

 private:
  struct Entry {
    std::string_view line, record;
    uint64_t hash;
  };
  BoundedMemo<Entry> table_{kMaxEntries, kMaxBytes, 1 << 12};
};

void WriteExplainJson(JsonWriter& w, const std::vector<const Rule*>& rules) {
  w.BeginArray("explain");
  for (size_t i = 0; i < rules.size(); ++i) {
    const Rule& r = *rules[i];
    std::string codes, statuses;
    for (const auto& c : r.code_texts) codes += (codes.empty() ? "" : " ") + c;
    for (const auto& s : r.status_texts) statuses += (statuses.empty() ? "" : " ") + s;
    w.BeginObject()
        .String("rule", r.id)
        .String("file", r.file + ":" + std::to_string(r.line))
        .String("tier", RuleTierName(r.tier))
        .Int("priority", r.priority)
        .String("category", CategoryName(r.category))
        .String("match", r.pattern)
        .String("code", codes)
        .String("status", statuses)
        .Bool("decided", i == 0)
        .EndObject();
  }
  w.EndArray();
}

// Opens the record's object and writes the parsed reply's fields.
void WriteReplyJson(JsonWriter& w, std::string_view raw, const Reply& r) {
  w.BeginObject().String("reply", raw);
  if (r.code) w.Int("code", r.code);
  else w.Null("code");
  char buf[12];
  if (r.status.present()) w.String("status", r.status.Format(buf));
  else w.Null("status");
  if (r.command != SmtpCommand::kUnknown) w.String("command", SmtpCommandName(r.command));
  else w.Null("command");
  w.StringOrNull("remote_host", r.remote_host).String("text", r.text);
}

// What the facet layer read: the who and what facets found, and the row
// they select (whether or not a rule above the layer decided).
void WriteFacetsJson(JsonWriter& w, const FacetExplanation& f) {
  w.BeginObject("facets");
  if (f.decided) w.String("row", f.decided->rule.id);
  else w.Null("row");
  w.BeginArray("who");
  for (auto name : f.who) w.Element(name);
  w.EndArray().BeginArray("what");
  for (auto name : f.what) w.Element(name);
  w.EndArray().EndObject();
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
    // Why it is or is not a hard bounce (docs/taxonomy.md).
    out->append("\n  hard bounce: ")
        .append(HardBounceAnswerName(JudgeHardBounce(v.category, v.reason, v.permanent, v.hard_bounce_facts)))
        .append(" (evidence ")
        .append(AddressEvidenceName(v.hard_bounce_facts.evidence))
        .append(", veto ")
        .append(HardBounceVetoName(v.hard_bounce_facts.veto))
        .append(")");
  }
  out->append("\n\n");
}

int Run(const ClassifyOptions& o) {
  auto classifier = o.classifier.Build();
  if (!classifier) return kExitRules;
  auto scratch = classifier->NewScratch();
  const Lang lang = o.classifier.language();
  const bool text = o.format.Get() == OutputFormat::kText;
  Output out(o.format.Get());
  int rc = kExitOk;
  VerdictJsonCache verdict_json(lang);
  RecordMemo memo;

  auto classify_one = [&](std::string_view raw) {
    const uint64_t hash = o.no_memo ? 0 : RecordMemo::Hash(raw);
    if (!o.no_memo)
      if (const std::string_view* record = memo.Find(raw, hash)) {
        out.buffer().append(*record);
        if (text) out.MaybeFlush();
        else out.EndJsonRecord();
        return;
      }
    const size_t start = out.buffer().size();
    Verdict v = classifier->Classify(raw, scratch.get());
    const Reply& r = Classifier::LastReply(scratch.get());
    std::vector<const Rule*> rules;
    FacetExplanation facets;
    if (o.explain) {
      rules = classifier->Explain(r, scratch.get());
      facets = classifier->ExplainFacets(r, scratch.get());
    }
    if (text) {
      AppendText(&out.buffer(), raw, r, v, lang, o.explain ? &rules : nullptr, o.explain ? &facets : nullptr);
      if (!o.no_memo) memo.Insert(raw, hash, std::string_view(out.buffer()).substr(start));
      out.MaybeFlush();
      return;
    }
    JsonWriter w = out.Json();
    WriteReplyJson(w, raw, r);
    verdict_json.Write(w, v);
    if (o.explain) {
      WriteExplainJson(w, rules);
      WriteFacetsJson(w, facets);
    }
    w.EndObject();
    if (!o.no_memo) memo.Insert(raw, hash, std::string_view(out.buffer()).substr(start));
    out.EndJsonRecord();
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
    out.buffer().append(dumped);
    JsonWriter w = out.Json();
    w.ResumeObject();
    verdict_json.Write(w, v);
    w.EndObject();
    out.EndJsonRecord();
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
  o->format.AddTo(cmd, {OutputFormat::kText, OutputFormat::kJson});
  cmd->add_flag("--explain", o->explain, "Show the parsed reply, the deciding rule and the runners-up");
  cmd->add_flag("--no-memo", o->no_memo,
                "Classify every line afresh instead of repeating the record of a line seen before (for measuring)");
  o->classifier.AddTo(cmd);
  cmd->callback([o, exit_code] { *exit_code = Run(*o); });
}

REBOUND_REGISTER_COMMAND(10, Setup);

}  // namespace
}  // namespace rebound::cli
