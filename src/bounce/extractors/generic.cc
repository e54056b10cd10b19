// The last resort for bounces no specific extractor knows: a failure
// sentence, then address lines with their text, or a single address named
// in the text with the whole text as diagnostic.
#include <algorithm>
#include <cctype>

#include "bounce/event_json.h"
#include "bounce/extract.h"
#include "bounce/prose.h"

namespace rebound::bounce {

namespace {
bool LooksLikeBounce(const Context& ctx) {
  static const char* kSubjects[] = {"undeliver", "returned mail", "delivery fail", "delivery status notification",
                                    "failure notice", "mail delivery", "non remis", "nondeliverable", "not delivered",
                                    "delivery problem", "could not be delivered", "unzustellbar", "error",
                                    "エラー", "不達", "退信", "rejected", "bounce", "failed",
                                    // The same in other languages, as localised servers and
                                    // clients title their notices (Exchange's "Non
                                    // recapitabile:", "No se puede entregar:", ...).
                                    "nicht zustellbar", "non distribuable", "non recapitabile", "mancato recapito",
                                    "no se puede entregar", "no entregado", "não entregue",
                                    "não é possível entregar", "onbestelbaar", "niet afgeleverd", "olevererbar",
                                    "niedostarczalne", "недоставл", "Недоставл", "не доставлен", "無法投遞",
                                    "无法投递", "未送达"};
  std::string subject = Lower(ctx.subject);
  for (const char* s : kSubjects)
    if (subject.find(s) != std::string::npos) return true;
  if (ctx.from.find("mailer-daemon") != std::string::npos || ctx.from.find("postmaster") != std::string::npos ||
      ctx.from.find("post_master") != std::string::npos || ctx.from.find("post-master") != std::string::npos)
    return true;
  // A notice with a plain subject ("Mail", "Re: ...") from a no-reply
  // sender: its own first words say that delivery failed.
  static const char* kFailureSentences[] = {"could not be delivered", "couldn't be delivered", "was not delivered",
                                            "unable to deliver", "could not deliver", "delivery failed",
                                            "delivery has failed", "undeliverable", "automatically rejected",
                                            // Other languages: German, French, Italian, Spanish,
                                            // Portuguese, Dutch, Swedish.
                                            "konnte nicht zugestellt werden", "nicht zugestellt werden konnte",
                                            "n'a pas pu être remis", "n'a pas pu être distribué",
                                            "n'a pas pu être délivré", "n’a pas pu être remis",
                                            "n’a pas pu être distribué", "impossible de remettre",
                                            "non è stato recapitato", "non è stato possibile recapitare",
                                            "impossibile recapitare", "no se ha podido entregar",
                                            "no se pudo entregar", "no pudo ser entregado",
                                            "não foi possível entregar", "não pôde ser entregue",
                                            "kon niet worden afgeleverd", "kon niet worden bezorgd",
                                            "kunde inte levereras"};
  const std::string_view own = std::string_view(ctx.lower).substr(0, std::min<size_t>(ProseEndOf(ctx), 2048));
  for (const char* s : kFailureSentences)
    if (FindPhraseIn(own, s) != std::string_view::npos) return true;
  return false;
}

// An address a notice names as a sender or a contact, never as a failed
// recipient: the mailer daemon, a postmaster, and a mailing list's own
// administrative addresses (Mailman's "contact the mailing list owner at
// list-owner@...", "-request", "-bounces", majordomo's "owner-list").
bool IsServiceAddress(std::string_view a) {
  if (a.find("mailer-daemon") != std::string_view::npos || a.find("postmaster") != std::string_view::npos) return true;
  const std::string_view local = a.substr(0, a.find('@'));
  // ("-admin" is left out: people's mailboxes are named that way too)
  return local.ends_with("-owner") || local.ends_with("-request") || local.ends_with("-bounces") ||
         local.starts_with("owner-");
}

// Whether the text introduces address as someone other than a failed
// recipient: the message's sender ("A message sent by\n\n  <a@b>\n\ncould
// not be delivered", as Exim writes when the notice goes to someone other
// than the sender) or a contact ("contact the mailing list owner at a@b",
// "directed to the list administrator at:", "write to <a@b>"). The words
// just before it, blanks and '<' aside, say so.
bool IntroducedAsNoRecipient(std::string_view lower_text, std::string_view address) {
  static constexpr std::string_view kIntroductions[] = {"sent by", "message from", "write to", "contact"};
  static constexpr std::string_view kContacts[] = {"owner", "administrator", "postmaster"};
  auto blank = [](char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; };
  for (size_t at = FindBytes(lower_text, address); at != std::string_view::npos;
       at = FindBytes(lower_text, address, at + 1)) {
    std::string_view before = lower_text.substr(0, at);
    while (!before.empty() && (blank(before.back()) || before.back() == '<')) before.remove_suffix(1);
    for (std::string_view words : kIntroductions)
      if (before.ends_with(words)) return true;
    // "the mailing list owner at", "the list administrator\nat:"
    if (before.ends_with(":")) before.remove_suffix(1);
    if (!before.ends_with("at") || before.size() < 3 || !blank(before[before.size() - 3])) continue;
    before.remove_suffix(2);
    while (!before.empty() && blank(before.back())) before.remove_suffix(1);
    for (std::string_view who : kContacts)
      if (before.ends_with(who)) return true;
  }
  return false;
}

// One row per recipient led by the reply code, as Sendmail's transcript
// writes its own verdicts ("554 <a@b>... 550 Host unknown"; V5 and
// mail.local alike): the row is the diagnostic, unless a quoted session
// shows the remote's failing reply (to this address's RCPT, or to MAIL or
// DATA), which the row only sums up ("554 <a@b>... Remote protocol error").
void CodeLedAddressRows(const std::vector<std::string_view>& lines, std::string_view own, std::vector<Candidate>* out) {
  for (std::string_view line : lines) {
    const std::string_view t = Trim(line);
    if (t.size() < 12 || (t[0] != '4' && t[0] != '5') || !std::isdigit(static_cast<unsigned char>(t[1])) ||
        !std::isdigit(static_cast<unsigned char>(t[2])) || t[3] != ' ' || t[4] != '<')
      continue;
    const size_t close = t.find(">...");
    if (close == std::string_view::npos) continue;
    std::string address = Lower(FirstAddress(t.substr(5, close - 5)));
    if (address.empty() || address == own || IsServiceAddress(address)) continue;
    if (std::any_of(out->begin(), out->end(), [&](const Candidate& c) { return c.recipient == address; })) continue;
    Candidate c;
    if (FailingReply failed; FindFailingReply(lines, address, &failed)) {
      c.diagnostic = std::move(failed.reply);
      c.command = failed.command;
    } else {
      c.diagnostic = std::string(t);
    }
    c.recipient = std::move(address);
    out->push_back(std::move(c));
  }
}

// The envelope recipient a notice quotes from the failed transaction
// ("RCPT TO: a@b" among its "message details"), lower case, and in
// *paragraph the index of the first line of the paragraph that quotes it;
// "" when none.
std::string QuotedRcptTo(const std::vector<std::string_view>& lines, size_t* paragraph) {
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string_view t = Trim(lines[i]);
    if (!IStartsWith(t, "RCPT TO:")) continue;
    std::string a = Lower(FirstAddress(t.substr(8)));
    if (a.empty()) continue;
    size_t first = i;
    while (first > 0 && !Trim(lines[first - 1]).empty()) --first;
    *paragraph = first;
    return a;
  }
  return {};
}

// The command a layout states in a labelled block of its own: a heading
// line that names the SMTP command ("-------SMTP command", "SMTP command:")
// and the command alone on the next line with text (m-FILTER writes its
// "server message", "SMTP command" and "original message" this way).
SmtpCommand CommandBlock(const std::vector<std::string_view>& lines) {
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view heading = Trim(lines[i]);
    while (!heading.empty() && (heading.front() == '-' || heading.front() == '=' || heading.front() == '*'))
      heading.remove_prefix(1);
    heading = Trim(heading);
    if (heading.ends_with(":")) heading.remove_suffix(1);
    if (!IEquals(heading, "smtp command")) continue;
    size_t j = i + 1;
    while (j < lines.size() && Trim(lines[j]).empty()) ++j;
    if (j == lines.size()) break;
    const std::string_view stated = Trim(lines[j]);
    size_t used = 0;
    const SmtpCommand command = SmtpCommandFromWords(stated, &used);
    if (command != SmtpCommand::kUnknown && used >= stated.size()) return command;
  }
  return SmtpCommand::kUnknown;
}

