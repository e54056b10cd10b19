// Scanner and ScanReport: see logs/scan.h.
#include "logs/scan.h"

#include <algorithm>
#include <cstring>

#include "core/text.h"
#include "logs/internal.h"

namespace rebound::logs {

namespace {

constexpr size_t kMaxDistinctDiagnostics = 2000;  // per category
constexpr size_t kMaxDistinctDomains = 100000;
constexpr size_t kMaxTrackedAddresses = 1000000;

bool ParseIpv4(std::string_view s, size_t at, size_t* len) {
  size_t i = at;
  for (int part = 0; part < 4; ++part) {
    size_t digits = 0;
    int v = 0;
    while (i < s.size() && text::IsDigit(s[i]) && digits < 4) v = v * 10 + (s[i++] - '0'), ++digits;
    if (digits == 0 || digits > 3 || v > 255) return false;
    if (part < 3) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  if (i < s.size() && (text::IsDigit(s[i]) || s[i] == '.')) return false;
  *len = i - at;
  return true;
}

}  // namespace

std::string FormatTime(int64_t t, bool with_date) {
  if (t <= 0) return "-";
  return rebound::FormatTime(t * 1000, with_date ? TimeFormat::kMinute : TimeFormat::kClock);
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
  text::LowerTo(s, &lower_buf_);
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
  text::LowerTo(domain, &dom_lower);
  if (!domain.empty()) {
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
      if (text::IsDigit(t[i]) && (i == 0 || (!text::IsDigit(t[i - 1]) && t[i - 1] != '.')) && ParseIpv4(t, i, &len)) {
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

}  // namespace rebound::logs
