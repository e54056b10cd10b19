// Microsoft Exchange 2003 style: "did not reach the following recipient(s):"
// then "rcpt on DATE" and the indented reason, with an MSEXCH code.
#include "bounce/extract.h"

namespace rebound::bounce {

bool ExtractExchange2003(const Context& ctx, Extraction* out) {
  size_t end = 0;
  if (ctx.FindPhrase(REBOUND_PHRASE("did not reach the following recipient"), 0, &end) == std::string::npos) return false;
  auto lines = Lines(std::string_view(ctx.text).substr(LineStartAt(ctx.text, end)));
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view t = Trim(lines[i]);
    size_t on = t.find(" on ");
    if (t.empty() || lines[i].starts_with(" ")) continue;
    size_t j = i + 1;
    while (j < lines.size() && !Trim(lines[j]).empty() && lines[j].starts_with(" ")) ++j;
    Candidate c;
    if (t.find('@') != std::string_view::npos) {
      c.recipient = Lower(FirstAddress(on == std::string_view::npos ? t : t.substr(0, on)));
      if (c.recipient.empty()) continue;
    } else if (on == std::string_view::npos || j == i + 1 || JoinLines(lines, i + 1, j).find(" #") == std::string::npos) {
      continue;
    }
    // (No address: a recipient of the sender's own organisation shown by
    // display name, "Kijitora Cat on <date>", with its "<host #5.7.1>"
    // reason. It stays unnamed: the DSN part's recipient in the same place,
    // or the returned message's To, names it.)
    c.diagnostic = JoinLines(lines, i + 1, j);
    if (on != std::string_view::npos) c.timestamp = std::string(t.substr(on + 4));
    out->recipients.push_back(std::move(c));
    i = j - 1;
  }
  // Addresses without a reason (one named in a sentence, wrapped onto a line
  // of its own) say no more than the whole text does: the later readers
  // take it.
  bool any_reason = false;
  for (const auto& c : out->recipients) any_reason = any_reason || !c.diagnostic.empty();
  if (!any_reason) {
    out->recipients.clear();
    return false;
  }
  out->kind = "exchange2003";
  return true;
}

}  // namespace rebound::bounce
