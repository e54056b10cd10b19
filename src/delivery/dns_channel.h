// delivery/dns_channel.h: one c-ares channel that asks the configured
// resolvers a few questions and blocks until they are answered or time out.
// Both DNS users sit on it: delivery's MX resolution (delivery/dns.h) and
// `domain check` (domains/dns_client.h). DNS only, never /etc/hosts: mail
// routing and published records follow what the world's DNS says.
#pragma once

#include <string>
#include <vector>

struct ares_channeldata;

namespace rebound::delivery {

class DnsChannel {
 public:
  struct Answer {
    int status;                       // an ARES_* code; ARES_ETIMEOUT until answered
    std::vector<unsigned char> data;  // the raw DNS message when status is ARES_SUCCESS
    Answer();
  };

  // `servers`: "ip:port,ip:port"; empty: the system's resolv.conf.
  DnsChannel(const std::string& servers, int timeout_ms, int tries);
  ~DnsChannel();
  DnsChannel(const DnsChannel&) = delete;
  DnsChannel& operator=(const DnsChannel&) = delete;

  // Empty when the channel is usable; else why not.
  const std::string& error() const { return error_; }
  bool ok() const { return error_.empty(); }

  // Starts a query (type: ns_t_* of arpa/nameser.h); *out is filled by Run().
  void Query(const std::string& name, int type, Answer* out);
  // Drives the channel until every query has an answer or has timed out.
  void Run();

 private:
  ares_channeldata* channel_ = nullptr;
  std::string error_;
};

}  // namespace rebound::delivery
