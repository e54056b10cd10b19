// Sendmail (sm-mta) through syslog:
//   QID: from=<s>, size=N, class=0, nrcpts=1, msgid=<id>, proto=ESMTP, ...
//   QID: to=<a>,<b>, delay=00:00:01, xdelay=..., mailer=esmtp, pri=...,
//        relay=mx.example.com. [192.0.2.1], dsn=5.1.1, stat=User unknown
// One line may name several recipients; each gets an event. "stat=" runs to
// the end of the line. Sendmail never says when a queue id is done, so the
// sender table is bounded by clearing it when full.
#include <unordered_map>

#include "logs/internal.h"

namespace rebound::logs {
namespace {

bool IsQueueId(std::string_view s) {
  if (s.size() < 5 || s.size() > 24) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
  return true;
}

// "00:00:01" or "1+02:03:04" -> seconds; -1 when malformed.
double SendmailDelay(std::string_view s) {
  int64_t days = 0;
  if (size_t plus = s.find('+'); plus != npos) {
    if (!ParseInt(s.substr(0, plus), &days)) return -1;
    s.remove_prefix(plus + 1);
  }
  if (s.size() != 8 || s[2] != ':' || s[5] != ':') return -1;
  const int h = Digits(s, 0, 2), m = Digits(s, 3, 2), sec = Digits(s, 6, 2);
  if (h < 0 || m < 0 || sec < 0) return -1;
  return double(days * 86400 + h * 3600 + m * 60 + sec);
}

class SendmailReader final : public LogReader {
 public:
  explicit SendmailReader(const LogReaderOptions& o)
      : LogReader(LogFormat::kSendmail), years_(o.reference_time), max_ids_(o.max_open_queue_ids) {}

  void ReadLine(std::string_view line, std::vector<DeliveryEvent>* out) override {
    ++stats_.lines;
    SyslogLine sl;
    if (!ParseSyslogLine(line, years_, &sl)) {
      ++stats_.garbled;
      return;
    }
    const size_t colon = sl.message.find(": ");
    if (colon == npos || !IsQueueId(sl.message.substr(0, colon))) {
      ++stats_.ignored;
      return;
    }
    const std::string_view qid = sl.message.substr(0, colon);
    const std::string_view rest = sl.message.substr(colon + 2);
    if (rest.starts_with("from=")) {
      if (messages_.size() >= max_ids_) messages_.clear();
      MessageInfo& m = messages_[std::string(qid)];
      m.from.assign(StripAngles(FieldValue(rest, "from=")));
      ParseInt(FieldValue(rest, "size="), &m.size);
      m.message_id.assign(StripAngles(FieldValue(rest, "msgid=")));
      ++stats_.ignored;
      return;
    }
    if (!rest.starts_with("to=")) {
      ++stats_.ignored;
      return;
    }
    const size_t stat = rest.find(" stat=");
    if (stat == npos) {
      ++stats_.garbled;
      return;
    }
    std::string_view fields = rest.substr(0, stat);
    if (!fields.empty() && fields.back() == ',') fields.remove_suffix(1);
    std::string_view stat_text = rest.substr(stat + 6);
    DeliveryEvent e;
    e.time = sl.time;
    e.queue_id = qid;
    e.dsn = FieldValue(fields, "dsn=");
    e.delay = SendmailDelay(FieldValue(fields, "delay="));
    std::string_view relay = FieldValue(fields, "relay=");
    if (size_t b = relay.find(" ["); b != npos) {
      e.relay_ip = relay.substr(b + 2, relay.find(']', b) == npos ? npos : relay.find(']', b) - b - 2);
      relay = relay.substr(0, b);
    }
    if (!relay.empty() && relay.back() == '.') relay.remove_suffix(1);
    e.relay_host = relay;
    if (stat_text.starts_with("Sent")) {
      e.status = DeliveryStatus::kSent;
      if (size_t p = stat_text.find('('); p != npos) {
        e.diagnostic = stat_text.substr(p + 1);
        if (!e.diagnostic.empty() && e.diagnostic.back() == ')') e.diagnostic.remove_suffix(1);
      }
    } else {
      if (stat_text.starts_with("Deferred")) {
        e.status = DeliveryStatus::kDeferred;
        stat_text.remove_prefix(8);
        if (stat_text.starts_with(": ")) stat_text.remove_prefix(2);
      } else {
        e.status = e.dsn.starts_with("4") ? DeliveryStatus::kDeferred : DeliveryStatus::kBounced;
      }
      if (e.dsn.size() == 5 && e.dsn.substr(1) == ".4.7") e.status = DeliveryStatus::kExpired;
      e.diagnostic = stat_text;
    }
    if (auto it = messages_.find(qid); it != messages_.end()) {
      e.from = it->second.from;
      e.message_id = it->second.message_id;
      e.size = it->second.size;
    }
    std::string_view to = FieldValue(fields, "to=");
    while (!to.empty()) {
      const size_t comma = to.find(',');
      e.recipient = StripAngles(to.substr(0, comma));
      if (!e.recipient.empty()) {
        out->push_back(e);
        ++stats_.events;
      }
      if (comma == npos) break;
      to.remove_prefix(comma + 1);
    }
  }

 private:
  YearResolver years_;
  size_t max_ids_;
  StringMap<MessageInfo> messages_;
};

}  // namespace

std::unique_ptr<LogReader> NewSendmailReader(const LogReaderOptions& o) { return std::make_unique<SendmailReader>(o); }

}  // namespace rebound::logs
