// One submission session: I/O, the state machine and its verb table, and the
// handlers of each command. Blocking work (password verification, store
// reads and commits) runs on the context's thread pools and resumes on the
// session's strand.
#include "relay/smtp_session.h"

#include <array>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/text.h"
#include "metrics/metrics.h"
#include "relay/on_pool.h"
#include "relay/password.h"
#include "relay/replies.h"
#include "relay/smtp_command.h"
#include "relay/submission.h"

namespace rebound::relay {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace {

// The session state machine. Entry of each state is in Session::Enter();
// which command runs in which state is kVerbRules.
enum class SessionState : uint8_t {
  kConnected,  // greeting sent, waiting for EHLO/HELO
  kReady,      // greeted: AUTH, STARTTLS, MAIL
  kMail,       // MAIL accepted: RCPT
  kRcpt,       // at least one RCPT accepted: more RCPT, DATA
  kData,       // receiving the message
  kClosing,    // QUIT, limits, timeouts: the session ends
};
constexpr std::string_view kSessionStateNames[] = {"connected", "ready", "mail", "rcpt", "data", "closing"};
std::string_view StateName(SessionState s) { return kSessionStateNames[static_cast<int>(s)]; }

// A set of states, one bit each.
using StateSet = uint8_t;
constexpr StateSet In(std::initializer_list<SessionState> states) {
  StateSet set = 0;
  for (SessionState s : states) set = static_cast<StateSet>(set | (1u << static_cast<int>(s)));
  return set;
}
constexpr bool Contains(StateSet set, SessionState s) { return (set >> static_cast<int>(s)) & 1u; }
// Commands are read in these states only (DATA reads the message itself; a
// closing session reads nothing).
constexpr StateSet kAnyState = In({SessionState::kConnected, SessionState::kReady, SessionState::kMail, SessionState::kRcpt});
constexpr StateSet kNoState = 0;

class Session;

// A refusal and the decision the log records with it.
struct Refusal {
  StateSet when = kNoState;  // the states it is said in
  std::string_view reply;
  const char* decision = nullptr;
};

// What a session knows besides its state that may forbid a command.
enum class Guard : uint8_t {
  kNone,
  kTlsInactive,       // STARTTLS once per connection
  kNotAuthenticated,  // AUTH once per session
};

// One row of the verb table: a command runs its handler in the `allowed`
// states when the guard holds; otherwise the session says the first
// refusal that applies.
struct VerbRule {
  Verb verb = Verb::kUnknown;
  StateSet allowed = kNoState;
  awaitable<void> (Session::*handler)(const Command&) = nullptr;
  // Said in the other states: the first whose `when` holds the state.
  std::array<Refusal, 2> out_of_sequence = {};
  Guard guard = Guard::kNone;
  Refusal guard_failed = {};  // said in any state when the guard does not hold
  // Said for arguments the parser could not read, in the `when` states;
  // elsewhere kReplySyntax.
  Refusal bad_arguments = {};
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(const SessionContext& context, tcp::socket sock, uint64_t id);
  ~Session();
  awaitable<void> Run();
  awaitable<void> Watchdog();
  asio::any_io_executor executor() { return sock_.get_executor(); }

  // The handlers of kVerbRules, called only in the states the table allows.
  awaitable<void> OnEhlo(const Command& c);
  awaitable<void> OnHelo(const Command& c);
  awaitable<void> OnStartTls(const Command& c);
  awaitable<void> OnAuth(const Command& c);
  awaitable<void> OnMail(const Command& c);
  awaitable<void> OnRcpt(const Command& c);
  awaitable<void> OnData(const Command& c);
  awaitable<void> OnRset(const Command& c);
  awaitable<void> OnNoop(const Command& c);
  awaitable<void> OnQuit(const Command& c);
  awaitable<void> OnHelp(const Command& c);

 private:
  enum class ReadStatus { kOk, kTooLong, kClosed, kTimeout };

  // I/O.
  awaitable<ReadStatus> ReadLine(size_t max, std::string_view* line);
  awaitable<bool> Flush();
  void Reply(std::string_view line);
  void SetDeadline(int64_t seconds);
  bool InputPending() const { return in_.find('\n', pos_) != std::string::npos; }

