#include "cli/verdict_json.h"


namespace rebound::cli {

namespace {

// Every field but the last, "reference".
void WriteRuleFields(JsonWriter& w, const Verdict& v, Lang lang) {
  w.Name("category", CategoryName(v.category))
      .Name("reason", ReasonName(v.reason))
      .Bool("permanent", v.permanent)
      .Bool("hard_bounce", v.hard_bounce)
      .String("action", v.action);
  if (v.permanent) w.Null("retry_after");
  else w.Int("retry_after", v.retry_after);
  w.String("solution", v.solution(lang)).StringOrNull("rule", v.rule).StringOrNull("provider", v.provider);
}

}  // namespace

void WriteVerdictFields(JsonWriter& w, const Verdict& v, Lang lang) {
  WriteRuleFields(w, v, lang);
  w.StringOrNull("reference", v.reference);
}

uint64_t VerdictJsonCache::Hash(const Key& k) {
  // Two independent multiplies, the high bits brought down, so that the
  // aligned addresses' low zero bits do not pile keys into few slots.
  const uint64_t small = static_cast<uint32_t>(k.retry_after) | uint64_t{static_cast<uint8_t>(k.category)} << 32 |
                         uint64_t{static_cast<uint8_t>(k.reason)} << 40 | uint64_t{k.permanent} << 48 |
                         uint64_t{k.hard_bounce} << 49;
  const uint64_t texts = reinterpret_cast<uintptr_t>(k.rule) ^ reinterpret_cast<uintptr_t>(k.action) << 7;
  const uint64_t rest = reinterpret_cast<uintptr_t>(k.solution) ^ reinterpret_cast<uintptr_t>(k.provider) << 5 ^ small;
  const uint64_t h = texts * 0x9e3779b97f4a7c15ULL ^ rest * 0xc2b2ae3d27d4eb4fULL;
  return h ^ h >> 31;
}

std::string_view VerdictJsonCache::Lead(const Verdict& v) {
  const Key key{v.action.data(),  v.solution(lang_).data(), v.rule.data(), v.provider.data(), v.retry_after,
                v.category,       v.reason,                 v.permanent,   v.hard_bounce};
  size_t i = Hash(key) & (kSlots - 1);
  for (; slots_[i].filled; i = (i + 1) & (kSlots - 1))
    if (slots_[i].key == key) return slots_[i].lead;
  if (filled_ == kMaxFilled) {
    for (size_t k = 0; k < kSlots; ++k) slots_[k].filled = false;
    filled_ = 0;
    i = Hash(key) & (kSlots - 1);
  }
  // Written after a first member, so that every member here follows a
  // comma; that first member is then cut off.
  static constexpr std::string_view kFirst = "{\"reply\":0";
  std::string object(kFirst);
  JsonWriter one(&object);
  one.ResumeObject();
  WriteRuleFields(one, v, lang_);
  one.Raw("reference", "");
  Slot& slot = slots_[i];
  slot.lead = object.substr(kFirst.size());
  slot.key = key;
  slot.filled = true;
  ++filled_;
  return slot.lead;
}

}  // namespace rebound::cli
