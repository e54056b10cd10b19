// Rule loading, validation, compilation into one vectorscan database, and
// classification. See rebound/classifier.h and rules/SCHEMA.md.
#include "rebound/classifier.h"

#include <hs/hs.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "core/embedded_rules.h"
#include "core/scan_sentinel.h"
#include "core/text.h"

namespace rebound {

bool StatusPattern::Matches(const EnhancedStatus& s) const {
  if (!s.present()) return false;
  return (klass < 0 || klass == s.klass) && (subject < 0 || subject == s.subject) &&
         (detail < 0 || detail == s.detail);
}

namespace {

struct Permanence {
  std::vector<CodePattern> codes;
  std::vector<SmtpCommand> commands;
  bool permanent = false;
};

bool ParseCodePattern(std::string_view s, CodePattern* out) {
  if (s.size() != 3 || s[0] < '2' || s[0] > '5') return false;
  int base = (s[0] - '0') * 100;
  if (s[1] == 'x' || s[1] == 'X') {
    if (s[2] != 'x' && s[2] != 'X') return false;
    *out = {base, base + 99};
    return true;
  }
  if (!text::IsDigit(s[1])) return false;
  base += (s[1] - '0') * 10;
  if (s[2] == 'x' || s[2] == 'X') { *out = {base, base + 9}; return true; }
  if (!text::IsDigit(s[2])) return false;
  *out = {base + (s[2] - '0'), base + (s[2] - '0')};
  return true;
}

bool ParseStatusPattern(std::string_view s, StatusPattern* out) {
  int parts[3];
  for (int p = 0; p < 3; ++p) {
    size_t dot = p < 2 ? s.find('.') : s.size();
    if (dot == std::string_view::npos) return false;
    std::string_view part = s.substr(0, dot);
    if (part == "*") parts[p] = -1;
    else {
      if (part.empty() || part.size() > 3) return false;
      int v = 0;
      for (char c : part) { if (!text::IsDigit(c)) return false; v = v * 10 + (c - '0'); }
      parts[p] = v;
    }
    s = p < 2 ? s.substr(dot + 1) : std::string_view();
  }
  if (parts[0] != -1 && parts[0] != 2 && parts[0] != 4 && parts[0] != 5) return false;
  *out = {parts[0], parts[1], parts[2]};
  return true;
}

// "try again in 5 minutes", "retry after 30 seconds": the delay a reply
// asks for, in seconds; 0 when it names none.
int StatedDelay(std::string_view t) {
  static constexpr std::string_view kLeads[] = {"try again in ", "try again after ", "retry in ",
                                                "retry after ", "try later in ", "wait "};
  // Every lead but "wait " holds "try ": a text with neither (most) has
  // none, and two searches say so instead of six.
  if (text::IFind(t, "try ") == std::string_view::npos && text::IFind(t, "wait ") == std::string_view::npos) return 0;
  for (auto lead : kLeads) {
    size_t p = text::IFind(t, lead);
    if (p == std::string_view::npos) continue;
    size_t i = p + lead.size();
    long v = 0;
    size_t digits = 0;
    while (i < t.size() && text::IsDigit(t[i]) && digits < 7) v = v * 10 + (t[i++] - '0'), ++digits;
    if (!digits) continue;
    while (i < t.size() && t[i] == ' ') ++i;
    std::string_view unit = t.substr(i, 3);
    if (text::IStartsWith(unit, "sec")) return int(v);
    if (text::IStartsWith(unit, "min")) return int(v * 60);
    if (text::IStartsWith(unit, "hou") || text::IStartsWith(unit, "hr")) return int(v * 3600);
  }
  return 0;
}

std::string_view UrlIn(std::string_view t) {
  // A URL holds a '/': most replies have none, and memchr says so in a
  // third of the time the search for "http" takes (realistic mix: 4 vs 12 ns).
  if (t.find('/') == std::string_view::npos) return {};
  size_t p = text::IFind(t, "http");
  while (p != std::string_view::npos) {
    std::string_view rest = t.substr(p);
    if (text::IStartsWith(rest, "https://") || text::IStartsWith(rest, "http://")) {
      size_t e = 0;
      while (e < rest.size() && !text::IsSpace(rest[e]) && rest[e] != ')' && rest[e] != '>' && rest[e] != '"') ++e;
      while (e > 0 && (rest[e - 1] == '.' || rest[e - 1] == ',' || rest[e - 1] == ';')) --e;
      return rest.substr(0, e);
    }
    p = text::IFind(t, "http", p + 4);
  }
  return {};
}

}  // namespace

// Facet pattern ids (in the facet database) start here, so a hit tells a
// facet from a rule.
constexpr uint32_t kFacetIdBase = 0x40000000;
constexpr uint32_t kWhoFlag = 0x20000000;  // within a facet id: a who facet

// Caseless, and a dot takes a newline too. Not HS_FLAG_SINGLEMATCH: the
// callbacks take a pattern reported twice (a facet sets its bit again, a
// rule is listed once per scan), and vectorscan runs faster without that
// bookkeeping (vectorscan alone, realistic mix: facets 490 -> 458 ns).
constexpr unsigned kPatternFlags = HS_FLAG_CASELESS | HS_FLAG_DOTALL;

struct Classifier::Evidence {
  uint32_t who = 0;   // bits of who facets found
  WhatFacets what;    // what facets found
  bool read = false;  // the facets were looked for (ScanFacets ran)
  // The reply names the sending side (sender, its account or domain) and no
  // recipient-side party.
  bool AboutSenderOnly(uint32_t sender_side, uint32_t recipient_side) const {
    return (who & sender_side) && !(who & recipient_side);
  }
};

struct Classifier::Compiled {
  // The rule patterns in two databases, split where the facet layer sits in
  // the evaluation order: the rules above it (local, seed, override,
  // provider) are scanned for every reply; the generic phrases and code-tier
  // patterns below it only when they can decide (no rule above matched and
  // no facet row did). Ids below first_lower are in upper_db.
  hs_database_t* upper_db = nullptr;
  hs_database_t* lower_db = nullptr;
  uint32_t first_lower = 0;
  hs_database_t* facet_db = nullptr;  // every facet pattern; scanned only when the facet layer may decide
  // Each database's patterns as scan_sentinel::Rewrite wrote them, scanned
  // over the text between the sentinels (false: as written, over the text).
  bool upper_sentinel = false, lower_sentinel = false, facet_sentinel = false;
  std::vector<uint32_t> code_only;  // rule indexes without a pattern, in order
  // The same rules indexed so a reply looks at a handful, not all of them
  // (each list in evaluation order):
  static constexpr int kStatusSlots = 10 * 100;  // subject 0-9, detail 0-99
  std::vector<std::vector<uint32_t>> by_code = std::vector<std::vector<uint32_t>>(600);  // no status constraint; a reply without a code uses its class (2, 4, 5) as the slot
  std::vector<std::vector<uint32_t>> by_status = std::vector<std::vector<uint32_t>>(kStatusSlots);  // exact subject.detail
  std::vector<uint32_t> other;  // status constraints with wildcards or beyond the slots
  std::vector<Permanence> permanence;
  ~Compiled() {
    hs_free_database(upper_db);
    hs_free_database(lower_db);
    hs_free_database(facet_db);
  }

