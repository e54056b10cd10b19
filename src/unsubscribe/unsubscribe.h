// unsubscribe/unsubscribe.h: one-click unsubscribe (RFC 8058, RFC 2369).
//
// A message is bulk when its header says `X-Rebound-Bulk: yes` (SMTP
// submission puts it there; the HTTP API writes the same header for its
// "bulk" field). On the way out (a delivery body filter, before DKIM signs
// the message) a bulk message to one recipient gets
//
//   List-Unsubscribe: <https://HOST/u/TOKEN>, <mailto:ADDR?subject=unsubscribe%20TOKEN>
//   List-Unsubscribe-Post: List-Unsubscribe=One-Click
//
// and every message loses the X-Rebound-Bulk and X-Rebound-Tag markers.
// TOKEN names the message, the account, the recipient and the tag
// (X-Rebound-Tag, may be empty) and is signed with HMAC-SHA256 under a key kept in the data
// directory, so nobody can make one for another address.
//
// POST /u/TOKEN with `List-Unsubscribe=One-Click` puts the recipient on the
// account's suppression list (source "unsubscribe"; the tag is in its note)
// and writes an `unsubscribed` row in the store's events table, about the
// message the link came in (so `rebound events` lists it and the webhooks
// carry it). GET /u/TOKEN
// shows a page with a button that makes that POST, and changes nothing:
// mail scanners fetch every link they see.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "rebound/status.h"
#include "store/store.h"

struct sqlite3;

namespace rebound::unsubscribe {

// What a token says.
struct Claim {
  int64_t message_id = 0;
  std::string account;
  std::string recipient;  // lower case
  std::string tag;        // "" when the message had none
};

// The signing key: 32 random bytes at `path` (mode 0600), made when absent.
Status LoadOrCreateKey(const std::string& path, std::string* key);

// base64url(message_id \n account \n recipient \n tag) "." base64url(HMAC-SHA256), no
// padding: safe in a URL path and a mailto subject. Fails for fields with a
// line break or too long for a header line.
Status SignToken(std::string_view key, const Claim& claim, std::string* token);
// True when the token is well formed and its signature matches (compared in
// constant time).
enum class TokenCheck { kValid, kMalformed, kForged };
TokenCheck VerifyToken(std::string_view key, std::string_view token, Claim* out);

struct HeaderOptions {
  std::string base_url;  // "https://mail.example.com" (no trailing /u); empty: no HTTPS link, no one-click
  std::string mailto;    // the unsubscribe mailbox; empty: the message's envelope sender
};

// The delivery body filter (see the top of this file). A bulk message with
// several recipients goes out to all of them with the same bytes, so no
// link could name one recipient: it gets no List-Unsubscribe. A message that
// already carries a List-Unsubscribe keeps the sender's own.
Status ApplyHeaders(const HeaderOptions& options, std::string_view key, const relay::MessageInfo& info,
                    std::string* body);

// An HTTP answer, for the server to send as it is.
struct Response {
  int status = 200;
  std::string content_type = "text/html; charset=utf-8";
  std::string body;
};

// The web side: GET and POST /u/TOKEN.
class Unsubscriber {
 public:
  // `database_path` is queue.db, whose events table gets the unsubscribe
  // events. store is borrowed and outlives the Unsubscriber.
  static Status Create(relay::Store* store, const std::string& database_path, std::string key,
                       relay::Clock clock, std::unique_ptr<Unsubscriber>* out);
  ~Unsubscriber();

  // A confirmation page with a form that POSTs; changes nothing.
  Response Get(std::string_view token);
  // `body` is the request body (form or multipart); it must hold
  // List-Unsubscribe=One-Click. `remote` is the client's address (the
  // event's ip). Blocking (store commits). Clicking twice is harmless: one
  // event per message and recipient.
  Response Post(std::string_view token, std::string_view body, std::string_view remote);

 private:
  Unsubscriber() = default;
  Status RecordEvent(const Claim& claim, const std::string& note, std::string_view remote, int64_t now);
  relay::Store* store_ = nullptr;
  std::string key_;
  relay::Clock clock_;
  std::mutex db_mu_;
  sqlite3* db_ = nullptr;
};

}  // namespace rebound::unsubscribe
