#include "unsubscribe/unsubscribe.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/text.h"
#include "relay/smtp_command.h"
#include "store/sqlite_util.h"

namespace rebound::unsubscribe {

namespace {

constexpr size_t kKeyBytes = 32;
// Longest fields a token carries: the List-Unsubscribe line stays far below
// RFC 5322's 998 characters.
constexpr size_t kMaxAccount = 128, kMaxRecipient = 320, kMaxTag = 128;
// Binds the MAC to this use, so the key signs nothing else by accident.
constexpr std::string_view kMacContext = "rebound one-click unsubscribe v1\n";

constexpr std::string_view kBulkHeader = "X-Rebound-Bulk";
constexpr std::string_view kTagHeader = "X-Rebound-Tag";

std::string Base64Url(std::string_view bytes) {
  std::string s = relay::EncodeBase64(bytes);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& c : s) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return s;
}

bool FromBase64Url(std::string_view in, std::string* out) {
  std::string s(in);
  for (char& c : s) {
    if (c == '+' || c == '/' || c == '=') return false;
    c = c == '-' ? '+' : c == '_' ? '/' : c;
  }
  while (s.size() % 4) s.push_back('=');
  return relay::DecodeBase64(s, out);
}

std::string Mac(std::string_view key, std::string_view payload) {
  std::string data(kMacContext);
  data.append(payload);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

Response Page(int status, std::string_view title, std::string_view inner) {
  Response r;
  r.status = status;
  r.body = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>";
  r.body += HtmlEscape(title);
  r.body += "</title></head>\n<body style=\"font-family:sans-serif;max-width:36em;margin:3em auto\">\n<h1>";
  r.body += HtmlEscape(title);
  r.body += "</h1>\n";
  r.body += inner;
  r.body += "\n</body></html>\n";
  return r;
}

Response BadLink(TokenCheck check) {
  // A malformed link is the client's mistake (400); a well-formed one whose
  // signature fails names nothing we sent (404). Neither says more.
  return Page(check == TokenCheck::kMalformed ? 400 : 404, "Unknown unsubscribe link",
              "<p>This unsubscribe link is not valid. Nothing was changed.</p>");
}

// The form body of an RFC 8058 POST: application/x-www-form-urlencoded
// (List-Unsubscribe=One-Click among its pairs) or multipart/form-data (a
// part named List-Unsubscribe whose value is One-Click).
bool IsOneClickBody(std::string_view body) {
  size_t start = 0;
  while (start <= body.size()) {
    size_t amp = body.find('&', start);
    std::string_view pair = body.substr(start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
    if (text::Trim(pair) == "List-Unsubscribe=One-Click") return true;
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  const size_t part = body.find("name=\"List-Unsubscribe\"");
  if (part == std::string_view::npos) return false;
  const size_t value = body.find("\r\n\r\n", part);
  return value != std::string_view::npos && body.substr(value + 4, 9) == "One-Click";
}

// One header field of the header block: [begin, end) covers its folded
// continuation lines and the final CRLF.
struct Field {
  size_t begin = 0, end = 0;
  std::string_view name, value;
};

// The header block's fields; *header_end is where the empty line starts
// (the body's length when there is none).
std::vector<Field> HeaderFields(std::string_view msg, size_t* header_end) {
  std::vector<Field> fields;
  size_t pos = 0;
  while (pos < msg.size()) {
    size_t eol = msg.find("\r\n", pos);
    size_t next = eol == std::string_view::npos ? msg.size() : eol + 2;
    std::string_view line = msg.substr(pos, (eol == std::string_view::npos ? msg.size() : eol) - pos);
    if (line.empty()) break;
    if ((line[0] == ' ' || line[0] == '\t') && !fields.empty()) {
      fields.back().end = next;
      fields.back().value = msg.substr(fields.back().value.data() - msg.data(),
                                       (eol == std::string_view::npos ? msg.size() : eol) -
                                           static_cast<size_t>(fields.back().value.data() - msg.data()));
    } else {
      Field f;
      f.begin = pos;
      f.end = next;
      size_t colon = line.find(':');
      f.name = text::Trim(line.substr(0, colon == std::string_view::npos ? 0 : colon));
      f.value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
      fields.push_back(f);
    }
    pos = next;
  }
  *header_end = pos;
  return fields;
}

bool IsYes(std::string_view v) {
  v = text::Trim(v);
  return text::IEquals(v, "yes") || text::IEquals(v, "true") || v == "1";
}

}  // namespace

Status LoadOrCreateKey(const std::string& path, std::string* key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::string fresh(kKeyBytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(fresh.data()), static_cast<int>(fresh.size())) != 1)
      return Status::IoError("unsubscribe key: no random bytes");
    // Written aside, then linked into place: two processes starting at once
    // end up with the same key, and a crash never leaves half a key.
    const std::string tmp = path + ".tmp." + std::to_string(getpid());
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return Status::IoError("unsubscribe key: cannot create " + tmp + ": " + strerror(errno));
    bool ok = write(fd, fresh.data(), fresh.size()) == static_cast<ssize_t>(fresh.size()) && fsync(fd) == 0;
    close(fd);
    if (!ok || (link(tmp.c_str(), path.c_str()) != 0 && errno != EEXIST)) {
      unlink(tmp.c_str());
      return Status::IoError("unsubscribe key: cannot write " + path + ": " + strerror(errno));
    }
    unlink(tmp.c_str());
    in.open(path, std::ios::binary);
  }
  std::stringstream buf;
  buf << in.rdbuf();
  *key = buf.str();
  if (key->size() < kKeyBytes)
    return Status::IoError("unsubscribe key " + path + " is shorter than " + std::to_string(kKeyBytes) +
                           " bytes; remove it to make a new one (links already sent stop working)");
  return Status::Ok();
}

Status SignToken(std::string_view key, const Claim& claim, std::string* token) {
  for (std::string_view field : {std::string_view(claim.account), std::string_view(claim.recipient),
                                 std::string_view(claim.tag)})
    if (field.find_first_of("\r\n") != std::string_view::npos)
      return Status::InvalidArgument("unsubscribe token: a field holds a line break");
  if (claim.account.size() > kMaxAccount || claim.recipient.size() > kMaxRecipient || claim.tag.size() > kMaxTag)
    return Status::InvalidArgument("unsubscribe token: a field is too long");
  if (claim.account.empty() || claim.recipient.empty())
    return Status::InvalidArgument("unsubscribe token: no account or recipient");
  const std::string payload = std::to_string(claim.message_id) + "\n" + claim.account + "\n" +
                              text::Lower(claim.recipient) + "\n" + claim.tag;
  *token = Base64Url(payload) + "." + Base64Url(Mac(key, payload));
  return Status::Ok();
}

TokenCheck VerifyToken(std::string_view key, std::string_view token, Claim* out) {
  const size_t dot = token.find('.');
  if (dot == std::string_view::npos || token.size() > 2048) return TokenCheck::kMalformed;
  std::string payload, mac;
  if (!FromBase64Url(token.substr(0, dot), &payload) || !FromBase64Url(token.substr(dot + 1), &mac))
    return TokenCheck::kMalformed;
  const std::string expected = Mac(key, payload);
  if (mac.size() != expected.size() || CRYPTO_memcmp(mac.data(), expected.data(), mac.size()) != 0)
    return TokenCheck::kForged;
  // Signed by us, so well formed; checked all the same.
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t nl; parts.size() < 3 && (nl = payload.find('\n', start)) != std::string::npos; start = nl + 1)
    parts.push_back(payload.substr(start, nl - start));
  if (parts.size() != 3 || parts[0].empty() || parts[0].size() > 18 ||
      parts[0].find_first_not_of("0123456789") != std::string::npos)
    return TokenCheck::kMalformed;
  out->message_id = std::stoll(parts[0]);
  out->account = parts[1];
  out->recipient = parts[2];
  out->tag = payload.substr(start);
  return TokenCheck::kValid;
}

