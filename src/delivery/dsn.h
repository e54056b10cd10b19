// delivery/dsn.h: the bounce notice Rebound sends to an envelope sender when
// recipients bounced or expired: an RFC 3464 multipart/report (a readable
// explanation with each recipient's reply and what to do about it, the
// message/delivery-status part, and the headers of the original message).
//
// The notice itself goes out with the null sender (MAIL FROM:<>), so a notice
// that cannot be delivered never produces another one; callers never build a
// notice for a message whose sender is null.
//
// Pure (time and ids are arguments); thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rebound::delivery {

struct DsnRecipient {
  std::string address;
  std::string action = "failed";  // RFC 3464 Action: failed (bounced and expired)
  std::string status;             // RFC 3463 "5.1.1"; derived from the reply when empty
  std::string reply;              // the SMTP reply (or Rebound's own relay code)
  std::string remote_mta;         // MX host name, when one answered
  std::string explanation;        // one line: the verdict's solution / action
  bool expired = false;           // gave up after the queue lifetime
};

struct DsnInput {
  std::string reporting_mta;      // our host name
  std::string original_sender;    // envelope sender of the failed message (not empty)
  std::string original_envelope_id;  // message id in the queue
  std::string original_message;   // the failed message; only its header is quoted
  int64_t arrival_time = 0;       // Unix seconds: when it was queued
  int64_t now = 0;                // Unix seconds
  std::vector<DsnRecipient> recipients;
};

// The whole notice, CRLF line ends, ready to enqueue.
std::string BuildDsn(const DsnInput& in);

// "Fri, 27 Nov 2026 22:45:59 +0000"
std::string Rfc5322Date(int64_t unix_seconds);

// The enhanced status code a DSN should state for a reply: the reply's own
// when it has one, else one derived from its class (x.0.0); "4.4.7" for expiry.
std::string DsnStatusFor(std::string_view reply, bool expired);

}  // namespace rebound::delivery
