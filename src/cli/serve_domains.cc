// The part of `rebound serve` that re-checks every sending domain's DNS on a
// schedule ([domains] check_interval, --domain-check-interval): the same
// check as `rebound domain check`, with its effects (verified, a published
// selector starts signing, an expired one retires), and a `record_broken`
// row in the domain_events table (`rebound domain events`) plus a line on
// stderr when a record that passed fails now.
//
// DNS lookups block, so the checks run on a thread of their own with their
// own DomainStore connection, never on the io_context that serves SMTP.
//
// The part also installs the submission side's sender-domain policy
// (domains/sender_policy.h): MAIL FROM's and the From header's domain must be
// a verified sending domain of the account, for accounts that registered one
// (or every account with [domains] require_verified).
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <iostream>
#include <mutex>
#include <thread>

#include "cli/serve_part.h"
#include "config/config.h"
#include "domains/domain_check.h"
#include "domains/domain_store.h"
#include "domains/sender_policy.h"
#include "relay/submission.h"

namespace rebound::cli {

static const bool kDomainServeKeysRegistered = (domains::RegisterDomainConfigKeys(), true);

namespace {

class DomainChecker : public ServePart {
 public:
  DomainChecker(std::unique_ptr<domains::DomainStore> store, domains::DomainSettings settings, int64_t interval)
      : store_(std::move(store)), settings_(std::move(settings)), interval_(interval) {
    if (interval_ > 0) thread_ = std::thread([this] { Loop(); });
  }
  ~DomainChecker() override {
    relay::SetSenderDomainPolicy(nullptr);
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      CheckAll();
      lock.lock();
      cv_.wait_for(lock, std::chrono::seconds(interval_), [this] { return stop_; });
    }
  }

  void CheckAll() {
    std::vector<domains::SendingDomain> list;
    Status s = store_->List("", &list);
    if (!s.ok()) {
      std::cerr << "rebound serve: domains: " << s.message() << "\n";
      return;
    }
    const domains::DnsClient dns(settings_.dns_servers, settings_.dns_timeout_ms, settings_.dns_tries);
    for (const auto& d : list) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_) return;
      }
      const int64_t now = time(nullptr);
      domains::DomainReport report = domains::CheckDomain(d, settings_, dns);
      std::vector<std::string> changes;
      s = domains::ApplyCheck(store_.get(), report, settings_, now, &changes);
      for (const auto& change : changes) {
        if (s.ok()) s = store_->AddEvent(d.name, "changed", "", change, now);
      }
      for (const auto& c : report.checks) {
        bool broke = false;
        if (s.ok()) s = store_->RecordResult(d.name, c.record, c.ok, c.found, now, &broke);
        if (s.ok() && broke) {
          s = store_->AddEvent(d.name, "record_broken", c.record, c.found + "; fix: " + c.fix, now);
          std::cerr << "rebound serve: domains: " << d.name << ": " << c.record << " (" << c.type << " " << c.name
                    << ") broke: " << c.found << "\n";
        }
      }
      if (!s.ok()) std::cerr << "rebound serve: domains: " << d.name << ": " << s.message() << "\n";
    }
  }

  std::unique_ptr<domains::DomainStore> store_;
  domains::DomainSettings settings_;
  int64_t interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

Status Start(const ServeContext& context, std::unique_ptr<ServePart>* out) {
  const std::string& data_dir = context.config->String("server.data_dir");
  std::unique_ptr<domains::DomainStore> policy_store, check_store;
  Status s = domains::DomainStore::Open(data_dir, &policy_store);
  if (s.ok()) s = domains::DomainStore::Open(data_dir, &check_store);
  if (!s.ok()) return s;
  relay::SetSenderDomainPolicy(std::make_shared<domains::VerifiedDomainPolicy>(
      std::move(policy_store), context.config->Bool("domains.require_verified")));
  // check_interval 0: no re-checks, the policy still applies.
  *out = std::make_unique<DomainChecker>(std::move(check_store), domains::SettingsFromConfig(*context.config),
                                         context.config->Int("domains.check_interval"));
  return Status::Ok();
}

ServePartSpec Spec() {
  ServePartSpec spec;
  spec.order = 10;
  spec.name = "domains";
  spec.flags = {{"--domain-check-interval", "domains.check_interval",
                 "Seconds between re-checks of every sending domain's DNS records (0: off)"},
                {"--require-verified-domains", "domains.require_verified",
                 "true: every account sends only as its verified sending domains (default: accounts that registered one)"}};
  spec.start = Start;
  return spec;
}

}  // namespace

REBOUND_REGISTER_SERVE_PART(Spec());

}  // namespace rebound::cli
