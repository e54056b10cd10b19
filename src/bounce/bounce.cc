// BounceParser: the order in which a message is read.
//
//  1. MIME structure (mime.cc); text parts decoded to UTF-8 (ReadContext).
//  2. The stages of kStages, in order; the first that finds recipients
//     decides:
//     - an ARF feedback report (RFC 5965), Microsoft JMRP, Apple Mail's
//       X-Apple-Unsubscribe opt-out          -> complaint / feedback
//     - the RFC 3464/6522 delivery-status part (dsn.cc), or its fields as
//       plain text, with what they leave out filled in from the text by the
//       extractors (CompleteFromText)
//     - the per-format extractors (extractors/, order in registry.cc)
//     - a delivery-status part without recipient blocks: the returned
//       message's recipient, cause unknown
//     - RFC 3834 auto-replies                -> auto_reply / vacation
//  3. Anything else is not a bounce.
// Then every recipient's diagnostic goes through the Classifier (finalize.cc),
// and the generic prose reader (prose.cc) where that names no cause.
#include "rebound/bounce.h"

#include <algorithm>
#include <cctype>

#include "bounce/dsn.h"
#include "bounce/extract.h"
#include "bounce/finalize.h"
#include "bounce/mime.h"
#include "bounce/prose.h"

namespace rebound {

using namespace bounce;

namespace {

constexpr size_t kTextLimit = 128 << 10;      // decoded bounce text examined
constexpr size_t kPartInputLimit = 192 << 10; // raw bytes of one text part decoded (>= kTextLimit after decoding)
constexpr size_t kOriginalLimit = 64 << 10;

// Converts CRLF and lone CR to LF; returns a view of s itself when it has no CR.
std::string_view NormalizeNewlines(std::string_view s, std::string* buf) {
  if (s.find('\r') == std::string_view::npos) return s;
  buf->clear();
  buf->reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const size_t cr = FindEither(s, i, '\r', '\r');
    buf->append(s.data() + i, cr - i);  // the run before the CR, at once
    if (cr == s.size()) break;
    buf->push_back('\n');
    i = cr + 1;
    if (i < s.size() && s[i] == '\n') ++i;
  }
  return *buf;
}

// Appends the text of html to *out, tags dropped (block-level ones end a
// line) and the common entities decoded, until out holds limit bytes (the
// bounce text is cut there anyway).
void AppendStrippedHtml(std::string_view html, std::string* out, size_t limit) {
  bool tag = false;
  const size_t n = html.size();
  size_t i = 0;
  while (i < n && out->size() < limit) {
    // Runs without markup are copied (or skipped, inside a tag) at once.
    size_t j;
    if (!tag) {
      j = FindEither(html, i, '<', '&');
      out->append(html.data() + i, j - i);
    } else {
      j = FindEither(html, i, '<', '>');
    }
    i = j;
    if (i >= n) break;
    const char c = html[i];
    if (c == '<') {
      tag = true;
      // Block-level tags end a line.
      // (Only tags whose name starts with one of their letters are compared.)
      std::string_view rest = html.substr(i);
      const char next = i + 1 < n ? LowerAscii(html[i + 1]) : '\0';
      if ((next == 'b' || next == 'p' || next == '/' || next == 't' || next == 'l') &&
          (IStartsWith(rest, "<br") || IStartsWith(rest, "<p") || IStartsWith(rest, "</p") || IStartsWith(rest, "<tr") ||
           IStartsWith(rest, "</div") || IStartsWith(rest, "<li")))
        out->push_back('\n');
      ++i;
      continue;
    }
    if (c == '>') {  // only reached inside a tag
      tag = false;
      ++i;
      continue;
    }
    // '&' outside a tag.
    static const std::pair<std::string_view, char> kEntities[] = {
        {"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&nbsp;", ' '}, {"&#39;", '\''}};
    bool done = false;
    for (auto& [name, ch] : kEntities) {
      if (IStartsWith(html.substr(i), name)) {
        out->push_back(ch);
        i += name.size();
        done = true;
        break;
      }
    }
    if (!done) {
      out->push_back('&');
      ++i;
    }
  }
}

struct Found {
  const Part* dsn = nullptr;        // message/delivery-status
  const Part* feedback = nullptr;   // message/feedback-report
  const Part* original = nullptr;   // message/rfc822, text/rfc822-headers
  std::vector<const Part*> texts;   // text/plain outside attached messages
  std::vector<const Part*> htmls;
};

void Walk(const Part& p, bool top, Found* f) {
  const std::string& t = p.content_type.type;
  if (t == "message/delivery-status" || t == "message/global-delivery-status") {
    if (!f->dsn) f->dsn = &p;
    return;
  }
  if (t == "message/feedback-report") {
    if (!f->feedback) f->feedback = &p;
    return;
  }
  if (t == "message/rfc822" || t == "message/global" || t == "text/rfc822-headers" ||
      t == "message/rfc822-headers" || t == "message/global-headers") {
    if (!top) {
      if (!f->original) f->original = &p;
      return;
    }
    // A message that is nothing but the reported one (Microsoft's junk-mail
    // reports may come as a bare message/rfc822): that is the original.
    if (t == "message/rfc822" && !p.children.empty()) {
      f->original = &p;
      return;
    }
  }
  if (t.starts_with("multipart/")) {
    if (p.children.empty()) {  // no usable boundary: read the body as text
      f->texts.push_back(&p);
      return;
    }
    for (const auto& c : p.children) Walk(c, false, f);
    return;
  }
  if (!top && p.is_attachment && t != "text/plain") return;
  // A feedback loop that labels its report part text/plain: the part is
  // the report if it opens with the field every report starts with.
  if (!top && !f->feedback && t == "text/plain") {
    std::string_view b = p.body;
    while (!b.empty() && (b.front() == '\n' || b.front() == '\r' || b.front() == ' ')) b.remove_prefix(1);
    if (b.size() > 14 && IEquals(b.substr(0, 14), "Feedback-Type:")) {
      f->feedback = &p;
      return;
    }
  }
  if (t == "text/plain" || t == "text" || (t.starts_with("text/") && t != "text/html" && !top)) {
    if (!top && p.is_attachment && !f->texts.empty()) return;
    f->texts.push_back(&p);
  } else if (t == "text/html") {
    f->htmls.push_back(&p);
  } else if (top && !t.starts_with("message/")) {
    f->texts.push_back(&p);  // odd or missing type on a simple message: still text
  }
}

// "extractor:NAME" for each extractor, in Extractors() order (static
// storage for BounceRecord::decided_by).
std::string_view ExtractorSource(size_t index) {
  static const std::vector<std::string> kSources = [] {
    std::vector<std::string> v;
    for (const auto& e : Extractors()) v.push_back(std::string("extractor:") + e.name);
    return v;
  }();
  return index < kSources.size() ? std::string_view(kSources[index]) : std::string_view("extractor");
}

void SetSource(Extraction* ex, std::string_view source) {
  for (auto& c : ex->recipients) c.source = source;
}

// The extractors whose text states the SMTP command that a DSN's fields
// leave out: Postfix's and Sendmail's always; Exim's (4.87+) and Courier's,
// whose DSN parts say Status 5.0.0, only when the report is theirs. The
// others' texts add nothing to a DSN that has every diagnostic.
enum class CommandTelling { always, own_reports };

struct CommandTeller {
  std::string_view extractor;
  CommandTelling telling;
};
constexpr CommandTeller kCommandTellers[] = {{"postfix", CommandTelling::always},
                                             {"sendmail", CommandTelling::always},
                                             {"exim", CommandTelling::own_reports},
                                             {"courier", CommandTelling::own_reports}};

bool TellsCommand(const ExtractorEntry& e, std::string_view report_kind) {
  for (const CommandTeller& t : kCommandTellers)
    if (t.extractor == e.name) return t.telling == CommandTelling::always || report_kind == e.name;
  return false;
}

// A line of the bounce's own words that names the recipient and then says,
// after a colon, what became of it ("Delivery to a@b failed with error:
// 550 ...", "<a@b>: mailbox unavailable"): the text after that colon, or ""
// when no line does. A line that only introduces (nothing after the colon)
// or names the address after its colon (a "To:" field) says nothing of it,
// nor does a line where the address is part of a path or a longer word.
std::string LineNamingRecipient(std::string_view own, std::string_view rcpt) {
  if (rcpt.empty()) return "";
  for (size_t at = IFind(own, rcpt); at != std::string_view::npos; at = IFind(own, rcpt, at + rcpt.size())) {
    // The address standing alone, not inside a path or a longer address
    // ("/home/u/.forward/a@b: No such file" names a file).
    const char before = at == 0 ? '\n' : own[at - 1];
    const size_t end = at + rcpt.size();
    const char after = end < own.size() ? own[end] : '\n';
    if (std::string_view(" \t\n<(\"'[,;").find(before) == std::string_view::npos ||
        std::isalnum(static_cast<unsigned char>(after)) || after == '.' || after == '-' || after == '_')
      continue;
    size_t eol = own.find('\n', at);
    if (eol == std::string_view::npos) eol = own.size();
    std::string_view rest = own.substr(at + rcpt.size(), eol - at - rcpt.size());
    size_t colon = rest.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view said = Trim(rest.substr(colon + 1));
    if (said.size() < 8 || std::none_of(said.begin(), said.end(), [](char ch) { return std::isalpha(static_cast<unsigned char>(ch)); }))
      continue;
    return std::string(said);
  }
  return "";
}

// Fills in what a DSN's fields leave out (the SMTP command, sometimes the
// diagnostic) from the human-readable part. With every diagnostic present
// only the texts that tell the command are worth reading.
void CompleteFromText(const Context& ctx, Extraction* ex) {
  bool missing = false;
  for (auto& c : ex->recipients) {
    missing = missing || c.diagnostic.empty();
    if (!c.diagnostic.empty()) c.source = "diagnostic-code";
  }
  bool read_by_format = false;  // a format's reader took what its text tells
  for (size_t ei = 0; ei < Extractors().size(); ++ei) {
    const auto& e = Extractors()[ei];
    if (std::string_view(e.name) == "generic") break;  // the last resort reads any text, not a format's
    if (!missing && !TellsCommand(e, ex->kind)) continue;
    Extraction text_ex;
    if (e.fn(ctx, &text_ex) && !text_ex.recipients.empty()) {
      read_by_format = true;
      MergeTextDiagnostics(text_ex, ex);
      for (auto& c : ex->recipients)
        if (c.source.empty() && !c.diagnostic.empty()) c.source = ExtractorSource(ei);
      if (ex->kind.empty() || ex->kind == "rfc3464") ex->kind = text_ex.kind;
      break;
    }
  }
  // A quoted session states the command that the fields leave out: the
  // reply a record holds, shown after ">>> DATA", answered DATA. (A
  // format's reader has read its own transcript already.)
  if (!read_by_format && std::any_of(ex->recipients.begin(), ex->recipients.end(), [](const Candidate& c) {
        return c.command == SmtpCommand::kUnknown && !c.diagnostic.empty();
      })) {
    // (the markers are sought first: where the bounce's own words end
    // costs more to find, and most texts quote no session)
    const size_t marker = std::min({FindBytes(ctx.text, "<<<"), FindBytes(ctx.text, "<--"), FindBytes(ctx.text, "Out:")});
    const std::string_view own =
        std::string_view(ctx.text).substr(0, marker == std::string::npos ? 0 : ProseEndOf(ctx));
    if (marker < own.size()) {
      const auto lines = Lines(own);
      for (auto& c : ex->recipients)
        if (c.command == SmtpCommand::kUnknown && !c.diagnostic.empty())
          c.command = CommandOfQuotedReply(lines, c.diagnostic);
    }
  }
  // Still no diagnostic: a line of the bounce's own words that names the
  // recipient and says after a colon what became of it; else the
  // human-readable part is all there is.
  std::string fallback;
  for (auto& c : ex->recipients) {
    if (!c.diagnostic.empty()) continue;
    if (std::string said = LineNamingRecipient(std::string_view(ctx.text).substr(0, ProseEndOf(ctx)), c.recipient);
        !said.empty()) {
      c.diagnostic = std::move(said);
      c.source = ProseWhereName(ProseWhere::kNearRecipient);  // what the prose reader would find there, read first
      continue;
    }
    // (only the bounce's own words: not a returned message no marker announced)
    if (fallback.empty()) fallback = SquashPrefix(std::string_view(ctx.text).substr(0, ProseEndOf(ctx)), 1000);
    c.diagnostic = fallback;
    c.source = "text";
    c.whole_text = true;
  }
}

// --- The stages: the ways of finding a message's recipients, in order ------

// What every stage reads.
struct Reading {
  const Context& ctx;
  const Found& found;
  std::string_view dsn_fields;  // the delivery-status part decoded, "" when none
  CharsetConverter* cc;
};

// A stage returns true when it found the message's recipients in *ex (empty
// on entry); the first that does decides.
using Stage = bool (*)(const Reading& r, Extraction* ex);

// An ARF feedback report (RFC 5965).
bool ReadArfStage(const Reading& r, Extraction* ex) {
  if (!r.found.feedback || !ReadFeedbackReport(*r.found.feedback, r.ctx, r.cc, ex)) return false;
  SetSource(ex, "format:arf");
  return true;
}

// Microsoft's junk-mail reporting program: the complaint is the attached
// message, its recipient in X-HmXmrOriginalRecipient.
bool ReadJunkMailReportStage(const Reading& r, Extraction* ex) {
  const Headers* original = r.ctx.original_headers;
  if (!original || !original->Has("X-HmXmrOriginalRecipient")) return false;
  Candidate c;
  c.recipient = Lower(FirstAddress(original->Raw("X-HmXmrOriginalRecipient")));
  c.feedback_type = "abuse";
  c.reason_hint = Reason::feedback;
  c.diagnostic = r.ctx.subject;
  c.source = "format:arf";
  ex->kind = "arf";
  ex->recipients.push_back(std::move(c));
  return true;
}

// Apple Mail's "Unsubscribe" button mails the list's address a message
// marked X-Apple-Unsubscribe: true: an opt-out from the sender of this
// message, a feedback report in all but format (and Auto-Submitted, so it
// must be read before the auto-replies).
bool ReadAppleUnsubscribeStage(const Reading& r, Extraction* ex) {
  const Context& ctx = r.ctx;
  if (!ctx.headers || !IEquals(Trim(Unfold(ctx.headers->Raw("X-Apple-Unsubscribe"))), "true")) return false;
  Candidate c;
  c.recipient = Lower(FirstAddress(ctx.from));
  if (c.recipient.empty()) return false;
  c.feedback_type = "opt-out";
  c.reason_hint = Reason::feedback;
  c.diagnostic = SquashPrefix(ctx.text, 300);
  c.source = "format:unsubscribe";
  ex->kind = "unsubscribe";
  ex->recipients.push_back(std::move(c));
  return true;
}

// The RFC 3464/6522 delivery-status part, completed from the text.
bool ReadDsnPartStage(const Reading& r, Extraction* ex) {
  if (!r.found.dsn || !ReadDeliveryStatus(r.dsn_fields, r.ctx, ex)) return false;
  CompleteFromText(r.ctx, ex);
  return true;
}

// Some MTAs send the delivery-status fields as plain text.
bool ReadDsnFieldsInTextStage(const Reading& r, Extraction* ex) {
  const Context& ctx = r.ctx;
  if (r.found.dsn) return false;
  size_t at = ctx.Find("Final-Recipient:");
  if (at == std::string::npos || ctx.Find("Status:") == std::string::npos) return false;
  size_t rep = ctx.Find("Reporting-MTA:");
  if (rep != std::string::npos && rep < at) at = rep;
  if (!ReadDeliveryStatus(std::string_view(ctx.text).substr(at), ctx, ex)) return false;
  CompleteFromText(ctx, ex);
  return true;
}

// The per-format extractors, in their own order (extractors/registry.cc).
bool ReadByFormatStage(const Reading& r, Extraction* ex) {
  const Context& ctx = r.ctx;
  for (size_t ei = 0; ei < Extractors().size(); ++ei) {
    *ex = Extraction();
    if (!Extractors()[ei].fn(ctx, ex)) continue;
    SetSource(ex, ExtractorSource(ei));
    // A recipient the text does not name is the returned message's To.
    for (auto& c : ex->recipients)
      if (c.recipient.empty()) c.recipient = Lower(FirstAddress(OriginalTo(ctx)));
    std::erase_if(ex->recipients, [](const Candidate& c) { return c.recipient.empty(); });
    // One record per recipient: the first mention carries the reason.
    std::vector<Candidate> unique;
    for (auto& c : ex->recipients) {
      bool seen = false;
      for (const auto& u : unique) seen = seen || u.recipient == c.recipient;
      if (!seen) unique.push_back(std::move(c));
    }
    ex->recipients = std::move(unique);
    // A delivery-status part was there but named no recipient the reader
    // could use ("Final-Recipient: rfc822; @host"): when it holds exactly
    // one recipient block and the text one recipient, the block is that
    // recipient's, and its Status says more than a code-less reason line.
    if (r.found.dsn && ex->recipients.size() == 1 && ex->recipients[0].status.empty()) {
      std::string status, remote_mta;
      if (LoneBlockFields(r.dsn_fields, &status, &remote_mta)) {
        Candidate& c = ex->recipients[0];
        c.status = std::move(status);
        if (c.remote_mta.empty()) c.remote_mta = std::move(remote_mta);
      }
    }
    if (!ex->recipients.empty()) return true;
  }
  return false;
}

// A delivery-status part without any recipient block (a truncated DSN)
// still reports a failure, for the returned message's recipient; its cause
// is unknown (no diagnostic: reason undefined).
bool ReadTruncatedDsnStage(const Reading& r, Extraction* ex) {
  if (!r.found.dsn) return false;
  std::string rcpt = Lower(FirstAddress(OriginalTo(r.ctx)));
  if (rcpt.empty()) return false;
  Candidate c;
  c.recipient = std::move(rcpt);
  ex->recipients.push_back(std::move(c));
  ex->kind = GuessKind(r.ctx);
  return true;
}

// An RFC 3834 auto-reply.
bool ReadAutoReplyStage(const Reading& r, Extraction* ex) {
  if (!ReadAutoReply(r.ctx, ex)) return false;
  SetSource(ex, "format:rfc3834");
  return true;
}

// The attached message of a notice that gave no recipient, in *raw, when it
// is itself a bounce: a delivery report (multipart/report), or a message
// from the mailer daemon or postmaster. Its bytes are copied, as reading it
// reuses the buffers the current message lives in.
bool AttachedBounce(const Found& found, std::string* raw) {
  const Part* p = found.original;
  if (!p || p->children.empty() || p->content_type.type == "text/rfc822-headers" ||
      p->content_type.type == "message/rfc822-headers" || p->content_type.type == "message/global-headers")
    return false;
  if (!p->encoding.empty() && p->encoding != "7bit" && p->encoding != "8bit" && p->encoding != "binary") return false;
  const Headers& h = p->children[0].headers;
  const std::string type = Lower(h.Raw("Content-Type"));
  const std::string from = Lower(h.Raw("From"));
  const bool report = type.find("multipart/report") != std::string::npos;
  const bool daemon = from.find("mailer-daemon") != std::string::npos || from.find("postmaster") != std::string::npos;
  if (!report && !daemon) return false;
  raw->assign(p->body);
  return true;
}

// The stages in the order they are tried: complaints and opt-outs before
// the failure reports, the auto-replies last (bounces may be marked
// Auto-Submitted too).
constexpr Stage kStages[] = {
    ReadArfStage,
    ReadJunkMailReportStage,
    ReadAppleUnsubscribeStage,
    ReadDsnPartStage,
    ReadDsnFieldsInTextStage,
    ReadByFormatStage,
    ReadTruncatedDsnStage,
    ReadAutoReplyStage,
};

}  // namespace

