// KDDI / au one net: "Could not be delivered to: <rcpt>" followed by the
// reason in English ("As their mailbox is full.").
#include "bounce/extract.h"

namespace rebound::bounce {

bool ExtractKddi(const Context& ctx, Extraction* out) {
  size_t end = 0;
  if (ctx.FindPhrase(REBOUND_PHRASE("Could not be delivered to:"), 0, &end) == std::string::npos) return false;
  // lines[0]: the rest of the line where the (maybe wrapped) phrase ends.
  auto lines = Lines(std::string_view(ctx.text).substr(end));
  Candidate c;
  c.recipient = Lower(FirstAddress(lines[0]));
  if (c.recipient.empty()) return false;
  c.diagnostic = JoinLines(lines, 1, std::min<size_t>(lines.size(), 4));
  if (IFind(c.diagnostic, "mailbox is full") != std::string::npos) c.reason_hint = Reason::mailboxfull;
  out->kind = "kddi";
  out->recipients.push_back(std::move(c));
  return true;
}

}  // namespace rebound::bounce
