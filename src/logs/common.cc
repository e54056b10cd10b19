// What the log readers share: names, timestamps, line splitting, format
// detection and the reader factory. See rebound/log.h.
#include <charconv>
#include <cstring>

#include "logs/internal.h"

namespace rebound {

using namespace logs;

std::string_view LogFormatName(LogFormat f) {
  switch (f) {
    case LogFormat::kPostfix: return "postfix";
    case LogFormat::kExim: return "exim";
    case LogFormat::kSendmail: return "sendmail";
    case LogFormat::kKumo: return "kumomta";
    case LogFormat::kPowerMta: return "pmta";
    case LogFormat::kUnknown: break;
  }
  return "unknown";
}

std::optional<LogFormat> LogFormatFromName(std::string_view name) {
  for (LogFormat f : {LogFormat::kPostfix, LogFormat::kExim, LogFormat::kSendmail, LogFormat::kKumo, LogFormat::kPowerMta})
    if (name == LogFormatName(f)) return f;
  if (name == "kumo") return LogFormat::kKumo;
  if (name == "powermta") return LogFormat::kPowerMta;
  return std::nullopt;
}

std::string_view DeliveryStatusName(DeliveryStatus s) {
  switch (s) {
    case DeliveryStatus::kSent: return "sent";
    case DeliveryStatus::kDeferred: return "deferred";
    case DeliveryStatus::kBounced: return "bounced";
    case DeliveryStatus::kExpired: return "expired";
  }
  return "sent";
}

std::string_view DeliveryEvent::RecipientDomain() const {
  const size_t at = recipient.rfind('@');
  return at == npos ? std::string_view() : recipient.substr(at + 1);
}

namespace logs {

YearResolver::YearResolver(int64_t reference_time)
    : reference_(reference_time), year_(reference_time > 0 ? UtcYear(reference_time) : 1970) {}

int64_t YearResolver::Resolve(int month, int day, int hour, int minute, int second) const {
  if (month != last_month_ || day != last_day_) {
    int64_t start = CivilToEpoch(year_, month, day, 0, 0, 0);
    // A log is written before its reference time: a date later than that (by
    // more than a day, for clock and zone slack) is from the year before.
    if (reference_ > 0 && start > reference_ + 86400) start = CivilToEpoch(year_ - 1, month, day, 0, 0, 0);
    last_month_ = month;
    last_day_ = day;
    last_day_start_ = start;
  }
  return last_day_start_ + hour * 3600 + minute * 60 + second;
}

static bool ValidDate(int mo, int d, int h, int mi, int s) {
  return mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && s >= 0 && s <= 60;
}

size_t ParseIsoTime(std::string_view s, bool allow_space_zone, int64_t* out) {
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
    return 0;
  const int y = Digits(s, 0, 4), mo = Digits(s, 5, 2), d = Digits(s, 8, 2);
  const int h = Digits(s, 11, 2), mi = Digits(s, 14, 2), sec = Digits(s, 17, 2);
  if (y < 0 || !ValidDate(mo, d, h, mi, sec)) return 0;
  size_t i = 19;
  if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
    ++i;
    while (i < s.size() && IsDigit(s[i])) ++i;
  }
  int64_t t = CivilToEpoch(y, mo, d, h, mi, sec);
  size_t zone = i;
  if (allow_space_zone && zone + 1 < s.size() && s[zone] == ' ' && (s[zone + 1] == '+' || s[zone + 1] == '-')) ++zone;
  if (zone < s.size() && s[zone] == 'Z') {
    i = zone + 1;
  } else if (zone < s.size() && (s[zone] == '+' || s[zone] == '-')) {
    const int zh = Digits(s, zone + 1, 2);
    size_t k = zone + 3;
    if (k < s.size() && s[k] == ':') ++k;
    const int zm = Digits(s, k, 2);
    if (zh >= 0 && zm >= 0) {
      const int64_t offset = zh * 3600 + zm * 60;
      t += s[zone] == '+' ? -offset : offset;
      i = k + 2;
    }
  }
  *out = t;
  return i;
}

size_t ParseSyslogTime(std::string_view s, const YearResolver& years, int64_t* out) {
  if (!s.empty() && IsDigit(s[0])) return ParseIsoTime(s, false, out);
  // "Nov 27 22:45:35" or "Nov  7 22:45:35"
  if (s.size() < 15 || s[3] != ' ') return 0;
  const int mo = MonthFromAbbrev(s);
  if (mo == 0) return 0;
  const int d = s[4] == ' ' ? Digits(s, 5, 1) : Digits(s, 4, 2);
  if (s[6] != ' ' || s[9] != ':' || s[12] != ':') return 0;
  const int h = Digits(s, 7, 2), mi = Digits(s, 10, 2), sec = Digits(s, 13, 2);
  if (!ValidDate(mo, d, h, mi, sec)) return 0;
  size_t i = 15;
  if (i < s.size() && s[i] == '.') {  // high-precision syslog without year
    ++i;
    while (i < s.size() && IsDigit(s[i])) ++i;
  }
  *out = years.Resolve(mo, d, h, mi, sec);
  return i;
}

bool ParseSyslogLine(std::string_view line, const YearResolver& years, SyslogLine* out) {
  size_t i = ParseSyslogTime(line, years, &out->time);
  if (i == 0 || i >= line.size() || line[i] != ' ') return false;
  // Host and program are short: plain loops beat library searches here
  // (this runs for every line of a log).
  const char* const end = line.data() + line.size();
  const char* const host = line.data() + i + 1;
  const char* p = FindByte(host, end, ' ');
  if (p == end || p == host) return false;
  out->host = std::string_view(host, static_cast<size_t>(p - host));
  const char* const prog = p + 1;
  // The tag ends at the first ": ", within 128 bytes; its "[pid]" is cut.
  const char* const limit = end - prog > 130 ? prog + 130 : end;
  p = prog;
  for (;;) {
    p = FindByte(p, limit, ':');
    if (p + 1 >= limit || p[1] == ' ') break;
    ++p;
  }
  if (p + 1 >= limit || p == prog) return false;
  const char* bracket = FindByte(prog, p, '[');
  if (bracket == p) bracket = nullptr;
  out->program = std::string_view(prog, static_cast<size_t>((bracket ? bracket : p) - prog));
  out->message = std::string_view(p + 2, static_cast<size_t>(end - p - 2));
  return true;
}

void SplitHostIp(std::string_view relay, std::string_view* host, std::string_view* ip) {
  const size_t b = relay.find('[');
  if (b == npos) {
    *host = relay;
    *ip = {};
    return;
  }
  *host = relay.substr(0, b);
  const size_t e = relay.find(']', b);
  *ip = e == npos ? relay.substr(b + 1) : relay.substr(b + 1, e - b - 1);
}

std::string_view FieldValue(std::string_view fields, std::string_view key) {
  size_t pos = 0;
  while (true) {
    pos = fields.find(key, pos);
    if (pos == npos) return {};
    if (pos == 0 || fields[pos - 1] == ' ') break;
    pos += key.size();
  }
  std::string_view v = fields.substr(pos + key.size());
  const size_t end = v.find(", ");
  return end == npos ? v : v.substr(0, end);
}

bool ParseDouble(std::string_view s, double* out) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc();
}

