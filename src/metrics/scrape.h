// metrics/scrape.h: GET /metrics, the Prometheus text exposition (format
// 0.0.4) of `rebound serve`.
//
// A scrape is the hooks' counters (metrics.h) plus what is read at that
// moment instead of counted: the queue depth by state and the oldest waiting
// message's age (Store), each account's quota use against its limit
// (Store::ListAccounts, QuotaUsage), and the webhook backlog (rows waiting in
// the webhook outbox table of queue.db, when that table exists).
//
// Threads: Text() may be called from any thread; calls are serialized. It
// makes a few small store reads (blocking), so a scrape costs about a
// millisecond; call it off the SMTP sessions' strands.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "rebound/status.h"
#include "store/store.h"

struct sqlite3;

namespace rebound::metrics {

inline constexpr std::string_view kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

struct ScrapeSources {
  relay::Store* store = nullptr;  // not owned; outlives the Scraper
  std::string database_path;      // queue.db, for other parts' tables; "" reads none
  relay::Clock clock;             // default: SystemNow
};

class Scraper {
 public:
  static Status Create(const ScrapeSources& sources, std::unique_ptr<Scraper>* out);
  ~Scraper();
  Scraper(const Scraper&) = delete;
  Scraper& operator=(const Scraper&) = delete;

  // The whole exposition. A store read that fails leaves its families out
  // and counts in rebound_scrape_errors_total.
  std::string Text();

 private:
  explicit Scraper(const ScrapeSources& sources) : sources_(sources) {}
  int64_t WebhookBacklog();

  ScrapeSources sources_;
  sqlite3* db_ = nullptr;
  std::mutex mu_;
  int64_t errors_ = 0;
};

}  // namespace rebound::metrics
