#include "inbound/disposer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/text.h"

namespace rebound::inbound {

namespace {

using relay::RecipientState;

// The record of the bounce that speaks of `address`; a bounce for one
// recipient often names it differently (a forward, an alias), so without a
// match the first failed record, else the first, stands for it.
const BounceRecord* RecordFor(const BounceResult& r, const std::string& address) {
  for (const auto& rec : r.records)
    if (text::IEquals(rec.recipient, address)) return &rec;
  for (const auto& rec : r.records)
    if (rec.action == "failed") return &rec;
  return r.records.empty() ? nullptr : &r.records.front();
}

}  // namespace

bool DeliveryInFlight(const relay::RecipientRow& row, int64_t now) {
  return row.state == RecipientState::kQueued || row.lease_until > now;
}

namespace {

bool IsFinalNotDelivered(RecipientState s) {
  return s == RecipientState::kBounced || s == RecipientState::kExpired || s == RecipientState::kSuppressed;
}

Status MakeDirs(const std::string& path) {
  std::string sofar;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    sofar = path.substr(0, pos);
    if (sofar.empty()) continue;
    if (mkdir(sofar.c_str(), 0700) != 0 && errno != EEXIST)
      return Status::IoError(sofar + ": cannot create: " + strerror(errno));
  }
  return Status::Ok();
}

}  // namespace

BounceDisposer::BounceDisposer(relay::Store* store, std::shared_ptr<const Classifier> classifier,
                               DisposerOptions options)
    : store_(store), classifier_(std::move(classifier)), options_(std::move(options)), parser_(classifier_.get()) {
  if (!options_.clock) options_.clock = relay::SystemNow;
}

BounceDisposer::~BounceDisposer() = default;

Status BounceDisposer::Keep(const InboundMail& mail, std::string* path) {
  const std::string dir = options_.data_dir + "/inbound/unreadable";
  Status s = MakeDirs(dir);
  if (!s.ok()) return s;
  // Unique within this process by the counter, across restarts by the pid.
  const std::string name = std::to_string(options_.clock()) + "-" + std::to_string(getpid()) + "-" +
                           std::to_string(++kept_) + ".eml";
  const std::string tmp = dir + "/." + name, final_path = dir + "/" + name;
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError(tmp + ": " + strerror(errno));
  // Who sent it and to whom, as trace headers ahead of the bytes received.
  std::string head = "X-Rebound-Inbound-From: <" + mail.mail_from + "> [" + mail.client_ip + "] helo=" + mail.helo + "\r\n";
  for (const auto& t : mail.targets)
    head += "X-Rebound-Inbound-For: message " + std::to_string(t.message_id) + " recipient " +
            std::to_string(t.recipient_id) + "\r\n";
  bool ok = true;
  for (const std::string* part : {static_cast<const std::string*>(&head), &mail.body}) {
    size_t done = 0;
    while (ok && done < part->size()) {
      ssize_t n = write(fd, part->data() + done, part->size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) ok = false;
      else done += static_cast<size_t>(n);
    }
  }
  ok = ok && fsync(fd) == 0;
  close(fd);
  if (!ok || rename(tmp.c_str(), final_path.c_str()) != 0) {
    unlink(tmp.c_str());
    return Status::IoError(final_path + ": cannot keep the unreadable message");
  }
  *path = final_path;
  return Status::Ok();
}

Status BounceDisposer::Dispose(const InboundMail& mail, std::vector<Disposal>* out) {
  out->clear();
  Status parsed = parser_.Parse(mail.body, &result_);
  if (!parsed.ok() || !result_.is_bounce || result_.records.empty()) {
    std::string path;
    Status s = Keep(mail, &path);
    if (!s.ok()) return s;
    Disposal d;
    d.decision = "unreadable";
    d.reply = path;
    if (!mail.targets.empty()) {
      d.message_id = mail.targets.front().message_id;
      d.recipient_id = mail.targets.front().recipient_id;
    }
    out->push_back(std::move(d));
    return Status::Ok();
  }

  const int64_t now = options_.clock();
  std::vector<relay::AttemptRecord> records;
  std::vector<relay::Suppression> suppressions;
  for (const ReturnPathIds& target : mail.targets) {
    relay::MessageInfo info;
    Status s = store_->GetMessageInfo(target.message_id, &info);
    if (!s.ok()) return s;  // checked at RCPT; deleted since: the sender retries, RCPT then refuses
    const relay::RecipientRow* row = nullptr;
    for (const auto& r : info.recipients)
      if (r.id == target.recipient_id) row = &r;
    if (!row) return Status::NotFound("recipient " + std::to_string(target.recipient_id) + " not in message " +
                                      std::to_string(target.message_id));
    // The receiver bounced before delivery recorded its 250: recording now
    // would be overwritten by that record. Unavailable: the sender retries.
    if (DeliveryInFlight(*row, now))
      return Status::Unavailable("recipient " + std::to_string(row->id) + " of message " + std::to_string(info.id) +
                                 " is still being delivered");
    const BounceRecord* rec = RecordFor(result_, row->address);
    const Verdict& v = rec->verdict;

    Disposal d;
    d.message_id = info.id;
    d.recipient_id = row->id;
    d.recipient = row->address;
    d.category = std::string(CategoryName(v.category));
    relay::AttemptRecord a;
    a.recipient_id = row->id;
    a.new_state = row->state;  // event-only decisions leave the state as it is
    a.next_attempt_at = row->next_attempt_at;
    a.time = now;
    a.mx = rec->remote_mta;
    a.ip = mail.client_ip;
    a.reply = rec->diagnostic;
    a.category = d.category;
    a.reason = std::string(ReasonName(v.reason));
    a.rule = std::string(v.rule);
    a.permanent = v.permanent;
    a.hard_bounce = v.hard_bounce;

    relay::Suppression sup;
    sup.account = info.account;
    sup.address = row->address;
    sup.rule = a.rule;
    sup.time = now;
    if (v.category == Category::complaint || rec->reporting_mta_kind == "arf") {
      d.decision = "complaint";
      if (a.reply.empty()) a.reply = "complaint (feedback-type " + (rec->feedback_type.empty() ? "abuse" : rec->feedback_type) + ")";
      sup.source = "complaint";
    } else if (v.category == Category::auto_reply) {
      d.decision = "auto_reply";
      if (a.reply.empty()) a.reply = "auto-reply: " + result_.original.subject;
    } else if (rec->action == "delayed") {
      d.decision = "delayed";
    } else if (rec->action == "failed" || (rec->action.empty() && v.permanent)) {
      if (IsFinalNotDelivered(row->state)) {
        d.decision = "bounce_noted";
      } else {
        d.decision = "bounced";
        a.new_state = RecipientState::kBounced;
        a.next_attempt_at = 0;
      }
      if (options_.suppress_hard_bounces && IsHardBounce(v.category, v.reason, v.permanent, v.hard_bounce_facts))
        sup.source = "bounce";
    } else {
      d.decision = "dsn_notice";
    }
    if (a.reply.empty()) a.reply = d.decision;
    a.decision = d.decision;
    d.reply = a.reply;
    if (!sup.source.empty()) {
      sup.reply = a.reply;
      d.suppression = sup.source;
      suppressions.push_back(std::move(sup));
    }
    records.push_back(std::move(a));
    out->push_back(std::move(d));
  }
  // The events first: if the suppression then fails, the sender retries and
  // the repeat is a bounce_noted that adds it.
  Status s = store_->RecordAttempts(records);
  if (s.ok() && !suppressions.empty()) s = store_->AddSuppressions(suppressions);
  return s;
}

}  // namespace rebound::inbound
