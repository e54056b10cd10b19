// generalization: how well the rule base classifies replies it was not
// written for (docs/generalization.md).
//
// Three measures, all over the JSON Lines tables of the repository (one
// object a line: "reply", the expected "category", usually "permanent"):
//
// 1. Leave one source out. tests/data/replies/<stem>.jsonl holds the real
//    replies of one provider or MTA. For a provider with its own rule file
//    rules/providers/<stem>.toml, a classifier is built from every embedded
//    rule file except that one; for an MTA whose stock texts live in
//    rules/mta.toml (rule ids "<mta>.*"), from every file with those rules
//    cut out of mta.toml. The source's replies are then classified and a
//    reply counts as correct when the category matches. Each source is also
//    classified with the whole rule base (the sanity column: ~100%).
//
// 2. The unseen split: tests/data/replies-unseen/*.jsonl, replies kept out
//    of the rule work on purpose, classified with the whole rule base. Only
//    aggregates are printed, never an unseen reply, its verdict or the rule
//    that decided it: knowing why an unseen reply fails would make it seen.
//    Split rule: a collected reply goes to the unseen split when
//        int(sha1(reply_utf8).hexdigest()[:8], 16) % 5 == 0
//    (Python; the reply exactly as stored in the "reply" field), and to
//    tests/data/replies/ otherwise. The program counts unseen rows that do
//    not obey the rule and unseen replies that also appear in the seen data.
//
// 3. Hard-bounce precision: of the replies the whole rule base marks
//    hard_bounce, how many are labelled with an address-level category
//    (recipient_not_found, invalid_address, or dns_failure when the label
//    is permanent). Seen data (tests/data/replies/*.jsonl and
//    tests/data/seed-cases.jsonl) lists its false hard bounces; the unseen
//    split is reported as counts only.
//
// Usage: generalization [--json] [--failures] [--gate] [--source-dir DIR]
//                       [--ratchet FILE]
//   --failures  also list the seen replies that fail leave-one-source-out
//   --gate      exit 1 when a figure is below bench/generalization-ratchet.txt
// The source directory defaults to $REBOUND_SOURCE_DIR, then the checkout
// this program was built from.
#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/embedded_rules.h"
#include "rebound/classifier.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// MTAs whose stock texts are in rules/mta.toml under "<name>." rule ids.
constexpr const char* kMtaRuleFile = "rules/mta.toml";
const std::vector<std::string> kMtas = {"postfix", "exim", "sendmail", "qmail", "opensmtpd", "postgrey", "exchange"};

struct Row {
  std::string file;  // relative to the source directory
  int line = 0;
  std::string reply;
  std::string category;
  int permanent = -1;  // -1: not labelled
};

[[noreturn]] void Die(const std::string& msg) {
  std::cerr << "generalization: " << msg << "\n";
  std::exit(2);
}

// Reads a table; a malformed line stops the program (naming file and line
// only, so an unseen reply is never echoed).
std::vector<Row> ReadTable(const fs::path& path, const std::string& shown_name) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Die(shown_name + ": cannot read");
  std::vector<Row> rows;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("reply") || !j["reply"].is_string() || !j.contains("category") ||
        !j["category"].is_string())
      Die(shown_name + ":" + std::to_string(number) + ": not a JSON object with string \"reply\" and \"category\"");
    Row r;
    r.file = shown_name;
    r.line = number;
    r.reply = j["reply"].get<std::string>();
    r.category = j["category"].get<std::string>();
    if (!rebound::CategoryFromName(r.category))
      Die(shown_name + ":" + std::to_string(number) + ": unknown category '" + r.category + "'");
    if (j.contains("permanent") && j["permanent"].is_boolean()) r.permanent = j["permanent"].get<bool>() ? 1 : 0;
    rows.push_back(std::move(r));
  }
  return rows;
}

// *.jsonl of a directory by name; empty when the directory is missing.
std::vector<fs::path> Tables(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().extension() == ".jsonl") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// The first 8 hex digits of SHA-1, as a number: the split rule's input.
uint32_t Sha1Prefix(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha1(), nullptr) != 1 || len < 4) Die("SHA-1 failed");
  return (uint32_t{md[0]} << 24) | (uint32_t{md[1]} << 16) | (uint32_t{md[2]} << 8) | uint32_t{md[3]};
}
bool InUnseenSplit(std::string_view reply) { return Sha1Prefix(reply) % 5 == 0; }

