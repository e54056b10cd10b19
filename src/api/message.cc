// Send requests: JSON in, an RFC 5322 / MIME message out (see message.h).
#include "api/message.h"

#include <nlohmann/json.hpp>

#include "core/civil_time.h"
#include "core/text.h"
#include "relay/smtp_command.h"

namespace rebound::api {

namespace {

using nlohmann::json;

bool HasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

bool IsAscii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

// Headers the builder writes itself.
constexpr std::string_view kOwnHeaders[] = {"from", "to", "cc", "bcc", "subject", "date", "message-id",
                                            "mime-version", "content-type", "content-transfer-encoding",
                                            "reply-to", "x-rebound-bulk", "x-rebound-tag"};

bool IsHeaderName(std::string_view name) {
  if (name.empty() || name.size() > 76) return false;
  for (unsigned char c : name)
    if (c <= 32 || c >= 127 || c == ':') return false;
  return true;
}

bool GetString(const json& j, const char* field, std::string* out, std::string* error) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_string()) {
    *error = std::string("'") + field + "' must be a string";
    return false;
  }
  *out = it->get<std::string>();
  return true;
}

// A mailbox list: a string or an array of strings.
bool GetMailboxes(const json& j, const char* field, std::vector<std::string>* out, std::string* error) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return true;
  auto add = [&](const json& v) {
    if (!v.is_string()) return false;
    std::string s = v.get<std::string>();
    if (HasLineBreak(s) || AddressOf(s).empty()) return false;
    out->push_back(std::move(s));
    return true;
  };
  bool ok = true;
  if (it->is_array()) {
    for (const auto& v : *it) ok = ok && add(v);
  } else {
    ok = add(*it);
  }
  if (!ok) *error = std::string("'") + field + "' must be an address or a list of addresses";
  return ok;
}

void AppendHeader(std::string* out, std::string_view name, std::string_view value) {
  out->append(name).append(": ").append(value).append("\r\n");
}

// "Name <a@b>" with a non-ASCII name: the name RFC 2047-encoded.
std::string EncodeMailbox(std::string_view mailbox) {
  if (IsAscii(mailbox)) return std::string(mailbox);
  const size_t lt = mailbox.rfind('<');
  if (lt == std::string_view::npos) return std::string(mailbox);  // an SMTPUTF8 address: left as is
  std::string_view name = text::Trim(mailbox.substr(0, lt));
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
  return EncodeHeaderWord(name) + " " + std::string(mailbox.substr(lt));
}

std::string JoinMailboxes(const std::vector<std::string>& list) {
  std::string s;
  for (const auto& m : list) s.append(s.empty() ? "" : ", ").append(EncodeMailbox(m));
  return s;
}

std::string WrapBase64(std::string_view bytes) {
  const std::string b = relay::EncodeBase64(bytes);
  std::string out;
  out.reserve(b.size() + b.size() / 76 * 2 + 2);
  for (size_t i = 0; i < b.size(); i += 76) out.append(b, i, 76).append("\r\n");
  return out;
}


// A text part's headers and body.
std::string TextPart(std::string_view subtype, std::string_view content) {
  std::string s = "Content-Type: text/";
  s.append(subtype).append("; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
  s.append(EncodeQuotedPrintable(content));
  return s;
}

// A filename parameter: quoted, or RFC 2231-encoded when not ASCII.
std::string FilenameParam(std::string_view name) {
  if (IsAscii(name)) {
    std::string q = "filename=\"";
    for (char c : name) {
      if (c == '"' || c == '\\') q.push_back('\\');
      if (c >= 32 && c < 127) q.push_back(c);
    }
    return q + "\"";
  }
  std::string s = "filename*=utf-8''";
  static const char* hex = "0123456789ABCDEF";
  for (unsigned char c : name) {
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_') {
      s.push_back(static_cast<char>(c));
    } else {
      s.push_back('%');
      s.push_back(hex[c >> 4]);
      s.push_back(hex[c & 15]);
    }
  }
  return s;
}

}  // namespace

