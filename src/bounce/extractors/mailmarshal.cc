// Trustwave MailMarshal SMTP: "Could not be delivered because of" the reply,
// then "The following recipients were affected:" and the addresses.
#include "bounce/extract.h"

namespace rebound::bounce {

bool ExtractMailMarshal(const Context& ctx, Extraction* out) {
  size_t because_end = 0, list_end = 0;
  size_t because = ctx.FindPhrase(REBOUND_PHRASE("Could not be delivered because of"), 0, &because_end);
  if (because == std::string::npos) return false;
  size_t list = ctx.FindPhrase(REBOUND_PHRASE("The following recipients were affected:"), 0, &list_end);
  if (list == std::string::npos || list < because_end) return false;
  std::string why = Squash(std::string_view(ctx.text).substr(because_end, list - because_end));
  auto lines = Lines(std::string_view(ctx.text).substr(LineStartAt(ctx.text, list_end)));
  std::string addr;
  for (size_t i = 1; i < lines.size(); ++i) {
    if (Trim(lines[i]).empty()) {
      if (!out->recipients.empty()) break;
      continue;
    }
    if (!IsAddressLine(lines[i], &addr)) break;
    Candidate c;
    c.recipient = addr;
    c.diagnostic = why;
    out->recipients.push_back(std::move(c));
  }
  if (out->recipients.empty()) return false;
  out->kind = "mailmarshal";
  return true;
}

}  // namespace rebound::bounce
