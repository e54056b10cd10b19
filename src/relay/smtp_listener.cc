// The listener of the submission server: reads the server.* settings, loads
// the TLS certificate, binds, accepts connections, caps sessions in total
// and per client IP, and hands each admitted connection to a session
// (smtp_session.h). It owns everything the sessions borrow.
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

namespace rebound::relay {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

namespace {

class Listener final : public SmtpServer {
 public:
  Listener(const Config& config, Store* store)
      : config_(config),
        acceptor_(ioc_),
        signals_(ioc_, SIGINT, SIGTERM),
        tls_ctx_(asio::ssl::context::tls_server),
        store_pool_(static_cast<size_t>(std::max<int64_t>(1, config.Int("server.store_threads")))),
        auth_pool_(2) {
    sessions_ctx_.store = store;
    sessions_ctx_.tls = &tls_ctx_;
    sessions_ctx_.store_pool = &store_pool_;
    sessions_ctx_.auth_pool = &auth_pool_;
    sessions_ctx_.on_closed = [this](const std::string& ip) { Release(ip); };
  }

  ~Listener() override {
    store_pool_.join();
    auth_pool_.join();
  }

  Status Init() {
    SessionLimits& lim = sessions_ctx_.limits;
    lim.hostname = config_.String("server.hostname");
    if (lim.hostname.empty()) {
      char buf[256] = {};
      gethostname(buf, sizeof buf - 1);
      lim.hostname = buf[0] ? buf : "localhost";
    }
    max_sessions_ = config_.Int("server.max_sessions");
    max_sessions_per_ip_ = config_.Int("server.max_sessions_per_ip");
    lim.max_message_size = config_.Int("server.max_message_size");
    lim.max_recipients = config_.Int("server.max_recipients");
    lim.max_command_line = std::max<int64_t>(512, config_.Int("server.max_command_line"));
    lim.max_data_line = std::max<int64_t>(1000, config_.Int("server.max_data_line"));
    lim.max_errors = config_.Int("server.max_errors");
    lim.max_commands = config_.Int("server.max_commands");
    lim.command_timeout = config_.Int("server.command_timeout");
    lim.data_timeout = config_.Int("server.data_timeout");
    lim.auth_failure_delay_ms = config_.Int("server.auth_failure_delay_ms");
    lim.auth_requires_tls = config_.Bool("server.auth_requires_tls");
    lim.auth_plaintext_on_loopback = config_.Bool("server.auth_plaintext_on_loopback");
    lim.check_sender_domain = config_.Bool("server.check_sender_domain");
    lim.loopback_account = config_.String("server.loopback_account");
    Status cs = ParseContentCheckSettings(config_, &sessions_ctx_.content_check);
    if (!cs.ok()) return cs;

    const std::string& data = config_.String("server.data_dir");
    const std::string& log = config_.String("server.log");
    FILE* lf = stderr;
    if (log.empty()) lf = nullptr;
    else if (log != "-" && !(lf = fopen(log.c_str(), "a"))) return Status::IoError(log + ": cannot open the log file");
    log_ = std::make_unique<EventLog>(lf);
    sessions_ctx_.log = log_.get();

    std::string cert = config_.String("server.tls_cert"), key = config_.String("server.tls_key");
    if (cert.empty() != key.empty()) return Status::InvalidArgument("server.tls_cert and server.tls_key go together");
    if (cert.empty()) {
      cert = data + "/tls-cert.pem";
      key = data + "/tls-key.pem";
      Status s = EnsureSelfSignedCertificate(cert, key, lim.hostname);
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
  void SetQueuedCallback(std::function<void(int64_t)> fn) override { sessions_ctx_.on_queued = std::move(fn); }

  Status Run() override {
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      log_->Write({{"event", "stop"}, {"signal", sig}});
      Stop();
    });
    asio::co_spawn(ioc_, Accept(), asio::detached);
    log_->Write({{"event", "listening"},
                 {"address", listen_address_},
                 {"hostname", sessions_ctx_.limits.hostname},
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
        static const std::string kBusy = std::string(kReplyBusy) + "\r\n";
        asio::async_write(*s, asio::buffer(kBusy), [s](const boost::system::error_code&, size_t) {
          boost::system::error_code ignored;
          s->shutdown(tcp::socket::shutdown_both, ignored);
          s->close(ignored);
        });
        continue;
      }
      StartSession(sessions_ctx_, std::move(sock), id);
    }
  }

  bool Admit(const std::string& ip) {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    int& per_ip = sessions_per_ip_[ip];
    if (sessions_ >= max_sessions_ || per_ip >= max_sessions_per_ip_) {
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

  const Config& config_;
  // Declared before the event loop so that they outlive it: destroying
  // the io_context destroys the sessions still parked in it, and each one
  // reports its end to Release().
  std::unique_ptr<EventLog> log_;
  std::mutex sessions_mu_;
  int64_t sessions_ = 0;
  std::unordered_map<std::string, int> sessions_per_ip_;
  int64_t max_sessions_ = 0, max_sessions_per_ip_ = 0;
  SessionContext sessions_ctx_;  // borrowed by every session
  std::string listen_address_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  asio::ssl::context tls_ctx_;
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