  void Index(uint32_t id, const Rule& r) {
    code_only.push_back(id);
    if (r.statuses.empty()) {
      for (const auto& c : r.codes) {
        for (int code = c.lo; code <= c.hi && code < 600; ++code) by_code[code].push_back(id);
        if (c.hi - c.lo == 99) by_code[c.lo / 100].push_back(id);
      }
      return;
    }
    for (const auto& s : r.statuses)
      if (s.subject < 0 || s.detail < 0 || s.subject > 9 || s.detail > 99) {
        other.push_back(id);
        return;
      }
    for (const auto& s : r.statuses) {
      auto& slot = by_status[s.subject * 100 + s.detail];
      if (slot.empty() || slot.back() != id) slot.push_back(id);
    }
  }
};

class Classifier::Scratch {
 public:
  ~Scratch() { hs_free_scratch(hs); }
  hs_scratch_t* hs = nullptr;
  ReplyParser parser;
  Reply last;
  std::vector<uint32_t> hits;  // rules whose patterns matched, each once
  // The patterns are compiled without HS_FLAG_SINGLEMATCH, so a rule may be
  // reported again: hit_scan[id] == scan says it is in hits already.
  std::vector<uint32_t> hit_scan;
  uint32_t scan = 0;
  // The text a database reads: the reply's own, or (sentinel) the same
  // between the sentinels, built once per reply and shared by the scans.
  std::string_view ScanText(std::string_view text, bool sentinel) {
    if (!sentinel) return text;
    if (!sentinel_text_ready) {
      scan_sentinel::Prepare(text, &sentinel_text);
      sentinel_text_ready = true;
    }
    return sentinel_text;
  }
  // False at the start of each reply: Classify, Explain and ExplainFacets
  // reset it before their first scan.
  bool sentinel_text_ready = false;
  std::string sentinel_text;
};

Classifier::Classifier() = default;
Classifier::~Classifier() = default;

void Classifier::ScratchDeleter::operator()(Scratch* s) const { delete s; }

Classifier::ScratchPtr Classifier::NewScratch() const {
  ScratchPtr s(new Scratch());
  // One scratch serves every database (vectorscan grows it to fit each).
  for (const hs_database_t* db : {compiled_->upper_db, compiled_->lower_db, compiled_->facet_db})
    if (db && hs_alloc_scratch(db, &s->hs) != HS_SUCCESS) std::abort();
  s->hits.reserve(rules_.size());
  s->hit_scan.assign(rules_.size(), 0);
  s->sentinel_text.reserve(1024);
  return s;
}

const CategoryInfo& Classifier::category_info(Category c) const { return categories_[static_cast<size_t>(c)]; }

void Classifier::SettleAction(Verdict* v) const {
  const CategoryInfo& info = category_info(v->category);
  if (info.action_unconfirmed.empty()) return;
  const bool confirmed = v->hard_bounce;
  v->action = confirmed ? info.action : info.action_unconfirmed;
  // A rule's own solution stays; only the category's text is swapped.
  auto swap = [confirmed](std::string_view* text, const std::string& sure, const std::string& unsure) {
    if (*text == (confirmed ? unsure : sure)) *text = confirmed ? sure : unsure;
  };
  swap(&v->solution_en, info.solution_en, info.solution_unconfirmed_en);
  swap(&v->solution_zh, info.solution_zh, info.solution_unconfirmed_zh);
}

const Reply& Classifier::LastReply(const Scratch* scratch) { return scratch->last; }

namespace {

bool ConstraintsHold(const Rule& rule, const Reply& reply) {
  if (!rule.codes.empty()) {
    bool ok = false;
    for (const auto& c : rule.codes) {
      // A class-wide pattern ("5xx") also accepts a reply that only has an
      // enhanced status of that class.
      if (reply.code ? c.Matches(reply.code) : (c.hi - c.lo == 99 && c.lo / 100 == reply.status.klass)) { ok = true; break; }
    }
    if (!ok) return false;
  }
  if (!rule.statuses.empty()) {
    bool ok = false;
    for (const auto& s : rule.statuses)
      if (s.Matches(reply.status)) { ok = true; break; }
    if (!ok) return false;
  }
  if (!rule.commands.empty()) {
    if (std::find(rule.commands.begin(), rule.commands.end(), reply.command) == rule.commands.end()) return false;
  }
  return true;
}

int OnMatch(unsigned int id, unsigned long long, unsigned long long, unsigned int, void* ctx) {
  auto* s = static_cast<Classifier::Scratch*>(ctx);
  if (s->hit_scan[id] != s->scan) {
    s->hit_scan[id] = s->scan;
    s->hits.push_back(id);
  }
  return 0;
}

}  // namespace

Verdict Classifier::Classify(std::string_view raw, Scratch* scratch) const {
  scratch->last = scratch->parser.Parse(raw);
  return Classify(scratch->last, scratch);
}

namespace {

// An IPv4 literal ("192.0.2.1") anywhere in t. Found by hand: as a pattern
// it has no literal to anchor on and costs a quarter of the whole scan.
bool HasIpv4Literal(std::string_view t) {
  for (size_t dot = t.find('.'); dot != std::string_view::npos; dot = t.find('.', dot + 1)) {
    size_t i = dot;
    size_t digits = 0;
    while (i > 0 && text::IsDigit(t[i - 1]) && digits < 4) --i, ++digits;
    if (digits == 0 || digits > 3 || (i > 0 && (text::IsDigit(t[i - 1]) || t[i - 1] == '.'))) continue;
    size_t j = dot;
    int groups = 1;
    while (groups < 4 && j < t.size() && t[j] == '.') {
      size_t k = j + 1, n = 0;
      while (k < t.size() && text::IsDigit(t[k]) && n < 4) ++k, ++n;
      if (n == 0 || n > 3) break;
      j = k;
      ++groups;
    }
    if (groups == 4 && (j == t.size() || !text::IsDigit(t[j]))) return true;
  }
  return false;
}

int OnFacet(unsigned int id, unsigned long long, unsigned long long, unsigned int, void* ctx) {
  auto* e = static_cast<Classifier::Evidence*>(ctx);
  const uint32_t bit = id & 0xffff;
  if (id & kWhoFlag) e->who |= 1u << bit;
  else e->what.Add(bit);
  return 0;
}

}  // namespace

void Classifier::ScanRules(const Reply& reply, Scratch* scratch, bool below_facets) const {
  scratch->hits.clear();
  const Compiled& c = *compiled_;
  const hs_database_t* db = below_facets ? c.lower_db : c.upper_db;
  if (!db || reply.text.empty()) return;
  const std::string_view text = scratch->ScanText(reply.text, below_facets ? c.lower_sentinel : c.upper_sentinel);
  if (++scratch->scan == 0) {  // wrapped: no stale mark may equal the new number
    std::fill(scratch->hit_scan.begin(), scratch->hit_scan.end(), 0);
    scratch->scan = 1;
  }
  hs_scan(db, text.data(), static_cast<unsigned>(std::min<size_t>(text.size(), UINT_MAX)), 0, scratch->hs, OnMatch,
          scratch);
}

void Classifier::ScanFacets(const Reply& reply, Scratch* scratch, Evidence* evidence) const {
  evidence->read = true;
  if (!compiled_->facet_db || reply.text.empty()) return;
  const std::string_view text = scratch->ScanText(reply.text, compiled_->facet_sentinel);
  hs_scan(compiled_->facet_db, text.data(), static_cast<unsigned>(std::min<size_t>(text.size(), UINT_MAX)), 0,
          scratch->hs, OnFacet, evidence);
  if (ip_who_bit_ && !(evidence->who & ip_who_bit_) && evidence->what.Any() && HasIpv4Literal(reply.text))
    evidence->who |= ip_who_bit_;
}

const FacetRow* Classifier::DecideFacets(const Reply& reply, const Evidence& e) const {
  if (!e.what.Any()) return nullptr;
  for (const FacetRow& row : facet_rows_) {
    if (!e.what.Intersects(row.what)) continue;
    // who lists alternatives; "none" is one of them: no who facet at all.
    const bool who_ok = (!row.who_any && !row.who_none) || (e.who & row.who_any) || (row.who_none && !e.who);
    if (!who_ok) continue;
    if (e.what.Intersects(row.unless_what) || (e.who & row.unless_who)) continue;
    if (ConstraintsHold(row.rule, reply)) return &row;
  }
  return nullptr;
}

Verdict Classifier::Classify(const Reply& reply, Scratch* scratch) const {
  scratch->sentinel_text_ready = false;
  uint32_t best = UINT32_MAX;
  ScanRules(reply, scratch, /*below_facets=*/false);
  for (uint32_t id : scratch->hits)
    if (id < best && ConstraintsHold(rules_[id], reply)) best = id;
  const Compiled& c = *compiled_;
  auto first_holding = [&](const std::vector<uint32_t>& ids) {
    for (uint32_t id : ids) {
      if (id >= best) return;
      if (ConstraintsHold(rules_[id], reply)) { best = id; return; }
    }
  };
  const int code_slot = reply.code ? reply.code : reply.status.klass;
  if (code_slot > 0 && code_slot < 600) first_holding(c.by_code[code_slot]);
  if (reply.status.present() && reply.status.subject <= 9 && reply.status.detail <= 99)
    first_holding(c.by_status[reply.status.subject * 100 + reply.status.detail]);
  first_holding(c.other);
  const Rule* rule = best == UINT32_MAX ? nullptr : &rules_[best];
  // The facet rows head the facet tier: they outrank the generic phrases
  // and the code-only rules, and yield to every tier above. Only then are
  // the facets looked for at all: a seed, override, provider or local rule
  // that matched has said what the reply means, vetoes included.
  Evidence evidence;
  if (!rule || (!rule->local && rule->tier >= RuleTier::kFacet)) {
    ScanFacets(reply, scratch, &evidence);
    if (const FacetRow* row = DecideFacets(reply, evidence)) rule = &row->rule;
    else rule = BestBelowFacets(reply, scratch, best);
  } else if (!rule->local && rule->tier != RuleTier::kSeed && IsAboutAddress(rule->category, rule->reason)) {
    // A rule above the facets would suppress the address: look for the
    // words that veto that first, whoever decided the category. A reply
    // that names only the sending side ("Sender address rejected: Domain
    // not found") is not about the address at all: what the facets decide
    // for the sender outranks the rule.
    ScanFacets(reply, scratch, &evidence);
    if (evidence.AboutSenderOnly(sender_side_who_, recipient_side_who_))
      if (const FacetRow* row = DecideFacets(reply, evidence);
          row && !IsAboutAddress(row->rule.category, row->rule.reason))
        rule = &row->rule;
  }
  return MakeVerdict(rule, reply, evidence);
}

// Only the rules below the facet layer can still beat best (the first rule
// that held among those above it and the code-only ones, all of which it is
// at or below): the scan of their patterns decides.
const Rule* Classifier::BestBelowFacets(const Reply& reply, Scratch* scratch, uint32_t best) const {
  ScanRules(reply, scratch, /*below_facets=*/true);
  for (uint32_t id : scratch->hits)
    if (id < best && ConstraintsHold(rules_[id], reply)) best = id;
  return best == UINT32_MAX ? nullptr : &rules_[best];
}

std::vector<const Rule*> Classifier::Explain(const Reply& reply, Scratch* scratch) const {
  scratch->sentinel_text_ready = false;
  std::vector<uint32_t> ids;
  Evidence evidence;
  ScanFacets(reply, scratch, &evidence);
  for (bool below_facets : {false, true}) {
    ScanRules(reply, scratch, below_facets);
    for (uint32_t id : scratch->hits)
      if (ConstraintsHold(rules_[id], reply)) ids.push_back(id);
  }
  for (uint32_t id : compiled_->code_only)
    if (ConstraintsHold(rules_[id], reply)) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  std::vector<const Rule*> out;
  const FacetRow* row = DecideFacets(reply, evidence);
  for (uint32_t id : ids) {
    const Rule& r = rules_[id];
    if (row && !r.local && r.tier >= RuleTier::kFacet) out.push_back(&row->rule), row = nullptr;
    out.push_back(&r);
  }
  if (row) out.push_back(&row->rule);
  return out;
}

FacetExplanation Classifier::ExplainFacets(const Reply& reply, Scratch* scratch) const {
  scratch->sentinel_text_ready = false;
  Evidence evidence;
  ScanFacets(reply, scratch, &evidence);
  FacetExplanation out;
  for (size_t i = 0; i < who_names_.size(); ++i)
    if (evidence.who & (1u << i)) out.who.push_back(who_names_[i]);
  for (size_t i = 0; i < what_names_.size(); ++i)
    if (evidence.what.Has(static_cast<uint32_t>(i))) out.what.push_back(what_names_[i]);
  out.decided = DecideFacets(reply, evidence);
  return out;
}

namespace {

// RFC 4954's replies about authentication (530 required, 534 mechanism too
// weak, 535 credentials invalid, 538 encryption required): the session's
// client, never an address.
bool AuthenticationCode(int code) { return code == 530 || code == 534 || code == 535 || code == 538; }

// Commands answered before the receiver has seen a recipient: a refusal
// there is about the client, the sender or the session, never an address.
bool BeforeRecipients(SmtpCommand c) {
  switch (c) {
    case SmtpCommand::kConnect:
    case SmtpCommand::kHelo:
    case SmtpCommand::kEhlo:
    case SmtpCommand::kStartTls:
    case SmtpCommand::kAuth:
    case SmtpCommand::kMail:
      return true;
    default:
      return false;
  }
}

}  // namespace

// Statuses that by themselves say the address is bad: bad mailbox (x.1.1),
// bad mailbox syntax (x.1.3), mailbox moved with no forwarding address
// (x.1.6), the domain accepts no mail (x.1.10, RFC 7505). Statuses about the
// sender's address (x.1.7 bad sender mailbox syntax, x.1.8 bad sender system
// address): whatever the words, not the recipient.
HardBounceFacts StatusHardBounceFacts(const EnhancedStatus& s) {
  HardBounceFacts facts;
  if (s.subject != 1) return facts;
  if (s.detail == 1 || s.detail == 3 || s.detail == 6 || s.detail == 10) facts.evidence = AddressEvidence::kAddressStatus;
  if (s.detail == 7 || s.detail == 8) facts.veto = HardBounceVeto::kSenderStatus;
  return facts;
}

// A hard bounce suppresses the address for good, so it needs positive
// evidence that the address itself is bad, one of (strongest first):
// - a rule written for this very text by someone who knows what it means:
//   the document's seed codes, a provider's documented reply, an
//   operator's local rule;
// - the reply's words: a mailbox-level what facet ("unknown", "does not
//   exist", "invalid", "closed") said of a party that can be the recipient
//   (not the sending side, not the IP), or a domain-level one ("no such
//   domain", "no MX", "accepts no mail");
// - an address status (x.1.1, x.1.3, x.1.6, x.1.10).
// A generic phrase rule, RFC 5321's "mailbox unavailable" or a bare code
// is not enough: they are said of many other things. And contrary evidence
// rules it out: a what facet marked veto_hard_bounce anywhere in the reply
// (rate, listing, policy, a disabled or full mailbox, the receiver's own
// trouble, "try later", ...), a reply that names only the sending side, a
// status about the sender's address (x.1.7, x.1.8), an authentication
// reply (530, 534, 535, 538), or a reply to a command given before any
// recipient was named. Both are read whatever the verdict (a few bit
// tests): the bounce reader may settle on another category than the
// classifier and judges it on the same facts.
HardBounceFacts Classifier::ReadHardBounceFacts(const Rule* rule, const Reply& reply, const Evidence& evidence) const {
  HardBounceFacts facts;
  const bool written_for_the_text =
      rule && !rule->facet_row && !rule->pattern.empty() &&
      (rule->tier == RuleTier::kSeed || rule->local || !rule->provider.empty() || rule->address_level);
  const bool names_addressee = evidence.who & ~(sender_side_who_ | ip_who_bit_);
  const bool address_words =
      (evidence.what.Intersects(mailbox_words_) && names_addressee) || evidence.what.Intersects(domain_words_);
  const HardBounceFacts status = StatusHardBounceFacts(reply.status);
  if (written_for_the_text) facts.evidence = AddressEvidence::kRuleForText;
  else if (address_words) facts.evidence = AddressEvidence::kAddressWords;
  else facts.evidence = status.evidence;
  bool veto = false;
  (evidence.what & veto_hard_bounce_).ForEach([&](uint32_t bit) { veto |= !evidence.what.Intersects(veto_unless_[bit]); });
  if (veto) facts.veto = HardBounceVeto::kContraryWords;
  // Words that a domain does not exist, next to a sender-side party ("Recipient
  // address rejected: your domain has no MX record", "Unknown domain in the
  // From header"), say it of the sender's domain as readily as of the
  // recipient's: they cannot suppress the recipient.
  else if (evidence.what.Intersects(domain_words_) && (evidence.who & sender_side_who_)) facts.veto = HardBounceVeto::kSenderDomain;
  else if (evidence.AboutSenderOnly(sender_side_who_, recipient_side_who_)) facts.veto = HardBounceVeto::kSenderOnly;
  else if (status.veto != HardBounceVeto::kNone) facts.veto = status.veto;
  else if (AuthenticationCode(reply.code)) facts.veto = HardBounceVeto::kAuthentication;
  else if (BeforeRecipients(reply.command)) facts.veto = HardBounceVeto::kBeforeRecipients;
  // Classify looks for no facets once a rule above them has read the reply
  // as about something other than the address: that reading stands against.
  else if (!evidence.read && rule && !IsAboutAddress(rule->category, rule->reason))
    facts.veto = HardBounceVeto::kOtherReading;
  // 501 refuses a command's argument. With no party named, the evidence is
  // words about some domain ("501 5.0.0 Invalid domain name", Sendmail's
  // answer to EHLO): the HELO name's or the sender's as readily as the
  // recipient's, so they cannot suppress. Not when the reply is known to
  // answer RCPT TO: the argument refused there is the recipient's address.
  else if (reply.code == 501 && reply.command != SmtpCommand::kRcpt && !evidence.who &&
           facts.evidence == AddressEvidence::kAddressWords && status.evidence == AddressEvidence::kNone)
    facts.veto = HardBounceVeto::kArgumentSyntax;
  return facts;
}

Verdict Classifier::MakeVerdict(const Rule* rule, const Reply& reply, const Evidence& evidence) const {
  Verdict v;
  v.category = rule ? rule->category : Category::unknown;
  const CategoryInfo& info = category_info(v.category);
  v.reason = rule ? rule->reason : info.reason;
  const int klass = reply.klass();
  if (rule && rule->permanent >= 0) {
    v.permanent = rule->permanent == 1;
  } else {
    v.permanent = klass == 5 || (klass == 0 && info.permanent_without_code);
    for (const auto& p : compiled_->permanence) {
      bool code_ok = std::any_of(p.codes.begin(), p.codes.end(), [&](const CodePattern& c) { return c.Matches(reply.code); });
      bool cmd_ok = p.commands.empty() || std::find(p.commands.begin(), p.commands.end(), reply.command) != p.commands.end();
      if (code_ok && cmd_ok) v.permanent = p.permanent;
    }
  }
  if (v.category == Category::delivered) v.permanent = false;
  v.hard_bounce_facts = ReadHardBounceFacts(rule, reply, evidence);
  v.hard_bounce = IsHardBounce(v.category, v.reason, v.permanent, v.hard_bounce_facts);
  if (!v.permanent && v.category != Category::delivered && v.category != Category::auto_reply) {
    int stated = klass == 4 ? StatedDelay(reply.text) : 0;
    v.retry_after = stated ? stated : (rule && rule->retry_after >= 0 ? rule->retry_after : info.retry_after);
    if (v.retry_after == 0) v.retry_after = 300;
  }
  v.action = info.action;
  v.solution_en = rule && !rule->solution_en.empty() ? std::string_view(rule->solution_en) : std::string_view(info.solution_en);
  v.solution_zh = rule && !rule->solution_zh.empty() ? std::string_view(rule->solution_zh) : std::string_view(info.solution_zh);
  if (rule) {
    v.rule = rule->id;
    v.tier = rule->tier;
    v.provider = rule->provider;
    v.reference = rule->reference;
  }
  if (std::string_view url = UrlIn(reply.text); !url.empty()) v.reference = url;
  SettleAction(&v);
  return v;
}

// ---------------------------------------------------------------------------
// Building

// A [[who]] or [[what]] word list as loaded; several may share a name.
struct FacetDef {
  bool who = false;
  std::string name, pattern, file;
  int line = 0;
  bool veto_hard_bounce = false;
  std::vector<std::string> veto_unless;  // what facets that lift this one's veto
  std::string address_level;             // what: "mailbox" or "domain", the words a hard bounce needs
  std::string side;                      // who: "recipient" (default), "sender" or "either"
};

struct DecideDef {
  Rule rule;
  std::string what;
  std::vector<std::string> who, unless;
};

struct ClassifierBuilder::State {
  std::string cache_dir;
  std::vector<Rule> rules;
  std::vector<FacetDef> facets;
  std::vector<DecideDef> decide;
  std::vector<std::pair<std::string, std::string>> disabled;  // rule id, where it was said
  std::vector<Permanence> permanence;
  std::vector<CategoryInfo> categories;
  std::vector<bool> category_seen = std::vector<bool>(kCategoryCount, false);
  std::vector<std::string> problems;

