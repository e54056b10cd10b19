// relay/event_log.h: the submission server's log of sessions and decisions
// (server.log). Three sinks:
//   - a file, or stderr ("-"): JSON Lines, one object per line, each stamped
//     with "ts", ISO 8601 UTC with milliseconds;
//   - the systemd journal ("journal"): one entry per event, MESSAGE a short
//     readable line ("auth result=success user=alice"), PRIORITY from the
//     event's name, SYSLOG_IDENTIFIER=rebound, and every key of the event as
//     its own field REBOUND_<KEY> (REBOUND_EVENT, REBOUND_SESSION, ...). When
//     the journal socket is absent it says so once on stderr and writes JSON
//     Lines on stderr instead.
// Write() is safe from any thread; each line is flushed as it is written, so
// a crash loses at most the line being written. Reopen() switches the sink
// under the same lock (SIGHUP: logrotate renamed the file, or the config
// names another target), so no line is lost or split across files.
#pragma once

#include <cstdio>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "rebound/status.h"

namespace rebound::relay {

class EventLog {
 public:
  // Takes ownership of `f` (closed on destruction unless it is stderr);
  // null: nothing is logged.
  explicit EventLog(FILE* f) : f_(f) {}
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // The log server.log names: "" nothing, "-" stderr, "journal" the systemd
  // journal, anything else a file opened for appending.
  static Status Open(const std::string& target, std::unique_ptr<EventLog>* out);

  // Points the log at `target` (same values as Open), reopening a file even
  // when its name did not change. On error the log keeps its old sink.
  Status Reopen(const std::string& target);

  void Write(nlohmann::json j);

 private:
  enum class Sink { kFile, kJournal };
  // Opens `target` without touching the current sink.
  static Status OpenSink(const std::string& target, Sink* sink, FILE** f);
  // `line` is the JSON Lines form, written to stderr if the journal fails.
  void WriteJournal(const nlohmann::json& j, const std::string& line);

  Sink sink_ = Sink::kFile;
  FILE* f_;
  std::mutex mu_;
};

// The journal entry's PRIORITY (syslog level) for an event name: failures
// are warnings, a refused reload an error, starting and stopping notices,
// everything else (sessions, decisions) info.
int EventPriority(const std::string& event);

}  // namespace rebound::relay
