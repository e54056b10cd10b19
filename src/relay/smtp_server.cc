// The ESMTP submission server: listener, session caps, and the session state
// machine. Each session runs as a coroutine on its own strand, with a
// watchdog coroutine enforcing the per-state deadline. Blocking work
// (password verification, store commits) runs on thread pools so that the
// event loop never waits for a disk or for argon2.
#include "relay/smtp_server.h"

#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "relay/content_check.h"
#include "relay/password.h"
#include "relay/replies.h"
#include "relay/smtp_command.h"

namespace rebound::relay {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace {


// The session state machine. Entry of each state is in Session::Enter().
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

std::string IsoNow() {
  auto now = std::chrono::system_clock::now();
  time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[96];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
           tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

// JSON Lines log of sessions and decisions, one object per line.
class EventLog {
 public:
  explicit EventLog(FILE* f) : f_(f) {}
  ~EventLog() {
    if (f_ && f_ != stderr) fclose(f_);
  }
  void Write(nlohmann::json j) {
    if (!f_) return;
    j["ts"] = IsoNow();
    std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line += '\n';
    std::lock_guard<std::mutex> lock(mu_);
    fwrite(line.data(), 1, line.size(), f_);
    fflush(f_);
  }

 private:
  FILE* f_;
  std::mutex mu_;
};

struct Limits {
  std::string hostname;
  int64_t max_sessions, max_sessions_per_ip, max_message_size, max_recipients, max_command_line, max_data_line,
      max_errors, max_commands, command_timeout, data_timeout, auth_failure_delay_ms;
  bool auth_requires_tls, auth_plaintext_on_loopback, check_sender_domain;
  std::string loopback_account;
};

class ServerImpl;

// Runs (*fn)() on `pool` and completes on the caller's executor (its
// strand). The callable is passed by pointer and must be a named local of the
// awaiting coroutine: g++ 12 miscompiles non-trivial temporaries (such as
// lambdas capturing strings) inside a co_await expression.
template <typename F, typename Token>
auto AsyncRun(asio::thread_pool& pool, F* fn, Token&& token) {
  using R = std::invoke_result_t<F&>;
  return asio::async_initiate<Token, void(R)>(
      [&pool, fn](auto handler) {
        auto ex = asio::get_associated_executor(handler);
        asio::post(pool, [handler = std::move(handler), fn, ex]() mutable {
          R result = (*fn)();
          asio::post(ex, [handler = std::move(handler), result = std::move(result)]() mutable {
            std::move(handler)(std::move(result));
          });
        });
      },
      token);
}
template <typename F>
auto OffThread(asio::thread_pool& pool, F* fn) {
  return AsyncRun(pool, fn, use_awaitable);
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(ServerImpl* server, tcp::socket sock, uint64_t id);
  ~Session();
  awaitable<void> Run();
  awaitable<std::string> Serve();  // the command loop; returns why it ended
  awaitable<void> Watchdog();
  asio::any_io_executor executor() { return sock_.get_executor(); }

 private:
  enum class ReadStatus { kOk, kTooLong, kClosed, kTimeout };

  // I/O.
  awaitable<ReadStatus> ReadLine(size_t max, std::string_view* line);
  awaitable<bool> Flush();
  void Reply(std::string_view line);
  void SetDeadline(int64_t seconds);
  bool InputPending() const { return in_.find('\n', pos_) != std::string::npos; }

  // The state machine.
  void Enter(SessionState s);
  awaitable<void> Dispatch(std::string_view line);
  void OnEhlo(const Command& c, bool extended);
  awaitable<void> OnAuth(const Command& c);
  awaitable<void> OnStartTls();
  awaitable<void> OnMail(const Command& c);
  awaitable<void> OnRcpt(const Command& c);
  awaitable<void> OnData();
  awaitable<bool> ContentAllows(const std::string& body);
  void ResetTransaction();
  void Refuse(std::string_view reply, const char* decision);
  void Log(nlohmann::json j);

  ServerImpl* server_;
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
  // The current transaction.
  Account account_;
  std::string mail_from_;
  bool smtputf8_ = false;
  std::vector<std::string> rcpts_;
  std::string day_period_, month_period_;
  int64_t used_day_ = 0, used_month_ = 0;
};

class ServerImpl final : public SmtpServer {
 public:
  ServerImpl(const Config& config, Store* store)
      : config_(config),
        store_(store),
        acceptor_(ioc_),
        signals_(ioc_, SIGINT, SIGTERM),
        tls_ctx_(asio::ssl::context::tls_server),
        store_pool_(static_cast<size_t>(std::max<int64_t>(1, config.Int("server.store_threads")))),
        auth_pool_(2) {}

  ~ServerImpl() override {
    store_pool_.join();
    auth_pool_.join();
  }

  Status Init() {
    limits_.hostname = config_.String("server.hostname");
    if (limits_.hostname.empty()) {
      char buf[256] = {};
      gethostname(buf, sizeof buf - 1);
      limits_.hostname = buf[0] ? buf : "localhost";
    }
    limits_.max_sessions = config_.Int("server.max_sessions");
    limits_.max_sessions_per_ip = config_.Int("server.max_sessions_per_ip");
    limits_.max_message_size = config_.Int("server.max_message_size");
    limits_.max_recipients = config_.Int("server.max_recipients");
    limits_.max_command_line = std::max<int64_t>(512, config_.Int("server.max_command_line"));
    limits_.max_data_line = std::max<int64_t>(1000, config_.Int("server.max_data_line"));
    limits_.max_errors = config_.Int("server.max_errors");
    limits_.max_commands = config_.Int("server.max_commands");
    limits_.command_timeout = config_.Int("server.command_timeout");
    limits_.data_timeout = config_.Int("server.data_timeout");
    limits_.auth_failure_delay_ms = config_.Int("server.auth_failure_delay_ms");
    limits_.auth_requires_tls = config_.Bool("server.auth_requires_tls");
    limits_.auth_plaintext_on_loopback = config_.Bool("server.auth_plaintext_on_loopback");
    limits_.check_sender_domain = config_.Bool("server.check_sender_domain");
    limits_.loopback_account = config_.String("server.loopback_account");
    Status cs = ParseContentCheckSettings(config_, &content_check_);
    if (!cs.ok()) return cs;

    const std::string& data = config_.String("server.data_dir");
    const std::string& log = config_.String("server.log");
    FILE* lf = stderr;
    if (log.empty()) lf = nullptr;
    else if (log != "-" && !(lf = fopen(log.c_str(), "a"))) return Status::IoError(log + ": cannot open the log file");
    log_ = std::make_unique<EventLog>(lf);

    std::string cert = config_.String("server.tls_cert"), key = config_.String("server.tls_key");
    if (cert.empty() != key.empty()) return Status::InvalidArgument("server.tls_cert and server.tls_key go together");
    if (cert.empty()) {
      cert = data + "/tls-cert.pem";
      key = data + "/tls-key.pem";
      Status s = EnsureSelfSignedCertificate(cert, key, limits_.hostname);
      if (!s.ok()) return s;
    }
    boost::system::error_code ec;
    tls_ctx_.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    tls_ctx_.use_certificate_chain_file(cert, ec);
    if (!ec) tls_ctx_.use_private_key_file(key, asio::ssl::context::pem, ec);
    if (ec) return Status::IoError(cert + ": cannot load the TLS certificate or key: " + ec.message());

    // ADDR:PORT, [v6]:PORT
    const std::string& listen = config_.String("server.listen");
    size_t colon = listen.rfind(':');
    if (colon == std::string::npos) return Status::InvalidArgument("server.listen: expected ADDR:PORT, got " + listen);
    std::string host = listen.substr(0, colon), port = listen.substr(colon + 1);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    auto addr = asio::ip::make_address(host, ec);
    if (ec) return Status::InvalidArgument("server.listen: bad address '" + host + "'");
    char* end = nullptr;
    long port_num = strtol(port.c_str(), &end, 10);
    if (port.empty() || *end || port_num < 0 || port_num > 65535)
      return Status::InvalidArgument("server.listen: bad port '" + port + "'");
    tcp::endpoint ep(addr, static_cast<unsigned short>(port_num));
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Status::Unavailable("cannot listen on " + listen + ": " + ec.message());
    auto bound = acceptor_.local_endpoint(ec);
    listen_address_ = (bound.address().is_v6() ? "[" + bound.address().to_string() + "]" : bound.address().to_string()) +
                      ":" + std::to_string(bound.port());
    return Status::Ok();
  }

  std::string listen_address() const override { return listen_address_; }
  asio::io_context& io_context() override { return ioc_; }
  void SetQueuedCallback(std::function<void(int64_t)> fn) override { on_queued_ = std::move(fn); }
  void Queued(int64_t message_id) {
    if (on_queued_) on_queued_(message_id);
  }

  Status Run() override {
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      log_->Write({{"event", "stop"}, {"signal", sig}});
      Stop();
    });
    asio::co_spawn(ioc_, Accept(), asio::detached);
    log_->Write({{"event", "listening"},
                 {"address", listen_address_},
                 {"hostname", limits_.hostname},
                 {"data_dir", config_.String("server.data_dir")}});
    const int64_t n = std::max<int64_t>(1, config_.Int("server.threads"));
    std::vector<std::thread> threads;
    for (int64_t i = 1; i < n; ++i) threads.emplace_back([this] { ioc_.run(); });
    ioc_.run();
    for (auto& t : threads) t.join();
    return Status::Ok();
  }

