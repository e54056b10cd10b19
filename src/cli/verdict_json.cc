#include "cli/verdict_json.h"

#include <functional>

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

size_t VerdictJsonCache::KeyHash::operator()(const Key& k) const {
  std::hash<const void*> h;
  size_t x = h(k.action) ^ (h(k.solution) * 31) ^ (h(k.rule) * 131) ^ (h(k.provider) * 1031);
  return x ^ (static_cast<size_t>(k.retry_after) << 16) ^ (static_cast<size_t>(k.category) << 8) ^
         static_cast<size_t>(k.reason) ^ (size_t{k.permanent} << 60) ^ (size_t{k.hard_bounce} << 61);
}

void VerdictJsonCache::Write(JsonWriter& w, const Verdict& v) {
  const Key key{v.action.data(),  v.solution(lang_).data(), v.rule.data(), v.provider.data(), v.retry_after,
                v.category,       v.reason,                 v.permanent,   v.hard_bounce};
  auto it = fragments_.find(key);
  if (it == fragments_.end()) {
    if (fragments_.size() >= 4096) fragments_.clear();
    std::string object;
    JsonWriter one(&object);
    one.BeginObject();
    WriteRuleFields(one, v, lang_);
    static constexpr std::string_view kLead = "{\"category\":";
    it = fragments_.emplace(key, object.substr(kLead.size())).first;
  }
  w.Raw("category", it->second).StringOrNull("reference", v.reference);
}

}  // namespace rebound::cli
