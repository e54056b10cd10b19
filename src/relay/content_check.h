// relay/content_check.h: the submission server's content check, a client of
// rspamd's HTTP protocol (POST /checkv2, JSON reply).
//
// What it is: ParseContentCheckSettings() reads the [content_check] keys;
// CheckContent() posts one message with its envelope (IP, Helo, From, Rcpt,
// User headers) to rspamd and maps the reply's `action` to a decision:
// "reject" -> kReject, "soft reject"/"greylist" -> kTempfail, anything else
// -> kAccept. A connection failure, a timeout, a non-200 status or a reply
// that is not JSON with an `action` gives kError with a message; the caller
// applies content_check.on_error.
//
// Threads: CheckContent() is a coroutine that runs on the caller's executor
// (the session strand) and never blocks it; the timeout closes the socket.
// Only src/relay/smtp_session.h includes this header (it pulls in Asio's
// awaitable).
#pragma once

#include <utility>  // before awaitable.hpp: Boost 1.74 uses std::exchange without it
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"
#include "rebound/status.h"

namespace rebound::relay {

struct ContentCheckSettings {
  bool enabled = false;      // content_check.rspamd_url is set
  std::string host;          // from the URL; a name or an address
  std::string port = "11333";
  std::string path;          // the URL's path, without a trailing '/', + "/checkv2"
  int64_t timeout_ms = 5000;
  bool tempfail_on_error = false;  // content_check.on_error = "tempfail"
};

// Reads and validates content_check.* (URL form http://HOST[:PORT][/PATH]).
Status ParseContentCheckSettings(const Config& config, ContentCheckSettings* out);

struct ContentCheckRequest {
  std::string client_ip, helo, mail_from, user;
  std::vector<std::string> recipients;
  const std::string* message = nullptr;  // borrowed, must outlive the call
};

struct ContentDecision {
  enum class Kind { kAccept, kReject, kTempfail, kError };
  Kind kind = Kind::kError;
  std::string action;  // rspamd's action, as it wrote it
  double score = 0, required_score = 0;
  std::string error;   // kError: what went wrong
  int64_t elapsed_ms = 0;
};

// The decision for one message. Safe to call concurrently from many sessions.
boost::asio::awaitable<ContentDecision> CheckContent(const ContentCheckSettings& settings,
                                                      const ContentCheckRequest& request);

// Maps rspamd's action string to a decision kind (kAccept for unknown ones).
ContentDecision::Kind ContentDecisionForAction(std::string_view action);

// Parses one raw HTTP/1.1 response (status line, headers, body; the body in
// Content-Length, chunked, or up to the end) from rspamd into `out`. Pure,
// for the unit test.
void ParseRspamdResponse(std::string_view raw, ContentDecision* out);

}  // namespace rebound::relay
