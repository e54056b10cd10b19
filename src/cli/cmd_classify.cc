// `rebound classify`: SMTP replies in, verdicts out.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
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
// Input whose lines do not repeat (every reply naming its own recipient)
// would pay for the hashing and gain nothing, so the memo watches how often
// it helps and, while it does not, is consulted on few lines only.
class RecordMemo {
 public:
  // Small enough that the slot and filter tables (32 KiB each) stay in the
  // cache: on input that never repeats, their lookups are all it costs.
  static constexpr size_t kMaxEntries = 4096, kMaxBytes = 4 << 20, kMaxLine = 2048;

  static uint64_t Hash(std::string_view line) { return std::hash<std::string_view>{}(line); }

  // Whether to consult the memo for the next line. Lines are watched in
  // windows; after a window in which under one line in 16 found its record
  // (about where the hashing, and keeping records never asked for again,
  // cost more than the hits save), the memo sits out one window, then two,
  // four, up to kMaxRest, each time a window finds it of little use; one
  // useful window puts it back on every line. Lines that occur twice only
  // (a reply and its one retry) are kept and never found: no use.
  bool Consult() {
    if (resting_ != 0) {
      --resting_;
      return false;
    }
    if (++window_lines_ < kWindow) return true;
    if (window_hits_ * 16 < kWindow) {
      resting_ = rest_;
      rest_ = std::min(2 * rest_, kMaxRest);
    } else {
      rest_ = kWindow;
    }
    window_lines_ = window_hits_ = 0;
    return true;
  }
  // The record kept for exactly this line, or null.
  const std::string_view* Find(std::string_view line, uint64_t hash) {
    const Entry* e = table_.Find(hash, [&](const Entry& e) { return e.line == line; });
    if (!e) return nullptr;
    ++window_hits_;
    return &e->record;
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
  static constexpr size_t kWindow = 1024, kMaxRest = 15 * kWindow;
  struct Entry {
    std::string_view line, record;
    uint64_t hash;
  };
  BoundedMemo<Entry> table_{kMaxEntries, kMaxBytes, 1 << 12};
  size_t window_lines_ = 0, window_hits_ = 0;
  size_t rest_ = kWindow;  // lines the memo sits out after the next useless window
  size_t resting_ = 0;     // lines left of the present rest
};

// Where the records go: one buffer, written to stdout in large blocks.
// Records are written straight into it: Reserve room, write, Commit.
class RecordSink {
 public:
  ~RecordSink() { Flush(); }
  char* Reserve(size_t n) {
    if (capacity_ - size_ < n) Grow(n);
    return data_.get() + size_;
  }
  void Commit(const char* end) { size_ = static_cast<size_t>(end - data_.get()); }
  void Append(std::string_view s) {
    if (!s.empty()) memcpy(Reserve(s.size()), s.data(), s.size());
    size_ += s.size();
  }
  size_t size() const { return size_; }
  // What was written since offset start (valid until the next Reserve).
  std::string_view Since(size_t start) const { return {data_.get() + start, size_ - start}; }
  // After each record: writes what is buffered once it is large.
  void EndRecord() {
    if (size_ >= kFlushAt) Flush();
  }
  void Flush() {
    if (size_ != 0) fwrite(data_.get(), 1, size_, stdout);
    size_ = 0;
    fflush(stdout);
  }

 private:
  static constexpr size_t kFlushAt = 256 << 10;
  void Grow(size_t n) {
    const size_t capacity = std::max({2 * capacity_, size_ + n, kFlushAt + (64 << 10)});
    auto data = std::make_unique_for_overwrite<char[]>(capacity);
    if (size_ != 0) memcpy(data.get(), data_.get(), size_);
    data_ = std::move(data);
    capacity_ = capacity;
  }
  std::unique_ptr<char[]> data_;
  size_t size_ = 0, capacity_ = 0;
};

// Lines from a file descriptor, read in large blocks and split in place.
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
  // The next line, without its '\n'; false at the end of the input or on
  // a read error (then read_error() is the errno).
  bool Next(std::string_view* line) {
    while (true) {
      // Bytes before scanned_ hold no '\n': a long line arriving in many
      // reads is searched once, not once per read.
      const size_t from = std::max(begin_, scanned_);
      if (const void* nl = from == end_ ? nullptr : memchr(data_.get() + from, '\n', end_ - from)) {
        const size_t at = static_cast<size_t>(static_cast<const char*>(nl) - data_.get());
        *line = std::string_view(data_.get() + begin_, at - begin_);
        begin_ = at + 1;
        return true;
      }
      scanned_ = end_;
      if (at_end_) {
        if (begin_ == end_) return false;
        *line = std::string_view(data_.get() + begin_, end_ - begin_);
        begin_ = end_;
        return true;
      }
      Fill();
    }
  }
  int read_error() const { return read_error_; }

