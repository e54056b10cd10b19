// DragonFly Mail Agent: "There was an error delivering your mail to <rcpt>."
// then the remote server's reply up to "Message headers follow".
#include "bounce/extract.h"

namespace rebound::bounce {

bool ExtractDragonFly(const Context& ctx, Extraction* out) {
  size_t at = ctx.Find("There was an error delivering your mail to");
  if (at == std::string::npos) return false;
  size_t eol = ctx.text.find('\n', at);
  std::string_view first = std::string_view(ctx.text).substr(at, eol == std::string::npos ? std::string::npos : eol - at);
  Candidate c;
  c.recipient = Lower(FirstAddress(first));
  if (c.recipient.empty()) return false;
  std::string_view rest = eol == std::string::npos ? std::string_view() : std::string_view(ctx.text).substr(eol + 1);
  c.diagnostic = Squash(rest);
  out->kind = "dragonfly";
  out->recipients.push_back(std::move(c));
  return true;
}

}  // namespace rebound::bounce
