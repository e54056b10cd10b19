// rebound/classifier.h: the rule base and the classifier built from it.
//
// Rules are data (TOML files under rules/, format in rules/SCHEMA.md). A
// ClassifierBuilder collects rule files -- the shipped ones embedded in the
// binary and the user's local ones, which take precedence -- validates them
// and compiles every text pattern into one vectorscan database, so a reply is
// scanned once whatever the number of rules.
//
// The resulting Classifier is immutable and safe to share between threads.
// Each thread brings its own Classifier::Scratch (vectorscan scratch space
// and a reusable reply buffer): with it, Classify() allocates nothing in
// steady state. A Verdict's string_views point into the Classifier.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rebound/export.h"
#include "rebound/reply.h"
#include "rebound/status.h"
#include "rebound/verdict.h"

namespace rebound {

// A constraint on an enhanced status code: "5.1.1", "5.1.*", "*.1.1", "5.*.*".
struct REBOUND_EXPORT StatusPattern {
  int klass = -1, subject = -1, detail = -1;  // -1 matches anything
  bool Matches(const EnhancedStatus& s) const;
};

// A constraint on a basic code: "550", "55x", "5xx".
struct CodePattern {
  int lo = 0, hi = 0;  // inclusive range
  bool Matches(int code) const { return code >= lo && code <= hi; }
};

// One rule as loaded, for listing and explaining.
struct Rule {
  std::string id;
  std::string file;  // where it was defined
  int line = 0;
  bool local = false;  // from --rules: evaluated before every shipped rule
  bool facet_row = false;  // a [[decide]] row of the facet layer
  RuleTier tier = RuleTier::kProvider;  // evaluated tier by tier
  int priority = 0;    // within a tier, higher first; equal priority keeps file order
  Category category = Category::unknown;
  Reason reason = Reason::undefined;
  std::string pattern;  // vectorscan regex over the reply text; may be empty
  std::vector<CodePattern> codes;
  std::vector<std::string> code_texts;  // as written, for explaining
  std::vector<StatusPattern> statuses;
  std::vector<std::string> status_texts;
  std::vector<SmtpCommand> commands;
  int permanent = -1;  // -1: follow the code class; 0/1: the text is certain
  int retry_after = -1;
  bool address_level = false;  // its words say the address or its domain is bad: evidence for a hard bounce
  std::string provider, reference, solution_en, solution_zh, note;
};

// A set of what facets, by bit: room for 128 names (two words, so a test is
// two ANDs and the set stays a plain value).
class WhatFacets {
 public:
  static constexpr uint32_t kCapacity = 128;
  WhatFacets() = default;
  static WhatFacets Of(uint32_t bit) {
    WhatFacets f;
    f.Add(bit);
    return f;
  }
  void Add(uint32_t bit) { words_[bit >> 6] |= uint64_t{1} << (bit & 63); }
  bool Has(uint32_t bit) const { return words_[bit >> 6] & (uint64_t{1} << (bit & 63)); }
  bool Any() const { return (words_[0] | words_[1]) != 0; }
  bool Intersects(const WhatFacets& o) const { return (words_[0] & o.words_[0]) | (words_[1] & o.words_[1]); }
  WhatFacets operator&(const WhatFacets& o) const { return {words_[0] & o.words_[0], words_[1] & o.words_[1]}; }
  WhatFacets& operator|=(const WhatFacets& o) {
    words_[0] |= o.words_[0], words_[1] |= o.words_[1];
    return *this;
  }
  // Calls f(bit) for each member, lowest first.
  template <typename F>
  void ForEach(F f) const {
    for (uint32_t w = 0; w < 2; ++w)
      for (uint64_t bits = words_[w]; bits; bits &= bits - 1) f(w * 64 + static_cast<uint32_t>(__builtin_ctzll(bits)));
  }

 private:
  WhatFacets(uint64_t low, uint64_t high) : words_{low, high} {}
  uint64_t words_[2] = {0, 0};
};

// The facet layer (rules/facets.toml, format in rules/SCHEMA.md): word lists
// that say WHO a reply is about (the recipient, the sender, the sending IP,
// the account, ...) and WHAT happened to it (unknown, full, rate-limited,
// listed, ...), and an ordered table that turns the facets found into a
// category. It decides below the provider and MTA rules and above the
// generic phrase rules and the code-only rules, so a reply nobody wrote a
// rule for is still read by what it says rather than by its code alone.
struct FacetRow {
  Rule rule;                 // id, category, reason, code/status/command constraints
  WhatFacets what;           // the facet that must be present
  uint32_t who_any = 0;      // one of these must be present, or
  bool who_none = false;     // (when set) no who facet at all; neither set: no constraint
  WhatFacets unless_what;    // none of these may be present
  uint32_t unless_who = 0;
};

// What the facet layer found in one reply, by name, and the row that decided.
struct FacetExplanation {
  std::vector<std::string_view> who, what;
  const FacetRow* decided = nullptr;
};

// What the taxonomy says of a category (rules/categories.toml).
struct CategoryInfo {
  Category id = Category::unknown;
  Reason reason = Reason::undefined;  // default reason for rules of this category
  bool permanent_without_code = true; // permanence when the reply has no code
  int retry_after = 0;                // default hint for temporary failures
  std::string action, solution_en, solution_zh;
  // For a category whose action suppresses the address: what to do when a
  // verdict of it is not a hard bounce (the words do not show the address
  // bad). Empty: the action holds either way.
  std::string action_unconfirmed, solution_unconfirmed_en, solution_unconfirmed_zh;
};

// What an enhanced status alone says about a hard bounce (docs/taxonomy.md):
// x.1.1, x.1.3, x.1.6 and x.1.10 are evidence that the address is bad; x.1.7
// and x.1.8, about the sender's address, are against it.
REBOUND_EXPORT HardBounceFacts StatusHardBounceFacts(const EnhancedStatus& s);

class REBOUND_EXPORT Classifier {
 public:
  class Scratch;  // per-thread working memory; see NewScratch()
  struct ScratchDeleter {
    void operator()(Scratch* s) const;
  };
  using ScratchPtr = std::unique_ptr<Scratch, ScratchDeleter>;

