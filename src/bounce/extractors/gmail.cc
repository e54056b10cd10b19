// Gmail's own (pre-DSN) layout: "Delivery to the following recipient failed
// permanently:" / "... has been delayed", the address indented, then
// "Technical details of permanent failure:" and the remote reply.
#include "bounce/extract.h"

namespace rebound::bounce {

// The current layout: "** Address not found **", "Your message wasn't
// delivered to rcpt because ...", then "The response from the remote server
// was:" and the reply.
static bool ExtractGmailCurrent(const Context& ctx, Extraction* out) {
  size_t at = ctx.FindPhrase(REBOUND_PHRASE("Your message wasn't delivered to"));
  if (at == std::string::npos) at = ctx.FindPhrase(REBOUND_PHRASE("There was a temporary problem delivering your message to"));
  // "** Message not delivered **": a fault on the sending side (the "Send
  // mail as" account's server refused Gmail) names the recipient only in
  // X-Failed-Recipients; the explanation is the paragraph after the marker.
  // "** Message blocked **" ("Your message to rcpt has been blocked.") and
  // "** Message not delivered **" ("There was a problem delivering your
  // message to rcpt.") name the recipient in the paragraph after the
  // marker, when they name it at all.
  std::string failed_header;
  bool from_paragraph = false;
  if (at == std::string::npos) {
    size_t marker = ctx.Find("** Message not delivered **");
    if (marker == std::string::npos) marker = ctx.Find("** Message blocked **");
    // From Gmail's own daemon, any of its "** Heading **" lines ("** Mailbox
    // full **", "** Message rejected **", ...) opens the same layout.
    if (marker == std::string::npos && ctx.from.find("mailer-daemon@google") != std::string::npos) {
      for (size_t h = ctx.Find("** "); h != std::string::npos && marker == std::string::npos; h = ctx.Find("** ", h + 3)) {
        if (h != 0 && ctx.text[h - 1] != '\n') continue;
        size_t eol = ctx.text.find('\n', h);
        std::string_view line = Trim(std::string_view(ctx.text).substr(h, eol == std::string::npos ? std::string::npos : eol - h));
        if (line.size() > 6 && line.size() < 60 && line.ends_with(" **")) marker = h;
      }
    }
    if (marker == std::string::npos) return false;
    at = ctx.text.find('\n', marker);
    if (at == std::string::npos) return false;
    while (at < ctx.text.size() && (ctx.text[at] == '\n' || ctx.text[at] == '\r')) ++at;
    from_paragraph = true;
  }
  // The sentence, however it is wrapped, runs to the end of its paragraph.
  const std::string_view sentence = std::string_view(ctx.text).substr(at, ParagraphEnd(ctx.text, at) - at);
  Candidate c;
  // After a marker, X-Failed-Recipients (when Gmail wrote it) is surer than
  // an address in the prose, which may be the sender's own.
  if (from_paragraph && ctx.headers) failed_header = Unfold(ctx.headers->Raw("X-Failed-Recipients"));
  c.recipient = Lower(FirstAddress(failed_header.empty() ? sentence : std::string_view(failed_header)));
  if (c.recipient.empty()) return false;
  size_t resp = ctx.FindPhrase(REBOUND_PHRASE("The response from the remote server was:"));
  if (resp == std::string::npos) resp = ctx.FindPhrase(REBOUND_PHRASE("The response was:"));
  if (resp != std::string::npos) {
    size_t start = ctx.text.find(':', resp) + 1;
    c.diagnostic = SquashPrefix(std::string_view(ctx.text).substr(start), 1000);
    if (from_paragraph) c.diagnostic = Squash(sentence) + " " + c.diagnostic;
  } else {
    c.diagnostic = Squash(sentence);
  }
  if (IFind(sentence, "temporary problem") != std::string::npos) c.action = "delayed";
  out->kind = "gmail";
  out->recipients.push_back(std::move(c));
  return true;
}

bool ExtractGmail(const Context& ctx, Extraction* out) {
  size_t end = 0;
  size_t at = ctx.FindPhrase(REBOUND_PHRASE("Delivery to the following recipient"), 0, &end);
  if (at == std::string::npos) return ExtractGmailCurrent(ctx, out);
  // The sentence ends at its colon ("... failed permanently:"), wherever
  // it was wrapped; the addresses follow on the lines after it.
  size_t colon = ctx.text.find(':', end);
  size_t blank = ctx.text.find("\n\n", end);
  if (colon == std::string::npos || (blank != std::string::npos && blank < colon)) colon = end;
  const std::string_view sentence = std::string_view(ctx.text).substr(at, colon - at);
  auto lines = Lines(std::string_view(ctx.text).substr(LineStartAt(ctx.text, colon)));
  size_t tech = FindLine(lines, "Technical details of");
  std::vector<Candidate> found;
  AddressBlocks(lines, 1, tech == std::string::npos ? lines.size() : tech, &found);
  if (found.empty()) return false;
  // The details follow the heading's colon, on the next line or (wrapped)
  // on the same one.
  std::string details;
  if (tech != std::string::npos) {
    std::string_view from_heading = std::string_view(ctx.text).substr(lines[tech].data() - ctx.text.data());
    size_t colon = from_heading.find(':');
    details = colon == std::string_view::npos ? JoinLines(lines, tech + 1, lines.size())
                                              : JoinLines(Lines(from_heading.substr(colon + 1)), 0, std::string::npos);
  }
  bool delayed = IFind(sentence, "delayed") != std::string::npos || IFind(sentence, "temporar") != std::string::npos;
  for (auto& c : found) {
    c.diagnostic = details.empty() ? c.diagnostic : details;
    if (delayed) c.action = "delayed";
    out->recipients.push_back(std::move(c));
  }
  out->kind = "gmail";
  return true;
}

}  // namespace rebound::bounce