  void Problem(const std::string& file, int line, const std::string& msg) {
    problems.push_back(file + ":" + std::to_string(line) + ": " + msg);
  }
  void Load(std::string_view name, std::string_view toml_text, bool local);
  void LoadCategory(const std::string& file, const toml::table& t);
  void LoadRule(const std::string& file, const toml::table& t, const toml::table& defaults, bool local);
  void LoadPermanence(const std::string& file, const toml::table& t);
  void LoadFacet(const std::string& file, const toml::table& t, bool who);
  void LoadDecide(const std::string& file, const toml::table& t, bool local);
};

ClassifierBuilder::ClassifierBuilder() : state_(std::make_unique<State>()) {
  state_->categories.resize(kCategoryCount);
}
ClassifierBuilder::~ClassifierBuilder() = default;

namespace {

std::optional<RuleTier> RuleTierFromName(std::string_view name) {
  for (auto t : {RuleTier::kSeed, RuleTier::kOverride, RuleTier::kProvider, RuleTier::kFacet, RuleTier::kCode})
    if (RuleTierName(t) == name) return t;
  return std::nullopt;
}

// A rule that names no tier takes the one its priority falls in
// (rules/SCHEMA.md): the bands keep the order the priorities always gave.
RuleTier TierForPriority(int priority) {
  if (priority >= 100) return RuleTier::kSeed;
  if (priority >= 90) return RuleTier::kOverride;
  if (priority >= 51) return RuleTier::kProvider;
  if (priority >= 30) return RuleTier::kFacet;
  return RuleTier::kCode;
}

int LineOf(const toml::node& n) { return static_cast<int>(n.source().begin.line); }

// Reads a string or an array of strings.
bool StringList(const toml::node& n, std::vector<std::string>* out) {
  if (auto s = n.value<std::string>()) { out->push_back(*s); return true; }
  const toml::array* a = n.as_array();
  if (!a) return false;
  for (const auto& e : *a) {
    auto s = e.value<std::string>();
    if (!s) return false;
    out->push_back(*s);
  }
  return true;
}

}  // namespace

void ClassifierBuilder::State::Load(std::string_view name, std::string_view toml_text, bool local) {
  const std::string file(name);
  toml::table tbl;
  try {
    tbl = toml::parse(toml_text, file);
  } catch (const toml::parse_error& e) {
    Problem(file, static_cast<int>(e.source().begin.line), std::string("bad TOML: ") + std::string(e.description()));
    return;
  }
  static const std::set<std::string> kTopKeys = {"source", "provider", "reference", "tier", "priority", "rule",
                                                 "category", "permanence", "who", "what", "decide", "disable",
                                                 "blocklist"};
  for (const auto& [k, v] : tbl)
    if (!kTopKeys.count(std::string(k.str()))) Problem(file, LineOf(v), "unknown key '" + std::string(k.str()) + "'");
  if (const toml::array* cats = tbl["category"].as_array()) {
    if (local) Problem(file, LineOf(*cats), "categories are defined by the shipped rule base only");
    else
      for (const auto& c : *cats) {
        if (const toml::table* t = c.as_table()) LoadCategory(file, *t);
        else Problem(file, LineOf(c), "[[category]] must be a table");
      }
  }
  if (const toml::node* r = tbl.get("rule")) {
    const toml::array* arr = r->as_array();
    if (!arr) Problem(file, LineOf(*r), "'rule' must be an array of tables ([[rule]])");
    else
      for (const auto& e : *arr) {
        if (const toml::table* t = e.as_table()) LoadRule(file, *t, tbl, local);
        else Problem(file, LineOf(e), "[[rule]] must be a table");
      }
  }
  if (const toml::array* ps = tbl["permanence"].as_array())
    for (const auto& e : *ps)
      if (const toml::table* t = e.as_table()) LoadPermanence(file, *t);
  if (const toml::node* n = tbl.get("disable")) {
    const toml::array* arr = n->as_array();
    if (!arr) Problem(file, LineOf(*n), "'disable' must be an array of tables ([[disable]])");
    else
      for (const auto& e : *arr) {
        const toml::table* t = e.as_table();
        std::vector<std::string> ids;
        if (!t || !t->get("ids") || !StringList(*t->get("ids"), &ids)) {
          Problem(file, LineOf(e), "[[disable]] needs ids = [\"rule.id\", ...]");
          continue;
        }
        for (auto& id : ids) disabled.emplace_back(std::move(id), file + ":" + std::to_string(LineOf(e)));
      }
  }
  // [[blocklist]]: the names `rebound scan` gives the blocklists that
  // rejections mention (src/logs/blocklists.cc reads them); one table, in
  // the shipped file about blocklists.
  if (const toml::node* n = tbl.get("blocklist")) {
    const toml::array* arr = n->as_array();
    if (local || !file.ends_with("providers/dnsbl.toml"))
      Problem(file, LineOf(*n), "[[blocklist]] belongs in the shipped rules/providers/dnsbl.toml only");
    else if (!arr)
      Problem(file, LineOf(*n), "'blocklist' must be an array of tables ([[blocklist]])");
    else
      for (const auto& e : *arr) {
        const toml::table* t = e.as_table();
        std::vector<std::string> texts;
        if (!t || t->size() != 2 || !t->get("name") || !t->get("name")->is_string() || !t->get("mentioned_as") ||
            !StringList(*t->get("mentioned_as"), &texts) || texts.empty()) {
          Problem(file, LineOf(e), "[[blocklist]] needs name = \"...\" and mentioned_as = [\"text\", ...], nothing else");
          continue;
        }
        for (const std::string& x : texts)
          if (x.empty() || std::any_of(x.begin(), x.end(), [](char c) { return c >= 'A' && c <= 'Z'; }))
            Problem(file, LineOf(e), "[[blocklist]] mentioned_as '" + x + "' must be lower case, not empty (it is found in any case)");
      }
  }
  for (const char* kind : {"who", "what", "decide"}) {
    const toml::node* n = tbl.get(kind);
    if (!n) continue;
    const toml::array* arr = n->as_array();
    if (!arr) { Problem(file, LineOf(*n), std::string("'") + kind + "' must be an array of tables ([[" + kind + "]])"); continue; }
    for (const auto& e : *arr) {
      const toml::table* t = e.as_table();
      if (!t) Problem(file, LineOf(e), std::string("[[") + kind + "]] must be a table");
      else if (kind[1] == 'e') LoadDecide(file, *t, local);
      else LoadFacet(file, *t, kind[1] == 'h' && kind[2] == 'o');
    }
  }
}

void ClassifierBuilder::State::LoadFacet(const std::string& file, const toml::table& t, bool who) {
  static const std::set<std::string> kKeys = {"name", "match", "words", "veto_hard_bounce", "veto_unless",
                                              "side", "address_level", "note"};
  const char* kind = who ? "who" : "what";
  for (const auto& [k, v] : t)
    if (!kKeys.count(std::string(k.str())))
      Problem(file, LineOf(v), "unknown key '" + std::string(k.str()) + "' in [[" + kind + "]]");
  FacetDef f;
  f.who = who;
  f.file = file;
  f.line = LineOf(t);
  f.name = t["name"].value_or(std::string());
  if (f.name.empty()) { Problem(file, f.line, std::string("[[") + kind + "]] without a name"); return; }
  // words: literal phrases, matched as whole words; match: a pattern.
  std::string pattern = t["match"].value_or(std::string());
  if (const toml::node* n = t.get("words")) {
    std::vector<std::string> words;
    if (!StringList(*n, &words)) { Problem(file, LineOf(*n), "'words' must be an array of strings"); return; }
    for (const auto& w : words) {
      std::string escaped;
      for (char c : w) {
        if (std::strchr("\\^$.|?*+()[]{}/", c)) escaped += '\\';
        escaped += c;
      }
      const bool ascii_edges = !w.empty() && static_cast<unsigned char>(w.front()) < 0x80 &&
                               static_cast<unsigned char>(w.back()) < 0x80;
      if (!pattern.empty()) pattern += '|';
      pattern += ascii_edges ? "\\b" + escaped + "\\b" : escaped;
    }
  }
  if (pattern.empty()) { Problem(file, f.line, std::string("[[") + kind + "]] " + f.name + ": needs match or words"); return; }
  f.pattern = std::move(pattern);
  f.veto_hard_bounce = t["veto_hard_bounce"].value_or(false);
  if (who && f.veto_hard_bounce) Problem(file, f.line, "veto_hard_bounce is for [[what]] facets; a who facet has a side");
  f.side = t["side"].value_or(std::string("recipient"));
  if (t.get("side") && (!who || (f.side != "recipient" && f.side != "sender" && f.side != "either")))
    Problem(file, f.line, "side is for [[who]] facets: \"recipient\", \"sender\" or \"either\"");
  if (const toml::node* n = t.get("veto_unless"); n && (who || !f.veto_hard_bounce || !StringList(*n, &f.veto_unless)))
    Problem(file, f.line, "veto_unless is a list of what facet names, on a [[what]] with veto_hard_bounce = true");
  f.address_level = t["address_level"].value_or(std::string());
  if (t.get("address_level") && (who || f.veto_hard_bounce || (f.address_level != "mailbox" && f.address_level != "domain")))
    Problem(file, f.line, "address_level is for [[what]] facets without veto_hard_bounce: \"mailbox\" or \"domain\"");
  facets.push_back(std::move(f));
}

void ClassifierBuilder::State::LoadDecide(const std::string& file, const toml::table& t, bool local) {
  static const std::set<std::string> kKeys = {"id", "category", "reason", "what", "who", "unless", "code", "status",
                                              "command", "permanent", "retry_after", "solution_en", "solution_zh",
                                              "note"};
  DecideDef d;
  const size_t before = problems.size();
  for (const auto& [k, v] : t)
    if (!kKeys.count(std::string(k.str())))
      Problem(file, LineOf(v), "unknown key '" + std::string(k.str()) + "' in [[decide]]");
  // The row's rule part (id, category, constraints) is read as a rule; a
  // row needs no pattern, so a placeholder status keeps LoadRule content.
  toml::table as_rule;
  for (const char* k : {"id", "category", "reason", "code", "status", "command", "permanent", "retry_after",
                        "solution_en", "solution_zh", "note"})
    if (const toml::node* n = t.get(k)) as_rule.insert(k, *n);
  if (!as_rule.contains("code") && !as_rule.contains("status")) as_rule.insert("match", "facet");
  const size_t rules_before = rules.size();
  LoadRule(file, as_rule, toml::table{}, local);
  if (problems.size() != before || rules.size() == rules_before) return;
  d.rule = std::move(rules.back());
  rules.pop_back();
  d.rule.pattern.clear();
  d.rule.facet_row = true;
  d.rule.tier = RuleTier::kFacet;
  d.rule.line = LineOf(t);
  d.what = t["what"].value_or(std::string());
  if (d.what.empty()) Problem(file, d.rule.line, "[[decide]] " + d.rule.id + ": needs what");
  if (const toml::node* n = t.get("who"); n && !StringList(*n, &d.who))
    Problem(file, LineOf(*n), "'who' must be a string or an array of strings");
  if (const toml::node* n = t.get("unless"); n && !StringList(*n, &d.unless))
    Problem(file, LineOf(*n), "'unless' must be a string or an array of strings");
  if (problems.size() == before) decide.push_back(std::move(d));
}

void ClassifierBuilder::State::LoadCategory(const std::string& file, const toml::table& t) {
  const int line = LineOf(t);
  auto id = t["id"].value<std::string>();
  auto cat = id ? CategoryFromName(*id) : std::nullopt;
  if (!cat) { Problem(file, line, "category with missing or unknown id"); return; }
  CategoryInfo& info = categories[static_cast<size_t>(*cat)];
  category_seen[static_cast<size_t>(*cat)] = true;
  info.id = *cat;
  auto reason = ReasonFromName(t["reason"].value_or(std::string()));
  if (!reason) Problem(file, line, "category " + *id + ": unknown reason");
  else info.reason = *reason;
  info.permanent_without_code = t["permanent_without_code"].value_or(true);
  info.retry_after = t["retry_after"].value_or(0);
  info.action = t["action"].value_or(std::string());
  info.solution_en = t["solution_en"].value_or(std::string());
  info.solution_zh = t["solution_zh"].value_or(std::string());
  if (info.action.empty() || info.solution_en.empty() || info.solution_zh.empty())
    Problem(file, line, "category " + *id + ": action, solution_en and solution_zh are required");
  info.action_unconfirmed = t["action_unconfirmed"].value_or(std::string());
  info.solution_unconfirmed_en = t["solution_unconfirmed_en"].value_or(std::string());
  info.solution_unconfirmed_zh = t["solution_unconfirmed_zh"].value_or(std::string());
  const bool any = !info.action_unconfirmed.empty() || !info.solution_unconfirmed_en.empty() || !info.solution_unconfirmed_zh.empty();
  if (any && (info.action_unconfirmed.empty() || info.solution_unconfirmed_en.empty() || info.solution_unconfirmed_zh.empty()))
    Problem(file, line, "category " + *id + ": action_unconfirmed, solution_unconfirmed_en and solution_unconfirmed_zh go together");
}

void ClassifierBuilder::State::LoadRule(const std::string& file, const toml::table& t, const toml::table& defaults, bool local) {
  static const std::set<std::string> kKeys = {"id", "category", "reason", "match", "code", "status", "command",
                                              "tier", "priority", "permanent", "retry_after", "provider", "reference",
                                              "address_level", "solution_en", "solution_zh", "note"};
  Rule r;
  r.file = file;
  r.line = LineOf(t);
  r.local = local;
  const size_t before = problems.size();
  for (const auto& [k, v] : t)
    if (!kKeys.count(std::string(k.str()))) Problem(file, LineOf(v), "unknown key '" + std::string(k.str()) + "' in rule");
  r.id = t["id"].value_or(std::string());
  if (r.id.empty()) Problem(file, r.line, "rule without an id");
  const std::string who = "rule " + (r.id.empty() ? std::string("?") : r.id) + ": ";
  auto cat_name = t["category"].value<std::string>();
  auto cat = cat_name ? CategoryFromName(*cat_name) : std::nullopt;
  if (!cat) Problem(file, r.line, who + (cat_name ? "unknown category '" + *cat_name + "'" : "missing category"));
  else r.category = *cat;
  if (auto reason_name = t["reason"].value<std::string>()) {
    if (auto reason = ReasonFromName(*reason_name)) r.reason = *reason;
    else Problem(file, r.line, who + "unknown reason '" + *reason_name + "'");
  } else if (cat) {
    r.reason = categories[static_cast<size_t>(*cat)].reason;  // categories.toml is always loaded first
  }
  r.pattern = t["match"].value_or(std::string());
  std::vector<std::string> list;
  if (const toml::node* n = t.get("code")) {
    list.clear();
    if (!StringList(*n, &list)) Problem(file, LineOf(*n), who + "'code' must be a string or an array of strings");
    for (const auto& s : list) {
      CodePattern c;
      if (ParseCodePattern(s, &c)) { r.codes.push_back(c); r.code_texts.push_back(s); }
      else Problem(file, LineOf(*n), who + "bad code '" + s + "' (want 550, 55x or 5xx)");
    }
  }
  if (const toml::node* n = t.get("status")) {
    list.clear();
    if (!StringList(*n, &list)) Problem(file, LineOf(*n), who + "'status' must be a string or an array of strings");
    for (const auto& s : list) {
      StatusPattern p;
      if (ParseStatusPattern(s, &p)) { r.statuses.push_back(p); r.status_texts.push_back(s); }
      else Problem(file, LineOf(*n), who + "bad status '" + s + "' (want 5.1.1, 5.1.* or *.1.1)");
    }
  }
  if (const toml::node* n = t.get("command")) {
    list.clear();
    if (!StringList(*n, &list)) Problem(file, LineOf(*n), who + "'command' must be a string or an array of strings");
    for (const auto& s : list) {
      size_t used = 0;  // a rule names a command in full: "RCPT", not "RCPT x"
      const SmtpCommand c = SmtpCommandFromWords(s, &used);
      if (c != SmtpCommand::kUnknown && used == s.size()) r.commands.push_back(c);
      else Problem(file, LineOf(*n), who + "unknown command '" + s + "'");
    }
  }
  if (r.pattern.empty() && r.codes.empty() && r.statuses.empty())
    Problem(file, r.line, who + "needs at least one of match, code, status");
  r.priority = static_cast<int>(t["priority"].value_or(defaults["priority"].value_or(int64_t{50})));
  if (auto tier_name = t["tier"].value<std::string>().value_or(defaults["tier"].value_or(std::string())); !tier_name.empty()) {
    auto tier = RuleTierFromName(tier_name);
    if (!tier) Problem(file, r.line, who + "unknown tier '" + tier_name + "' (seed, override, provider, facet, code)");
    else r.tier = *tier;
  } else {
    r.tier = TierForPriority(r.priority);
  }
  if (auto p = t["permanent"].value<bool>()) r.permanent = *p ? 1 : 0;
  r.retry_after = static_cast<int>(t["retry_after"].value_or(int64_t{-1}));
  if (const toml::node* n = t.get("address_level")) {
    const std::string level = n->value_or(std::string());
    if (level != "mailbox" && level != "domain") Problem(file, LineOf(*n), who + "address_level must be \"mailbox\" or \"domain\"");
    r.address_level = true;
  }
  r.provider = t["provider"].value_or(defaults["provider"].value_or(std::string()));
  r.reference = t["reference"].value_or(defaults["reference"].value_or(std::string()));
  r.solution_en = t["solution_en"].value_or(std::string());
  r.solution_zh = t["solution_zh"].value_or(std::string());
  r.note = t["note"].value_or(std::string());
  if (problems.size() == before) rules.push_back(std::move(r));
}

void ClassifierBuilder::State::LoadPermanence(const std::string& file, const toml::table& t) {
  Permanence p;
  std::vector<std::string> list;
  if (const toml::node* n = t.get("code"); n && StringList(*n, &list))
    for (const auto& s : list) {
      CodePattern c;
      if (ParseCodePattern(s, &c)) p.codes.push_back(c);
      else Problem(file, LineOf(t), "permanence: bad code '" + s + "'");
    }
  list.clear();
  if (const toml::node* n = t.get("command"); n && StringList(*n, &list))
    for (const auto& s : list) {
      size_t used = 0;
      const SmtpCommand c = SmtpCommandFromWords(s, &used);
      if (c != SmtpCommand::kUnknown && used == s.size()) p.commands.push_back(c);
      else Problem(file, LineOf(t), "permanence: unknown command '" + s + "'");
    }
  auto perm = t["permanent"].value<bool>();
  if (p.codes.empty() || !perm) { Problem(file, LineOf(t), "permanence needs code and permanent"); return; }
  p.permanent = *perm;
  permanence.push_back(std::move(p));
}

Status ClassifierBuilder::AddDefaults() {
  for (const auto& f : embedded::RuleFiles()) state_->Load(f.name, f.text, /*local=*/false);
  return Status::Ok();
}

Status ClassifierBuilder::AddText(std::string_view name, std::string_view toml_text, bool local) {
  state_->Load(name, toml_text, local);
  return Status::Ok();
}

Status ClassifierBuilder::AddPath(const std::string& path, bool local) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> files;
  if (fs::is_directory(path, ec)) {
    for (const auto& e : fs::recursive_directory_iterator(path, ec))
      if (e.is_regular_file() && e.path().extension() == ".toml") files.push_back(e.path().string());
    // categories.toml first: rules take their default reason from it.
    std::sort(files.begin(), files.end(), [](const std::string& a, const std::string& b) {
      const bool ca = fs::path(a).filename() == "categories.toml", cb = fs::path(b).filename() == "categories.toml";
      return ca != cb ? ca : a < b;
    });
    if (files.empty()) return Status::NotFound(path + ": no .toml rule files in this directory");
  } else {
    files.push_back(path);
  }
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) return Status::IoError(f + ": cannot read rule file");
    std::stringstream ss;
    ss << in.rdbuf();
    state_->Load(f, ss.str(), local);
  }
  return Status::Ok();
}

