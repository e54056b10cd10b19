// The wiring of the delivery service: options checked, the service created,
// started on an io_context, woken and stopped; StartDelivery for `rebound
// serve`. The loop itself is in scheduler.cc, the recording of each attempt
// in record_attempts.cc.
#include <utility>  // before Asio: Boost 1.74 awaitable.hpp needs std::exchange

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

#include "config/config.h"
#include "delivery/service_impl.h"

namespace rebound::delivery {

namespace asio = boost::asio;

TlsMode ParseTlsMode(std::string_view s, bool* ok) {
  *ok = true;
  if (s == "off" || s == "none") return TlsMode::kOff;
  if (s == "require" || s == "required") return TlsMode::kRequire;
  if (s == "opportunistic" || s == "may" || s.empty()) return TlsMode::kOpportunistic;
  *ok = false;
  return TlsMode::kOpportunistic;
}

DeliveryService::Impl::Impl(const DeliveryOptions& o, relay::Store* store, const Classifier* classifier,
                            std::unique_ptr<Resolver> resolver)
    : opt_(o), store_(store), classifier_(classifier), scratch_(classifier->NewScratch()),
      resolver_(std::move(resolver)), tls_(asio::ssl::context::tls_client), throttle_(o.throttle),
      rng_(std::random_device{}()) {
  tls_.set_verify_mode(asio::ssl::verify_none);  // opportunistic encryption, as MTAs do between each other
  if (!opt_.clock) opt_.clock = relay::SystemNow;
  if (!opt_.events_log.empty()) events_ = fopen(opt_.events_log.c_str(), "a");
}

DeliveryService::Impl::~Impl() {
  if (events_) fclose(events_);
}

Status DeliveryService::Create(const DeliveryOptions& options, relay::Store* store, const Classifier* classifier,
                               std::unique_ptr<DeliveryService>* out) {
  if (!store || !classifier) return Status::InvalidArgument("delivery: store and classifier are required");
  bool ok;
  ParseTlsMode(options.tls, &ok);
  if (!ok) return Status::InvalidArgument("delivery.tls: expected off, opportunistic or require, got \"" + options.tls + "\"");
  for (const auto& [domain, mode] : options.tls_per_domain) {
    ParseTlsMode(mode, &ok);
    if (!ok) return Status::InvalidArgument("tls.\"" + domain + "\": expected off, opportunistic or require, got \"" + mode + "\"");
  }
  if (options.max_connections < 1 || options.claim_batch < 1 || options.lease_seconds < 1)
    return Status::InvalidArgument("delivery: max_connections, claim_batch and lease_seconds must be positive");
  std::unique_ptr<Resolver> resolver;
  Status s = Resolver::Create(options.dns, &resolver);
  if (!s.ok()) return s;
  auto impl = std::make_unique<Impl>(options, store, classifier, std::move(resolver));
  if (!options.events_log.empty() && !impl->events_)
    return Status::IoError("delivery: cannot open the events log " + options.events_log);
  out->reset(new DeliveryService(std::move(impl)));
  return Status::Ok();
}

DeliveryService::DeliveryService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DeliveryService::~DeliveryService() { Stop(); }

void DeliveryService::AddBodyFilter(BodyFilter filter) { impl_->body_filters_.push_back(std::move(filter)); }
void DeliveryService::SetReturnPath(ReturnPath return_path) { impl_->return_path_ = std::move(return_path); }

void DeliveryService::Start(asio::io_context& io) {
  impl_->strand_.emplace(asio::make_strand(io));
  asio::co_spawn(*impl_->strand_, impl_->Loop(), asio::detached);
}

void DeliveryService::Stop() {
  impl_->stopping_ = true;
  Wake();
}

void DeliveryService::Wake() {
  if (!impl_->strand_) return;
  Impl* impl = impl_.get();
  asio::post(*impl_->strand_, [impl] {
    if (impl->wake_) impl->wake_->cancel();
  });
}

void DeliveryService::ReplaceClassifier(std::unique_ptr<const Classifier> classifier) {
  const Classifier* next = classifier.get();
  {
    std::lock_guard<std::mutex> lock(replaced_mu_);
    replacements_.push_back(std::move(classifier));
  }
  Impl* impl = impl_.get();
  auto swap = [impl, next] {
    impl->classifier_ = next;
    impl->scratch_ = next->NewScratch();
  };
  // The loop classifies on its strand: swap there, between two verdicts.
  if (impl_->strand_) asio::post(*impl_->strand_, swap);
  else swap();
}

int DeliveryService::RunOnce(asio::io_context& io) {
  impl_->strand_.emplace(asio::make_strand(io));
  int n = 0;
  struct Runner {
    Impl* impl;
    int* n;
    asio::awaitable<void> operator()() {
      int r = co_await impl->Pass();
      *n = r;
    }
  };
  asio::co_spawn(*impl_->strand_, Runner{impl_.get(), &n}, asio::detached);
  io.restart();
  io.run();
  impl_->strand_.reset();  // io may go away after this call
  return n;
}

DeliveryCounters DeliveryService::counters() const {
  std::lock_guard<std::mutex> lock(impl_->counters_mu_);
  return impl_->counters_;
}

Status CreateDelivery(const relay::Config& config, const std::string& config_path, relay::Store* store,
                      std::unique_ptr<DeliveryService>* out) {
  out->reset();
  if (!config.Bool("delivery.enabled")) return Status::Ok();
  DeliveryOptions options;
  Status s = DeliveryOptionsFromConfig(config, config_path, &options);
  if (!s.ok()) return s;
  std::unique_ptr<const Classifier> classifier;
  s = BuildClassifier(config.StringList("classifier.rules"), &classifier);
  if (!s.ok()) return s;
  std::unique_ptr<DeliveryService> service;
  s = DeliveryService::Create(options, store, classifier.get(), &service);
  if (!s.ok()) return s;
  service->owned_classifier_ = std::move(classifier);
  *out = std::move(service);
  return Status::Ok();
}

}  // namespace rebound::delivery
