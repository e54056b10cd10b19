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
  // Inside Gmail's "** Address not found **" wrapper ("Your message wasn't
  // delivered to group because the address couldn't be found"), the group's
  // own explanation after "Google Groups:" is the one that says why: it may
  // not exist, or the sender may not post.
  size_t own = ctx.Find("Google Groups:");
  c.diagnostic = SquashPrefix(own == std::string::npos ? std::string_view(ctx.text) : std::string_view(ctx.text).substr(own), 2000);
  c.reason_hint = Reason::rejected;
  out->kind = "googlegroups";
  out->recipients.push_back(std::move(c));
  return true;
}

}  // namespace rebound::bounce
