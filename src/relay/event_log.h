// relay/event_log.h: the submission server's log of sessions and decisions,
// JSON Lines (one object per line, each stamped with "ts", ISO 8601 UTC with
// milliseconds). Write() is safe from any thread; each line is flushed as it
// is written, so a crash loses at most the line being written.
#pragma once

#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>

namespace rebound::relay {

class EventLog {
 public:
  // Takes ownership of `f` (closed on destruction unless it is stderr);
  // null: nothing is logged.
  explicit EventLog(FILE* f) : f_(f) {}
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  void Write(nlohmann::json j);

 private:
  FILE* f_;
  std::mutex mu_;
};

}  // namespace rebound::relay