  ~Classifier();
  Classifier(const Classifier&) = delete;
  Classifier& operator=(const Classifier&) = delete;

  ScratchPtr NewScratch() const;

  struct Evidence;  // the facets found in one reply (classifier.cc)

  // Classifies a parsed reply. Never fails: a reply no rule knows gets
  // category unknown with the permanence its code gives.
  Verdict Classify(const Reply& reply, Scratch* scratch) const;
  // Parses raw with the scratch's parser, then classifies.
  Verdict Classify(std::string_view raw, Scratch* scratch) const;
  // The reply as the last Classify(raw, scratch) parsed it.
  static const Reply& LastReply(const Scratch* scratch);

  // Every rule that matched, in evaluation order; the first one decided.
  // A facet row that matched is listed at the facet layer's place.
  std::vector<const Rule*> Explain(const Reply& reply, Scratch* scratch) const;
  // The facets found in the reply and the facet row they select, if any
  // (whether or not a rule above the facet layer decided).
  FacetExplanation ExplainFacets(const Reply& reply, Scratch* scratch) const;


  const std::vector<Rule>& rules() const { return rules_; }  // evaluation order
  const CategoryInfo& category_info(Category c) const;
  // Sets v's action, and its solution where it is the category's own, to the
  // category's confirmed or unconfirmed one as v->hard_bounce says. Classify
  // calls it; so must code that judges hard_bounce again afterwards.
  void SettleAction(Verdict* v) const;

 private:
  friend class ClassifierBuilder;
  struct Compiled;
  Classifier();
  Verdict MakeVerdict(const Rule* rule, const Reply& reply, const Evidence& evidence) const;
  // What the reply says for and against the address itself being bad.
  HardBounceFacts ReadHardBounceFacts(const Rule* rule, const Reply& reply, const Evidence& evidence) const;
  // The ids of the rules above (or below) the facet layer whose patterns
  // match, into the scratch.
  void ScanRules(const Reply& reply, Scratch* scratch, bool below_facets) const;
  const Rule* BestBelowFacets(const Reply& reply, Scratch* scratch, uint32_t best) const;
  void ScanFacets(const Reply& reply, Scratch* scratch, Evidence* evidence) const;
  const FacetRow* DecideFacets(const Reply& reply, const Evidence& evidence) const;

  std::vector<Rule> rules_;
  std::vector<FacetRow> facet_rows_;
  std::vector<std::string> who_names_, what_names_;
  WhatFacets veto_hard_bounce_;  // what facets that contradict an address-level verdict
  uint32_t sender_side_who_ = 0;     // who facets with side = "sender"
  uint32_t recipient_side_who_ = 0;  // who facets with side = "recipient"; with none of these, a sender rules out a hard bounce
  std::array<WhatFacets, WhatFacets::kCapacity> veto_unless_{};  // per vetoing what facet: the what facets that lift its veto
  uint32_t ip_who_bit_ = 0;        // the "ip" who facet, also set by an IPv4 literal in the text
  WhatFacets mailbox_words_;       // what facets with address_level = "mailbox": a mailbox or address does not exist or is invalid
  WhatFacets domain_words_;        // what facets with address_level = "domain": the domain does not exist or takes no mail
  std::vector<CategoryInfo> categories_;
  std::unique_ptr<Compiled> compiled_;
};

class REBOUND_EXPORT ClassifierBuilder {
 public:
  ClassifierBuilder();
  ~ClassifierBuilder();

  // The shipped rule base and taxonomy, embedded in the binary.
  Status AddDefaults();
  // A rule file (TOML) or a directory of them (*.toml, sorted by name).
  // local = true: the user's rules, evaluated before every shipped rule.
  Status AddPath(const std::string& path, bool local);
  // Rules from text; name is used in error messages.
  Status AddText(std::string_view name, std::string_view toml, bool local);

  // Where compiled pattern databases are kept between runs (created when
  // missing), keyed by a hash of the patterns and the vectorscan version; a
  // valid entry saves the ~0.1 s compile at start-up. "" (the default)
  // disables it. A missing, stale or corrupt entry is simply rebuilt.
  void set_cache_dir(std::string dir);

  // Validates the whole rule base and compiles it. Every problem found is
  // reported, one per line, as "file:line: message".
  Status Build(std::unique_ptr<const Classifier>* out);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Convenience: the embedded defaults plus optional local rule paths, with
// the database cache in $REBOUND_CACHE_DIR, else $XDG_CACHE_HOME/rebound, else
// $HOME/.cache/rebound (REBOUND_CACHE_DIR="" disables it).
REBOUND_EXPORT Status BuildClassifier(const std::vector<std::string>& local_rule_paths,
                                      std::unique_ptr<const Classifier>* out);

}  // namespace rebound
