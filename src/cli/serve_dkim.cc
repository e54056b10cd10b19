// The DKIM part of `rebound serve` (issue 14): signs every message whose From
// domain has keys in the sending-domain store (`rebound domain add`), as the
// last change to the message before it is sent (a body filter added after the
// unsubscribe headers, order 20, and before nothing else touches the bytes).
//
// A From domain without keys (NotFound) is sent unsigned: mail of accounts
// that registered no sending domain goes out as before. Any other failure (a
// key file that does not load, the store unreadable) fails the filter, which
// defers the recipients: sending unsigned mail for a domain that publishes
// DKIM would be worse than sending it later.
#include <chrono>
#include <map>
#include <memory>
#include <mutex>

#include "cli/serve_part.h"
#include "config/config.h"
#include "delivery/service.h"
#include "dkim/signer.h"
#include "domains/domain_store.h"
#include "store/store.h"

namespace rebound::cli {

namespace {
using T = relay::ConfigKey::Type;
}  // namespace

static const bool kDkimKeysRegistered = (relay::RegisterConfigKeys({
    {"dkim.enabled", T::kBool, "true", "Sign outgoing mail with the From domain's DKIM keys (rebound domain add)"},
    {"dkim.key_cache_seconds", T::kInt, "60",
     "Seconds a domain's keys (or their absence) are remembered; a rotation is seen within this time"},
}), true);

namespace {

// The keys of each From domain, read from the store at most once per
// cache period. Called only from the delivery loop's filter; the mutex keeps
// it correct should filters ever run on more than one thread.
class KeyCache {
 public:
  KeyCache(std::unique_ptr<domains::DomainStore> store, std::chrono::seconds ttl) : store_(std::move(store)), ttl_(ttl) {}

  Status Get(const std::string& domain, std::vector<domains::SigningKey>* keys) {
    std::lock_guard lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    auto it = entries_.find(domain);
    if (it == entries_.end() || now - it->second.fetched >= ttl_) {
      Entry e;
      e.fetched = now;
      e.status = store_->SigningKeysFor(domain, &e.keys);
      // Only answers are cached: a store error is asked again next message.
      if (!e.status.ok() && e.status.code() != Status::Code::kNotFound) return e.status;
      it = entries_.insert_or_assign(domain, std::move(e)).first;
    }
    if (!it->second.status.ok()) return it->second.status;
    *keys = it->second.keys;
    return Status::Ok();
  }

 private:
  struct Entry {
    std::chrono::steady_clock::time_point fetched;
    Status status;
    std::vector<domains::SigningKey> keys;
  };
  std::mutex mu_;
  std::unique_ptr<domains::DomainStore> store_;
  std::chrono::seconds ttl_;
  std::map<std::string, Entry, std::less<>> entries_;
};

// What the filter needs; shared with the filter so it stays valid for as long
// as the delivery service keeps the filter.
class DkimSigning {
 public:
  DkimSigning(std::unique_ptr<dkim::Signer> signer, std::unique_ptr<KeyCache> keys)
      : signer_(std::move(signer)), keys_(std::move(keys)) {}

  Status Filter(std::string* body) {
    const std::string domain = dkim::FromDomain(*body);
    if (domain.empty()) return Status::Ok();  // no From domain: nothing to sign for
    std::vector<domains::SigningKey> keys;
    Status s = keys_->Get(domain, &keys);
    if (s.code() == Status::Code::kNotFound || (s.ok() && keys.empty())) return Status::Ok();
    if (!s.ok()) return Status::IoError("DKIM keys of " + domain + " could not be read: " + s.message());
    return signer_->SignInPlace(keys, body);
  }

 private:
  std::unique_ptr<dkim::Signer> signer_;
  std::unique_ptr<KeyCache> keys_;
};

class DkimPart final : public ServePart {
 public:
  explicit DkimPart(std::shared_ptr<DkimSigning> signing) : signing_(std::move(signing)) {}

 private:
  std::shared_ptr<DkimSigning> signing_;
};

Status Start(const ServeContext& context, std::unique_ptr<ServePart>* out) {
  const relay::Config& c = *context.config;
  if (!c.Bool("dkim.enabled") || context.delivery == nullptr) return Status::Ok();
  const int64_t ttl = c.Int("dkim.key_cache_seconds");
  if (ttl < 0) return Status::InvalidArgument("dkim.key_cache_seconds must be 0 or more");
  std::unique_ptr<dkim::Signer> signer;
  Status s = dkim::Signer::Create(&signer);
  if (!s.ok()) return s;
  std::unique_ptr<domains::DomainStore> store;
  s = domains::DomainStore::Open(c.String("server.data_dir"), &store);
  if (!s.ok()) return s;
  auto signing = std::make_shared<DkimSigning>(
      std::move(signer), std::make_unique<KeyCache>(std::move(store), std::chrono::seconds(ttl)));
  context.delivery->AddBodyFilter(
      [signing](const relay::MessageInfo&, std::string* body) { return signing->Filter(body); });
  *out = std::make_unique<DkimPart>(std::move(signing));
  return Status::Ok();
}

REBOUND_REGISTER_SERVE_PART((ServePartSpec{
    30,
    "dkim",
    {{"--dkim", "dkim.enabled", "Sign outgoing mail with the From domain's DKIM keys (true|false; default true)"}},
    Start}));

}  // namespace
}  // namespace rebound::cli
