// The standard formats: RFC 3464/6522 delivery-status fields, RFC 5965
// feedback reports, RFC 3834 auto-replies, and the original message's
// headers. Each reader fills an Extraction (recipients without verdicts;
// finalize.h turns them into records).
#pragma once

#include <string_view>
#include <vector>

#include "bounce/extract.h"
#include "bounce/mime.h"
#include "rebound/bounce.h"

namespace rebound::bounce {

// Reads the per-message and per-recipient fields of a delivery-status body
// (already decoded). Returns true when at least one recipient was found.
// ex->kind is set to the reporting MTA kind guessed from the bounce.
bool ReadDeliveryStatus(std::string_view fields, const Context& ctx, Extraction* ex);

// The Status (and Remote-MTA) of a delivery-status body that has exactly
// one per-recipient block, whatever its recipient field holds (an address
// the reader cannot use, "@host", an empty value). False when the body has
// no such block or more than one, or the block states no status.
bool LoneBlockFields(std::string_view fields, std::string* status, std::string* remote_mta);

// Copies diagnostics found in the text part onto DSN recipients that lack
// one, matching by address (or by position when the counts agree).
void MergeTextDiagnostics(const Extraction& text, Extraction* dsn);

// An ARF report: one recipient for the complained-about address.
bool ReadFeedbackReport(const Part& report, const Context& ctx, CharsetConverter* cc, Extraction* ex);

// An RFC 3834 auto-reply or a recognisable vacation message.
bool ReadAutoReply(const Context& ctx, Extraction* ex);

// Headers of the returned message: from the attached part when there is
// one (read through ctx.original_headers, which the parser set from it),
// else from the inline copy after the marker.
void ReadOriginal(const Part* part, const Context& ctx, CharsetConverter* cc, OriginalMessage* out);

// "user@example.com" from a VERP local part "prefix+user=example.com@..."
// or "prefix-user=example.com@..."; "" when address is not VERP.
std::string DecodeVerp(std::string_view address);

// The reporting MTA kind guessed from the bounce's own headers and text,
// "" when nothing tells.
std::string GuessKind(const Context& ctx);

}  // namespace rebound::bounce
