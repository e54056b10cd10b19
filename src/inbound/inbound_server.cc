// The return path's SMTP listener: accept loop, admission (sessions per
// address, the per-address token bucket) and the session, a small state
// machine of its own (no AUTH, no TLS, RCPT checked against the return
// paths). Commands are parsed by relay/smtp_command.h and every reply is a
// constant of relay/replies.h.
#include "inbound/inbound_server.h"

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp needs std::exchange

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "core/text.h"
#include "relay/event_log.h"
#include "relay/on_pool.h"
#include "relay/replies.h"
#include "relay/smtp_command.h"

namespace rebound::inbound {

namespace asio = boost::asio;
using relay::OnPool;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using relay::Verb;

namespace {

constexpr size_t kMaxCommandLine = 512;  // RFC 5321 4.5.3.1.4
// RFC 5321 says 1000 with CRLF; some bounce generators write longer lines,
// so allow a few times that, still bounded.
constexpr size_t kMaxDataLine = 8192;

Status ParseListen(const std::string& listen, tcp::endpoint* out) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return Status::InvalidArgument("inbound.listen: expected ADDR:PORT, got '" + listen + "'");
  std::string host = listen.substr(0, colon), port = listen.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("inbound.listen: bad address '" + host + "'");
  char* end = nullptr;
  const long p = strtol(port.c_str(), &end, 10);
  if (port.empty() || *end || p < 0 || p > 65535) return Status::InvalidArgument("inbound.listen: bad port '" + port + "'");
  *out = tcp::endpoint(addr, static_cast<unsigned short>(p));
  return Status::Ok();
}

struct Bucket {
  double tokens = 0;
  SteadyClock::time_point at;
};

}  // namespace

struct InboundServer::State {
  State(asio::io_context& io, InboundOptions o) : opt(std::move(o)), acceptor(io) {}
  InboundOptions opt;
  relay::Store* store = nullptr;
  std::shared_ptr<const ReturnPathCodec> codec;
  std::unique_ptr<BounceDisposer> disposer;  // used on `pool` only
  std::shared_ptr<relay::EventLog> log;
  std::unique_ptr<asio::thread_pool> pool;
  tcp::acceptor acceptor;
  std::string listen_address;
  std::atomic<uint64_t> next_session{1};

  std::mutex mu;
  int64_t sessions = 0;
  std::unordered_map<std::string, int> per_ip;
  std::unordered_map<std::string, Bucket> buckets;

