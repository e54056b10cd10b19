// `rebound scan`: MTA logs in; per-attempt verdicts (--events) or a report
// of what is going wrong and what to do (terminal, --json, --html).
//
// The shell around src/logs: it reads files (plain or gzip, rotated sets in
// order, stdin, --follow), finds the format, feeds lines to a Scanner and
// writes the outputs. Reading is in 1 MiB blocks (regular files with
// sequential readahead advised); lines are never copied unless they
// straddle two blocks.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

#include "cli/command.h"
#include "cli/output.h"
#include "cli/verdict_json.h"
#include "logs/gzip.h"
#include "logs/scan.h"

namespace rebound::cli {
namespace {

using logs::GzipInflater;
using logs::ScanReport;
using logs::Scanner;

constexpr size_t kBlock = 1 << 20;
constexpr size_t kDetectBytes = 64 << 10;

struct ScanOptions {
  std::vector<std::string> paths;
  bool events = false, json = false, follow = false, no_progress = false;
  FormatOption format;  // of the report; --json is the older spelling of --format json
  std::string html, suppress_out, log_format;
  ClassifierOptions classifier;
};

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void WriteEventJson(JsonWriter& w, const DeliveryEvent& e, const Verdict& v, Lang lang) {
  w.BeginObject()
      .StringOrNull("time", IsoUtc(e.time))
      .StringOrNull("queue_id", e.queue_id)
      .StringOrNull("from", e.from)
      .StringOrNull("recipient", e.recipient)
      .StringOrNull("domain", e.RecipientDomain())
      .StringOrNull("relay_host", e.relay_host)
      .StringOrNull("relay_ip", e.relay_ip);
  if (e.delay >= 0) {
    char buf[32];
    snprintf(buf, sizeof buf, "%.3g", e.delay);
    w.Raw("delay", buf);
  } else {
    w.Null("delay");
  }
  w.String("status", DeliveryStatusName(e.status))
      .StringOrNull("dsn", e.dsn)
      .StringOrNull("diagnostic", e.diagnostic)
      .StringOrNull("message_id", e.message_id);
  if (e.size >= 0) w.Int("size", e.size);
  else w.Null("size");
  WriteVerdictFields(w, v, lang);
  w.EndObject();
}

// Rotated sets in the order they were written: mail.log.3.gz, mail.log.2.gz,
// mail.log.1, mail.log (and mail.log-20261126 before mail.log).
std::vector<std::string> ChronologicalOrder(std::vector<std::string> paths) {
  struct Key {
    std::string base;
    int64_t order;
  };
  auto key = [](const std::string& p) {
    std::string_view s = p;
    if (s.ends_with(".gz")) s.remove_suffix(3);
    size_t i = s.size();
    while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9') --i;
    if (i < s.size() && i > 0 && (s[i - 1] == '.' || s[i - 1] == '-') && s.size() - i <= 9) {
      const int64_t n = std::stoll(std::string(s.substr(i)));
      return Key{std::string(s.substr(0, i - 1)), s[i - 1] == '.' ? -n : n - 1000000000};
    }
    return Key{std::string(s), 0};
  };
  std::stable_sort(paths.begin(), paths.end(), [&](const std::string& a, const std::string& b) {
    const Key ka = key(a), kb = key(b);
    return ka.base != kb.base ? ka.base < kb.base : ka.order < kb.order;
  });
  return paths;
}

class ScanRun {
 public:
  ScanRun(const ScanOptions& o, const Classifier& c)
      : o_(o), classifier_(c), report_(c), lang_(o.classifier.language()),
        report_format_(o.json ? OutputFormat::kJson : o.format.Get()), out_(OutputFormat::kJson) {
    if (!o.log_format.empty()) forced_ = LogFormatFromName(o.log_format).value_or(LogFormat::kUnknown);
    progress_ = StderrIsTty() && !o.no_progress && !o.follow;
  }