Status ApplyHeaders(const HeaderOptions& options, std::string_view key, const relay::MessageInfo& info,
                    std::string* body) {
  size_t header_end = 0;
  std::vector<Field> fields = HeaderFields(*body, &header_end);
  bool bulk = false, has_list_unsubscribe = false;
  std::string tag;
  std::vector<std::pair<size_t, size_t>> remove;  // the markers, never sent
  for (const Field& f : fields) {
    if (text::IEquals(f.name, kBulkHeader)) {
      bulk = bulk || IsYes(f.value);
      remove.emplace_back(f.begin, f.end);
    } else if (text::IEquals(f.name, kTagHeader)) {
      tag = std::string(text::Trim(f.value));
      remove.emplace_back(f.begin, f.end);
    } else if (text::IEquals(f.name, "List-Unsubscribe")) {
      has_list_unsubscribe = true;
    }
  }
  if (remove.empty()) return Status::Ok();  // not marked: the bytes stay exactly as they are

  std::string added;
  const std::string mailto = !options.mailto.empty() ? options.mailto : info.mail_from;
  if (bulk && !has_list_unsubscribe && info.recipients.size() == 1 && (!options.base_url.empty() || !mailto.empty())) {
    Claim claim{info.id, info.account, info.recipients[0].address, tag};
    std::string token;
    // A field the token cannot carry (too long) means no header, not a
    // message held back.
    if (SignToken(key, claim, &token).ok()) {
      std::vector<std::string> links;
      if (!options.base_url.empty()) {
        std::string base = options.base_url;
        while (!base.empty() && base.back() == '/') base.pop_back();
        links.push_back("<" + base + "/u/" + token + ">");
      }
      if (!mailto.empty()) links.push_back("<mailto:" + mailto + "?subject=unsubscribe%20" + token + ">");
      added = "List-Unsubscribe: " + links[0];
      for (size_t i = 1; i < links.size(); ++i) added += ",\r\n " + links[i];
      added += "\r\n";
      // One-click needs the HTTPS link (RFC 8058 section 3.1).
      if (!options.base_url.empty()) added += "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n";
    }
  }

  std::string out;
  out.reserve(body->size() + added.size());
  size_t pos = 0;
  for (const auto& [begin, end] : remove) {
    out.append(*body, pos, begin - pos);
    pos = end;
  }
  out.append(*body, pos, header_end - pos);
  out += added;
  out.append(*body, header_end, std::string::npos);
  *body = std::move(out);
  return Status::Ok();
}

