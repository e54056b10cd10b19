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
#include <deque>

#include "logs/internal.h"
#include "logs/verdict_memo.h"  // HashBytes

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

// The records of open queue ids. Records live in a slab and are reused
// (strings keep their capacity); a generation is an open-addressing index
// of slab positions, with power-of-two sizes (no division per lookup) and
// backward-shift deletion (no tombstones).
struct QueueRecord {
  std::string qid;
  uint64_t hash = 0;
  QueueInfo info;
};

class Generation {
 public:
  size_t size() const { return size_; }

  // The slot holding qid, or npos.
  size_t Find(std::string_view qid, uint64_t hash, const std::deque<QueueRecord>& slab) const {
    if (size_ == 0) return npos;
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const uint32_t s = slots_[i];
      if (s == 0) return npos;
      const QueueRecord& r = slab[s - 1];
      if (r.hash == hash && r.qid == qid) return i;
    }
  }
  uint32_t record(size_t slot) const { return slots_[slot] - 1; }

  void Insert(uint32_t record, uint64_t hash, const std::deque<QueueRecord>& slab) {
    if ((size_ + 1) * 2 > slots_.size()) Grow(slab);
    const size_t mask = slots_.size() - 1;
    size_t i = hash & mask;
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = record + 1;
    ++size_;
  }

  // Empties the slot; later entries of the probe run move back into it.
  void EraseAt(size_t slot, const std::deque<QueueRecord>& slab) {
    const size_t mask = slots_.size() - 1;
    size_t hole = slot;
    for (size_t i = (hole + 1) & mask; slots_[i] != 0; i = (i + 1) & mask) {
      const size_t home = slab[slots_[i] - 1].hash & mask;
      // Movable when its home is not inside (hole, i], cyclically.
      if (((i - home) & mask) >= ((i - hole) & mask)) {
        slots_[hole] = slots_[i];
        hole = i;
      }
    }
    slots_[hole] = 0;
    --size_;
  }

  template <typename F>
  void ForEach(F f) const {
    for (uint32_t s : slots_)
      if (s) f(s - 1);
  }

 private:
  void Grow(const std::deque<QueueRecord>& slab) {
    std::vector<uint32_t> old;
    old.swap(slots_);
    slots_.assign(old.empty() ? 64 : old.size() * 2, 0);
    const size_t mask = slots_.size() - 1;
    for (uint32_t s : old) {
      if (!s) continue;
      size_t i = slab[s - 1].hash & mask;
      while (slots_[i] != 0) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }

  std::vector<uint32_t> slots_;  // slab position + 1; 0 empty
  size_t size_ = 0;
};

inline bool IsAlnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// The queue id at the start of a Postfix message ("3F1A2B4C5D: ..."): 5 to
// 24 letters and digits followed by ": ". Returns its length, 0 if none.
size_t QueueIdLength(std::string_view msg) {
  size_t k = 0;
#if defined(__SSE2__)
  if (msg.size() >= 16) {  // the common case: 10 to 15 characters, then ':'
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(msg.data()));
    const __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)), _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
    const __m128i folded = _mm_or_si128(v, _mm_set1_epi8(0x20));  // 'A'..'Z' -> 'a'..'z'
    const __m128i letter =
        _mm_and_si128(_mm_cmpgt_epi8(folded, _mm_set1_epi8('a' - 1)), _mm_cmplt_epi8(folded, _mm_set1_epi8('z' + 1)));
    const uint32_t other = ~static_cast<uint32_t>(_mm_movemask_epi8(_mm_or_si128(digit, letter))) & 0xFFFF;
    k = other ? static_cast<size_t>(__builtin_ctz(other)) : 16;
    if (k == 16)
      while (k < msg.size() && k <= 24 && IsAlnum(msg[k])) ++k;
  } else
#endif
  {
    while (k < msg.size() && k <= 24 && IsAlnum(msg[k])) ++k;
  }
  if (k < 5 || k > 24 || k + 1 >= msg.size() || msg[k] != ':' || msg[k + 1] != ' ') return 0;
  return k;
}

