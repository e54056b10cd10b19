#include "delivery/smtp_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <memory>

namespace rebound::delivery {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using Ms = std::chrono::milliseconds;

std::string_view SessionStateName(SessionState s) {
  static constexpr std::string_view kNames[] = {"idle", "connect", "greeting", "ehlo", "helo", "starttls",
                                                "tls-handshake", "ready", "mail", "rcpt", "data", "body",
                                                "data-end", "rset", "quit", "closed"};
  return kNames[static_cast<int>(s)];
}

std::string DotStuff(std::string_view body) {
  std::string out;
  out.reserve(body.size() + body.size() / 64 + 8);
  bool line_start = true;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (line_start && c == '.') out.push_back('.');
    if (c == '\n' && (out.empty() || out.back() != '\r')) out.push_back('\r');  // bare LF -> CRLF
    out.push_back(c);
    line_start = c == '\n';
  }
  if (!out.empty() && !line_start) out.append("\r\n");
  out.append(".\r\n");
  return out;
}

namespace {

// Closes the socket when an operation outlives its timeout, so the pending
// read/write/connect completes with an error. Disarmed when it goes away;
// the shared flag guards a timer handler that was already queued.
class Watchdog {
 public:
  Watchdog(asio::any_io_executor ex, tcp::socket& sock, Ms timeout)
      : timer_(ex), armed_(std::make_shared<bool>(true)), fired_(std::make_shared<bool>(false)) {
    timer_.expires_after(timeout);
    timer_.async_wait([armed = armed_, fired = fired_, s = &sock](const boost::system::error_code& ec) {
      if (ec || !*armed) return;
      *fired = true;
      boost::system::error_code ignored;
      s->close(ignored);
    });
  }
  ~Watchdog() {
    *armed_ = false;
    timer_.cancel();
  }
  bool fired() const { return *fired_; }

