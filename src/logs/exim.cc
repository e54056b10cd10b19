// Exim main log. Every line starts with "YYYY-MM-DD HH:MM:SS" (with the
// optional fraction, zone and [pid] that log_selector adds), then the message
// id and a flag:
//   <=  arrival: sender, S=size, id=Message-ID
//   =>  delivered (-> for a further address of the same delivery), C="reply"
//   ==  deferred: "... : SMTP error from remote mail server after ...: 451 ..."
//   **  bounced (retry timeouts are expiries)
// "Completed" ends the message.
//
// Read against logs of a real Exim 4.96 (tests/logs/fixtures/exim.log):
// - "== r routing defer (-52): retry time not reached" (and "defer (-53):
//   retry time not reached for any host") says Exim did NOT try: no event.
// - "** r: retry timeout exceeded" carries no reply; the expiry takes the
//   relay and the last error of the recipient's last deferral, as Postfix's
//   expiries do.
// - Exim logs no delay by default: it is the time since the "<=" line.
#include <algorithm>
#include <unordered_map>

#include "logs/internal.h"

namespace rebound::logs {
namespace {

bool IsEximId(std::string_view s) {
  if (s.size() < 16 || s.size() > 23) return false;
  int dashes = 0;
  for (char c : s) {
    if (c == '-') ++dashes;
    else if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
  }
  return dashes == 2;
}

// The value of " K=" up to the next space; quoted values ("C=\"...\"") up to
// the closing quote.
std::string_view EximField(std::string_view s, std::string_view key) {
  size_t pos = s.find(key);
  while (pos != npos && pos > 0 && s[pos - 1] != ' ') pos = s.find(key, pos + 1);
  if (pos == npos) return {};
  std::string_view v = s.substr(pos + key.size());
  if (!v.empty() && v[0] == '"') {
    v.remove_prefix(1);
    size_t q = 0;
    while (q < v.size() && v[q] != '"') q += v[q] == '\\' ? 2 : 1;
    return v.substr(0, std::min(q, v.size()));
  }
  return v.substr(0, v.find(' '));
}

// "defer (-52): retry time not reached": a skipped attempt, not an attempt.
bool IsRetryWait(std::string_view after) {
  const size_t d = after.find("defer (-");
  if (d == npos) return false;
  const size_t close = after.find(')', d);
  return close != npos && after.substr(close + 1).starts_with(": retry time not reached");
}

struct PendingRecipient {  // the last deferral of a recipient still queued
  std::string recipient, relay_host, relay_ip, diagnostic;
};

struct EximMessage {
  MessageInfo info;
  int64_t arrival = 0;  // time of the "<=" line
  std::vector<PendingRecipient> deferred;
};

class EximReader final : public LogReader {
 public:
  explicit EximReader(const LogReaderOptions& o) : LogReader(LogFormat::kExim), max_ids_(o.max_open_queue_ids) {}

  void ReadLine(std::string_view line, std::vector<DeliveryEvent>* out) override {
    ++stats_.lines;
    int64_t time = 0;
    size_t i = ParseIsoTime(line, true, &time);
    if (i == 0 || i >= line.size() || line[i] != ' ') {
      ++stats_.garbled;
      return;
    }
    std::string_view rest = line.substr(i + 1);
    if (!rest.empty() && rest[0] == '[') {  // [pid]
      const size_t e = rest.find("] ");
      if (e == npos) {
        ++stats_.garbled;
        return;
      }
      rest.remove_prefix(e + 2);
    }
    const size_t sp = rest.find(' ');
    if (sp == npos || !IsEximId(rest.substr(0, sp))) {
      ++stats_.ignored;  // connections, queue runs, rejections: not deliveries
      return;
    }
    const std::string_view id = rest.substr(0, sp);
    rest.remove_prefix(sp + 1);
    const std::string_view flag = rest.substr(0, rest.find(' '));
    std::string_view body = rest.size() > 3 ? rest.substr(3) : std::string_view();
    if (flag == "<=") {
      Arrival(time, id, body);
    } else if (flag == "=>" || flag == "->") {
      Delivery(time, id, DeliveryStatus::kSent, body, out);
    } else if (flag == "==") {
      if (IsRetryWait(body)) {
        ++stats_.ignored;
        return;
      }
      Delivery(time, id, DeliveryStatus::kDeferred, body, out);
    } else if (flag == "**") {
      const bool expired = body.find("retry timeout exceeded") != npos || body.find("after a long failure period") != npos;
      Delivery(time, id, expired ? DeliveryStatus::kExpired : DeliveryStatus::kBounced, body, out);
    } else if (flag == "Completed") {
      if (auto it = messages_.find(id); it != messages_.end()) messages_.erase(it);
      ++stats_.ignored;
    } else {
      ++stats_.ignored;
    }
  }

