// BounceParser: the order in which a message is read.
//
//  1. MIME structure (mime.cc); text parts decoded to UTF-8.
//  2. ARF feedback report (RFC 5965)            -> complaint / feedback
//     (also Microsoft JMRP and Apple Mail's X-Apple-Unsubscribe opt-outs)
//  3. RFC 3464/6522 delivery-status part (dsn.cc), diagnostics filled in
//     from the text part by the extractors when the DSN lacks them
//  4. the per-format extractors (extractors/, order in registry.cc)
//  5. RFC 3834 auto-replies                     -> auto_reply / vacation
//  6. anything else is not a bounce.
// Then every recipient's diagnostic goes through the Classifier (finalize.cc).
#include "rebound/bounce.h"

#include <algorithm>
#include <cstring>

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
  explicit Impl(const Classifier* c) : classifier(c), scratch(c->NewScratch()), finalizer(c) {}
};

BounceParser::BounceParser(const Classifier* classifier) : impl_(std::make_unique<Impl>(classifier)) {}
BounceParser::~BounceParser() = default;

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
  ctx.headers = &root.headers;
  impl_->cc.DecodeHeaderTo(root.headers.Raw("Subject"), &ctx.subject);
  impl_->cc.DecodeHeaderTo(root.headers.Raw("From"), &ctx.from);
  LowerTo(ctx.from, &ctx.from);  // in place
  impl_->cc.DecodeHeaderTo(root.headers.Raw("To"), &ctx.to);
  LowerTo(ctx.to, &ctx.to);

  Found& found = impl_->found;
  found.dsn = found.feedback = found.original = nullptr;
  found.texts.clear();
  found.htmls.clear();
  Walk(root, true, &found);
  ctx.has_rfc822_part = found.original != nullptr;
  Headers& original_parsed = impl_->original_parsed;
  if (found.original) {
    if (!found.original->children.empty()) {
      ctx.original_headers = &found.original->children[0].headers;
    } else {
      std::string_view body = found.original->body;
      while (!body.empty() && body.front() == '\n') body.remove_prefix(1);
      ParseHeaders(body, &original_parsed);
      ctx.original_headers = &original_parsed;
    }
  }
  for (const Part* p : found.texts) {
    if (ctx.text.size() >= kTextLimit) break;
    if (!ctx.text.empty()) ctx.text.push_back('\n');
    AppendDecodedText(*p, &impl_->cc, kPartInputLimit, &ctx.text);
  }
  if (Trim(ctx.text).empty()) {
    for (const Part* p : found.htmls) {
      if (ctx.text.size() >= kTextLimit) break;
      AppendStrippedHtml(DecodeText(*p, &impl_->cc, kPartInputLimit), &ctx.text, kTextLimit);
    }
  }
  if (ctx.text.size() > kTextLimit) ctx.text.resize(kTextLimit);
  if (size_t m = FindOriginalMarker(ctx.text); m != std::string::npos) {
    size_t eol = ctx.text.find('\n', m);
    if (eol != std::string::npos) ctx.inline_original = ctx.text.substr(eol + 1, kOriginalLimit);
    ctx.text.resize(m);
  }
  LowerTo(ctx.text, &ctx.lower);

  Extraction ex;
  bool done = false;
  if (found.feedback) done = ReadFeedbackReport(*found.feedback, ctx, &impl_->cc, &ex);
  if (done) SetSource(&ex, "format:arf");
  if (!done && ctx.original_headers && ctx.original_headers->Has("X-HmXmrOriginalRecipient")) {
    // Microsoft's junk-mail reporting program: the complaint is the attached
    // message, its recipient in X-HmXmrOriginalRecipient.
    Candidate c;
    c.recipient = Lower(FirstAddress(ctx.original_headers->Raw("X-HmXmrOriginalRecipient")));
    c.feedback_type = "abuse";
    c.reason_hint = Reason::feedback;
    c.diagnostic = ctx.subject;
    c.source = "format:arf";
    ex.kind = "arf";
    ex.recipients.push_back(std::move(c));
    done = true;
  }
  if (!done && ctx.headers && IEquals(Trim(Unfold(ctx.headers->Raw("X-Apple-Unsubscribe"))), "true")) {
    // Apple Mail's "Unsubscribe" button mails the list's address a message
    // marked X-Apple-Unsubscribe: true: an opt-out from the sender of this
    // message, a feedback report in all but format (and Auto-Submitted, so
    // it must be read before the auto-replies).
    Candidate c;
    c.recipient = Lower(FirstAddress(ctx.from));
    c.feedback_type = "opt-out";
    c.reason_hint = Reason::feedback;
    c.diagnostic = SquashPrefix(ctx.text, 300);
    c.source = "format:unsubscribe";
    ex.kind = "unsubscribe";
    if (!c.recipient.empty()) {
      ex.recipients.push_back(std::move(c));
      done = true;
    }
  }
  // The delivery-status fields, decoded once (an MTA may send the part
  // base64-encoded): read here, and by the format hints below.
  std::string& dsn_text = impl_->dsn_buf;  // capacity kept across messages
  dsn_text.clear();
  if (found.dsn) AppendDecodedText(*found.dsn, &impl_->cc, kPartInputLimit, &dsn_text);
  if (!done && found.dsn) {
    ex = Extraction();
    done = ReadDeliveryStatus(dsn_text, ctx, &ex);
  }
  if (!done && !found.dsn) {
    // Some MTAs send the delivery-status fields as plain text.
    size_t at = ctx.Find("Final-Recipient:");
    if (at != std::string::npos && ctx.Find("Status:") != std::string::npos) {
      size_t rep = ctx.Find("Reporting-MTA:");
      if (rep != std::string::npos && rep < at) at = rep;
      ex = Extraction();
      done = ReadDeliveryStatus(std::string_view(ctx.text).substr(at), ctx, &ex);
    }
  }
  if (done) {
    // Fill in what the DSN leaves out (the SMTP command, sometimes the
    // diagnostic) from the human-readable part.
    // With every diagnostic present only the texts that add the SMTP
    // command (Postfix, Sendmail; Exim 4.87+ and Courier, whose DSN parts
    // say Status 5.0.0, only when the report is theirs) are worth reading.
    bool missing = false;
    for (auto& c : ex.recipients) {
      missing = missing || c.diagnostic.empty();
      if (!c.diagnostic.empty()) c.source = "diagnostic-code";
    }
    for (size_t ei = 0; ei < Extractors().size(); ++ei) {
      const auto& e = Extractors()[ei];
      std::string_view name = e.name;
      if (name == "generic") break;
      const bool tells_command =
          name == "postfix" || name == "sendmail" || ((name == "exim" || name == "courier") && ex.kind == name);
      if (!missing && !tells_command) continue;
      Extraction text_ex;
      if (e.fn(ctx, &text_ex) && !text_ex.recipients.empty()) {
        MergeTextDiagnostics(text_ex, &ex);
        for (auto& c : ex.recipients)
          if (c.source.empty() && !c.diagnostic.empty()) c.source = ExtractorSource(ei);
        if (ex.kind.empty() || ex.kind == "rfc3464") ex.kind = text_ex.kind;
        break;
      }
    }
    // Still no diagnostic: the human-readable part is all there is.
    std::string fallback;
    for (auto& c : ex.recipients) {
      if (!c.diagnostic.empty()) continue;
      // (only the bounce's own words: not a returned message no marker announced)
      if (fallback.empty()) fallback = SquashPrefix(std::string_view(ctx.text).substr(0, ProseEndOf(ctx)), 1000);
      c.diagnostic = fallback;
      c.source = "text";
      c.whole_text = true;
    }
  }
  if (!done) {
    for (size_t ei = 0; ei < Extractors().size(); ++ei) {
      const auto& e = Extractors()[ei];
      ex = Extraction();
      if (e.fn(ctx, &ex)) {
        SetSource(&ex, ExtractorSource(ei));
        // A recipient the text does not name is the returned message's To.
        for (auto& c : ex.recipients)
          if (c.recipient.empty()) c.recipient = Lower(FirstAddress(OriginalTo(ctx)));
        std::erase_if(ex.recipients, [](const Candidate& c) { return c.recipient.empty(); });
        // One record per recipient: the first mention carries the reason.
        std::vector<Candidate> unique;
        for (auto& c : ex.recipients) {
          bool seen = false;
          for (const auto& u : unique) seen = seen || u.recipient == c.recipient;
          if (!seen) unique.push_back(std::move(c));
        }
        ex.recipients = std::move(unique);
        if (!ex.recipients.empty()) {
          done = true;
          break;
        }
      }
    }
  }
  if (!done && found.dsn) {
    // A delivery-status part without any recipient block (a truncated DSN)
    // still reports a failure, for the returned message's recipient; its
    // cause is unknown (no diagnostic: reason undefined).
    std::string rcpt = Lower(FirstAddress(OriginalTo(ctx)));
    if (!rcpt.empty()) {
      ex = Extraction();
      Candidate c;
      c.recipient = std::move(rcpt);
      ex.recipients.push_back(std::move(c));
      ex.kind = GuessKind(ctx);
      done = true;
    }
  }
  if (!done) {
    ex = Extraction();
    done = ReadAutoReply(ctx, &ex);
    if (done) SetSource(&ex, "format:rfc3834");
  }

  ReadOriginal(found.original, ctx, &impl_->cc, &out->original);
  if (!done || ex.recipients.empty()) {
    out->is_bounce = false;
    return Status::Ok();
  }
  out->is_bounce = true;
  ApplyFormatHints(ctx, dsn_text, &ex);
  out->kind = ex.kind.empty() ? "rfc3464" : ex.kind;
  std::string& date = impl_->date_buf;
  date.clear();
  AppendUnfolded(root.headers.Raw("Date"), &date);
  impl_->finalizer.BeginMessage();
  std::vector<BounceRecord>& records = impl_->spare_records;
  records.resize(ex.recipients.size());
  for (size_t i = 0; i < ex.recipients.size(); ++i) {
    Finalizer& fin = impl_->finalizer;
    const Candidate& c = ex.recipients[i];
    fin.FinishInto(c, out->kind, date, impl_->scratch.get(), &records[i]);
    // No cause in the fields or the extractor's text, or only the whole
    // text as the diagnostic of one of several recipients (it cannot tell
    // them apart): the generic prose reader looks for the sentence that
    // states one for this recipient (prose.h); the first that names a
    // cause decides.
    if (c.reason_hint == Reason::feedback || c.reason_hint == Reason::vacation ||
        (!(c.whole_text && ex.recipients.size() > 1) && !fin.NamesNoCause(records[i])))
      continue;
    const size_t prose_end = ProseEndOf(ctx);
    std::vector<ProseSentence>& sentences = impl_->prose;
    sentences.clear();
    ProseSentences(ctx.text, ctx.lower, prose_end, c.recipient, &sentences);
    for (const ProseSentence& s : sentences)
      if (fin.Reconsider(c, s.text, ProseWhereName(s.where), out->kind, date, impl_->scratch.get(), &records[i])) break;
  }
  out->records.swap(records);
  return Status::Ok();
}