// --- the web side ----------------------------------------------------------

Status Unsubscriber::Create(relay::Store* store, const std::string& database_path, std::string key,
                            relay::Clock clock, std::unique_ptr<Unsubscriber>* out) {
  std::unique_ptr<Unsubscriber> u(new Unsubscriber());
  u->store_ = store;
  u->key_ = std::move(key);
  u->clock_ = clock ? std::move(clock) : relay::Clock(relay::SystemNow);
  Status s = relay::OpenSqliteConnection(database_path, &u->db_);
  if (!s.ok()) return s;
  *out = std::move(u);
  return Status::Ok();
}

Unsubscriber::~Unsubscriber() {
  if (db_) sqlite3_close(db_);
}

Response Unsubscriber::Get(std::string_view token) {
  Claim claim;
  TokenCheck check = VerifyToken(key_, token, &claim);
  if (check != TokenCheck::kValid) return BadLink(check);
  // The form posts to this same URL, with the body a mail client's one-click POST has.
  std::string inner = "<p>Stop mail from <b>" + HtmlEscape(claim.account) + "</b> to <b>" +
                      HtmlEscape(claim.recipient) + "</b>";
  if (!claim.tag.empty()) inner += " (" + HtmlEscape(claim.tag) + ")";
  inner +=
      "?</p>\n<form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"
      "<button type=\"submit\">Unsubscribe</button></form>";
  return Page(200, "Unsubscribe", inner);
}

