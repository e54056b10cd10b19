#include "cli/verdict_json.h"

namespace rebound::cli {

void WriteVerdictFields(JsonWriter& w, const Verdict& v, Lang lang) {
  w.Name("category", CategoryName(v.category))
      .Name("reason", ReasonName(v.reason))
      .Bool("permanent", v.permanent)
      .Bool("hard_bounce", v.hard_bounce)
      .String("action", v.action);
  if (v.permanent) w.Null("retry_after");
  else w.Int("retry_after", v.retry_after);
  w.String("solution", v.solution(lang))
      .StringOrNull("rule", v.rule)
      .StringOrNull("provider", v.provider)
      .StringOrNull("reference", v.reference);
}

}  // namespace rebound::cli
