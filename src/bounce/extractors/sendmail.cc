// Sendmail without a DSN part (V5 sendmail, and the transcript that every
// sendmail bounce carries): "----- Transcript of session follows -----",
// then either "<<< 550 ..." replies after ">>> RCPT To:<rcpt>", or
// "550 <rcpt>... User unknown" lines.
#include "bounce/extract.h"

namespace rebound::bounce {

namespace {

// The list above the transcript names every address sendmail gave up on
// (or is still trying), one "<rcpt>" a line, newer versions with the reply
// below it as "(reason: 550 5.1.1 ... User unknown)". The transcript only
// shows the replies of the last connection, so an address refused in an
// earlier one, or one whose DATA failed, is found here alone.
// mail_reply: the remote's refusal of MAIL FROM, when the transcript shows
// one (it failed every recipient). bare_reply: a reply line of the
// transcript naming no address ("554 5.3.0 unknown mailer error 127"), the
// real error of a program or file entry.
void ListedAddresses(const Context& ctx, const std::string& mail_reply, const std::string& bare_reply,
                     std::vector<Candidate>* out) {
  size_t at = ctx.Find("addresses had permanent fatal errors -----");
  if (at == std::string::npos) at = ctx.Find("addresses had transient non-fatal errors -----");
  if (at == std::string::npos) return;
  auto lines = Lines(std::string_view(ctx.text).substr(at));
  // A transcript reply that names no address (the reply to DATA) serves
  // the listed addresses that have no reason of their own.
  std::string unnamed_diagnostic;
  SmtpCommand unnamed_command = SmtpCommand::kUnknown;
  for (const Candidate& c : *out) {
    if (!c.recipient.empty()) continue;
    unnamed_diagnostic = c.diagnostic;
    unnamed_command = c.command;
  }
  std::vector<Candidate> added;
  Candidate* last = nullptr;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view t = Trim(lines[i]);
    if (t.empty() || t.starts_with("-----")) break;
    if (IStartsWith(t, "(reason:")) {
      std::string_view reason = Trim(t.substr(8));
      if (reason.ends_with(')')) reason.remove_suffix(1);
      if (last && last->diagnostic.empty()) last->diagnostic = std::string(Trim(reason));
      continue;
    }
    if (IStartsWith(t, "(expanded from:")) {
      // A "|program" or "/file" entry stands for the local address it was
      // expanded from: the one the sender wrote to.
      std::string from = Lower(FirstAddress(t.substr(15)));
      if (!from.empty() && last && last->recipient.empty()) {
        last->recipient = from;
        if (!bare_reply.empty()) last->diagnostic = bare_reply;
      }
      continue;
    }
    if (t[0] == '(') continue;
    std::string rcpt = Lower(FirstAddress(t));
    last = nullptr;
    if (rcpt.empty()) {
      if (t[0] == '|' || t[0] == '/' || t.starts_with("\"|") || t.starts_with("\"/")) {
        added.emplace_back();  // named by its "(expanded from:" line, if any
        last = &added.back();
      }
      continue;
    }
    for (Candidate& c : *out)
      if (c.recipient == rcpt) last = &c;
    if (last) continue;
    for (Candidate& c : added)
      if (c.recipient == rcpt) last = &c;
    if (last) continue;
    added.emplace_back();
    added.back().recipient = rcpt;
    last = &added.back();
  }
  std::erase_if(added, [](const Candidate& c) { return c.recipient.empty(); });
  if (added.empty()) return;
  // The addresses the transcript does not name are those the unnamed reply
  // (to DATA) failed; that reply is theirs now, not a record of its own.
  const bool had_unnamed = std::erase_if(*out, [](const Candidate& c) { return c.recipient.empty(); }) > 0;
  for (Candidate& c : added) {
    if (had_unnamed) c.command = unnamed_command;
    else if (!mail_reply.empty()) c.command = SmtpCommand::kMail;
    if (c.diagnostic.empty()) c.diagnostic = unnamed_diagnostic;
    out->push_back(std::move(c));
  }
}

}  // namespace