  void Stop() override {
    asio::post(ioc_, [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
      signals_.cancel(ec);
      ioc_.stop();
    });
  }

  awaitable<void> Accept() {
    uint64_t next_id = 1;
    while (acceptor_.is_open()) {
      boost::system::error_code ec;
      tcp::socket sock = co_await acceptor_.async_accept(asio::make_strand(ioc_), asio::redirect_error(use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
        // EMFILE and friends: pause instead of spinning.
        log_->Write({{"event", "accept_error"}, {"error", ec.message()}});
        asio::steady_timer t(ioc_, std::chrono::milliseconds(100));
        co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
        continue;
      }
      std::string ip = sock.remote_endpoint(ec).address().to_string();
      if (ec) continue;
      const uint64_t id = next_id++;
      if (!Admit(ip)) {
        log_->Write({{"event", "refused"}, {"session", id}, {"ip", ip}, {"reason", "too many sessions"}});
        auto s = std::make_shared<tcp::socket>(std::move(sock));
        static const std::string kBusy = "421 4.7.0 Too many connections, try again later\r\n";
        asio::async_write(*s, asio::buffer(kBusy), [s](const boost::system::error_code&, size_t) {
          boost::system::error_code ignored;
          s->shutdown(tcp::socket::shutdown_both, ignored);
          s->close(ignored);
        });
        continue;
      }
      auto session = std::make_shared<Session>(this, std::move(sock), id);
      asio::co_spawn(session->executor(), [session]() { return session->Watchdog(); }, asio::detached);
      asio::co_spawn(session->executor(), [session]() { return session->Run(); }, asio::detached);
    }
  }

  bool Admit(const std::string& ip) {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    int& per_ip = sessions_per_ip_[ip];
    if (sessions_ >= limits_.max_sessions || per_ip >= limits_.max_sessions_per_ip) {
      if (per_ip == 0) sessions_per_ip_.erase(ip);
      return false;
    }
    ++sessions_;
    ++per_ip;
    return true;
  }
  void Release(const std::string& ip) {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    --sessions_;
    auto it = sessions_per_ip_.find(ip);
    if (it != sessions_per_ip_.end() && --it->second <= 0) sessions_per_ip_.erase(it);
  }

  const Limits& limits() const { return limits_; }
  const ContentCheckSettings& content_check() const { return content_check_; }
  Store* store() { return store_; }
  EventLog* log() { return log_.get(); }
  asio::ssl::context& tls_ctx() { return tls_ctx_; }
  asio::thread_pool& store_pool() { return store_pool_; }
  asio::thread_pool& auth_pool() { return auth_pool_; }

 private:
  const Config& config_;
  Store* store_;
  Limits limits_;
  ContentCheckSettings content_check_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  asio::ssl::context tls_ctx_;
  asio::thread_pool store_pool_;
  asio::thread_pool auth_pool_;
  std::unique_ptr<EventLog> log_;
  std::string listen_address_;
  std::function<void(int64_t)> on_queued_;
  std::mutex sessions_mu_;
  int64_t sessions_ = 0;
  std::unordered_map<std::string, int> sessions_per_ip_;
};

// --- Session ---------------------------------------------------------------

Session::Session(ServerImpl* server, tcp::socket sock, uint64_t id)
    : server_(server), sock_(std::move(sock)), timer_(sock_.get_executor()), id_(id) {
  boost::system::error_code ec;
  auto ep = sock_.remote_endpoint(ec);
  ip_ = ep.address().to_string();
  loopback_ = ep.address().is_loopback();
  sock_.set_option(tcp::no_delay(true), ec);
}

Session::~Session() { server_->Release(ip_); }

void Session::Log(nlohmann::json j) {
  j["session"] = id_;
  server_->log()->Write(std::move(j));
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
  if (line.size() >= 1 && (line[0] == '4' || line[0] == '5')) ++errors_;
}

awaitable<bool> Session::Flush() {
  if (out_.empty()) co_return true;
  SetDeadline(server_->limits().command_timeout);
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
      SetDeadline(server_->limits().data_timeout);
      break;
    case SessionState::kMail:
    case SessionState::kRcpt:
    case SessionState::kClosing:
      break;
  }
}

void Session::ResetTransaction() {
  mail_from_.clear();
  rcpts_.clear();
  smtputf8_ = false;
  account_ = Account();
}

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
    Reply("421 4.3.0 Internal error, closing connection");
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
  const Limits& lim = server_->limits();
  Reply("220 " + lim.hostname + " ESMTP Rebound");
  std::string end_reason = "quit";
  while (state_ != SessionState::kClosing) {
    if (!InputPending() && !co_await Flush()) {
      end_reason = "write failed";
      break;
    }
    SetDeadline(lim.command_timeout);
    std::string_view line;
    ReadStatus rs = co_await ReadLine(static_cast<size_t>(lim.max_command_line), &line);
    if (rs == ReadStatus::kTooLong) {
      Reply(kReplyLineTooLong);
      end_reason = "command line too long";
      break;
    }
    if (rs == ReadStatus::kTimeout) {
      Reply("421 4.4.2 " + lim.hostname + " Timeout, closing connection");
      end_reason = "timeout";
      break;
    }
    if (rs == ReadStatus::kClosed) {
      end_reason = "client closed";
      break;
    }
    if (++commands_ > lim.max_commands) {
      Reply("421 4.7.0 Too many commands, closing connection");
      end_reason = "too many commands";
      break;
    }
    co_await Dispatch(line);
    if (state_ != SessionState::kClosing && errors_ >= lim.max_errors) {
      Reply("421 4.7.0 Too many errors, closing connection");
      end_reason = "too many errors";
      break;
    }
  }
  co_return end_reason;
}

