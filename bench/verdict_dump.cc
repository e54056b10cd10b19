// Every field of the parsed Reply, the Verdict, Explain() and
// ExplainFacets() for each reply on stdin (one JSON string a line), one
// line of text each: the before/after check of a change that must not move
// any verdict (bench/verdict_check.sh builds the inputs and diffs).
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "rebound/classifier.h"

int main() {
  std::unique_ptr<const rebound::Classifier> classifier;
  if (rebound::Status s = rebound::BuildClassifier({}, &classifier); !s.ok()) {
    std::cerr << "verdict_dump: " << s.message() << "\n";
    return 3;
  }
  auto scratch = classifier->NewScratch();
  rebound::ReplyParser parser;
  std::string line, out;
  while (std::getline(std::cin, line)) {
    const std::string raw = nlohmann::json::parse(line).get<std::string>();
    const rebound::Verdict v = classifier->Classify(raw, scratch.get());
    const rebound::Reply r = parser.Parse(raw);  // the same parse, on a parser of its own
    char status[12];
    out = "code=" + std::to_string(r.code) + " status=" + std::string(r.status.Format(status)) +
          " command=" + std::string(rebound::SmtpCommandName(r.command)) + " host=" + std::string(r.remote_host) +
          " text=" + std::string(r.text);
    out += " | " + std::string(rebound::CategoryName(v.category)) + " " + std::string(rebound::ReasonName(v.reason)) +
           " permanent=" + std::to_string(v.permanent) + " hard=" + std::to_string(v.hard_bounce) +
           " retry=" + std::to_string(v.retry_after) + " rule=" + std::string(v.rule) +
           " tier=" + std::string(rebound::RuleTierName(v.tier)) + " provider=" + std::string(v.provider) +
           " reference=" + std::string(v.reference) + " action=" + std::string(v.action) +
           " en=" + std::string(v.solution_en) + " zh=" + std::string(v.solution_zh);
    out += " | explain:";
    for (const rebound::Rule* rule : classifier->Explain(r, scratch.get())) out += " " + rule->id;
    const rebound::FacetExplanation f = classifier->ExplainFacets(r, scratch.get());
    out += " | who:";
    for (auto name : f.who) out += " " + std::string(name);
    out += " what:";
    for (auto name : f.what) out += " " + std::string(name);
    out += " row=" + (f.decided ? f.decided->rule.id : std::string("-"));
    for (char& c : out)
      if (c == '\n') c = ' ';
    std::cout << out << '\n';
  }
  return 0;
}
