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
// Pure, thread-safe.
#pragma once

#include <string_view>

namespace rebound::delivery {

enum class RelayFailure { kDnsTemporary, kDnsNotFound, kDnsNoData, kNullMx, kUnreachable, kConnectionLost };

std::string_view RelayFailureReply(RelayFailure f);

}  // namespace rebound::delivery
