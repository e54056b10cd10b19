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
  // Each part folded in with a multiply and the high bits brought down, so
  // the aligned addresses' low zero bits do not pile keys into few slots.
  uint64_t h = 0;
  auto mix = [&h](uint64_t part) {
    h = (h ^ part) * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
  };
  mix(reinterpret_cast<uintptr_t>(k.action));
  mix(reinterpret_cast<uintptr_t>(k.solution));
  mix(reinterpret_cast<uintptr_t>(k.rule));
  mix(reinterpret_cast<uintptr_t>(k.provider));
  mix(static_cast<uint32_t>(k.retry_after) | uint64_t{static_cast<uint8_t>(k.category)} << 32 |
      uint64_t{static_cast<uint8_t>(k.reason)} << 40 | uint64_t{k.permanent} << 48 | uint64_t{k.hard_bounce} << 49);
  return h;
}

std::string_view VerdictJsonCache::Lead(const Verdict& v) {
  const Key key{v.action.data(),  v.solution(lang_).data(), v.rule.data(), v.provider.data(), v.retry_after,
                v.category,       v.reason,                 v.permanent,   v.hard_bounce};
  Slot& slot = slots_[Hash(key) & (kSlots - 1)];
  if (!slot.filled || !(slot.key == key)) {
    // Written after a first member, so that every member here follows a
    // comma; that first member is then cut off.
    static constexpr std::string_view kFirst = "{\"reply\":0";
    std::string object(kFirst);
    JsonWriter one(&object);
    one.ResumeObject();
    WriteRuleFields(one, v, lang_);
    one.Raw("reference", "");
    slot.lead = object.substr(kFirst.size());
    slot.key = key;
    slot.filled = true;
  }
  return slot.lead;
}

}  // namespace rebound::cli