struct BounceParser::Impl {
  const Classifier* classifier;
  Classifier::ScratchPtr scratch;
  CharsetConverter cc;
  std::string norm_buf;
  // Capacity kept from one message to the next: the bounce text and its
  // lower-case copy are lent to each message's Context.
  std::string text_buf, lower_buf, dsn_buf, subject_buf, from_buf, to_buf, date_buf;
  // The MIME tree, what Walk found in it, and the headers of an original
  // that is not a parsed part: reused, so that their vectors' capacity is.
  Part root;
  Found found;
  Headers original_parsed;
  // The previous message's records, their strings' capacity reused for the
  // next message's (swapped with the result's vector).
  std::vector<BounceRecord> spare_records;
  Finalizer finalizer;
  std::vector<ProseSentence> prose;  // the generic prose reader's sentences, reused
  int nesting = 0;  // > 0 while an attached bounce is read (Parse)
  explicit Impl(const Classifier* c) : classifier(c), scratch(c->NewScratch()), finalizer(c) {}

  // Fills ctx from the parsed message in root: its decoded headers, the
  // parts Walk finds, the original's headers and the bounce text.
  void ReadContext(Context* ctx);
  // One record per recipient of ex, classified, into out->records.
  void MakeRecords(const Context& ctx, const Extraction& ex, BounceResult* out);
};

