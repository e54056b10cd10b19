// api/http_server.h: the HTTP server of `rebound serve` (Boost.Beast, on the
// serve event loop), which answers the routes of api/router.h.
//
// Per connection: one coroutine on its own strand reads a request (header
// and body within read_timeout, the header at most max_header bytes, the body
// at most max_body), authenticates it when its route asks for a scope, checks
// the key's rate, runs the handler on the worker pool and writes the answer;
// keep-alive connections wait at most idle_timeout for the next request.
// Past max_connections a connection gets 503 and is closed. TLS is optional
// (tls_cert and tls_key).
//
// Ownership: borrows the io_context and the ApiKeys, which must outlive it.
// Destroying the server closes the listener and waits for the handlers in
// flight. The Beast and Asio types stay in http_server.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "rebound/status.h"

namespace boost::asio {
class io_context;
}

namespace rebound::api {

class ApiKeys;

struct HttpOptions {
  std::string listen;                // ADDR:PORT; port 0 picks one
  std::string tls_cert, tls_key;     // PEM files; both empty: plain HTTP
  int64_t max_body = 0;              // bytes
  int64_t max_header = 0;            // bytes
  int64_t read_timeout = 0;          // seconds for one whole request
  int64_t idle_timeout = 0;          // seconds between keep-alive requests
  int64_t max_connections = 0;
  int64_t workers = 0;               // handler threads
  double key_rate = 0, key_burst = 0;  // requests per second per key; 0: no limit
};

class HttpServer {
 public:
  // Binds and starts accepting on `ioc` (served once the loop runs).
  static Status Start(boost::asio::io_context& ioc, const HttpOptions& options, ApiKeys* keys,
                      std::unique_ptr<HttpServer>* out);
  virtual ~HttpServer() = default;
  // "127.0.0.1:8025", the real port when 0 was asked.
  virtual std::string listen_address() const = 0;
};

}  // namespace rebound::api
