#include "relay/event_log.h"

#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>

#include <cctype>
#include <cstring>
#include <string>
#include <vector>

#include "core/civil_time.h"

namespace rebound::relay {

namespace {

// Where libsystemd's sd_journal_send writes; journald creates it.
constexpr const char* kJournalSocket = "/run/systemd/journal/socket";

bool JournalSocketPresent() {
  struct stat st;
  return stat(kJournalSocket, &st) == 0 && S_ISSOCK(st.st_mode);
}

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A value as one token of the readable MESSAGE line or as a journal field.
std::string PlainValue(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// "session" -> "REBOUND_SESSION": journal field names are upper-case
// letters, digits and underscores.
std::string FieldName(const std::string& key) {
  std::string name = "REBOUND_";
  for (char c : key) name += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : '_';
  return name.substr(0, 64);
}

}  // namespace

int EventPriority(const std::string& event) {
  if (event == "reload_failed") return LOG_ERR;
  if (EndsWith(event, "_error") || EndsWith(event, "_failed")) return LOG_WARNING;
  if (event == "listening" || event == "stop" || event == "reload") return LOG_NOTICE;
  return LOG_INFO;
}

EventLog::~EventLog() {
  if (f_ && f_ != stderr) fclose(f_);
}

Status EventLog::OpenSink(const std::string& target, Sink* sink, FILE** f) {
  *sink = Sink::kFile;
  *f = nullptr;
  if (target.empty()) return Status::Ok();
  if (target == "-") {
    *f = stderr;
    return Status::Ok();
  }
  if (target == "journal") {
    if (JournalSocketPresent()) {
      *sink = Sink::kJournal;
      return Status::Ok();
    }
    fprintf(stderr, "rebound: server.log = \"journal\" but %s does not exist (not under systemd?): "
                    "logging JSON Lines on stderr instead\n", kJournalSocket);
    *f = stderr;
    return Status::Ok();
  }
  *f = fopen(target.c_str(), "a");
  if (!*f) return Status::IoError(target + ": cannot open the log file: " + strerror(errno));
  return Status::Ok();
}

Status EventLog::Open(const std::string& target, std::unique_ptr<EventLog>* out) {
  Sink sink;
  FILE* f;
  Status s = OpenSink(target, &sink, &f);
  if (!s.ok()) return s;
  *out = std::make_unique<EventLog>(f);
  (*out)->sink_ = sink;
  return Status::Ok();
}

Status EventLog::Reopen(const std::string& target) {
  Sink sink;
  FILE* f;
  Status s = OpenSink(target, &sink, &f);
  if (!s.ok()) return s;
  FILE* old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    old = f_;
    f_ = f;
    sink_ = sink;
  }
  if (old && old != stderr) fclose(old);
  return Status::Ok();
}

void EventLog::WriteJournal(const nlohmann::json& j, const std::string& line) {
  const std::string event = j.contains("event") ? PlainValue(j["event"]) : "event";
  std::string message = event;
  std::vector<std::string> fields;
  fields.push_back("PRIORITY=" + std::to_string(EventPriority(event)));
  fields.push_back("SYSLOG_IDENTIFIER=rebound");
  for (const auto& [key, value] : j.items()) {
    if (key == "ts") continue;  // the journal stamps every entry itself
    const std::string text = PlainValue(value);
    fields.push_back(FieldName(key) + "=" + text);
    if (key == "event") continue;
    message += ' ' + key + '=';
    message += text.find_first_of(" \t\r\n\"") == std::string::npos && !text.empty() ? text : nlohmann::json(text).dump();
  }
  fields.push_back("MESSAGE=" + message);
  std::vector<iovec> iov;
  iov.reserve(fields.size());
  for (std::string& f : fields) iov.push_back({f.data(), f.size()});
  const int r = sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
  if (r >= 0) return;
  // journald went away after the start: keep the event, on stderr.
  fprintf(stderr, "rebound: cannot write to the journal (%s): logging JSON Lines on stderr instead\n", strerror(-r));
  sink_ = Sink::kFile;
  f_ = stderr;
  fwrite(line.data(), 1, line.size(), f_);
}

void EventLog::Write(nlohmann::json j) {
  j["ts"] = FormatTime(NowUnixMillis(), TimeFormat::kIsoMillis);
  std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line += '\n';
  std::lock_guard<std::mutex> lock(mu_);
  if (sink_ == Sink::kJournal) return WriteJournal(j, line);
  if (!f_) return;
  fwrite(line.data(), 1, line.size(), f_);
  fflush(f_);
}

}  // namespace rebound::relay