 private:
  static constexpr size_t kBlock = 1 << 20;
  // Moves the unfinished line to the front (the buffer grows when that
  // line leaves under half a block free) and reads behind it.
  void Fill() {
    const size_t kept = end_ - begin_;
    if (capacity_ - kept < kBlock / 2) {
      const size_t capacity = std::max(2 * capacity_, kept + kBlock);
      auto data = std::make_unique_for_overwrite<char[]>(capacity);
      if (kept != 0) memcpy(data.get(), data_.get() + begin_, kept);
      data_ = std::move(data);
      capacity_ = capacity;
    } else if (kept != 0 && begin_ != 0) {
      memmove(data_.get(), data_.get() + begin_, kept);
    }
    scanned_ -= std::min(scanned_, begin_);
    begin_ = 0;
    end_ = kept;
    ssize_t n;
    do n = read(fd_, data_.get() + end_, capacity_ - end_);
    while (n < 0 && errno == EINTR);
    if (n < 0) read_error_ = errno;
    if (n <= 0) at_end_ = true;
    else end_ += static_cast<size_t>(n);
  }

  int fd_;
  std::unique_ptr<char[]> data_;
  size_t capacity_ = 0, begin_ = 0, end_ = 0, scanned_ = 0;
  bool at_end_ = false;
  int read_error_ = 0;
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

template <size_t N>
char* Put(char* out, const char (&literal)[N]) {
  memcpy(out, literal, N - 1);
  return out + N - 1;
}
char* Put(char* out, std::string_view s) {
  if (!s.empty()) memcpy(out, s.data(), s.size());
  return out + s.size();
}

// The verdict's members after a first member of the object: lead (from
// VerdictJsonCache::Lead) and the value of "reference". out has room for
// lead and ReferenceRoom(v) bytes.
size_t ReferenceRoom(const Verdict& v) { return JsonStringMaxSize(v.reference.size()) + 4; }
char* WriteVerdictJson(char* out, std::string_view lead, const Verdict& v) {
  out = Put(out, lead);
  return v.reference.empty() ? Put(out, "null") : WriteJsonString(out, v.reference);
}

// A record's object without its closing brace: the parsed reply's fields,
// then the verdict's, written straight into the sink.
void WriteRecordJson(RecordSink& sink, std::string_view raw, const Reply& r, const Verdict& v,
                     VerdictJsonCache& verdict_json) {
  const std::string_view lead = verdict_json.Lead(v);
  // Room for the escaped texts, and 128 bytes for the keys (61) and the
  // short values: code (at most 11 characters), status (15 with its
  // quotes), command (10), remote_host's null.
  char* p = sink.Reserve(JsonStringMaxSize(raw.size()) + JsonStringMaxSize(r.remote_host.size()) +
                         JsonStringMaxSize(r.text.size()) + lead.size() + ReferenceRoom(v) + 128);
  p = WriteJsonString(Put(p, "{\"reply\":"), raw);
  p = Put(p, ",\"code\":");
  if (r.code >= 100 && r.code <= 999) {  // a reply code: three digits
    p[0] = static_cast<char>('0' + r.code / 100);
    p[1] = static_cast<char>('0' + r.code / 10 % 10);
    p[2] = static_cast<char>('0' + r.code % 10);
    p += 3;
  } else {
    p = r.code ? std::to_chars(p, p + 11, r.code).ptr : Put(p, "null");
  }
  p = Put(p, ",\"status\":");
  if (r.status.present()) {
    *p++ = '"';
    p += r.status.Format(p).size();
    *p++ = '"';
  } else {
    p = Put(p, "null");
  }
  p = Put(p, ",\"command\":");
  if (r.command != SmtpCommand::kUnknown) {
    *p++ = '"';
    p = Put(p, SmtpCommandName(r.command));
    *p++ = '"';
  } else {
    p = Put(p, "null");
  }
  p = Put(p, ",\"remote_host\":");
  p = r.remote_host.empty() ? Put(p, "null") : WriteJsonString(p, r.remote_host);
  p = WriteJsonString(Put(p, ",\"text\":"), r.text);
  sink.Commit(WriteVerdictJson(p, lead, v));
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
  RecordSink sink;
  int rc = kExitOk;
  VerdictJsonCache verdict_json(lang);
  RecordMemo memo;
  std::string record;  // the records not written straight into the sink

  auto classify_one = [&](std::string_view raw) {
    const bool memoized = !o.no_memo && memo.Consult();
    const uint64_t hash = memoized ? RecordMemo::Hash(raw) : 0;
    if (memoized)
      if (const std::string_view* found = memo.Find(raw, hash)) {
        sink.Append(*found);
        sink.EndRecord();
        return;
      }
    const size_t start = sink.size();
    const Verdict v = classifier->Classify(raw, scratch.get());
    const Reply& r = Classifier::LastReply(scratch.get());
    if (!text && !o.explain) {
      WriteRecordJson(sink, raw, r, v, verdict_json);
      sink.Append("}\n");
    } else {
      std::vector<const Rule*> rules;
      FacetExplanation facets;
      if (o.explain) {
        rules = classifier->Explain(r, scratch.get());
        facets = classifier->ExplainFacets(r, scratch.get());
      }
      record.clear();
      if (text) {
        AppendText(&record, raw, r, v, lang, o.explain ? &rules : nullptr, o.explain ? &facets : nullptr);
      } else {
        WriteRecordJson(sink, raw, r, v, verdict_json);
        JsonWriter w(&record);
        w.ResumeObject();
        WriteExplainJson(w, rules);
        WriteFacetsJson(w, facets);
        w.EndObject();
        record.push_back('\n');
      }
      sink.Append(record);
    }
    if (memoized) memo.Insert(raw, hash, sink.Since(start));
    sink.EndRecord();
  };

  if (!o.replies.empty() && !o.jsonl) {
    for (const auto& r : o.replies) classify_one(r);
    return rc;
  }
  int fd = 0;
  const std::string name = o.input.empty() || o.input == "-" ? "stdin" : o.input;
  if (!o.input.empty() && o.input != "-") {
    fd = open(o.input.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      std::cerr << "rebound classify: " << o.input << ": cannot open\n";
      return kExitInputError;
    }
  } else if (isatty(0)) {
    std::cerr << "rebound classify: reading replies from the terminal, one per line (Ctrl-D ends)\n";
  }
  LineReader reader(fd);
  std::string_view line;
  size_t lineno = 0;
  while (reader.Next(&line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (!o.jsonl) {
      classify_one(line);
      continue;
    }
    nlohmann::json obj = nlohmann::json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
    std::string error;
    if (obj.is_discarded()) error = "malformed JSON";
    else if (!obj.is_object()) error = "not a JSON object";
    else if (!obj.contains("reply") || !obj["reply"].is_string()) error = "no string field \"reply\"";
    if (!error.empty()) {
      sink.Flush();
      std::cerr << "rebound classify: " << name << ":" << lineno << ": " << error << "; line skipped\n";
      rc = kExitInputError;
      continue;
    }
    const std::string raw = obj["reply"].get<std::string>();
    const Verdict v = classifier->Classify(raw, scratch.get());
    for (auto f : kVerdictFieldNames) obj.erase(std::string(f));
    std::string dumped = obj.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dumped.pop_back();  // the closing brace; the object is never empty ("reply")
    sink.Append(dumped);
    const std::string_view lead = verdict_json.Lead(v);
    char* p = WriteVerdictJson(sink.Reserve(lead.size() + ReferenceRoom(v) + 2), lead, v);
    sink.Commit(Put(p, "}\n"));
    sink.EndRecord();
  }
  if (fd != 0) close(fd);
  if (reader.read_error() != 0) {
    sink.Flush();
    std::cerr << "rebound classify: " << name << ": read failed: " << std::strerror(reader.read_error()) << "\n";
    return kExitInputError;
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
      "Exit status: 0 ok, 1 some input lines were skipped or the input could not be read, 2 usage,\n3 invalid rule base.");
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
