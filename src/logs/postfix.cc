// Postfix: delivery agents (smtp, lmtp, local, virtual, pipe, error) log one
// line per recipient attempt:
//   QID: to=<r>, [orig_to=<o>,] relay=h[ip]:port, delay=d, delays=a/b/c/d,
//        dsn=x.y.z, status=sent|deferred|bounced (diagnostic)
// qmgr and cleanup log the message's sender, size and Message-ID under the
// same queue id; qmgr also logs "from=<s>, status=expired, returned to
// sender" when a message times out. The reader remembers, per queue id, the
// sender data and the recipients still deferred, so each event carries them.
//
// Hot path: one memchr-based split per line, no regex, no allocation except
// when a queue id is first seen.
#include <unordered_map>

#include "logs/internal.h"

namespace rebound::logs {
namespace {

struct Pending {  // a recipient whose last attempt was deferred
  std::string recipient, relay_host, relay_ip, dsn, diagnostic;
};

struct QueueInfo {
  std::string from, message_id;
  int64_t size = -1;
  std::vector<Pending> deferred;
};

using QueueMap = StringMap<QueueInfo>;

bool IsQueueId(std::string_view s) {
  if (s.size() < 5 || s.size() > 24) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
  return true;
}

std::optional<DeliveryStatus> StatusFromWord(std::string_view w) {
  if (w == "sent") return DeliveryStatus::kSent;
  if (w == "deferred" || w == "SOFTBOUNCE") return DeliveryStatus::kDeferred;
  if (w == "bounced") return DeliveryStatus::kBounced;
  if (w == "expired") return DeliveryStatus::kExpired;
  return std::nullopt;
}

class PostfixReader final : public LogReader {
 public:
  explicit PostfixReader(const LogReaderOptions& o)
      : LogReader(LogFormat::kPostfix), years_(o.reference_time), max_ids_(o.max_open_queue_ids ? o.max_open_queue_ids : 1) {}

  void ReadLine(std::string_view line, std::vector<DeliveryEvent>* out) override {
    ++stats_.lines;
    expired_.clear();
    SyslogLine sl;
    if (!ParseSyslogLine(line, years_, &sl)) {
      ++stats_.garbled;
      return;
    }
    std::string_view msg = sl.message;
    const size_t colon = msg.find(": ");
    if (colon == npos || !IsQueueId(msg.substr(0, colon))) {
      ++stats_.ignored;
      return;
    }
    const std::string_view qid = msg.substr(0, colon);
    const std::string_view rest = msg.substr(colon + 2);
    if (rest.starts_with("to=<")) {
      Delivery(sl.time, qid, rest, out);
    } else if (rest.starts_with("from=<")) {
      Sender(sl.time, qid, rest, out);
    } else if (rest.starts_with("message-id=")) {
      std::string_view id = rest.substr(11);
      if (size_t sp = id.find(' '); sp != npos) id = id.substr(0, sp);
      Lookup(qid, true)->message_id.assign(StripAngles(id));
      ++stats_.ignored;
    } else if (rest == "removed") {
      if (auto it = current_.find(qid); it != current_.end()) current_.erase(it);
      else if (auto old = previous_.find(qid); old != previous_.end()) previous_.erase(old);
      ++stats_.ignored;
    } else {
      ++stats_.ignored;
    }
  }

 private:
  QueueInfo* Lookup(std::string_view qid, bool create) {
    if (auto it = current_.find(qid); it != current_.end()) return &it->second;
    if (auto it = previous_.find(qid); it != previous_.end()) {
      // Keep recently used ids in the young generation.
      auto node = previous_.extract(it);
      return &current_.insert(std::move(node)).position->second;
    }
    if (!create) return nullptr;
    if (current_.size() >= (max_ids_ + 1) / 2) {
      // Two generations: forgetting the older one bounds memory for logs
      // whose "removed" lines are missing, and forgets the oldest ids first.
      previous_ = std::move(current_);
      current_ = QueueMap();
    }
    return &current_.emplace(std::string(qid), QueueInfo()).first->second;
  }