std::string AddressOf(std::string_view mailbox) {
  std::string_view m = text::Trim(mailbox);
  const size_t lt = m.rfind('<');
  if (lt != std::string_view::npos && !m.empty() && m.back() == '>') m = m.substr(lt + 1, m.size() - lt - 2);
  return std::string(text::Trim(m));
}

bool DecodeSendRequest(std::string_view body, SendRequest* out, std::string* error, bool require_recipients) {
  *out = SendRequest();
  const json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    *error = "the body is not valid JSON";
    return false;
  }
  if (!j.is_object()) {
    *error = "the body must be a JSON object";
    return false;
  }
  if (!GetString(j, "from", &out->from, error) || !GetMailboxes(j, "to", &out->to, error) ||
      !GetMailboxes(j, "cc", &out->cc, error) || !GetMailboxes(j, "bcc", &out->bcc, error) ||
      !GetString(j, "reply_to", &out->reply_to, error) || !GetString(j, "subject", &out->subject, error) ||
      !GetString(j, "text", &out->text, error) || !GetString(j, "html", &out->html, error) ||
      !GetString(j, "tag", &out->tag, error))
    return false;
  if (out->from.empty() || HasLineBreak(out->from) || AddressOf(out->from).empty()) {
    *error = "'from' is required: an address, optionally with a name (\"Name <a@example.com>\")";
    return false;
  }
  if (HasLineBreak(out->reply_to) || HasLineBreak(out->subject) || HasLineBreak(out->tag)) {
    *error = "'reply_to', 'subject' and 'tag' cannot contain line breaks";
    return false;
  }
  const size_t n = out->to.size() + out->cc.size() + out->bcc.size();
  if (require_recipients && n == 0) {
    *error = "'to' is required";
    return false;
  }
  if (n > kMaxApiRecipients) {
    *error = "at most " + std::to_string(kMaxApiRecipients) + " recipients (to, cc and bcc together)";
    return false;
  }
  if (auto it = j.find("bulk"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) {
      *error = "'bulk' must be true or false";
      return false;
    }
    out->bulk = it->get<bool>();
  }
  if (auto it = j.find("headers"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) {
      *error = "'headers' must be an object of header names to string values";
      return false;
    }
    for (const auto& [name, value] : it->items()) {
      if (!IsHeaderName(name) || !value.is_string() || HasLineBreak(value.get_ref<const std::string&>())) {
        *error = "header '" + name.substr(0, 80) + "': a name of printable ASCII without ':' and a one-line string value";
        return false;
      }
      const std::string lower = text::Lower(name);
      for (std::string_view own : kOwnHeaders) {
        if (lower == own) {
          *error = "header '" + name + "' is set from the request's own fields";
          return false;
        }
      }
      out->headers.emplace_back(name, value.get<std::string>());
    }
  }
  if (auto it = j.find("attachments"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) {
      *error = "'attachments' must be a list of {filename, content_type, content (base64)}";
      return false;
    }
    for (const auto& a : *it) {
      Attachment att;
      std::string encoded;
      if (!a.is_object() || !GetString(a, "filename", &att.filename, error) ||
          !GetString(a, "content_type", &att.content_type, error) || !GetString(a, "content", &encoded, error)) {
        if (error->empty() || !a.is_object()) *error = "each attachment must be an object";
        return false;
      }
      if (att.filename.empty() || HasLineBreak(att.filename) || HasLineBreak(att.content_type) ||
          att.content_type.find_first_of(";\"") != std::string::npos || att.content_type.find('/') == std::string::npos) {
        *error = "each attachment needs a 'filename' and a 'content_type' like \"application/pdf\"";
        return false;
      }
      if (!relay::DecodeBase64(encoded, &att.content)) {
        *error = "attachment '" + att.filename + "': 'content' is not base64";
        return false;
      }
      out->attachments.push_back(std::move(att));
    }
  }
  if (out->text.empty() && out->html.empty() && out->attachments.empty() && require_recipients) {
    *error = "'text', 'html' or 'attachments' is required";
    return false;
  }
  return true;
}

