// KumoMTA: one JSON log record per line. The record types that are delivery
// attempts: Delivery (sent), TransientFailure (deferred), Bounce, AdminBounce
// and OOB (bounced), Expiration (expired). The peer's reply is in "response"
// as code, enhanced_code {class, subject, detail} and content; the reader
// writes it back as one reply line ("550 5.1.1 content") for the classifier.
#include <nlohmann/json.hpp>

#include "logs/internal.h"

namespace rebound::logs {
namespace {

using nlohmann::json;

std::string StringAt(const json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool IntAt(const json& o, const char* key, int64_t* out) {
  auto it = o.find(key);
  if (it == o.end() || !it->is_number()) return false;
  if (it->is_number_float()) {
    const double d = it->get<double>();
    if (!(d > -9e18 && d < 9e18)) return false;  // NaN, infinities, out of range
    *out = static_cast<int64_t>(d);
  } else {
    *out = it->get<int64_t>();
  }
  return true;
}

class KumoReader final : public LogReader {
 public:
  explicit KumoReader(const LogReaderOptions&) : LogReader(LogFormat::kKumo) {}

  void ReadLine(std::string_view line, std::vector<DeliveryEvent>* out) override {
    ++stats_.lines;
    json rec = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
    if (rec.is_discarded() || !rec.is_object()) {
      ++stats_.garbled;
      return;
    }
    const std::string type = StringAt(rec, "type");
    DeliveryStatus status;
    if (type == "Delivery") status = DeliveryStatus::kSent;
    else if (type == "TransientFailure") status = DeliveryStatus::kDeferred;
    else if (type == "Bounce" || type == "AdminBounce" || type == "OOB") status = DeliveryStatus::kBounced;
    else if (type == "Expiration") status = DeliveryStatus::kExpired;
    else if (type.empty()) {
      ++stats_.garbled;
      return;
    } else {
      ++stats_.ignored;  // Reception, Feedback, Rejection, ...
      return;
    }
    id_ = StringAt(rec, "id");
    from_ = StringAt(rec, "sender");
    recipients_.clear();
    if (auto it = rec.find("recipient"); it != rec.end()) {
      if (it->is_string()) recipients_.push_back(it->get<std::string>());
      else if (it->is_array())
        for (const auto& r : *it)
          if (r.is_string()) recipients_.push_back(r.get<std::string>());
    }
    if (recipients_.empty()) {
      ++stats_.garbled;
      return;
    }
    host_.clear();
    ip_.clear();
    if (auto it = rec.find("peer_address"); it != rec.end() && it->is_object()) {
      host_ = StringAt(*it, "name");
      ip_ = StringAt(*it, "addr");
      if (size_t colon = ip_.rfind(':'); colon != std::string::npos && ip_.find('.') != std::string::npos)
        ip_.resize(colon);  // "192.0.2.1:25"
    }
    if (host_.empty()) host_ = StringAt(rec, "site");
    diag_.clear();
    dsn_.clear();
    if (auto it = rec.find("response"); it != rec.end() && it->is_object()) {
      int64_t code = 0;
      if (IntAt(*it, "code", &code) && code > 0 && code < 1000) diag_ = std::to_string(code);
      if (auto ec = it->find("enhanced_code"); ec != it->end() && ec->is_object()) {
        int64_t k = 0, s = 0, d = 0;
        if (IntAt(*ec, "class", &k) && IntAt(*ec, "subject", &s) && IntAt(*ec, "detail", &d))
          dsn_ = std::to_string(k) + "." + std::to_string(s) + "." + std::to_string(d);
      }
      if (!dsn_.empty()) diag_.append(diag_.empty() ? "" : " ").append(dsn_);
      const std::string content = StringAt(*it, "content");
      if (!content.empty()) diag_.append(diag_.empty() ? "" : " ").append(content);
    }
    DeliveryEvent e;
    e.status = status;
    if (!IntAt(rec, "timestamp", &e.time)) {
      const std::string ts = StringAt(rec, "timestamp");  // some versions write RFC 3339
      if (!ts.empty()) ParseIsoTime(ts, false, &e.time);
    }
    IntAt(rec, "size", &e.size);
    int64_t created = 0;
    if (e.time > 0 && IntAt(rec, "created", &created) && created > 0 && created <= e.time) e.delay = double(e.time - created);
    e.queue_id = id_;
    e.from = from_;
    e.relay_host = host_;
    e.relay_ip = ip_;
    e.dsn = dsn_;
    e.diagnostic = diag_;
    for (const auto& r : recipients_) {
      e.recipient = r;
      out->push_back(e);
      ++stats_.events;
    }
  }

 private:
  std::string id_, from_, host_, ip_, dsn_, diag_;
  std::vector<std::string> recipients_;
};

}  // namespace

std::unique_ptr<LogReader> NewKumoReader(const LogReaderOptions& o) { return std::make_unique<KumoReader>(o); }

}  // namespace rebound::logs