awaitable<void> Session::Dispatch(std::string_view line) {
  Command c;
  ParseResult pr = ParseCommand(line, &c);
  if (pr == ParseResult::kUnknownVerb) {
    Refuse(kReplyUnknownCommand, "unknown command");
    co_return;
  }
  if (pr == ParseResult::kBadCharacter) {
    Refuse(kReplyBadCharacter, "bad character");
    co_return;
  }
  if (pr == ParseResult::kSyntax) {
    // A recipient the parser cannot read is the document's invalid rcptto.
    if (c.verb == Verb::kRcpt && (state_ == SessionState::kMail || state_ == SessionState::kRcpt))
      Refuse(kReplyInvalidRcpt, "invalid recipient syntax");
    else
      Refuse(kReplySyntax, "syntax");
    co_return;
  }
  switch (c.verb) {
    case Verb::kEhlo:
    case Verb::kHelo:
      OnEhlo(c, c.verb == Verb::kEhlo);
      break;
    case Verb::kStartTls:
      co_await OnStartTls();
      break;
    case Verb::kAuth:
      co_await OnAuth(c);
      break;
    case Verb::kMail:
      co_await OnMail(c);
      break;
    case Verb::kRcpt:
      co_await OnRcpt(c);
      break;
    case Verb::kData:
      co_await OnData();
      break;
    case Verb::kRset:
      if (state_ != SessionState::kConnected) Enter(SessionState::kReady);
      Reply("250 2.0.0 OK");
      break;
    case Verb::kNoop:
      Reply("250 2.0.0 OK");
      break;
    case Verb::kQuit:
      Reply("221 2.0.0 Bye");
      Enter(SessionState::kClosing);
      break;
    case Verb::kVrfy:
    case Verb::kExpn:
      Refuse("502 5.5.1 VRFY and EXPN are disabled", "vrfy disabled");
      break;
    case Verb::kHelp:
      Reply("214 2.0.0 Commands: EHLO HELO STARTTLS AUTH MAIL RCPT DATA RSET NOOP QUIT");
      break;
    case Verb::kBdat:
      Refuse("502 5.5.1 CHUNKING is not offered", "bdat");
      break;
    case Verb::kUnknown:
      Refuse(kReplyUnknownCommand, "unknown command");
      break;
  }
}