  // Reads one input to its end (or, following, until stopped). Returns false
  // when the input could not be read completely.
  bool ScanFile(const std::string& path, bool follow) {
    const bool is_stdin = path == "-";
    const std::string name = is_stdin ? "stdin" : path;
    int fd = is_stdin ? 0 : open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      Error(name + ": " + strerror(errno));
      return false;
    }
    struct stat st {};
    fstat(fd, &st);
    // Read once, front to back: ask for aggressive readahead.
    if (S_ISREG(st.st_mode)) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    File f;
    f.name = name;
    f.size = S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
    f.started = Now();
    bool ok = Pump(fd, &f);
    if (ok && follow && !is_stdin) ok = Follow(path, &fd, st, &f);
    if (!is_stdin) close(fd);
    ok = FinishFile(&f) && ok;
    return ok;
  }

  void Finish() {
    FlushOut();
    const nlohmann::json doc = report_.ToJson();
    if (!o_.suppress_out.empty()) {
      std::ofstream out(o_.suppress_out, std::ios::trunc);
      for (const auto& a : report_.SuppressList()) out << a << "\n";
      if (!out) Error(o_.suppress_out + ": cannot write");
    }
    if (!o_.html.empty()) {
      std::ofstream out(o_.html, std::ios::trunc);
      out << logs::RenderReportHtml(doc);
      if (!out) Error(o_.html + ": cannot write");
    }
    if (!o_.events && report_format_ == OutputFormat::kJson) {
      out_.buffer() = doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
      out_.buffer().push_back('\n');
    } else if (!o_.events) {
      out_.buffer() = logs::RenderReportText(doc, StdoutIsTty());
    }
    out_.Flush();
  }

  bool had_error() const { return had_error_; }
  void set_reference_time(int64_t t) { reference_time_ = t; }

 private:
  struct File {
    std::string name;
    uint64_t size = 0, raw_read = 0, text_bytes = 0, oversized = 0;
    double started = 0, last_progress = 0;
    bool gzip = false, decided = false;
    std::unique_ptr<GzipInflater> inflater;
    std::string head;  // text kept until the format is known
    Scanner* scanner = nullptr;
    LogReaderStats before;
    LineSplitter splitter{4 << 20};
    bool failed = false;
  };

  void Error(const std::string& msg) {
    FlushOut();
    if (progress_shown_) fputs("\r\033[K", stderr);
    fprintf(stderr, "rebound scan: %s\n", msg.c_str());
    had_error_ = true;
  }

  void FlushOut() { out_.Flush(); }

  Scanner* ScannerFor(LogFormat f) {
    auto& s = scanners_[f];
    if (!s) {
      LogReaderOptions ro;
      ro.reference_time = reference_time_;
      s = std::make_unique<Scanner>(classifier_, f, ro, &report_);
      if (o_.events)
        s->set_sink([this](const DeliveryEvent& e, const Verdict& v) {
          JsonWriter w = out_.Json();
          WriteEventJson(w, e, v, lang_);
          out_.EndJsonRecord();
          if (o_.follow) FlushOut();
        });
    }
    return s.get();
  }

  bool Pump(int fd, File* f) {
    std::string block(kBlock, '\0');
    while (!g_stop) {
      const ssize_t n = read(fd, block.data(), block.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        Error(f->name + ": " + strerror(errno));
        return false;
      }
      if (n == 0) break;
      Raw(f, std::string_view(block.data(), static_cast<size_t>(n)));
      if (f->failed) return false;
      Progress(f);
    }
    return true;
  }

