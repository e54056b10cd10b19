// The submission checks, in the order SMTP asks them (see submission.h).
#include "relay/submission.h"

#include <mutex>

#include "relay/replies.h"
#include "relay/smtp_command.h"

namespace rebound::relay {

namespace {

std::mutex policy_mu;
std::shared_ptr<const SenderDomainPolicy>& PolicySlot() {
  static auto* slot = new std::shared_ptr<const SenderDomainPolicy>();
  return *slot;
}
std::shared_ptr<const SenderDomainPolicy> CurrentPolicy() {
  std::lock_guard<std::mutex> lock(policy_mu);
  return PolicySlot();
}

// The domain of the From header's first address ("" when there is none):
// the header section ends at the first empty line; folded lines continue it.
std::string FromHeaderDomain(std::string_view body) {
  size_t end = body.find("\r\n\r\n");
  std::string_view headers = body.substr(0, end == std::string_view::npos ? body.size() : end + 2);
  std::string value;
  bool in_from = false;
  size_t pos = 0;
  while (pos < headers.size()) {
    size_t eol = headers.find("\r\n", pos);
    if (eol == std::string_view::npos) eol = headers.size();
    std::string_view line = headers.substr(pos, eol - pos);
    pos = eol + 2;
    if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
      if (in_from) value.append(line);
      continue;
    }
    if (in_from) break;
    if (line.size() >= 5 && (line[0] == 'F' || line[0] == 'f') && (line[1] == 'R' || line[1] == 'r') &&
        (line[2] == 'O' || line[2] == 'o') && (line[3] == 'M' || line[3] == 'm') && line[4] == ':') {
      in_from = true;
      value.assign(line.substr(5));
    }
  }
  // The address is inside <...> when a display name is given; a quoted
  // display name may itself hold '@' or '<', so look from the end.
  size_t close = value.rfind('>');
  size_t open = close == std::string::npos ? std::string::npos : value.rfind('<', close);
  std::string addr = open != std::string::npos ? value.substr(open + 1, close - open - 1) : value;
  size_t at = addr.rfind('@');
  if (at == std::string::npos) return {};
  std::string domain;
  for (char c : addr.substr(at + 1)) {
    if (c == ' ' || c == '\t' || c == ',' || c == ';' || c == ')' || c == '(') break;
    domain += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  return domain;
}
SubmissionResult Refusal(std::string_view reply, const char* decision) {
  SubmissionResult r;
  r.reply = reply;
  r.decision = decision;
  return r;
}
SubmissionResult StoreFailure(const Status& s) {
  SubmissionResult r = Refusal(kReplyTempQueueFailure, "store error");
  r.store_error = s.message();
  return r;
}
}  // namespace

void SetSenderDomainPolicy(std::shared_ptr<const SenderDomainPolicy> policy) {
  std::lock_guard<std::mutex> lock(policy_mu);
  PolicySlot() = std::move(policy);
}

void SubmissionTransaction::Reset() {
  account_ = Account();
  mail_from_.clear();
  smtputf8_ = false;
  recipients_.clear();
  day_period_.clear();
  month_period_.clear();
  used_day_ = used_month_ = 0;
}

SubmissionResult SubmissionTransaction::Begin(const std::string& account_name, std::string_view mail_from,
                                              bool smtputf8, int64_t now) {
  Reset();
  if (!mail_from.empty() && !IsValidMailbox(mail_from, smtputf8)) return Refusal(kReplyBadSender, "invalid sender");
  Account account;
  Status s = store_->GetAccount(account_name, &account);
  if (!s.ok() || !account.enabled) return Refusal(kReplyAccountUnavailable, s.ok() ? "account disabled" : "account missing");
  if (limits_.check_sender_domain && !mail_from.empty()) {
    const std::string domain = AddressDomain(mail_from);
    bool allowed = false;
    for (const auto& d : account.domains) allowed = allowed || d == domain;
    if (!allowed) return Refusal(kReplySenderDomain, "sender domain not allowed");
  }
  if (auto policy = CurrentPolicy(); policy && !mail_from.empty()) {
    bool allowed = false;
    s = policy->Allows(account.name, AddressDomain(mail_from), &allowed);
    if (!s.ok()) return StoreFailure(s);
    if (!allowed) return Refusal(kReplySenderNotVerified, "sender domain not verified");
  }
  std::string day, month;
  QuotaPeriods(account.timezone, now, &day, &month);
  int64_t used_day = 0, used_month = 0;
  s = store_->QuotaUsage(account_name, day, &used_day);
  if (s.ok()) s = store_->QuotaUsage(account_name, month, &used_month);
  if (!s.ok()) return StoreFailure(s);
  account_ = std::move(account);
  mail_from_ = std::string(mail_from);
  smtputf8_ = smtputf8;
  day_period_ = std::move(day);
  month_period_ = std::move(month);
  used_day_ = used_day;
  used_month_ = used_month;
  return {};
}

SubmissionResult SubmissionTransaction::AddRecipient(std::string_view address) {
  if (address.empty() || !IsValidMailbox(address, smtputf8_)) return Refusal(kReplyInvalidRcpt, "invalid recipient syntax");
  if (static_cast<int64_t>(recipients_.size()) >= limits_.max_recipients)
    return Refusal(kReplyTooManyRcpts, "too many recipients");
  const int64_t n = static_cast<int64_t>(recipients_.size()) + 1;
  const Account& a = account_;
  if (a.daily_quota > 0 && used_day_ >= a.daily_quota) return Refusal(kReplyDailyQuota, "daily quota exceeded");
  if (a.monthly_quota > 0 && used_month_ >= a.monthly_quota) return Refusal(kReplyMonthlyQuota, "monthly quota exceeded");
  if ((a.daily_quota > 0 && used_day_ + n > a.daily_quota) || (a.monthly_quota > 0 && used_month_ + n > a.monthly_quota))
    return Refusal(kReplyNotEnoughQuota, "not enough quota");
  bool suppressed = false;
  Status s = store_->IsSuppressed(a.name, address, &suppressed);
  if (!s.ok()) return StoreFailure(s);
  if (suppressed) return Refusal(kReplySuppressed, "suppressed recipient");
  recipients_.emplace_back(address);
  return {};
}

SubmissionResult SubmissionTransaction::CheckSize(size_t bytes) const {
  if (static_cast<int64_t>(bytes) > limits_.max_message_size) return Refusal(kReplyTooLarge, "message too large");
  return {};
}

SubmissionResult SubmissionTransaction::Enqueue(std::string body, const std::string& client_ip,
                                                const std::string& helo, int64_t* message_id) {
  if (auto policy = CurrentPolicy()) {
    // The From header is what DMARC aligns with and what the DKIM key is
    // chosen by; a message without one is left to MAIL FROM's check.
    const std::string from_domain = FromHeaderDomain(body);
    if (!from_domain.empty()) {
      bool allowed = false;
      Status s = policy->Allows(account_.name, from_domain, &allowed);
      if (!s.ok()) return StoreFailure(s);
      if (!allowed) return Refusal(kReplySenderNotVerified, "From domain not verified");
    }
  }
  NewMessage m;
  m.account = account_.name;
  m.mail_from = mail_from_;
  m.recipients = recipients_;
  m.body = std::move(body);
  m.client_ip = client_ip;
  m.helo = helo;
  m.day_period = day_period_;
  m.month_period = month_period_;
  m.daily_limit = account_.daily_quota;
  m.monthly_limit = account_.monthly_quota;
  Status s = store_->Enqueue(m, message_id);
  if (s.code() == Status::Code::kUnavailable) return Refusal(kReplyNotEnoughQuota, "not enough quota at commit");
  if (!s.ok()) return StoreFailure(s);
  return {};
}

SubmissionResult Submit(Store* store, const SubmissionLimits& limits, const Submission& s, int64_t now,
                        int64_t* message_id, int* failed_recipient) {
  *failed_recipient = -1;
  SubmissionTransaction t(store, limits);
  SubmissionResult r = t.Begin(s.account, s.mail_from, s.smtputf8, now);
  if (!r.accepted()) return r;
  if (s.recipients.empty()) return Refusal(kReplyNoRecipients, "no recipients");
  for (size_t i = 0; i < s.recipients.size(); ++i) {
    r = t.AddRecipient(s.recipients[i]);
    if (!r.accepted()) {
      *failed_recipient = static_cast<int>(i);
      return r;
    }
  }
  r = t.CheckSize(s.body.size());
  if (!r.accepted()) return r;
  return t.Enqueue(s.body, s.client_ip, s.helo, message_id);
}

}  // namespace rebound::relay
