// domains/dns_client.h: the DNS questions `domain check` asks (TXT, A, AAAA,
// MX, PTR), through c-ares to the configured resolvers ([dns] servers, the
// same key delivery uses; empty: the system's resolv.conf). Blocking, one
// c-ares channel per call; safe to use from one thread at a time.
#pragma once

#include <string>
#include <vector>

namespace rebound::domains {

struct DnsAnswer {
  enum class Kind { kOk, kNxDomain, kNoData, kError };
  Kind kind = Kind::kError;
  // TXT: each record's strings joined; A/AAAA: numeric addresses; MX:
  // "preference host"; PTR: host names (no trailing dot).
  std::vector<std::string> records;
  std::string error;  // c-ares's words when kind is not kOk
  bool ok() const { return kind == Kind::kOk; }
};

class DnsClient {
 public:
  // `servers`: "ip:port,ip:port" or empty.
  explicit DnsClient(std::string servers, int timeout_ms = 3000, int tries = 2)
      : servers_(std::move(servers)), timeout_ms_(timeout_ms), tries_(tries) {}

  // type: ns_t_txt, ns_t_a, ns_t_aaaa, ns_t_mx, ns_t_ptr (arpa/nameser.h).
  DnsAnswer Query(const std::string& name, int type) const;
  // The PTR names of a numeric IPv4/IPv6 address.
  DnsAnswer ReversePtr(const std::string& ip) const;

 private:
  std::string servers_;
  int timeout_ms_;
  int tries_;
};

// "192.0.2.1" -> "1.2.0.192.in-addr.arpa"; IPv6 by nibbles under ip6.arpa.
// Empty when `ip` is not numeric.
std::string ReverseName(const std::string& ip);

}  // namespace rebound::domains
