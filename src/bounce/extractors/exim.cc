// Exim (and mail.ru, GMX, and others running it): "The following
// address(es) failed:" then each address indented with its error below.
#include <cctype>

#include "bounce/extract.h"

namespace rebound::bounce {

namespace {

// Older Exim, and any Exim whose error came from a pipe or file transport,
// lists only the addresses; their errors follow the list:
//   The following text was generated during the delivery attempt:
//   ------ rcpt@example.com ------
//   <the error>
// A recipient whose block held no error of its own (nothing, or only
// "(generated from alias)") takes the text under its heading.
size_t FindTextsAfterTheList(const Context& ctx) {
  return ctx.FindPhrase(REBOUND_PHRASE("The following text was generated during the delivery attempt"));
}

void TextsAfterTheList(const Context& ctx, size_t at, std::vector<Candidate>* recipients) {
  if (at == std::string::npos) return;
  auto lines = Lines(std::string_view(ctx.text).substr(at));
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view t = Trim(lines[i]);
    if (!t.starts_with("------ ")) continue;
    if (IFind(t, "copy of the message") != std::string_view::npos) break;
    // The heading may wrap: "------ an undisclosed address\n (generated from x) ------".
    std::string heading(t);
    size_t j = i + 1;
    while (!heading.ends_with("------") && j < lines.size() && !Trim(lines[j]).empty()) {
      heading += ' ';
      heading += Trim(lines[j]);
      ++j;
    }
    const std::string address = Lower(FirstAddress(std::string_view(heading).substr(7)));
    while (j < lines.size() && Trim(lines[j]).empty()) ++j;
    const size_t start = j;
    while (j < lines.size() && !Trim(lines[j]).starts_with("------ ")) ++j;
    for (Candidate& c : *recipients) {
      if (c.recipient != address) continue;
      if (c.diagnostic.empty() || IStartsWith(c.diagnostic, "(generated from")) c.diagnostic = JoinLines(lines, start, j);
    }
    i = j - 1;
  }
}

// The SMTP command Exim names in "SMTP error from remote mail server after
// RCPT TO:<a@b>:" (also "after pipelined ...", "after end of data", "after
// initial connection"); "" when the error says none. Its DSN part, when
// there is one, does not say it.
std::string CommandOfError(std::string_view diag) {
  // (Some builds say "SMTP error from remote server for RCPT TO command,
  // host: H (IP) reason: 550 ...".)
  // (Both lead-ins are 18 bytes long.)
  size_t at = IFind(diag, "mail server after ");
  if (at == std::string_view::npos) at = IFind(diag, "remote server for ");
  if (at == std::string_view::npos) return "";
  std::string_view cmd = diag.substr(at + 18);
  if (IStartsWith(cmd, "pipelined ")) cmd.remove_prefix(10);
  static const std::pair<const char*, const char*> kCommands[] = {
      {"RCPT", "RCPT"}, {"MAIL", "MAIL"},        {"end of data", "DATA-END"}, {"DATA", "DATA"},
      {"EHLO", "EHLO"}, {"HELO", "HELO"},        {"initial connection", "CONNECT"}, {"STARTTLS", "STARTTLS"}};
  for (const auto& [words, name] : kCommands)
    if (IStartsWith(cmd, words)) return name;
  return "";
}

}  // namespace

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
  // The address list ends where the texts after it begin.
  const size_t texts_at = FindTextsAfterTheList(ctx);
  size_t list_end = lines.size();
  for (size_t i = 1; texts_at != std::string::npos && i < lines.size(); ++i) {
    if (static_cast<size_t>(lines[i].data() - ctx.text.data()) >= texts_at) {
      list_end = i;
      break;
    }
  }
  AddressBlocks(lines, 1, list_end, &out->recipients);
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
  TextsAfterTheList(ctx, texts_at, &out->recipients);
  if (out->recipients.empty()) return false;
  out->kind = "exim";
  bool delayed = ctx.FindPhrase(REBOUND_PHRASE("has not yet been delivered")) != std::string::npos ||
                 IStartsWith(ctx.subject, "Warning: message");
  for (auto& c : out->recipients) {
    if (delayed) c.action = "delayed";
    if (c.command.empty()) c.command = CommandOfError(c.diagnostic);
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