  void Log(nlohmann::json j) {
    if (!log) return;
    j["part"] = "inbound";
    log->Write(std::move(j));
  }
  bool Admit(const std::string& ip) {
    std::lock_guard<std::mutex> lock(mu);
    int& n = per_ip[ip];
    if (sessions >= opt.max_sessions || n >= opt.max_sessions_per_ip) {
      if (n == 0) per_ip.erase(ip);
      return false;
    }
    ++sessions;
    ++n;
    return true;
  }
  void Release(const std::string& ip) {
    std::lock_guard<std::mutex> lock(mu);
    --sessions;
    auto it = per_ip.find(ip);
    if (it != per_ip.end() && --it->second <= 0) per_ip.erase(it);
  }
  // One transaction's token from ip's bucket (capacity rate_per_minute,
  // refilled at rate_per_minute a minute).
  bool TakeToken(const std::string& ip) {
    const double capacity = static_cast<double>(std::max<int64_t>(1, opt.rate_per_minute));
    const auto now = SteadyClock::now();
    std::lock_guard<std::mutex> lock(mu);
    if (buckets.size() > 100000) {
      // Forget the addresses whose buckets have refilled: they are as new.
      for (auto it = buckets.begin(); it != buckets.end();) {
        const double secs = std::chrono::duration<double>(now - it->second.at).count();
        it = it->second.tokens + secs * capacity / 60 >= capacity ? buckets.erase(it) : std::next(it);
      }
    }
    auto [it, fresh] = buckets.try_emplace(ip, Bucket{capacity, now});
    Bucket& b = it->second;
    if (!fresh) {
      const double secs = std::chrono::duration<double>(now - b.at).count();
      b.tokens = std::min(capacity, b.tokens + secs * capacity / 60);
      b.at = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
};

namespace {

enum class Phase : uint8_t { kConnected, kGreeted, kMail, kRcpt, kClosing };
enum class ReadStatus : uint8_t { kOk, kTooLong, kTimeout, kClosed };

// What checking one RCPT against the queue found.
enum class Known : uint8_t { kYes, kNo, kInFlight, kStoreError };

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<InboundServer::State> st, tcp::socket sock, std::string ip, uint64_t id)
      : st_(std::move(st)), sock_(std::move(sock)), timer_(sock_.get_executor()), ip_(std::move(ip)), id_(id) {}

  // The coroutines hold the session through their `self` parameter.
  void Start() { asio::co_spawn(sock_.get_executor(), Run(shared_from_this()), asio::detached); }

 private:
  awaitable<void> Run(std::shared_ptr<Session> self) {
    (void)self;
    asio::co_spawn(sock_.get_executor(), Watchdog(self), asio::detached);
    Log({{"event", "connect"}, {"ip", ip_}});
    std::string why;
    try {
      why = co_await Serve();
    } catch (const std::exception& e) {
      why = std::string("internal error: ") + e.what();
      out_.clear();
      Reply(relay::kReplyInternalError);
    }
    deadline_ = SteadyClock::now() + std::chrono::seconds(10);
    co_await Flush();
    closed_ = true;
    timer_.cancel();
    boost::system::error_code ec;
    sock_.shutdown(tcp::socket::shutdown_both, ec);
    sock_.close(ec);
    st_->Release(ip_);
    Log({{"event", "disconnect"}, {"reason", why}, {"commands", commands_}, {"errors", errors_}});
  }

  void Log(nlohmann::json j) {
    j["session"] = id_;
    st_->Log(std::move(j));
  }
  void Reply(std::string_view line) {
    out_.append(line).append("\r\n");
    if (!line.empty() && (line[0] == '4' || line[0] == '5')) ++errors_;
  }
  void Refuse(std::string_view reply, std::string_view why) {
    Reply(reply);
    Log({{"event", "refuse"}, {"reply", reply}, {"why", why}, {"ip", ip_}});
  }
  void SetDeadline(int64_t seconds) {
    auto d = SteadyClock::now() + std::chrono::seconds(seconds);
    if (d < deadline_) timer_.cancel();  // re-armed by the watchdog for the earlier time
    deadline_ = d;
  }
  awaitable<void> Watchdog(std::shared_ptr<Session> self) {
    (void)self;
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
  awaitable<bool> Flush() {
    if (out_.empty()) co_return true;
    boost::system::error_code ec;
    co_await asio::async_write(sock_, asio::buffer(out_), asio::redirect_error(use_awaitable, ec));
    out_.clear();
    co_return !ec;
  }
  bool InputPending() const { return in_.find('\n', pos_) != std::string::npos; }
  awaitable<ReadStatus> ReadLine(size_t max, std::string_view* line) {
    size_t scan = pos_;
    while (true) {
      const size_t nl = in_.find('\n', scan);
      if (nl != std::string::npos) {
        if (nl - pos_ > max) co_return ReadStatus::kTooLong;
        std::string_view l(in_.data() + pos_, nl - pos_);
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        *line = l;
        pos_ = nl + 1;
        co_return ReadStatus::kOk;
      }
      if (in_.size() - pos_ > max) co_return ReadStatus::kTooLong;
      in_.erase(0, pos_);
      pos_ = 0;
      scan = in_.size();
      const size_t old = in_.size();
      in_.resize(old + 16384);
      boost::system::error_code ec;
      const size_t n =
          co_await sock_.async_read_some(asio::buffer(in_.data() + old, 16384), asio::redirect_error(use_awaitable, ec));
      in_.resize(old + n);
      if (ec) co_return timed_out_ ? ReadStatus::kTimeout : ReadStatus::kClosed;
    }
  }

  awaitable<std::string> Serve() {
    const InboundOptions& o = st_->opt;
    Reply(relay::kReplyGreeting.With(o.hostname));
    while (phase_ != Phase::kClosing) {
      if (!InputPending() && !co_await Flush()) co_return "write failed";
      SetDeadline(o.command_timeout);
      std::string_view line;
      const ReadStatus rs = co_await ReadLine(kMaxCommandLine, &line);
      if (rs == ReadStatus::kTooLong) {
        Reply(relay::kReplyLineTooLong);
        co_return "command line too long";
      }
      if (rs == ReadStatus::kTimeout) {
        Reply(relay::kReplyTimeout.With(o.hostname));
        co_return "timeout";
      }
      if (rs == ReadStatus::kClosed) co_return "client closed";
      if (++commands_ > o.max_commands) {
        Reply(relay::kReplyTooManyCommands);
        co_return "too many commands";
      }
      co_await Dispatch(line);
      if (phase_ != Phase::kClosing && errors_ >= o.max_errors) {
        Reply(relay::kReplyTooManyErrors);
        co_return "too many errors";
      }
    }
    co_return end_reason_;
  }

  void ResetTransaction() {
    mail_from_.clear();
    targets_.clear();
    if (phase_ == Phase::kMail || phase_ == Phase::kRcpt) phase_ = Phase::kGreeted;
  }

  awaitable<void> Dispatch(std::string_view line) {
    relay::Command c;
    switch (relay::ParseCommand(line, &c)) {
      case relay::ParseResult::kOk: break;
      case relay::ParseResult::kUnknownVerb: Reply(relay::kReplyUnknownCommand); co_return;
      case relay::ParseResult::kBadCharacter: Reply(relay::kReplyBadCharacter); co_return;
      case relay::ParseResult::kSyntax: Reply(relay::kReplySyntax); co_return;
    }
    switch (c.verb) {
      case Verb::kEhlo:
      case Verb::kHelo:
        ResetTransaction();
        helo_ = std::string(c.arg.substr(0, 255));
        phase_ = Phase::kGreeted;
        Reply(c.verb == Verb::kEhlo ? relay::EhloReply(st_->opt.hostname, helo_, st_->opt.max_message_size, false, false)
                                    : relay::kReplyHelo.With(st_->opt.hostname));
        co_return;
      case Verb::kMail: OnMail(c); co_return;
      case Verb::kRcpt: co_await OnRcpt(c); co_return;
      case Verb::kData: co_await OnData(); co_return;
      case Verb::kRset:
        ResetTransaction();
        Reply(relay::kReplyOk);
        co_return;
      case Verb::kNoop:
      case Verb::kHelp: Reply(relay::kReplyOk); co_return;
      case Verb::kQuit:
        Reply(relay::kReplyBye);
        phase_ = Phase::kClosing;
        end_reason_ = "quit";
        co_return;
      case Verb::kVrfy:
      case Verb::kExpn: Reply(relay::kReplyVrfyDisabled); co_return;
      case Verb::kBdat: Reply(relay::kReplyNoChunking); co_return;
      case Verb::kStartTls:
      case Verb::kAuth:
      case Verb::kUnknown: Reply(relay::kReplyUnknownCommand); co_return;
    }
  }

  void OnMail(const relay::Command& c) {
    if (phase_ == Phase::kConnected) return Reply(relay::kReplyHeloFirst);
    if (phase_ != Phase::kGreeted) return Reply(relay::kReplyNestedMail);
    for (const auto& [key, value] : c.params) {
      if (text::IEquals(key, "SIZE")) {
        char* end = nullptr;
        const std::string v(value);
        const long long size = strtoll(v.c_str(), &end, 10);
        if (!v.empty() && *end == 0 && size > st_->opt.max_message_size)
          return Refuse(relay::kReplyBounceTooLarge, "declared size over the limit");
      }
    }
    if (!st_->TakeToken(ip_)) {
      Refuse(relay::kReplyBounceFlood, "rate limit");
      phase_ = Phase::kClosing;
      end_reason_ = "rate limit";
      return;
    }
    mail_from_ = std::string(c.path);
    phase_ = Phase::kMail;
    Reply(relay::kReplySenderOk);
  }

  awaitable<void> OnRcpt(const relay::Command& c) {
    if (phase_ != Phase::kMail && phase_ != Phase::kRcpt) {
      Reply(phase_ == Phase::kConnected ? relay::kReplyHeloFirst : relay::kReplyMailFirst);
      co_return;
    }
    if (static_cast<int64_t>(targets_.size()) >= st_->opt.max_recipients) {
      Refuse(relay::kReplyTooManyRcpts, "too many recipients");
      co_return;
    }
    ReturnPathIds ids;
    const std::string address(c.path);
    const ReturnPathCheck check = st_->codec->Decode(address, &ids);
    if (check != ReturnPathCheck::kOk) {
      Refuse(check == ReturnPathCheck::kBadMac ? relay::kReplyForgedReturnPath : relay::kReplyNotReturnPath,
             ReturnPathCheckName(check));
      Log({{"event", "rcpt_refused"}, {"rcpt", address.substr(0, 254)}, {"check", ReturnPathCheckName(check)}});
      co_return;
    }
    relay::Store* store = st_->store;
    const int64_t oldest = st_->opt.accept_days > 0 ? Now() - st_->opt.accept_days * 86400 : 0;
    const int64_t now = Now();
    auto lookup = [store, &ids, oldest, now]() {
      relay::MessageInfo info;
      Status s = store->GetMessageInfo(ids.message_id, &info);
      if (s.code() == Status::Code::kNotFound) return Known::kNo;
      if (!s.ok()) return Known::kStoreError;
      if (info.queued_at < oldest) return Known::kNo;
      for (const auto& r : info.recipients)
        if (r.id == ids.recipient_id) return DeliveryInFlight(r, now) ? Known::kInFlight : Known::kYes;
      return Known::kNo;
    };
    const Known known = co_await OnPool(*st_->pool, &lookup);
    if (known == Known::kStoreError) {
      Refuse(relay::kReplyTempQueueFailure, "store error at RCPT");
      co_return;
    }
    if (known == Known::kInFlight) {
      Refuse(relay::kReplyBounceTooEarly, "delivery still in flight");
      co_return;
    }
    if (known == Known::kNo) {
      Refuse(relay::kReplyUnknownBouncedMessage, "unknown message or recipient");
      Log({{"event", "rcpt_refused"}, {"rcpt", address}, {"message_id", ids.message_id},
           {"recipient_id", ids.recipient_id}, {"check", "unknown ids"}});
      co_return;
    }
    const bool seen = std::any_of(targets_.begin(), targets_.end(),
                                  [&](const ReturnPathIds& t) { return t.recipient_id == ids.recipient_id; });
    if (!seen) targets_.push_back(std::move(ids));
    phase_ = Phase::kRcpt;
    Reply(relay::kReplyRecipientOk);
  }

  awaitable<void> OnData() {
    if (phase_ != Phase::kRcpt) {
      Reply(phase_ == Phase::kMail ? relay::kReplyNoRecipients
                                   : phase_ == Phase::kConnected ? relay::kReplyHeloFirst : relay::kReplyMailFirst);
      co_return;
    }
    Reply(relay::kReplyStartData);
    if (!co_await Flush()) {
      phase_ = Phase::kClosing;
      end_reason_ = "write failed";
      co_return;
    }
    SetDeadline(st_->opt.data_timeout);
    InboundMail mail;
    bool too_large = false;
    int64_t size = 0;
    while (true) {
      std::string_view line;
      const ReadStatus rs = co_await ReadLine(kMaxDataLine, &line);
      if (rs != ReadStatus::kOk) {
        if (rs == ReadStatus::kTooLong) Reply(relay::kReplyLineTooLong);
        if (rs == ReadStatus::kTimeout) Reply(relay::kReplyDataTimeout.With(st_->opt.hostname));
        Log({{"event", "data_aborted"},
             {"reason", rs == ReadStatus::kTooLong ? "line too long" : rs == ReadStatus::kTimeout ? "timeout" : "client closed"},
             {"bytes", size}});
        phase_ = Phase::kClosing;
        end_reason_ = "data aborted";
        co_return;
      }
      if (line == ".") break;
      if (!line.empty() && line.front() == '.') line.remove_prefix(1);
      size += static_cast<int64_t>(line.size() + 2);
      if (too_large) continue;
      if (size > st_->opt.max_message_size) {
        too_large = true;
        std::string().swap(mail.body);
        continue;
      }
      mail.body.append(line).append("\r\n");
    }
    if (too_large) {
      Refuse(relay::kReplyBounceTooLarge, "message over the size limit");
      Log({{"event", "too_large"}, {"bytes", size}, {"limit", st_->opt.max_message_size}});
      ResetTransaction();
      co_return;
    }
    mail.client_ip = ip_;
    mail.helo = helo_;
    mail.mail_from = mail_from_;
    mail.targets = targets_;
    BounceDisposer* disposer = st_->disposer.get();
    std::vector<Disposal> disposals;
    auto work = [disposer, &mail, &disposals]() { return disposer->Dispose(mail, &disposals); };
    const Status s = co_await OnPool(*st_->pool, &work);
    if (s.code() == Status::Code::kUnavailable) {
      Refuse(relay::kReplyBounceTooEarly, "delivery still in flight");
    } else if (!s.ok()) {
      Refuse(relay::kReplyTempQueueFailure, "could not record the bounce");
      Log({{"event", "store_error"}, {"error", s.message()}});
    } else {
      Reply(relay::kReplyOk);
      for (const auto& d : disposals)
        Log({{"event", "inbound"},
             {"decision", d.decision},
             {"message_id", d.message_id},
             {"recipient_id", d.recipient_id},
             {"recipient", d.recipient},
             {"category", d.category},
             {"reply", d.reply},
             {"suppression", d.suppression},
             {"ip", ip_},
             {"mail_from", mail_from_},
             {"bytes", size}});
    }
    ResetTransaction();
  }

  int64_t Now() const { return st_->opt.clock ? st_->opt.clock() : relay::SystemNow(); }

  std::shared_ptr<InboundServer::State> st_;
  tcp::socket sock_;
  asio::steady_timer timer_;
  std::string ip_;
  uint64_t id_;
  Phase phase_ = Phase::kConnected;
  std::string end_reason_ = "quit";
  std::string in_, out_;
  size_t pos_ = 0;
  std::string helo_, mail_from_;
  std::vector<ReturnPathIds> targets_;
  int64_t commands_ = 0, errors_ = 0;
  SteadyClock::time_point deadline_ = SteadyClock::time_point::max();
  bool closed_ = false, timed_out_ = false;
};

awaitable<void> Accept(std::shared_ptr<InboundServer::State> st) {
  auto& io = static_cast<asio::io_context&>(st->acceptor.get_executor().context());
  while (st->acceptor.is_open()) {
    boost::system::error_code ec;
    tcp::socket sock = co_await st->acceptor.async_accept(asio::make_strand(io), asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !st->acceptor.is_open()) co_return;
      st->Log({{"event", "accept_error"}, {"error", ec.message()}});
      asio::steady_timer pause(io, std::chrono::milliseconds(100));  // EMFILE: wait rather than spin
      co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
      continue;
    }
    std::string ip = sock.remote_endpoint(ec).address().to_string();
    if (ec) continue;
    const uint64_t id = st->next_session++;
    if (!st->Admit(ip)) {
      st->Log({{"event", "refused"}, {"session", id}, {"ip", ip}, {"reason", "too many sessions"}});
      auto s = std::make_shared<tcp::socket>(std::move(sock));
      static const std::string kBusy = std::string(relay::kReplyBusy) + "\r\n";
      asio::async_write(*s, asio::buffer(kBusy), [s](const boost::system::error_code&, size_t) {
        boost::system::error_code ignored;
        s->shutdown(tcp::socket::shutdown_both, ignored);
        s->close(ignored);
      });
      continue;
    }
    auto session = std::make_shared<Session>(st, std::move(sock), ip, id);
    session->Start();
  }
}

}  // namespace

