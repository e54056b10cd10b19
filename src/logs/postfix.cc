// Postfix: delivery agents (smtp, lmtp, local, virtual, pipe, error) log one
// line per recipient attempt:
//   QID: to=<r>, [orig_to=<o>,] relay=h[ip]:port, delay=d, delays=a/b/c/d,
//        dsn=x.y.z, status=sent|deferred|bounced (diagnostic)
// qmgr and cleanup log the message's sender, size and Message-ID under the
// same queue id; qmgr also logs "from=<s>, status=expired, returned to
// sender" when a message times out. The reader remembers, per queue id, the
// sender data and the recipients still deferred, so each event carries them.
//
// Hot path: one forward pass over each line, no regex, and no allocation in
// steady state: the per-queue-id records of removed messages are recycled
// with their string capacity, so a busy log allocates only while the number
// of open queue ids grows.
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

// Queue ids are short and well mixed already: a cheap hash of their bytes
// is enough (the map is never iterated, so its order does not matter).
struct QueueIdHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ s.size();
    size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
      uint64_t w;
      memcpy(&w, s.data() + i, 8);
      h = (h ^ w) * 0xFF51AFD7ED558CCDull;
      h ^= h >> 29;
    }
    if (i < s.size()) {
      uint64_t w = 0;
      memcpy(&w, s.data() + i, s.size() - i);
      h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
      h ^= h >> 32;
    }
    return static_cast<size_t>(h);
  }
};
using QueueMap = std::unordered_map<std::string, QueueInfo, QueueIdHash, std::equal_to<>>;

inline bool IsAlnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// The queue id at the start of a Postfix message ("3F1A2B4C5D: ..."): 5 to
// 24 letters and digits followed by ": ". Returns its length, 0 if none.
size_t QueueIdLength(std::string_view msg) {
  size_t k = 0;
  while (k < msg.size() && k <= 24 && IsAlnum(msg[k])) ++k;
  if (k < 5 || k > 24 || k + 1 >= msg.size() || msg[k] != ':' || msg[k + 1] != ' ') return 0;
  return k;
}

// The value of "key" (which ends in '=') in a Postfix field list, up to the
// next ", " or the end: the first occurrence preceded by a space counts.
struct FieldSpan {
  size_t begin = 0, end = 0;
  bool found = false;
};

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
    const size_t colon = QueueIdLength(msg);
    if (colon == 0) {
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
      if (auto it = current_.find(qid); it != current_.end()) Recycle(current_.extract(it));
      else if (auto old = previous_.find(qid); old != previous_.end()) Recycle(previous_.extract(old));
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
    if (spare_.empty()) return &current_.emplace(std::string(qid), QueueInfo()).first->second;
    // A removed message's record, emptied but keeping its capacity.
    QueueMap::node_type node = std::move(spare_.back());
    spare_.pop_back();
    node.key().assign(qid);
    QueueInfo& info = node.mapped();
    info.from.clear();
    info.message_id.clear();
    info.size = -1;
    info.deferred.clear();
    return &current_.insert(std::move(node)).position->second;
  }

  void Recycle(QueueMap::node_type node) {
    if (spare_.size() < kMaxSpare) spare_.push_back(std::move(node));
  }

  void Delivery(int64_t time, std::string_view qid, std::string_view rest, std::vector<DeliveryEvent>* out) {
    const size_t rcpt_end = rest.find('>', 4);
    if (rcpt_end == npos) {
      ++stats_.garbled;
      return;
    }
    // One pass from the recipient's end to "status=": the first "relay=",
    // "delay=" and "dsn=" preceded by a space on the way, then the status.
    // (Keys cannot straddle "status=", none ends in a prefix of it.)
    size_t stat = npos;
    FieldSpan relay, delay, dsn;
    const char* const d = rest.data();
    const size_t n = rest.size();
    for (size_t i = rcpt_end; i < n; ++i) {
      const char c = d[i];
      if (c == 's') {
        if (n - i >= 7 && memcmp(d + i, "status=", 7) == 0) {
          stat = i;
          break;
        }
      } else if (c == ' ' && i + 1 < n) {
        const size_t k = i + 1;
        if (!relay.found && d[k] == 'r' && n - k >= 6 && memcmp(d + k, "relay=", 6) == 0) {
          relay = {k + 6, 0, true};
        } else if (d[k] == 'd') {
          if (!delay.found && n - k >= 6 && memcmp(d + k, "delay=", 6) == 0) delay = {k + 6, 0, true};
          else if (!dsn.found && n - k >= 4 && memcmp(d + k, "dsn=", 4) == 0) dsn = {k + 4, 0, true};
        }
      }
    }
    if (stat == npos) {
      ++stats_.garbled;
      return;
    }
    // Each value ends at the next ", " before the status, else at it.
    auto value = [&](const FieldSpan& f) {
      if (!f.found || f.begin > stat) return std::string_view();
      size_t e = f.begin;
      while (e + 1 < stat && !(d[e] == ',' && d[e + 1] == ' ')) ++e;
      if (e + 1 >= stat) e = stat;
      return std::string_view(d + f.begin, e - f.begin);
    };
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
    SplitHostIp(value(relay), &e.relay_host, &e.relay_ip);
    ParseDouble(value(delay), &e.delay);
    e.dsn = value(dsn);
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

  static constexpr size_t kMaxSpare = 4096;

  YearResolver years_;
  size_t max_ids_;
  QueueMap current_, previous_;
  std::vector<QueueMap::node_type> spare_;  // records of removed messages, for reuse
  std::vector<Pending> expired_;  // what the last "expired" line's events point into
  QueueInfo expired_info_;
};

}  // namespace

std::unique_ptr<LogReader> NewPostfixReader(const LogReaderOptions& o) { return std::make_unique<PostfixReader>(o); }

}  // namespace rebound::logs