void Session::OnEhlo(const Command& c, bool extended) {
  const Limits& lim = server_->limits();
  helo_ = std::string(c.arg.substr(0, 255));
  Enter(SessionState::kReady);
  if (!extended) {
    Reply("250 " + lim.hostname);
    return;
  }
  std::vector<std::string> lines = {lim.hostname + " Hello " + helo_,
                                    "PIPELINING",
                                    "SIZE " + std::to_string(lim.max_message_size),
                                    "8BITMIME",
                                    "SMTPUTF8",
                                    "ENHANCEDSTATUSCODES"};
  if (!tls_) lines.push_back("STARTTLS");
  if (tls_ || !lim.auth_requires_tls || (loopback_ && lim.auth_plaintext_on_loopback)) lines.push_back("AUTH PLAIN LOGIN");
  for (size_t i = 0; i < lines.size(); ++i) {
    out_ += (i + 1 < lines.size() ? "250-" : "250 ") + lines[i] + "\r\n";
  }
}

awaitable<void> Session::OnStartTls() {
  if (tls_) {
    Refuse("503 5.5.1 TLS already active", "starttls twice");
    co_return;
  }
  if (state_ != SessionState::kReady) {
    Refuse(kReplyBadSequence, "starttls out of sequence");
    co_return;
  }
  Reply("220 2.0.0 Ready to start TLS");
  // Anything pipelined after STARTTLS was sent in clear text: drop it
  // (a command injection otherwise, CVE-2011-0411 style).
  in_.clear();
  pos_ = 0;
  if (!co_await Flush()) {
    Enter(SessionState::kClosing);
    co_return;
  }
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(sock_, server_->tls_ctx());
  boost::system::error_code ec;
  co_await tls_->async_handshake(asio::ssl::stream_base::server, asio::redirect_error(use_awaitable, ec));
  if (ec) {
    Log({{"event", "tls_failed"}, {"error", ec.message()}});
    tls_.reset();
    state_ = SessionState::kClosing;
    co_return;
  }
  Log({{"event", "tls"}, {"version", SSL_get_version(tls_->native_handle())}});
  Enter(SessionState::kConnected);
}