std::vector<std::string> EnvelopeRecipients(const SendRequest& r) {
  std::vector<std::string> out;
  for (const auto* list : {&r.to, &r.cc, &r.bcc})
    for (const auto& m : *list) out.push_back(AddressOf(m));
  return out;
}

std::string EncodeHeaderWord(std::string_view value) {
  if (IsAscii(value)) return std::string(value);
  // Encoded words of at most 45 bytes of text each (60 of base64), cut at
  // UTF-8 character boundaries, folded onto continuation lines.
  std::string out;
  size_t i = 0;
  while (i < value.size()) {
    size_t j = i;
    while (j < value.size()) {
      size_t len = std::max<size_t>(1, text::Utf8CharLength(value, j));
      if (j + len - i > 45) break;
      j += len;
    }
    if (j == i) j = std::min(value.size(), i + 1);
    if (!out.empty()) out.append("\r\n ");
    out.append("=?UTF-8?B?").append(relay::EncodeBase64(value.substr(i, j - i))).append("?=");
    i = j;
  }
  return out;
}

std::string EncodeQuotedPrintable(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  size_t line_len = 0;
  auto put = [&](std::string_view piece) {
    if (line_len + piece.size() > 75) {
      out.append("=\r\n");
      line_len = 0;
    }
    out.append(piece);
    line_len += piece.size();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n' || (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) {
      if (c == '\r') ++i;
      out.append("\r\n");
      line_len = 0;
      continue;
    }
    const bool at_line_end = i + 1 == text.size() || text[i + 1] == '\n' || text[i + 1] == '\r';
    // A dot alone at a line start is also encoded: some relays still mangle it.
    const bool plain = (c >= 33 && c <= 126 && c != '=' && !(c == '.' && line_len == 0)) ||
                       ((c == ' ' || c == '\t') && !at_line_end);
    if (plain) {
      const char ch = static_cast<char>(c);
      put(std::string_view(&ch, 1));
    } else {
      const char enc[3] = {'=', hex[c >> 4], hex[c & 15]};
      put(std::string_view(enc, 3));
    }
  }
  return out;
}

std::string BuildMessage(const SendRequest& r, std::string_view message_id, int64_t now) {
  std::string m;
  m.reserve(r.text.size() + r.html.size() + 1024);
  AppendHeader(&m, "From", EncodeMailbox(r.from));
  if (!r.to.empty()) AppendHeader(&m, "To", JoinMailboxes(r.to));
  if (!r.cc.empty()) AppendHeader(&m, "Cc", JoinMailboxes(r.cc));
  if (!r.reply_to.empty()) AppendHeader(&m, "Reply-To", EncodeMailbox(r.reply_to));
  AppendHeader(&m, "Subject", EncodeHeaderWord(r.subject));
  AppendHeader(&m, "Date", rebound::FormatTime(now * 1000, rebound::TimeFormat::kRfc5322));
  AppendHeader(&m, "Message-ID", "<" + std::string(message_id) + ">");
  // Instructions to Rebound itself (docs/unsubscribe.md), removed before sending.
  if (r.bulk) AppendHeader(&m, "X-Rebound-Bulk", "yes");
  if (!r.tag.empty()) AppendHeader(&m, "X-Rebound-Tag", EncodeHeaderWord(r.tag));
  for (const auto& [name, value] : r.headers) AppendHeader(&m, name, EncodeHeaderWord(value));
  AppendHeader(&m, "MIME-Version", "1.0");

  // Boundaries start with "=_": quoted-printable writes '=' as =3D and base64
  // has no '_', so no part's content can contain one.
  const std::string alt_boundary = "=_alt_" + std::string(message_id.substr(0, 32));
  const std::string mixed_boundary = "=_mixed_" + std::string(message_id.substr(0, 32));
  std::string content;  // the text/html part or the multipart/alternative, with its headers
  if (!r.text.empty() && !r.html.empty()) {
    content = "Content-Type: multipart/alternative; boundary=\"" + alt_boundary + "\"\r\n\r\n";
    content += "--" + alt_boundary + "\r\n" + TextPart("plain", r.text) + "\r\n";
    content += "--" + alt_boundary + "\r\n" + TextPart("html", r.html) + "\r\n";
    content += "--" + alt_boundary + "--\r\n";
  } else if (!r.html.empty()) {
    content = TextPart("html", r.html);
  } else if (!r.text.empty() || r.attachments.empty()) {
    content = TextPart("plain", r.text);
  }
  if (r.attachments.empty()) {
    m += content;
  } else {
    m += "Content-Type: multipart/mixed; boundary=\"" + mixed_boundary + "\"\r\n\r\n";
    if (!content.empty()) m += "--" + mixed_boundary + "\r\n" + content + "\r\n";
    for (const auto& a : r.attachments) {
      m += "--" + mixed_boundary + "\r\n";
      m += "Content-Type: " + a.content_type + "\r\n";
      m += "Content-Transfer-Encoding: base64\r\n";
      m += "Content-Disposition: attachment; " + FilenameParam(a.filename) + "\r\n\r\n";
      m += WrapBase64(a.content);
    }
    m += "--" + mixed_boundary + "--\r\n";
  }
  if (m.size() < 2 || m.compare(m.size() - 2, 2, "\r\n") != 0) m += "\r\n";
  return m;
}