// --- MboxSplitter -------------------------------------------------------------

namespace {
// "From <sender> <Www> <Mmm> <d> <hh:mm:ss> <yyyy>" (asctime after the sender).
bool IsPostmark(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  if (line.size() < 5 + 1 + 24 || line.find('\n') != std::string_view::npos) return false;
  std::string_view tail = line.substr(line.size() - 4);
  for (char c : tail)
    if (c < '0' || c > '9') return false;
  // hh:mm:ss just before " yyyy"
  std::string_view clock = line.substr(line.size() - 13, 8);
  if (clock[2] != ':' || clock[5] != ':' || line[line.size() - 5] != ' ') return false;
  for (int i : {0, 1, 3, 4, 6, 7})
    if (clock[i] < '0' || clock[i] > '9') return false;
  static const char* kDays[] = {" Mon ", " Tue ", " Wed ", " Thu ", " Fri ", " Sat ", " Sun "};
  for (const char* d : kDays)
    if (line.find(d) != std::string_view::npos) return true;
  return false;
}
}  // namespace

MboxSplitter::MboxSplitter(Callback cb, size_t max_message) : cb_(std::move(cb)), max_(max_message) {}

void MboxSplitter::FlushSpan() {
  msg_.append(span_);
  span_ = {};
}

void MboxSplitter::Append(std::string_view piece, bool in_chunk) {
  if (!in_chunk) {
    FlushSpan();
    msg_.append(piece);
  } else if (span_.empty()) {
    span_ = piece;
  } else if (span_.data() + span_.size() == piece.data()) {
    span_ = std::string_view(span_.data(), span_.size() + piece.size());
  } else {  // a line was left out in between
    FlushSpan();
    span_ = piece;
  }
}

