#include "domains/sender_policy.h"

namespace rebound::domains {

Status VerifiedDomainPolicy::Allows(const std::string& account, std::string_view domain, bool* allowed) const {
  std::lock_guard<std::mutex> lock(mu_);
  *allowed = false;
  if (!require_verified_) {
    int64_t registered = 0;
    Status s = store_->CountForAccount(account, &registered);
    if (!s.ok()) return s;
    if (registered == 0) {
      *allowed = true;
      return Status::Ok();
    }
  }
  SendingDomain d;
  Status s = store_->VerifiedDomainFor(account, domain, &d);
  if (s.ok()) {
    *allowed = true;
    return Status::Ok();
  }
  return s.code() == Status::Code::kNotFound ? Status::Ok() : s;
}

}  // namespace rebound::domains
