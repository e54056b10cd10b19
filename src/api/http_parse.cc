// One HTTP request from bytes (see http_parse.h), and Request's accessors.
#include "api/http_parse.h"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>

#include "core/text.h"

namespace rebound::api {

namespace http = boost::beast::http;

namespace {

std::string_view View(boost::beast::string_view s) { return std::string_view(s.data(), s.size()); }

int FromHex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && FromHex(s[i + 1]) >= 0 && FromHex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(FromHex(s[i + 1]) * 16 + FromHex(s[i + 2])));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

const std::string& Request::Header(const std::string& name) const {
  static const std::string kEmpty;
  auto it = headers.find(name);
  return it == headers.end() ? kEmpty : it->second;
}

std::string Request::Query(const std::string& name, const std::string& fallback) const {
  auto it = query.find(name);
  return it == query.end() ? fallback : it->second;
}

void SplitTarget(std::string_view target, std::string* path, std::map<std::string, std::string>* query) {
  const size_t q = target.find('?');
  *path = PercentDecode(target.substr(0, q), false);
  query->clear();
  if (q == std::string_view::npos) return;
  const std::string_view rest = target.substr(q + 1);
  size_t i = 0;
  while (i <= rest.size()) {
    size_t j = rest.find('&', i);
    if (j == std::string_view::npos) j = rest.size();
    const std::string_view pair = rest.substr(i, j - i);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      (*query)[PercentDecode(pair.substr(0, eq), true)] =
          eq == std::string_view::npos ? std::string() : PercentDecode(pair.substr(eq + 1), true);
    }
    i = j + 1;
  }
}

int ParseRequest(std::string_view bytes, const ParseLimits& limits, Request* out) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(limits.max_header);
  parser.body_limit(limits.max_body);
  parser.eager(true);
  boost::beast::error_code ec;
  size_t used = 0;
  while (used < bytes.size() && !parser.is_done()) {
    const size_t n = parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    if (ec == http::error::need_more) return -1;
    if (ec == http::error::body_limit) return 413;
    if (ec == http::error::header_limit) return 431;
    if (ec) return 400;
    if (n == 0) break;
    used += n;
  }
  // A request's body never ends at the end of the stream (RFC 9112 6.3):
  // what is not done is incomplete.
  if (!parser.is_done()) return -1;
  auto& req = parser.get();
  *out = Request();
  out->method = std::string(View(req.method_string()));
  out->target = std::string(View(req.target()));
  SplitTarget(out->target, &out->path, &out->query);
  for (const auto& field : req) {
    auto [it, inserted] = out->headers.try_emplace(text::Lower(View(field.name_string())), std::string(View(field.value())));
    if (!inserted) it->second.append(", ").append(View(field.value()));
  }
  out->body = std::move(req.body());
  return 0;
}

}  // namespace rebound::api
