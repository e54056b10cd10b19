// Writing Verdicts as JSON without a DOM: the CLI's hot path for classify,
// parse and scan. Every JSON object Rebound prints with Verdict fields puts
// them through AppendVerdictFields, so the field set is defined once.
#pragma once

#include <string>
#include <string_view>

#include "rebound/verdict.h"

namespace rebound::cli {

// Appends s as a JSON string literal (quotes included).
void AppendJsonString(std::string* out, std::string_view s);
// Appends ,"category":...,"reason":...,...,"reference":... (a leading comma,
// no braces), so it can extend any object.
void AppendVerdictFields(std::string* out, const Verdict& v, Lang lang);
// The names AppendVerdictFields writes, for callers that must remove them
// from an object first.
inline constexpr std::string_view kVerdictFieldNames[] = {
    "category", "reason", "permanent", "hard_bounce", "action", "retry_after",
    "solution", "rule", "provider", "reference"};

}  // namespace rebound::cli
