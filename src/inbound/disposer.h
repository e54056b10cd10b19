// inbound/disposer.h: what a message received on the return path does to the
// queue: the bounce reader (rebound/bounce.h) reads it, and each recipient
// the return path names gets one decision, committed to the Store and shown
// by `rebound events`.
//
// Decisions (the `decision` of the events row; docs/inbound.md):
//   bounced      a failed DSN: the recipient becomes bounced (also when it
//                was delivered: the later bounce is the truth) and is
//                suppressed when the verdict is a hard bounce;
//   bounce_noted a failed DSN for a recipient already bounced, expired or
//                suppressed (a second report, a replay): an event, the
//                suppression as above, the state unchanged;
//   delayed      a delay notice: an event only;
//   complaint    an ARF report: a `complaint` suppression and an event;
//   auto_reply   an event only;
//   dsn_notice   a DSN that says delivered/relayed/expanded: an event only.
// Every event row carries the original message id and recipient address,
// the bounce's diagnostic as its reply, the reporting MTA as its mx and the
// address that sent us the bounce as its ip. The row is written with
// Store::RecordAttempts, which counts it in the recipient's attempts.
//
// Mail that is not a bounce at all (or not an email) changes nothing in the
// queue; it is kept as a file under <data_dir>/inbound/unreadable/ so that
// nothing is lost.
//
// Thread-compatible: one BounceDisposer per thread (it owns a BounceParser).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "inbound/return_path.h"
#include "rebound/bounce.h"
#include "rebound/classifier.h"
#include "rebound/status.h"
#include "store/store.h"

namespace rebound::inbound {

// One message as the inbound listener received it.
struct InboundMail {
  std::string body;  // CRLF line ends, dot-unstuffed
  std::string client_ip, helo, mail_from;
  std::vector<ReturnPathIds> targets;  // the return paths it was sent to, checked at RCPT
};

struct Disposal {
  int64_t message_id = 0, recipient_id = 0;
  std::string recipient;  // the original recipient, from the queue
  std::string decision;   // see above; "unreadable" when the mail was kept
  std::string category, reply;
  std::string suppression;  // "bounce", "complaint" or "" (none added)
};

// True while delivery holds the recipient (leased, or not yet tried): a
// bounce for it came faster than the delivery's own record, and is answered
// 451 so that its sender brings it again once that record is in.
bool DeliveryInFlight(const relay::RecipientRow& row, int64_t now);

struct DisposerOptions {
  std::string data_dir;
  bool suppress_hard_bounces = true;  // delivery.suppress_hard_bounces
  relay::Clock clock;                 // default: system clock
};

class BounceDisposer {
 public:
  // store is borrowed and outlives the disposer; the classifier is shared
  // (the listener's sessions may outlive the part that made it).
  BounceDisposer(relay::Store* store, std::shared_ptr<const Classifier> classifier, DisposerOptions options);
  ~BounceDisposer();

  // Reads `mail` and commits its decisions (one per target). Unreadable mail
  // is kept and yields one Disposal with decision "unreadable" and the
  // file's path as its reply. An error (store, disk) commits nothing that
  // cannot be repeated: the caller answers 451 and the sender retries.
  // Unavailable: a target's delivery is still in flight (nothing written).
  Status Dispose(const InboundMail& mail, std::vector<Disposal>* out);

 private:
  Status Keep(const InboundMail& mail, std::string* path);
  relay::Store* store_;
  std::shared_ptr<const Classifier> classifier_;
  DisposerOptions options_;
  BounceParser parser_;
  BounceResult result_;
  uint64_t kept_ = 0;
};

}  // namespace rebound::inbound
