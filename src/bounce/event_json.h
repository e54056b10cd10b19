// Delivery events that a sending service mails as a JSON document instead
// of a bounce: Amazon SES through SNS ({"notificationType":"Bounce", ...}),
// and the event payloads of other services forwarded by e-mail (an "event"
// or "type" of bounce, dropped, deferred, delivered, spam report ...; the
// address in "email", "recipient", "rcpt_to" or "emailAddress"; the remote
// reply in "diagnosticCode", "smtpResponse", "reason", "raw_reason" ...).
//
// Read by meaning, not by provider: a document counts only when it names an
// event kind that is a delivery outcome and an address that event is about.
// Used by the generic extractor, so a service with no extractor of its own
// is still read.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "bounce/extract.h"

namespace rebound::bounce {

enum class EventKind { kNone, kFailed, kDelayed, kComplaint, kDelivered };

struct EventRecipient {
  EventKind kind = EventKind::kNone;
  std::string recipient;      // lower case
  std::string diagnostic;     // the remote reply or the service's account of it
  std::string status;         // a D.S.N. stated apart from the text
  int reply_code = 0;         // a reply code stated apart from the text
  std::string action;         // folded ("failed", "delayed", ...) when stated
  std::string feedback_type;  // a complaint's type when stated
  std::string timestamp;
};

// The most addresses a document is read for. A real notification names a
// few (SES sends at most 50 per bounce), and the bounce reader's cap on a
// body's text holds a document to some thousands; the cap bounds the work
// of a caller that passes a larger text (a list of a million addresses).
inline constexpr size_t kMaxJsonEvents = 10000;

// The events of a text that is (after leading blanks) a JSON document, in
// document order, one per address; empty when the text is none or names no
// delivery event.
std::vector<EventRecipient> ReadEventJson(std::string_view text);

}  // namespace rebound::bounce
