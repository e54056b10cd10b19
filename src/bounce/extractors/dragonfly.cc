// DragonFly Mail Agent: "There was an error delivering your mail to <rcpt>."
// then the remote server's reply up to "Message headers follow".
#include "bounce/extract.h"

namespace rebound::bounce {

bool ExtractDragonFly(const Context& ctx, Extraction* out) {
  size_t end = 0;
  size_t at = ctx.FindPhrase(REBOUND_PHRASE("There was an error delivering your mail to"), 0, &end);
  if (at == std::string::npos) return false;
  // The address follows the phrase, on its line or (wrapped) the next one.
  size_t word = end;
  while (word < ctx.text.size() && (ctx.text[word] == ' ' || ctx.text[word] == '\t')) ++word;
  if (word < ctx.text.size() && ctx.text[word] == '\n') ++word;
  size_t eol = ctx.text.find('\n', word);
  std::string_view first = std::string_view(ctx.text).substr(end, eol == std::string::npos ? std::string::npos : eol - end);
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
