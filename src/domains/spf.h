// domains/spf.h: evaluates a domain's SPF policy for one client IP with
// libspf2 (includes, redirects, macros and the 10-lookup limit are the
// library's). libspf2 would ask the system resolver (libresolv); here it asks
// through a DNS layer of ours that forwards to DnsClient, so `check` and its
// tests see one resolver ([dns] servers).
#pragma once

#include <string>

#include "domains/dns_client.h"

namespace rebound::domains {

struct SpfOutcome {
  // RFC 7208 results: pass, fail, softfail, neutral, none, permerror, temperror.
  std::string result;
  std::string detail;  // libspf2's first error or its comment on the result
};

// As a receiver would evaluate MAIL FROM:<postmaster@domain> from `ip`.
SpfOutcome EvaluateSpf(const DnsClient& dns, const std::string& ip, const std::string& domain);

}  // namespace rebound::domains