bool ExtractSendmail(const Context& ctx, Extraction* out) {
  size_t at = ctx.Find("----- Transcript of session follows -----");
  if (at == std::string::npos) return false;
  auto lines = Lines(std::string_view(ctx.text).substr(at));
  std::string pending_rcpt, mail_reply, listed_mail_reply, bare_reply;
  SmtpCommand pending_cmd = SmtpCommand::kUnknown;
  TranscriptReader session;
  std::string program_said;  // the last line a local delivery program wrote
  size_t program_line = std::string::npos;  // and where
  // "Message could not be delivered for 5 days": sendmail gave up (the
  // subject may be the generic "see transcript for details").
  bool gave_up_in_text = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view t = Trim(lines[i]);
    if (t.starts_with("-----")) break;
    const TranscriptReader::Step step = session.Read(lines, &i);
    if (step == TranscriptReader::Step::kSent) continue;
    if (step == TranscriptReader::Step::kReply) {
      pending_cmd = session.command();
      // A reply to DATA goes to the last address accepted.
      if (pending_cmd == SmtpCommand::kRcpt) pending_rcpt = session.rcpt();
      std::string reply = session.reply();
      // A reply to QUIT ends a session that the replies before it decided.
      if (pending_cmd == SmtpCommand::kQuit) continue;
      // A positive reply (to a pipelined MAIL or RCPT) reports no failure.
      if (!reply.empty() && (reply[0] == '2' || reply[0] == '3')) continue;
      // A reply to MAIL FROM is about the sender, whose address it may echo:
      // not a failed recipient. Sendmail then lists the recipient it could
      // not send with a summary of its own ("554 <rcpt>... Remote protocol
      // error"); the remote's reply is the real diagnostic for that line.
      if (pending_cmd == SmtpCommand::kMail) {
        mail_reply = reply;
        listed_mail_reply = reply;
        continue;
      }
      std::string rcpt = pending_rcpt;
      if (rcpt.empty()) rcpt = Lower(FirstAddress(reply));
      // Without an address (a reply to DATA): the caller matches it by position.
      bool dup = false;
      for (auto& c : out->recipients)
        if (!rcpt.empty() && c.recipient == rcpt) {
          dup = true;
          if (c.diagnostic.empty()) c.diagnostic = reply;
        }
      if (dup) continue;
      Candidate c;
      c.recipient = rcpt;
      c.diagnostic = reply;
      c.command = pending_cmd;
      out->recipients.push_back(std::move(c));
      continue;
    }
    // "550 <rcpt>... User unknown" or "<rcpt>... Deferred: ..."
    if (IStartsWith(t, "Message could not be delivered for")) gave_up_in_text = true;
    size_t dots = t.find("... ");
    if (dots == std::string_view::npos && t.size() > 4 && std::isdigit(static_cast<unsigned char>(t[0])) &&
        t[3] == ' ' && FirstAddress(t).empty())
      bare_reply = std::string(t);
    // Outside a session, a line that is no reply is a local delivery
    // program's own words ("mail.local: unknown user: kijitora"), which
    // sendmail then sums up as "554 <rcpt>... Service unavailable".
    if (dots == std::string_view::npos && !session.in_session() && !t.empty() &&
        !std::isdigit(static_cast<unsigned char>(t[0]))) {
      program_said = std::string(t);
      program_line = i;
    }
    if (dots != std::string_view::npos) {
      std::string rcpt = Lower(FirstAddress(t.substr(0, dots)));
      if (rcpt.empty()) continue;
      bool dup = false;
      for (auto& c : out->recipients) dup = dup || c.recipient == rcpt;
      if (dup) continue;
      Candidate c;
      c.recipient = rcpt;
      c.diagnostic = std::string(t);
      // "550 <rcpt>... User unknown" with no SMTP session before it is
      // sendmail's own verdict on a local address (aliases, local mailer).
      c.recipient_refused = !session.in_session();
      // (Its words come on the line just above the summary they explain.)
      if (c.recipient_refused && program_line + 1 == i) c.diagnostic = program_said + " " + c.diagnostic;
      if (!mail_reply.empty()) {
        c.diagnostic = std::move(mail_reply);
        c.command = SmtpCommand::kMail;
        mail_reply.clear();
      }
      out->recipients.push_back(std::move(c));
    } else if (!out->recipients.empty() && out->recipients.back().diagnostic.size() < 1000 &&
               (std::isdigit(static_cast<unsigned char>(t.empty() ? 'x' : t[0])))) {
      // a reply line after the address line
    }
  }
  ListedAddresses(ctx, listed_mail_reply, bare_reply, &out->recipients);
  if (out->recipients.empty()) {
    // "421 host (smtp)... Deferred: ..." without an address: the recipient is
    // in the returned message's To header.
    for (size_t i = 1; i < lines.size(); ++i) {
      std::string_view t = Trim(lines[i]);
      if (t.find("... ") == std::string_view::npos) continue;
      std::string rcpt;
      std::string_view orig = ctx.inline_original;
      size_t to = IFind(orig, "\nTo:");
      if (to != std::string_view::npos) rcpt = Lower(FirstAddress(orig.substr(to + 4, orig.find('\n', to + 4) - to - 4)));
      if (rcpt.empty()) break;
      Candidate c;
      c.recipient = rcpt;
      c.diagnostic = std::string(t);
      out->recipients.push_back(std::move(c));
      break;
    }
  }
  if (out->recipients.empty()) return false;
  out->kind = "sendmail";
  bool gave_up = gave_up_in_text || IFind(ctx.subject, "Cannot send message for") != std::string::npos ||
                 IFind(ctx.subject, "Cannot send message within") != std::string::npos;
  bool warning = IFind(ctx.subject, "Warning: could not send message") != std::string::npos;
  for (auto& c : out->recipients) {
    if (gave_up) c.reason_hint = Reason::expired;
    if (warning) c.action = "delayed";
  }
  return true;
}

}  // namespace rebound::bounce
