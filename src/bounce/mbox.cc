// MboxSplitter: see rebound/bounce.h.
#include <algorithm>
#include <string>

#include "bounce/mime.h"
#include "rebound/bounce.h"

namespace rebound {

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

struct MboxSplitter::Impl {
  Impl(Callback cb, size_t max_message) : cb(std::move(cb)), max(max_message) {}

  void Feed(std::string_view chunk);
  void Finish();
  void FeedLines(std::string_view chunk);  // Feed after the stream's first bytes were looked at
  // in_chunk: line points into the chunk Feed is reading (else a copy).
  void Line(std::string_view line, bool in_chunk);
  void Bulk(std::string_view lines);  // whole lines of the chunk, none starting "From "
  void Append(std::string_view piece, bool in_chunk);
  void FlushSpan();
  size_t Size() const { return msg.size() + span.size(); }
  void Emit();

  Callback cb;
  size_t max;
  std::string pending;  // partial line
  // The current message is msg followed by span: span is its latest bytes
  // while they are still in the caller's chunk, so a message that lies
  // within one chunk reaches the callback without being copied.
  std::string msg;
  std::string_view span;
  bool truncated = false;
  bool seen_content = false;
  bool prev_blank = true;
  bool is_mbox = false;
  size_t messages = 0;
  bool started = false;   // the first chunk was looked at (BOM, line ends)
  bool cr_lines = false;  // an mbox with CR line ends: read with LF instead
  bool prev_cr = false;   // the last byte fed was a CR (cr_lines only)
  std::string cr_buf;     // the chunk with its line ends made LF (cr_lines only)
};

MboxSplitter::MboxSplitter(Callback cb, size_t max_message)
    : impl_(std::make_unique<Impl>(std::move(cb), max_message)) {}
MboxSplitter::~MboxSplitter() = default;

void MboxSplitter::Feed(std::string_view chunk) { impl_->Feed(chunk); }
void MboxSplitter::Finish() { impl_->Finish(); }
size_t MboxSplitter::messages() const { return impl_->messages; }

void MboxSplitter::Impl::FlushSpan() {
  msg.append(span);
  span = {};
}

void MboxSplitter::Impl::Append(std::string_view piece, bool in_chunk) {
  if (!in_chunk) {
    FlushSpan();
    msg.append(piece);
  } else if (span.empty()) {
    span = piece;
  } else if (span.data() + span.size() == piece.data()) {
    span = std::string_view(span.data(), span.size() + piece.size());
  } else {  // a line was left out in between
    FlushSpan();
    span = piece;
  }
}

void MboxSplitter::Impl::Emit() {
  if (seen_content) {
    if (msg.empty()) {
      cb(span, truncated);
    } else {
      FlushSpan();
      cb(msg, truncated);
    }
    ++messages;
  }
  msg.clear();
  span = {};
  truncated = false;
  seen_content = false;
  prev_blank = true;
}

void MboxSplitter::Impl::Line(std::string_view line, bool in_chunk) {
  // A "From " line separates messages only in an mbox, i.e. when the stream
  // itself began with one, and only after a blank line (or at the top).
  if (line.starts_with("From ")) {
    if (messages == 0 && !seen_content) {
      is_mbox = true;
      msg.clear();
      span = {};
      return;
    }
    // Some writers omit the blank line before the next postmark; a line that
    // is a whole postmark ("From sender Thu Jul  2 12:05:05 2020") separates
    // messages anyway. Body lines that begin with "From " rarely end in an
    // asctime date.
    if (is_mbox && (prev_blank || IsPostmark(line))) {
      Emit();
      return;
    }
  }
  std::string_view t = line;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.remove_suffix(1);
  prev_blank = t.empty();
  if (!t.empty()) seen_content = true;
  if (Size() + line.size() > max) {
    truncated = true;
    return;
  }
  Append(line, in_chunk);
}

void MboxSplitter::Impl::Feed(std::string_view chunk) {
  if (!started && !chunk.empty()) {
    started = true;
    // A byte order mark that an editor wrote before the first line.
    if (chunk.starts_with("\xEF\xBB\xBF")) chunk.remove_prefix(3);
    // An mbox whose lines end in CR alone (old Mac files): its separators
    // are found only once its line ends read as LF. A single message needs
    // no lines here (Parse reads CR line ends), so it is not copied.
    const size_t eol = chunk.find_first_of("\r\n");
    cr_lines = chunk.starts_with("From ") && eol != std::string_view::npos && eol + 1 < chunk.size() &&
               chunk[eol] == '\r' && chunk[eol + 1] != '\n';
  }
  if (cr_lines) {
    cr_buf.clear();
    for (char c : chunk) {
      const bool lf_of_crlf = c == '\n' && prev_cr;  // a CRLF among the CRs (across chunks too)
      prev_cr = c == '\r';
      if (!lf_of_crlf) cr_buf.push_back(c == '\r' ? '\n' : c);
    }
    chunk = cr_buf;
  }
  FeedLines(chunk);
}

void MboxSplitter::Impl::FeedLines(std::string_view chunk) {
  // Finish a line left over from the last chunk.
  if (!pending.empty()) {
    size_t nl = chunk.find('\n');
    if (nl == std::string_view::npos) {
      pending.append(chunk);
      if (pending.size() > max) {  // a "line" longer than a whole message
        Line(pending, false);
        pending.clear();
      }
      return;
    }
    pending.append(chunk.substr(0, nl + 1));
    Line(pending, false);
    pending.clear();
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
    } else if (size_t hit = bounce::FindBytes(lines, "\nFrom "); hit != std::string_view::npos) {
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
    pending.append(chunk);
    if (pending.size() > max) {
      Line(pending, false);
      pending.clear();
    }
  }
  FlushSpan();  // the chunk is the caller's only until Feed returns
}

void MboxSplitter::Impl::Bulk(std::string_view lines) {
  if (lines.empty()) return;
  if (Size() + lines.size() > max) {
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
  if (!seen_content) seen_content = std::any_of(lines.begin(), lines.end(), not_line_end);
  size_t last_start = lines.size() >= 2 ? lines.rfind('\n', lines.size() - 2) : std::string_view::npos;
  last_start = last_start == std::string_view::npos ? 0 : last_start + 1;
  prev_blank = std::none_of(lines.begin() + static_cast<std::ptrdiff_t>(last_start), lines.end(), not_line_end);
  Append(lines, true);
}

void MboxSplitter::Impl::Finish() {
  if (!pending.empty()) {
    Line(pending, false);
    pending.clear();
  }
  Emit();
}

}  // namespace rebound
