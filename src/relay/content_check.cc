// The content check: a small HTTP/1.1 client for rspamd's /checkv2, written
// on the session's own executor with coroutines. One connection per message
// (Connection: close), so the reply ends at EOF when rspamd sends no length.
#include "relay/content_check.h"

#include <boost/asio.hpp>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>

namespace rebound::relay {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr size_t kMaxResponse = 4 << 20;  // rspamd's replies are a few KB

// Header values come from the client (HELO, addresses): no CR/LF may pass.
std::string HeaderValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) out += (c == '\r' || c == '\n') ? ' ' : c;
  return out;
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool DecodeChunked(std::string_view in, std::string* out) {
  size_t pos = 0;
  while (true) {
    size_t eol = in.find("\r\n", pos);
    if (eol == std::string_view::npos) return false;
    std::string size_text(in.substr(pos, eol - pos));
    char* end = nullptr;
    unsigned long n = strtoul(size_text.c_str(), &end, 16);
    if (end == size_text.c_str()) return false;
    pos = eol + 2;
    if (n == 0) return true;
    if (in.size() - pos < n) return false;
    out->append(in.substr(pos, n));
    pos += n + 2;
    if (pos > in.size()) return false;
  }
}

// True once `raw` holds a whole reply (headers and the body its
// Content-Length or chunked framing announces): rspamd may keep the
// connection open, so EOF is not the only end.
bool ResponseComplete(std::string_view raw) {
  size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return false;
  std::string head = ToLower(raw.substr(0, head_end));
  std::string_view body = raw.substr(head_end + 4);
  if (head.find("transfer-encoding: chunked") != std::string::npos)
    return body.size() >= 5 && body.substr(body.size() - 5) == "0\r\n\r\n";
  size_t cl = head.find("\r\ncontent-length:");
  if (cl == std::string::npos) return false;
  return body.size() >= strtoul(head.c_str() + cl + 17, nullptr, 10);
}

// State shared with the timeout handler, which may run after the coroutine
// has moved on: owned by a shared_ptr, never by reference to a coroutine local.
struct Exchange {
  explicit Exchange(const asio::any_io_executor& ex) : resolver(ex), socket(ex), timer(ex) {}
  tcp::resolver resolver;
  tcp::socket socket;
  asio::steady_timer timer;
  bool timed_out = false;
};

}  // namespace

Status ParseContentCheckSettings(const Config& config, ContentCheckSettings* out) {
  *out = ContentCheckSettings();
  const std::string& url = config.String("content_check.rspamd_url");
  out->timeout_ms = config.Int("content_check.timeout_ms");
  if (out->timeout_ms <= 0) return Status::InvalidArgument("content_check.timeout_ms must be positive");
  const std::string& on_error = config.String("content_check.on_error");
  if (on_error != "accept" && on_error != "tempfail")
    return Status::InvalidArgument("content_check.on_error: expected \"accept\" or \"tempfail\", got '" + on_error + "'");
  out->tempfail_on_error = on_error == "tempfail";
  if (url.empty()) return Status::Ok();

  const std::string_view scheme = "http://";
  if (url.compare(0, scheme.size(), scheme) != 0)
    return Status::InvalidArgument("content_check.rspamd_url: expected http://HOST[:PORT][/PATH], got '" + url + "'");
  std::string_view rest = std::string_view(url).substr(scheme.size());
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  while (!path.empty() && path.back() == '/') path.pop_back();
  std::string_view host = authority, port;
  if (!authority.empty() && authority.front() == '[') {  // [v6]:port
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Status::InvalidArgument("content_check.rspamd_url: bad address in '" + url + "'");
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return Status::InvalidArgument("content_check.rspamd_url: bad port in '" + url + "'");
      port = authority.substr(close + 2);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return Status::InvalidArgument("content_check.rspamd_url: no host in '" + url + "'");
  if (!port.empty()) {
    std::string p(port);
    char* end = nullptr;
    long n = strtol(p.c_str(), &end, 10);
    if (*end || n <= 0 || n > 65535) return Status::InvalidArgument("content_check.rspamd_url: bad port in '" + url + "'");
    out->port = p;
  }
  out->host = std::string(host);
  out->path = path + "/checkv2";
  out->enabled = true;
  return Status::Ok();
}

ContentDecision::Kind ContentDecisionForAction(std::string_view action) {
  if (action == "reject") return ContentDecision::Kind::kReject;
  if (action == "soft reject" || action == "greylist") return ContentDecision::Kind::kTempfail;
  return ContentDecision::Kind::kAccept;  // no action, add header, rewrite subject, ...
}

void ParseRspamdResponse(std::string_view raw, ContentDecision* out) {
  out->kind = ContentDecision::Kind::kError;
  size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    out->error = raw.empty() ? "empty reply" : "incomplete HTTP reply";
    return;
  }
  std::string_view head = raw.substr(0, head_end), body = raw.substr(head_end + 4);
  size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  if (status_line.substr(0, 5) != "HTTP/" || status_line.find(' ') == std::string_view::npos) {
    out->error = "not an HTTP reply";
    return;
  }
  std::string_view code = status_line.substr(status_line.find(' ') + 1, 3);
  bool chunked = false;
  long content_length = -1;
  while (eol != std::string_view::npos) {
    size_t start = eol + 2;
    eol = head.find("\r\n", start);
    std::string_view line = head.substr(start, eol == std::string_view::npos ? std::string_view::npos : eol - start);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name = ToLower(line.substr(0, colon));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (name == "transfer-encoding" && ToLower(value).find("chunked") != std::string::npos) chunked = true;
    if (name == "content-length") content_length = strtol(std::string(value).c_str(), nullptr, 10);
  }
  std::string payload;
  if (chunked) {
    if (!DecodeChunked(body, &payload)) {
      out->error = "bad chunked body";
      return;
    }
  } else if (content_length >= 0) {
    if (body.size() < static_cast<size_t>(content_length)) {
      out->error = "reply shorter than its Content-Length";
      return;
    }
    payload = std::string(body.substr(0, static_cast<size_t>(content_length)));
  } else {
    payload = std::string(body);
  }
  if (code != "200") {
    out->error = "HTTP " + std::string(status_line.substr(status_line.find(' ') + 1)) + ": " + payload.substr(0, 200);
    return;
  }
  nlohmann::json j = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    out->error = "reply is not a JSON object";
    return;
  }
  auto action = j.find("action");
  if (action == j.end() || !action->is_string()) {
    out->error = "reply has no action";
    return;
  }
  out->action = action->get<std::string>();
  if (auto s = j.find("score"); s != j.end() && s->is_number()) out->score = s->get<double>();
  if (auto s = j.find("required_score"); s != j.end() && s->is_number()) out->required_score = s->get<double>();
  out->kind = ContentDecisionForAction(out->action);
}