// Cuts every [[rule]] block whose id starts with "<prefix>." out of a rule
// file's text. A block runs from its header line to the next table header.
std::string WithoutRules(std::string_view text, const std::string& prefix, int* removed) {
  std::string out;
  std::string block;
  bool in_rule = false, drop = false;
  auto flush = [&] {
    if (!drop) out += block;
    else ++*removed;
    block.clear();
  };
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    end = end == std::string_view::npos ? text.size() : end + 1;
    std::string_view line = text.substr(pos, end - pos);
    pos = end;
    std::string_view trimmed = line.substr(std::min(line.size(), line.find_first_not_of(" \t")));
    if (!trimmed.empty() && trimmed[0] == '[') {  // a table header ends the block before it
      flush();
      in_rule = trimmed.starts_with("[[rule]]");
      drop = false;
    } else if (in_rule && trimmed.starts_with("id")) {
      std::string_view rest = trimmed.substr(2);
      rest.remove_prefix(std::min(rest.size(), rest.find_first_not_of(" \t")));
      if (!rest.empty() && rest[0] == '=') {
        rest.remove_prefix(1);
        rest.remove_prefix(std::min(rest.size(), rest.find_first_not_of(" \t")));
        if (!rest.empty() && (rest[0] == '"' || rest[0] == '\'') && rest.substr(1).starts_with(prefix + "."))
          drop = true;
      }
    }
    block += line;
  }
  flush();
  return out;
}

// A classifier from the embedded rule files, leaving out one file, or only
// the rules "<id_prefix>.*" of that file when id_prefix is given.
std::unique_ptr<const rebound::Classifier> Build(const std::string& leave_out_file, const std::string& id_prefix) {
  rebound::ClassifierBuilder b;
  bool found = leave_out_file.empty();
  for (const auto& f : rebound::embedded::RuleFiles()) {
    if (f.name == leave_out_file) {
      found = true;
      if (id_prefix.empty()) continue;
      int removed = 0;
      const std::string cut = WithoutRules(f.text, id_prefix, &removed);
      if (removed == 0) Die(std::string(f.name) + ": no rule with id " + id_prefix + ".* to leave out");
      b.AddText(f.name, cut, /*local=*/false);
      continue;
    }
    b.AddText(f.name, f.text, /*local=*/false);
  }
  if (!found) Die(leave_out_file + " is not an embedded rule file");
  std::unique_ptr<const rebound::Classifier> c;
  rebound::Status s = b.Build(&c);
  if (!s.ok()) Die("rule base does not build (leaving out " + leave_out_file + " " + id_prefix + "):\n" + s.message());
  if (!id_prefix.empty())  // the cut really removed them all
    for (const auto& r : c->rules())
      if (r.id.starts_with(id_prefix + ".")) Die("rule " + r.id + " survived leaving out " + id_prefix + ".*");
  return c;
}

struct Tally {
  int n = 0, correct = 0;
  void Add(bool ok) { ++n; correct += ok; }
  double Accuracy() const { return n ? 100.0 * correct / n : 0.0; }
};

json TallyJson(const Tally& t) {
  json j = {{"n", t.n}, {"correct", t.correct}};
  j["accuracy"] = t.n ? json(t.Accuracy()) : json(nullptr);
  return j;
}

std::string Pct(const Tally& t) {
  if (!t.n) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", t.Accuracy());
  return buf;
}

bool AddressLevel(const Row& r, bool verdict_permanent) {
  if (r.category == "recipient_not_found" || r.category == "invalid_address") return true;
  const bool permanent = r.permanent >= 0 ? r.permanent == 1 : verdict_permanent;
  return r.category == "dns_failure" && permanent;
}

struct HardBounce {
  int reported = 0, true_ = 0;
  double Precision() const { return reported ? 100.0 * true_ / reported : 100.0; }
};

// The ratchet file: "key value" lines, '#' comments.
std::map<std::string, std::string> ReadRatchet(const fs::path& path) {
  std::ifstream in(path);
  if (!in) Die(path.string() + ": cannot read the ratchet file");
  std::map<std::string, std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream ss(line);
    std::string key, value;
    if (ss >> key >> value) out[key] = value;
  }
  return out;
}