// A table of failed addresses, each line an address and then its cause
// ("a@b Invalid Address, ERROR_CODE :550 ...", "a@b [User unknown]",
// "<a@b>: mailbox full"): one candidate per line, the rest of the line its
// diagnostic. Lines of the bounce's own addressee and of a service address
// are not failures.
void LeadingAddressLines(const std::vector<std::string_view>& lines, std::string_view own,
                         std::vector<Candidate>* out) {
  auto indent = [](std::string_view l) { return l.find_first_not_of(" \t"); };
  // A table starts after a blank line or a ruled heading and goes on line
  // by line; an address that a wrapped sentence happens to put at the
  // start of a line has prose just above it.
  size_t table_row = std::string_view::npos;  // the last line read as a row
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    std::string_view t = Trim(line);
    if (i > 0 && table_row != i - 1) {
      const std::string_view above = Trim(lines[i - 1]);
      if (!above.empty() && above.front() != '|' && above.front() != '-' && above.front() != '=') continue;
    }
    const bool angle = !t.empty() && t.front() == '<';
    const size_t end = angle ? t.find('>') : t.find_first_of(" \t");
    if (end == std::string_view::npos || end < 3) continue;
    std::string_view token = angle ? t.substr(1, end - 1) : t.substr(0, end);
    if (token.ends_with(":")) token.remove_suffix(1);
    if (token.find('@') == std::string_view::npos || token.find_first_of(" \t\"(),;") != std::string_view::npos) continue;
    std::string_view rest = t.substr(end + 1);
    while (!rest.empty() && (rest.front() == ':' || rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
    if (rest.size() < 4) continue;
    std::string address = Lower(FirstAddress(token));
    if (address.empty() || address == own || IsServiceAddress(address)) continue;
    if (std::any_of(out->begin(), out->end(), [&](const Candidate& c) { return c.recipient == address; })) continue;
    Candidate c;
    c.recipient = std::move(address);
    c.diagnostic = std::string(rest);
    // The cause may go on below, indented deeper ("a@b on <date>" and then
    // the sentence, as Outlook renders an Exchange report).
    size_t j = i + 1;
    for (; j < lines.size() && !Trim(lines[j]).empty() && indent(lines[j]) > indent(line); ++j) {
      c.diagnostic.push_back(' ');
      c.diagnostic.append(Trim(lines[j]));
    }
    out->push_back(std::move(c));
    table_row = j - 1;
    i = j - 1;
  }
}

// The one paragraph of the notice that quotes a remote reply (a 4xx or 5xx
// code), squashed; "" when none or several do. A notice that lists its one
// recipient under a heading and says "will be retried" there gives the
// server's words further on ("Technical details ... The error that the
// other server returned was: 450 4.2.2 ... Mailbox Full").
std::string OnlyReplyParagraph(std::string_view text) {
  std::string found;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = ParagraphEnd(text, start);
    if (end <= start) end = std::min(text.size(), start + 1);
    const std::string_view para = text.substr(start, end - start);
    int code = 0;
    FindCodes(para, &code, nullptr);
    if (code >= 400 && code < 600) {
      if (!found.empty()) return {};
      found = SquashPrefix(para, 1000);
    }
    start = end + 1;
    while (start < text.size() && (text[start] == '\n' || text[start] == ' ' || text[start] == '\t')) ++start;
  }
  return found;
}

