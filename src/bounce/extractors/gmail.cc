// Gmail's own (pre-DSN) layout: "Delivery to the following recipient failed
// permanently:" / "... has been delayed", the address indented, then
// "Technical details of permanent failure:" and the remote reply.
#include "bounce/extract.h"

namespace rebound::bounce {

bool ExtractGmail(const Context& ctx, Extraction* out) {
  size_t at = IFind(ctx.text, "Delivery to the following recipient");
  if (at == std::string::npos) return false;
  auto lines = Lines(std::string_view(ctx.text).substr(at));
  size_t tech = FindLine(lines, "Technical details of");
  std::vector<Candidate> found;
  AddressBlocks(lines, 1, tech == std::string::npos ? lines.size() : tech, &found);
  if (found.empty()) return false;
  std::string details = tech == std::string::npos ? "" : JoinLines(lines, tech + 1, lines.size());
  bool delayed = IFind(lines[0], "delayed") != std::string::npos || IFind(lines[0], "temporar") != std::string::npos;
  for (auto& c : found) {
    c.diagnostic = details.empty() ? c.diagnostic : details;
    if (delayed) c.action = "delayed";
    out->recipients.push_back(std::move(c));
  }
  out->kind = "gmail";
  return true;
}

}  // namespace rebound::bounce