// Where the value of a field ("relay=...") begins, once its key is found.
struct FieldSpan {
  size_t begin = 0;
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
      const uint64_t h = HashBytes(qid);
      for (Generation* g : {&current_, &previous_}) {
        if (size_t slot = g->Find(qid, h, slab_); slot != npos) {
          free_.push_back(g->record(slot));
          g->EraseAt(slot, slab_);
          break;
        }
      }
      ++stats_.ignored;
    } else {
      ++stats_.ignored;
    }
  }

 private:
  QueueInfo* Lookup(std::string_view qid, bool create) {
    const uint64_t h = HashBytes(qid);
    if (size_t slot = current_.Find(qid, h, slab_); slot != npos) return &slab_[current_.record(slot)].info;
    if (size_t slot = previous_.Find(qid, h, slab_); slot != npos) {
      // Keep recently used ids in the young generation.
      const uint32_t r = previous_.record(slot);
      previous_.EraseAt(slot, slab_);
      current_.Insert(r, h, slab_);
      return &slab_[r].info;
    }
    if (!create) return nullptr;
    if (current_.size() >= (max_ids_ + 1) / 2) {
      // Two generations: forgetting the older one bounds memory for logs
      // whose "removed" lines are missing, and forgets the oldest ids first.
      previous_.ForEach([&](uint32_t r) { free_.push_back(r); });
      previous_ = std::move(current_);
      current_ = Generation();
    }
    uint32_t r;
    if (free_.empty()) {
      r = static_cast<uint32_t>(slab_.size());
      slab_.emplace_back();
    } else {
      // A removed message's record: emptied, keeping its capacity.
      r = free_.back();
      free_.pop_back();
    }
    QueueRecord& rec = slab_[r];
    rec.qid.assign(qid);
    rec.hash = h;
    rec.info.from.clear();
    rec.info.message_id.clear();
    rec.info.size = -1;
    rec.info.deferred.clear();
    current_.Insert(r, h, slab_);
    return &rec.info;
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
    // Looks at one 's' or ' ' at i; true at "status=".
    auto at = [&](size_t i) {
      if (d[i] == 's') {
        if (n - i >= 7 && memcmp(d + i, "status=", 7) == 0) {
          stat = i;
          return true;
        }
      } else if (i + 1 < n) {
        const size_t k = i + 1;
        if (!relay.found && d[k] == 'r' && n - k >= 6 && memcmp(d + k, "relay=", 6) == 0) {
          relay = {k + 6, true};
        } else if (d[k] == 'd') {
          if (!delay.found && n - k >= 6 && memcmp(d + k, "delay=", 6) == 0) delay = {k + 6, true};
          else if (!dsn.found && n - k >= 4 && memcmp(d + k, "dsn=", 4) == 0) dsn = {k + 4, true};
        }
      }
      return false;
    };
    size_t i = rcpt_end;
    bool done = false;
    for (; !done && n - i >= 16; i += 16) {  // 16 bytes at a time, then the tail
      for (uint32_t m = Match16(d + i, 's') | Match16(d + i, ' '); m; m &= m - 1)
        if (at(i + __builtin_ctz(m))) {
          done = true;
          break;
        }
    }
    for (; !done && i < n; ++i)
      if ((d[i] == 's' || d[i] == ' ') && at(i)) done = true;
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

  YearResolver years_;
  size_t max_ids_;
  std::deque<QueueRecord> slab_;  // every record; positions never move
  std::vector<uint32_t> free_;    // slab positions not in use
  Generation current_, previous_;
  std::vector<Pending> expired_;  // what the last "expired" line's events point into
  QueueInfo expired_info_;
};

}  // namespace

std::unique_ptr<LogReader> NewPostfixReader(const LogReaderOptions& o) { return std::make_unique<PostfixReader>(o); }

}  // namespace rebound::logs