void MboxSplitter::Emit() {
  if (seen_content_) {
    if (msg_.empty()) {
      cb_(span_, truncated_);
    } else {
      FlushSpan();
      cb_(msg_, truncated_);
    }
    ++messages_;
  }
  msg_.clear();
  span_ = {};
  truncated_ = false;
  seen_content_ = false;
  prev_blank_ = true;
}

void MboxSplitter::Line(std::string_view line, bool in_chunk) {
  // A "From " line separates messages only in an mbox, i.e. when the stream
  // itself began with one, and only after a blank line (or at the top).
  if (line.starts_with("From ")) {
    if (messages_ == 0 && !seen_content_) {
      is_mbox_ = true;
      msg_.clear();
      span_ = {};
      return;
    }
    // Some writers omit the blank line before the next postmark; a line that
    // is a whole postmark ("From sender Thu Jul  2 12:05:05 2020") separates
    // messages anyway. Body lines that begin with "From " rarely end in an
    // asctime date.
    if (is_mbox_ && (prev_blank_ || IsPostmark(line))) {
      Emit();
      return;
    }
  }
  std::string_view t = line;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.remove_suffix(1);
  prev_blank_ = t.empty();
  if (!t.empty()) seen_content_ = true;
  if (Size() + line.size() > max_) {
    truncated_ = true;
    return;
  }
  Append(line, in_chunk);
}

