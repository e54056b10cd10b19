// The route table of the HTTP server (see router.h) and the JSON error shape.
#include "api/router.h"

#include <mutex>
#include <shared_mutex>

#include "cli/json_writer.h"
#include "core/text.h"

namespace rebound::api {

namespace {

struct Table {
  std::shared_mutex mu;
  std::vector<Route> routes;
};
Table& Routes() {
  static Table table;
  return table;
}

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

bool Matches(std::string_view pattern, std::string_view path, std::map<std::string, std::string>* params) {
  const auto want = Segments(pattern), have = Segments(path);
  if (want.size() != have.size()) return false;
  std::map<std::string, std::string> found;
  for (size_t i = 0; i < want.size(); ++i) {
    const std::string_view w = want[i];
    if (w.size() >= 2 && w.front() == '{' && w.back() == '}') {
      found[std::string(w.substr(1, w.size() - 2))] = std::string(have[i]);
    } else if (w != have[i]) {
      return false;
    }
  }
  if (params) *params = std::move(found);
  return true;
}

}  // namespace

void Response::Json(int http_status, std::string json) {
  Text(http_status, "application/json", std::move(json));
}

void Response::Text(int http_status, std::string_view content_type, std::string text) {
  status = http_status;
  for (auto& [name, value] : headers) {
    if (text::IEquals(name, "content-type")) {
      value = std::string(content_type);
      body = std::move(text);
      return;
    }
  }
  headers.emplace_back("Content-Type", std::string(content_type));
  body = std::move(text);
}

void AddRoute(Route route) {
  Table& t = Routes();
  std::unique_lock lock(t.mu);
  for (Route& r : t.routes) {
    if (r.method == route.method && r.pattern == route.pattern) {
      r = std::move(route);
      return;
    }
  }
  t.routes.push_back(std::move(route));
}

void RemoveRoutes(std::string_view owner) {
  Table& t = Routes();
  std::unique_lock lock(t.mu);
  std::erase_if(t.routes, [owner](const Route& r) { return r.owner == owner; });
}

bool FindRoute(std::string_view method, std::string_view path, Route* out, std::map<std::string, std::string>* params,
               bool* path_exists) {
  Table& t = Routes();
  std::shared_lock lock(t.mu);
  *path_exists = false;
  // A literal segment beats a {param} one: "/v1/messages/batch" before
  // "/v1/messages/{id}". Routes with fewer parameters are tried first.
  const Route* best = nullptr;
  size_t best_params = SIZE_MAX;
  std::map<std::string, std::string> best_found;
  for (const Route& r : t.routes) {
    std::map<std::string, std::string> found;
    if (!Matches(r.pattern, path, &found)) continue;
    *path_exists = true;
    if (r.method != method) continue;
    if (found.size() < best_params) {
      best = &r;
      best_params = found.size();
      best_found = std::move(found);
    }
  }
  if (!best) return false;
  *out = *best;
  *params = std::move(best_found);
  return true;
}

void SetError(Response* r, int http_status, std::string_view smtp_reply, std::string_view extra) {
  // "552 text" or "550 5.1.1 text".
  std::string_view code = smtp_reply.substr(0, std::min<size_t>(3, smtp_reply.size()));
  std::string_view rest = smtp_reply.size() > 4 ? smtp_reply.substr(4) : std::string_view();
  std::string_view enhanced;
  size_t sp = rest.find(' ');
  std::string_view first = rest.substr(0, sp);
  if (first.size() >= 5 && first.size() <= 11 && (first[0] == '2' || first[0] == '4' || first[0] == '5') &&
      first[1] == '.' && std::count(first.begin(), first.end(), '.') == 2) {
    enhanced = first;
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
  }
  std::string json;
  cli::JsonWriter w(&json);
  w.BeginObject().BeginObject("error").String("code", code).String("enhanced", enhanced).String("message", rest);
  if (!extra.empty()) {
    json.push_back(',');
    json.append(extra);
  }
  w.EndObject().EndObject();
  r->Json(http_status, std::move(json));
}

void SetHttpError(Response* r, int http_status, std::string_view message) {
  std::string json;
  cli::JsonWriter w(&json);
  w.BeginObject()
      .BeginObject("error")
      .String("code", std::to_string(http_status))
      .String("enhanced", "")
      .String("message", message)
      .EndObject()
      .EndObject();
  r->Json(http_status, std::move(json));
}

}  // namespace rebound::api