BounceParser::BounceParser(const Classifier* classifier) : impl_(std::make_unique<Impl>(classifier)) {}
BounceParser::~BounceParser() = default;

void BounceParser::Impl::ReadContext(Context* ctx) {
  ctx->headers = &root.headers;
  cc.DecodeHeaderTo(root.headers.Raw("Subject"), &ctx->subject);
  cc.DecodeHeaderTo(root.headers.Raw("From"), &ctx->from);
  LowerTo(ctx->from, &ctx->from);  // in place
  cc.DecodeHeaderTo(root.headers.Raw("To"), &ctx->to);
  LowerTo(ctx->to, &ctx->to);

  found.dsn = found.feedback = found.original = nullptr;
  found.texts.clear();
  found.htmls.clear();
  Walk(root, true, &found);
  ctx->has_rfc822_part = found.original != nullptr;
  ctx->has_delivery_status = found.dsn != nullptr;
  if (found.original) {
    if (!found.original->children.empty()) {
      ctx->original_headers = &found.original->children[0].headers;
    } else {
      std::string_view body = found.original->body;
      while (!body.empty() && body.front() == '\n') body.remove_prefix(1);
      ParseHeaders(body, &original_parsed);
      ctx->original_headers = &original_parsed;
    }
  }
  std::string& text = ctx->text;
  for (const Part* p : found.texts) {
    if (text.size() >= kTextLimit) break;
    if (!text.empty()) text.push_back('\n');
    AppendDecodedText(*p, &cc, kPartInputLimit, &text);
  }
  if (Trim(text).empty()) {
    for (const Part* p : found.htmls) {
      if (text.size() >= kTextLimit) break;
      AppendStrippedHtml(DecodeText(*p, &cc, kPartInputLimit), &text, kTextLimit);
    }
  }
  if (text.size() > kTextLimit) text.resize(kTextLimit);
  if (size_t m = FindOriginalMarker(text); m != std::string::npos) {
    size_t eol = text.find('\n', m);
    if (eol != std::string::npos) ctx->inline_original = text.substr(eol + 1, kOriginalLimit);
    text.resize(m);
  }
  LowerTo(text, &ctx->lower);
}