 private:
  void Arrival(int64_t time, std::string_view id, std::string_view body) {
    if (messages_.size() >= max_ids_) messages_.clear();  // missing "Completed" lines: bound memory
    EximMessage& em = messages_[std::string(id)];
    em.arrival = time;
    MessageInfo& m = em.info;
    std::string_view from = body.substr(0, body.find(' '));
    m.from.assign(from == "<>" ? std::string_view() : from);
    ParseInt(EximField(body, "S="), &m.size);
    m.message_id.assign(EximField(body, "id="));
    ++stats_.ignored;
  }

  void Delivery(int64_t time, std::string_view id, DeliveryStatus status, std::string_view body,
                std::vector<DeliveryEvent>* out) {
    const size_t sp = body.find(' ');
    std::string_view addr = body.substr(0, sp);
    if (addr.empty()) {
      ++stats_.garbled;
      return;
    }
    std::string_view after = sp == npos ? std::string_view() : body.substr(sp + 1);
    if (addr.back() == ':') addr.remove_suffix(1);  // "** x@y: Unrouteable address"
    // "=> bob <bob@example.com>": a local part, then the full address.
    if (after.starts_with("<")) {
      const size_t gt = after.find('>');
      if (gt != npos) {
        if (addr.find('@') == npos) addr = after.substr(1, gt - 1);
        after.remove_prefix(gt + 1);
      }
    }
    DeliveryEvent e;
    e.time = time;
    e.status = status;
    e.queue_id = id;
    e.recipient = addr;
    std::string_view h = EximField(after, "H=");
    if (!h.empty()) {
      e.relay_host = h;
      const size_t hpos = after.find(h);
      std::string_view tail = after.substr(hpos + h.size());
      if (tail.starts_with(" [")) {
        const size_t close = tail.find(']');
        if (close != npos) e.relay_ip = tail.substr(2, close - 2);
      }
    } else if (std::string_view t = EximField(after, "T="); !t.empty()) {
      if (t.back() == ':') t.remove_suffix(1);  // "T=remote_smtp: retry time not reached ..."
      e.relay_host = t;  // local transports: appendfile, pipe
    }
    if (status == DeliveryStatus::kSent) {
      e.diagnostic = EximField(after, "C=");
    } else if (size_t smtp = after.find("SMTP error from remote mail server"); smtp != npos) {
      e.diagnostic = after.substr(smtp);
    } else if (size_t colon = body.find(": "); colon != npos) {
      e.diagnostic = body.substr(colon + 2);
    } else {
      e.diagnostic = after;
    }
    if (auto it = messages_.find(id); it != messages_.end()) {
      EximMessage& m = it->second;
      e.from = m.info.from;
      e.message_id = m.info.message_id;
      e.size = m.info.size;
      if (m.arrival > 0 && time >= m.arrival) e.delay = double(time - m.arrival);
      auto pending = std::find_if(m.deferred.begin(), m.deferred.end(),
                                  [&](const PendingRecipient& p) { return p.recipient == e.recipient; });
      if (status == DeliveryStatus::kDeferred) {
        if (pending == m.deferred.end()) pending = m.deferred.insert(m.deferred.end(), {std::string(e.recipient), {}, {}, {}});
        pending->relay_host.assign(e.relay_host);
        pending->relay_ip.assign(e.relay_ip);
        pending->diagnostic.assign(e.diagnostic);
      } else if (pending != m.deferred.end()) {
        // Kept until the next line: the event may point into it.
        last_pending_ = std::move(*pending);
        m.deferred.erase(pending);
        if (status == DeliveryStatus::kExpired && !last_pending_.diagnostic.empty()) {
          e.relay_host = last_pending_.relay_host;
          e.relay_ip = last_pending_.relay_ip;
          e.diagnostic = last_pending_.diagnostic;
        }
      }
    }
    out->push_back(e);
    ++stats_.events;
  }

  size_t max_ids_;
  StringMap<EximMessage> messages_;
  PendingRecipient last_pending_;
};

}  // namespace

std::unique_ptr<LogReader> NewEximReader(const LogReaderOptions& o) { return std::make_unique<EximReader>(o); }

}  // namespace rebound::logs
