// fml, the mailing-list server (X-MLServer: fml ...): it returns a post it
// refuses to the poster with one line saying why, e.g. "Duplicated
// Message-ID in <list@example.jp>." (its loop check) or "you are not a
// member", then "Original mail as follows:".
#include "bounce/extract.h"

namespace rebound::bounce {

bool ExtractFml(const Context& ctx, Extraction* out) {
  if (!ctx.headers || IFind(ctx.headers->Raw("X-MLServer"), "fml") == std::string_view::npos) return false;
  std::string_view text = ctx.text;
  if (size_t original = ctx.FindPhrase(REBOUND_PHRASE("Original mail as follows:")); original != std::string::npos)
    text = text.substr(0, original);
  auto lines = Lines(text);
  size_t first = 0;
  while (first < lines.size() && Trim(lines[first]).empty()) ++first;
  if (first == lines.size()) return false;
  size_t end = first;
  while (end < lines.size() && !Trim(lines[end]).empty()) ++end;
  Candidate c;
  c.diagnostic = JoinLines(lines, first, end);
  // The list's address is the recipient the post did not reach.
  c.recipient = Lower(FirstAddress(c.diagnostic));
  if (c.recipient.empty()) c.recipient = Lower(FirstAddress(ctx.from));
  if (c.recipient.empty()) return false;
  // The loop check is the list server's own refusal, not a network fault.
  if (IFind(c.diagnostic, "Duplicated Message-ID") != std::string::npos) c.reason_hint = Reason::systemerror;
  // A post from someone outside the list, refused by the list's own policy
  // ("you are not a member", "only members can post"): the list rejected
  // the sender, whatever words the notice uses around it.
  else if (ctx.FindPhrase(REBOUND_PHRASE("not a member")) != std::string::npos ||
           ctx.FindPhrase(REBOUND_PHRASE("only members can post")) != std::string::npos ||
           IFind(ctx.subject, "not a member") != std::string::npos)
    c.reason_hint = Reason::rejected;
  out->kind = "fml";
  out->recipients.push_back(std::move(c));
  return true;
}

}  // namespace rebound::bounce