  // Follows a growing file like `tail -F`: new bytes as they come; when the
  // path is rotated (another inode) or truncated, the new file from its start.
  bool Follow(const std::string& path, int* fd, struct stat st, File* f) {
    while (!g_stop) {
      // Following, lines are not held back for a 64 KB detection sample:
      // the whole lines seen so far decide the format.
      if (!f->decided && f->head.find('\n') != std::string::npos) {
        Decide(f);
        if (f->failed) return false;
        std::string head;
        head.swap(f->head);
        Lines(f, head);
        FlushOut();
        fflush(stdout);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      if (!Pump(*fd, f)) return false;
      FlushOut();
      fflush(stdout);
      struct stat now {};
      if (stat(path.c_str(), &now) != 0) continue;  // between rename and create
      off_t pos = lseek(*fd, 0, SEEK_CUR);
      if (now.st_ino != st.st_ino || now.st_dev != st.st_dev || now.st_size < pos) {
        if (!Pump(*fd, f)) return false;  // the rest of the old file
        const int nfd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (nfd < 0) continue;
        close(*fd);
        *fd = nfd;
        st = now;
      }
    }
    return true;
  }

  void Raw(File* f, std::string_view raw) {
    if (f->raw_read == 0 && logs::LooksGzipped(raw)) {
      f->gzip = true;
      f->inflater = std::make_unique<GzipInflater>();
    }
    f->raw_read += raw.size();
    if (!f->gzip) return Text(f, raw);
    if (!f->inflater->Feed(raw, [&](std::string_view text) { Text(f, text); })) {
      Error(f->name + ": " + f->inflater->error());
      f->failed = true;
    }
  }

  void Text(File* f, std::string_view text) {
    f->text_bytes += text.size();
    if (!f->decided) {
      f->head.append(text);
      if (f->head.size() < kDetectBytes) return;
      Decide(f);
      if (f->failed) return;
      std::string head;
      head.swap(f->head);
      Lines(f, head);
      return;
    }
    Lines(f, text);
  }

  void Decide(File* f) {
    f->decided = true;
    LogFormat fmt = forced_;
    if (fmt == LogFormat::kUnknown) {
      // Detect on whole lines only.
      std::string_view sample = f->head;
      if (size_t nl = sample.rfind('\n'); nl != std::string_view::npos) sample = sample.substr(0, nl + 1);
      fmt = DetectLogFormat(sample);
    }
    if (fmt == LogFormat::kUnknown) {
      Error(f->name + ": unknown log format: the first lines look like none of postfix, exim, sendmail, kumomta, "
                      "pmta; name it with --log-format if it is one of them");
      f->failed = true;
      return;
    }
    f->scanner = ScannerFor(fmt);
    f->before = f->scanner->reader().stats();
  }

  void Lines(File* f, std::string_view text) {
    f->splitter.Feed(text, [&](std::string_view line, bool oversized) {
      if (oversized) ++f->oversized;
      else f->scanner->Line(line);
    });
  }

  bool FinishFile(File* f) {
    if (!f->failed && !f->decided && !f->head.empty()) {
      Decide(f);
      if (!f->failed) {
        std::string head;
        head.swap(f->head);
        Lines(f, head);
      }
    }
    if (f->scanner) f->splitter.Finish([&](std::string_view line, bool) { f->scanner->Line(line); });
    if (f->inflater && !f->failed && !f->inflater->Finish()) {
      Error(f->name + ": " + f->inflater->error() + "; the lines before were scanned");
      f->failed = true;
    }
    if (progress_shown_) {
      fputs("\r\033[K", stderr);
      progress_shown_ = false;
    }
    if (!f->scanner && !f->failed) report_.AddInputStats(f->name, LogFormat::kUnknown, {}, 0);  // empty
    if (f->scanner) {
      LogReaderStats s = f->scanner->reader().stats();
      s.lines -= f->before.lines;
      s.events -= f->before.events;
      s.ignored -= f->before.ignored;
      s.garbled -= f->before.garbled;
      s.lines += f->oversized;
      s.garbled += f->oversized;
      report_.AddInputStats(f->name, f->scanner->reader().format(), s, f->text_bytes);
      if (s.garbled)
        fprintf(stderr, "rebound scan: %s: %llu garbled or oversized lines skipped\n", f->name.c_str(),
                static_cast<unsigned long long>(s.garbled));
    }
    return !f->failed;
  }

  void Progress(File* f) {
    if (!progress_) return;
    const double now = Now();
    if (now - f->last_progress < 0.5) return;
    f->last_progress = now;
    const double secs = std::max(now - f->started, 1e-3);
    const double rate = double(f->raw_read) / secs;
    char buf[256];
    int n = snprintf(buf, sizeof buf, "\r\033[K%s: %.0f MB, %.0f MB/s, %llu events", f->name.c_str(),
                     double(f->raw_read) / 1e6, rate / 1e6, static_cast<unsigned long long>(report_.events()));
    if (f->size > f->raw_read && rate > 0)
      snprintf(buf + n, sizeof buf - n, ", ETA %.0f s", double(f->size - f->raw_read) / rate);
    fputs(buf, stderr);
    progress_shown_ = true;
  }

  const ScanOptions& o_;
  const Classifier& classifier_;
  ScanReport report_;
  Lang lang_;
  LogFormat forced_ = LogFormat::kUnknown;
  int64_t reference_time_ = 0;
  std::map<LogFormat, std::unique_ptr<Scanner>> scanners_;
  OutputFormat report_format_;
  Output out_;  // the events (JSON Lines) as they come, then the report
  bool progress_ = false, progress_shown_ = false, had_error_ = false;
};

int Run(const ScanOptions& o) {
  if (!o.log_format.empty() && !LogFormatFromName(o.log_format)) {
    std::cerr << "rebound scan: unknown --log-format " << o.log_format << " (postfix, exim, sendmail, kumomta, pmta)\n";
    return kExitUsage;
  }
  auto classifier = o.classifier.Build();
  if (!classifier) return kExitRules;
  std::vector<std::string> paths = o.paths;
  if (paths.empty()) paths.push_back("-");
  if (paths.size() > 1) paths = ChronologicalOrder(paths);
  if (paths[0] == "-" && isatty(0)) std::cerr << "rebound scan: reading a log from the terminal (Ctrl-D ends)\n";

  // Years for syslog timestamps: the newest input's modification time.
  int64_t reference = 0;
  for (const auto& p : paths) {
    struct stat st {};
    if (p == "-" || o.follow) reference = std::max<int64_t>(reference, time(nullptr));
    else if (stat(p.c_str(), &st) == 0) reference = std::max<int64_t>(reference, st.st_mtime);
  }
  ScanRun run(o, *classifier);
  run.set_reference_time(reference);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  for (size_t i = 0; i < paths.size() && !g_stop; ++i) run.ScanFile(paths[i], o.follow && i + 1 == paths.size());
  run.Finish();
  return run.had_error() ? kExitInputError : kExitOk;
}

void Setup(CLI::App& root, int* exit_code) {
  auto o = std::make_shared<ScanOptions>();
  CLI::App* cmd = root.add_subcommand("scan", "Read MTA logs: what is going wrong, and what to do now");
  cmd->footer(
      "Formats (detected from the first lines; force with --log-format): postfix, exim (main log),\n"
      "sendmail, kumomta (JSON log records), pmta (PowerMTA accounting CSV). Files may be gzip-\n"
      "compressed; a rotated set (mail.log.2.gz mail.log.1 mail.log) is read oldest first; '-'\n"
      "or no PATH reads stdin.\n\n"
      "Examples:\n"
      "  rebound scan /var/log/mail.log*\n"
      "  rebound scan --html report.html --suppress-out suppress.txt /var/log/mail.log\n"
      "  rebound scan --format json mail.log.1 mail.log > report.json\n"
      "  rebound scan --events mail.log | jq 'select(.hard_bounce)'\n"
      "  rebound scan --follow --events /var/log/mail.log\n\n"
      "Exit status: 0 ok, 1 some input could not be read (unknown format, corrupt .gz), 2 usage,\n"
      "3 invalid rule base.");
  cmd->add_option("path", o->paths, "Log files ('-' for stdin)");
  auto* events = cmd->add_flag("--events", o->events,
                               "Instead of the report, JSON Lines: one object per delivery attempt, with its verdict");
  o->format.AddTo(cmd, {OutputFormat::kText, OutputFormat::kJson}, "the report as one JSON document");
  cmd->add_flag("--json", o->json, "The same as --format json")->excludes(events)->group("");
  cmd->add_option("--html", o->html, "Also write the report as a self-contained HTML page to FILE");
  cmd->add_option("--suppress-out", o->suppress_out, "Write the hard-bounced addresses (suppress them) to FILE");
  cmd->add_option("--log-format", o->log_format, "postfix, exim, sendmail, kumomta or pmta (default: detect)");
  cmd->add_flag("--follow", o->follow, "Keep reading the last file as it grows, across rotation (Ctrl-C: report)");
  cmd->add_flag("--no-progress", o->no_progress, "No progress line on stderr");
  o->classifier.AddTo(cmd);
  cmd->callback([o, exit_code] { *exit_code = Run(*o); });
}

REBOUND_REGISTER_COMMAND(40, Setup);

}  // namespace
}  // namespace rebound::cli