awaitable<void> Session::OnAuth(const Command& c) {
  const Limits& lim = server_->limits();
  if (state_ != SessionState::kReady || !account_name_.empty()) {
    Refuse(kReplyBadSequence, "auth out of sequence");
    co_return;
  }
  if (!tls_ && lim.auth_requires_tls && !(loopback_ && lim.auth_plaintext_on_loopback)) {
    Refuse(kReplyEncryptionRequired, "auth without tls");
    co_return;
  }
  std::string_view arg = c.arg;
  size_t sp = arg.find(' ');
  std::string mech = ToLowerAscii(arg.substr(0, sp));
  std::string_view initial = sp == std::string_view::npos ? std::string_view() : arg.substr(sp + 1);
  std::string user, password;

  // Reads one SASL response line; false when the client cancelled or left.
  auto challenge = [&](std::string_view prompt, std::string* decoded) -> awaitable<bool> {
    Reply(std::string("334 ") + std::string(prompt));
    if (!co_await Flush()) co_return false;
    std::string_view line;
    if (co_await ReadLine(static_cast<size_t>(lim.max_command_line), &line) != ReadStatus::kOk) {
      Enter(SessionState::kClosing);
      co_return false;
    }
    if (line == "*") {
      Refuse("501 5.0.0 Authentication cancelled", "auth cancelled");
      co_return false;
    }
    if (!DecodeBase64(line, decoded)) {
      Refuse("501 5.5.2 Cannot decode the response", "auth bad base64");
      co_return false;
    }
    co_return true;
  };

  std::string decoded;
  if (mech == "plain") {
    if (!initial.empty() && initial != "=") {
      if (!DecodeBase64(initial, &decoded)) {
        Refuse("501 5.5.2 Cannot decode the response", "auth bad base64");
        co_return;
      }
    } else if (!co_await challenge("", &decoded)) {
      co_return;
    }
    if (!ParseSaslPlain(decoded, &user, &password)) {
      Refuse("501 5.5.2 Malformed PLAIN response", "auth malformed");
      co_return;
    }
  } else if (mech == "login") {
    if (!initial.empty()) {
      if (!DecodeBase64(initial, &user)) {
        Refuse("501 5.5.2 Cannot decode the response", "auth bad base64");
        co_return;
      }
    } else if (!co_await challenge("VXNlcm5hbWU6", &user)) {  // "Username:"
      co_return;
    }
    if (!co_await challenge("UGFzc3dvcmQ6", &password)) co_return;  // "Password:"
  } else {
    Refuse("504 5.5.4 Unrecognized authentication type", "auth mechanism");
    co_return;
  }

  Store* store = server_->store();
  auto work = [store, user, password]() {
    Account a;
    return store->GetAccount(user, &a).ok() && VerifyPassword(a.password_hash, password);
  };
  const bool ok = co_await OffThread(server_->auth_pool(), &work);
  if (!ok) {
    asio::steady_timer delay(sock_.get_executor(), std::chrono::milliseconds(lim.auth_failure_delay_ms));
    boost::system::error_code ec;
    co_await delay.async_wait(asio::redirect_error(use_awaitable, ec));
    Refuse(kReplyAuthFailure, "auth failed");
    Log({{"event", "auth"}, {"result", "failure"}, {"user", user.substr(0, 64)}, {"ip", ip_}});
    co_return;
  }
  account_name_ = user;
  Reply("235 2.7.0 Authentication successful");
  Log({{"event", "auth"}, {"result", "success"}, {"user", user}, {"tls", tls_ != nullptr}});
}

