// Google Groups: the group refused the post (it does not exist, or the
// sender may not post). Localised texts; the constant is the sender
// (mailer-daemon@googlemail.com) and the groups.google.com help link.
#include "bounce/extract.h"

namespace rebound::bounce {

bool ExtractGoogleGroups(const Context& ctx, Extraction* out) {
  if (ctx.from.find("googlemail.com") == std::string::npos && ctx.from.find("google.com") == std::string::npos)
    return false;
  if (ctx.Find("groups.google.com") == std::string::npos && ctx.FindPhrase(REBOUND_PHRASE("Google Groups")) == std::string::npos)
    return false;
  Candidate c;
  // The group address is the returned message's To.
  c.recipient = Lower(FirstAddress(OriginalTo(ctx)));
  if (c.recipient.empty()) return false;
  c.diagnostic = SquashPrefix(ctx.text, 2000);
  c.reason_hint = Reason::rejected;
  out->kind = "googlegroups";
  out->recipients.push_back(std::move(c));
  return true;
}

}  // namespace rebound::bounce
