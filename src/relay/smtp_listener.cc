// The listener of the submission server: reads the server.* settings, loads
// the TLS certificate, binds, accepts connections, caps sessions in total
// and per client IP, and hands each admitted connection to a session
// (smtp_session.h). It owns everything the sessions borrow; a reload makes
// a new set of it for the sessions to come (Generation).
#include <unistd.h>

#include <utility>  // before Asio: Boost 1.74 awaitable.hpp needs std::exchange

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "relay/event_log.h"
#include "relay/replies.h"
#include "relay/smtp_server.h"
#include "relay/smtp_session.h"
#include "relay/systemd_notify.h"

namespace rebound::relay {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

namespace {

// What the sessions started between two reloads share: their settings and
// the TLS context. A reload makes a new one for the sessions to come; an old
// one goes once its last session has (sessions hold it by reference).
struct Generation {
  SessionContext ctx;
  std::unique_ptr<asio::ssl::context> tls;
  int64_t max_sessions = 0, max_sessions_per_ip = 0;
  int live = 0;  // sessions using it; guarded by Listener::sessions_mu_
};

class Listener final : public SmtpServer {
 public:
  Listener(const Config& config, Store* store)
      : config_(config),
        store_(store),
        acceptor_(ioc_),
        signals_(ioc_, SIGINT, SIGTERM),
        store_pool_(static_cast<size_t>(std::max<int64_t>(1, config.Int("server.store_threads")))),
        auth_pool_(2) {}

  ~Listener() override {
    store_pool_.join();
    auth_pool_.join();
  }

