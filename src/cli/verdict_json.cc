#include "cli/verdict_json.h"

#include <array>

namespace rebound::cli {

namespace {
// Bytes that JSON strings must escape: controls, quote, backslash.
constexpr std::array<bool, 256> kNeedsEscape = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = true;
  t['"'] = t['\\'] = true;
  return t;
}();
}  // namespace

void AppendJsonString(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t run = 0;  // start of the current run of bytes needing no escape
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (!kNeedsEscape[c]) continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

namespace {
void AppendNullable(std::string* out, std::string_view s) {
  if (s.empty()) out->append("null");
  else AppendJsonString(out, s);
}
}  // namespace

void AppendVerdictFields(std::string* out, const Verdict& v, Lang lang) {
  out->append(",\"category\":\"").append(CategoryName(v.category));
  out->append("\",\"reason\":\"").append(ReasonName(v.reason));
  out->append("\",\"permanent\":").append(v.permanent ? "true" : "false");
  out->append(",\"hard_bounce\":").append(v.hard_bounce ? "true" : "false");
  out->append(",\"action\":");
  AppendJsonString(out, v.action);
  out->append(",\"retry_after\":");
  if (v.permanent) out->append("null");
  else out->append(std::to_string(v.retry_after));
  out->append(",\"solution\":");
  AppendJsonString(out, v.solution(lang));
  out->append(",\"rule\":");
  AppendNullable(out, v.rule);
  out->append(",\"provider\":");
  AppendNullable(out, v.provider);
  out->append(",\"reference\":");
  AppendNullable(out, v.reference);
}

}  // namespace rebound::cli
