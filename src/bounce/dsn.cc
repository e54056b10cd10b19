#include "bounce/dsn.h"

#include <algorithm>

namespace rebound::bounce {
namespace {

using namespace std::string_view_literals;

// "rfc822; user@example.com" -> "user@example.com"; "dns; mx.example" -> "mx.example".
std::string_view AfterType(std::string_view v) {
  size_t semi = v.find(';');
  if (semi != std::string_view::npos && semi < 24 && v.substr(0, semi).find(' ') == std::string_view::npos)
    v.remove_prefix(semi + 1);
  return Trim(v);
}

std::string StatusOnly(std::string_view v) {
  v = Trim(v);
  size_t i = 0;
  while (i < v.size() && (std::isdigit(static_cast<unsigned char>(v[i])) || v[i] == '.')) ++i;
  std::string s(v.substr(0, i));
  if (std::count(s.begin(), s.end(), '.') != 2 || s.size() < 5) return "";
  return s;
}

std::string LowerAddress(std::string_view raw) { return Lower(FirstAddress(raw)); }

}  // namespace

// The To header of the returned message (attached part or inline copy).
std::string OriginalTo(const Context& ctx) {
  if (ctx.original_headers && !ctx.original_headers->Raw("To").empty()) return Unfold(ctx.original_headers->Raw("To"));
  std::string_view orig = ctx.inline_original;
  size_t to = IFind(orig, "\nTo:");
  if (IStartsWith(orig, "To:")) to = 0;
  else if (to != std::string_view::npos) ++to;
  if (to == std::string_view::npos) return "";
  size_t eol = orig.find('\n', to);
  return std::string(orig.substr(to + 3, eol == std::string_view::npos ? std::string_view::npos : eol - to - 3));
}

namespace {

}  // namespace

std::string GuessKind(const Context& ctx) {
  const Headers& h = *ctx.headers;
  // Headers first (cheap); then the head of the text, lower-cased once.
  if (IFind(h.Raw("X-Mailer"), "Amazon WorkMail") != std::string_view::npos) return "amazonworkmail";
  if (h.Has("X-SES-Outgoing") || ctx.from.find("amazonses.com") != std::string::npos) return "amazonses";
  if (IFind(h.Raw("Return-Path"), "@sendgrid.net") != std::string_view::npos) return "sendgrid";
  if (h.Has("X-MS-Exchange-CrossTenant-Id")) return "office365";
  if (h.Has("X-MS-Exchange-Message-Is-Ndr") || h.Has("X-MS-Exchange-Organization-SCL") || h.Has("X-MS-TNEF-Correlator") ||
      h.Has("Thread-Index"))
    return "exchange2007";
  if (ctx.from.find("googlemail.com") != std::string::npos || ctx.from.find("google.com") != std::string::npos)
    return "gmail";
  // Unfolding changes only white space: a needle without any is found in
  // the raw value as well, and the value is unfolded only for one with.
  const std::string_view received_raw = h.Raw("Received");
  auto received_has = [&](std::string_view needle) { return IFind(received_raw, needle) != std::string_view::npos; };
  if (h.Has("X-Postfix-Queue-ID") || received_has("(postfix)")) return "postfix";
  if (ctx.subject.starts_with("Mail delivery failed") || h.Has("X-Failed-Recipients")) return "exim";
  if (ctx.subject.starts_with("Returned mail:")) return "sendmail";
  if (received_has("opensmtpd")) return "opensmtpd";
  // Oracle Communications (formerly Sun Java System) Messaging Server, PMDF.
  if ((received_has("messaging") && IFind(Unfold(received_raw), "messaging server") != std::string_view::npos) ||
      received_has("(pmdf"))
    return "messagingserver";
  // ctx.lower is the text lower-cased, offsets kept.
  const std::string_view low = std::string_view(ctx.lower).substr(0, 4096);
  auto has_text = [&](std::string_view lower_needle) {
    return FindBytes(low, lower_needle) != std::string_view::npos;
  };
  // A sentence the template may have wrapped.
  auto has_phrase = [&](const Phrase& phrase) { return FindPhraseIn(low, phrase) != std::string_view::npos; };
  if (has_text("outlook.com")) return "office365";
  if (has_phrase(REBOUND_PHRASE("microsoft exchange online")) || has_text("office365")) return "exchange2007";
  if (has_phrase(REBOUND_PHRASE("this is the mail system at host")) || has_text("x-postfix-sender")) return "postfix";
  if (has_text("----- transcript of session follows")) return "sendmail";
  if (has_text("qmail-send")) return "qmail";
  if (has_text("opensmtpd")) return "opensmtpd";
  if (ctx.from.find("yahoo") != std::string::npos) return "yahoo";
  if (has_phrase(REBOUND_PHRASE("courier mail server"))) return "courier";
  if (has_phrase(REBOUND_PHRASE("this report relates to a message you sent with the following header fields"))) return "messagingserver";
  return "";
}

bool ReadDeliveryStatus(std::string_view s, const Context& ctx, Extraction* ex) {
  std::string per_message_date, reporting_mta;
  size_t pos = 0;
  Candidate cur;
  bool have_cur = false, cur_has_final = false, cur_has_orig = false;
  std::string orig_rcpt;
  auto flush = [&] {
    if (have_cur) {
      if (cur.recipient.empty()) cur.recipient = orig_rcpt;
      if (!cur.recipient.empty()) {
        if (cur.timestamp.empty()) cur.timestamp = per_message_date;
        ex->recipients.push_back(std::move(cur));
      }
    }
    cur = Candidate();
    orig_rcpt.clear();
    have_cur = cur_has_final = cur_has_orig = false;
  };
  // Reused from call to call (its fields vector keeps its capacity); no
  // recursion reaches here while it is in use.
  static thread_local Headers block;
  while (pos < s.size()) {
    // Skip blank lines between blocks.
    while (pos < s.size()) {
      size_t eol = s.find('\n', pos);
      if (eol == std::string_view::npos) eol = s.size();
      if (!Trim(s.substr(pos, eol - pos)).empty()) break;
      pos = eol + 1;
    }
    if (pos >= s.size()) break;
    size_t used = ParseHeaders(s.substr(pos), &block);
    if (block.fields.empty()) {  // a line that is no field: skip it
      size_t eol = s.find('\n', pos);
      pos = eol == std::string_view::npos ? s.size() : eol + 1;
      continue;
    }
    pos += std::max<size_t>(used, 1);
    for (const auto& f : block.fields) {
      std::string_view n = f.name;
      if (IEquals(n, "Final-Recipient")) {
        if (cur_has_final) flush();
        cur_has_final = true;
        have_cur = true;
        cur.recipient = LowerAddress(AfterType(f.value));
      } else if (IEquals(n, "Original-Recipient")) {
        if (cur_has_orig || (cur_has_final && (!cur.status.empty() || !cur.diagnostic.empty()))) flush();
        cur_has_orig = true;
        have_cur = true;
        orig_rcpt = LowerAddress(AfterType(f.value));
      } else if (IEquals(n, "Action")) {
        cur.action = Lower(Trim(Unfold(f.value)));
        if (size_t sp = cur.action.find_first_of(" (;"); sp != std::string::npos) cur.action.resize(sp);
      } else if (IEquals(n, "Status")) {
        cur.status = StatusOnly(Unfold(f.value));
      } else if (IEquals(n, "Remote-MTA")) {
        cur.remote_mta = std::string(AfterType(Unfold(f.value)));
      } else if (IEquals(n, "Diagnostic-Code")) {
        const std::string value = Unfold(f.value);
        std::string_view text = Trim(AfterType(value));
        // "X-Unix; 255": only the exit status of a local delivery program,
        // not an SMTP reply (255 is no reply code); the human-readable part
        // says what failed.
        if (IStartsWith(Trim(value), "x-unix") && !text.empty() &&
            text.find_first_not_of("0123456789") == std::string_view::npos) {
          cur.diagnostic.clear();
        } else {
          cur.diagnostic = std::string(AfterType(value));
          // Text from a local delivery program (procmail, a pipe): unless
          // it names a cause, the program itself failed.
          if (IStartsWith(Trim(value), "x-unix") && !text.empty()) cur.reason_hint = Reason::mailererror;
        }
      } else if (IEquals(n, "Last-Attempt-Date")) {
        cur.timestamp = Unfold(f.value);
      } else if (IEquals(n, "Arrival-Date")) {
        per_message_date = Unfold(f.value);
      } else if (IEquals(n, "Reporting-MTA")) {
        reporting_mta = std::string(AfterType(Unfold(f.value)));
      }
    }
    // A block without any recipient field is the per-message block.
  }
  flush();
  for (auto& c : ex->recipients) {
    SanitizeUtf8(&c.diagnostic);
    SanitizeUtf8(&c.recipient);
    SanitizeUtf8(&c.remote_mta);
  }
  if (ex->recipients.empty()) return false;
  ex->kind = GuessKind(ctx);
  if (ex->kind.empty()) ex->kind = "rfc3464";
  return true;
}

bool LoneBlockFields(std::string_view s, std::string* status, std::string* remote_mta) {
  int blocks = 0;
  std::string st, mta;
  size_t pos = 0;
  Headers block;
  while (pos < s.size()) {
    size_t used = ParseHeaders(s.substr(pos), &block);
    if (block.fields.empty()) {  // a blank line or a line that is no field
      size_t eol = s.find('\n', pos);
      pos = eol == std::string_view::npos ? s.size() : eol + 1;
      continue;
    }
    pos += std::max<size_t>(used, 1);
    bool recipient_block = false;
    for (const auto& f : block.fields)
      recipient_block = recipient_block || IEquals(f.name, "Final-Recipient") || IEquals(f.name, "Original-Recipient");
    if (!recipient_block) continue;  // the per-message block
    if (++blocks > 1) return false;
    for (const auto& f : block.fields) {
      if (IEquals(f.name, "Status")) st = StatusOnly(Unfold(f.value));
      else if (IEquals(f.name, "Remote-MTA")) mta = std::string(AfterType(Unfold(f.value)));
    }
  }
  if (blocks != 1 || st.empty()) return false;
  *status = std::move(st);
  *remote_mta = std::move(mta);
  return true;
}

void MergeTextDiagnostics(const Extraction& text, Extraction* dsn) {
  auto fill = [](Candidate* to, const Candidate& from) {
    if (to->command == SmtpCommand::kUnknown) to->command = from.command;
    if (!to->diagnostic.empty()) return;
    to->diagnostic = from.diagnostic;
    // What the text's format says about its words comes with them.
    to->recipient_refused = to->recipient_refused || from.recipient_refused;
    if (to->status.empty()) to->status = from.status;
    if (!to->reply_code) to->reply_code = from.reply_code;
    if (to->command == SmtpCommand::kUnknown) to->command = from.command;
    if (!to->reason_hint) to->reason_hint = from.reason_hint;
  };
  std::vector<bool> used(text.recipients.size());
  for (auto& c : dsn->recipients) {
    for (size_t i = 0; i < text.recipients.size(); ++i) {
      if (!used[i] && IEquals(text.recipients[i].recipient, c.recipient)) {
        fill(&c, text.recipients[i]);
        used[i] = true;
        break;
      }
    }
  }
  if (text.recipients.size() == dsn->recipients.size()) {
    for (size_t i = 0; i < text.recipients.size(); ++i) fill(&dsn->recipients[i], text.recipients[i]);
  } else if (text.recipients.size() == 1) {
    for (auto& c : dsn->recipients) fill(&c, text.recipients[0]);
  }
}

bool ReadFeedbackReport(const Part& report, const Context& ctx, CharsetConverter* cc, Extraction* ex) {
  std::string fields = DecodeText(report, cc, 64 << 10);
  Headers h;
  // The report may hold several blocks; read them all.
  std::string_view s = fields;
  Candidate c;
  std::vector<std::string> rcpts;
  std::string type;
  size_t pos = 0;
  while (pos < s.size()) {
    while (pos < s.size() && (s[pos] == '\n' || s[pos] == ' ' || s[pos] == '\t')) ++pos;
    if (pos >= s.size()) break;
    size_t used = ParseHeaders(s.substr(pos), &h);
    if (h.fields.empty()) {
      size_t eol = s.find('\n', pos);
      pos = eol == std::string_view::npos ? s.size() : eol + 1;
      continue;
    }
    pos += std::max<size_t>(used, 1);
    for (const auto& f : h.fields) {
      if (IEquals(f.name, "Feedback-Type") && type.empty()) type = Lower(Trim(Unfold(f.value)));
      else if (IEquals(f.name, "Original-Rcpt-To") || IEquals(f.name, "Removal-Recipient")) {
        std::string a = LowerAddress(f.value);
        if (!a.empty() && std::find(rcpts.begin(), rcpts.end(), a) == rcpts.end()) rcpts.push_back(a);
      } else if (IEquals(f.name, "Arrival-Date") || IEquals(f.name, "Received-Date")) c.timestamp = Unfold(f.value);
      else if (IEquals(f.name, "Source-IP") && c.remote_mta.empty()) c.remote_mta = Unfold(f.value);
    }
  }
  if (rcpts.empty()) {
    // No Original-Rcpt-To: the complaining recipient is the reported message's To.
    rcpts.push_back(LowerAddress(OriginalTo(ctx)));
  }
  c.feedback_type = type.empty() ? "abuse" : type;
  c.reason_hint = Reason::feedback;
  c.action = "failed";
  c.diagnostic = SquashPrefix(ctx.text, 2000);
  ex->kind = "arf";
  for (const auto& a : rcpts) {
    if (a.empty()) continue;
    Candidate one = c;
    one.recipient = a;
    ex->recipients.push_back(std::move(one));
  }
  // A report that names no recipient (redacted, "Undisclosed Recipients")
  // is still a complaint: one record with an empty recipient.
  if (ex->recipients.empty()) ex->recipients.push_back(std::move(c));
  return true;
}

bool ReadAutoReply(const Context& ctx, Extraction* ex) {
  const Headers& h = *ctx.headers;
  std::string auto_submitted = Lower(Unfold(h.Raw("Auto-Submitted")));
  std::string precedence = Lower(Unfold(h.Raw("Precedence")));
  std::string subject = Lower(ctx.subject);
  bool flagged = auto_submitted.starts_with("auto-replied") || h.Has("X-Autoreply") || h.Has("X-Autorespond") ||
                 (h.Has("X-Auto-Response-Suppress") && subject.starts_with("automatic reply")) ||
                 precedence == "auto_reply";
  static const char* kSubjects[] = {"auto:", "automatic reply", "auto-reply", "autoreply", "auto reply",
                                    "out of office", "out of the office", "vacation", "away from",
                                    "réponse automatique", "abwesenheitsnotiz", "automatische antwort",
                                    "自動応答", "自動返信", "自动回复"};
  bool subject_says = false;
  for (const char* s : kSubjects) subject_says = subject_says || subject.find(s) != std::string::npos;
  if (!flagged && !subject_says) return false;
  if (ctx.from.find("mailer-daemon") != std::string::npos || ctx.from.find("postmaster") != std::string::npos)
    return false;
  Candidate c;
  c.recipient = LowerAddress(ctx.from);
  if (c.recipient.empty()) return false;
  c.action = "delivered";
  c.diagnostic = SquashPrefix(ctx.text, 1000);
  c.reason_hint = Reason::vacation;
  ex->kind = "rfc3834";
  ex->recipients.push_back(std::move(c));
  return true;
}

std::string DecodeVerp(std::string_view address) {
  // No '=' anywhere: no VERP local part (most headers; checked first).
  if (address.find('=') == std::string_view::npos) return "";
  std::string a = FirstAddress(address);
  size_t at = a.rfind('@');
  if (at == std::string::npos) return "";
  std::string_view local = std::string_view(a).substr(0, at);
  size_t eq = local.rfind('=');
  if (eq == std::string_view::npos || eq + 1 >= local.size()) return "";
  size_t sep = local.substr(0, eq).find_last_of("+-");
  if (sep == std::string_view::npos) return "";
  std::string_view user = local.substr(sep + 1, eq - sep - 1);
  std::string_view domain = local.substr(eq + 1);
  if (user.empty() || domain.find('.') == std::string_view::npos) return "";
  return std::string(user) + "@" + std::string(domain);
}

void ReadOriginal(const Part* part, const Context& ctx, CharsetConverter* cc, OriginalMessage* out) {
  static thread_local Headers parsed;  // reused: its fields vector keeps its capacity
  const Headers* h = nullptr;
  if (part) {
    // The parser read this part's headers into ctx.original_headers already.
    h = ctx.original_headers;
  } else if (!ctx.inline_original.empty()) {
    std::string_view body = ctx.inline_original;
    while (!body.empty() && (body.front() == '\n' || body.front() == ' ')) body.remove_prefix(1);
    ParseHeaders(body, &parsed);
    h = &parsed;
  }
  if (h) {
    // Decoded into *out's strings (cleared by the caller), their capacity
    // reused when the caller reuses *out.
    out->message_id.clear();
    AppendUnfolded(h->Raw("Message-ID"), &out->message_id);
    cc->DecodeHeaderTo(h->Raw("From"), &out->from);
    cc->DecodeHeaderTo(h->Raw("To"), &out->to);
    cc->DecodeHeaderTo(h->Raw("Subject"), &out->subject);
    cc->DecodeHeaderTo(h->Raw("List-Id"), &out->list_id);
    for (std::string_view n : {"X-Campaign-Id"sv, "X-Mailgun-Campaign-Id"sv, "X-CampaignID"sv, "Feedback-ID"sv}) {
      if (!out->list_id.empty()) break;
      out->list_id.clear();
      AppendUnfolded(h->Raw(n), &out->list_id);
    }
    out->verp_recipient = DecodeVerp(h->Raw("Return-Path"));
  }
  if (out->verp_recipient.empty()) {
    for (std::string_view n : {"X-Original-To"sv, "Delivered-To"sv, "To"sv}) {
      out->verp_recipient = DecodeVerp(ctx.headers->Raw(n));
      if (!out->verp_recipient.empty()) break;
    }
  }
  SanitizeUtf8(&out->message_id);
  SanitizeUtf8(&out->list_id);
}

}  // namespace rebound::bounce
