#include "domains/spf.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>

extern "C" {
#include <spf2/spf.h>
#include <spf2/spf_dns.h>
#include <spf2/spf_dns_rr.h>
#include <spf2/spf_log.h>
}

#include <cstring>
#include <mutex>

namespace rebound::domains {

namespace {

// libspf2 answers DNS through layers; this one asks DnsClient and copies each
// answer into the library's record set.
SPF_dns_rr_t* LookupThroughClient(SPF_dns_server_t* layer, const char* domain, ns_type type, int /*should_cache*/) {
  const auto* dns = static_cast<const DnsClient*>(layer->hook);
  // Type 99 (SPF) is obsolete (RFC 7208 3.1); nobody should publish it.
  if (type != ns_t_a && type != ns_t_aaaa && type != ns_t_mx && type != ns_t_txt && type != ns_t_ptr)
    return SPF_dns_rr_new_init(layer, domain, type, 0, NO_DATA);
  DnsAnswer a = dns->Query(domain, type);
  if (a.kind == DnsAnswer::Kind::kNxDomain) return SPF_dns_rr_new_nxdomain(layer, domain);
  if (a.kind == DnsAnswer::Kind::kNoData) return SPF_dns_rr_new_init(layer, domain, type, 0, NO_DATA);
  if (a.kind == DnsAnswer::Kind::kError) return SPF_dns_rr_new_init(layer, domain, type, 0, TRY_AGAIN);
  SPF_dns_rr_t* rr = SPF_dns_rr_new_init(layer, domain, type, 0, NETDB_SUCCESS);
  if (!rr) return nullptr;
  int n = 0;
  for (const std::string& rec : a.records) {
    if (type == ns_t_a) {
      if (SPF_dns_rr_buf_realloc(rr, n, sizeof(in_addr)) != SPF_E_SUCCESS) break;
      if (inet_pton(AF_INET, rec.c_str(), &rr->rr[n]->a) != 1) continue;
    } else if (type == ns_t_aaaa) {
      if (SPF_dns_rr_buf_realloc(rr, n, sizeof(in6_addr)) != SPF_E_SUCCESS) break;
      if (inet_pton(AF_INET6, rec.c_str(), &rr->rr[n]->aaaa) != 1) continue;
    } else {
      // MX: "preference host" -> host; TXT and PTR as they are.
      std::string text = rec;
      if (type == ns_t_mx) text = rec.substr(rec.find(' ') == std::string::npos ? 0 : rec.find(' ') + 1);
      if (SPF_dns_rr_buf_realloc(rr, n, text.size() + 1) != SPF_E_SUCCESS) break;
      std::memcpy(rr->rr[n]->txt, text.c_str(), text.size() + 1);
    }
    ++n;
  }
  rr->num_rr = n;
  if (n == 0) rr->herrno = NO_DATA;
  return rr;
}

void Quiet(const char*, int, const char*) {}

std::string ResultName(SPF_result_t r) {
  switch (r) {
    case SPF_RESULT_PASS: return "pass";
    case SPF_RESULT_FAIL: return "fail";
    case SPF_RESULT_SOFTFAIL: return "softfail";
    case SPF_RESULT_NEUTRAL: return "neutral";
    case SPF_RESULT_NONE: return "none";
    case SPF_RESULT_TEMPERROR: return "temperror";
    case SPF_RESULT_PERMERROR: return "permerror";
    default: return "permerror";
  }
}

}  // namespace

SpfOutcome EvaluateSpf(const DnsClient& dns, const std::string& ip, const std::string& domain) {
  static std::once_flag quiet;
  // libspf2 prints warnings and info to stdout/stderr by default; what it
  // says is reported through the response instead.
  std::call_once(quiet, [] {
    SPF_warning_handler = Quiet;
    SPF_info_handler = Quiet;
    SPF_debug_handler = Quiet;
  });
  SpfOutcome out;
  SPF_dns_server_t layer{};
  layer.lookup = LookupThroughClient;
  layer.name = "rebound";
  layer.hook = const_cast<DnsClient*>(&dns);
  // destroy stays null: the layer is ours, SPF_server_free leaves it alone.
  SPF_server_t* server = SPF_server_new_dns(&layer, 0);
  if (!server) return {"temperror", "cannot start libspf2"};
  SPF_request_t* request = SPF_request_new(server);
  bool v6 = ip.find(':') != std::string::npos;
  SPF_errcode_t e = v6 ? SPF_request_set_ipv6_str(request, ip.c_str()) : SPF_request_set_ipv4_str(request, ip.c_str());
  if (e != SPF_E_SUCCESS) {
    SPF_request_free(request);
    SPF_server_free(server);
    return {"permerror", "'" + ip + "' is not an IP address"};
  }
  SPF_request_set_env_from(request, ("postmaster@" + domain).c_str());
  SPF_response_t* response = nullptr;
  SPF_request_query_mailfrom(request, &response);
  if (response) {
    out.result = ResultName(SPF_response_result(response));
    for (int i = 0; i < SPF_response_messages(response) && out.detail.empty(); ++i) {
      SPF_error_t* err = SPF_response_message(response, i);
      if (err && SPF_error_message(err)) out.detail = SPF_error_message(err);
    }
    if (out.detail.empty() && SPF_response_get_header_comment(response))
      out.detail = SPF_response_get_header_comment(response);
    SPF_response_free(response);
  } else {
    out.result = "temperror";
  }
  SPF_request_free(request);
  SPF_server_free(server);
  return out;
}

}  // namespace rebound::domains