  Status Init() {
    Status s = EventLog::Open(config_.String("server.log"), &log_);
    if (!s.ok()) return s;
    std::unique_ptr<Generation> first;
    s = BuildGeneration(config_, &first);
    if (!s.ok()) return s;
    generations_.push_back(std::move(first));

    // ADDR:PORT, [v6]:PORT
    boost::system::error_code ec;
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
  EventLog& event_log() override { return *log_; }
  void SetQueuedCallback(std::function<void(int64_t)> fn) override {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    on_queued_ = std::move(fn);
    for (auto& g : generations_) g->ctx.on_queued = on_queued_;
  }

  Status Reload(const Config& config) override {
    std::unique_ptr<Generation> next;
    Status s = BuildGeneration(config, &next);
    if (!s.ok()) return s;
    s = log_->Reopen(config.String("server.log"));
    if (!s.ok()) return s;
    std::lock_guard<std::mutex> lock(sessions_mu_);
    next->ctx.on_queued = on_queued_;
    const Generation* current = next.get();
    generations_.push_back(std::move(next));
    // Generations nobody uses any more go now; the others when a later
    // reload finds them idle.
    std::erase_if(generations_, [current](const std::unique_ptr<Generation>& g) {
      return g->live == 0 && g.get() != current;
    });
    return Status::Ok();
  }

  Status Run() override {
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      systemd::NotifyStopping();
      log_->Write({{"event", "stop"}, {"signal", sig}});
      Stop();
    });
    asio::co_spawn(ioc_, Accept(), asio::detached);
    std::string hostname;
    {
      std::lock_guard<std::mutex> lock(sessions_mu_);
      hostname = generations_.back()->ctx.limits.hostname;
    }
    log_->Write({{"event", "listening"},
                 {"address", listen_address_},
                 {"hostname", hostname},
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

 private:
  // The session settings of `c`. data_dir (where a self-signed certificate
  // lives) is the server's own: it needs a restart to change.
  Status BuildGeneration(const Config& c, std::unique_ptr<Generation>* out) {
    auto g = std::make_unique<Generation>();
    SessionLimits& lim = g->ctx.limits;
    lim.hostname = c.String("server.hostname");
    if (lim.hostname.empty()) {
      char buf[256] = {};
      gethostname(buf, sizeof buf - 1);
      lim.hostname = buf[0] ? buf : "localhost";
    }
    g->max_sessions = c.Int("server.max_sessions");
    g->max_sessions_per_ip = c.Int("server.max_sessions_per_ip");
    lim.max_message_size = c.Int("server.max_message_size");
    lim.max_recipients = c.Int("server.max_recipients");
    lim.max_command_line = std::max<int64_t>(512, c.Int("server.max_command_line"));
    lim.max_data_line = std::max<int64_t>(1000, c.Int("server.max_data_line"));
    lim.max_errors = c.Int("server.max_errors");
    lim.max_commands = c.Int("server.max_commands");
    lim.command_timeout = c.Int("server.command_timeout");
    lim.data_timeout = c.Int("server.data_timeout");
    lim.auth_failure_delay_ms = c.Int("server.auth_failure_delay_ms");
    lim.auth_requires_tls = c.Bool("server.auth_requires_tls");
    lim.auth_plaintext_on_loopback = c.Bool("server.auth_plaintext_on_loopback");
    lim.check_sender_domain = c.Bool("server.check_sender_domain");
    lim.loopback_account = c.String("server.loopback_account");
    Status s = ParseContentCheckSettings(c, &g->ctx.content_check);
    if (!s.ok()) return s;

    std::string cert = c.String("server.tls_cert"), key = c.String("server.tls_key");
    if (cert.empty() != key.empty()) return Status::InvalidArgument("server.tls_cert and server.tls_key go together");
    if (cert.empty()) {
      const std::string& data = config_.String("server.data_dir");
      cert = data + "/tls-cert.pem";
      key = data + "/tls-key.pem";
      s = EnsureSelfSignedCertificate(cert, key, lim.hostname);
      if (!s.ok()) return s;
    }
    g->tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    boost::system::error_code ec;
    g->tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    g->tls->use_certificate_chain_file(cert, ec);
    if (!ec) g->tls->use_private_key_file(key, asio::ssl::context::pem, ec);
    // A certificate and a key that do not belong together would fail every handshake.
    if (!ec && SSL_CTX_check_private_key(g->tls->native_handle()) != 1)
      return Status::InvalidArgument(cert + ": the TLS key " + key + " does not match the certificate");
    if (ec) return Status::IoError(cert + ": cannot load the TLS certificate or key: " + ec.message());

    g->ctx.store = store_;
    g->ctx.log = log_.get();
    g->ctx.tls = g->tls.get();
    g->ctx.store_pool = &store_pool_;
    g->ctx.auth_pool = &auth_pool_;
    g->ctx.on_closed = [this, gen = g.get()](const std::string& ip) { Release(gen, ip); };
    *out = std::move(g);
    return Status::Ok();
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
      Generation* generation = Admit(ip);
      if (!generation) {
        log_->Write({{"event", "refused"}, {"session", id}, {"ip", ip}, {"reason", "too many sessions"}});
        auto s = std::make_shared<tcp::socket>(std::move(sock));
        static const std::string kBusy = std::string(kReplyBusy) + "\r\n";
        asio::async_write(*s, asio::buffer(kBusy), [s](const boost::system::error_code&, size_t) {
          boost::system::error_code ignored;
          s->shutdown(tcp::socket::shutdown_both, ignored);
          s->close(ignored);
        });
        continue;
      }
      StartSession(generation->ctx, std::move(sock), id);
    }
  }

  // The generation the new session belongs to (the current one), or null
  // when the caps are reached.
  Generation* Admit(const std::string& ip) {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    Generation* g = generations_.back().get();
    int& per_ip = sessions_per_ip_[ip];
    if (sessions_ >= g->max_sessions || per_ip >= g->max_sessions_per_ip) {
      if (per_ip == 0) sessions_per_ip_.erase(ip);
      return nullptr;
    }
    ++sessions_;
    ++per_ip;
    ++g->live;
    return g;
  }
  void Release(Generation* g, const std::string& ip) {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    --sessions_;
    --g->live;
    auto it = sessions_per_ip_.find(ip);
    if (it != sessions_per_ip_.end() && --it->second <= 0) sessions_per_ip_.erase(it);
  }

  const Config& config_;
  Store* store_;
  // Declared before the event loop so that they outlive it: destroying
  // the io_context destroys the sessions still parked in it, and each one
  // reports its end to Release().
  std::unique_ptr<EventLog> log_;
  std::mutex sessions_mu_;
  int64_t sessions_ = 0;
  std::unordered_map<std::string, int> sessions_per_ip_;
  std::vector<std::unique_ptr<Generation>> generations_;  // back(): the current one
  std::function<void(int64_t)> on_queued_;
  std::string listen_address_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  asio::thread_pool store_pool_;
  asio::thread_pool auth_pool_;
};

}  // namespace

Status SmtpServer::Create(const Config& config, Store* store, std::unique_ptr<SmtpServer>* out) {
  auto server = std::make_unique<Listener>(config, store);
  Status s = server->Init();
  if (!s.ok()) return s;
  *out = std::move(server);
  return Status::Ok();
}

}  // namespace rebound::relay