void ClassifierBuilder::set_cache_dir(std::string dir) { state_->cache_dir = std::move(dir); }

namespace {

uint64_t Fnv1a(std::string_view bytes, uint64_t h = 1469598103934665603ULL) {
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// Cache file: 8-byte FNV-1a of the payload, then hs_serialize_database's bytes.
hs_database_t* LoadCachedDatabase(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return nullptr;
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() <= 8) return nullptr;
  uint64_t stored;
  std::memcpy(&stored, bytes.data(), 8);
  const std::string_view payload = std::string_view(bytes).substr(8);
  if (stored != Fnv1a(payload)) return nullptr;
  hs_database_t* db = nullptr;
  if (hs_deserialize_database(payload.data(), payload.size(), &db) != HS_SUCCESS) return nullptr;
  return db;
}

void StoreCachedDatabase(const std::string& dir, const std::string& path, const hs_database_t* db) {
  char* bytes = nullptr;
  size_t length = 0;
  if (hs_serialize_database(db, &bytes, &length) != HS_SUCCESS) return;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const uint64_t sum = Fnv1a(std::string_view(bytes, length));
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(&sum), 8);
    out.write(bytes, static_cast<std::streamsize>(length));
    if (!out) ec = std::make_error_code(std::errc::io_error);
  }
  std::free(bytes);
  if (ec) std::filesystem::remove(tmp, ec);
  else std::filesystem::rename(tmp, path, ec);  // atomic: readers see all or nothing
}

}  // namespace