Response Unsubscriber::Post(std::string_view token, std::string_view body, std::string_view remote) {
  Claim claim;
  TokenCheck check = VerifyToken(key_, token, &claim);
  if (check != TokenCheck::kValid) return BadLink(check);
  if (!IsOneClickBody(body))
    return Page(400, "Unsubscribe", "<p>The request did not say List-Unsubscribe=One-Click. Nothing was changed.</p>");

  const int64_t now = clock_();
  const std::string note =
      claim.tag.empty() ? "one-click unsubscribe" : "one-click unsubscribe (tag " + claim.tag + ")";
  relay::Suppression sup;
  sup.account = claim.account;
  sup.address = claim.recipient;
  sup.reply = note;
  sup.rule = "rfc8058";
  sup.source = "unsubscribe";
  sup.time = now;
  Status s = store_->AddSuppression(sup);
  if (s.ok()) s = RecordEvent(claim, note, remote, now);
  if (!s.ok()) {
    std::fprintf(stderr, "rebound serve: unsubscribe: %s\n", s.message().c_str());
    return Page(503, "Unsubscribe", "<p>We could not record this just now. Please try again in a minute.</p>");
  }
  return Page(200, "Unsubscribed",
              "<p>" + HtmlEscape(claim.recipient) + " will get no more mail from <b>" + HtmlEscape(claim.account) +
                  "</b>.</p>");
}

// The events row, once per message and recipient: a retried POST (or one
// after a crash between the two commits) finds it or writes it.
Status Unsubscriber::RecordEvent(const Claim& claim, const std::string& note, std::string_view remote, int64_t now) {
  std::lock_guard<std::mutex> lock(db_mu_);
  auto prepare = [this](const char* sql, sqlite3_stmt** out) {
    return sqlite3_prepare_v2(db_, sql, -1, out, nullptr) == SQLITE_OK
               ? Status::Ok()
               : Status::IoError(std::string("unsubscribe event: ") + sqlite3_errmsg(db_));
  };
  sqlite3_stmt* seen_raw = nullptr;
  Status s = prepare(
      "SELECT 1 FROM events WHERE message_id = ?1 AND recipient = ?2 COLLATE NOCASE AND decision = 'unsubscribed'",
      &seen_raw);
  if (!s.ok()) return s;
  bool seen;
  {
    relay::Stmt q(seen_raw);
    q.Bind(1, claim.message_id).Bind(2, claim.recipient);
    seen = q.Step() == SQLITE_ROW;
  }
  sqlite3_finalize(seen_raw);
  if (seen) return Status::Ok();
  // The recipient's state stays what delivery made it.
  std::string state = "delivered";
  sqlite3_stmt* state_raw = nullptr;
  s = prepare("SELECT state FROM recipients WHERE message_id = ?1 AND address = ?2 COLLATE NOCASE", &state_raw);
  if (!s.ok()) return s;
  {
    relay::Stmt q(state_raw);
    q.Bind(1, claim.message_id).Bind(2, claim.recipient);
    if (q.Step() == SQLITE_ROW) state = q.Text(0);
  }
  sqlite3_finalize(state_raw);
  sqlite3_stmt* insert_raw = nullptr;
  s = prepare(
      "INSERT INTO events(time, message_id, recipient, state, ip, reply, rule, decision) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'rfc8058', 'unsubscribed')",
      &insert_raw);
  if (!s.ok()) return s;
  {
    relay::Stmt q(insert_raw);
    q.Bind(1, now).Bind(2, claim.message_id).Bind(3, claim.recipient).Bind(4, state).Bind(5, remote).Bind(6, note);
    if (q.Step() != SQLITE_DONE) s = Status::IoError(std::string("unsubscribe event: ") + sqlite3_errmsg(db_));
  }
  sqlite3_finalize(insert_raw);
  return s;
}

}  // namespace rebound::unsubscribe
