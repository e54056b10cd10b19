// The last resort for bounces no specific extractor knows: a failure
// sentence, then address lines with their text, or a single address named
// in the text with the whole text as diagnostic.
#include "bounce/extract.h"
#include "bounce/prose.h"

namespace rebound::bounce {

namespace {
bool LooksLikeBounce(const Context& ctx) {
  static const char* kSubjects[] = {"undeliver", "returned mail", "delivery fail", "delivery status notification",
                                    "failure notice", "mail delivery", "non remis", "nondeliverable", "not delivered",
                                    "delivery problem", "could not be delivered", "unzustellbar", "error",
                                    "エラー", "不達", "退信", "rejected", "bounce", "failed"};
  std::string subject = Lower(ctx.subject);
  for (const char* s : kSubjects)
    if (subject.find(s) != std::string::npos) return true;
  return ctx.from.find("mailer-daemon") != std::string::npos || ctx.from.find("postmaster") != std::string::npos;
}
}  // namespace

bool ExtractGeneric(const Context& ctx, Extraction* out) {
  if (!LooksLikeBounce(ctx)) return false;
  // Only the bounce's own words: a returned message that no known marker
  // announced (its headers, an "original message" heading) is not read for
  // recipients or diagnostics, as its body may say anything.
  std::string_view text = std::string_view(ctx.text).substr(0, ProseEndOf(ctx));
  auto lines = Lines(text);
  AddressBlocks(lines, 0, lines.size(), &out->recipients);
  std::string own = Lower(FirstAddress(ctx.to));
  std::erase_if(out->recipients, [&](const Candidate& c) { return c.recipient == own; });
  if (out->recipients.empty()) {
    // An address mentioned in a sentence: "Could not be delivered to: <rcpt>".
    for (auto line : lines) {
      std::string a = Lower(FirstAddress(line));
      if (a.empty() || a == own || a.find("mailer-daemon") != std::string::npos || a.find("postmaster") != std::string::npos)
        continue;
      Candidate c;
      c.recipient = a;
      out->recipients.push_back(std::move(c));
      break;
    }
  }
  if (out->recipients.empty()) {
    // No address in the bounce text: the returned message's To.
    std::string_view orig = ctx.inline_original;
    if (text.size() < ctx.text.size()) orig = std::string_view(ctx.text).substr(text.size() - (text.empty() ? 0 : 1));
    size_t to = IFind(orig, "\nTo:");
    if (to != std::string_view::npos) {
      size_t eol = orig.find('\n', to + 4);
      std::string a = Lower(FirstAddress(orig.substr(to + 4, eol == std::string_view::npos ? std::string_view::npos : eol - to - 4)));
      if (!a.empty()) {
        Candidate c;
        c.recipient = a;
        out->recipients.push_back(std::move(c));
      }
    }
  }
  if (out->recipients.empty()) return false;
  std::string whole = SquashPrefix(text, 4000);
  for (auto& c : out->recipients) {
    if (!c.diagnostic.empty()) continue;
    c.diagnostic = whole;
    c.whole_text = true;
  }
  out->kind = "generic";
  return true;
}

}  // namespace rebound::bounce
