// The engine of `rebound scan`: log lines in, classified delivery events and
// an aggregated report out. Internal to Rebound (the CLI, the benchmark and
// the fuzzer use it); the public part is rebound/log.h.
//
// A Scanner owns one LogReader, a classifier scratch and a ScanReport; it is
// single-threaded. Only attempts that did not succeed are classified (a
// "sent" event gets the verdict of a plain "250 2.0.0 Ok", classified once),
// and a reply text seen before gets its remembered verdict (VerdictMemo).
// The report keeps bounded state: counters, per-minute buckets, capped
// tables of distinct diagnostics, and the hard-bounced addresses.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "logs/internal.h"
#include "logs/verdict_memo.h"
#include "rebound/classifier.h"
#include "rebound/log.h"

namespace rebound::logs {

class ScanReport {
 public:
  explicit ScanReport(const Classifier& classifier);
  // reply: the parsed diagnostic when the caller has it (else parsed here).
  // reply_id: when not 0, names reply's exact text and verdict for the
  // whole process (VerdictMemo::Entry::id): what the report derives from
  // them is then looked up, not derived again.
  void Add(const DeliveryEvent& e, const Verdict& v, const Reply* reply = nullptr, uint64_t reply_id = 0);
  // Counters of the readers, for the "input" section.
  void AddInputStats(const std::string& name, LogFormat format, const LogReaderStats& stats, uint64_t bytes);

  // The whole report as one JSON document (what --json prints; made in
  // report_json.cc); the text and HTML renderings are made from it, so all
  // three say the same.
  nlohmann::json ToJson() const;
  // Hard-bounced addresses, sorted.
  std::vector<std::string> SuppressList() const;
  uint64_t events() const { return total_; }

 private:
  struct Counts {
    uint64_t by_status[4] = {};
    uint64_t total() const { return by_status[0] + by_status[1] + by_status[2] + by_status[3]; }
  };
  struct CategoryStats {
    Counts counts;
    uint64_t hard = 0;
    int64_t first = 0, last = 0;
    StringMap<uint64_t> diagnostics;  // normalised text -> count (capped)
    StringMap<uint64_t> domains;      // recipient domain -> count (capped)
  };
  struct DomainStats {
    Counts counts;
    uint64_t by_category[kCategoryCount] = {};
    std::string provider;
  };
  using StringSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;
  struct Listing {  // a blocklist naming one of our IPs
    uint64_t count = 0;
    int64_t first = 0, last = 0;
    StringSet where;  // providers (or domains) that said so
  };
  struct Bucket {
    uint32_t by_status[4] = {};
    uint32_t by_category[kCategoryCount] = {};  // not-sent attempts only
  };

  void NoteBlocklist(const DeliveryEvent& e, const Verdict& v, const Reply& r, uint64_t reply_id);
  // Lower-cased copy of s in lower_buf_.
  const std::string& LowerInBuf(std::string_view s);

  const Classifier& classifier_;
  uint64_t total_ = 0;
  Counts counts_;
  int64_t first_time_ = 0, last_time_ = 0;
  CategoryStats categories_[kCategoryCount];
  StringMap<DomainStats> domains_;
  StringMap<Counts> providers_;
  // Addresses, tracked by the hundred thousand: views into addresses_.
  StringArena addresses_;
  std::unordered_set<std::string_view, StringHash, std::equal_to<>> hard_bounced_;
  std::unordered_map<std::string_view, uint64_t, StringHash, std::equal_to<>> mailbox_full_;  // address -> times
  std::map<std::pair<std::string, std::string>, Listing> listings_;  // (ip, list)
  // (domain, category) of rate-limit replies -> per-minute counts
  std::map<std::pair<std::string, int>, std::map<int64_t, uint32_t>> rate_limits_;
  // The rate-limit counter the previous such event went to (nodes never move).
  std::pair<std::string, int> rate_key_;
  std::map<int64_t, uint32_t>* rate_minutes_ = nullptr;
  int64_t rate_minute_ = -1;
  uint32_t* rate_count_ = nullptr;
  std::string lower_buf_;
  // reply_id -> what the report derived from that reply: direct-mapped.
  struct IdSlot {
    uint64_t id = 0;
    uint64_t* diagnostic = nullptr;  // its top-diagnostics counter
    Listing* listing = nullptr;      // its blocklist listing, when one
  };
  static constexpr size_t kIdSlots = 4096;
  std::vector<IdSlot> id_slots_ = std::vector<IdSlot>(kIdSlots);
  std::map<int64_t, Bucket> minutes_;
  int64_t last_minute_ = -1;  // the bucket the previous event went to
  Bucket* last_bucket_ = nullptr;
  std::string domain_buf_;
  std::string norm_buf_;  // NormaliseDiagnostic's output, reused
  nlohmann::json inputs_ = nlohmann::json::array();
};

class Scanner {
 public:
  using EventSink = std::function<void(const DeliveryEvent&, const Verdict&)>;
  Scanner(const Classifier& classifier, LogFormat format, const LogReaderOptions& options, ScanReport* report);
  ~Scanner();
  // One line of the log (no newline). Events go to the report and, when
  // set, to the sink.
  void Line(std::string_view line);
  void set_sink(EventSink sink) { sink_ = std::move(sink); }
  const LogReader& reader() const { return *reader_; }
  // The verdict for one event (what Line() uses).
  Verdict Classify(const DeliveryEvent& e);
  const VerdictMemo& memo() const { return memo_; }

 private:
  // The verdict and parsed reply for a not-sent event: from the memo, else
  // classified (and remembered). Valid until the next call.
  const VerdictMemo::Entry& Answer(const DeliveryEvent& e);

  const Classifier& classifier_;
  std::unique_ptr<LogReader> reader_;
  Classifier::ScratchPtr scratch_;
  Verdict delivered_;
  ScanReport* report_;
  EventSink sink_;
  std::vector<DeliveryEvent> events_;
  std::string input_buf_;
  VerdictMemo memo_;
  VerdictMemo::Entry fresh_;  // an answer the memo did not keep (id 0)
};

// The reply as the report's top diagnostics show it: code, enhanced status
// and text, each word with an '@' replaced by "<address>" (its surrounding
// punctuation kept), at most kMaxNormalised bytes.
constexpr size_t kMaxNormalised = 200;
void NormaliseDiagnostic(const Reply& r, std::string* out);

// The blocklist a rejection names: one of the lists of rules/providers/
// dnsbl.toml ([[blocklist]]) whose text it mentions, else the zone after
// "blocked using" or "listed at/on/in/by", else "a blocklist".
std::string BlocklistName(std::string_view reply_text);

// Renderings of ScanReport::ToJson().
std::string RenderReportText(const nlohmann::json& report, bool color);
std::string RenderReportHtml(const nlohmann::json& report);

// "2026-11-27 10:42" (UTC).
std::string FormatTime(int64_t t, bool with_date = true);

}  // namespace rebound::logs
