// domains/sender_policy.h: the submission side's question "may this account
// send as this domain?" (relay::SenderDomainPolicy), answered from the
// sending domains: yes when the domain is, or falls under, a registered and
// verified sending domain of the account.
//
// Enforced only where it cannot break an existing setup: for an account that
// has registered at least one sending domain, or for every account when
// [domains] require_verified is true. An account with no sending domains
// otherwise sends as before (its [server] check_sender_domain list still
// applies).
//
// Answers are kept for a few seconds (cache_ttl), so a message costs no
// SQLite reads at MAIL and at the end of DATA; a domain verified by
// `rebound domain check` is accepted by a running serve within that time.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "domains/domain_store.h"
#include "relay/submission.h"

namespace rebound::domains {

class VerifiedDomainPolicy : public relay::SenderDomainPolicy {
 public:
  VerifiedDomainPolicy(std::unique_ptr<DomainStore> store, bool require_verified,
                       std::chrono::seconds cache_ttl = std::chrono::seconds(5))
      : store_(std::move(store)), require_verified_(require_verified), cache_ttl_(cache_ttl) {}
  Status Allows(const std::string& account, std::string_view domain, bool* allowed) const override;

 private:
  Status Lookup(const std::string& account, std::string_view domain, bool* allowed) const;

  mutable std::mutex mu_;  // one SQLite connection, many submission threads
  std::unique_ptr<DomainStore> store_;
  bool require_verified_;
  std::chrono::seconds cache_ttl_;
  struct Cached {
    bool allowed;
    std::chrono::steady_clock::time_point expires;
  };
  mutable std::map<std::pair<std::string, std::string>, Cached> cache_;
};

}  // namespace rebound::domains
