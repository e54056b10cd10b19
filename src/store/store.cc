// What every Store backend shares: recipient state names, the quota period
// keys, the address helpers. A backend's own file (sqlite_store.cc) holds
// only its storage.
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "core/text.h"
#include "store/store.h"

namespace rebound::relay {

int64_t SystemNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {
constexpr std::string_view kStateNames[] = {"queued", "deferred", "delivered", "bounced", "expired", "suppressed"};
}  // namespace

std::string_view RecipientStateName(RecipientState s) { return kStateNames[static_cast<int>(s)]; }
std::optional<RecipientState> RecipientStateFromName(std::string_view name) {
  for (int i = 0; i < 6; ++i)
    if (kStateNames[i] == name) return static_cast<RecipientState>(i);
  return std::nullopt;
}
bool IsFinal(RecipientState s) { return s != RecipientState::kQueued && s != RecipientState::kDeferred; }

std::string AddressDomain(std::string_view address) {
  size_t at = address.rfind('@');
  if (at == std::string_view::npos) return "";
  return text::Lower(address.substr(at + 1));
}

void QuotaPeriods(std::string_view timezone, int64_t now, std::string* day, std::string* month) {
  // glibc has no per-call time zone; switching TZ is serialized here, which
  // is cheap next to the commit that follows.
  static std::mutex tz_mu;
  struct tm tm_local {};
  time_t t = static_cast<time_t>(now);
  if (timezone.empty() || timezone == "UTC" || timezone == "Etc/UTC") {
    gmtime_r(&t, &tm_local);
  } else {
    std::lock_guard<std::mutex> lock(tz_mu);
    const char* old = getenv("TZ");
    std::string saved = old ? old : "";
    setenv("TZ", std::string(timezone).c_str(), 1);
    tzset();
    localtime_r(&t, &tm_local);
    if (old) setenv("TZ", saved.c_str(), 1);
    else unsetenv("TZ");
    tzset();
  }
  char buf[32];
  snprintf(buf, sizeof buf, "d:%04d-%02d-%02d", tm_local.tm_year + 1900, tm_local.tm_mon + 1, tm_local.tm_mday);
  *day = buf;
  snprintf(buf, sizeof buf, "m:%04d-%02d", tm_local.tm_year + 1900, tm_local.tm_mon + 1);
  *month = buf;
}

}  // namespace rebound::relay