asio::awaitable<ContentDecision> CheckContent(const ContentCheckSettings& settings, const ContentCheckRequest& request) {
  const auto started = std::chrono::steady_clock::now();
  ContentDecision decision;
  asio::any_io_executor ex = co_await asio::this_coro::executor;
  auto x = std::make_shared<Exchange>(ex);

  // The timeout: closing the socket and cancelling the resolver ends
  // whichever operation is in flight with an error.
  x->timer.expires_after(std::chrono::milliseconds(settings.timeout_ms));
  x->timer.async_wait([x](const boost::system::error_code& ec) {
    if (ec) return;
    x->timed_out = true;
    x->resolver.cancel();
    boost::system::error_code ignored;
    x->socket.close(ignored);
  });

  std::string request_text = "POST " + settings.path + " HTTP/1.1\r\nHost: " + settings.host + ":" + settings.port +
                             "\r\nConnection: close\r\nContent-Length: " + std::to_string(request.message->size()) + "\r\n";
  if (!request.client_ip.empty()) request_text += "IP: " + HeaderValue(request.client_ip) + "\r\n";
  if (!request.helo.empty()) request_text += "Helo: " + HeaderValue(request.helo) + "\r\n";
  if (!request.mail_from.empty()) request_text += "From: " + HeaderValue(request.mail_from) + "\r\n";
  for (const auto& r : request.recipients) request_text += "Rcpt: " + HeaderValue(r) + "\r\n";
  if (!request.user.empty()) request_text += "User: " + HeaderValue(request.user) + "\r\n";
  request_text += "\r\n";

  boost::system::error_code ec;
  auto endpoints = co_await x->resolver.async_resolve(settings.host, settings.port, asio::redirect_error(asio::use_awaitable, ec));
  if (!ec) {
    tcp::endpoint connected = co_await asio::async_connect(x->socket, endpoints, asio::redirect_error(asio::use_awaitable, ec));
    (void)connected;
  }
  if (!ec) {
    std::vector<asio::const_buffer> buffers = {asio::buffer(request_text), asio::buffer(*request.message)};
    size_t written = co_await asio::async_write(x->socket, buffers, asio::redirect_error(asio::use_awaitable, ec));
    (void)written;
  }
  std::string response;
  if (!ec) {
    char chunk[16384];
    while (response.size() < kMaxResponse) {
      size_t n = co_await x->socket.async_read_some(asio::buffer(chunk), asio::redirect_error(asio::use_awaitable, ec));
      response.append(chunk, n);
      if (ec || ResponseComplete(response)) break;
    }
    if (ec == asio::error::eof) ec.clear();
  }
  x->timer.cancel();
  boost::system::error_code ignored;
  x->socket.close(ignored);

  if (x->timed_out) {
    decision.error = "no reply within " + std::to_string(settings.timeout_ms) + " ms";
  } else if (ec) {
    decision.error = ec.message();
  } else {
    ParseRspamdResponse(response, &decision);
  }
  decision.elapsed_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  co_return decision;
}

}  // namespace rebound::relay
