// The return path part of `rebound serve` (issue 14): every delivery gets a
// VERP envelope sender on its return-path domain, and the bounces that come
// back to it later are heard by the inbound listener (src/inbound,
// docs/inbound.md). Also the [inbound] keys.
#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <unordered_map>

#include "cli/serve_part.h"
#include "config/config.h"
#include "delivery/service.h"
#include "domains/domain_store.h"
#include "inbound/inbound_server.h"
#include "inbound/return_path.h"
#include "relay/event_log.h"
#include "relay/smtp_server.h"

namespace rebound::cli {

namespace {
using T = relay::ConfigKey::Type;
}  // namespace

// Registered here, so `rebound config defaults` and every config file know them.
static const bool kInboundKeysRegistered = (relay::RegisterConfigKeys({
    {"inbound.listen", T::kString, "", "ADDR:PORT of the listener for bounces to the return path (port 25 in production); empty: off"},
    {"inbound.return_path_domain", T::kString, "",
     "Return-path domain of mail whose sender domain is not registered (rebound domain add); empty: those keep their MAIL FROM"},
    {"inbound.max_message_size", T::kInt, "10485760", "Largest bounce accepted (bytes); larger gets 552 5.3.4"},
    {"inbound.max_recipients", T::kInt, "20", "Return paths per inbound message"},
    {"inbound.rate_per_minute", T::kInt, "60", "Inbound messages a minute per client address before 421 (bounce floods)"},
    {"inbound.max_sessions", T::kInt, "100", "Concurrent inbound sessions in total"},
    {"inbound.max_sessions_per_ip", T::kInt, "10", "Concurrent inbound sessions per client address"},
    {"inbound.accept_days", T::kInt, "30", "Bounces for messages queued longer ago than this are refused at RCPT; 0: no limit"},
}), true);

namespace {

// The return-path domain of a message: its sender domain's own (a verified
// sending domain of the account), else the configured default. Looked up
// once a minute per account and domain; called on the delivery strand.
class ReturnPathDomains {
 public:
  ReturnPathDomains(std::unique_ptr<domains::DomainStore> store, std::string fallback)
      : store_(std::move(store)), fallback_(std::move(fallback)) {}

  std::string For(const std::string& account, const std::string& sender_domain, int64_t now) {
    if (!store_) return fallback_;
    std::lock_guard<std::mutex> lock(mu_);
    const std::string key = account + "\n" + sender_domain;
    auto it = cache_.find(key);
    if (it != cache_.end() && it->second.until > now) return it->second.domain;
    domains::SendingDomain d;
    std::string found = fallback_;
    if (store_->VerifiedDomainFor(account, sender_domain, &d).ok() && !d.return_path_domain.empty())
      found = d.return_path_domain;
    if (cache_.size() > 10000) cache_.clear();
    cache_[key] = {found, now + 60};
    return found;
  }

 private:
  struct Cached {
    std::string domain;
    int64_t until = 0;
  };
  std::mutex mu_;
  std::unique_ptr<domains::DomainStore> store_;
  std::string fallback_;
  std::unordered_map<std::string, Cached> cache_;
};

class InboundPart final : public ServePart {
 public:
  explicit InboundPart(std::unique_ptr<inbound::InboundServer> server) : server_(std::move(server)) {}