Status InboundServer::Start(asio::io_context& io, const InboundOptions& options, relay::Store* store,
                            std::shared_ptr<const ReturnPathCodec> codec, std::unique_ptr<BounceDisposer> disposer,
                            std::shared_ptr<relay::EventLog> log, std::unique_ptr<InboundServer>* out) {
  auto st = std::make_shared<State>(io, options);
  st->store = store;
  st->codec = std::move(codec);
  st->disposer = std::move(disposer);
  st->log = std::move(log);
  st->pool = std::make_unique<asio::thread_pool>(1);
  tcp::endpoint ep;
  Status s = ParseListen(options.listen, &ep);
  if (!s.ok()) return s;
  boost::system::error_code ec;
  st->acceptor.open(ep.protocol(), ec);
  if (!ec) st->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) st->acceptor.bind(ep, ec);
  if (!ec) st->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable("cannot listen on " + options.listen + ": " + ec.message());
  auto bound = st->acceptor.local_endpoint(ec);
  st->listen_address =
      (bound.address().is_v6() ? "[" + bound.address().to_string() + "]" : bound.address().to_string()) + ":" +
      std::to_string(bound.port());
  asio::co_spawn(io, Accept(st), asio::detached);
  st->Log({{"event", "listening"}, {"address", st->listen_address}});
  out->reset(new InboundServer(std::move(st)));
  return Status::Ok();
}

InboundServer::~InboundServer() {
  // Stop accepting (on the loop's thread when it still runs), then let the
  // bounce in hand finish.
  auto st = state_;
  asio::post(st->acceptor.get_executor(), [st] {
    boost::system::error_code ec;
    st->acceptor.close(ec);
  });
  st->pool->join();
}

std::string InboundServer::listen_address() const { return state_->listen_address; }

}  // namespace rebound::inbound
