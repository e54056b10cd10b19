// relay/submission.h: the checks a message must pass before it is queued,
// whatever carried it (an SMTP session or the HTTP API), and the enqueue.
//
// A SubmissionTransaction walks one message through the steps SMTP asks
// them in: Begin (MAIL FROM: sender syntax, the account, its sending domains,
// its quota use so far), AddRecipient (RCPT TO: syntax, the recipient limit,
// the quotas, the account's suppression list), CheckSize, Enqueue (the commit
// with the quota check inside it). Each step answers accepted or a refusal:
// one line of relay/replies.h, the same code and text whichever transport
// says it. Submit() runs all the steps at once for a client that hands over
// the whole message (the API).
//
// Threads: the steps that say "blocking" read or write the store; run them
// off the event loop. A transaction belongs to one caller at a time.
// Not checked here: the transport's own rules (SMTP AUTH, ESMTP parameters,
// line lengths, API keys) and the content check (asynchronous, see
// relay/content_check.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace rebound::relay {

// Whether an account may send as a domain: the sending domains of
// src/domains (registered and verified), installed by `rebound serve`'s
// domains part with SetSenderDomainPolicy. Asked for MAIL FROM's domain in
// Begin and for the From header's domain in Enqueue, by every transport.
// Called from many threads at once. Not installed: nothing is asked.
class SenderDomainPolicy {
 public:
  virtual ~SenderDomainPolicy() = default;
  // *allowed false: refused with kReplySenderNotVerified.
  virtual Status Allows(const std::string& account, std::string_view domain, bool* allowed) const = 0;
};
void SetSenderDomainPolicy(std::shared_ptr<const SenderDomainPolicy> policy);

// The server.* settings the checks apply.
struct SubmissionLimits {
  int64_t max_message_size = 0;
  int64_t max_recipients = 0;
  bool check_sender_domain = true;
};

// Accepted (reply empty) or a refusal with the name the logs give it.
struct SubmissionResult {
  std::string_view reply;      // a line of relay/replies.h; empty: accepted
  const char* decision = "";   // "suppressed recipient", "daily quota exceeded", ...
  std::string store_error;     // when the store failed (the reply is then a 451)
  bool accepted() const { return reply.empty(); }
};

class SubmissionTransaction {
 public:
  SubmissionTransaction(Store* store, const SubmissionLimits& limits) : store_(store), limits_(limits) {}

  // MAIL FROM (`mail_from` without <>, "" for the null sender), sent at Unix
  // time `now` (the quota periods are the account's day and month). Blocking.
  SubmissionResult Begin(const std::string& account, std::string_view mail_from, bool smtputf8, int64_t now);
  // RCPT TO, after an accepted Begin. Blocking.
  SubmissionResult AddRecipient(std::string_view address);
  // The message's size in bytes (CRLF line ends, as queued).
  SubmissionResult CheckSize(size_t bytes) const;
  // Queues the message to the accepted recipients. Blocking.
  SubmissionResult Enqueue(std::string body, const std::string& client_ip, const std::string& helo,
                           int64_t* message_id);

  // Forgets the transaction (SMTP RSET, a new MAIL).
  void Reset();

  const Account& account() const { return account_; }
  const std::string& mail_from() const { return mail_from_; }
  const std::vector<std::string>& recipients() const { return recipients_; }
  bool smtputf8() const { return smtputf8_; }

 private:
  Store* store_;
  SubmissionLimits limits_;
  Account account_;
  std::string mail_from_;
  bool smtputf8_ = false;
  std::vector<std::string> recipients_;
  std::string day_period_, month_period_;
  int64_t used_day_ = 0, used_month_ = 0;
};

// A whole message at once (the API).
struct Submission {
  std::string account;
  std::string mail_from;
  std::vector<std::string> recipients;
  std::string body;  // CRLF line ends
  std::string client_ip;
  std::string helo;  // what names the client in the queue ("api" for the HTTP API)
  bool smtputf8 = false;
};

// Runs every step in SMTP's order and stops at the first refusal;
// `*failed_recipient` is then the index of the recipient refused, or -1 when
// the refusal is not about one recipient. Blocking.
SubmissionResult Submit(Store* store, const SubmissionLimits& limits, const Submission& s, int64_t now,
                        int64_t* message_id, int* failed_recipient);

}  // namespace rebound::relay