  void Delivery(int64_t time, std::string_view qid, std::string_view rest, std::vector<DeliveryEvent>* out) {
    const size_t rcpt_end = rest.find('>', 4);
    const size_t stat = rest.find("status=", rcpt_end == npos ? 4 : rcpt_end);
    if (rcpt_end == npos || stat == npos) {
      ++stats_.garbled;
      return;
    }
    std::string_view after = rest.substr(stat + 7);
    size_t wend = 0;
    while (wend < after.size() && after[wend] != ' ' && after[wend] != ',') ++wend;
    const auto status = StatusFromWord(after.substr(0, wend));
    if (!status) {
      ++stats_.ignored;  // address verification ("deliverable") and the like
      return;
    }
    DeliveryEvent e;
    e.time = time;
    e.status = *status;
    e.queue_id = qid;
    e.recipient = rest.substr(4, rcpt_end - 4);
    const std::string_view fields = rest.substr(rcpt_end, stat - rcpt_end);
    SplitHostIp(FieldValue(fields, "relay="), &e.relay_host, &e.relay_ip);
    ParseDouble(FieldValue(fields, "delay="), &e.delay);
    e.dsn = FieldValue(fields, "dsn=");
    after.remove_prefix(wend);
    if (size_t open = after.find('('); open != npos) {
      std::string_view diag = after.substr(open + 1);
      if (size_t close = diag.rfind(')'); close != npos) diag = diag.substr(0, close);
      e.diagnostic = diag;
    }
    QueueInfo* info = Lookup(qid, e.status == DeliveryStatus::kDeferred);
    if (info) {
      e.from = info->from;
      e.message_id = info->message_id;
      e.size = info->size;
      TrackDeferral(info, e);
    }
    out->push_back(e);
    ++stats_.events;
  }

  static void TrackDeferral(QueueInfo* info, const DeliveryEvent& e) {
    Pending* p = nullptr;
    for (auto& d : info->deferred)
      if (d.recipient == e.recipient) p = &d;
    if (e.status != DeliveryStatus::kDeferred) {
      if (p) {
        *p = std::move(info->deferred.back());
        info->deferred.pop_back();
      }
      return;
    }
    if (!p) p = &info->deferred.emplace_back();
    p->recipient.assign(e.recipient);
    p->relay_host.assign(e.relay_host);
    p->relay_ip.assign(e.relay_ip);
    p->dsn.assign(e.dsn);
    p->diagnostic.assign(e.diagnostic);
  }

  void Sender(int64_t time, std::string_view qid, std::string_view rest, std::vector<DeliveryEvent>* out) {
    const size_t end = rest.find('>', 6);
    if (end == npos) {
      ++stats_.garbled;
      return;
    }
    const std::string_view from = rest.substr(6, end - 6);
    const std::string_view fields = rest.substr(end);
    if (fields.find("status=expired") == npos) {
      QueueInfo* info = Lookup(qid, true);
      info->from.assign(from);
      if (std::string_view size = FieldValue(fields, "size="); !size.empty()) ParseInt(size, &info->size);
      ++stats_.ignored;
      return;
    }
    // The message timed out: every recipient still deferred expires with it.
    QueueInfo* info = Lookup(qid, false);
    if (info) {
      expired_info_.from = info->from;
      expired_info_.message_id = info->message_id;
      expired_info_.size = info->size;
      expired_.swap(info->deferred);
      info->deferred.clear();
    } else {
      expired_info_ = QueueInfo();
      expired_info_.from.assign(from);
    }
    if (expired_.empty()) expired_.emplace_back();  // recipient unknown: the log began later
    for (const Pending& p : expired_) {
      DeliveryEvent e;
      e.time = time;
      e.status = DeliveryStatus::kExpired;
      e.queue_id = qid;
      e.from = expired_info_.from;
      e.message_id = expired_info_.message_id;
      e.size = expired_info_.size;
      e.recipient = p.recipient;
      e.relay_host = p.relay_host;
      e.relay_ip = p.relay_ip;
      e.dsn = p.dsn;
      e.diagnostic = p.diagnostic;
      out->push_back(e);
      ++stats_.events;
    }
  }

  YearResolver years_;
  size_t max_ids_;
  QueueMap current_, previous_;
  std::vector<Pending> expired_;  // what the last "expired" line's events point into
  QueueInfo expired_info_;
};

}  // namespace

std::unique_ptr<LogReader> NewPostfixReader(const LogReaderOptions& o) { return std::make_unique<PostfixReader>(o); }

}  // namespace rebound::logs
