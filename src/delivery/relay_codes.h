// delivery/relay_codes.h: Rebound's own failures, said in the words of the
// sending service's return-code document, so that they go through the same
// Classifier and disposition as any remote reply.
//
//   423 Dns resolve error                 temporary resolver failure (SERVFAIL, timeout)
//   524 Host not found by dns resolve     the domain does not exist (NXDOMAIN)
//   526 No data by dns resolve            the domain has no MX, A or AAAA
//   556 5.1.10 ... null MX                the domain publishes a null MX (RFC 7505)
//   427 Socks Connect to UNREACHABLE host connection refused, unreachable or timed out
//   421 4.4.2 Connection lost ...         the server dropped the session mid-dialogue
//
// And one that is not a failure but Rebound's own hold, recorded when a
// recipient is put back without a connection because its destination is
// throttled or paused (throttle.h):
//
//   451 4.7.0 Rebound: deliveries to <destination> are held by the throttle
//
// And one for a message that could not be prepared for sending (a body
// filter, e.g. DKIM signing, failed); it is retried like a local error:
//
//   451 4.3.0 Rebound: cannot prepare the message: <why>
//
// Pure, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace rebound::delivery {

enum class RelayFailure { kDnsTemporary, kDnsNotFound, kDnsNoData, kNullMx, kUnreachable, kConnectionLost };

std::string_view RelayFailureReply(RelayFailure f);

std::string PrepareFailureReply(std::string_view why);

// The reply recorded for a recipient held by the throttle; `destination` is
// the throttle key (the provider, else the domain).
std::string ThrottleHoldReply(std::string_view destination);
// The rule id its events rows carry (no classifier rule has it: the verdict
// is the one that throttled the destination).
inline constexpr std::string_view kThrottleHoldRule = "local.throttle";

}  // namespace rebound::delivery
