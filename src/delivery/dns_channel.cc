#include "delivery/dns_channel.h"

#include <ares.h>
#include <arpa/nameser.h>
#include <poll.h>

namespace rebound::delivery {

namespace {

struct LibraryInit {
  LibraryInit() { ares_library_init(ARES_LIB_INIT_ALL); }
};

void OnAnswer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  auto* a = static_cast<DnsChannel::Answer*>(arg);
  a->status = status;
  if (status == ARES_SUCCESS && abuf && alen > 0) a->data.assign(abuf, abuf + alen);
}

}  // namespace

DnsChannel::Answer::Answer() : status(ARES_ETIMEOUT) {}

DnsChannel::DnsChannel(const std::string& servers, int timeout_ms, int tries) {
  static LibraryInit init;
  ares_options opts{};
  opts.timeout = timeout_ms;
  opts.tries = tries;
  opts.flags = ARES_FLAG_NOSEARCH;
  char lookups[] = "b";  // DNS only, never /etc/hosts
  opts.lookups = lookups;
  if (ares_init_options(&channel_, &opts, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS | ARES_OPT_LOOKUPS) !=
      ARES_SUCCESS) {
    channel_ = nullptr;
    error_ = "cannot start the DNS resolver";
    return;
  }
  if (!servers.empty() && ares_set_servers_ports_csv(channel_, servers.c_str()) != ARES_SUCCESS)
    error_ = "bad DNS server list '" + servers + "'";
}

DnsChannel::~DnsChannel() {
  if (channel_) ares_destroy(channel_);
}

void DnsChannel::Query(const std::string& name, int type, Answer* out) {
  if (!ok()) {
    out->status = ARES_ENOTINITIALIZED;
    return;
  }
  ares_query(channel_, name.c_str(), ns_c_in, type, &OnAnswer, out);
}

void DnsChannel::Run() {
  if (!ok()) return;
  for (;;) {
    ares_socket_t socks[ARES_GETSOCK_MAXNUM];
    int bits = ares_getsock(channel_, socks, ARES_GETSOCK_MAXNUM);
    pollfd fds[ARES_GETSOCK_MAXNUM];
    nfds_t n = 0;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      short ev = 0;
      if (ARES_GETSOCK_READABLE(bits, i)) ev |= POLLIN;
      if (ARES_GETSOCK_WRITABLE(bits, i)) ev |= POLLOUT;
      if (ev) fds[n++] = pollfd{socks[i], ev, 0};
    }
    if (n == 0) return;  // nothing in flight
    timeval tv{}, *tvp = ares_timeout(channel_, nullptr, &tv);
    int ms = tvp ? static_cast<int>(tvp->tv_sec * 1000 + tvp->tv_usec / 1000) : 1000;
    if (poll(fds, n, ms) <= 0) {
      ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts
      continue;
    }
    for (nfds_t i = 0; i < n; ++i) {
      ares_socket_t rd = (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) ? fds[i].fd : ARES_SOCKET_BAD;
      ares_socket_t wr = (fds[i].revents & POLLOUT) ? fds[i].fd : ARES_SOCKET_BAD;
      if (rd != ARES_SOCKET_BAD || wr != ARES_SOCKET_BAD) ares_process_fd(channel_, rd, wr);
    }
  }
}

}  // namespace rebound::delivery
