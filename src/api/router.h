// api/router.h: how a module adds endpoints to the one HTTP server of
// `rebound serve` (the API, webhooks, metrics, unsubscribe links), without
// seeing Boost.Beast.
//
// A module calls AddRoute() from its serve part's Start function (see
// cli/serve_part.h) and RemoveRoutes(owner) when its part is destroyed.
// The server (api/http_server.cc) reads the table for every request, so
// the order the parts start in does not matter.
//
// Handlers run on the API's worker threads, never on the event loop: they
// may block on the store. Several run at once; a handler must be
// thread-safe. Authentication happens before the handler is called: a route
// with a scope is reached only with a valid key holding that scope
// (`Authorization: Bearer KEY`), and Request::account names the key's
// account. A route with an empty scope is public.
//
// Errors: a handler answers with SetError() for a JSON error
// {"error":{"code","enhanced","message"}}; a handler that throws answers
// 500.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rebound::api {

struct Request {
  std::string method;                                // "GET", "POST", ...
  std::string target;                                // "/v1/messages/7?x=1", as sent
  std::string path;                                  // "/v1/messages/7", percent-decoded
  std::map<std::string, std::string> path_params;    // {"id": "7"} for "/v1/messages/{id}"
  std::map<std::string, std::string> query;          // decoded; the last value of a repeated name wins
  std::map<std::string, std::string> headers;        // names in lower case; repeated ones joined with ", "
  std::string body;
  std::string account;     // the key's account; empty on a public route
  std::string key_id;      // the key's public id; empty on a public route
  std::string scopes;      // the key's scopes, "send,read"
  std::string client_ip;

  // A header's value, or "" (`name` in lower case).
  const std::string& Header(const std::string& name) const;
  // A query parameter's value, or `fallback`.
  std::string Query(const std::string& name, const std::string& fallback = "") const;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Type is one of them
  std::string body;

  // 200-style answer with a JSON body.
  void Json(int http_status, std::string json);
  void Text(int http_status, std::string_view content_type, std::string text);
  void AddHeader(std::string name, std::string value) { headers.emplace_back(std::move(name), std::move(value)); }
};

struct Route {
  std::string method;   // "GET", "POST", "DELETE", ...
  std::string pattern;  // "/v1/webhooks/{id}": a {name} segment matches one path segment
  // "send", "read", "admin", or "" for a public route (no key asked for).
  std::string scope;
  std::function<void(const Request&, Response*)> handler;
  std::string owner;  // who added it, for RemoveRoutes: "api", "webhooks", "metrics", ...
};

// Adds a route; a later route with the same method and pattern replaces it.
void AddRoute(Route route);
void RemoveRoutes(std::string_view owner);

// The route for `method` and `path`, with its path parameters filled in.
// Returns false when none matches; *path_exists then says whether another
// method would have matched (405 rather than 404).
bool FindRoute(std::string_view method, std::string_view path, Route* out, std::map<std::string, std::string>* params,
               bool* path_exists);

// A JSON error carrying an SMTP reply: "552 Daily sending quota exceeded" ->
// {"error":{"code":"552","enhanced":"","message":"Daily sending quota exceeded"}};
// "550 5.1.1 Recipient ..." -> enhanced "5.1.1". Extra members (such as
// "recipient") may be added through `extra`, a JSON object's members
// without braces ("\"recipient\":\"a@b\"") or "".
void SetError(Response* r, int http_status, std::string_view smtp_reply, std::string_view extra = "");
// An error that is not an SMTP reply (bad JSON, an unknown route, a missing
// key): "code" is the HTTP status as text and "enhanced" is "".
void SetHttpError(Response* r, int http_status, std::string_view message);

}  // namespace rebound::api
