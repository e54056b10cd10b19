// Courier: "Your message to the following recipients cannot be delivered:"
// (or "has not been delivered yet") then per recipient "<rcpt>:", the host,
// and the SMTP transcript (">>> RCPT TO:<rcpt>", "<<< 550 ..."). Its DSN
// part always says Status 5.0.0 and never the command: the transcript's
// ">>>" line is what tells a refused recipient from a refused message.
#include "bounce/extract.h"

namespace rebound::bounce {

bool ExtractCourier(const Context& ctx, Extraction* out) {
  if (ctx.FindPhrase(REBOUND_PHRASE("the Courier mail server")) == std::string::npos) return false;
  size_t end = 0;
  if (ctx.FindPhrase(REBOUND_PHRASE("Your message to the following recipients"), 0, &end) == std::string::npos)
    return false;
  const bool delayed = ctx.FindPhrase(REBOUND_PHRASE("has not been delivered yet")) != std::string::npos;
  auto lines = Lines(std::string_view(ctx.text).substr(LineStartAt(ctx.text, end)));
  Candidate* cur = nullptr;
  TranscriptReader session;
  std::string others;  // a block's lines that are not transcript (a local error)
  auto finish = [&]() {
    if (cur && cur->diagnostic.empty()) cur->diagnostic = Squash(others);
    others.clear();
  };
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view t = Trim(lines[i]);
    if (t.starts_with("-----")) break;  // the end of the report's box
    if (t.size() > 3 && t[0] == '<' && t.ends_with(">:")) {
      finish();
      Candidate c;
      c.recipient = Lower(FirstAddress(t));
      if (c.recipient.empty()) {
        cur = nullptr;
        continue;
      }
      if (delayed) c.action = "delayed";
      out->recipients.push_back(std::move(c));
      cur = &out->recipients.back();
      continue;
    }
    if (!cur || t.empty()) continue;
    switch (session.Read(lines, &i)) {
      case TranscriptReader::Step::kSent:
        if (session.command() != SmtpCommand::kUnknown) cur->command = session.command();
        break;
      case TranscriptReader::Step::kReply:
        if (!cur->diagnostic.empty()) cur->diagnostic += ' ';
        cur->diagnostic += session.reply();
        break;
      case TranscriptReader::Step::kOther:
        if (!t.ends_with("]:")) {  // not the "host [ip]:" line
          others += ' ';
          others += t;
        }
        break;
    }
  }
  finish();
  if (out->recipients.empty()) return false;
  out->kind = "courier";
  return true;
}

}  // namespace rebound::bounce