awaitable<void> Session::OnMail(const Command& c) {
  const Limits& lim = server_->limits();
  if (state_ == SessionState::kConnected) {
    Refuse("503 5.5.1 Send EHLO or HELO first", "mail before helo");
    co_return;
  }
  if (state_ != SessionState::kReady) {
    Refuse("503 5.5.1 Nested MAIL command", "nested mail");
    co_return;
  }
  std::string name = account_name_;
  if (name.empty() && loopback_ && !lim.loopback_account.empty()) name = lim.loopback_account;
  if (name.empty()) {
    Refuse(kReplyAuthRequired, "auth required");
    co_return;
  }
  bool utf8 = false;
  for (const auto& [k, v] : c.params) {
    std::string key = ToLowerAscii(k);
    if (key == "size") {
      char* end = nullptr;
      std::string val(v);
      unsigned long long n = strtoull(val.c_str(), &end, 10);
      if (val.empty() || *end) {
        Refuse(kReplySyntax, "bad SIZE");
        co_return;
      }
      if (n > static_cast<unsigned long long>(lim.max_message_size)) {
        Refuse(kReplyTooLarge, "declared size over the limit");
        co_return;
      }
    } else if (key == "body") {
      std::string b = ToLowerAscii(v);
      if (b != "7bit" && b != "8bitmime") {
        Refuse("501 5.5.4 BODY must be 7BIT or 8BITMIME", "bad BODY");
        co_return;
      }
    } else if (key == "smtputf8") {
      utf8 = true;
    } else {
      Refuse("555 5.5.4 Unsupported MAIL parameter", "unsupported parameter");
      co_return;
    }
  }
  if (!c.path.empty() && !IsValidMailbox(c.path, utf8)) {
    Refuse(kReplyBadSender, "invalid sender");
    co_return;
  }
  Store* store = server_->store();
  Account account;
  auto work = [store, name, &account]() { return store->GetAccount(name, &account); };
  Status s = co_await OffThread(server_->store_pool(), &work);
  if (!s.ok() || !account.enabled) {
    Refuse(kReplyAccountUnavailable, s.ok() ? "account disabled" : "account missing");
    co_return;
  }
  if (lim.check_sender_domain && !c.path.empty()) {
    const std::string domain = AddressDomain(c.path);
    bool allowed = false;
    for (const auto& d : account.domains) allowed = allowed || d == domain;
    if (!allowed) {
      Refuse(kReplySenderDomain, "sender domain not allowed");
      co_return;
    }
  }
  QuotaPeriods(account.timezone, SystemNow(), &day_period_, &month_period_);
  int64_t used_day = 0, used_month = 0;
  std::string day = day_period_, month = month_period_;
  auto work_usage = [store, name, day, month, &used_day, &used_month]() {
    Status st = store->QuotaUsage(name, day, &used_day);
    return st.ok() ? store->QuotaUsage(name, month, &used_month) : st;
  };
  s = co_await OffThread(server_->store_pool(), &work_usage);
  if (!s.ok()) {
    Refuse(kReplyTempQueueFailure, "store error");
    Log({{"event", "store_error"}, {"error", s.message()}});
    co_return;
  }
  account_ = std::move(account);
  used_day_ = used_day;
  used_month_ = used_month;
  mail_from_ = std::string(c.path);
  smtputf8_ = utf8;
  Enter(SessionState::kMail);
  Reply("250 2.1.0 Sender OK");
}

