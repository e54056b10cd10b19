// The delivery side's configuration keys, registered in the one config
// table (config/config.h): each key once, with its default and a line of doc.
#include <unistd.h>

#include "config/config.h"
#include "delivery/service.h"

namespace rebound::delivery {

namespace {
using T = relay::ConfigKey::Type;
}  // namespace

void RegisterDeliveryConfigKeys() {
  relay::RegisterConfigKeys({
      {"delivery.enabled", T::kBool, "true", "Deliver queued mail (false: accept and queue only)"},
      {"delivery.helo_name", T::kString, "", "Name sent in EHLO and used in bounce notices; empty: server.hostname"},
      {"delivery.first_retry", T::kInt, "300", "Seconds before the first retry after a temporary failure"},
      {"delivery.max_retry_interval", T::kInt, "3600", "Retry intervals double up to this many seconds"},
      {"delivery.backoff_factor_percent", T::kInt, "200", "Growth of the retry interval per failure, in percent"},
      {"delivery.jitter_percent", T::kInt, "20", "Random spread of each retry time, in percent of the interval"},
      {"delivery.max_queue_age", T::kInt, "259200", "Seconds in the queue before a recipient expires (3 days)"},
      {"delivery.suppress_hard_bounces", T::kBool, "true", "Put hard-bounced addresses on the account's suppression list"},
      {"delivery.mailbox_full_suppress_after", T::kInt, "5", "mailbox_full failures of an address before it is suppressed..."},
      {"delivery.mailbox_full_span", T::kInt, "259200", "...when they are spread over at least this many seconds"},
      {"delivery.bounce_notices", T::kBool, "true", "Send an RFC 3464 notice to the sender of bounced/expired mail"},
      {"delivery.max_connections", T::kInt, "50", "Outgoing SMTP connections in total"},
      {"delivery.max_connections_per_destination", T::kInt, "5", "Outgoing connections per destination (halved while throttled)"},
      {"delivery.max_messages_per_connection", T::kInt, "100", "Messages sent over one connection before it is renewed"},
      {"delivery.claim_batch", T::kInt, "500", "Recipients taken from the queue per scheduling pass"},
      {"delivery.lease_seconds", T::kInt, "900", "A claimed recipient is held this long before another pass may retake it"},
      {"delivery.poll_interval_ms", T::kInt, "200", "Milliseconds between queue scans when nothing is due"},
      {"delivery.throttle_window", T::kInt, "60", "First pause (seconds) of a destination that answers with a rate limit"},
      {"delivery.throttle_max_window", T::kInt, "3600", "Repeated rate limits double the pause up to this"},
      {"delivery.blocklist_pause", T::kInt, "3600", "Pause (seconds) of a destination that says our IP is blocklisted"},
      {"delivery.routes", T::kString, "", "Static routes as domain=host[:port] pairs, comma-separated; * is a smart host (also [routes])"},
      {"delivery.tls", T::kString, "opportunistic", "STARTTLS: off | opportunistic | require ([tls_policy] per domain)"},
      {"delivery.smtp_port", T::kInt, "25", "Port of MX hosts found in DNS"},
      {"delivery.connect_timeout", T::kInt, "30", "Seconds to connect to a receiving server"},
      {"delivery.greeting_timeout", T::kInt, "300", "Seconds to wait for the 220 greeting (RFC 5321 4.5.3.2)"},
      {"delivery.command_timeout", T::kInt, "300", "Seconds to wait for replies to EHLO, MAIL, RCPT, RSET"},
      {"delivery.data_init_timeout", T::kInt, "120", "Seconds to wait for the reply to DATA"},
      {"delivery.data_block_timeout", T::kInt, "180", "Seconds allowed for each write of the message body"},
      {"delivery.data_end_timeout", T::kInt, "600", "Seconds to wait for the reply to the final dot"},
      {"delivery.events_log", T::kString, "", "JSON Lines log of every delivery attempt; empty: <data_dir>/delivery-events.jsonl"},
      {"dns.servers", T::kString, "", "Resolvers as ip:port[,ip:port]; empty: the system's resolv.conf"},
      {"dns.timeout_ms", T::kInt, "3000", "Milliseconds per DNS try"},
      {"dns.tries", T::kInt, "2", "DNS tries per query"},
      {"dns.cache_seconds", T::kInt, "300", "Seconds a resolved route is reused"},
      {"routes.*", T::kString, "127.0.0.1:2626", "Static route: \"domain\" (or \"*\" for a smart host) = \"host[:port]\""},
      {"tls_policy.*", T::kString, "require", "STARTTLS per domain: \"domain\" = \"off\" | \"opportunistic\" | \"require\""},
  });
}


Status DeliveryOptionsFromConfig(const relay::Config& c, const std::string& config_path, DeliveryOptions* out) {
  DeliveryOptions o;
  o.helo_name = c.String("delivery.helo_name");
  if (o.helo_name.empty()) o.helo_name = c.String("server.hostname");
  if (o.helo_name.empty()) {
    char host[256] = {0};
    if (gethostname(host, sizeof host - 1) == 0 && host[0]) o.helo_name = host;
    else o.helo_name = "localhost";
  }
  o.retry.first_retry = Seconds(c.Int("delivery.first_retry"));
  o.retry.max_retry_interval = Seconds(c.Int("delivery.max_retry_interval"));
  o.retry.backoff_factor = static_cast<double>(c.Int("delivery.backoff_factor_percent")) / 100.0;
  o.retry.jitter = static_cast<double>(c.Int("delivery.jitter_percent")) / 100.0;
  o.retry.max_queue_age = Seconds(c.Int("delivery.max_queue_age"));
  o.retry.suppress_hard_bounces = c.Bool("delivery.suppress_hard_bounces");
  o.retry.mailbox_full_suppress_after = static_cast<int>(c.Int("delivery.mailbox_full_suppress_after"));
  o.retry.mailbox_full_span = Seconds(c.Int("delivery.mailbox_full_span"));
  o.bounce_notices = c.Bool("delivery.bounce_notices");
  o.max_connections = static_cast<int>(c.Int("delivery.max_connections"));
  o.throttle.max_connections = static_cast<int>(c.Int("delivery.max_connections_per_destination"));
  o.max_messages_per_connection = static_cast<int>(c.Int("delivery.max_messages_per_connection"));
  o.claim_batch = static_cast<int>(c.Int("delivery.claim_batch"));
  o.lease_seconds = static_cast<int>(c.Int("delivery.lease_seconds"));
  o.poll_interval = std::chrono::milliseconds(c.Int("delivery.poll_interval_ms"));
  o.throttle.initial_window = Seconds(c.Int("delivery.throttle_window"));
  o.throttle.max_window = Seconds(c.Int("delivery.throttle_max_window"));
  o.throttle.blocklist_pause = Seconds(c.Int("delivery.blocklist_pause"));
  o.tls = c.String("delivery.tls");
  o.dns.smtp_port = static_cast<uint16_t>(c.Int("delivery.smtp_port"));
  o.connect_timeout = static_cast<int>(c.Int("delivery.connect_timeout"));
  o.greeting_timeout = static_cast<int>(c.Int("delivery.greeting_timeout"));
  o.command_timeout = static_cast<int>(c.Int("delivery.command_timeout"));
  o.data_init_timeout = static_cast<int>(c.Int("delivery.data_init_timeout"));
  o.data_block_timeout = static_cast<int>(c.Int("delivery.data_block_timeout"));
  o.data_end_timeout = static_cast<int>(c.Int("delivery.data_end_timeout"));
  o.events_log = c.String("delivery.events_log");
  if (o.events_log.empty()) o.events_log = c.String("server.data_dir") + "/delivery-events.jsonl";
  o.dns.servers = c.String("dns.servers");
  o.dns.timeout_ms = static_cast<int>(c.Int("dns.timeout_ms"));
  o.dns.tries = static_cast<int>(c.Int("dns.tries"));
  o.dns.cache_seconds = static_cast<int>(c.Int("dns.cache_seconds"));
  // delivery.routes = "a.test=127.0.0.1:2626, *=smart.example:587"
  const std::string& routes = c.String("delivery.routes");
  size_t pos = 0;
  while (pos < routes.size()) {
    size_t comma = routes.find(',', pos);
    std::string item = routes.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? routes.size() : comma + 1;
    auto trim = [](std::string s) {
      while (!s.empty() && isspace(static_cast<unsigned char>(s.front()))) s.erase(0, 1);
      while (!s.empty() && isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
      return s;
    };
    item = trim(item);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0)
      return Status::InvalidArgument("delivery.routes: expected domain=host[:port], got \"" + item + "\"");
    o.dns.routes[trim(item.substr(0, eq))] = trim(item.substr(eq + 1));
  }
  for (const auto& [domain, target] : c.Section("routes")) o.dns.routes[domain] = target;
  o.tls_per_domain = c.Section("tls_policy");
  *out = std::move(o);
  return Status::Ok();
}

}  // namespace rebound::delivery
