// Postfix's human-readable part: "<rcpt>: host H[ip] said: 550 ... (in reply
// to RCPT TO command)" with indented continuation lines, after "The mail
// system". Its DSN part lacks the SMTP command; this text has it.
#include "bounce/extract.h"

namespace rebound::bounce {

namespace {

// Postfix's notice to the postmaster ("Postfix SMTP server: errors from
// HOST[IP]", notify_classes): "Transcript of session follows." then the
// session as " In:  RCPT TO:<rcpt>" / " Out: 550 5.1.1 ..." lines, a
// refusal's continuation indented further. A 4xx/5xx reply to RCPT refuses
// that address; one to DATA or its end, every address accepted before.
bool ReadSessionTranscript(const Context& ctx, size_t end, Extraction* out) {
  auto lines = Lines(std::string_view(ctx.text).substr(LineStartAt(ctx.text, end)));
  TranscriptReader session;
  std::vector<std::string> accepted;
  for (size_t i = 1; i < lines.size(); ++i) {
    if (session.Read(lines, &i) != TranscriptReader::Step::kReply) continue;
    const std::string& reply = session.reply();
    if (reply.empty()) continue;
    const bool refused = reply[0] == '4' || reply[0] == '5';
    const SmtpCommand command = session.command();
    const bool to_rcpt = command == SmtpCommand::kRcpt;
    if (!refused) {
      if (to_rcpt && !session.rcpt().empty()) accepted.push_back(session.rcpt());
      continue;
    }
    auto add = [&](const std::string& rcpt) {
      if (rcpt.empty()) return;
      for (const auto& o : out->recipients)
        if (o.recipient == rcpt) return;
      Candidate c;
      c.recipient = rcpt;
      c.diagnostic = reply;
      c.command = command;
      out->recipients.push_back(std::move(c));
    };
    if (to_rcpt) add(session.rcpt());
    else if (command == SmtpCommand::kData || command == SmtpCommand::kDataEnd)
      for (const auto& a : accepted) add(a);
  }
  if (out->recipients.empty()) return false;
  out->kind = "postfix";
  return true;
}

}  // namespace

bool ExtractPostfix(const Context& ctx, Extraction* out) {
  // OpenSMTPD lists its recipients the same way.
  std::string kind = "postfix";
  // ("This is the mail system at host" holds "the mail system": it is never
  // there when that is not, so it needs no search of its own.)
  size_t end = 0;
  size_t at = ctx.FindPhrase(REBOUND_PHRASE("The mail system"), 0, &end);
  if (at == std::string::npos) at = ctx.FindPhrase(REBOUND_PHRASE("This is the Postfix program"), 0, &end);
  if (at == std::string::npos) {
    // (Its delay notice wraps "for the following\n    list of recipients:".)
    at = ctx.FindPhrase(REBOUND_PHRASE("list of recipients:"), 0, &end);
    kind = "opensmtpd";
  }
  if (at == std::string::npos && ctx.FindPhrase(REBOUND_PHRASE("(in reply to")) != std::string::npos) {
    at = end = 0;  // Postfix-style lines without the usual preamble
    kind = "postfix";
  }
  if (at == std::string::npos) {
    // The postmaster notice's subject is Postfix's own ("Postfix SMTP
    // server: errors from ..."): other texts pay no search for it.
    if (IFind(ctx.subject, "Postfix SMTP server") == std::string::npos) return false;
    at = ctx.FindPhrase(REBOUND_PHRASE("Transcript of session follows."), 0, &end);
    return at != std::string::npos && ReadSessionTranscript(ctx, end, out);
  }
  // lines[0]: the line where the (maybe wrapped) phrase ends.
  auto lines = Lines(std::string_view(ctx.text).substr(LineStartAt(ctx.text, end)));
  // Where a recipient's line puts the colon before its text; npos when the
  // line names no recipient.
  auto recipient_colon = [](std::string_view t, size_t* skip) {
    if (t.empty() || t[0] == ' ' || t[0] == '\t') return std::string_view::npos;
    size_t colon = t.find(">: ");
    *skip = 3;
    if (t[0] != '<' || colon == std::string_view::npos) {
      // "rcpt@example.com (expanded from <alias>): ..." or "rcpt@example.com: ..."
      colon = t.find(": ");
      *skip = 2;
      if (colon == std::string_view::npos || t.substr(0, colon).find('@') == std::string_view::npos)
        return std::string_view::npos;
    }
    return colon;
  };
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view t = lines[i];
    size_t skip = 0;
    size_t colon = recipient_colon(t, &skip);
    if (colon == std::string_view::npos) continue;
    Candidate c;
    c.recipient = Lower(FirstAddress(t.substr(0, colon)));
    if (c.recipient.empty()) continue;
    std::string diag(Trim(t.substr(colon + skip)));
    size_t j = i + 1;
    // Continuation lines are indented, but re-wrapped copies also break at
    // column 0 ("... said: 550 5.2.1\n<rcpt>... User Unknown (in reply to
    // RCPT TO command)"): any line up to the blank line or the next
    // recipient belongs to this one.
    size_t next_skip = 0;
    while (j < lines.size() && !Trim(lines[j]).empty() &&
           (lines[j][0] == ' ' || lines[j][0] == '\t' || recipient_colon(lines[j], &next_skip) == std::string_view::npos)) {
      diag += " ";
      diag += Trim(lines[j]);
      ++j;
    }
    c.diagnostic = diag;
    size_t in_reply = IFind(diag, "(in reply to ");
    if (in_reply != std::string::npos) c.command = SmtpCommandFromWords(std::string_view(diag).substr(in_reply + 13));
    // No remote reply ("host H said:", "refused to talk to me"): Postfix's
    // own local(8)/virtual(8) delivery judged the address ("unknown user:
    // \"x\""), which is the final word on that mailbox.
    c.recipient_refused = !diag.starts_with("host ") && diag.find(" said: ") == std::string::npos;
    bool dup = false;
    for (const auto& o : out->recipients) dup = dup || o.recipient == c.recipient;
    if (!dup) out->recipients.push_back(std::move(c));
    i = j - 1;
  }
  if (out->recipients.empty()) return false;
  out->kind = kind;
  // The delay notice (delay_template), when no DSN part says "delayed".
  // OpenSMTPD's says "A message is delayed for more than 4h for the
  // following list of recipients:" and "only a temporary failure report".
  const bool delay_notice =
      kind == "postfix" ? IStartsWith(ctx.subject, "Delayed Mail") ||
                              ctx.FindPhrase(REBOUND_PHRASE("THIS IS A WARNING ONLY")) != std::string::npos
                        : ctx.FindPhrase(REBOUND_PHRASE("is delayed for more than")) != std::string::npos ||
                              ctx.FindPhrase(REBOUND_PHRASE("only a temporary failure report")) != std::string::npos;
  if (delay_notice)
    for (auto& c : out->recipients) c.action = "delayed";
  return true;
}

}  // namespace rebound::bounce
