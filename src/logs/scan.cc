// Scanner and ScanReport: see logs/scan.h.
#include "logs/scan.h"

#include <algorithm>
#include <cstring>
#include <ctime>

#include "logs/internal.h"

namespace rebound::logs {

using nlohmann::json;

namespace {

constexpr size_t kMaxDistinctDiagnostics = 2000;  // per category
constexpr size_t kMaxDistinctDomains = 100000;
constexpr size_t kMaxTrackedAddresses = 1000000;

bool ParseIpv4(std::string_view s, size_t at, size_t* len) {
  size_t i = at;
  for (int part = 0; part < 4; ++part) {
    size_t digits = 0;
    int v = 0;
    while (i < s.size() && IsDigit(s[i]) && digits < 4) v = v * 10 + (s[i++] - '0'), ++digits;
    if (digits == 0 || digits > 3 || v > 255) return false;
    if (part < 3) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  if (i < s.size() && (IsDigit(s[i]) || s[i] == '.')) return false;
  *len = i - at;
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c + 32);
  return out;
}

// Which blocklist the reply names, from the well-known zones and phrasing.
std::string BlocklistName(std::string_view text) {
  const std::string t = Lower(text);
  struct Known { std::string_view needle, name; };
  static constexpr Known kKnown[] = {
      {"spamhaus", "Spamhaus"},     {"spamcop", "SpamCop"},       {"barracuda", "Barracuda"},
      {"sorbs", "SORBS"},           {"uceprotect", "UCEPROTECT"}, {"abuseat", "CBL"},
      {"cbl.", "CBL"},              {"mailspike", "Mailspike"},   {"psbl", "PSBL"},
      {"invaluement", "Invaluement"}, {"0spam", "0spam"},         {"senderscore", "Sender Score"},
      {"spamrats", "SpamRATS"},     {"backscatterer", "Backscatterer"}};
  for (const auto& k : kKnown)
    if (t.find(k.needle) != std::string::npos) return std::string(k.name);
  for (std::string_view lead : {"blocked using ", "listed at ", "listed on ", "listed in ", "listed by "}) {
    if (size_t p = t.find(lead); p != std::string::npos) {
      std::string_view rest = std::string_view(text).substr(p + lead.size());
      rest = rest.substr(0, rest.find_first_of(" ;,()"));
      while (!rest.empty() && (rest.back() == '.' || rest.back() == ':')) rest.remove_suffix(1);
      if (!rest.empty()) return std::string(rest);
    }
  }
  return "a blocklist";
}

}  // namespace

std::string FormatTime(int64_t t, bool with_date) {
  if (t <= 0) return "-";
  const time_t tt = static_cast<time_t>(t);
  struct tm tm;
  gmtime_r(&tt, &tm);
  char buf[32];
  strftime(buf, sizeof buf, with_date ? "%Y-%m-%d %H:%M" : "%H:%M", &tm);
  return buf;
}

void NormaliseDiagnostic(const Reply& r, std::string* out) {
  out->clear();
  char buf[12];
  if (r.code) {
    const int n = snprintf(buf, sizeof buf, "%d", r.code);
    out->append(buf, static_cast<size_t>(n));
  }
  if (r.status.present()) {
    if (!out->empty()) out->push_back(' ');
    out->append(r.status.Format(buf));
  }
  const std::string_view t = r.text;
  if (!t.empty() && !out->empty()) out->push_back(' ');
  // Word by word; a word with an '@' becomes "<address>", keeping the
  // punctuation around it ("<bob@x>:" -> "<address>:"). Only the first
  // kMaxNormalised bytes are kept, so the loop stops once past them.
  const char* const d = t.data();
  const size_t n = t.size();
  size_t i = 0;
  while (i < n && out->size() < kMaxNormalised) {
    size_t j = i;
    bool at = false;
    for (; j < n && d[j] != ' '; ++j) at |= d[j] == '@';
    if (!at) {
      out->append(d + i, j - i);
    } else {
      auto lead_char = [](char c) { return c == '<' || c == '"' || c == '\'' || c == '('; };
      auto trail_char = [](char c) {
        return c == '>' || c == '"' || c == '\'' || c == ')' || c == ':' || c == ';' || c == ',' || c == '.';
      };
      size_t lead = i, trail = j;  // the word has an '@', which is neither
      while (lead_char(d[lead])) ++lead;
      while (trail_char(d[trail - 1])) --trail;
      for (size_t k = i; k < lead; ++k)
        if (d[k] != '<') out->push_back(d[k]);
      out->append("<address>");
      for (size_t k = trail; k < j; ++k)
        if (d[k] != '>') out->push_back(d[k]);
    }
    if (j < n) out->push_back(' ');
    i = j + 1;
  }
  if (out->size() > kMaxNormalised) out->resize(kMaxNormalised);
}

// ---- Scanner ----

Scanner::Scanner(const Classifier& classifier, LogFormat format, const LogReaderOptions& options, ScanReport* report)
    : classifier_(classifier), reader_(NewLogReader(format, options)), scratch_(classifier.NewScratch()), report_(report) {
  // The verdict every successful attempt gets, decided by the rule base once.
  delivered_ = classifier_.Classify(std::string_view("250 2.0.0 Ok"), scratch_.get());
}

Scanner::~Scanner() = default;

const VerdictMemo::Entry& Scanner::Answer(const DeliveryEvent& e) {
  const std::string_view input = ClassifierInput(e, &input_buf_);
  const uint64_t hash = HashBytes(input);
  if (const VerdictMemo::Entry* hit = memo_.Find(input, hash)) return *hit;
  const Verdict v = classifier_.Classify(input, scratch_.get());
  const Reply& r = Classifier::LastReply(scratch_.get());
  if (const VerdictMemo::Entry* kept = memo_.Insert(input, hash, v, r)) return *kept;
  fresh_.verdict = v;  // views into the scratch, valid until the next Classify
  fresh_.reply = r;
  return fresh_;
}

Verdict Scanner::Classify(const DeliveryEvent& e) {
  if (e.status == DeliveryStatus::kSent) return delivered_;
  return Answer(e).verdict;
}

void Scanner::Line(std::string_view line) {
  if (!reader_) return;
  events_.clear();
  reader_->ReadLine(line, &events_);
  for (const DeliveryEvent& e : events_) {
    if (e.status == DeliveryStatus::kSent) {
      if (report_) report_->Add(e, delivered_, nullptr);
      if (sink_) sink_(e, delivered_);
      continue;
    }
    const VerdictMemo::Entry& a = Answer(e);
    if (report_) report_->Add(e, a.verdict, &a.reply, a.id);
    if (sink_) sink_(e, a.verdict);
  }
}

// ---- ScanReport ----

ScanReport::ScanReport(const Classifier& classifier) : classifier_(classifier) {}

void ScanReport::AddInputStats(const std::string& name, LogFormat format, const LogReaderStats& s, uint64_t bytes) {
  inputs_.push_back({{"name", name}, {"format", std::string(LogFormatName(format))}, {"bytes", bytes},
                     {"lines", s.lines}, {"events", s.events}, {"ignored", s.ignored}, {"garbled", s.garbled}});
}

const std::string& ScanReport::LowerInBuf(std::string_view s) {
  lower_buf_.resize(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char ch = s[i];
    lower_buf_[i] = ch >= 'A' && ch <= 'Z' ? char(ch + 32) : ch;
  }
  return lower_buf_;
}

void ScanReport::Add(const DeliveryEvent& e, const Verdict& v, const Reply* reply, uint64_t reply_id) {
  ++total_;
  const int st = static_cast<int>(e.status);
  counts_.by_status[st]++;
  if (e.time > 0) {
    if (first_time_ == 0 || e.time < first_time_) first_time_ = e.time;
    if (e.time > last_time_) last_time_ = e.time;
    if (e.time / 60 != last_minute_) {
      last_minute_ = e.time / 60;
      last_bucket_ = &minutes_[last_minute_];
    }
    Bucket& b = *last_bucket_;
    b.by_status[st]++;
    if (e.status != DeliveryStatus::kSent) b.by_category[static_cast<int>(v.category)]++;
  }
  std::string_view domain = e.RecipientDomain();
  std::string& dom_lower = domain_buf_;
  dom_lower.clear();
  if (!domain.empty()) {
    for (char ch : domain) dom_lower.push_back(ch >= 'A' && ch <= 'Z' ? char(ch + 32) : ch);
    auto it = domains_.find(dom_lower);
    if (it == domains_.end() && domains_.size() < kMaxDistinctDomains) it = domains_.emplace(dom_lower, DomainStats()).first;
    if (it != domains_.end()) {
      DomainStats& d = it->second;
      d.counts.by_status[st]++;
      if (e.status != DeliveryStatus::kSent) d.by_category[static_cast<int>(v.category)]++;
      if (!v.provider.empty() && d.provider.empty()) d.provider.assign(v.provider);
    }
  }
  if (e.status == DeliveryStatus::kSent) return;

  // Not delivered: what the receiving side said, and what to do about it.
  if (!v.provider.empty()) {
    auto it = providers_.find(v.provider);
    if (it == providers_.end()) it = providers_.emplace(std::string(v.provider), Counts()).first;
    it->second.by_status[st]++;
  }
  CategoryStats& c = categories_[static_cast<int>(v.category)];
  c.counts.by_status[st]++;
  if (e.time > 0) {
    if (c.first == 0 || e.time < c.first) c.first = e.time;
    if (e.time > c.last) c.last = e.time;
  }
  if (!dom_lower.empty()) {
    auto it = c.domains.find(dom_lower);
    if (it != c.domains.end()) ++it->second;
    else if (c.domains.size() < kMaxDistinctDiagnostics) c.domains.emplace(dom_lower, 1);
  }
  if (v.hard_bounce && e.status == DeliveryStatus::kBounced && !e.recipient.empty()) {
    ++c.hard;
    if (hard_bounced_.size() < kMaxTrackedAddresses) {
      const std::string& addr = LowerInBuf(e.recipient);
      if (hard_bounced_.find(addr) == hard_bounced_.end()) hard_bounced_.insert(addresses_.Copy(addr));
    }
  }
  if (v.category == Category::mailbox_full && !e.recipient.empty() && mailbox_full_.size() < kMaxTrackedAddresses) {
    const std::string& addr = LowerInBuf(e.recipient);
    if (auto it = mailbox_full_.find(addr); it != mailbox_full_.end()) ++it->second;
    else mailbox_full_.emplace(addresses_.Copy(addr), 1);
  }
  if (IsRateLimitCategory(v.category) && e.time > 0 && !dom_lower.empty()) {
    if (!rate_minutes_ || rate_key_.second != static_cast<int>(v.category) || rate_key_.first != dom_lower) {
      rate_key_.first.assign(dom_lower);
      rate_key_.second = static_cast<int>(v.category);
      rate_minutes_ = &rate_limits_[rate_key_];
      rate_count_ = nullptr;
    }
    if (!rate_count_ || rate_minute_ != e.time / 60) {
      rate_minute_ = e.time / 60;
      rate_count_ = &(*rate_minutes_)[rate_minute_];
    }
    ++*rate_count_;
  }
  // The parsed reply (the classifier's own parse when the caller has it).
  static thread_local ReplyParser parser;
  static thread_local std::string buf;
  const bool expired_with_error = e.status == DeliveryStatus::kExpired && !e.diagnostic.empty();
  const Reply r = reply && !expired_with_error ? *reply
                  : expired_with_error          ? parser.Parse(e.diagnostic)  // the last error, not the expiry
                                                : parser.Parse(ClassifierInput(e, &buf));
  // What the report derives from a reply's text depends on that text (and
  // its verdict) alone: per reply id, it is derived once.
  IdSlot* slot = nullptr;
  if (reply_id != 0 && reply && !expired_with_error) {
    slot = &id_slots_[reply_id & (kIdSlots - 1)];
    if (slot->id != reply_id) *slot = IdSlot{reply_id, nullptr, nullptr};
  }
  if (v.category == Category::ip_blacklisted) NoteBlocklist(e, v, r, slot ? reply_id : 0);
  if (slot && slot->diagnostic) {
    ++*slot->diagnostic;
    return;
  }
  // Top diagnostics: addresses blanked, so one reply to many recipients is
  // one line. (A memo entry's counter is found above, by its id.)
  NormaliseDiagnostic(r, &norm_buf_);
  auto it = c.diagnostics.find(norm_buf_);
  if (it == c.diagnostics.end()) {
    if (c.diagnostics.size() >= kMaxDistinctDiagnostics) return;
    it = c.diagnostics.emplace(norm_buf_, 0).first;
  }
  ++it->second;
  if (slot) slot->diagnostic = &it->second;  // map nodes never move
}

void ScanReport::NoteBlocklist(const DeliveryEvent& e, const Verdict& v, const Reply& r, uint64_t reply_id) {
  IdSlot* slot = reply_id ? &id_slots_[reply_id & (kIdSlots - 1)] : nullptr;
  Listing* listing = slot ? slot->listing : nullptr;
  if (!listing) {
    std::string_view t = r.text;
    std::string ip;
    for (size_t i = 0; i < t.size(); ++i) {
      size_t len;
      if (IsDigit(t[i]) && (i == 0 || (!IsDigit(t[i - 1]) && t[i - 1] != '.')) && ParseIpv4(t, i, &len)) {
        ip.assign(t.substr(i, len));
        break;
      }
    }
    if (ip.empty()) ip = "(our IP, not named)";
    listing = &listings_[{ip, BlocklistName(t)}];  // map nodes never move
    if (slot) slot->listing = listing;
  }
  Listing& l = *listing;
  ++l.count;
  if (e.time > 0 && (l.first == 0 || e.time < l.first)) l.first = e.time;
  if (e.time > l.last) l.last = e.time;
  if (l.where.size() < 1000) {
    const std::string_view who = v.provider.empty() ? std::string_view(LowerInBuf(e.RecipientDomain())) : v.provider;
    if (l.where.find(who) == l.where.end()) l.where.emplace(who);
  }
}

std::vector<std::string> ScanReport::SuppressList() const {
  std::vector<std::string_view> sorted(hard_bounced_.begin(), hard_bounced_.end());
  std::sort(sorted.begin(), sorted.end());
  return std::vector<std::string>(sorted.begin(), sorted.end());
}

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
