// delivery/dns.h: where mail for a domain goes.
//
// Resolve(domain) answers with the hosts to try, in order:
//   - a static route from the config ([routes] "example.test" = "127.0.0.1:2626",
//     "*" for a smart host that takes everything) wins over DNS;
//   - else the domain's MX records, lowest preference first (equal
//     preferences shuffled), each with its A/AAAA addresses;
//   - no MX records at all: the domain itself (implicit MX, RFC 5321 §5.1);
//   - a null MX (one MX ".", RFC 7505): the domain accepts no mail, permanent;
//   - NXDOMAIN: not found (permanent); no MX/A/AAAA: no data (permanent);
//   - SERVFAIL, REFUSED, timeouts: temporary.
// The status maps one to one onto Rebound's own relay codes (relay_codes.h).
//
// DNS goes through c-ares to the configured servers ("127.0.0.1:5353"; empty
// means the system's resolv.conf). Resolve() blocks its caller until the
// answer or the timeout; it is safe to call from many threads at once (each
// call has its own c-ares channel). Answers are cached for cache_seconds.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "delivery/relay_codes.h"
#include "rebound/status.h"

namespace rebound::delivery {

struct MxHost {
  std::string name;                    // MX host name, or the IP of a static route
  int preference = 0;
  uint16_t port = 25;
  std::vector<std::string> addresses;  // numeric IPv4/IPv6, A first
};

enum class RouteStatus : uint8_t { kOk, kTemporary, kNotFound, kNoData, kNullMx };
std::string_view RouteStatusName(RouteStatus s);

struct Route {
  RouteStatus status = RouteStatus::kOk;
  std::vector<MxHost> hosts;  // in the order to try; each has addresses when kOk
  bool static_route = false;
  std::string detail;         // what the resolver said, for logs
  // The relay failure this route stands for when it is not kOk.
  RelayFailure failure() const;
};

struct ResolverOptions {
  std::string servers;       // "ip:port,ip:port"; empty: the system resolver
  int timeout_ms = 3000;     // per try
  int tries = 2;
  uint16_t smtp_port = 25;   // port of MX hosts found in DNS
  int cache_seconds = 300;   // 0: no cache
  // Static routes: lower-case domain (or "*") -> "host[:port]" / "[v6]:port".
  std::map<std::string, std::string> routes;
};

class Resolver {
 public:
  // Fails on an unparsable route or server list.
  static Status Create(const ResolverOptions& options, std::unique_ptr<Resolver>* out);
  ~Resolver();

  Route Resolve(std::string_view domain);

 private:
  explicit Resolver(ResolverOptions options) : options_(std::move(options)) {}
  Route ResolveUncached(const std::string& domain);
  Route ResolveStatic(const std::string& target);

  ResolverOptions options_;
  std::mutex mu_;
  struct Cached { Route route; int64_t expires; };
  std::unordered_map<std::string, Cached> cache_;
};

// Splits "host:port", "[v6]:port", "host" (default_port). False on bad syntax.
bool ParseHostPort(std::string_view s, uint16_t default_port, std::string* host, uint16_t* port);

}  // namespace rebound::delivery