Status ClassifierBuilder::Build(std::unique_ptr<const Classifier>* out) {
  State& st = *state_;
  const bool have_categories = std::any_of(st.category_seen.begin(), st.category_seen.end(), [](bool b) { return b; });
  if (!have_categories) st.problems.push_back("rule base: no categories defined (the shipped categories.toml is missing)");
  else
    for (int i = 0; i < kCategoryCount; ++i)
      if (!st.category_seen[i])
        st.problems.push_back("categories.toml: category '" + std::string(CategoryName(static_cast<Category>(i))) + "' is not defined");
  std::map<std::string, const Rule*> ids;
  for (auto& r : st.rules) {
    if (auto [it, fresh] = ids.emplace(r.id, &r); !fresh)
      st.Problem(r.file, r.line, "duplicate rule id '" + r.id + "' (first defined at " + it->second->file + ":" + std::to_string(it->second->line) + ")");
  }
  // Evaluation order: local first, then priority, then definition order.
  // Switched off by [[disable]]: gone before anything is ordered or compiled.
  for (const auto& disabled : st.disabled) {
    const std::string& id = disabled.first;  // named, not bound: lambdas below capture it
    const std::string& where = disabled.second;
    auto it = std::find_if(st.rules.begin(), st.rules.end(), [&](const Rule& r) { return r.id == id; });
    auto row = std::find_if(st.decide.begin(), st.decide.end(), [&](const DecideDef& d) { return d.rule.id == id; });
    if (it != st.rules.end()) st.rules.erase(it);
    else if (row != st.decide.end()) st.decide.erase(row);
    else st.problems.push_back(where + ": [[disable]] names no rule '" + id + "'");
  }
  // Evaluation order: local first, then tier, then priority, then definition order.
  std::stable_sort(st.rules.begin(), st.rules.end(), [](const Rule& a, const Rule& b) {
    if (a.local != b.local) return a.local;
    if (a.tier != b.tier) return a.tier < b.tier;
    return a.priority > b.priority;
  });

  auto compiled = std::make_unique<Classifier::Compiled>();
  // The sort puts every rule that outranks the facet layer first.
  compiled->first_lower = static_cast<uint32_t>(
      std::find_if(st.rules.begin(), st.rules.end(),
                   [](const Rule& r) { return !r.local && r.tier >= RuleTier::kFacet; }) -
      st.rules.begin());
  std::vector<const char*> exprs;
  std::vector<unsigned> flags, idents;
  for (uint32_t i = 0; i < st.rules.size(); ++i) {
    if (st.rules[i].pattern.empty()) { compiled->Index(i, st.rules[i]); continue; }
    exprs.push_back(st.rules[i].pattern.c_str());
    flags.push_back(kPatternFlags);
    idents.push_back(i);
  }
  // Facets: one bit per name (several lists may share a name), compiled
  // into the same database; [[decide]] rows refer to them by name.
  std::vector<std::string> who_names, what_names;
  WhatFacets veto_hard_bounce, mailbox_words, domain_words;
  uint32_t sender_side_who = 0, either_side_who = 0;
  auto bit_of = [](std::vector<std::string>& names, const std::string& name) {
    auto it = std::find(names.begin(), names.end(), name);
    if (it != names.end()) return static_cast<uint32_t>(it - names.begin());
    names.push_back(name);
    return static_cast<uint32_t>(names.size() - 1);
  };
  for (const FacetDef& f : st.facets) {
    const uint32_t bit = bit_of(f.who ? who_names : what_names, f.name);
    if (bit >= (f.who ? 32u : WhatFacets::kCapacity)) {
      st.Problem(f.file, f.line, std::string("too many distinct ") + (f.who ? "who (32)" : "what (128)") + " facet names");
      continue;
    }
    if (f.veto_hard_bounce) veto_hard_bounce.Add(bit);
    if (f.address_level == "mailbox") mailbox_words.Add(bit);
    if (f.address_level == "domain") domain_words.Add(bit);
    if (f.who && f.side == "sender") sender_side_who |= 1u << bit;
    if (f.who && f.side == "either") either_side_who |= 1u << bit;
    exprs.push_back(f.pattern.c_str());
    flags.push_back(kPatternFlags);
    idents.push_back(kFacetIdBase | (f.who ? kWhoFlag : 0) | bit);
  }
  std::array<WhatFacets, WhatFacets::kCapacity> veto_unless{};
  for (const FacetDef& f : st.facets) {
    if (f.who || f.veto_unless.empty()) continue;
    const size_t bit = std::find(what_names.begin(), what_names.end(), f.name) - what_names.begin();
    for (const std::string& name : f.veto_unless) {
      auto it = std::find(what_names.begin(), what_names.end(), name);
      if (it == what_names.end()) st.Problem(f.file, f.line, "veto_unless names '" + name + "', which is no what facet");
      else if (bit < WhatFacets::kCapacity) veto_unless[bit].Add(static_cast<uint32_t>(it - what_names.begin()));
    }
  }
  std::vector<FacetRow> facet_rows;
  std::stable_sort(st.decide.begin(), st.decide.end(),
                   [](const DecideDef& a, const DecideDef& b) { return a.rule.local && !b.rule.local; });
  for (DecideDef& d : st.decide) {
    FacetRow row;
    bool ok = true;
    auto lookup = [&](const std::vector<std::string>& names, const std::string& name, uint32_t* bit) {
      auto it = std::find(names.begin(), names.end(), name);
      if (it == names.end()) return false;
      *bit = static_cast<uint32_t>(it - names.begin());
      return true;
    };
    uint32_t bit;
    if (lookup(what_names, d.what, &bit)) row.what = WhatFacets::Of(bit);
    else ok = false, st.Problem(d.rule.file, d.rule.line, "[[decide]] " + d.rule.id + ": no [[what]] named '" + d.what + "'");
    for (const auto& w : d.who) {
      if (w == "none") row.who_none = true;
      else if (lookup(who_names, w, &bit)) row.who_any |= 1u << bit;
      else ok = false, st.Problem(d.rule.file, d.rule.line, "[[decide]] " + d.rule.id + ": no [[who]] named '" + w + "'");
    }
    for (const auto& u : d.unless) {
      if (lookup(what_names, u, &bit)) row.unless_what.Add(bit);
      else if (lookup(who_names, u, &bit)) row.unless_who |= 1u << bit;
      else ok = false, st.Problem(d.rule.file, d.rule.line, "[[decide]] " + d.rule.id + ": 'unless' names no facet '" + u + "'");
    }
    if (!ok) continue;
    if (auto [it, fresh] = ids.emplace(d.rule.id, &d.rule); !fresh)
      st.Problem(d.rule.file, d.rule.line, "duplicate rule id '" + d.rule.id + "'");
    row.rule = std::move(d.rule);
    facet_rows.push_back(std::move(row));
  }

  // Three databases (see Classifier::Compiled): the rules above the facet
  // layer, the rules below it, and the facets.
  enum class Part { kUpper, kLower, kFacets };
  auto part_of = [&](uint32_t ident) {
    return ident >= kFacetIdBase ? Part::kFacets : ident < compiled->first_lower ? Part::kUpper : Part::kLower;
  };
  auto compile = [&](Part part, hs_database_t** out, bool* sentinel) {
    const bool facets = part == Part::kFacets;
    std::vector<const char*> e;
    std::vector<unsigned> f, ids;
    for (size_t k = 0; k < exprs.size(); ++k)
      if (part_of(idents[k]) == part) e.push_back(exprs[k]), f.push_back(flags[k]), ids.push_back(idents[k]);
    if (e.empty()) return;
    // A database is scanned between sentinels when every pattern in it
    // rewrites (core/scan_sentinel.h); as written otherwise. Vectorscan alone
    // over the realistic mix, rewritten: upper rules 223 -> 201 ns, lower
    // 177 -> 146 (docs/bench-history.md).
    const std::vector<const char*> written = e;
    std::vector<std::string> rewritten;
    for (const char* pattern : written) {
      std::optional<std::string> r = scan_sentinel::Rewrite(pattern);
      if (!r) break;
      rewritten.push_back(std::move(*r));
    }
    if (rewritten.size() == written.size()) {
      for (size_t k = 0; k < e.size(); ++k) e[k] = rewritten[k].c_str();
      *sentinel = true;
    }
    std::string cache_path;
    if (!st.cache_dir.empty() && st.problems.empty()) {
      uint64_t key = Fnv1a(hs_version());
      // hs_compile_multi builds for the CPU it runs on (platform nullptr): a
      // cache shared with another machine must not hand it this one's build.
      if (hs_platform_info_t platform; hs_populate_platform(&platform) == HS_SUCCESS)
        key = Fnv1a(std::to_string(platform.tune) + "/" + std::to_string(platform.cpu_features) + "\n", key);
      for (size_t k = 0; k < e.size(); ++k) {
        key = Fnv1a(e[k], key);
        key = Fnv1a(std::to_string(f[k]) + "/" + std::to_string(ids[k]) + "\n", key);
      }
      char name[48];
      std::snprintf(name, sizeof name, "%s-%016llx.hsdb", facets ? "facets" : part == Part::kUpper ? "rules" : "lower-rules",
                    static_cast<unsigned long long>(key));
      cache_path = st.cache_dir + "/" + name;
      *out = LoadCachedDatabase(cache_path);
      if (*out) return;
    }
    hs_compile_error_t* err = nullptr;
    if (hs_compile_multi(e.data(), f.data(), ids.data(), static_cast<unsigned>(e.size()), HS_MODE_BLOCK, nullptr, out,
                         &err) == HS_SUCCESS) {
      if (!cache_path.empty()) StoreCachedDatabase(st.cache_dir, cache_path, *out);
      return;
    }
    hs_free_compile_error(err);
    // Compile one by one, as written, to name every pattern that fails.
    for (size_t k = 0; k < written.size(); ++k) {
      hs_database_t* one = nullptr;
      hs_compile_error_t* e1 = nullptr;
      if (hs_compile(written[k], f[k], HS_MODE_BLOCK, nullptr, &one, &e1) != HS_SUCCESS) {
        if (facets) {
          const std::string pattern = written[k];
          for (const FacetDef& fd : st.facets)
            if (fd.pattern == pattern)
              st.Problem(fd.file, fd.line, "facet " + fd.name + ": pattern does not compile: " + (e1 ? e1->message : "?"));
        } else {
          const Rule& r = st.rules[ids[k]];
          st.Problem(r.file, r.line, "rule " + r.id + ": pattern does not compile: " + (e1 ? e1->message : "?"));
        }
        hs_free_compile_error(e1);
      }
      hs_free_database(one);
    }
    if (st.problems.empty()) st.problems.push_back("rule base: the patterns do not compile together");
  };
  compile(Part::kUpper, &compiled->upper_db, &compiled->upper_sentinel);
  compile(Part::kLower, &compiled->lower_db, &compiled->lower_sentinel);
  compile(Part::kFacets, &compiled->facet_db, &compiled->facet_sentinel);
  if (!st.problems.empty()) {
    std::string msg;
    for (const auto& p : st.problems) msg += (msg.empty() ? "" : "\n") + p;
    return Status::InvalidArgument(msg);
  }
  compiled->permanence = std::move(st.permanence);
  std::unique_ptr<Classifier> c(new Classifier());
  c->rules_ = std::move(st.rules);
  c->categories_ = std::move(st.categories);
  c->compiled_ = std::move(compiled);
  c->facet_rows_ = std::move(facet_rows);
  c->who_names_ = std::move(who_names);
  c->what_names_ = std::move(what_names);
  c->veto_hard_bounce_ = veto_hard_bounce;
  c->sender_side_who_ = sender_side_who;
  c->recipient_side_who_ = ~(sender_side_who | either_side_who);
  c->veto_unless_ = veto_unless;
  c->mailbox_words_ = mailbox_words;
  c->domain_words_ = domain_words;
  if (auto it = std::find(c->who_names_.begin(), c->who_names_.end(), "ip"); it != c->who_names_.end())
    c->ip_who_bit_ = 1u << (it - c->who_names_.begin());
  *out = std::move(c);
  state_ = std::make_unique<State>();
  state_->categories.resize(kCategoryCount);
  return Status::Ok();
}

Status BuildClassifier(const std::vector<std::string>& local_rule_paths, std::unique_ptr<const Classifier>* out) {
  ClassifierBuilder b;
  if (const char* dir = std::getenv("REBOUND_CACHE_DIR")) b.set_cache_dir(dir);
  else if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) b.set_cache_dir(std::string(xdg) + "/rebound");
  else if (const char* home = std::getenv("HOME"); home && *home) b.set_cache_dir(std::string(home) + "/.cache/rebound");
  Status s = b.AddDefaults();
  for (const auto& p : local_rule_paths) {
    if (!s.ok()) return s;
    s = b.AddPath(p, /*local=*/true);
  }
  if (!s.ok()) return s;
  return b.Build(out);
}

}  // namespace rebound
