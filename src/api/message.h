// api/message.h: the JSON of a send request (POST /v1/messages, one
// recipient of /v1/messages/batch) decoded and built into an RFC 5322
// message (MIME: text, html or multipart/alternative, attachments in
// multipart/mixed), and an uploaded message (/v1/messages/raw) read for its
// envelope. Pure functions with no I/O; fuzzed by fuzz/fuzz_api_request.cc.
//
// Errors: false and a sentence naming the field; nothing in a header may
// carry CR or LF (header injection), and the headers the builder writes
// itself cannot be set through "headers".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rebound::api {

struct Attachment {
  std::string filename;
  std::string content_type = "application/octet-stream";
  std::string content;  // decoded bytes
};

struct SendRequest {
  std::string from;  // as it goes in the From header: "Name <a@b>" or "a@b"
  std::vector<std::string> to, cc, bcc;  // same forms
  std::string reply_to;
  std::string subject, text, html;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<Attachment> attachments;
  std::string tag;
  bool bulk = false;
};

// The most recipients (to + cc + bcc) one send may have.
inline constexpr size_t kMaxApiRecipients = 100;

// Decodes a JSON object; `require_recipients` is false for a batch's shared
// part, whose recipients come one by one.
bool DecodeSendRequest(std::string_view json, SendRequest* out, std::string* error, bool require_recipients = true);

// "Name <a@b>" -> "a@b"; "a@b" -> "a@b" (trimmed).
std::string AddressOf(std::string_view mailbox);

// to + cc + bcc, as addresses.
std::vector<std::string> EnvelopeRecipients(const SendRequest& r);

// The message as queued (CRLF line ends). `message_id` without <>; `now` in
// Unix seconds for the Date header.
std::string BuildMessage(const SendRequest& r, std::string_view message_id, int64_t now);

// An uploaded RFC 5322 message: line ends made CRLF, the Bcc header taken
// out (its addresses join the envelope), the From, To, Cc and Bcc addresses
// read. False when there is no header block or no From.
struct RawMessage {
  std::string body;
  std::string from;
  std::vector<std::string> recipients;
};
bool ReadRawMessage(std::string_view message, RawMessage* out, std::string* error);

// RFC 2047 for a header value that is not ASCII; ASCII is returned as is.
std::string EncodeHeaderWord(std::string_view value);
// Quoted-printable (RFC 2045) with CRLF line ends.
std::string EncodeQuotedPrintable(std::string_view text);

}  // namespace rebound::api