 private:
  asio::steady_timer timer_;
  std::shared_ptr<bool> armed_, fired_;
};

bool IsPositive(int code) { return code >= 200 && code < 300; }

std::string Lost(std::string_view while_doing) {
  std::string s(RelayFailureReply(RelayFailure::kConnectionLost));
  s.append(" (").append(while_doing).append(")");
  return s;
}

std::string UpperAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

SmtpSession::SmtpSession(Executor ex, asio::ssl::context& tls, SmtpClientOptions options)
    : ex_(std::move(ex)), tls_ctx_(tls), opt_(std::move(options)) {}

SmtpSession::~SmtpSession() { Close(); }

void SmtpSession::Close() {
  if (stream_) {
    boost::system::error_code ec;
    stream_->next_layer().close(ec);
  }
  if (state_ != SessionState::kIdle) state_ = SessionState::kClosed;
}

RecipientOutcome SmtpSession::SessionFailure(const Reply& r, SmtpCommand cmd) const {
  RecipientOutcome o;
  o.reply = r.code ? r.text : Lost(r.text.empty() ? std::string(SessionStateName(state_)) : r.text);
  if (!r.code) o.relay_failure = RelayFailure::kConnectionLost;
  o.command = cmd;
  o.scope = ReplyScope::kSession;
  return o;
}

awaitable<SmtpSession::Reply> SmtpSession::ReadReply(Ms timeout) {
  Reply r;
  Watchdog wd(ex_, stream_->next_layer(), timeout);
  for (;;) {
    size_t nl = inbuf_.find('\n');
    if (nl == std::string::npos) {
      if (inbuf_.size() > opt_.max_reply_bytes) {
        r.text = "reply too long";
        co_return r;
      }
      char tmp[4096];
      boost::system::error_code ec;
      size_t n = tls_active_ ? co_await stream_->async_read_some(asio::buffer(tmp), asio::redirect_error(use_awaitable, ec))
                             : co_await stream_->next_layer().async_read_some(asio::buffer(tmp), asio::redirect_error(use_awaitable, ec));
      if (ec) {
        r.code = 0;
        r.text = wd.fired() ? "timed out waiting in " + std::string(SessionStateName(state_))
                            : "connection closed in " + std::string(SessionStateName(state_));
        co_return r;
      }
      inbuf_.append(tmp, n);
      continue;
    }
    std::string line = inbuf_.substr(0, nl);
    inbuf_.erase(0, nl + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.size() < 3 || !isdigit(static_cast<unsigned char>(line[0])) || !isdigit(static_cast<unsigned char>(line[1])) ||
        !isdigit(static_cast<unsigned char>(line[2])) || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
      r.code = 0;
      r.text = "malformed reply in " + std::string(SessionStateName(state_));
      co_return r;
    }
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (r.lines.empty()) r.code = code;
    r.lines.push_back(line.size() > 4 ? line.substr(4) : "");
    if (line.size() <= 3 || line[3] == ' ') break;
  }
  r.text = std::to_string(r.code);
  for (const auto& l : r.lines) {
    if (!l.empty()) r.text.append(" ").append(l);
  }
  co_return r;
}

awaitable<bool> SmtpSession::Write(std::string_view data, Ms timeout) {
  Watchdog wd(ex_, stream_->next_layer(), timeout);
  boost::system::error_code ec;
  if (tls_active_) co_await asio::async_write(*stream_, asio::buffer(data), asio::redirect_error(use_awaitable, ec));
  else co_await asio::async_write(stream_->next_layer(), asio::buffer(data), asio::redirect_error(use_awaitable, ec));
  co_return !ec;
}

awaitable<bool> SmtpSession::Hello(RecipientOutcome* failure) {
  Enter(SessionState::kEhlo);
  pipelining_ = starttls_offered_ = false;
  size_limit_ = 0;
  if (!co_await Write("EHLO " + opt_.helo_name + "\r\n", opt_.command_timeout)) {
    *failure = SessionFailure(Reply{0, "writing EHLO", {}}, SmtpCommand::kEhlo);
    co_return false;
  }
  Reply r = co_await ReadReply(opt_.command_timeout);
  if (r.code == 0) {
    *failure = SessionFailure(r, SmtpCommand::kEhlo);
    co_return false;
  }
  if (IsPositive(r.code)) {
    esmtp_ = true;
    for (size_t i = 1; i < r.lines.size(); ++i) {
      std::string kw = UpperAscii(r.lines[i]);
      if (kw == "PIPELINING") pipelining_ = true;
      else if (kw == "STARTTLS") starttls_offered_ = true;
      else if (kw.rfind("SIZE", 0) == 0) {
        size_limit_ = kw.size() > 5 ? std::strtoull(kw.c_str() + 5, nullptr, 10) : 0;
        if (size_limit_ == 0) size_limit_ = UINT64_MAX;  // SIZE without a number: announced, no fixed limit
      }
    }
    co_return true;
  }
  if (r.code == 421) {
    *failure = SessionFailure(r, SmtpCommand::kEhlo);
    co_return false;
  }
  // EHLO refused: an old server. Fall back to HELO.
  Enter(SessionState::kHelo);
  esmtp_ = false;
  if (!co_await Write("HELO " + opt_.helo_name + "\r\n", opt_.command_timeout)) {
    *failure = SessionFailure(Reply{0, "writing HELO", {}}, SmtpCommand::kHelo);
    co_return false;
  }
  r = co_await ReadReply(opt_.command_timeout);
  if (!IsPositive(r.code)) {
    *failure = SessionFailure(r, SmtpCommand::kHelo);
    co_return false;
  }
  co_return true;
}

awaitable<bool> SmtpSession::TryHost(const std::string& address, uint16_t port, bool allow_tls, RecipientOutcome* failure) {
  Close();
  stream_ = std::make_unique<asio::ssl::stream<tcp::socket>>(ex_, tls_ctx_);
  inbuf_.clear();
  tls_active_ = pipelining_ = starttls_offered_ = esmtp_ = needs_rset_ = false;
  size_limit_ = 0;
  messages_ = 0;

  Enter(SessionState::kConnect);
  boost::system::error_code ec;
  tcp::endpoint ep(asio::ip::make_address(address, ec), port);
  if (ec) {
    failure->reply = std::string(RelayFailureReply(RelayFailure::kUnreachable)) + " (bad address " + address + ")";
    failure->relay_failure = RelayFailure::kUnreachable;
    failure->command = SmtpCommand::kConnect;
    failure->scope = ReplyScope::kSession;
    co_return false;
  }
  {
    Watchdog wd(ex_, stream_->next_layer(), opt_.connect_timeout);
    co_await stream_->next_layer().async_connect(ep, asio::redirect_error(use_awaitable, ec));
    if (ec) {
      failure->reply = std::string(RelayFailureReply(RelayFailure::kUnreachable)) + " (" + address + ":" +
                       std::to_string(port) + ": " + (wd.fired() ? std::string("timed out") : ec.message()) + ")";
      failure->relay_failure = RelayFailure::kUnreachable;
      failure->command = SmtpCommand::kConnect;
      failure->scope = ReplyScope::kSession;
      Close();
      co_return false;
    }
  }
  ip_ = address;
  Enter(SessionState::kGreeting);
  Reply greeting = co_await ReadReply(opt_.greeting_timeout);
  if (!IsPositive(greeting.code)) {
    *failure = SessionFailure(greeting, SmtpCommand::kConnect);
    Close();
    co_return false;
  }
  if (!co_await Hello(failure)) {
    Close();
    co_return false;
  }
  if (opt_.tls != TlsMode::kOff && allow_tls && starttls_offered_) {
    Enter(SessionState::kStartTls);
    Reply r;
    if (co_await Write("STARTTLS\r\n", opt_.command_timeout)) r = co_await ReadReply(opt_.command_timeout);
    bool ok = r.code == 220;
    if (ok) {
      Enter(SessionState::kTlsHandshake);
      inbuf_.clear();  // nothing sent before the handshake may be trusted (RFC 3207 §4.2)
      SSL_set_tlsext_host_name(stream_->native_handle(), mx_.c_str());
      Watchdog wd(ex_, stream_->next_layer(), opt_.command_timeout);
      co_await stream_->async_handshake(asio::ssl::stream_base::client, asio::redirect_error(use_awaitable, ec));
      ok = !ec;
      if (ok) {
        tls_active_ = true;
        ok = co_await Hello(failure);
        if (!ok) {
          Close();
          co_return false;
        }
      }
    }
    if (!ok) {
      if (opt_.tls == TlsMode::kRequire) {
        failure->reply = "451 4.7.5 STARTTLS failed at " + address + " and TLS is required for this destination";
        failure->command = SmtpCommand::kStartTls;
        failure->scope = ReplyScope::kSession;
        Close();
        co_return false;
      }
      // Opportunistic: the same host again, in plain text.
      co_return co_await TryHost(address, port, false, failure);
    }
  }
  if (opt_.tls == TlsMode::kRequire && !tls_active_) {
    failure->reply = "451 4.7.5 " + address + " does not offer STARTTLS and TLS is required for this destination";
    failure->command = SmtpCommand::kEhlo;
    failure->scope = ReplyScope::kSession;
    Close();
    co_return false;
  }
  Enter(SessionState::kReady);
  co_return true;
}

awaitable<bool> SmtpSession::Open(const Route& route, RecipientOutcome* failure) {
  bool had_reply = false;
  RecipientOutcome last;
  for (const MxHost& host : route.hosts) {
    for (const std::string& address : host.addresses) {
      mx_ = host.name;
      RecipientOutcome f;
      if (co_await TryHost(address, host.port, true, &f)) co_return true;
      // A server's own refusal says more than a refused connection elsewhere.
      const bool unreachable = f.relay_failure == RelayFailure::kUnreachable;
      if (!unreachable || !had_reply) {
        if (!unreachable) had_reply = true;
        last = f;
      }
    }
  }
  if (last.reply.empty()) {
    last.reply = std::string(RelayFailureReply(RelayFailure::kUnreachable)) + " (no address to try)";
    last.relay_failure = RelayFailure::kUnreachable;
    last.command = SmtpCommand::kConnect;
    last.scope = ReplyScope::kSession;
  }
  *failure = last;
  co_return false;
}

awaitable<std::vector<RecipientOutcome>> SmtpSession::Send(const OutgoingMessage& m) {
  const size_t n = m.recipients.size();
  std::vector<RecipientOutcome> out(n);
  auto fail_all = [&](const RecipientOutcome& o) {
    for (auto& x : out)
      if (x.reply.empty()) x = o;
  };
  if (!usable()) {
    fail_all(SessionFailure(Reply{0, "session not open", {}}, SmtpCommand::kMail));
    co_return out;
  }
  if (needs_rset_) {
    Enter(SessionState::kRset);
    Reply r;
    if (co_await Write("RSET\r\n", opt_.command_timeout)) r = co_await ReadReply(opt_.command_timeout);
    if (!IsPositive(r.code)) {
      fail_all(SessionFailure(r.code ? Reply{0, "RSET refused", {}} : r, SmtpCommand::kMail));
      Close();
      co_return out;
    }
    needs_rset_ = false;
  }
  const std::string data = DotStuff(m.body ? std::string_view(*m.body) : std::string_view());
  const uint64_t size = data.size();
  if (size_limit_ && size_limit_ != UINT64_MAX && size > size_limit_) {
    RecipientOutcome o;
    o.reply = "552 5.3.4 Message size " + std::to_string(size) + " exceeds the receiver's fixed maximum message size " +
              std::to_string(size_limit_);
    o.command = SmtpCommand::kMail;
    o.scope = ReplyScope::kRecipient;
    fail_all(o);
    co_return out;
  }

  std::string mail = "MAIL FROM:<" + m.mail_from + ">";
  if (size_limit_) mail += " SIZE=" + std::to_string(size);
  mail += "\r\n";
  std::vector<std::string> rcpts;
  for (const auto& r : m.recipients) rcpts.push_back("RCPT TO:<" + r + ">\r\n");

  Reply mail_reply, data_reply;
  std::vector<Reply> rcpt_replies(n);
  size_t accepted = 0;
  if (pipelining_) {
    // RFC 2920: MAIL, every RCPT and DATA in one write; replies in order.
    std::string batch = mail;
    for (const auto& r : rcpts) batch += r;
    batch += "DATA\r\n";
    Enter(SessionState::kMail);
    if (!co_await Write(batch, opt_.command_timeout)) {
      fail_all(SessionFailure(Reply{0, "writing MAIL", {}}, SmtpCommand::kMail));
      Close();
      co_return out;
    }
    mail_reply = co_await ReadReply(opt_.command_timeout);
    Enter(SessionState::kRcpt);
    for (size_t i = 0; i < n && mail_reply.code; ++i) {
      rcpt_replies[i] = co_await ReadReply(opt_.command_timeout);
      if (rcpt_replies[i].code == 0) {
        mail_reply = rcpt_replies[i];  // the session is gone
        mail_reply.code = 0;
        break;
      }
    }
    Enter(SessionState::kData);
    if (mail_reply.code) data_reply = co_await ReadReply(opt_.data_init_timeout);
    if (mail_reply.code && data_reply.code == 0) mail_reply = data_reply;
  } else {
    Enter(SessionState::kMail);
    if (co_await Write(mail, opt_.command_timeout)) mail_reply = co_await ReadReply(opt_.command_timeout);
    if (IsPositive(mail_reply.code)) {
      Enter(SessionState::kRcpt);
      for (size_t i = 0; i < n; ++i) {
        if (co_await Write(rcpts[i], opt_.command_timeout)) rcpt_replies[i] = co_await ReadReply(opt_.command_timeout);
        if (rcpt_replies[i].code == 0) {
          mail_reply = rcpt_replies[i];
          break;
        }
        if (IsPositive(rcpt_replies[i].code)) ++accepted;
      }
      if (mail_reply.code && accepted > 0) {
        Enter(SessionState::kData);
        if (co_await Write("DATA\r\n", opt_.command_timeout)) data_reply = co_await ReadReply(opt_.data_init_timeout);
        if (data_reply.code == 0) mail_reply = data_reply;
      }
    }
  }

  if (mail_reply.code == 0) {  // connection lost or timed out before the body
    fail_all(SessionFailure(mail_reply, SmtpCommand::kMail));
    Close();
    co_return out;
  }
  if (!IsPositive(mail_reply.code)) {
    // The sender (or the session) was refused: the same reply for everyone.
    RecipientOutcome o;
    o.reply = mail_reply.text;
    o.command = SmtpCommand::kMail;
    o.scope = ReplyScope::kSession;
    fail_all(o);
    needs_rset_ = true;
    if (pipelining_ && data_reply.code == 354) {
      bool wrote = co_await Write(".\r\n", opt_.data_block_timeout);
      if (wrote) {
        Reply ignored = co_await ReadReply(opt_.data_end_timeout);
        (void)ignored;
      }
    }
    Enter(SessionState::kReady);
    co_return out;
  }
  accepted = 0;
  for (size_t i = 0; i < n; ++i) {
    if (IsPositive(rcpt_replies[i].code)) {
      ++accepted;
    } else {
      out[i].reply = rcpt_replies[i].text;
      out[i].command = SmtpCommand::kRcpt;
      out[i].scope = ReplyScope::kRecipient;
    }
  }
  if (accepted == 0) {
    if (data_reply.code == 354) {  // a server that accepts DATA with no recipient: end it empty
      bool wrote = co_await Write(".\r\n", opt_.data_block_timeout);
      if (wrote) {
        Reply ignored = co_await ReadReply(opt_.data_end_timeout);
        (void)ignored;
      }
    }
    needs_rset_ = true;
    Enter(SessionState::kReady);
    co_return out;
  }
  if (data_reply.code != 354) {
    RecipientOutcome o;
    o.reply = data_reply.text;
    o.command = SmtpCommand::kData;
    o.scope = ReplyScope::kRecipient;
    fail_all(o);
    needs_rset_ = true;
    Enter(SessionState::kReady);
    co_return out;
  }
  Enter(SessionState::kBody);
  if (!co_await Write(data, opt_.data_block_timeout)) {
    fail_all(SessionFailure(Reply{0, "writing the message body", {}}, SmtpCommand::kData));
    Close();
    co_return out;
  }
  Enter(SessionState::kDataEnd);
  Reply end = co_await ReadReply(opt_.data_end_timeout);
  if (end.code == 0) {
    // The dangerous moment: the server may have taken the message.
    fail_all(SessionFailure(end, SmtpCommand::kDataEnd));
    Close();
    co_return out;
  }
  RecipientOutcome o;
  o.reply = end.text;
  o.command = SmtpCommand::kDataEnd;
  o.scope = ReplyScope::kRecipient;
  fail_all(o);
  ++messages_;
  Enter(SessionState::kReady);
  co_return out;
}

awaitable<void> SmtpSession::Quit() {
  if (usable()) {
    Enter(SessionState::kQuit);
    bool wrote = co_await Write("QUIT\r\n", Ms(5000));
    if (wrote) {
      Reply ignored = co_await ReadReply(Ms(5000));
      (void)ignored;
    }
  }
  Close();
}

}  // namespace rebound::delivery