double RatchetNumber(const std::map<std::string, std::string>& r, const std::string& key, const fs::path& path) {
  auto it = r.find(key);
  if (it == r.end()) Die(path.string() + ": missing '" + key + "'");
  try {
    return std::stod(it->second);
  } catch (...) {
    Die(path.string() + ": '" + key + "' is not a number");
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool as_json = false, gate = false, failures = false;
  std::string source_dir, ratchet_path;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--json") as_json = true;
    else if (a == "--gate") gate = true;
    else if (a == "--failures") failures = true;
    else if (a == "--source-dir" && i + 1 < argc) source_dir = argv[++i];
    else if (a == "--ratchet" && i + 1 < argc) ratchet_path = argv[++i];
    else if (a == "-h" || a == "--help") {
      std::cout << "usage: generalization [--json] [--failures] [--gate] [--source-dir DIR] [--ratchet FILE]\n"
                   "Leave-one-source-out accuracy, unseen-split accuracy and hard-bounce precision of the\n"
                   "embedded rule base (docs/generalization.md). --gate exits 1 below the ratchet.\n";
      return 0;
    } else {
      std::cerr << "generalization: unknown argument '" << a << "' (see --help)\n";
      return 2;
    }
  }
  if (source_dir.empty()) {
    const char* env = std::getenv("REBOUND_SOURCE_DIR");
    source_dir = env && *env ? env : REBOUND_SOURCE_DIR;
  }
  const fs::path root = source_dir;
  if (ratchet_path.empty()) ratchet_path = (root / "bench/generalization-ratchet.txt").string();
  const fs::path replies_dir = root / "tests/data/replies", unseen_dir = root / "tests/data/replies-unseen";
  if (!fs::is_directory(replies_dir)) Die(replies_dir.string() + ": not a directory (use --source-dir)");

  std::set<std::string> embedded_names;
  for (const auto& f : rebound::embedded::RuleFiles()) embedded_names.insert(std::string(f.name));
  const auto full = Build("", "");
  auto full_scratch = full->NewScratch();

  // 1. Leave one source out.
  json loso = json::array(), others = json::array(), fail_list = json::array();
  Tally loso_total, loso_full_total;
  HardBounce hb_loso;  // what the rest of the rule base suppresses when a source's own rules are left out
  json false_loso = json::array();
  std::vector<Row> seen;  // every seen row, for measure 3
  std::set<std::string> seen_replies;
  std::ostringstream text;
  text << "Leave one source out (the source's own rules left out; a reply is correct when the category matches)\n";
  char buf[512];
  std::snprintf(buf, sizeof buf, "  %-11s %-36s %4s %7s %9s %10s\n", "source", "left out", "n", "correct", "accuracy",
                "full base");
  text << buf;
  std::ostringstream other_text;
  for (const auto& path : Tables(replies_dir)) {
    const std::string stem = path.stem().string();
    auto rows = ReadTable(path, "tests/data/replies/" + path.filename().string());
    for (const auto& r : rows) seen_replies.insert(r.reply);
    seen.insert(seen.end(), rows.begin(), rows.end());
    std::string leave_file, prefix, shown;
    if (embedded_names.count("rules/providers/" + stem + ".toml")) {
      leave_file = "rules/providers/" + stem + ".toml";
      shown = leave_file;
    } else if (std::find(kMtas.begin(), kMtas.end(), stem) != kMtas.end()) {
      leave_file = kMtaRuleFile;
      prefix = stem;
      shown = std::string(kMtaRuleFile) + " " + stem + ".*";
    }
    Tally t, tf;
    std::unique_ptr<const rebound::Classifier> held;
    if (!leave_file.empty()) held = Build(leave_file, prefix);
    auto held_scratch = held ? held->NewScratch() : nullptr;
    for (const auto& r : rows) {
      rebound::Verdict vf = full->Classify(r.reply, full_scratch.get());
      tf.Add(rebound::CategoryName(vf.category) == r.category);
      if (!held) continue;
      rebound::Verdict v = held->Classify(r.reply, held_scratch.get());
      const bool ok = rebound::CategoryName(v.category) == r.category;
      t.Add(ok);
      if (v.hard_bounce) {
        ++hb_loso.reported;
        if (AddressLevel(r, v.permanent)) ++hb_loso.true_;
        else
          false_loso.push_back({{"file", r.file}, {"line", r.line}, {"reply", r.reply}, {"label", r.category},
                                {"got", std::string(rebound::CategoryName(v.category))}, {"rule", std::string(v.rule)}});
      }
      if (!ok && failures)
        fail_list.push_back({{"file", r.file}, {"line", r.line}, {"reply", r.reply}, {"want", r.category},
                             {"got", std::string(rebound::CategoryName(v.category))}, {"rule", std::string(v.rule)}});
    }
    if (!held) {
      json o = {{"source", stem}, {"full_base", TallyJson(tf)}};
      others.push_back(o);
      other_text << "  " << stem << " " << tf.correct << "/" << tf.n << "\n";
      continue;
    }
    loso_total.n += t.n;
    loso_total.correct += t.correct;
    loso_full_total.n += tf.n;
    loso_full_total.correct += tf.correct;
    json s = TallyJson(t);
    s["source"] = stem;
    s["left_out"] = shown;
    s["full_base"] = TallyJson(tf);
    loso.push_back(s);
    std::snprintf(buf, sizeof buf, "  %-11s %-36s %4d %7d %9s %10s\n", stem.c_str(), shown.c_str(), t.n, t.correct,
                  Pct(t).c_str(), Pct(tf).c_str());
    text << buf;
  }
  std::snprintf(buf, sizeof buf, "  %-48s %4d %7d %9s %10s\n", "overall (micro)", loso_total.n, loso_total.correct,
                Pct(loso_total).c_str(), Pct(loso_full_total).c_str());
  text << buf;
  if (!others.empty())
    text << "Sources without rules of their own (not held out; whole rule base):\n" << other_text.str();
  if (failures && !fail_list.empty()) {
    text << "Seen replies wrong when their source is left out:\n";
    for (const auto& f : fail_list)
      text << "  " << f["file"].get<std::string>() << ":" << f["line"].get<int>() << ": want "
           << f["want"].get<std::string>() << ", got " << f["got"].get<std::string>() << " ("
           << f["rule"].get<std::string>() << "): " << json(f["reply"]).dump() << "\n";
  }

  // 2. The unseen split, aggregate only.
  std::vector<Row> unseen;
  json unseen_files = json::array();
  Tally unseen_total;
  int off_split = 0, overlap = 0;
  text << "\nUnseen split (tests/data/replies-unseen, whole rule base; aggregates only)\n";
  const auto unseen_tables = Tables(unseen_dir);
  for (const auto& path : unseen_tables) {
    auto rows = ReadTable(path, "tests/data/replies-unseen/" + path.filename().string());
    Tally t;
    for (const auto& r : rows) {
      rebound::Verdict v = full->Classify(r.reply, full_scratch.get());
      t.Add(rebound::CategoryName(v.category) == r.category);
      off_split += !InUnseenSplit(r.reply);
      overlap += seen_replies.count(r.reply) > 0;
    }
    unseen_total.n += t.n;
    unseen_total.correct += t.correct;
    json f = TallyJson(t);
    f["file"] = path.filename().string();
    unseen_files.push_back(f);
    std::snprintf(buf, sizeof buf, "  %-48s %4d %7d %9s\n", path.filename().string().c_str(), t.n, t.correct,
                  Pct(t).c_str());
    text << buf;
    unseen.insert(unseen.end(), rows.begin(), rows.end());
  }
  if (unseen_total.n == 0) {
    text << "  no unseen replies yet (" << (fs::is_directory(unseen_dir) ? "directory empty" : "directory missing")
         << ")\n";
  } else {
    std::snprintf(buf, sizeof buf, "  %-48s %4d %7d %9s\n", "overall (micro)", unseen_total.n, unseen_total.correct,
                  Pct(unseen_total).c_str());
    text << buf;
    text << "  rows not obeying the split rule: " << off_split << "; also present in the seen tables: " << overlap
         << "\n";
  }
  int seen_in_unseen_bucket = 0;  // tables collected before the split rule have some
  for (const auto& r : seen) seen_in_unseen_bucket += InUnseenSplit(r.reply);
  text << "  seen replies (tests/data/replies) whose hash falls in the unseen bucket: " << seen_in_unseen_bucket << " of "
       << seen.size() << "\n";

  // 3. Hard-bounce precision.
  auto tables_seed = ReadTable(root / "tests/data/seed-cases.jsonl", "tests/data/seed-cases.jsonl");
  seen.insert(seen.end(), tables_seed.begin(), tables_seed.end());
  HardBounce hb_seen, hb_unseen;
  json false_seen = json::array();
  for (const auto& r : seen) {
    rebound::Verdict v = full->Classify(r.reply, full_scratch.get());
    if (!v.hard_bounce) continue;
    ++hb_seen.reported;
    if (AddressLevel(r, v.permanent)) ++hb_seen.true_;
    else
      false_seen.push_back({{"file", r.file}, {"line", r.line}, {"reply", r.reply}, {"label", r.category},
                            {"got", std::string(rebound::CategoryName(v.category))}, {"rule", std::string(v.rule)}});
  }
  for (const auto& r : unseen) {
    rebound::Verdict v = full->Classify(r.reply, full_scratch.get());
    if (!v.hard_bounce) continue;
    ++hb_unseen.reported;
    hb_unseen.true_ += AddressLevel(r, v.permanent);
  }
  text << "\nHard-bounce precision (whole rule base; true = labelled recipient_not_found, invalid_address, or a\n"
          "permanent dns_failure)\n";
  std::snprintf(buf, sizeof buf, "  seen (%zu replies):   %d reported, %d true, %d false, precision %.1f%%\n",
                seen.size(), hb_seen.reported, hb_seen.true_, hb_seen.reported - hb_seen.true_, hb_seen.Precision());
  text << buf;
  for (const auto& f : false_seen)
    text << "    false: " << f["file"].get<std::string>() << ":" << f["line"].get<int>() << ": labelled "
         << f["label"].get<std::string>() << ", got " << f["got"].get<std::string>() << " ("
         << f["rule"].get<std::string>() << "): " << json(f["reply"]).dump() << "\n";
  std::snprintf(buf, sizeof buf,
                "  seen, own source left out: %d reported, %d true, %d false, precision %.1f%%\n", hb_loso.reported,
                hb_loso.true_, hb_loso.reported - hb_loso.true_, hb_loso.Precision());
  text << buf;
  for (const auto& f : false_loso)
    text << "    false: " << f["file"].get<std::string>() << ":" << f["line"].get<int>() << ": labelled "
         << f["label"].get<std::string>() << ", got " << f["got"].get<std::string>() << " ("
         << f["rule"].get<std::string>() << "): " << json(f["reply"]).dump() << "\n";
  if (unseen.empty()) {
    text << "  unseen: no replies\n";
  } else {
    std::snprintf(buf, sizeof buf, "  unseen (%zu replies): %d reported, %d true, %d false, precision %.1f%%\n",
                  unseen.size(), hb_unseen.reported, hb_unseen.true_, hb_unseen.reported - hb_unseen.true_,
                  hb_unseen.Precision());
    text << buf;
  }

  // The gate.
  json gate_json = json::object();
  bool gate_failed = false;
  std::ostringstream gate_text;
  if (gate) {
    const auto ratchet = ReadRatchet(ratchet_path);
    const double loso_min = RatchetNumber(ratchet, "leave_one_source_out_min_percent", ratchet_path);
    const double unseen_min = RatchetNumber(ratchet, "unseen_min_percent", ratchet_path);
    const std::string hb_mode = ratchet.count("seen_hard_bounce_precision") ? ratchet.at("seen_hard_bounce_precision")
                                                                            : "enforce";
    if (hb_mode != "enforce" && hb_mode != "report")
      Die(ratchet_path + ": seen_hard_bounce_precision must be 'enforce' or 'report'");
    gate_text << "\nGate (" << ratchet_path << ")\n";
    auto check = [&](const char* what, const Tally& t, double min) {
      const bool ok = t.n == 0 || t.Accuracy() + 1e-9 >= min;
      gate_text << "  " << what << " " << Pct(t) << (t.n ? "" : " (no replies)") << ", ratchet " << min << "%: "
                << (ok ? "ok" : "FAIL") << "\n";
      gate_failed |= !ok;
      return ok;
    };
    gate_json["leave_one_source_out"] = {{"min_percent", loso_min}, {"ok", check("leave one source out", loso_total, loso_min)}};
    gate_json["unseen"] = {{"min_percent", unseen_min}, {"ok", check("unseen split", unseen_total, unseen_min)}};
    const bool hb_ok = hb_seen.reported == hb_seen.true_;
    gate_text << "  seen hard-bounce precision " << (hb_ok ? "100%: ok" : "below 100%: ");
    if (!hb_ok) {
      if (hb_mode == "enforce") gate_text << "FAIL";
      else
        gate_text << "REPORT ONLY (seen_hard_bounce_precision = report in the ratchet file): "
                  << hb_seen.reported - hb_seen.true_ << " false hard bounce(s) listed above";
      gate_failed |= hb_mode == "enforce";
    }
    gate_text << "\n";
    gate_json["seen_hard_bounce_precision"] = {{"mode", hb_mode}, {"ok", hb_ok}};
    // The same with each source's own rules left out: what the generic
    // layer suppresses on its own, the best stand-in for unseen replies.
    const bool loso_hb_ok = hb_loso.reported == hb_loso.true_;
    gate_text << "  hard-bounce precision, own source left out " << (loso_hb_ok ? "100%: ok" : "below 100%: FAIL") << "\n";
    gate_failed |= !loso_hb_ok && ratchet.count("loso_hard_bounce_precision") &&
                   ratchet.at("loso_hard_bounce_precision") == "enforce";
    gate_json["loso_hard_bounce_precision"] = {{"ok", loso_hb_ok}};
    // The held-out split: a floor in percent (issue 11's target, 99.5). A
    // split that is missing or reports no hard bounce passes (100%).
    if (ratchet.count("unseen_hard_bounce_min_precision")) {
      const double hb_min = RatchetNumber(ratchet, "unseen_hard_bounce_min_precision", ratchet_path);
      const double precision = hb_unseen.Precision();
      const bool ok = precision + 1e-9 >= hb_min;
      char line[160];
      std::snprintf(line, sizeof line, "  unseen hard-bounce precision %.1f%% (%d of %d true), floor %.1f%%: %s\n", precision,
                    hb_unseen.true_, hb_unseen.reported, hb_min, ok ? "ok" : "FAIL");
      gate_text << line;
      gate_failed |= !ok;
      gate_json["unseen_hard_bounce_precision"] = {{"min_percent", hb_min}, {"ok", ok}};
    }
    gate_json["passed"] = !gate_failed;
  }

  if (as_json) {
    json out;
    out["leave_one_source_out"] = TallyJson(loso_total);
    out["leave_one_source_out"]["full_base"] = TallyJson(loso_full_total);
    out["leave_one_source_out"]["sources"] = loso;
    out["sources_without_own_rules"] = others;
    if (failures) out["leave_one_source_out"]["failures"] = fail_list;
    out["unseen"] = TallyJson(unseen_total);
    out["unseen"]["present"] = unseen_total.n > 0;
    out["unseen"]["files"] = unseen_files;
    out["unseen"]["rows_not_obeying_split_rule"] = off_split;
    out["unseen"]["rows_also_in_seen_tables"] = overlap;
    out["seen_rows_in_unseen_bucket"] = seen_in_unseen_bucket;
    out["hard_bounce"]["seen"] = {{"replies", seen.size()},
                                  {"reported", hb_seen.reported},
                                  {"true", hb_seen.true_},
                                  {"precision", hb_seen.Precision()},
                                  {"false", false_seen}};
    out["hard_bounce"]["leave_one_source_out"] = {{"reported", hb_loso.reported},
                                                  {"true", hb_loso.true_},
                                                  {"precision", hb_loso.Precision()},
                                                  {"false", false_loso}};
    out["hard_bounce"]["unseen"] = {{"replies", unseen.size()},
                                    {"reported", hb_unseen.reported},
                                    {"true", hb_unseen.true_},
                                    {"precision", unseen.empty() ? json(nullptr) : json(hb_unseen.Precision())}};
    if (gate) out["gate"] = gate_json;
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << text.str() << gate_text.str();
  }
  return gate_failed ? 1 : 0;
}
