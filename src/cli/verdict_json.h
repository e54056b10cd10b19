// Verdicts as JSON: every JSON object Rebound prints with Verdict fields
// (classify, parse, scan --events) writes them through WriteVerdictFields
// and the one JsonWriter, so the field set and its encoding are defined once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <memory>

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

// The members WriteVerdictFields writes, for the verdicts of one Classifier,
// faster: all but the value of "reference" are the same for every verdict of
// one rule (their texts live in the Classifier, so their addresses tell them
// apart), and are escaped once and then copied. "reference" may quote the
// reply and is the caller's to write. The Classifier must outlive the cache.
class VerdictJsonCache {
 public:
  explicit VerdictJsonCache(Lang lang) : lang_(lang) {}
  // `,"category":...,"reference":` for v: every member after a first one,
  // up to the value of "reference".
  std::string_view Lead(const Verdict& v);

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
  struct Slot {
    Key key{};
    bool filled = false;
    std::string lead;
  };
  static uint64_t Hash(const Key& k);
  Lang lang_;
  // Open addressing, at most half full: a lookup is mostly one compare.
  // Cleared when full: a stated retry delay is any number, so the keys are
  // not bounded.
  static constexpr size_t kSlots = 1024, kMaxFilled = kSlots / 2;
  std::unique_ptr<Slot[]> slots_ = std::make_unique<Slot[]>(kSlots);
  size_t filled_ = 0;
};

}  // namespace rebound::cli