 private:
  std::unique_ptr<inbound::InboundServer> server_;
};

// The SMTP server's own log (server.log: a file, stderr or the journal), so a
// reload's reopen after logrotate covers the listener's events too. Not
// owned: the server outlives every serve part.
std::shared_ptr<relay::EventLog> ServerLog(const ServeContext& context) {
  return std::shared_ptr<relay::EventLog>(std::shared_ptr<void>(), &context.server->event_log());
}

Status Start(const ServeContext& context, std::unique_ptr<ServePart>* out) {
  const relay::Config& c = *context.config;
  const std::string data_dir = c.String("server.data_dir");
  const std::string listen = c.String("inbound.listen");
  const std::string fallback = c.String("inbound.return_path_domain");
  std::string normalized;
  if (!fallback.empty() && !domains::NormalizeDomain(fallback, &normalized))
    return Status::InvalidArgument("inbound.return_path_domain: '" + fallback + "' is not a domain name");

  // Sending domains registered with `rebound domain add` have their own
  // return-path domains; without any (and without a default) VERP is off.
  std::unique_ptr<domains::DomainStore> domain_store;
  std::vector<domains::SendingDomain> registered;
  if (domains::DomainStore::Open(data_dir, &domain_store).ok() && domain_store->List("", &registered).ok() &&
      registered.empty())
    domain_store.reset();
  const bool verp = context.delivery && (domain_store || !fallback.empty());
  if (!verp && listen.empty()) return Status::Ok();

  std::unique_ptr<inbound::ReturnPathCodec> made;
  Status s = inbound::ReturnPathCodec::LoadOrCreate(data_dir + "/return-path.key", &made);
  if (!s.ok()) return s;
  std::shared_ptr<const inbound::ReturnPathCodec> codec = std::move(made);

  if (verp) {
    auto rp_domains = std::make_shared<ReturnPathDomains>(std::move(domain_store), fallback);
    context.delivery->SetReturnPath([codec, rp_domains](const relay::MessageInfo& info,
                                                        const relay::RecipientRow& rcpt) -> std::string {
      // A notice to a sender keeps its null sender: a bounce of a bounce would loop.
      if (info.mail_from.empty()) return {};
      const std::string domain = rp_domains->For(info.account, relay::AddressDomain(info.mail_from), relay::SystemNow());
      return domain.empty() ? std::string() : codec->Encode(info.id, rcpt.id, domain);
    });
  }
  if (listen.empty()) {
    *out = std::make_unique<ServePart>();
    return Status::Ok();
  }

  std::unique_ptr<const Classifier> built;
  s = BuildClassifier(c.StringList("classifier.rules"), &built);
  if (!s.ok()) return s;
  inbound::DisposerOptions d;
  d.data_dir = data_dir;
  d.suppress_hard_bounces = c.Bool("delivery.suppress_hard_bounces");
  auto disposer = std::make_unique<inbound::BounceDisposer>(context.store, std::shared_ptr<const Classifier>(std::move(built)), d);

  inbound::InboundOptions o;
  o.listen = listen;
  o.hostname = c.String("server.hostname");
  if (o.hostname.empty()) {
    char buf[256] = {};
    gethostname(buf, sizeof buf - 1);
    o.hostname = buf[0] ? buf : "localhost";
  }
  o.max_message_size = c.Int("inbound.max_message_size");
  o.max_recipients = c.Int("inbound.max_recipients");
  o.rate_per_minute = c.Int("inbound.rate_per_minute");
  o.max_sessions = c.Int("inbound.max_sessions");
  o.max_sessions_per_ip = c.Int("inbound.max_sessions_per_ip");
  o.accept_days = c.Int("inbound.accept_days");
  o.command_timeout = c.Int("server.command_timeout");
  o.data_timeout = c.Int("server.data_timeout");
  o.max_errors = c.Int("server.max_errors");
  if (o.max_message_size < 1024 || o.max_recipients < 1 || o.rate_per_minute < 1 || o.max_sessions < 1 ||
      o.max_sessions_per_ip < 1 || o.accept_days < 0)
    return Status::InvalidArgument("[inbound] max_message_size must be at least 1024, accept_days at least 0, and "
                                   "max_recipients, rate_per_minute, max_sessions, max_sessions_per_ip positive");
  std::unique_ptr<inbound::InboundServer> server;
  s = inbound::InboundServer::Start(context.server->io_context(), o, context.store, codec, std::move(disposer),
                                    ServerLog(context), &server);
  if (!s.ok()) return s;
  fprintf(stderr, "rebound serve: bounces to the return path on %s\n", server->listen_address().c_str());
  *out = std::make_unique<InboundPart>(std::move(server));
  return Status::Ok();
}

REBOUND_REGISTER_SERVE_PART((ServePartSpec{
    40,
    "inbound",
    {{"--inbound-listen", "inbound.listen",
      "ADDR:PORT to take bounces on, for the VERP return paths only (config [inbound] listen; port 25 in production)"},
     {"--return-path-domain", "inbound.return_path_domain",
      "Return-path domain for senders without a registered sending domain (config [inbound] return_path_domain)"}},
    Start}));

}  // namespace
}  // namespace rebound::cli
