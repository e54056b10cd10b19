// A DSN-like text some appliances send: "Delivery to the following
// recipients failed/was aborted after N hour(s):" with "* rcpt" bullets, then
// "Technical details:" and the reply, between lines of '='.
#include "bounce/extract.h"

namespace rebound::bounce {

bool ExtractX3(const Context& ctx, Extraction* out) {
  size_t head = ctx.FindPhrase(REBOUND_PHRASE("This is an automatically generated Delivery Status Notification"));
  if (head == std::string::npos) return false;
  size_t tech_end = 0;
  size_t tech = ctx.FindPhrase(REBOUND_PHRASE("Technical details:"), 0, &tech_end);
  if (tech == std::string::npos || tech < head) return false;
  auto lines = Lines(std::string_view(ctx.text).substr(head, tech - head));
  std::string addr;
  for (size_t i = 1; i < lines.size(); ++i)
    if (IsAddressLine(lines[i], &addr)) {
      Candidate c;
      c.recipient = addr;
      out->recipients.push_back(std::move(c));
    }
  if (out->recipients.empty()) return false;
  // The reply: the text after "Technical details:" up to the next ==== line.
  std::string_view rest = std::string_view(ctx.text).substr(tech_end);
  size_t bar = rest.find("====");
  std::string details = Squash(rest.substr(0, bar));
  bool aborted = ctx.FindPhrase(REBOUND_PHRASE("was aborted after")) != std::string::npos;
  for (auto& c : out->recipients) {
    c.diagnostic = details;
    if (aborted) c.reason_hint = Reason::expired;
  }
  out->kind = "x3";
  return true;
}

}  // namespace rebound::bounce