awaitable<void> Session::OnRcpt(const Command& c) {
  const Limits& lim = server_->limits();
  if (state_ != SessionState::kMail && state_ != SessionState::kRcpt) {
    Refuse("503 5.5.1 Need MAIL before RCPT", "rcpt before mail");
    co_return;
  }
  if (c.path.empty() || !IsValidMailbox(c.path, smtputf8_)) {
    Refuse(kReplyInvalidRcpt, "invalid recipient syntax");
    co_return;
  }
  if (static_cast<int64_t>(rcpts_.size()) >= lim.max_recipients) {
    Refuse(kReplyTooManyRcpts, "too many recipients");
    co_return;
  }
  const int64_t n = static_cast<int64_t>(rcpts_.size()) + 1;
  if (account_.daily_quota > 0 && used_day_ >= account_.daily_quota) {
    Refuse(kReplyDailyQuota, "daily quota exceeded");
    co_return;
  }
  if (account_.monthly_quota > 0 && used_month_ >= account_.monthly_quota) {
    Refuse(kReplyMonthlyQuota, "monthly quota exceeded");
    co_return;
  }
  if ((account_.daily_quota > 0 && used_day_ + n > account_.daily_quota) ||
      (account_.monthly_quota > 0 && used_month_ + n > account_.monthly_quota)) {
    Refuse(kReplyNotEnoughQuota, "not enough quota");
    co_return;
  }
  Store* store = server_->store();
  bool suppressed = false;
  std::string account = account_.name, address(c.path);
  auto work = [store, account, address, &suppressed]() {
    return store->IsSuppressed(account, address, &suppressed);
  };
  Status s = co_await OffThread(server_->store_pool(), &work);
  if (!s.ok()) {
    Refuse(kReplyTempQueueFailure, "store error");
    co_return;
  }
  if (suppressed) {
    Refuse(kReplySuppressed, "suppressed recipient");
    co_return;
  }
  rcpts_.push_back(std::move(address));
  Enter(SessionState::kRcpt);
  Reply("250 2.1.5 Recipient OK");
}