void BounceParser::Impl::MakeRecords(const Context& ctx, const Extraction& ex, BounceResult* out) {
  std::string& date = date_buf;
  date.clear();
  AppendUnfolded(root.headers.Raw("Date"), &date);
  finalizer.BeginMessage();
  std::vector<BounceRecord>& records = spare_records;
  records.resize(ex.recipients.size());
  for (size_t i = 0; i < ex.recipients.size(); ++i) {
    const Candidate& c = ex.recipients[i];
    finalizer.FinishInto(c, out->kind, date, scratch.get(), &records[i]);
    // No cause in the fields or the extractor's text, or only the whole
    // text as the diagnostic of one of several recipients (it cannot tell
    // them apart): the generic prose reader looks for the sentence that
    // states one for this recipient (prose.h); the first that names a
    // cause decides.
    if (c.reason_hint == Reason::feedback || c.reason_hint == Reason::vacation ||
        (!(c.whole_text && ex.recipients.size() > 1) && !finalizer.NamesNoCause(records[i])))
      continue;
    const size_t prose_end = ProseEndOf(ctx);
    prose.clear();
    ProseSentences(ctx.text, ctx.lower, prose_end, c.recipient, &prose);
    for (const ProseSentence& s : prose)
      if (finalizer.Reconsider(c, s.text, ProseWhereName(s.where), out->kind, date, scratch.get(), &records[i])) break;
  }
  out->records.swap(records);
}