void MboxSplitter::Feed(std::string_view chunk) {
  if (!started_ && !chunk.empty()) {
    started_ = true;
    // A byte order mark that an editor wrote before the first line.
    if (chunk.starts_with("\xEF\xBB\xBF")) chunk.remove_prefix(3);
    // An mbox whose lines end in CR alone (old Mac files): its separators
    // are found only once its line ends read as LF. A single message needs
    // no lines here (Parse reads CR line ends), so it is not copied.
    const size_t eol = chunk.find_first_of("\r\n");
    cr_lines_ = chunk.starts_with("From ") && eol != std::string_view::npos && eol + 1 < chunk.size() &&
                chunk[eol] == '\r' && chunk[eol + 1] != '\n';
  }
  if (cr_lines_) {
    cr_buf_.clear();
    for (char c : chunk) {
      const bool lf_of_crlf = c == '\n' && prev_cr_;  // a CRLF among the CRs (across chunks too)
      prev_cr_ = c == '\r';
      if (!lf_of_crlf) cr_buf_.push_back(c == '\r' ? '\n' : c);
    }
    chunk = cr_buf_;
  }
  FeedLines(chunk);
}

void MboxSplitter::FeedLines(std::string_view chunk) {
  // Finish a line left over from the last chunk.
  if (!pending_.empty()) {
    size_t nl = chunk.find('\n');
    if (nl == std::string_view::npos) {
      pending_.append(chunk);
      if (pending_.size() > max_) {  // a "line" longer than a whole message
        Line(pending_, false);
        pending_.clear();
      }
      return;
    }
    pending_.append(chunk.substr(0, nl + 1));
    Line(pending_, false);
    pending_.clear();
    chunk.remove_prefix(nl + 1);
  }
  // The whole lines of the chunk: runs of lines that do not start with
  // "From " go to the message in one append (Bulk); only "From " lines
  // need Line()'s decisions.
  while (!chunk.empty()) {
    size_t last_nl = chunk.rfind('\n');
    if (last_nl == std::string_view::npos) break;
    std::string_view lines = chunk.substr(0, last_nl + 1);
    size_t from_at = std::string_view::npos;
    if (lines.starts_with("From ")) {
      from_at = 0;
    } else if (size_t hit = FindBytes(lines, "\nFrom "); hit != std::string_view::npos) {
      from_at = hit + 1;
    }
    Bulk(lines.substr(0, std::min(from_at, lines.size())));
    if (from_at == std::string_view::npos) {
      chunk.remove_prefix(lines.size());
      break;
    }
    size_t eol = lines.find('\n', from_at);
    Line(lines.substr(from_at, eol + 1 - from_at), true);
    chunk.remove_prefix(eol + 1);
  }
  // A partial last line waits for the next chunk.
  if (!chunk.empty()) {
    pending_.append(chunk);
    if (pending_.size() > max_) {
      Line(pending_, false);
      pending_.clear();
    }
  }
  FlushSpan();  // the chunk is the caller's only until Feed returns
}

void MboxSplitter::Bulk(std::string_view lines) {
  if (lines.empty()) return;
  if (Size() + lines.size() > max_) {
    // Near the cap each line is kept or dropped on its own.
    size_t pos = 0;
    while (pos < lines.size()) {
      size_t eol = lines.find('\n', pos);
      Line(lines.substr(pos, eol + 1 - pos), true);
      pos = eol + 1;
    }
    return;
  }
  // What Line() would have noted: whether any line has content (a byte
  // other than CR and LF), and whether the last line is blank.
  auto not_line_end = [](char c) { return c != '\n' && c != '\r'; };
  if (!seen_content_) seen_content_ = std::any_of(lines.begin(), lines.end(), not_line_end);
  size_t last_start = lines.size() >= 2 ? lines.rfind('\n', lines.size() - 2) : std::string_view::npos;
  last_start = last_start == std::string_view::npos ? 0 : last_start + 1;
  prev_blank_ = std::none_of(lines.begin() + static_cast<std::ptrdiff_t>(last_start), lines.end(), not_line_end);
  Append(lines, true);
}

void MboxSplitter::Finish() {
  if (!pending_.empty()) {
    Line(pending_, false);
    pending_.clear();
  }
  Emit();
}

}  // namespace rebound
