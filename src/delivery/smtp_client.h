// delivery/smtp_client.h: the outgoing SMTP client, on Boost.Asio C++20
// coroutines. The dialogue is written out in order inside three coroutines
// (Open, Send, Quit); SessionState records the step a session is in, which
// says whether it can take another message (usable()) and names the step in
// the words of a timeout or a dropped connection. Nothing dispatches on it.
//
// One SmtpSession is one connection to one destination. Open() walks the MX
// hosts and their addresses in order until one greets with 2xx, then EHLO
// (HELO when EHLO is refused), STARTTLS (opportunistic by default; `require`
// fails the session when it is not offered or does not complete). Send()
// delivers one message: MAIL (with SIZE= when offered), RCPT per recipient,
// DATA, the body (dot-stuffed); with PIPELINING the MAIL/RCPT/DATA group is
// written at once. Several messages go over one session; Quit() ends it.
//
// Every recipient gets exactly one outcome: the reply that decided it, the
// command it answered and whether it is about the recipient (RCPT refused,
// or the reply to the end of DATA) or about the session (connection refused,
// greeting/EHLO/MAIL refusal, connection dropped, timeout). Rebound's own
// failures are said in the relay codes of relay_codes.h.
//
// Each step has its own timeout (RFC 5321 §4.5.3.2 defaults). A session is
// used by one coroutine at a time; it lives on the executor it was made with.
//
// This header pulls in Boost.Asio: include it only from delivery's .cc files.
#pragma once

#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without including it

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "delivery/disposition.h"
#include "delivery/dns.h"
#include "delivery/relay_codes.h"
#include "rebound/reply.h"

namespace rebound::delivery {

enum class TlsMode : uint8_t { kOff, kOpportunistic, kRequire };

struct SmtpClientOptions {
  std::string helo_name = "localhost";
  TlsMode tls = TlsMode::kOpportunistic;
  using Ms = std::chrono::milliseconds;
  // RFC 5321 §4.5.3.2 minimums, connect aside.
  Ms connect_timeout{30'000};
  Ms greeting_timeout{300'000};
  Ms command_timeout{300'000};    // EHLO/HELO, STARTTLS, MAIL, RCPT, RSET, QUIT
  Ms data_init_timeout{120'000};  // reply to DATA
  Ms data_block_timeout{180'000}; // each write of the body
  Ms data_end_timeout{600'000};   // reply to the final "."
  size_t max_reply_bytes = 64 * 1024;
};

enum class SessionState : uint8_t {
  kIdle, kConnect, kGreeting, kEhlo, kHelo, kStartTls, kTlsHandshake, kReady,
  kMail, kRcpt, kData, kBody, kDataEnd, kRset, kQuit, kClosed
};
std::string_view SessionStateName(SessionState s);

struct OutgoingMessage {
  std::string mail_from;               // empty for the null sender
  std::vector<std::string> recipients;
  const std::string* body = nullptr;   // CRLF lines, not dot-stuffed, no final "."
};

struct RecipientOutcome {
  std::string reply;                   // one line: "550 5.1.1 <x>: User unknown"
  SmtpCommand command = SmtpCommand::kUnknown;  // the command it answered
  ReplyScope scope = ReplyScope::kRecipient;
  // Set when `reply` is one of Rebound's own relay codes (relay_codes.h)
  // rather than the receiver's words: it answers none of its commands.
  std::optional<RelayFailure> relay_failure;
  bool accepted() const { return !reply.empty() && reply[0] == '2'; }
};

class SmtpSession {
 public:
  using Executor = boost::asio::any_io_executor;
  SmtpSession(Executor ex, boost::asio::ssl::context& tls, SmtpClientOptions options);
  ~SmtpSession();

  // Connects along the route. On failure, *failure holds the reply (a
  // remote greeting/EHLO refusal, or a relay code) that every recipient
  // waiting for this destination gets; returns false.
  boost::asio::awaitable<bool> Open(const Route& route, RecipientOutcome* failure);
  // Sends one message; one outcome per recipient, in order. After a session
  // failure the session is closed (usable() is false).
  boost::asio::awaitable<std::vector<RecipientOutcome>> Send(const OutgoingMessage& m);
  boost::asio::awaitable<void> Quit();

  bool usable() const { return state_ == SessionState::kReady; }
  bool tls_active() const { return tls_active_; }
  bool pipelining() const { return pipelining_; }
  const std::string& mx() const { return mx_; }
  const std::string& ip() const { return ip_; }
  SessionState state() const { return state_; }
  int messages_sent() const { return messages_; }

 private:
  struct Reply {
    int code = 0;                // 0: no reply (I/O error or timeout)
    std::string text;            // "250 2.0.0 Ok" joined into one line
    std::vector<std::string> lines;  // the text of each line, without the code
  };
  boost::asio::awaitable<bool> TryHost(const std::string& address, uint16_t port, bool allow_tls, RecipientOutcome* failure);
  boost::asio::awaitable<Reply> ReadReply(std::chrono::milliseconds timeout);
  boost::asio::awaitable<bool> Write(std::string_view data, std::chrono::milliseconds timeout);
  boost::asio::awaitable<bool> Hello(RecipientOutcome* failure);
  void Enter(SessionState s) { state_ = s; }
  void Close();
  RecipientOutcome SessionFailure(const Reply& r, SmtpCommand cmd) const;

  Executor ex_;
  boost::asio::ssl::context& tls_ctx_;
  SmtpClientOptions opt_;
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> stream_;
  std::string inbuf_;
  SessionState state_ = SessionState::kIdle;
  bool tls_active_ = false, pipelining_ = false, starttls_offered_ = false, esmtp_ = false;
  uint64_t size_limit_ = 0;  // 0: not announced
  bool needs_rset_ = false;
  int messages_ = 0;
  std::string mx_, ip_;
};

// Dot-stuffs body for DATA and terminates it with CRLF "." CRLF.
std::string DotStuff(std::string_view body);

}  // namespace rebound::delivery
