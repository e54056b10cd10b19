#include "delivery/relay_codes.h"

namespace rebound::delivery {

std::string_view RelayFailureReply(RelayFailure f) {
  switch (f) {
    case RelayFailure::kDnsTemporary: return "423 Dns resolve error";
    case RelayFailure::kDnsNotFound: return "524 Host not found by dns resolve";
    case RelayFailure::kDnsNoData: return "526 No data by dns resolve";
    case RelayFailure::kNullMx: return "556 5.1.10 Recipient domain has a null MX (RFC 7505)";
    case RelayFailure::kUnreachable: return "427 Socks Connect to UNREACHABLE host";
    case RelayFailure::kConnectionLost: return "421 4.4.2 Connection lost during the SMTP session";
  }
  return "423 Dns resolve error";
}

std::string ThrottleHoldReply(std::string_view destination) {
  std::string s = "451 4.7.0 Rebound: deliveries to ";
  s.append(destination).append(" are held by the throttle");
  return s;
}

std::string PrepareFailureReply(std::string_view why) {
  return "451 4.3.0 Rebound: cannot prepare the message: " + std::string(why);
}

}  // namespace rebound::delivery
