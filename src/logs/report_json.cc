// ScanReport::ToJson: the report as one JSON document, from which the text
// and HTML renderings (render.cc) are made. See logs/scan.h.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "logs/scan.h"

namespace rebound::logs {

using nlohmann::json;

namespace {

template <typename Map>
std::vector<std::pair<std::string, uint64_t>> Top(const Map& m, size_t n) {
  std::vector<std::pair<std::string, uint64_t>> v;
  v.reserve(m.size());
  for (const auto& [k, c] : m) v.emplace_back(k, c);
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
  if (v.size() > n) v.resize(n);
  return v;
}

double Rate(uint64_t num, uint64_t den) { return den ? double(num) / double(den) : 0.0; }

std::string JoinTop(const std::vector<std::pair<std::string, uint64_t>>& v, size_t n) {
  std::string out;
  for (size_t i = 0; i < v.size() && i < n; ++i) {
    if (i) out += ", ";
    out += v[i].first + " (" + std::to_string(v[i].second) + ")";
  }
  return out;
}

int Severity(Category c) {  // lower: more urgent
  switch (c) {
    case Category::ip_blacklisted: case Category::sender_blacklisted: case Category::auth_failed:
    case Category::sending_quota_exceeded: case Category::sender_account_unavailable: case Category::spam:
    case Category::virus: case Category::spf_failed: case Category::auth_policy: case Category::relay_denied:
      return 0;
    case Category::recipient_not_found: case Category::invalid_address: case Category::ip_rate_limited:
    case Category::sender_rate_limited: case Category::domain_rate_limited: case Category::recipient_rate_limited:
    case Category::dns_failure: case Category::message_too_large: case Category::too_many_recipients:
    case Category::policy_rejected: case Category::protocol_error: case Category::expired:
    case Category::complaint: case Category::unknown:
      return 1;
    default:
      return 2;
  }
}

const char* SeverityName(int s) { return s == 0 ? "critical" : s == 1 ? "warning" : "info"; }

}  // namespace

json ScanReport::ToJson() const {
  json doc;
  doc["generated_by"] = "rebound scan";
  doc["inputs"] = inputs_;
  doc["period"] = {{"first", FormatTime(first_time_)}, {"last", FormatTime(last_time_)},
                   {"first_epoch", first_time_}, {"last_epoch", last_time_}};
  const uint64_t sent = counts_.by_status[0], deferred = counts_.by_status[1], bounced = counts_.by_status[2],
                 expired = counts_.by_status[3];
  doc["totals"] = {{"attempts", total_}, {"sent", sent}, {"deferred", deferred}, {"bounced", bounced},
                   {"expired", expired}, {"bounce_rate", Rate(bounced + expired, sent + bounced + expired)},
                   {"deferral_rate", Rate(deferred, total_)}, {"hard_bounced_addresses", hard_bounced_.size()}};

  // Categories, most frequent first.
  std::vector<int> order;
  for (int i = 0; i < kCategoryCount; ++i)
    if (categories_[i].counts.total()) order.push_back(i);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    return categories_[a].counts.total() != categories_[b].counts.total()
               ? categories_[a].counts.total() > categories_[b].counts.total()
               : a < b;
  });
  const uint64_t failures = deferred + bounced + expired;
  json cats = json::array();
  for (int i : order) {
    const CategoryStats& c = categories_[i];
    const Category cat = static_cast<Category>(i);
    json diags = json::array(), doms = json::array();
    for (const auto& [text, n] : Top(c.diagnostics, 5)) diags.push_back({{"text", text}, {"count", n}});
    for (const auto& [d, n] : Top(c.domains, 5)) doms.push_back({{"domain", d}, {"count", n}});
    cats.push_back({{"category", std::string(CategoryName(cat))}, {"attempts", c.counts.total()},
                    {"deferred", c.counts.by_status[1]}, {"bounced", c.counts.by_status[2]},
                    {"expired", c.counts.by_status[3]}, {"hard_bounces", c.hard},
                    {"share", Rate(c.counts.total(), failures)}, {"action", classifier_.category_info(cat).action},
                    {"first", FormatTime(c.first)}, {"last", FormatTime(c.last)},
                    {"top_domains", doms}, {"top_diagnostics", diags}});
  }
  doc["categories"] = cats;

  // Domains by attempts.
  std::vector<std::pair<std::string, uint64_t>> dom_order;
  for (const auto& [d, s] : domains_) dom_order.emplace_back(d, s.counts.total());
  std::sort(dom_order.begin(), dom_order.end(),
            [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
  json doms = json::array();
  for (size_t k = 0; k < dom_order.size() && k < 20; ++k) {
    const DomainStats& s = domains_.find(dom_order[k].first)->second;
    int top = -1;
    for (int i = 0; i < kCategoryCount; ++i)
      if (s.by_category[i] && (top < 0 || s.by_category[i] > s.by_category[top])) top = i;
    const uint64_t fin = s.counts.by_status[0] + s.counts.by_status[2] + s.counts.by_status[3];
    doms.push_back({{"domain", dom_order[k].first}, {"attempts", s.counts.total()}, {"sent", s.counts.by_status[0]},
                    {"deferred", s.counts.by_status[1]}, {"bounced", s.counts.by_status[2]},
                    {"expired", s.counts.by_status[3]},
                    {"bounce_rate", Rate(s.counts.by_status[2] + s.counts.by_status[3], fin)},
                    {"top_category", top < 0 ? json(nullptr) : json(std::string(CategoryName(Category(top))))},
                    {"provider", s.provider.empty() ? json(nullptr) : json(s.provider)}});
  }
  doc["domains"] = doms;
  doc["domain_count"] = domains_.size();

  // Providers: the failures the rule base attributes to a named provider,
  // with the successes at domains known to be theirs.
  StringMap<Counts> prov = providers_;
  for (const auto& [d, s] : domains_)
    if (!s.provider.empty()) prov[s.provider].by_status[0] += s.counts.by_status[0];
  json provs = json::array();
  for (const auto& [p, n] : Top([&] {
         StringMap<uint64_t> t;
         for (const auto& [k, c] : prov) t[k] = c.total();
         return t;
       }(), 20)) {
    const Counts& c = prov.find(p)->second;
    provs.push_back({{"provider", p}, {"attempts", n}, {"sent", c.by_status[0]}, {"deferred", c.by_status[1]},
                     {"bounced", c.by_status[2]}, {"expired", c.by_status[3]}});
  }
  doc["providers"] = provs;

  // Recommended actions, with the evidence for each.
  json actions = json::array();
  auto add_action = [&](int severity, Category cat, std::string title, std::string what, json evidence, uint64_t count) {
    actions.push_back({{"severity", SeverityName(severity)}, {"severity_rank", severity},
                       {"category", std::string(CategoryName(cat))}, {"title", std::move(title)},
                       {"action", std::move(what)}, {"evidence", std::move(evidence)}, {"count", count}});
  };
  for (const auto& [key, l] : listings_) {
    std::vector<std::string> where(l.where.begin(), l.where.end());
    std::sort(where.begin(), where.end());
    std::string wh;
    for (size_t i = 0; i < where.size() && i < 5; ++i) wh += (i ? ", " : "") + where[i];
    add_action(0, Category::ip_blacklisted,
               key.first + " is listed by " + key.second + " at " + std::to_string(where.size()) +
                   (where.size() == 1 ? " receiver" : " receivers") + " since " + FormatTime(l.first),
               "request delisting from " + key.second + "; pause sending from that IP until it is lifted",
               json::array({std::to_string(l.count) + " rejections between " + FormatTime(l.first) + " and " +
                                FormatTime(l.last),
                            "receivers: " + wh}),
               l.count);
  }
  if (!hard_bounced_.empty()) {
    std::string by;
    for (int i = 0; i < kCategoryCount; ++i)
      if (categories_[i].hard) by += (by.empty() ? "" : ", ") + std::string(CategoryName(Category(i))) + " " + std::to_string(categories_[i].hard);
    json ev = json::array({"hard bounces: " + by});
    const auto list = SuppressList();
    std::string sample;
    for (size_t i = 0; i < list.size() && i < 5; ++i) sample += (i ? ", " : "") + list[i];
    ev.push_back("e.g. " + sample + (list.size() > 5 ? ", ..." : ""));
    add_action(1, Category::recipient_not_found,
               "suppress these " + std::to_string(list.size()) + (list.size() == 1 ? " address" : " addresses") +
                   " (hard bounces)",
               "stop sending to them; write the list with --suppress-out FILE", ev, list.size());
  }
  for (const auto& [key, minutes] : rate_limits_) {
    uint64_t total = 0, last_hour = 0;
    int64_t first = 0;
    for (const auto& [m, n] : minutes) {
      total += n;
      if (m * 60 >= last_time_ - 3600) last_hour += n;
      if (first == 0) first = m * 60;
    }
    const Category cat = static_cast<Category>(key.second);
    std::string title = key.first + " answered " +
                        (last_hour ? std::to_string(last_hour) + " rate-limit replies in the last hour of the log"
                                   : std::to_string(total) + " rate-limit replies since " + FormatTime(first));
    add_action(1, cat, title, classifier_.category_info(cat).action,
               json::array({std::to_string(total) + " " + std::string(CategoryName(cat)) + " replies in all, first at " +
                            FormatTime(first)}),
               total);
  }
  {
    uint64_t repeated = 0;
    std::string sample;
    for (const auto& [addr, n] : mailbox_full_)
      if (n >= 3) {
        ++repeated;
        if (repeated <= 3) sample.append(repeated > 1 ? ", " : "").append(addr);
      }
    if (repeated)
      add_action(2, Category::mailbox_full,
                 std::to_string(repeated) + (repeated == 1 ? " address was" : " addresses were") + " full 3 times or more",
                 "consider suppressing them: long-full mailboxes are usually abandoned", json::array({"e.g. " + sample}),
                 repeated);
  }
  // Every other category that occurred: the taxonomy's action, with where
  // and how often, and the commonest reply as the example.
  for (int i : order) {
    const Category cat = static_cast<Category>(i);
    if (cat == Category::ip_blacklisted && !listings_.empty()) continue;
    if (IsRateLimitCategory(cat) && !rate_limits_.empty()) continue;
    if ((cat == Category::recipient_not_found || cat == Category::invalid_address) && categories_[i].hard) continue;
    if (cat == Category::delivered || cat == Category::auto_reply) continue;
    const CategoryStats& c = categories_[i];
    const auto top_doms = Top(c.domains, 3);
    const auto top_diag = Top(c.diagnostics, 1);
    json ev = json::array();
    ev.push_back(std::to_string(c.counts.by_status[1]) + " deferred, " + std::to_string(c.counts.by_status[2]) +
                 " bounced, " + std::to_string(c.counts.by_status[3]) + " expired, " + FormatTime(c.first) + " to " +
                 FormatTime(c.last));
    if (!top_doms.empty()) ev.push_back("at " + JoinTop(top_doms, 3));
    if (!top_diag.empty()) ev.push_back("e.g. \"" + top_diag[0].first + "\"");
    std::string what = classifier_.category_info(cat).action;
    if (cat == Category::greylisted) what += " (no action needed: retries pass)";
    add_action(Severity(cat), cat, std::to_string(c.counts.total()) + " " + std::string(CategoryName(cat)) + " replies",
               what, ev, c.counts.total());
  }
  std::stable_sort(actions.begin(), actions.end(), [](const json& a, const json& b) {
    if (a["severity_rank"] != b["severity_rank"]) return a["severity_rank"].get<int>() < b["severity_rank"].get<int>();
    return a["count"].get<uint64_t>() > b["count"].get<uint64_t>();
  });
  doc["actions"] = actions;

  // Timeline: per-minute buckets merged into at most 60 columns.
  json timeline;
  int64_t bucket = 60;
  if (!minutes_.empty()) {
    const int64_t span = (minutes_.rbegin()->first - minutes_.begin()->first + 1) * 60;
    static constexpr int64_t kSteps[] = {60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 604800};
    bucket = kSteps[std::size(kSteps) - 1];
    for (int64_t s : kSteps)
      if (span / s <= 60) {
        bucket = s;
        break;
      }
  }
  std::map<int64_t, Bucket> merged;
  for (const auto& [m, b] : minutes_) {
    Bucket& t = merged[(m * 60) / bucket * bucket];
    for (int s = 0; s < 4; ++s) t.by_status[s] += b.by_status[s];
    for (int i = 0; i < kCategoryCount; ++i) t.by_category[i] += b.by_category[i];
  }
  json buckets = json::array();
  for (const auto& [start, b] : merged) {
    json cat = json::object();
    for (int i = 0; i < kCategoryCount; ++i)
      if (b.by_category[i]) cat[std::string(CategoryName(Category(i)))] = b.by_category[i];
    buckets.push_back({{"start", start}, {"label", FormatTime(start)}, {"sent", b.by_status[0]},
                       {"deferred", b.by_status[1]}, {"bounced", b.by_status[2]}, {"expired", b.by_status[3]},
                       {"categories", cat}});
  }
  timeline["bucket_seconds"] = bucket;
  timeline["buckets"] = buckets;
  doc["timeline"] = timeline;
  return doc;
}

}  // namespace rebound::logs
