// Names of the taxonomy's categories and reasons, and the groups the
// contract defines over them.
#include <array>

#include "rebound/verdict.h"

namespace rebound {
namespace {

#define REBOUND_NAME_ITEM(name) #name,
constexpr std::array<std::string_view, kCategoryCount> kCategoryNames = {REBOUND_CATEGORIES(REBOUND_NAME_ITEM)};
constexpr std::array<std::string_view, kReasonCount> kReasonNames = {REBOUND_REASONS(REBOUND_NAME_ITEM)};
#undef REBOUND_NAME_ITEM

}  // namespace

std::string_view CategoryName(Category c) { return kCategoryNames[static_cast<size_t>(c)]; }
std::string_view ReasonName(Reason r) { return kReasonNames[static_cast<size_t>(r)]; }

std::optional<Category> CategoryFromName(std::string_view name) {
  for (size_t i = 0; i < kCategoryNames.size(); ++i)
    if (kCategoryNames[i] == name) return static_cast<Category>(i);
  return std::nullopt;
}

std::optional<Reason> ReasonFromName(std::string_view name) {
  for (size_t i = 0; i < kReasonNames.size(); ++i)
    if (kReasonNames[i] == name) return static_cast<Reason>(i);
  return std::nullopt;
}

bool IsSenderSideCategory(Category c) {
  switch (c) {
    case Category::auth_failed: case Category::sending_quota_exceeded: case Category::spam:
    case Category::sender_account_unavailable: case Category::sender_blacklisted:
    case Category::ip_blacklisted: case Category::spf_failed: case Category::auth_policy:
    case Category::relay_denied: case Category::policy_rejected: case Category::virus:
    case Category::too_many_recipients: case Category::message_too_large:
      return true;
    default:
      return IsRateLimitCategory(c);
  }
}

std::string_view RuleTierName(RuleTier t) {
  static constexpr std::string_view kNames[] = {"seed", "override", "provider", "facet", "code", ""};
  return kNames[static_cast<size_t>(t)];
}

bool IsAboutAddress(Category c, Reason r) {
  if (IsSenderSideCategory(c)) return false;
  const bool address_category =
      c == Category::recipient_not_found || c == Category::invalid_address || c == Category::dns_failure;
  const bool address_reason =
      r == Reason::userunknown || r == Reason::hostunknown || r == Reason::hasmoved || r == Reason::notaccept;
  return address_category || address_reason;
}

HardBounceAnswer JudgeHardBounce(Category c, Reason r, bool permanent, HardBounceFacts facts) {
  if (!permanent) return HardBounceAnswer::kNotPermanent;
  if (!IsAboutAddress(c, r)) return HardBounceAnswer::kNotAboutAddress;
  if (facts.evidence == AddressEvidence::kNone) return HardBounceAnswer::kNoEvidence;
  if (facts.veto != HardBounceVeto::kNone) return HardBounceAnswer::kVetoed;
  return HardBounceAnswer::kHardBounce;
}

std::string_view AddressEvidenceName(AddressEvidence e) {
  static constexpr std::string_view kNames[] = {"none", "address_status", "address_words", "rule_for_text"};
  return kNames[static_cast<size_t>(e)];
}

std::string_view HardBounceVetoName(HardBounceVeto v) {
  static constexpr std::string_view kNames[] = {"none",          "contrary_words", "sender_only",       "sender_domain",
                                                "sender_status", "authentication", "before_recipients", "other_reading",
                                                "argument_syntax"};
  return kNames[static_cast<size_t>(v)];
}

std::string_view HardBounceAnswerName(HardBounceAnswer a) {
  static constexpr std::string_view kNames[] = {"hard_bounce", "not_permanent", "not_about_address", "no_evidence",
                                                "vetoed"};
  return kNames[static_cast<size_t>(a)];
}

bool IsRateLimitCategory(Category c) {
  return c == Category::recipient_rate_limited || c == Category::ip_rate_limited ||
         c == Category::sender_rate_limited || c == Category::domain_rate_limited;
}

}  // namespace rebound
