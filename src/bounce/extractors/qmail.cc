// qmail and the MTAs that copied its bounce layout (Yahoo, several
// Japanese and hosted systems): "<rcpt>:" then the reply, one block each.
#include "bounce/extract.h"

namespace rebound::bounce {

bool ExtractQmail(const Context& ctx, Extraction* out) {
  // The first of these openers. Those holding "deliver your message" are
  // sought only when it is there at all (most texts lack it).
  static const Phrase kDeliverOpeners[] = {
      Phrase("I'm afraid I wasn't able to deliver your message"),
      Phrase("Sorry, we were unable to deliver your message"),
      Phrase("unable to deliver your message to the following address"),
  };
  static const Phrase kOtherOpeners[] = {
      Phrase("Sorry, I wasn't able to establish an SMTP connection"),
      Phrase("This is the qmail-send program"),
      Phrase("This is the machine generated message from mail service"),
      Phrase("I'm sorry to have to inform you that your message could not"),
  };
  size_t start = std::string::npos;
  for (const Phrase& o : kOtherOpeners) start = std::min(start, ctx.FindPhrase(o));
  if (ctx.FindPhrase(REBOUND_PHRASE("deliver your message")) != std::string::npos)
    for (const Phrase& o : kDeliverOpeners) start = std::min(start, ctx.FindPhrase(o));
  if (start == std::string::npos) return false;
  auto lines = Lines(std::string_view(ctx.text).substr(start));
  AddressBlocks(lines, 0, lines.size(), &out->recipients);
  if (out->recipients.empty()) return false;
  if (ctx.Find("qmail") != std::string::npos) out->kind = "qmail";
  else if (ctx.from.find("yahoo") != std::string::npos || ctx.FindPhrase(REBOUND_PHRASE("Remote host said:")) != std::string::npos)
    out->kind = "yahoo";
  else out->kind = "qmail";
  for (auto& c : out->recipients) {
    // qmail wraps the remote reply in its own narrative ("Giving up on
    // 192.0.2.1.", "I'm not going to try again; this message has been in
    // the queue too long."): the reply alone says why.
    std::string& d = c.diagnostic;
    if (c.command == SmtpCommand::kUnknown) c.command = StepNamedInNarrative(d);
    bool too_long = IFind(d, "in the queue too long") != std::string::npos;
    size_t said = IFind(d, "Remote host said:");
    if (said != std::string::npos) {
      std::string reply = d.substr(said + 17);
      for (const char* tail : {"Giving up on", "I'm not going to try again"}) {
        size_t t = IFind(reply, tail);
        if (t != std::string::npos) reply.resize(t);
      }
      d = std::string(Trim(reply));
    } else if (too_long) {
      c.reason_hint = Reason::expired;
    }
  }
  return true;
}

}  // namespace rebound::bounce
