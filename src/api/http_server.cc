// The HTTP server (see http_server.h): Boost.Beast over Asio coroutines, one
// strand per connection; handlers run on a worker pool.
#include "api/http_server.h"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <iostream>

#include "api/api_keys.h"
#include "api/http_parse.h"
#include "api/router.h"
#include "core/text.h"
#include "relay/on_pool.h"

namespace rebound::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

namespace {

std::string_view View(beast::string_view s) { return std::string_view(s.data(), s.size()); }

class Server : public HttpServer, public std::enable_shared_from_this<Server> {
 public:
  Server(asio::io_context& ioc, const HttpOptions& o, ApiKeys* keys)
      : ioc_(ioc),
        o_(o),
        keys_(keys),
        acceptor_(ioc),
        tls_(asio::ssl::context::tls_server),
        pool_(static_cast<size_t>(std::max<int64_t>(1, o.workers))),
        limiter_(o.key_rate, o.key_burst) {}

  ~Server() override { Shutdown(); }

  // Stops accepting and waits for the handlers in flight (called once the
  // event loop has stopped).
  void Shutdown() {
    boost::system::error_code ec;
    acceptor_.close(ec);
    pool_.join();
  }

  Status Bind() {
    if (!o_.tls_cert.empty() || !o_.tls_key.empty()) {
      if (o_.tls_cert.empty() || o_.tls_key.empty()) return Status::InvalidArgument("http.tls_cert and http.tls_key go together");
      boost::system::error_code ec;
      tls_.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
      tls_.use_certificate_chain_file(o_.tls_cert, ec);
      if (!ec) tls_.use_private_key_file(o_.tls_key, asio::ssl::context::pem, ec);
      if (ec) return Status::IoError(o_.tls_cert + ": cannot load the TLS certificate or key: " + ec.message());
      use_tls_ = true;
    }
    const std::string& listen = o_.listen;
    const size_t colon = listen.rfind(':');
    if (colon == std::string::npos) return Status::InvalidArgument("http.listen: expected ADDR:PORT, got " + listen);
    std::string host = listen.substr(0, colon), port = listen.substr(colon + 1);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(host, ec);
    if (ec) return Status::InvalidArgument("http.listen: bad address '" + host + "'");
    char* end = nullptr;
    const long port_num = strtol(port.c_str(), &end, 10);
    if (port.empty() || *end || port_num < 0 || port_num > 65535)
      return Status::InvalidArgument("http.listen: bad port '" + port + "'");
    tcp::endpoint ep(addr, static_cast<unsigned short>(port_num));
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Status::Unavailable("cannot listen on " + listen + ": " + ec.message());
    auto bound = acceptor_.local_endpoint(ec);
    address_ = (bound.address().is_v6() ? "[" + bound.address().to_string() + "]" : bound.address().to_string()) + ":" +
               std::to_string(bound.port());
    return Status::Ok();
  }

  void StartAccepting() {
    auto self = shared_from_this();
    asio::co_spawn(ioc_, [self]() { return self->Accept(); }, asio::detached);
  }

  std::string listen_address() const override { return address_; }

