#include "domains/sender_policy.h"

namespace rebound::domains {

Status VerifiedDomainPolicy::Allows(const std::string& account, std::string_view domain, bool* allowed) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  auto key = std::make_pair(account, std::string(domain));
  if (auto it = cache_.find(key); it != cache_.end() && it->second.expires > now) {
    *allowed = it->second.allowed;
    return Status::Ok();
  }
  Status s = Lookup(account, domain, allowed);
  if (!s.ok()) return s;
  if (cache_.size() > 10000) cache_.clear();  // bounded: accounts x domains seen lately
  cache_[std::move(key)] = Cached{*allowed, now + cache_ttl_};
  return Status::Ok();
}

Status VerifiedDomainPolicy::Lookup(const std::string& account, std::string_view domain, bool* allowed) const {
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
