// Verdicts as JSON: every JSON object Rebound prints with Verdict fields
// (classify, parse, scan --events) writes them through WriteVerdictFields
// and the one JsonWriter, so the field set and its encoding are defined once.
#pragma once

#include <string_view>

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

}  // namespace rebound::cli
