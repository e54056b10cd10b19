// rebound/verdict.h: the contract of a classification (see docs/taxonomy.md,
// copied from the shared taxonomy): a category from the project's actionable
// vocabulary, a reason from the interoperable (Sisimai-style) vocabulary,
// and what to do about it.
//
// A Verdict is a small value. Its string_views point into the Classifier that
// produced it and stay valid as long as that Classifier lives.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "rebound/export.h"

namespace rebound {

#define REBOUND_CATEGORIES(X)                                                   \
  X(delivered) X(auth_failed) X(too_many_recipients) X(message_too_large)       \
  X(invalid_address) X(dns_failure) X(connection_failed)                        \
  X(sending_quota_exceeded) X(spam) X(sender_account_unavailable)               \
  X(recipient_not_found) X(sender_blacklisted) X(ip_blacklisted)                \
  X(recipient_rate_limited) X(ip_rate_limited) X(sender_rate_limited)           \
  X(domain_rate_limited) X(mailbox_full) X(recipient_unavailable) X(greylisted) \
  X(spf_failed) X(auth_policy) X(relay_denied) X(policy_rejected) X(virus)      \
  X(protocol_error) X(expired) X(complaint) X(auto_reply) X(unknown)

#define REBOUND_REASONS(X)                                                       \
  X(authfailure) X(badreputation) X(blocked) X(contenterror) X(delivered)        \
  X(exceedlimit) X(expired) X(failedstarttls) X(feedback) X(filtered)            \
  X(hasmoved) X(hostunknown) X(mailboxfull) X(mailererror) X(mesgtoobig)         \
  X(networkerror) X(norelaying) X(notaccept) X(notcompliantrfc) X(onhold)        \
  X(policyviolation) X(rejected) X(requireptr) X(securityerror) X(spamdetected)  \
  X(speeding) X(suspend) X(syntaxerror) X(systemerror) X(systemfull)             \
  X(toomanyconn) X(undefined) X(userunknown) X(vacation) X(virusdetected)

#define REBOUND_ENUM_ITEM(name) name,
enum class Category : uint8_t { REBOUND_CATEGORIES(REBOUND_ENUM_ITEM) };
enum class Reason : uint8_t { REBOUND_REASONS(REBOUND_ENUM_ITEM) };
#undef REBOUND_ENUM_ITEM

inline constexpr int kCategoryCount = static_cast<int>(Category::unknown) + 1;
inline constexpr int kReasonCount = static_cast<int>(Reason::virusdetected) + 1;

REBOUND_EXPORT std::string_view CategoryName(Category c);
REBOUND_EXPORT std::string_view ReasonName(Reason r);
REBOUND_EXPORT std::optional<Category> CategoryFromName(std::string_view name);
REBOUND_EXPORT std::optional<Reason> ReasonFromName(std::string_view name);

// Categories about the sender's reputation, authentication, policy or rate:
// the recipient address is fine, so these never make a hard bounce.
REBOUND_EXPORT bool IsSenderSideCategory(Category c);
// Whether a verdict of this category and reason is about the address itself:
// not sender-side, and an address-level category (recipient_not_found,
// invalid_address, dns_failure) or interop reason (userunknown, hostunknown,
// hasmoved, notaccept). Only such a verdict can be a hard bounce.
REBOUND_EXPORT bool IsAboutAddress(Category c, Reason r);

// What a reply says for its address being bad (docs/taxonomy.md, "Hard
// bounces"), the strongest kind found.
enum class AddressEvidence : uint8_t {
  kNone,
  kAddressStatus,  // x.1.1, x.1.3, x.1.6 or x.1.10
  kAddressWords,   // "unknown", "does not exist", ... said of a possible recipient; "no such domain", "no MX"
  kRuleForText,    // a rule written for this very text: seed, provider, local, address_level, a bounce format's own reading
};
// What a reply says against it, the first found.
enum class HardBounceVeto : uint8_t {
  kNone,
  kContraryWords,     // a what facet marked veto_hard_bounce: rate, listing, policy, a full mailbox, ...
  kSenderOnly,        // the reply names only the sending side
  kSenderDomain,      // words that a domain does not exist, beside a sender-side party
  kSenderStatus,      // x.1.7 or x.1.8: the sender's address
  kAuthentication,    // 530, 534, 535, 538
  kBeforeRecipients,  // it answered connect, HELO/EHLO, STARTTLS, AUTH or MAIL
  kOtherReading,      // a rule above the facet layer read it as about something else (the words were not read)
  kArgumentSyntax,    // 501, no party named, only a domain word: the argument may be a HELO name or the sender's
};
REBOUND_EXPORT std::string_view AddressEvidenceName(AddressEvidence e);  // "none", "address_status", ...
REBOUND_EXPORT std::string_view HardBounceVetoName(HardBounceVeto v);    // "none", "contrary_words", ...

struct HardBounceFacts {
  AddressEvidence evidence = AddressEvidence::kNone;
  HardBounceVeto veto = HardBounceVeto::kNone;
};

// Why a verdict is or is not a hard bounce, the first test it fails.
enum class HardBounceAnswer : uint8_t { kHardBounce, kNotPermanent, kNotAboutAddress, kNoEvidence, kVetoed };
REBOUND_EXPORT std::string_view HardBounceAnswerName(HardBounceAnswer a);  // "hard_bounce", "not_permanent", ...

// The one definition of a hard bounce, for classify, parse and the relay
// (docs/taxonomy.md): the failure is permanent, about the address
// (IsAboutAddress), with evidence that the address itself is bad and nothing
// against it. The classifier reads the facts from the reply for every
// verdict; the bounce reader adds what a report states (its format's own
// reading, an x.1.y Status field) and keeps every veto of the diagnostic.
REBOUND_EXPORT HardBounceAnswer JudgeHardBounce(Category c, Reason r, bool permanent, HardBounceFacts facts);
inline bool IsHardBounce(Category c, Reason r, bool permanent, HardBounceFacts facts) {
  return JudgeHardBounce(c, r, permanent, facts) == HardBounceAnswer::kHardBounce;
}
// Rate-limit categories: the disposition throttles the destination.
REBOUND_EXPORT bool IsRateLimitCategory(Category c);

enum class Lang : uint8_t { kEn, kZh };

// The layer of the rule base a rule belongs to (rules/SCHEMA.md, "Tiers"),
// in evaluation order: the sending service's own document, texts that
// override what their code suggests, provider and MTA texts, the facet
// layer and generic phrases, and what a bare code or status means.
enum class RuleTier : uint8_t { kSeed, kOverride, kProvider, kFacet, kCode, kNone };
REBOUND_EXPORT std::string_view RuleTierName(RuleTier t);  // "seed", ..., "" for kNone

struct Verdict {
  Category category = Category::unknown;
  Reason reason = Reason::undefined;
  bool permanent = false;    // do not retry this message
  bool hard_bounce = false;  // the address itself is bad: suppress it (IsHardBounce)
  int retry_after = 0;       // seconds; a hint for temporary failures, else 0
  std::string_view action;   // what the sender should do now (English)
  std::string_view solution_en;
  std::string_view solution_zh;
  std::string_view rule;       // id of the rule that decided
  RuleTier tier = RuleTier::kNone;  // its tier; kNone when no rule decided
  HardBounceFacts hard_bounce_facts;  // what hard_bounce was judged on (JudgeHardBounce)
  std::string_view provider;   // receiving provider, when the reply names one
  std::string_view reference;  // provider's documentation URL, when known

  std::string_view solution(Lang lang) const { return lang == Lang::kZh ? solution_zh : solution_en; }
};

}  // namespace rebound