awaitable<void> Session::OnData() {
  const Limits& lim = server_->limits();
  if (state_ == SessionState::kMail) {
    Refuse("554 5.5.1 No valid recipients", "data without recipients");
    co_return;
  }
  if (state_ != SessionState::kRcpt) {
    Refuse(kReplyBadSequence, "data out of sequence");
    co_return;
  }
  Reply("354 End data with <CR><LF>.<CR><LF>");
  if (!co_await Flush()) {
    Enter(SessionState::kClosing);
    co_return;
  }
  Enter(SessionState::kData);
  std::string body;
  bool too_large = false;
  while (true) {
    std::string_view line;
    ReadStatus rs = co_await ReadLine(static_cast<size_t>(lim.max_data_line), &line);
    if (rs != ReadStatus::kOk) {
      // Nothing is queued: the message never ended.
      if (rs == ReadStatus::kTooLong) Reply(kReplyLineTooLong);
      if (rs == ReadStatus::kTimeout) Reply("421 4.4.2 " + lim.hostname + " Timeout during DATA, closing connection");
      Log({{"event", "data_aborted"},
           {"reason", rs == ReadStatus::kTooLong ? "line too long" : rs == ReadStatus::kTimeout ? "timeout" : "client closed"},
           {"bytes", body.size()}});
      Enter(SessionState::kClosing);
      co_return;
    }
    if (line == ".") break;
    if (!line.empty() && line.front() == '.') line.remove_prefix(1);
    if (too_large) continue;
    if (static_cast<int64_t>(body.size() + line.size() + 2) > lim.max_message_size) {
      too_large = true;
      body.clear();
      body.shrink_to_fit();
      continue;
    }
    body.append(line).append("\r\n");
  }
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
  NewMessage m;
  m.account = account_.name;
  m.mail_from = mail_from_;
  m.recipients = rcpts_;
  m.body = std::move(body);
  m.client_ip = ip_;
  m.helo = helo_;
  m.day_period = day_period_;
  m.month_period = month_period_;
  m.daily_limit = account_.daily_quota;
  m.monthly_limit = account_.monthly_quota;
  Store* store = server_->store();
  int64_t message_id = 0;
  const size_t size = m.body.size();
  auto work = [store, &m, &message_id]() { return store->Enqueue(m, &message_id); };
  Status s = co_await OffThread(server_->store_pool(), &work);
  if (s.code() == Status::Code::kUnavailable) {
    Refuse(kReplyNotEnoughQuota, "not enough quota at commit");
  } else if (!s.ok()) {
    Refuse(kReplyTempQueueFailure, "store error");
    Log({{"event", "store_error"}, {"error", s.message()}});
  } else {
    server_->Queued(message_id);
    Reply(kReplyQueued);
    Log({{"event", "queued"},
         {"message_id", message_id},
         {"account", account_.name},
         {"mail_from", mail_from_},
         {"recipients", rcpts_.size()},
         {"size", size}});
  }
  Enter(SessionState::kReady);
}

// The content check between the end of DATA and the commit: true when the
// message may be queued; otherwise the refusal has been replied and logged
// and nothing is queued.
awaitable<bool> Session::ContentAllows(const std::string& body) {
  const ContentCheckSettings& settings = server_->content_check();
  if (!settings.enabled) co_return true;
  ContentCheckRequest request;
  request.client_ip = ip_;
  request.helo = helo_;
  request.mail_from = mail_from_;
  request.user = account_.name;
  request.recipients = rcpts_;
  request.message = &body;
  const ContentDecision d = co_await CheckContent(settings, request);
  nlohmann::json event = {{"event", "content_check"}, {"ms", d.elapsed_ms}, {"account", account_.name}};
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
                            {"reply", reply},        {"account", account_name_},   {"mail_from", mail_from_},
                            {"recipients", rcpts_.size()}};
  if (d.kind == ContentDecision::Kind::kError) {
    refusal["error"] = d.error;
  } else {
    refusal["action"] = d.action;
    refusal["score"] = d.score;
  }
  Log(std::move(refusal));
  co_return false;
}

}  // namespace

Status SmtpServer::Create(const Config& config, Store* store, std::unique_ptr<SmtpServer>* out) {
  auto server = std::make_unique<ServerImpl>(config, store);
  Status s = server->Init();
  if (!s.ok()) return s;
  *out = std::move(server);
  return Status::Ok();
}

}  // namespace rebound::relay