bool ParseInt(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc();
}

}  // namespace logs

void LineSplitter::Feed(std::string_view block, const Sink& sink) {
  while (!block.empty()) {
    const void* nl = memchr(block.data(), '\n', block.size());
    const size_t len = nl ? static_cast<size_t>(static_cast<const char*>(nl) - block.data()) : block.size();
    std::string_view piece = block.substr(0, len);
    if (dropping_) {
      if (nl) dropping_ = false;
    } else if (partial_.empty() && nl && len <= max_line_) {
      if (!piece.empty() && piece.back() == '\r') piece.remove_suffix(1);
      sink(piece, false);  // the common case: no copy
    } else if (partial_.size() + len > max_line_) {
      const size_t room = max_line_ - partial_.size();
      partial_.append(piece.data(), room);
      sink(partial_, true);
      partial_.clear();
      dropping_ = nl == nullptr;
    } else {
      partial_.append(piece);
      if (nl) {
        std::string_view line = partial_;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        sink(line, false);
        partial_.clear();
      }
    }
    block.remove_prefix(nl ? len + 1 : len);
  }
}

void LineSplitter::Finish(const Sink& sink) {
  if (!partial_.empty() && !dropping_) sink(partial_, false);
  partial_.clear();
  dropping_ = false;
}

std::string_view ClassifierInput(const DeliveryEvent& e, std::string* buf) {
  if (e.status == DeliveryStatus::kExpired) {
    // The outcome is the expiry; the last error stays in the diagnostic.
    return "5.4.7 delivery time expired";
  }
  if (e.dsn.empty() || e.diagnostic.find(e.dsn) != npos) return e.diagnostic;
  buf->assign(e.dsn).push_back(' ');
  buf->append(e.diagnostic);
  return *buf;
}