  // The state machine.
  awaitable<std::string> Serve();  // the command loop; returns why it ended
  void Enter(SessionState s);
  awaitable<void> Dispatch(std::string_view line);
  bool GuardHolds(Guard g) const;
  void Greet(const Command& c);
  awaitable<bool> Challenge(std::string_view prompt, std::string* decoded);
  awaitable<bool> ContentAllows(const std::string& body);
  void ResetTransaction();
  void Refuse(std::string_view reply, const char* decision);
  void Refuse(const Refusal& r) { Refuse(r.reply, r.decision); }
  void Log(nlohmann::json j);

  const SessionContext& ctx_;
  const SessionLimits& lim_;
  tcp::socket sock_;
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls_;
  asio::steady_timer timer_;
  SteadyClock::time_point deadline_ = SteadyClock::time_point::max();
  bool timed_out_ = false;
  bool closed_ = false;
  uint64_t id_;
  std::string ip_;
  bool loopback_ = false;

  std::string in_;  // unread input starts at pos_
  size_t pos_ = 0;
  std::string out_;

  SessionState state_ = SessionState::kConnected;
  int errors_ = 0;
  int64_t commands_ = 0;
  std::string helo_;
  std::string account_name_;  // authenticated account
  // The current transaction: relay/submission.h's checks, shared with the API.
  SubmissionTransaction txn_;
};

using S = SessionState;

// The verb table (OpenSMTPD's habit): where each command may run, and what
// the session says when it may not. Commands missing here are unknown.
const VerbRule kVerbRules[] = {
    {.verb = Verb::kEhlo, .allowed = kAnyState, .handler = &Session::OnEhlo},
    {.verb = Verb::kHelo, .allowed = kAnyState, .handler = &Session::OnHelo},
    {.verb = Verb::kStartTls,
     .allowed = In({S::kReady}),
     .handler = &Session::OnStartTls,
     .out_of_sequence = {{{kAnyState, kReplyBadSequence, "starttls out of sequence"}}},
     .guard = Guard::kTlsInactive,
     .guard_failed = {kAnyState, kReplyTlsActive, "starttls twice"}},
    {.verb = Verb::kAuth,
     .allowed = In({S::kReady}),
     .handler = &Session::OnAuth,
     .out_of_sequence = {{{kAnyState, kReplyBadSequence, "auth out of sequence"}}},
     .guard = Guard::kNotAuthenticated,
     .guard_failed = {kAnyState, kReplyBadSequence, "auth out of sequence"}},
    {.verb = Verb::kMail,
     .allowed = In({S::kReady}),
     .handler = &Session::OnMail,
     .out_of_sequence = {{{In({S::kConnected}), kReplyHeloFirst, "mail before helo"},
                          {kAnyState, kReplyNestedMail, "nested mail"}}}},
    {.verb = Verb::kRcpt,
     .allowed = In({S::kMail, S::kRcpt}),
     .handler = &Session::OnRcpt,
     .out_of_sequence = {{{kAnyState, kReplyMailFirst, "rcpt before mail"}}},
     // A recipient the parser cannot read is the document's invalid rcptto.
     .bad_arguments = {In({S::kMail, S::kRcpt}), kReplyInvalidRcpt, "invalid recipient syntax"}},
    {.verb = Verb::kData,
     .allowed = In({S::kRcpt}),
     .handler = &Session::OnData,
     .out_of_sequence = {{{In({S::kMail}), kReplyNoRecipients, "data without recipients"},
                          {kAnyState, kReplyBadSequence, "data out of sequence"}}}},
    {.verb = Verb::kRset, .allowed = kAnyState, .handler = &Session::OnRset},
    {.verb = Verb::kNoop, .allowed = kAnyState, .handler = &Session::OnNoop},
    {.verb = Verb::kQuit, .allowed = kAnyState, .handler = &Session::OnQuit},
    {.verb = Verb::kHelp, .allowed = kAnyState, .handler = &Session::OnHelp},
    {.verb = Verb::kVrfy, .allowed = kNoState, .out_of_sequence = {{{kAnyState, kReplyVrfyDisabled, "vrfy disabled"}}}},
    {.verb = Verb::kExpn, .allowed = kNoState, .out_of_sequence = {{{kAnyState, kReplyVrfyDisabled, "vrfy disabled"}}}},
    {.verb = Verb::kBdat, .allowed = kNoState, .out_of_sequence = {{{kAnyState, kReplyNoChunking, "bdat"}}}},
};

const VerbRule* RuleFor(Verb v) {
  for (const VerbRule& r : kVerbRules)
    if (r.verb == v) return &r;
  return nullptr;
}

// --- I/O -------------------------------------------------------------------

Session::Session(const SessionContext& context, tcp::socket sock, uint64_t id)
    : ctx_(context),
      lim_(context.limits),
      sock_(std::move(sock)),
      timer_(sock_.get_executor()),
      id_(id),
      txn_(context.store, SubmissionLimits{.max_message_size = context.limits.max_message_size,
                                           .max_recipients = context.limits.max_recipients,
                                           .check_sender_domain = context.limits.check_sender_domain}) {
  boost::system::error_code ec;
  auto ep = sock_.remote_endpoint(ec);
  ip_ = ep.address().to_string();
  loopback_ = ep.address().is_loopback();
  sock_.set_option(tcp::no_delay(true), ec);
  metrics::SessionOpened("smtp");
}

Session::~Session() {
  metrics::SessionClosed("smtp");
  if (ctx_.on_closed) ctx_.on_closed(ip_);
}

void Session::Log(nlohmann::json j) {
  j["session"] = id_;
  ctx_.log->Write(std::move(j));
}

void Session::SetDeadline(int64_t seconds) {
  auto d = SteadyClock::now() + std::chrono::seconds(seconds);
  if (d < deadline_) timer_.cancel();  // the watchdog re-arms for the earlier deadline
  deadline_ = d;
}

awaitable<void> Session::Watchdog() {
  auto self = shared_from_this();
  boost::system::error_code ec;
  while (!closed_) {
    timer_.expires_at(deadline_);
    co_await timer_.async_wait(asio::redirect_error(use_awaitable, ec));
    if (closed_) break;
    if (SteadyClock::now() >= deadline_) {
      timed_out_ = true;
      deadline_ = SteadyClock::time_point::max();
      sock_.cancel(ec);
    }
  }
}

void Session::Reply(std::string_view line) {
  out_.append(line).append("\r\n");
  if (line.size() >= 1 && (line[0] == '4' || line[0] == '5')) {
    ++errors_;
    metrics::SubmissionRejected("smtp", line);
  }
}

awaitable<bool> Session::Flush() {
  if (out_.empty()) co_return true;
  SetDeadline(lim_.command_timeout);
  boost::system::error_code ec;
  if (tls_) co_await asio::async_write(*tls_, asio::buffer(out_), asio::redirect_error(use_awaitable, ec));
  else co_await asio::async_write(sock_, asio::buffer(out_), asio::redirect_error(use_awaitable, ec));
  out_.clear();
  co_return !ec;
}

awaitable<Session::ReadStatus> Session::ReadLine(size_t max, std::string_view* line) {
  size_t scan = pos_;
  while (true) {
    size_t nl = in_.find('\n', scan);
    if (nl != std::string::npos) {
      size_t len = nl - pos_;
      if (len > max) co_return ReadStatus::kTooLong;
      std::string_view l(in_.data() + pos_, len);
      if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
      *line = l;
      pos_ = nl + 1;
      co_return ReadStatus::kOk;
    }
    if (in_.size() - pos_ > max) co_return ReadStatus::kTooLong;
    // Compact before reading more; views handed out earlier are dead now.
    if (pos_ > 0) {
      in_.erase(0, pos_);
      pos_ = 0;
    }
    scan = in_.size();
    const size_t old = in_.size();
    in_.resize(old + 65536);
    boost::system::error_code ec;
    size_t n;
    if (tls_) n = co_await tls_->async_read_some(asio::buffer(in_.data() + old, 65536), asio::redirect_error(use_awaitable, ec));
    else n = co_await sock_.async_read_some(asio::buffer(in_.data() + old, 65536), asio::redirect_error(use_awaitable, ec));
    in_.resize(old + n);
    if (ec) co_return timed_out_ ? ReadStatus::kTimeout : ReadStatus::kClosed;
  }
}

// --- the state machine -----------------------------------------------------

void Session::Enter(SessionState s) {
  state_ = s;
  switch (s) {
    case SessionState::kConnected:  // after STARTTLS: everything is forgotten
      helo_.clear();
      account_name_.clear();
      ResetTransaction();
      break;
    case SessionState::kReady:
      ResetTransaction();
      break;
    case SessionState::kData:
      SetDeadline(lim_.data_timeout);
      break;
    case SessionState::kMail:
    case SessionState::kRcpt:
    case SessionState::kClosing:
      break;
  }
}

void Session::ResetTransaction() { txn_.Reset(); }

void Session::Refuse(std::string_view reply, const char* decision) {
  Reply(reply);
  Log({{"event", "refuse"}, {"state", StateName(state_)}, {"decision", decision}, {"reply", reply},
       {"account", account_name_}});
}

awaitable<void> Session::Run() {
  auto self = shared_from_this();
  Log({{"event", "connect"}, {"ip", ip_}});
  std::string end_reason;
  try {
    end_reason = co_await Serve();
  } catch (const std::exception& e) {
    // Whatever went wrong inside, the session ends cleanly and nothing of
    // an unfinished transaction was queued.
    end_reason = std::string("internal error: ") + e.what();
    out_.clear();
    Reply(kReplyInternalError);
  }

  timed_out_ = false;
  deadline_ = SteadyClock::time_point::max();
  co_await Flush();
  closed_ = true;
  timer_.cancel();
  boost::system::error_code ec;
  if (tls_) {
    tls_->next_layer().shutdown(tcp::socket::shutdown_both, ec);
  } else {
    sock_.shutdown(tcp::socket::shutdown_both, ec);
  }
  sock_.close(ec);
  Log({{"event", "disconnect"}, {"reason", end_reason}, {"commands", commands_}, {"errors", errors_}});
}

awaitable<std::string> Session::Serve() {
  Reply(kReplyGreeting.With(lim_.hostname));
  std::string end_reason = "quit";
  while (state_ != SessionState::kClosing) {
    if (!InputPending() && !co_await Flush()) {
      end_reason = "write failed";
      break;
    }
    SetDeadline(lim_.command_timeout);
    std::string_view line;
    ReadStatus rs = co_await ReadLine(static_cast<size_t>(lim_.max_command_line), &line);
    if (rs == ReadStatus::kTooLong) {
      Reply(kReplyLineTooLong);
      end_reason = "command line too long";
      break;
    }
    if (rs == ReadStatus::kTimeout) {
      Reply(kReplyTimeout.With(lim_.hostname));
      end_reason = "timeout";
      break;
    }
    if (rs == ReadStatus::kClosed) {
      end_reason = "client closed";
      break;
    }
    if (++commands_ > lim_.max_commands) {
      Reply(kReplyTooManyCommands);
      end_reason = "too many commands";
      break;
    }
    co_await Dispatch(line);
    if (state_ != SessionState::kClosing && errors_ >= lim_.max_errors) {
      Reply(kReplyTooManyErrors);
      end_reason = "too many errors";
      break;
    }
  }
  co_return end_reason;
}

bool Session::GuardHolds(Guard g) const {
  switch (g) {
    case Guard::kNone: return true;
    case Guard::kTlsInactive: return tls_ == nullptr;
    case Guard::kNotAuthenticated: return account_name_.empty();
  }
  return true;
}

awaitable<void> Session::Dispatch(std::string_view line) {
  Command c;
  const ParseResult pr = ParseCommand(line, &c);
  if (pr == ParseResult::kUnknownVerb) {
    Refuse(kReplyUnknownCommand, "unknown command");
    co_return;
  }
  if (pr == ParseResult::kBadCharacter) {
    Refuse(kReplyBadCharacter, "bad character");
    co_return;
  }
  const VerbRule* rule = RuleFor(c.verb);
  if (pr == ParseResult::kSyntax) {
    if (rule && Contains(rule->bad_arguments.when, state_)) Refuse(rule->bad_arguments);
    else Refuse(kReplySyntax, "syntax");
    co_return;
  }
  if (!rule) {
    Refuse(kReplyUnknownCommand, "unknown command");
    co_return;
  }
  if (!GuardHolds(rule->guard)) {
    Refuse(rule->guard_failed);
    co_return;
  }
  if (!Contains(rule->allowed, state_)) {
    for (const Refusal& r : rule->out_of_sequence) {
      if (Contains(r.when, state_)) {
        Refuse(r);
        break;
      }
    }
    co_return;
  }
  co_await (this->*rule->handler)(c);
}

// --- the handlers ----------------------------------------------------------

void Session::Greet(const Command& c) { helo_ = std::string(c.arg.substr(0, 255)); }

awaitable<void> Session::OnHelo(const Command& c) {
  Greet(c);
  Enter(SessionState::kReady);
  Reply(kReplyHelo.With(lim_.hostname));
  co_return;
}

awaitable<void> Session::OnEhlo(const Command& c) {
  Greet(c);
  Enter(SessionState::kReady);
  const bool offer_auth = tls_ || !lim_.auth_requires_tls || (loopback_ && lim_.auth_plaintext_on_loopback);
  Reply(EhloReply(lim_.hostname, helo_, lim_.max_message_size, !tls_, offer_auth));
  co_return;
}

awaitable<void> Session::OnStartTls(const Command&) {
  Reply(kReplyStartTls);
  // Anything pipelined after STARTTLS was sent in clear text: drop it
  // (a command injection otherwise, CVE-2011-0411 style).
  in_.clear();
  pos_ = 0;
  if (!co_await Flush()) {
    Enter(SessionState::kClosing);
    co_return;
  }
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(sock_, *ctx_.tls);
  boost::system::error_code ec;
  co_await tls_->async_handshake(asio::ssl::stream_base::server, asio::redirect_error(use_awaitable, ec));
  if (ec) {
    Log({{"event", "tls_failed"}, {"error", ec.message()}});
    tls_.reset();
    Enter(SessionState::kClosing);
    co_return;
  }
  Log({{"event", "tls"}, {"version", SSL_get_version(tls_->native_handle())}});
  Enter(SessionState::kConnected);
}

// Sends one SASL challenge and reads the response; false when the client
// cancelled, sent something undecodable, or left (the refusal is said).
awaitable<bool> Session::Challenge(std::string_view prompt, std::string* decoded) {
  Reply(prompt);
  if (!co_await Flush()) co_return false;
  std::string_view line;
  if (co_await ReadLine(static_cast<size_t>(lim_.max_command_line), &line) != ReadStatus::kOk) {
    Enter(SessionState::kClosing);
    co_return false;
  }
  if (line == "*") {
    Refuse(kReplyAuthCancelled, "auth cancelled");
    co_return false;
  }
  if (!DecodeBase64(line, decoded)) {
    Refuse(kReplyAuthUndecodable, "auth bad base64");
    co_return false;
  }
  co_return true;
}

awaitable<void> Session::OnAuth(const Command& c) {
  if (!tls_ && lim_.auth_requires_tls && !(loopback_ && lim_.auth_plaintext_on_loopback)) {
    Refuse(kReplyEncryptionRequired, "auth without tls");
    co_return;
  }
  std::string_view arg = c.arg;
  size_t sp = arg.find(' ');
  std::string mech = text::Lower(arg.substr(0, sp));
  std::string_view initial = sp == std::string_view::npos ? std::string_view() : arg.substr(sp + 1);
  std::string user, password;

  std::string decoded;
  if (mech == "plain") {
    if (!initial.empty() && initial != "=") {
      if (!DecodeBase64(initial, &decoded)) {
        Refuse(kReplyAuthUndecodable, "auth bad base64");
        co_return;
      }
    } else if (!co_await Challenge(kReplyAuthChallengePlain, &decoded)) {
      co_return;
    }
    if (!ParseSaslPlain(decoded, &user, &password)) {
      Refuse(kReplyAuthMalformedPlain, "auth malformed");
      co_return;
    }
  } else if (mech == "login") {
    if (!initial.empty()) {
      if (!DecodeBase64(initial, &user)) {
        Refuse(kReplyAuthUndecodable, "auth bad base64");
        co_return;
      }
    } else if (!co_await Challenge(kReplyAuthChallengeUser, &user)) {
      co_return;
    }
    if (!co_await Challenge(kReplyAuthChallengePassword, &password)) co_return;
  } else {
    Refuse(kReplyAuthMechanism, "auth mechanism");
    co_return;
  }

  Store* store = ctx_.store;
  auto work = [store, user, password]() {
    Account a;
    return store->GetAccount(user, &a).ok() && VerifyPassword(a.password_hash, password);
  };
  const bool ok = co_await OnPool(*ctx_.auth_pool, &work);
  if (!ok) {
    asio::steady_timer delay(sock_.get_executor(), std::chrono::milliseconds(lim_.auth_failure_delay_ms));
    boost::system::error_code ec;
    co_await delay.async_wait(asio::redirect_error(use_awaitable, ec));
    Refuse(kReplyAuthFailure, "auth failed");
    Log({{"event", "auth"}, {"result", "failure"}, {"user", user.substr(0, 64)}, {"ip", ip_}});
    co_return;
  }
  account_name_ = user;
  Reply(kReplyAuthSucceeded);
  Log({{"event", "auth"}, {"result", "success"}, {"user", user}, {"tls", tls_ != nullptr}});
}

awaitable<void> Session::OnMail(const Command& c) {
  std::string name = account_name_;
  if (name.empty() && loopback_ && !lim_.loopback_account.empty()) name = lim_.loopback_account;
  if (name.empty()) {
    Refuse(kReplyAuthRequired, "auth required");
    co_return;
  }
  bool utf8 = false;
  for (const auto& [k, v] : c.params) {
    std::string key = text::Lower(k);
    if (key == "size") {
      char* end = nullptr;
      std::string val(v);
      unsigned long long n = strtoull(val.c_str(), &end, 10);
      if (val.empty() || *end) {
        Refuse(kReplySyntax, "bad SIZE");
        co_return;
      }
      if (n > static_cast<unsigned long long>(lim_.max_message_size)) {
        Refuse(kReplyTooLarge, "declared size over the limit");
        co_return;
      }
    } else if (key == "body") {
      std::string b = text::Lower(v);
      if (b != "7bit" && b != "8bitmime") {
        Refuse(kReplyBadBody, "bad BODY");
        co_return;
      }
    } else if (key == "smtputf8") {
      utf8 = true;
    } else {
      Refuse(kReplyUnsupportedParameter, "unsupported parameter");
      co_return;
    }
  }
  const std::string mail_from(c.path);
  const int64_t now = SystemNow();
  SubmissionTransaction* txn = &txn_;
  auto work = [txn, name, mail_from, utf8, now]() { return txn->Begin(name, mail_from, utf8, now); };
  const SubmissionResult r = co_await OnPool(*ctx_.store_pool, &work);
  if (!r.accepted()) {
    Refuse(r.reply, r.decision);
    if (!r.store_error.empty()) Log({{"event", "store_error"}, {"error", r.store_error}});
    co_return;
  }
  Enter(SessionState::kMail);
  Reply(kReplySenderOk);
}

awaitable<void> Session::OnRcpt(const Command& c) {
  SubmissionTransaction* txn = &txn_;
  std::string address(c.path);
  auto work = [txn, address]() { return txn->AddRecipient(address); };
  const SubmissionResult r = co_await OnPool(*ctx_.store_pool, &work);
  if (!r.accepted()) {
    Refuse(r.reply, r.decision);
    co_return;
  }
  Enter(SessionState::kRcpt);
  Reply(kReplyRecipientOk);
}

awaitable<void> Session::OnData(const Command&) {
  Reply(kReplyStartData);
  if (!co_await Flush()) {
    Enter(SessionState::kClosing);
    co_return;
  }
  Enter(SessionState::kData);
  std::string body;
  bool too_large = false;
  while (true) {
    std::string_view line;
    ReadStatus rs = co_await ReadLine(static_cast<size_t>(lim_.max_data_line), &line);
    if (rs != ReadStatus::kOk) {
      // Nothing is queued: the message never ended.
      if (rs == ReadStatus::kTooLong) Reply(kReplyLineTooLong);
      if (rs == ReadStatus::kTimeout) Reply(kReplyDataTimeout.With(lim_.hostname));
      Log({{"event", "data_aborted"},
           {"reason", rs == ReadStatus::kTooLong ? "line too long" : rs == ReadStatus::kTimeout ? "timeout" : "client closed"},
           {"bytes", body.size()}});
      Enter(SessionState::kClosing);
      co_return;
    }
    if (line == ".") break;
    if (!line.empty() && line.front() == '.') line.remove_prefix(1);
    if (too_large) continue;
    if (static_cast<int64_t>(body.size() + line.size() + 2) > lim_.max_message_size) {
      too_large = true;
      body.clear();
      body.shrink_to_fit();
      continue;
    }
    body.append(line).append("\r\n");
  }
  const auto data_ended = SteadyClock::now();
  if (too_large) {
    Refuse(kReplyTooLarge, "message too large");
    Enter(SessionState::kReady);
    co_return;
  }
  const bool allowed = co_await ContentAllows(body);
  if (!allowed) {
    Enter(SessionState::kReady);
    co_return;
  }
  SubmissionTransaction* txn = &txn_;
  int64_t message_id = 0;
  const size_t size = body.size();
  const std::string ip = ip_, helo = helo_;
  auto work = [txn, &body, ip, helo, &message_id]() { return txn->Enqueue(std::move(body), ip, helo, &message_id); };
  const SubmissionResult r = co_await OnPool(*ctx_.store_pool, &work);
  if (!r.accepted()) {
    Refuse(r.reply, r.decision);
    if (!r.store_error.empty()) Log({{"event", "store_error"}, {"error", r.store_error}});
  } else {
    if (ctx_.on_queued) ctx_.on_queued(message_id);
    Reply(kReplyQueued);
    metrics::MessageAccepted("smtp");
    metrics::SubmissionLatency("smtp", std::chrono::duration<double>(SteadyClock::now() - data_ended).count());
    Log({{"event", "queued"},
         {"message_id", message_id},
         {"account", txn_.account().name},
         {"mail_from", txn_.mail_from()},
         {"recipients", txn_.recipients().size()},
         {"size", size}});
  }
  Enter(SessionState::kReady);
}

// The content check between the end of DATA and the commit: true when the
// message may be queued; otherwise the refusal has been replied and logged
// and nothing is queued.
awaitable<bool> Session::ContentAllows(const std::string& body) {
  const ContentCheckSettings& settings = ctx_.content_check;
  if (!settings.enabled) co_return true;
  ContentCheckRequest request;
  request.client_ip = ip_;
  request.helo = helo_;
  request.mail_from = txn_.mail_from();
  request.user = txn_.account().name;
  request.recipients = txn_.recipients();
  request.message = &body;
  const ContentDecision d = co_await CheckContent(settings, request);
  nlohmann::json event = {{"event", "content_check"}, {"ms", d.elapsed_ms}, {"account", txn_.account().name}};
  if (d.kind == ContentDecision::Kind::kError) {
    event["error"] = d.error;
    event["on_error"] = settings.tempfail_on_error ? "tempfail" : "accept";
  } else {
    event["action"] = d.action;
    event["score"] = d.score;
    event["required_score"] = d.required_score;
  }
  Log(std::move(event));
  std::string_view reply;
  const char* decision = nullptr;
  switch (d.kind) {
    case ContentDecision::Kind::kAccept:
      co_return true;
    case ContentDecision::Kind::kError:
      if (!settings.tempfail_on_error) co_return true;
      reply = kReplyContentCheckUnavailable;
      decision = "content check unavailable";
      break;
    case ContentDecision::Kind::kReject:
      reply = kReplyContentSpam;
      decision = "content spam";
      break;
    case ContentDecision::Kind::kTempfail:
      reply = kReplyContentDeferred;
      decision = "content deferred";
      break;
  }
  Reply(reply);
  nlohmann::json refusal = {{"event", "refuse"},     {"state", StateName(state_)}, {"decision", decision},
                            {"reply", reply},        {"account", account_name_},   {"mail_from", txn_.mail_from()},
                            {"recipients", txn_.recipients().size()}};
  if (d.kind == ContentDecision::Kind::kError) {
    refusal["error"] = d.error;
  } else {
    refusal["action"] = d.action;
    refusal["score"] = d.score;
  }
  Log(std::move(refusal));
  co_return false;
}

awaitable<void> Session::OnRset(const Command&) {
  if (state_ != SessionState::kConnected) Enter(SessionState::kReady);
  Reply(kReplyOk);
  co_return;
}

awaitable<void> Session::OnNoop(const Command&) {
  Reply(kReplyOk);
  co_return;
}

awaitable<void> Session::OnQuit(const Command&) {
  Reply(kReplyBye);
  Enter(SessionState::kClosing);
  co_return;
}

awaitable<void> Session::OnHelp(const Command&) {
  Reply(kReplyHelp);
  co_return;
}

}  // namespace

void StartSession(const SessionContext& context, tcp::socket socket, uint64_t id) {
  auto session = std::make_shared<Session>(context, std::move(socket), id);
  asio::co_spawn(session->executor(), [session]() { return session->Watchdog(); }, asio::detached);
  asio::co_spawn(session->executor(), [session]() { return session->Run(); }, asio::detached);
}

}  // namespace rebound::relay
