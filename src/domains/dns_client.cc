#include "domains/dns_client.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>

#include <cstdio>

#include "delivery/dns_channel.h"

namespace rebound::domains {

namespace {

std::string StripDot(std::string s) {
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

void ParseInto(int type, const std::vector<unsigned char>& data, DnsAnswer* out) {
  const unsigned char* p = data.data();
  const int len = static_cast<int>(data.size());
  char buf[INET6_ADDRSTRLEN];
  int rc = ARES_EBADRESP;
  switch (type) {
    case ns_t_txt: {
      ares_txt_ext* list = nullptr;
      rc = ares_parse_txt_reply_ext(p, len, &list);
      if (rc == ARES_SUCCESS) {
        // A record's character-strings are joined (RFC 7208 3.3, RFC 6376 3.6.2.2).
        for (ares_txt_ext* t = list; t; t = t->next) {
          if (t->record_start || out->records.empty()) out->records.emplace_back();
          out->records.back().append(reinterpret_cast<const char*>(t->txt), t->length);
        }
        ares_free_data(list);
      }
      break;
    }
    case ns_t_a: {
      ares_addrttl ttls[64];
      int n = 64;
      rc = ares_parse_a_reply(p, len, nullptr, ttls, &n);
      if (rc == ARES_SUCCESS)
        for (int i = 0; i < n; ++i)
          if (inet_ntop(AF_INET, &ttls[i].ipaddr, buf, sizeof buf)) out->records.push_back(buf);
      break;
    }
    case ns_t_aaaa: {
      ares_addr6ttl ttls[64];
      int n = 64;
      rc = ares_parse_aaaa_reply(p, len, nullptr, ttls, &n);
      if (rc == ARES_SUCCESS)
        for (int i = 0; i < n; ++i)
          if (inet_ntop(AF_INET6, &ttls[i].ip6addr, buf, sizeof buf)) out->records.push_back(buf);
      break;
    }
    case ns_t_mx: {
      ares_mx_reply* list = nullptr;
      rc = ares_parse_mx_reply(p, len, &list);
      if (rc == ARES_SUCCESS) {
        for (ares_mx_reply* m = list; m; m = m->next)
          out->records.push_back(std::to_string(m->priority) + " " + StripDot(m->host));
        ares_free_data(list);
      }
      break;
    }
    case ns_t_ptr: {
      hostent* host = nullptr;
      // The address only fills h_addr_list; the names are what matter here.
      unsigned char none[4] = {0, 0, 0, 0};
      rc = ares_parse_ptr_reply(p, len, none, sizeof none, AF_INET, &host);
      if (rc == ARES_SUCCESS && host) {
        if (host->h_name) out->records.push_back(StripDot(host->h_name));
        for (char** a = host->h_aliases; a && *a; ++a) {
          std::string alias = StripDot(*a);
          if (alias != out->records.front()) out->records.push_back(alias);
        }
        ares_free_hostent(host);
      }
      break;
    }
    default:
      break;
  }
  if (rc == ARES_SUCCESS) {
    out->kind = out->records.empty() ? DnsAnswer::Kind::kNoData : DnsAnswer::Kind::kOk;
  } else if (rc == ARES_ENODATA) {
    out->kind = DnsAnswer::Kind::kNoData;
  } else {
    out->kind = DnsAnswer::Kind::kError;
    out->error = ares_strerror(rc);
  }
}

}  // namespace

std::string ReverseName(const std::string& ip) {
  unsigned char a[16];
  char buf[8];
  std::string out;
  if (inet_pton(AF_INET, ip.c_str(), a) == 1) {
    for (int i = 3; i >= 0; --i) out += std::to_string(a[i]) + ".";
    return out + "in-addr.arpa";
  }
  if (inet_pton(AF_INET6, ip.c_str(), a) == 1) {
    for (int i = 15; i >= 0; --i) {
      std::snprintf(buf, sizeof buf, "%x.%x.", a[i] & 15, a[i] >> 4);
      out += buf;
    }
    return out + "ip6.arpa";
  }
  return {};
}

DnsAnswer DnsClient::Query(const std::string& name, int type) const {
  DnsAnswer out;
  delivery::DnsChannel channel(servers_, timeout_ms_, tries_);
  if (!channel.ok()) {
    out.error = channel.error();
    return out;
  }
  delivery::DnsChannel::Answer raw;
  channel.Query(name, type, &raw);
  channel.Run();
  if (raw.status == ARES_SUCCESS) {
    ParseInto(type, raw.data, &out);
  } else if (raw.status == ARES_ENOTFOUND) {
    out.kind = DnsAnswer::Kind::kNxDomain;
    out.error = "no such domain";
  } else if (raw.status == ARES_ENODATA) {
    out.kind = DnsAnswer::Kind::kNoData;
    out.error = "no records of that type";
  } else {
    out.error = ares_strerror(raw.status);
  }
  return out;
}

DnsAnswer DnsClient::ReversePtr(const std::string& ip) const {
  std::string name = ReverseName(ip);
  if (name.empty()) {
    DnsAnswer out;
    out.error = "'" + ip + "' is not an IP address";
    return out;
  }
  return Query(name, ns_t_ptr);
}

}  // namespace rebound::domains