Status BounceParser::Parse(std::string_view message, BounceResult* out) {
  // *out is overwritten; a caller that reuses one keeps the records' capacity.
  out->is_bounce = false;
  out->kind.clear();
  // The original's fields are cleared rather than replaced: ReadOriginal
  // decodes into them, reusing their capacity.
  for (std::string* f : {&out->original.message_id, &out->original.from, &out->original.to, &out->original.subject,
                         &out->original.list_id, &out->original.verp_recipient})
    f->clear();
  impl_->spare_records.swap(out->records);  // kept, to be filled again below
  out->records.clear();
  // A byte order mark that an editor wrote before the first header field.
  if (message.starts_with("\xEF\xBB\xBF")) message.remove_prefix(3);
  if (Trim(message).empty()) return Status::InvalidArgument("empty input");
  std::string_view msg = NormalizeNewlines(message, &impl_->norm_buf);

  Part& root = impl_->root;  // its vectors' capacity kept from message to message
  ParseEntity(msg, 0, &root);
  if (root.headers.fields.empty()) return Status::InvalidArgument("not an email: no header fields");
  {
    // Binary junk with a stray colon is not an email either: demand at least
    // one of the fields every message carries.
    static constexpr std::string_view kCore[] = {"From", "To", "Subject", "Date", "Message-ID", "Received", "Return-Path",
                                  "Content-Type", "MIME-Version", "Delivered-To"};
    bool any = false;
    for (std::string_view n : kCore) any = any || root.headers.Has(n);
    if (!any) return Status::InvalidArgument("not an email: none of From, To, Subject, Date, Received");
  }

  Context ctx;
  ctx.text.swap(impl_->text_buf);
  ctx.text.clear();
  ctx.lower.swap(impl_->lower_buf);
  ctx.subject.swap(impl_->subject_buf);
  ctx.from.swap(impl_->from_buf);
  ctx.to.swap(impl_->to_buf);
  struct GiveBack {
    Context& ctx;
    Impl& impl;
    ~GiveBack() {
      ctx.text.swap(impl.text_buf);
      ctx.lower.swap(impl.lower_buf);
      ctx.subject.swap(impl.subject_buf);
      ctx.from.swap(impl.from_buf);
      ctx.to.swap(impl.to_buf);
    }
  } give_back{ctx, *impl_};
  impl_->ReadContext(&ctx);

  // The delivery-status fields, decoded once (an MTA may send the part
  // base64-encoded): read by the stages, and by the format hints below.
  std::string& dsn_text = impl_->dsn_buf;  // capacity kept across messages
  dsn_text.clear();
  if (impl_->found.dsn) AppendDecodedText(*impl_->found.dsn, &impl_->cc, kPartInputLimit, &dsn_text);
  const Reading reading{ctx, impl_->found, dsn_text, &impl_->cc};
  Extraction ex;
  bool done = false;
  for (Stage stage : kStages) {
    ex = Extraction();
    done = stage(reading, &ex);
    if (done) break;
  }

  ReadOriginal(impl_->found.original, ctx, &impl_->cc, &out->original);
  if (!done || ex.recipients.empty()) {
    out->is_bounce = false;
    // A notice whose only content is a bounce it carries as an attached
    // message (a gateway passing on the report it received): that report
    // is the bounce. One level deep, as no notice nests further.
    std::string attached;
    if (impl_->nesting == 0 && AttachedBounce(impl_->found, &attached)) {
      ++impl_->nesting;
      Status st = Parse(attached, out);
      --impl_->nesting;
      return st;
    }
    return Status::Ok();
  }
  out->is_bounce = true;
  ApplyFormatHints(ctx, dsn_text, &ex);
  out->kind = ex.kind.empty() ? "rfc3464" : ex.kind;
  impl_->MakeRecords(ctx, ex, out);
  return Status::Ok();
}

}  // namespace rebound