// A notice that is a JSON document of delivery events (event_json.h): its
// subject and sender need not look like a bounce, the document says what
// happened and to whom.
bool ReadEvents(const Context& ctx, Extraction* out) {
  for (EventRecipient& e : ReadEventJson(ctx.text)) {
    Candidate c;
    c.recipient = std::move(e.recipient);
    c.diagnostic = std::move(e.diagnostic);
    c.status = std::move(e.status);
    c.reply_code = e.reply_code;
    c.timestamp = std::move(e.timestamp);
    switch (e.kind) {
      case EventKind::kFailed: c.action = e.action == "delayed" ? "delayed" : "failed"; break;
      case EventKind::kDelayed: c.action = "delayed"; break;
      case EventKind::kDelivered: c.action = "delivered"; break;
      case EventKind::kComplaint:
        c.reason_hint = Reason::feedback;
        c.feedback_type = e.feedback_type.empty() ? "abuse" : std::move(e.feedback_type);
        break;
      case EventKind::kNone: continue;
    }
    out->recipients.push_back(std::move(c));
  }
  if (out->recipients.empty()) return false;
  out->kind = "generic";
  return true;
}
}  // namespace

bool ExtractGeneric(const Context& ctx, Extraction* out) {
  if (ReadEvents(ctx, out)) return true;
  if (!LooksLikeBounce(ctx)) return false;
  // Only the bounce's own words: a returned message that no known marker
  // announced (its headers, an "original message" heading) is not read for
  // recipients or diagnostics, as its body may say anything.
  std::string_view text = std::string_view(ctx.text).substr(0, ProseEndOf(ctx));
  auto lines = Lines(text);
  AddressBlocks(lines, 0, lines.size(), &out->recipients);
  std::erase_if(out->recipients, [&](const Candidate& c) {
    return IntroducedAsNoRecipient(std::string_view(ctx.lower).substr(0, text.size()), c.recipient);
  });
  std::string own = Lower(FirstAddress(ctx.to));
  // The bounce's own addressee listed among them is usually the sender
  // named in passing; but a message sent to oneself fails for that very
  // address, which is then the only one listed with its text.
  const bool others = std::any_of(out->recipients.begin(), out->recipients.end(),
                                  [&](const Candidate& c) { return c.recipient != own; });
  if (others || out->recipients.size() != 1 || out->recipients[0].diagnostic.empty())
    std::erase_if(out->recipients, [&](const Candidate& c) { return c.recipient == own; });
  // Where the notice's own words end when it quotes the transaction's
  // envelope: those details ("MAIL FROM:", "RCPT TO:") are no reply, and
  // would be read as the command that failed.
  size_t words_end = text.size();
  if (out->recipients.empty()) {
    size_t details = 0;
    if (std::string rcpt = QuotedRcptTo(lines, &details); !rcpt.empty() && rcpt != own) {
      Candidate c;
      c.recipient = std::move(rcpt);
      out->recipients.push_back(std::move(c));
      words_end = static_cast<size_t>(lines[details].data() - text.data());
    }
  }
  // A block whose text is only a rule of '=' or '-' and a heading
  // ("Technical details:") says nothing itself: the cause is further on,
  // and the whole notice is read instead.
  for (auto& c : out->recipients) {
    std::string_view d = c.diagnostic;
    while (!d.empty() && (d.front() == '=' || d.front() == '-' || d.front() == '*' || d.front() == '_' || d.front() == ' '))
      d.remove_prefix(1);
    if (!d.empty() && d.back() == ':' && d.find(':') == d.size() - 1 && d.size() < 64) c.diagnostic.clear();
  }
  if (out->recipients.empty()) LeadingAddressLines(lines, own, &out->recipients);
  if (out->recipients.empty()) CodeLedAddressRows(lines, own, &out->recipients);
  if (out->recipients.empty()) {
    // An address mentioned in a sentence: "Could not be delivered to: <rcpt>".
    for (auto line : lines) {
      std::string a = Lower(FirstAddress(line));
      if (a.empty() || a == own || IsServiceAddress(a)) continue;
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
    std::string a;
    if (to != std::string_view::npos) {
      size_t eol = orig.find('\n', to + 4);
      a = Lower(FirstAddress(orig.substr(to + 4, eol == std::string_view::npos ? std::string_view::npos : eol - to - 4)));
    }
    // Or the attached one's (a list server returns the refused post as a
    // part), unless that is itself a bounce, which is read as one later,
    // or the notice has a delivery-status part, which is read later.
    if (a.empty() && ctx.original_headers && !ctx.has_delivery_status &&
        !IsServiceAddress(Lower(FirstAddress(ctx.original_headers->Raw("From")))))
      a = Lower(FirstAddress(OriginalTo(ctx)));
    if (!a.empty()) {
      Candidate c;
      c.recipient = std::move(a);
      out->recipients.push_back(std::move(c));
    }
  }
  if (out->recipients.empty()) return false;
  if (const SmtpCommand stated = CommandBlock(lines); stated != SmtpCommand::kUnknown)
    for (auto& c : out->recipients)
      if (c.command == SmtpCommand::kUnknown) c.command = stated;
  // A recipient's own text that names the failed step in words.
  for (auto& c : out->recipients)
    if (c.command == SmtpCommand::kUnknown && !c.diagnostic.empty()) c.command = StepNamedInNarrative(c.diagnostic);
  std::string whole = SquashPrefix(text.substr(0, words_end), 4000);
  // One recipient whose own block quotes no reply, in a notice that quotes
  // exactly one: that reply is the failure.
  if (out->recipients.size() == 1 && !out->recipients[0].diagnostic.empty()) {
    Candidate& c = out->recipients[0];
    int code = 0;
    std::string status;
    FindCodes(c.diagnostic, &code, &status);
    if (code == 0 && status.empty())
      if (std::string reply = OnlyReplyParagraph(text.substr(0, words_end)); !reply.empty()) c.diagnostic = std::move(reply);
  }
  for (auto& c : out->recipients) {
    if (!c.diagnostic.empty()) continue;
    // A quoted session: the reply that failed, not the text's first code
    // (the 250 to MAIL FROM).
    if (FailingReply failed; FindFailingReply(lines, c.recipient, &failed)) {
      c.diagnostic = std::move(failed.reply);
      c.command = failed.command;
      continue;
    }
    c.diagnostic = whole;
    c.whole_text = true;
  }
  // A delay notice: the sender's system is still trying. Said in its own
  // first words ("has been delayed", "will be retried"), and never beside
  // a statement that it gave up.
  {
    const std::string_view head = std::string_view(ctx.lower).substr(0, std::min<size_t>(words_end, 2048));
    static const char* kDelayed[] = {"has been delayed", "delivery is delayed", "will be retried", "will keep trying",
                                     "still trying", "will continue trying", "will try again"};
    static const char* kGaveUp[] = {"permanent", "given up", "gave up", "giving up", "no further", "not going to try"};
    bool delayed = false, gave_up = false;
    for (const char* p : kDelayed) delayed = delayed || FindPhraseIn(head, p) != std::string_view::npos;
    for (const char* p : kGaveUp) gave_up = gave_up || FindPhraseIn(head, p) != std::string_view::npos;
    if (delayed && !gave_up)
      for (auto& c : out->recipients)
        if (c.action.empty()) c.action = "delayed";
  }
  out->kind = "generic";
  return true;
}

}  // namespace rebound::bounce