 private:
  awaitable<void> Accept() {
    auto self = shared_from_this();
    while (acceptor_.is_open()) {
      boost::system::error_code ec;
      tcp::socket sock = co_await acceptor_.async_accept(asio::make_strand(ioc_), asio::redirect_error(use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
        continue;  // EMFILE and the like: the next accept may work
      }
      auto ex = sock.get_executor();
      auto conn = std::make_shared<beast::tcp_stream>(std::move(sock));
      asio::co_spawn(ex, [self, conn]() { return self->Connection(conn); }, asio::detached);
    }
  }

  awaitable<void> Connection(std::shared_ptr<beast::tcp_stream> stream) {
    boost::system::error_code ec;
    const std::string ip = stream->socket().remote_endpoint(ec).address().to_string();
    stream->socket().set_option(tcp::no_delay(true), ec);
    const int64_t live = ++connections_;
    struct Leave {
      std::atomic<int64_t>* n;
      ~Leave() { --*n; }
    } leave{&connections_};
    if (live > o_.max_connections) {
      Response r;
      SetHttpError(&r, 503, "too many connections, try again later");
      r.AddHeader("Retry-After", "1");
      co_await WriteResponse(*stream, r, 11, false);
      stream->socket().shutdown(tcp::socket::shutdown_both, ec);
      co_return;
    }
    if (use_tls_) {
      beast::ssl_stream<beast::tcp_stream&> tls(*stream, tls_);
      stream->expires_after(std::chrono::seconds(o_.read_timeout));
      co_await tls.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(use_awaitable, ec));
      if (ec) co_return;
      co_await Serve(tls, *stream, ip);
      stream->expires_after(std::chrono::seconds(2));
      co_await tls.async_shutdown(asio::redirect_error(use_awaitable, ec));
    } else {
      co_await Serve(*stream, *stream, ip);
      stream->socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  // Reads requests and answers them until the client or a limit ends it.
  template <typename Stream>
  awaitable<void> Serve(Stream& stream, beast::tcp_stream& tcp, const std::string& ip) {
    beast::flat_buffer buffer;
    bool first = true;
    while (true) {
      boost::system::error_code ec;
      if (buffer.size() == 0) {
        // Waiting for a request to start: the idle limit (after the first).
        tcp.expires_after(std::chrono::seconds(first ? o_.read_timeout : o_.idle_timeout));
        const size_t n = co_await stream.async_read_some(buffer.prepare(16384), asio::redirect_error(use_awaitable, ec));
        if (ec) co_return;
        buffer.commit(n);
      }
      first = false;
      tcp.expires_after(std::chrono::seconds(o_.read_timeout));
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<uint32_t>(o_.max_header));
      parser.body_limit(static_cast<uint64_t>(o_.max_body));
      co_await http::async_read(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
      if (ec) {
        Response r;
        if (ec == http::error::body_limit) {
          SetError(&r, 413, "557 The length of DATA content has reached the maximum threshold");
        } else if (ec == http::error::header_limit) {
          SetHttpError(&r, 431, "the request header is larger than " + std::to_string(o_.max_header) + " bytes");
        } else if (ec == beast::error::timeout) {
          SetHttpError(&r, 408, "the request did not arrive within " + std::to_string(o_.read_timeout) + " seconds");
        } else if (ec == http::error::end_of_stream || ec == asio::error::eof ||
                   ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
          co_return;
        } else {
          SetHttpError(&r, 400, "malformed HTTP request: " + ec.message());
        }
        tcp.expires_after(std::chrono::seconds(5));
        co_await WriteResponse(stream, r, 11, false);
        co_return;
      }
      http::request<http::string_body> req = parser.release();
      const bool keep_alive = req.keep_alive();
      const unsigned version = req.version();
      auto request = std::make_shared<Request>();
      request->method = std::string(View(req.method_string()));
      request->target = std::string(View(req.target()));
      request->client_ip = ip;
      SplitTarget(request->target, &request->path, &request->query);
      for (const auto& field : req) {
        std::string name = text::Lower(View(field.name_string()));
        auto [it, inserted] = request->headers.try_emplace(std::move(name), std::string(View(field.value())));
        if (!inserted) it->second.append(", ").append(View(field.value()));
      }
      request->body = std::move(req.body());
      auto response = std::make_shared<Response>();
      Server* server = this;
      auto work = [server, request, response]() { server->Process(request.get(), response.get()); };
      co_await relay::OnPool(pool_, &work);
      tcp.expires_after(std::chrono::seconds(o_.read_timeout));
      const bool ok = co_await WriteResponse(stream, *response, version, keep_alive);
      if (!ok || !keep_alive) co_return;
    }
  }

  template <typename Stream>
  awaitable<bool> WriteResponse(Stream& stream, const Response& r, unsigned version, bool keep_alive) {
    http::response<http::string_body> res{static_cast<http::status>(r.status), version};
    res.set(http::field::server, "rebound");
    for (const auto& [name, value] : r.headers) res.set(name, value);
    res.keep_alive(keep_alive);
    res.body() = r.body;
    res.prepare_payload();
    boost::system::error_code ec;
    co_await http::async_write(stream, res, asio::redirect_error(use_awaitable, ec));
    co_return !ec;
  }

  // On a worker thread: route, authenticate, rate-limit, handle.
  void Process(Request* req, Response* res) {
    Route route;
    bool path_exists = false;
    if (!FindRoute(req->method, req->path, &route, &req->path_params, &path_exists)) {
      if (path_exists) SetHttpError(res, 405, "method " + req->method + " is not allowed on " + req->path);
      else SetHttpError(res, 404, "no such endpoint: " + req->path);
      return;
    }
    if (!route.scope.empty()) {
      // One answer for a missing key, a malformed one, a wrong one and a
      // revoked one: a client learns nothing about which it was.
      const std::string& auth = req->Header("authorization");
      ApiKey key;
      Status s = Status::NotFound("");
      if (auth.size() > 7 && text::IStartsWith(auth, "bearer ")) s = keys_->Verify(text::Trim(std::string_view(auth).substr(7)), &key);
      else keys_->Verify("", &key);  // the same work as a wrong key
      if (!s.ok()) {
        if (s.code() == Status::Code::kNotFound) {
          SetHttpError(res, 401, "missing or invalid API key (Authorization: Bearer KEY)");
          res->AddHeader("WWW-Authenticate", "Bearer");
        } else {
          SetHttpError(res, 503, "cannot read the API keys, try again");
        }
        return;
      }
      if (!HasScope(key.scopes, route.scope)) {
        SetHttpError(res, 403, "this key lacks the '" + route.scope + "' scope");
        return;
      }
      int retry = 1;
      if (!limiter_.Allow(key.id, &retry)) {
        SetHttpError(res, 429, "too many requests for this key, try again later");
        res->AddHeader("Retry-After", std::to_string(retry));
        return;
      }
      req->account = key.account;
      req->key_id = key.id;
      req->scopes = key.scopes;
    }
    try {
      route.handler(*req, res);
    } catch (const std::exception& e) {
      *res = Response();
      SetHttpError(res, 500, std::string("internal error: ") + e.what());
    }
  }

  asio::io_context& ioc_;
  HttpOptions o_;
  ApiKeys* keys_;
  tcp::acceptor acceptor_;
  asio::ssl::context tls_;
  bool use_tls_ = false;
  asio::thread_pool pool_;
  RateLimiter limiter_;
  std::atomic<int64_t> connections_{0};
  std::string address_;
};

// The part of a Server the caller holds: destroying it stops the listener
// and joins the pool, while connections may still hold the Server itself.
class Handle : public HttpServer {
 public:
  explicit Handle(std::shared_ptr<Server> s) : server_(std::move(s)) {}
  ~Handle() override { server_->Shutdown(); }
  std::string listen_address() const override { return server_->listen_address(); }

 private:
  std::shared_ptr<Server> server_;
};

}  // namespace

Status HttpServer::Start(asio::io_context& ioc, const HttpOptions& options, ApiKeys* keys,
                         std::unique_ptr<HttpServer>* out) {
  auto server = std::make_shared<Server>(ioc, options, keys);
  Status s = server->Bind();
  if (!s.ok()) return s;
  server->StartAccepting();
  *out = std::make_unique<Handle>(std::move(server));
  return Status::Ok();
}

}  // namespace rebound::api
