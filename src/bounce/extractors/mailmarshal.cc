// Trustwave MailMarshal SMTP: "Could not be delivered because of" the reply,
// then "The following recipients were affected:" and the addresses.
#include "bounce/extract.h"

namespace rebound::bounce {

bool ExtractMailMarshal(const Context& ctx, Extraction* out) {
  size_t because = ctx.Find("Could not be delivered because of");
  if (because == std::string::npos) return false;
  size_t list = ctx.Find("The following recipients were affected:");
  if (list == std::string::npos || list < because) return false;
  std::string why = Squash(std::string_view(ctx.text).substr(because + 33, list - because - 33));
  auto lines = Lines(std::string_view(ctx.text).substr(list));
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
