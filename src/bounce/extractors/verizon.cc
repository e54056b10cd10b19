// Verizon (vtext.com) and similar gateways: "Error: ..." then "Error message
// below:" with the reply, and the envelope in "Message details:" as
// "RCPT TO: rcpt".
#include "bounce/extract.h"

namespace rebound::bounce {

bool ExtractVerizon(const Context& ctx, Extraction* out) {
  size_t below_end = 0;
  size_t below = ctx.FindPhrase(REBOUND_PHRASE("Error message below:"), 0, &below_end);
  if (below == std::string::npos) return false;
  size_t details = ctx.FindPhrase(REBOUND_PHRASE("Message details:"));
  if (details == std::string::npos || details < below_end) return false;
  auto lines = Lines(std::string_view(ctx.text).substr(details));
  size_t rcpt = FindLine(lines, "RCPT TO:");
  if (rcpt == std::string::npos) return false;
  Candidate c;
  c.recipient = Lower(FirstAddress(lines[rcpt]));
  if (c.recipient.empty()) return false;
  c.diagnostic = Squash(std::string_view(ctx.text).substr(below_end, details - below_end));
  out->kind = "verizon";
  out->recipients.push_back(std::move(c));
  return true;
}

}  // namespace rebound::bounce
