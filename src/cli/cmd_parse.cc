// `rebound parse`: bounce emails in (files, Maildirs, mboxes, trees, stdin,
// .gz), one verdict per failed recipient out. Streams: each file is read in
// chunks and cut into messages as it goes, so memory stays bounded by the
// largest message (capped; see MboxSplitter).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "cli/command.h"
#include "cli/output.h"
#include "cli/verdict_json.h"
#include "logs/gzip.h"
#include "rebound/bounce.h"

namespace rebound::cli {
namespace {

// Literals as string_views: append(const char*) would strlen each one at
// run time, once per field of every record.
using namespace std::string_view_literals;

struct ParseOptions {
  std::vector<std::string> paths;
  FormatOption format;
  bool all = false;
  bool explain = false;  // each record says which part of the bounce decided
  ClassifierOptions classifier;
};

class Runner {
 public:
  Runner(const ParseOptions& o, const Classifier* c)
      : o_(o), parser_(c), lang_(o.classifier.language()),
        text_(o.format.Get() == OutputFormat::kText), progress_(StderrIsTty()), out_(o.format.Get()) {}

  void Path(const std::string& path) {
    if (path == "-") {
      File(path, /*stdin=*/true);
      return;
    }
    std::error_code ec;
    auto st = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(st)) {
      Error(path, ec ? ec.message() : "no such file or directory");
      return;
    }
    if (std::filesystem::is_directory(st)) {
      Directory(path);
      return;
    }
    File(path, false);
  }

  bool failed() const { return failed_; }

