#include "relay/event_log.h"

#include <chrono>
#include <ctime>
#include <string>

namespace rebound::relay {

namespace {

std::string IsoNow() {
  auto now = std::chrono::system_clock::now();
  time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[96];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
           tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace

EventLog::~EventLog() {
  if (f_ && f_ != stderr) fclose(f_);
}

void EventLog::Write(nlohmann::json j) {
  if (!f_) return;
  j["ts"] = IsoNow();
  std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line += '\n';
  std::lock_guard<std::mutex> lock(mu_);
  fwrite(line.data(), 1, line.size(), f_);
  fflush(f_);
}

}  // namespace rebound::relay
