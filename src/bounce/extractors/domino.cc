// IBM/HCL Domino and Lotus Notes: "was not delivered to:" the address,
// then "because:" and the reason; a German or French Domino writes the
// same frame in its language ("wurde nicht zugestellt an:" ... "weil:",
// "n'a pas été remis à :" ... "parce que :").
#include "bounce/extract.h"

namespace rebound::bounce {

bool ExtractDomino(const Context& ctx, Extraction* out) {
  size_t end = 0;
  std::string_view because_word = "because:";
  size_t at = ctx.FindPhrase(REBOUND_PHRASE("was not delivered to:"), 0, &end);
  if (at == std::string::npos && (at = ctx.FindPhrase(REBOUND_PHRASE("wurde nicht zugestellt an:"), 0, &end)) != std::string::npos)
    because_word = "weil:";
  if (at == std::string::npos &&
      (at = ctx.FindPhrase(REBOUND_PHRASE("n'a pas \xC3\xA9t\xC3\xA9 remis \xC3\xA0 :"), 0, &end)) != std::string::npos)
    because_word = "parce que :";
  if (at == std::string::npos) return false;
  // lines[0]: the line where the (maybe wrapped) phrase ends.
  auto lines = Lines(std::string_view(ctx.text).substr(LineStartAt(ctx.text, end)));
  size_t because = FindLine(lines, because_word);
  std::vector<Candidate> found;
  // The Notes "Delivery Failure Report" table puts the address on the
  // phrase's own line ("was not delivered to:<TAB>rcpt@example.net").
  const std::string_view same_line = std::string_view(ctx.text).substr(end, lines[0].data() + lines[0].size() - (ctx.text.data() + end));
  if (std::string a = Lower(FirstAddress(same_line)); !a.empty()) {
    Candidate c;
    c.recipient = a;
    found.push_back(std::move(c));
  }
  AddressBlocks(lines, 1, because == std::string::npos ? lines.size() : because, &found);
  if (found.empty()) {
    // "User Name (rcpt@example.com)" rather than a bare address.
    for (size_t i = 1; i < (because == std::string::npos ? lines.size() : because); ++i) {
      std::string a = Lower(FirstAddress(lines[i]));
      if (a.empty()) continue;
      Candidate c;
      c.recipient = a;
      found.push_back(std::move(c));
    }
  }
  if (found.empty()) return false;
  std::string why = because == std::string::npos ? "" : JoinLines(lines, because + 1, std::min(lines.size(), because + 8));
  if (because != std::string::npos) {
    // The table form: "because:<TAB>reason" up to the "What should you do?" row.
    std::string_view row = lines[because];
    std::string_view reason = Trim(row.substr(IFind(row, because_word) + because_word.size()));
    if (!reason.empty()) {
      size_t j = because + 1;
      while (j < lines.size() && !Trim(lines[j]).empty() && IFind(lines[j], "What should you do") == std::string_view::npos) ++j;
      why = Squash(std::string(reason) + " " + JoinLines(lines, because + 1, j));
    }
  }
  for (auto& c : found) {
    if (c.diagnostic.empty()) c.diagnostic = why;
    out->recipients.push_back(std::move(c));
  }
  out->kind = ctx.Find("Domino") != std::string::npos ? "domino" : "notes";
  return true;
}

}  // namespace rebound::bounce
