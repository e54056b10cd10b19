// Verdicts as JSON: every JSON object Rebound prints with Verdict fields
// (classify, parse, scan --events) writes them through WriteVerdictFields
// and the one JsonWriter, so the field set and its encoding are defined once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cli/json_writer.h"
#include "rebound/verdict.h"

namespace rebound::cli {

// Writes "category", "reason", "permanent", "hard_bounce", "action",
// "retry_after", "solution", "rule", "provider", "reference" as members of
// the object w is in.
void WriteVerdictFields(JsonWriter& w, const Verdict& v, Lang lang);
// The names WriteVerdictFields writes, for callers that must remove them
// from an object first.
inline constexpr std::string_view kVerdictFieldNames[] = {
    "category", "reason", "permanent", "hard_bounce", "action", "retry_after",
    "solution", "rule", "provider", "reference"};

// WriteVerdictFields for the verdicts of one Classifier, faster: all but
// "reference" are the same for every verdict of one rule (their texts live
// in the Classifier, so their addresses tell them apart), and are escaped
// once and then copied. "reference" may quote the reply and is written each
// time. The Classifier must outlive the cache.
class VerdictJsonCache {
 public:
  explicit VerdictJsonCache(Lang lang) : lang_(lang) {}
  void Write(JsonWriter& w, const Verdict& v);

 private:
  struct Key {
    const char* action;
    const char* solution;
    const char* rule;
    const char* provider;
    int retry_after;
    Category category;
    Reason reason;
    bool permanent, hard_bounce;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  Lang lang_;
  // The JSON after "category": up to the provider's value. Bounded: a
  // stated retry delay is any number, so the keys are not.
  std::unordered_map<Key, std::string, KeyHash> fragments_;
};

}  // namespace rebound::cli