 private:
  void Directory(const std::string& dir) {
    // Sorted, depth-first; hidden entries and Maildir tmp/ (messages being
    // written) are skipped.
    std::vector<std::filesystem::directory_entry> entries;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) entries.push_back(*it);
    if (ec) {
      Error(dir, ec.message());
      return;
    }
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.path() < b.path(); });
    bool maildir = false;
    for (const auto& e : entries) {
      auto name = e.path().filename().string();
      if ((name == "cur" || name == "new") && e.is_directory()) maildir = true;
    }
    for (const auto& e : entries) {
      auto name = e.path().filename().string();
      if (name.empty() || name[0] == '.') continue;
      if (maildir && name == "tmp") continue;
      std::error_code ec2;
      if (e.is_directory(ec2)) Directory(e.path().string());
      else if (e.is_regular_file(ec2)) File(e.path().string(), false);
    }
  }

  void File(const std::string& path, bool is_stdin) {
    const std::string shown = is_stdin ? "-" : path;
    bool file_failed = false;
    size_t index = 0;
    MboxSplitter splitter([&](std::string_view msg, bool truncated) {
      ++index;
      Message(shown, index, msg, truncated, &file_failed);
    });
    int fd = STDIN_FILENO;
    if (!is_stdin && (fd = open(path.c_str(), O_RDONLY | O_CLOEXEC)) < 0) {
      Error(shown, strerror(errno));
      return;
    }
    buf_.resize(256 << 10);
    size_t total = 0;  // bytes of text, after inflating
    auto text = [&](std::string_view chunk) {
      total += chunk.size();
      splitter.Feed(chunk);
    };
    // gzip input is known by its magic bytes at the start.
    std::unique_ptr<logs::GzipInflater> inflater;
    for (bool first = true;; first = false) {
      const ssize_t n = ReadFull(fd, buf_.data(), buf_.size());
      if (n < 0) {
        Error(shown, std::string("read error: ") + strerror(errno));
        file_failed = true;
        break;
      }
      if (n == 0) break;
      const std::string_view chunk(buf_.data(), static_cast<size_t>(n));
      if (first && logs::LooksGzipped(chunk)) inflater = std::make_unique<logs::GzipInflater>();
      if (!inflater) {
        text(chunk);
      } else if (!inflater->Feed(chunk, text)) {
        Error(shown, "read error: " + inflater->error());
        file_failed = true;
        break;
      }
    }
    if (!file_failed && inflater && !inflater->Finish()) {
      Error(shown, "read error: " + inflater->error());
      file_failed = true;
    }
    if (!is_stdin) close(fd);
    Finished(shown, splitter, total, &file_failed);
  }

  // Reads up to size bytes (fewer only at the end of the file); -1 on error.
  static ssize_t ReadFull(int fd, char* buf, size_t size) {
    size_t got = 0;
    while (got < size) {
      ssize_t n = read(fd, buf + got, size - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return -1;
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    return static_cast<ssize_t>(got);
  }

  // file_failed may still be set by the last message, which Finish() emits.
  void Finished(const std::string& shown, MboxSplitter& splitter, size_t total, const bool* file_failed) {
    splitter.Finish();
    if (!*file_failed && total == 0) Error(shown, "empty file");
    else if (!*file_failed && splitter.messages() == 0) Error(shown, "no message in file");
  }

  void Message(const std::string& file, size_t index, std::string_view msg, bool truncated, bool* file_failed) {
    BounceResult& result = result_;  // reused: the parser overwrites it
    Status st = parser_.Parse(msg, &result);
    ++messages_;
    if (progress_ && messages_ % 1000 == 0) {
      Flush();
      fprintf(stderr, "\rrebound parse: %zu messages, %zu records", messages_, records_);
      fflush(stderr);
      progress_line_ = true;
    }
    if (!st.ok()) {
      Error(index > 1 ? file + " (message " + std::to_string(index) + ")" : file, st.message());
      *file_failed = true;
      return;
    }
    (void)truncated;  // the parser reads the head of an oversized message; that is enough
    if (!result.is_bounce) {
      if (o_.all) NotBounce(file, result);
      return;
    }
    for (const auto& r : result.records) {
      ++records_;
      if (text_) TextRecord(file, r);
      else JsonRecord(file, r, result.original);
    }
    out_.MaybeFlush();
  }

  static void WriteOriginal(JsonWriter& w, const OriginalMessage& m) {
    w.BeginObject("original")
        .StringOrNull("message_id", m.message_id)
        .StringOrNull("from", m.from)
        .StringOrNull("to", m.to)
        .StringOrNull("subject", m.subject)
        .StringOrNull("list_id", m.list_id)
        .StringOrNull("verp_recipient", m.verp_recipient)
        .EndObject();
  }

  void JsonRecord(const std::string& file, const BounceRecord& r, const OriginalMessage& m) {
    JsonWriter w = out_.Json();
    w.BeginObject()
        .String("file", file)
        .String("recipient", r.recipient)
        .StringOrNull("dsn_action", r.action)
        .StringOrNull("status", r.status);
    if (r.reply_code) w.Int("reply_code", r.reply_code);
    else w.Null("reply_code");
    w.String("diagnostic", r.diagnostic)
        .StringOrNull("remote_mta", r.remote_mta)
        .StringOrNull("smtp_command", SmtpCommandName(r.smtp_command))
        .StringOrNull("timestamp", r.timestamp)
        .String("reporting_mta_kind", r.reporting_mta_kind);
    if (!r.feedback_type.empty()) w.String("feedback_type", r.feedback_type);
    WriteOriginal(w, m);
    if (o_.explain) w.String("decided_by", r.decided_by);
    WriteVerdictFields(w, r.verdict, lang_);
    w.EndObject();
    out_.EndJsonRecord();
  }

  void NotBounce(const std::string& file, const BounceResult& result) {
    if (text_) {
      out_.buffer().append(file).append("  (not a bounce)\n"sv);
      return;
    }
    JsonWriter w = out_.Json();
    w.BeginObject().String("file", file).String("result", "not_bounce");
    WriteOriginal(w, result.original);
    w.EndObject();
    out_.EndJsonRecord();
  }

  void TextRecord(const std::string& file, const BounceRecord& r) {
    std::string& out = out_.buffer();
    if (!header_done_) {
      out.append("FILE\tRECIPIENT\tSTATUS\tCODE\tCATEGORY (REASON)\tHARD\tDIAGNOSTIC\n"sv);
      header_done_ = true;
    }
    std::string diag = r.diagnostic.size() > 100 ? r.diagnostic.substr(0, 100) + "…" : r.diagnostic;
    out.append(file).append("\t"sv).append(r.recipient).append("\t"sv).append(r.status.empty() ? "-" : r.status);
    out.append("\t"sv).append(r.reply_code ? std::to_string(r.reply_code) : "-");
    out.append("\t"sv).append(CategoryName(r.verdict.category)).append(" ("sv).append(ReasonName(r.verdict.reason)).append(")"sv);
    out.append("\t"sv).append(r.verdict.hard_bounce ? "yes" : "no").append("\t"sv).append(diag);
    if (o_.explain) out.append("\t[decided by "sv).append(r.decided_by).append("]"sv);
    out.append("\n"sv);
  }

  void Error(const std::string& file, const std::string& what) {
    Flush();
    if (progress_line_) {
      fputc('\n', stderr);
      progress_line_ = false;
    }
    fprintf(stderr, "rebound parse: %s: %s\n", file.c_str(), what.c_str());
    failed_ = true;
  }

  void Flush() { out_.Flush(); }

  const ParseOptions& o_;
  BounceParser parser_;
  Lang lang_;
  bool text_;
  bool progress_;
  bool progress_line_ = false;
  bool header_done_ = false;
  bool failed_ = false;
  size_t messages_ = 0, records_ = 0;
  Output out_;
  std::string buf_;  // input chunk, reused across files
  BounceResult result_;  // the current message's, reused across messages
};

int Run(const ParseOptions& o) {
  auto classifier = o.classifier.Build();
  if (!classifier) return kExitRules;
  std::vector<std::string> paths = o.paths;
  if (paths.empty()) paths.push_back("-");
  if (paths.size() == 1 && paths[0] == "-" && isatty(0))
    std::cerr << "rebound parse: reading one message or mbox from the terminal (Ctrl-D ends)\n";
  Runner runner(o, classifier.get());
  for (const auto& p : paths) runner.Path(p);
  return runner.failed() ? kExitInputError : kExitOk;
}

void Setup(CLI::App& root, int* exit_code) {
  auto o = std::make_shared<ParseOptions>();
  CLI::App* cmd = root.add_subcommand("parse", "Read bounce emails into one verdict per failed recipient");
  cmd->footer(
      "Input: files (one message, or an mbox cut at \"From \" lines), Maildirs (cur/, new/),\n"
      "directory trees, gzip-compressed files, or '-' for stdin (the default).\n"
      "Understands RFC 3464/6522 delivery-status reports, ARF feedback reports (RFC 5965),\n"
      "auto-replies (RFC 3834) and the non-standard bounces of common MTAs and providers.\n\n"
      "Output (JSON Lines): file, recipient, dsn_action, status, reply_code, diagnostic,\n"
      "remote_mta, smtp_command, timestamp, reporting_mta_kind, original{...}, and the\n"
      "verdict fields (category, reason, permanent, hard_bounce, action, ...).\n\n"
      "Examples:\n"
      "  rebound parse ~/Maildir\n"
      "  rebound parse --format text bounces.mbox.gz\n"
      "  rebound parse --all - < message.eml\n\n"
      "Exit status: 0 ok, 1 some file could not be read or was not an email, 2 usage, 3 rules.");
  cmd->add_option("paths", o->paths, "Files, directories, or '-' for stdin");
  o->format.AddTo(cmd, {OutputFormat::kText, OutputFormat::kJson});
  cmd->add_flag("--all", o->all, "Also report messages that are not bounces (result not_bounce)");
  cmd->add_flag("--explain", o->explain,
                "Say which part of each bounce decided (decided_by: diagnostic-code, extractor:NAME, text,\n"
                "format:KIND, prose:near-recipient, prose:below-heading)");
  o->classifier.AddTo(cmd);
  cmd->callback([o, exit_code] { *exit_code = Run(*o); });
}

REBOUND_REGISTER_COMMAND(20, Setup);

}  // namespace
}  // namespace rebound::cli
