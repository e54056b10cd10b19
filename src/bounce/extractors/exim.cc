// Exim (and mail.ru, GMX, and others running it): "The following
// address(es) failed:" then each address indented with its error below.
#include <cctype>

#include "bounce/extract.h"

namespace rebound::bounce {

bool ExtractExim(const Context& ctx, Extraction* out) {
  static const Phrase kOpeners[] = {
      Phrase("The following address(es) failed:"),
      Phrase("This message was created automatically by mail delivery software."),
      Phrase("Message delivery has failed"),
      Phrase("could not be delivered to one or more of its"),
      Phrase("has not yet been delivered to the following"),
  };
  size_t start = std::string::npos;
  for (const Phrase& o : kOpeners) start = std::min(start, ctx.FindPhrase(o));
  if (start == std::string::npos) return false;
  // The list proper starts after "address(es) failed:"; before it Exim may
  // name the sender ("A message sent by\n  <sender>").
  size_t list = ctx.Find("failed:", start);
  if (list != std::string::npos) start = list;
  auto lines = Lines(std::string_view(ctx.text).substr(start));
  // MXLogic's variant puts the reply on the address line:
  // "  <rcpt@example.com>: 550 unknown user".
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view t = Trim(lines[i]);
    size_t close = t.find(">: ");
    if (t.empty() || t[0] != '<' || close == std::string_view::npos) continue;
    std::string_view reply = Trim(t.substr(close + 3));
    if (reply.size() < 4 || (reply[0] != '4' && reply[0] != '5') || !std::isdigit(static_cast<unsigned char>(reply[1])))
      continue;
    Candidate c;
    c.recipient = Lower(FirstAddress(t.substr(0, close + 1)));
    c.diagnostic = std::string(reply);
    if (!c.recipient.empty()) out->recipients.push_back(std::move(c));
  }
  AddressBlocks(lines, 1, lines.size(), &out->recipients);
  if (out->recipients.empty()) {
    // Zoho's variant: "rcpt@example.com Invalid Address, ERROR_CODE :550, ..."
    // with the address and its error on one line.
    for (size_t i = 1; i < lines.size(); ++i) {
      std::string_view t = Trim(lines[i]);
      size_t sp = t.find(' ');
      if (sp == std::string_view::npos || t.substr(0, sp).find('@') == std::string_view::npos) continue;
      Candidate c;
      c.recipient = Lower(FirstAddress(t.substr(0, sp)));
      if (c.recipient.empty()) continue;
      c.diagnostic = std::string(Trim(t.substr(sp)));
      out->recipients.push_back(std::move(c));
    }
  }
  if (out->recipients.empty()) return false;
  out->kind = "exim";
  bool delayed = ctx.FindPhrase(REBOUND_PHRASE("has not yet been delivered")) != std::string::npos ||
                 IStartsWith(ctx.subject, "Warning: message");
  for (auto& c : out->recipients) {
    if (delayed) c.action = "delayed";
    if (IFind(c.diagnostic, "retry timeout exceeded") != std::string::npos ||
        IFind(c.diagnostic, "retry time not reached for any host after a long failure period") != std::string::npos)
      c.reason_hint = Reason::expired;
    if (c.diagnostic.empty()) {
      // The error is in the paragraph after the list.
      size_t after = ctx.FindPhrase(REBOUND_PHRASE("The error that the other server returned was:"));
      if (after != std::string::npos) c.diagnostic = SquashPrefix(std::string_view(ctx.text).substr(after), 1000);
    }
  }
  return true;
}

}  // namespace rebound::bounce
