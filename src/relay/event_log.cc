#include "relay/event_log.h"

#include <string>

#include "core/civil_time.h"

namespace rebound::relay {

EventLog::~EventLog() {
  if (f_ && f_ != stderr) fclose(f_);
}

void EventLog::Write(nlohmann::json j) {
  if (!f_) return;
  j["ts"] = FormatTime(NowUnixMillis(), TimeFormat::kIsoMillis);
  std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line += '\n';
  std::lock_guard<std::mutex> lock(mu_);
  fwrite(line.data(), 1, line.size(), f_);
  fflush(f_);
}

}  // namespace rebound::relay