namespace {

bool LooksLikeEximLine(std::string_view line) {
  int64_t t;
  return line.size() > 20 && line[10] == ' ' && ParseIsoTime(line, true, &t) > 0;
}

bool LooksLikePowerMtaRecord(std::string_view line) {
  if (line.starts_with("type,timeLogged") || line.starts_with("\"type\",")) return true;
  const size_t comma = line.find(',');
  if (comma == 0 || comma > 3) return false;
  int64_t t;
  if (ParseIsoTime(line.substr(comma + 1), true, &t) == 0) return false;
  size_t commas = 0;
  for (char c : line) commas += c == ',';
  return commas >= 8;
}

}  // namespace

LogFormat DetectLogFormat(std::string_view sample) {
  int votes[6] = {};
  int recognised = 0;
  const YearResolver years(0);
  size_t lines = 0;
  while (!sample.empty() && lines < 400) {
    const size_t nl = sample.find('\n');
    std::string_view line = sample.substr(0, nl);
    sample.remove_prefix(nl == npos ? sample.size() : nl + 1);
    if (nl == npos && !sample.empty()) break;
    ++lines;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    LogFormat f = LogFormat::kUnknown;
    SyslogLine sl;
    if (line.front() == '{') {
      if (line.find("\"type\"") != npos && (line.find("\"recipient\"") != npos || line.find("\"response\"") != npos))
        f = LogFormat::kKumo;
    } else if (LooksLikePowerMtaRecord(line)) {
      f = LogFormat::kPowerMta;
    } else if (ParseSyslogLine(line, years, &sl)) {
      if (sl.program.starts_with("postfix")) f = LogFormat::kPostfix;
      else if (sl.program == "sm-mta" || sl.program == "sendmail" || sl.program == "sm-msp-queue")
        f = LogFormat::kSendmail;
      else continue;  // another daemon in a shared mail log: no vote
    } else if (LooksLikeEximLine(line)) {
      f = LogFormat::kExim;
    }
    ++recognised;
    votes[static_cast<int>(f)]++;
  }
  int best = 1;
  for (int f = 2; f < 6; ++f)
    if (votes[f] > votes[best]) best = f;
  if (votes[best] == 0 || votes[best] * 3 < recognised * 2) return LogFormat::kUnknown;
  return static_cast<LogFormat>(best);
}

std::unique_ptr<LogReader> NewLogReader(LogFormat format, const LogReaderOptions& options) {
  switch (format) {
    case LogFormat::kPostfix: return NewPostfixReader(options);
    case LogFormat::kExim: return NewEximReader(options);
    case LogFormat::kSendmail: return NewSendmailReader(options);
    case LogFormat::kKumo: return NewKumoReader(options);
    case LogFormat::kPowerMta: return NewPowerMtaReader(options);
    case LogFormat::kUnknown: break;
  }
  return nullptr;
}

}  // namespace rebound
