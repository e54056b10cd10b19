#include "delivery/dns.h"

#include <arpa/inet.h>
#include <ares.h>
#include <arpa/nameser.h>
#include <netinet/in.h>

#include <algorithm>
#include <chrono>
#include <random>

#include "delivery/dns_channel.h"

namespace rebound::delivery {

std::string_view RouteStatusName(RouteStatus s) {
  switch (s) {
    case RouteStatus::kOk: return "ok";
    case RouteStatus::kTemporary: return "temporary";
    case RouteStatus::kNotFound: return "not_found";
    case RouteStatus::kNoData: return "no_data";
    case RouteStatus::kNullMx: return "null_mx";
  }
  return "temporary";
}

RelayFailure Route::failure() const {
  switch (status) {
    case RouteStatus::kNotFound: return RelayFailure::kDnsNotFound;
    case RouteStatus::kNoData: return RelayFailure::kDnsNoData;
    case RouteStatus::kNullMx: return RelayFailure::kNullMx;
    default: return RelayFailure::kDnsTemporary;
  }
}

bool ParseHostPort(std::string_view s, uint16_t default_port, std::string* host, uint16_t* port) {
  *port = default_port;
  std::string_view rest;
  if (!s.empty() && s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos) return false;
    *host = std::string(s.substr(1, close - 1));
    rest = s.substr(close + 1);
  } else {
    size_t colon = s.find(':');
    if (colon != std::string_view::npos && s.find(':', colon + 1) != std::string_view::npos) {
      *host = std::string(s);  // bare IPv6 without a port
      return true;
    }
    *host = std::string(s.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : s.substr(colon);
  }
  if (host->empty()) return false;
  if (rest.empty()) return true;
  if (rest.front() != ':' || rest.size() < 2 || rest.size() > 6) return false;
  int p = 0;
  for (char c : rest.substr(1)) {
    if (c < '0' || c > '9') return false;
    p = p * 10 + (c - '0');
  }
  if (p < 1 || p > 65535) return false;
  *port = static_cast<uint16_t>(p);
  return true;
}

namespace {

bool IsIpLiteral(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

int64_t MonotonicSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// One channel per Resolve() call, so calls from many threads never share one.
DnsChannel ChannelFor(const ResolverOptions& o) { return DnsChannel(o.servers, o.timeout_ms, o.tries); }

// A/AAAA answers into numeric strings. Returns the c-ares status to report.
void AppendAddresses(const DnsChannel::Answer& a4, const DnsChannel::Answer& a6, std::vector<std::string>* out) {
  char buf[INET6_ADDRSTRLEN];
  if (a4.status == ARES_SUCCESS) {
    ares_addrttl ttls[32];
    int n = 32;
    if (ares_parse_a_reply(a4.data.data(), static_cast<int>(a4.data.size()), nullptr, ttls, &n) == ARES_SUCCESS) {
      for (int i = 0; i < n; ++i)
        if (inet_ntop(AF_INET, &ttls[i].ipaddr, buf, sizeof buf)) out->push_back(buf);
    }
  }
  if (a6.status == ARES_SUCCESS) {
    ares_addr6ttl ttls[32];
    int n = 32;
    if (ares_parse_aaaa_reply(a6.data.data(), static_cast<int>(a6.data.size()), nullptr, ttls, &n) == ARES_SUCCESS) {
      for (int i = 0; i < n; ++i)
        if (inet_ntop(AF_INET6, &ttls[i].ip6addr, buf, sizeof buf)) out->push_back(buf);
    }
  }
}

bool IsTemporary(int status) {
  return status != ARES_SUCCESS && status != ARES_ENOTFOUND && status != ARES_ENODATA;
}

std::string Describe(const char* what, const std::string& name, int status) {
  return std::string(what) + " " + name + ": " + ares_strerror(status);
}

}  // namespace

Status Resolver::Create(const ResolverOptions& options, std::unique_ptr<Resolver>* out) {
  ResolverOptions o = options;
  std::map<std::string, std::string> routes;
  for (const auto& [domain, target] : options.routes) {
    std::string host;
    uint16_t port;
    if (!ParseHostPort(target, 25, &host, &port))
      return Status::InvalidArgument("routes: \"" + domain + "\" = \"" + target + "\": expected host[:port] or [ipv6]:port");
    std::string key = domain;
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    routes[key] = target;
  }
  o.routes = std::move(routes);
  DnsChannel probe = ChannelFor(o);
  if (!probe.ok()) return Status::InvalidArgument("dns: cannot use resolver servers \"" + o.servers + "\"");
  out->reset(new Resolver(std::move(o)));
  return Status::Ok();
}

Resolver::~Resolver() = default;

Route Resolver::Resolve(std::string_view domain_in) {
  std::string domain(domain_in);
  std::transform(domain.begin(), domain.end(), domain.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  while (!domain.empty() && domain.back() == '.') domain.pop_back();

  auto route_it = options_.routes.find(domain);
  if (route_it == options_.routes.end()) route_it = options_.routes.find("*");
  if (route_it != options_.routes.end()) return ResolveStatic(route_it->second);

  if (options_.cache_seconds > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(domain);
    if (it != cache_.end() && it->second.expires > MonotonicSeconds()) return it->second.route;
  }
  Route r = ResolveUncached(domain);
  // Temporary failures are not cached: the next attempt asks again.
  if (options_.cache_seconds > 0 && r.status != RouteStatus::kTemporary) {
    std::lock_guard<std::mutex> lock(mu_);
    if (cache_.size() > 10000) cache_.clear();
    cache_[domain] = Cached{r, MonotonicSeconds() + options_.cache_seconds};
  }
  return r;
}

Route Resolver::ResolveStatic(const std::string& target) {
  Route r;
  r.static_route = true;
  MxHost h;
  ParseHostPort(target, 25, &h.name, &h.port);  // validated in Create
  if (IsIpLiteral(h.name)) {
    h.addresses.push_back(h.name);
  } else {
    DnsChannel lk = ChannelFor(options_);
    DnsChannel::Answer a4, a6;
    lk.Query(h.name, ns_t_a, &a4);
    lk.Query(h.name, ns_t_aaaa, &a6);
    lk.Run();
    AppendAddresses(a4, a6, &h.addresses);
    if (h.addresses.empty()) {
      r.status = IsTemporary(a4.status) || IsTemporary(a6.status) ? RouteStatus::kTemporary
                 : a4.status == ARES_ENOTFOUND                      ? RouteStatus::kNotFound
                                                                     : RouteStatus::kNoData;
      r.detail = Describe("route host", h.name, a4.status);
    }
  }
  r.hosts.push_back(std::move(h));
  return r;
}

Route Resolver::ResolveUncached(const std::string& domain) {
  Route r;
  DnsChannel lk = ChannelFor(options_);
  if (!lk.ok()) {
    r.status = RouteStatus::kTemporary;
    r.detail = "resolver could not start";
    return r;
  }
  DnsChannel::Answer mx;
  lk.Query(domain, ns_t_mx, &mx);
  lk.Run();

  if (mx.status == ARES_ENOTFOUND) {
    r.status = RouteStatus::kNotFound;
    r.detail = Describe("MX", domain, mx.status);
    return r;
  }
  if (IsTemporary(mx.status)) {
    r.status = RouteStatus::kTemporary;
    r.detail = Describe("MX", domain, mx.status);
    return r;
  }

  std::vector<MxHost> hosts;
  if (mx.status == ARES_SUCCESS) {
    ares_mx_reply* list = nullptr;
    int pr = ares_parse_mx_reply(mx.data.data(), static_cast<int>(mx.data.size()), &list);
    if (pr == ARES_SUCCESS) {
      for (ares_mx_reply* p = list; p; p = p->next) {
        std::string host = p->host ? p->host : "";
        while (!host.empty() && host.back() == '.') host.pop_back();
        hosts.push_back(MxHost{host, p->priority, options_.smtp_port, {}});
      }
      ares_free_data(list);
    } else if (pr != ARES_ENODATA) {
      r.status = RouteStatus::kTemporary;
      r.detail = Describe("MX parse", domain, pr);
      return r;
    }
  }

  // RFC 7505: a single MX whose exchange is the root means "no mail here".
  if (hosts.size() == 1 && hosts[0].name.empty()) {
    r.status = RouteStatus::kNullMx;
    r.detail = "null MX";
    return r;
  }
  hosts.erase(std::remove_if(hosts.begin(), hosts.end(), [](const MxHost& h) { return h.name.empty(); }), hosts.end());

  if (hosts.empty()) {
    // No MX: the domain itself is the implicit MX (RFC 5321 §5.1).
    hosts.push_back(MxHost{domain, 0, options_.smtp_port, {}});
  } else {
    // Lowest preference first; equal preferences in random order to share load.
    static thread_local std::mt19937 rng{std::random_device{}()};
    std::shuffle(hosts.begin(), hosts.end(), rng);
    std::stable_sort(hosts.begin(), hosts.end(), [](const MxHost& a, const MxHost& b) { return a.preference < b.preference; });
  }

  std::vector<DnsChannel::Answer> a4(hosts.size()), a6(hosts.size());
  for (size_t i = 0; i < hosts.size(); ++i) {
    lk.Query(hosts[i].name, ns_t_a, &a4[i]);
    lk.Query(hosts[i].name, ns_t_aaaa, &a6[i]);
  }
  lk.Run();
  bool any_temporary = false, any_not_found = false;
  for (size_t i = 0; i < hosts.size(); ++i) {
    AppendAddresses(a4[i], a6[i], &hosts[i].addresses);
    if (hosts[i].addresses.empty()) {
      any_temporary |= IsTemporary(a4[i].status) || IsTemporary(a6[i].status);
      any_not_found |= a4[i].status == ARES_ENOTFOUND;
      if (r.detail.empty()) r.detail = Describe("address of", hosts[i].name, a4[i].status);
    }
  }
  hosts.erase(std::remove_if(hosts.begin(), hosts.end(), [](const MxHost& h) { return h.addresses.empty(); }), hosts.end());
  if (hosts.empty()) {
    r.status = any_temporary ? RouteStatus::kTemporary : (any_not_found && mx.status != ARES_SUCCESS ? RouteStatus::kNotFound : RouteStatus::kNoData);
    return r;
  }
  r.detail.clear();
  r.hosts = std::move(hosts);
  return r;
}

}  // namespace rebound::delivery