bool ReadRawMessage(std::string_view message, RawMessage* out, std::string* error) {
  *out = RawMessage();
  // CRLF line ends, whatever came in.
  std::string crlf;
  crlf.reserve(message.size() + message.size() / 32);
  for (size_t i = 0; i < message.size(); ++i) {
    const char c = message[i];
    if (c == '\r') {
      crlf.append("\r\n");
      if (i + 1 < message.size() && message[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      crlf.append("\r\n");
    } else {
      crlf.push_back(c);
    }
  }
  if (crlf.size() < 2 || crlf.compare(crlf.size() - 2, 2, "\r\n") != 0) crlf.append("\r\n");
  size_t header_end = crlf.find("\r\n\r\n");
  if (header_end == std::string::npos) {
    *error = "the message has no blank line after its header";
    return false;
  }
  // Unfolded header fields, and the byte ranges of Bcc fields to drop.
  std::string kept;
  kept.reserve(crlf.size());
  size_t pos = 0;
  const size_t header_size = header_end + 2;
  auto addresses = [&](std::string_view value, bool envelope) {
    // A comma-separated list of mailboxes (groups and quoted commas are rare
    // in what applications upload; a quoted display name may hold a comma).
    bool quoted = false;
    size_t start = 0;
    for (size_t i = 0; i <= value.size(); ++i) {
      if (i < value.size() && value[i] == '"') quoted = !quoted;
      if (i == value.size() || (value[i] == ',' && !quoted)) {
        std::string a = AddressOf(value.substr(start, i - start));
        if (!a.empty() && envelope) out->recipients.push_back(a);
        start = i + 1;
      }
    }
  };
  while (pos < header_size) {
    size_t end = crlf.find("\r\n", pos);
    while (end + 2 < header_size && (crlf[end + 2] == ' ' || crlf[end + 2] == '\t')) end = crlf.find("\r\n", end + 2);
    std::string_view field(crlf.data() + pos, end - pos);
    const size_t colon = field.find(':');
    if (colon == std::string_view::npos || !IsHeaderName(field.substr(0, colon))) {
      *error = "header line " + std::string(field.substr(0, 40)) + " is not 'Name: value'";
      return false;
    }
    const std::string name = text::Lower(field.substr(0, colon));
    std::string value;
    for (char c : field.substr(colon + 1))
      if (c != '\r' && c != '\n') value.push_back(c);
    if (name == "from" && out->from.empty()) out->from = AddressOf(value);
    if (name == "to" || name == "cc" || name == "bcc") addresses(value, true);
    if (name != "bcc") kept.append(field).append("\r\n");
    pos = end + 2;
  }
  if (out->from.empty()) {
    *error = "the message has no From header";
    return false;
  }
  kept.append(crlf, header_size, std::string::npos);
  out->body = std::move(kept);
  return true;
}

}  // namespace rebound::api
