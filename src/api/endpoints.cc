// The /v1 endpoints (see endpoints.h).
#include "api/endpoints.h"

#include <sodium.h>
#include <sqlite3.h>

#include <algorithm>
#include <kainjow/mustache.hpp>
#include <mutex>
#include <nlohmann/json.hpp>

#include "api/message.h"
#include "api/router.h"
#include "cli/json_writer.h"
#include "core/text.h"
#include "relay/replies.h"
#include "relay/smtp_command.h"
#include "store/sqlite_util.h"
#include "store/store.h"

namespace rebound::api {

namespace {

using nlohmann::json;
namespace mustache = kainjow::mustache;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS api_idempotency(
  account TEXT NOT NULL,
  key TEXT NOT NULL,
  request_sha256 BLOB NOT NULL,
  status INTEGER NOT NULL,
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY(account, key)
);
)sql";

// Answers to a repeated Idempotency-Key are kept this long.
constexpr int64_t kIdempotencySeconds = 24 * 3600;

std::string Sha256(std::string_view s) {
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, reinterpret_cast<const unsigned char*>(s.data()), s.size());
  return std::string(reinterpret_cast<const char*>(h), sizeof h);
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  std::string hex(bytes * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
  hex.pop_back();
  return hex;
}

bool IsAscii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

// A statement prepared on the endpoints' connection; used under its mutex.
class Query {
 public:
  Query(sqlite3* db, const char* sql) : db_(db) { sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Query() { sqlite3_finalize(s_); }
  bool ok() const { return s_ != nullptr; }
  relay::Stmt stmt() { return relay::Stmt(s_); }
  std::string error() const { return sqlite3_errmsg(db_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
};

mustache::data ToMustache(const json& j) {
  switch (j.type()) {
    case json::value_t::object: {
      mustache::data d{mustache::data::type::object};
      for (const auto& [k, v] : j.items()) d.set(k, ToMustache(v));
      return d;
    }
    case json::value_t::array: {
      mustache::data d{mustache::data::type::list};
      for (const auto& v : j) d.push_back(ToMustache(v));
      return d;
    }
    case json::value_t::string:
      return mustache::data(j.get<std::string>());
    case json::value_t::boolean:
      return mustache::data(j.get<bool>());
    case json::value_t::null:
      return mustache::data(false);
    default:
      return mustache::data(j.dump());
  }
}

void WriteEvent(cli::JsonWriter& w, relay::Stmt& q) {
  // id, time, message_id, recipient, state, mx, ip, reply, category, reason, permanent, hard_bounce, rule, decision, next_attempt_at
  w.BeginObject()
      .Int("id", q.Int(0))
      .Int("time", q.Int(1))
      .Int("message_id", q.Int(2))
      .String("recipient", q.Text(3))
      .String("type", q.Text(13))
      .String("state", q.Text(4))
      .String("reply", q.Text(7))
      .String("mx", q.Text(5))
      .String("ip", q.Text(6));
  const std::string category = q.Text(8);
  if (category.empty()) {
    w.Null("verdict");
  } else {
    w.BeginObject("verdict")
        .String("category", category)
        .String("reason", q.Text(9))
        .Bool("permanent", q.Int(10) != 0)
        .Bool("hard_bounce", q.Int(11) != 0)
        .String("rule", q.Text(12))
        .EndObject();
  }
  w.Int("next_attempt_at", q.Int(14)).EndObject();
}

class EndpointsImpl : public Endpoints {
 public:
  EndpointsImpl(const ApiContext& c, sqlite3* db) : c_(c), db_(db) {}
  ~EndpointsImpl() override {
    RemoveRoutes("api");
    sqlite3_close(db_);
  }

  void AddRoutes() {
    auto add = [this](std::string method, std::string pattern, std::string scope,
                      void (EndpointsImpl::*fn)(const Request&, Response*)) {
      AddRoute(Route{std::move(method), std::move(pattern), std::move(scope),
                     [this, fn](const Request& req, Response* res) { (this->*fn)(req, res); }, "api"});
    };
    add("POST", "/v1/messages", "send", &EndpointsImpl::Send);
    add("POST", "/v1/messages/batch", "send", &EndpointsImpl::SendBatch);
    add("POST", "/v1/messages/raw", "send", &EndpointsImpl::SendRaw);
    add("GET", "/v1/messages/{id}", "read", &EndpointsImpl::GetMessage);
    add("GET", "/v1/events", "read", &EndpointsImpl::ListEvents);
    add("GET", "/v1/suppressions", "read", &EndpointsImpl::ListSuppressions);
    add("POST", "/v1/suppressions", "admin", &EndpointsImpl::AddSuppressions);
    add("DELETE", "/v1/suppressions/{address}", "admin", &EndpointsImpl::RemoveSuppression);
    add("GET", "/v1/stats", "read", &EndpointsImpl::Stats);
  }

 private:
  // --- sending ---------------------------------------------------------------

  // Runs the submission checks and queues; answers the client either way.
  // Returns the message id (0 when refused).
  int64_t Submit(const Request& req, const std::string& mail_from, std::vector<std::string> recipients,
                 std::string body, Response* res, const std::string& message_id_header) {
    relay::Submission s;
    s.account = req.account;
    s.mail_from = mail_from;
    s.recipients = std::move(recipients);
    s.body = std::move(body);
    s.client_ip = req.client_ip;
    s.helo = "api";
    s.smtputf8 = !IsAscii(mail_from);
    for (const auto& r : s.recipients) s.smtputf8 = s.smtputf8 || !IsAscii(r);
    int64_t id = 0;
    int failed = -1;
    const int64_t now = relay::SystemNow();
    const relay::SubmissionResult r = relay::Submit(c_.store, c_.limits, s, now, &id, &failed);
    if (!r.accepted()) {
      RefusalResponse(r.reply, failed >= 0 ? s.recipients[static_cast<size_t>(failed)] : std::string(), now, res);
      return 0;
    }
    if (c_.on_queued) c_.on_queued(id);
    std::string out;
    cli::JsonWriter w(&out);
    w.BeginObject()
        .Int("id", id)
        .String("message_id", message_id_header)
        .Int("recipients", static_cast<int64_t>(s.recipients.size()))
        .String("reply", relay::kReplyQueued)
        .EndObject();
    res->Json(200, std::move(out));
    return id;
  }

  static void RefusalResponse(std::string_view reply, const std::string& recipient, int64_t now, Response* res) {
    int retry = 0;
    const int status = HttpStatusForReply(reply, now, &retry);
    std::string extra;
    if (!recipient.empty()) {
      extra = "\"recipient\":";
      cli::AppendJsonString(&extra, recipient);
    }
    SetError(res, status, reply, extra);
    if (retry > 0) res->AddHeader("Retry-After", std::to_string(retry));
  }

  // Builds and submits one decoded send request.
  int64_t SendOne(const Request& req, const SendRequest& send, Response* res) {
    const std::string from = AddressOf(send.from);
    const std::string domain = relay::AddressDomain(from);
    const std::string message_id = RandomHex(16) + "@" + (domain.empty() ? std::string("rebound.invalid") : domain);
    std::string body = BuildMessage(send, message_id, relay::SystemNow());
    return Submit(req, from, EnvelopeRecipients(send), std::move(body), res, "<" + message_id + ">");
  }

  // An Idempotency-Key: the stored answer when the key was seen with the
  // same body, a 422 when with another; else runs `fn` and stores what it
  // answered (not 429 and 5xx, which a retry may change).
  void Idempotent(const Request& req, Response* res, const std::function<void()>& fn) {
    const std::string& key = req.Header("idempotency-key");
    if (key.empty()) {
      fn();
      return;
    }
    if (key.size() > 255) {
      SetHttpError(res, 400, "Idempotency-Key is longer than 255 characters");
      return;
    }
    const std::string hash = Sha256(req.method + " " + req.path + "\n" + req.body);
    // One idempotent request at a time, so two copies sent at once cannot
    // both be queued.
    std::lock_guard serial(idempotency_mu_);
    {
      std::lock_guard lock(db_mu_);
      Query p(db_, "SELECT request_sha256, status, body FROM api_idempotency WHERE account = ? AND key = ? AND created_at > ?");
      if (!p.ok()) return SetHttpError(res, 503, "cannot read the idempotency keys: " + p.error());
      relay::Stmt q = p.stmt();
      q.Bind(1, req.account).Bind(2, key).Bind(3, relay::SystemNow() - kIdempotencySeconds);
      if (q.Step() == SQLITE_ROW) {
        if (q.Blob(0) != hash) {
          SetHttpError(res, 422, "this Idempotency-Key was used with a different request");
          return;
        }
        res->Json(static_cast<int>(q.Int(1)), q.Text(2));
        res->AddHeader("Idempotent-Replayed", "true");
        return;
      }
    }
    fn();
    if (res->status == 429 || res->status >= 500) return;
    std::lock_guard lock(db_mu_);
    const int64_t now = relay::SystemNow();
    Query purge(db_, "DELETE FROM api_idempotency WHERE created_at <= ?");
    if (purge.ok()) purge.stmt().Bind(1, now - kIdempotencySeconds).Step();
    Query p(db_, "INSERT OR REPLACE INTO api_idempotency(account, key, request_sha256, status, body, created_at) VALUES (?, ?, ?, ?, ?, ?)");
    if (!p.ok()) return;
    relay::Stmt q = p.stmt();
    q.Bind(1, req.account).Bind(2, key).BindBlob(3, hash).Bind(4, static_cast<int64_t>(res->status)).Bind(5, res->body).Bind(6, now);
    q.Step();
  }

  void Send(const Request& req, Response* res) {
    Idempotent(req, res, [&]() {
      SendRequest send;
      std::string error;
      if (!DecodeSendRequest(req.body, &send, &error)) return SetHttpError(res, 400, error);
      SendOne(req, send, res);
    });
  }

  void SendRaw(const Request& req, Response* res) {
    Idempotent(req, res, [&]() {
      RawMessage raw;
      std::string error;
      if (req.body.empty()) return SetHttpError(res, 400, "the body must be an RFC 5322 message (Content-Type: message/rfc822)");
      if (!ReadRawMessage(req.body, &raw, &error)) return SetHttpError(res, 400, error);
      // The envelope: ?from= and ?to=a,b override what the header says.
      std::string from = req.Query("from", raw.from);
      std::vector<std::string> to;
      if (const std::string list = req.Query("to"); !list.empty()) {
        size_t i = 0;
        while (i <= list.size()) {
          size_t j = list.find(',', i);
          if (j == std::string::npos) j = list.size();
          std::string a(text::Trim(std::string_view(list).substr(i, j - i)));
          if (!a.empty()) to.push_back(std::move(a));
          i = j + 1;
        }
      } else {
        to = raw.recipients;
      }
      if (to.empty()) return SetHttpError(res, 400, "no recipients: give To, Cc or Bcc in the message, or ?to=");
      if (to.size() > kMaxApiRecipients)
        return SetHttpError(res, 400, "at most " + std::to_string(kMaxApiRecipients) + " recipients");
      Submit(req, from, std::move(to), std::move(raw.body), res, "");
    });
  }

  void SendBatch(const Request& req, Response* res) {
    Idempotent(req, res, [&]() {
      const json j = json::parse(req.body, nullptr, false);
      if (j.is_discarded() || !j.is_object()) return SetHttpError(res, 400, "the body is not a JSON object");
      auto rit = j.find("recipients");
      if (rit == j.end() || !rit->is_array() || rit->empty())
        return SetHttpError(res, 400, "'recipients' must be a non-empty list of {\"to\": ..., \"data\": {...}}");
      if (static_cast<int64_t>(rit->size()) > c_.max_batch)
        return SetHttpError(res, 400, "at most " + std::to_string(c_.max_batch) + " recipients in one batch");
      // The shared part: everything but the recipients.
      json shared = j;
      shared.erase("recipients");
      SendRequest base;
      std::string error;
      if (!DecodeSendRequest(shared.dump(), &base, &error, /*require_recipients=*/false)) return SetHttpError(res, 400, error);
      if (base.text.empty() && base.html.empty()) return SetHttpError(res, 400, "'text' or 'html' is required");
      // Templates: HTML-escaped values in html, verbatim ones in text and subject.
      mustache::mustache subject_t(base.subject), text_t(base.text), html_t(base.html);
      for (auto* t : {&subject_t, &text_t, &html_t})
        if (!t->is_valid()) return SetHttpError(res, 400, "template: " + t->error_message());
      auto verbatim = [](const std::string& s) { return s; };
      subject_t.set_custom_escape(verbatim);
      text_t.set_custom_escape(verbatim);

      std::string out;
      cli::JsonWriter w(&out);
      w.BeginObject().BeginArray("messages");
      int64_t accepted = 0, refused = 0;
      for (const auto& r : *rit) {
        std::string to;
        if (r.is_object() && r.contains("to") && r["to"].is_string()) to = r["to"].get<std::string>();
        if (to.empty() || to.find_first_of("\r\n") != std::string::npos) {
          return SetHttpError(res, 400, "each recipient needs \"to\": an address");
        }
        const json data = r.is_object() && r.contains("data") ? r["data"] : json::object();
        const mustache::data view = ToMustache(data.is_object() ? data : json::object());
        SendRequest send = base;
        send.to = {to};
        send.subject = subject_t.render(view);
        if (!base.text.empty()) send.text = text_t.render(view);
        if (!base.html.empty()) send.html = html_t.render(view);
        if (send.subject.find_first_of("\r\n") != std::string::npos) {
          for (char& ch : send.subject)
            if (ch == '\r' || ch == '\n') ch = ' ';
        }
        Response one;
        const int64_t id = SendOne(req, send, &one);
        w.BeginObject().String("to", to);
        if (id > 0) {
          ++accepted;
          w.Int("id", id);
          // The single send's answer carries the Message-ID.
          const json answer = json::parse(one.body, nullptr, false);
          if (answer.is_object()) w.String("message_id", answer.value("message_id", ""));
        } else {
          ++refused;
          w.Int("status", one.status);
          const json answer = json::parse(one.body, nullptr, false);
          w.Raw("error", answer.is_object() && answer.contains("error") ? answer["error"].dump() : "null");
        }
        w.EndObject();
      }
      w.EndArray().Int("accepted", accepted).Int("refused", refused).EndObject();
      res->Json(200, std::move(out));
    });
  }

  // --- reading -----------------------------------------------------------------

  void GetMessage(const Request& req, Response* res) {
    const std::string& id_text = req.path_params.at("id");
    char* end = nullptr;
    const long long id = strtoll(id_text.c_str(), &end, 10);
    relay::MessageInfo info;
    if (id_text.empty() || *end || id <= 0 || !c_.store->GetMessageInfo(id, &info).ok() || info.account != req.account)
      return SetHttpError(res, 404, "no message " + id_text.substr(0, 40) + " in this account");
    std::vector<relay::Event> events;
    relay::EventFilter f;
    f.message_id = id;
    Status s = c_.store->ListEvents(f, &events);
    if (!s.ok()) return SetHttpError(res, 503, "cannot read the events: " + s.message());
    std::string out;
    cli::JsonWriter w(&out);
    w.BeginObject()
        .Int("id", info.id)
        .String("from", info.mail_from)
        .Int("size", info.size)
        .Int("queued_at", info.queued_at)
        .BeginArray("recipients");
    for (const auto& r : info.recipients) {
      w.BeginObject()
          .String("address", r.address)
          .String("state", relay::RecipientStateName(r.state))
          .Int("attempts", r.attempts)
          .Int("updated_at", r.updated_at)
          .String("last_reply", r.last_reply);
      // The verdict of the latest event that had one (events come oldest first).
      const relay::Event* latest = nullptr;
      for (const auto& e : events)
        if (text::IEquals(e.recipient, r.address) && !e.category.empty()) latest = &e;
      if (!latest) {
        w.Null("verdict");
      } else {
        w.BeginObject("verdict")
            .String("category", latest->category)
            .String("reason", latest->reason)
            .Bool("permanent", latest->permanent)
            .Bool("hard_bounce", latest->hard_bounce)
            .String("rule", latest->rule)
            .String("decision", latest->decision)
            .EndObject();
      }
      w.EndObject();
    }
    w.EndArray().EndObject();
    res->Json(200, std::move(out));
  }

  void ListEvents(const Request& req, Response* res) {
    auto number = [&](const char* name, int64_t fallback, int64_t* out) {
      const std::string v = req.Query(name);
      if (v.empty()) {
        *out = fallback;
        return true;
      }
      char* end = nullptr;
      const long long n = strtoll(v.c_str(), &end, 10);
      if (*end || n < 0) return false;
      *out = n;
      return true;
    };
    int64_t after = 0, limit = 100;
    if (!number("after", 0, &after)) return SetHttpError(res, 400, "'after' must be an event id (a number)");
    if (!number("limit", 100, &limit) || limit < 1 || limit > 1000)
      return SetHttpError(res, 400, "'limit' must be between 1 and 1000");
    const std::string type = req.Query("type");
    // type=bounced,deferred: a list of decisions.
    std::vector<std::string> types;
    for (size_t i = 0; !type.empty() && i <= type.size();) {
      size_t j = type.find(',', i);
      if (j == std::string::npos) j = type.size();
      std::string t(text::Trim(std::string_view(type).substr(i, j - i)));
      i = j + 1;
      if (t.empty()) continue;
      // Other parts of serve add their own decisions (unsubscribed, ...), so
      // any name is allowed; one that never happens matches nothing.
      const bool word = t.size() <= 40 && std::all_of(t.begin(), t.end(), [](char ch) { return (ch >= 'a' && ch <= 'z') || ch == '_'; });
      if (!word) return SetHttpError(res, 400, "event type '" + t.substr(0, 40) + "' is not a name like bounced or deferred");
      types.push_back(std::move(t));
    }
    std::string sql =
        "SELECT e.id, e.time, e.message_id, e.recipient, e.state, e.mx, e.ip, e.reply, e.category, e.reason, "
        "e.permanent, e.hard_bounce, e.rule, e.decision, e.next_attempt_at FROM events e "
        "JOIN messages m ON m.id = e.message_id WHERE m.account = ? AND e.id > ?";
    if (!types.empty()) {
      sql += " AND e.decision IN (";
      for (size_t i = 0; i < types.size(); ++i) sql += i ? ", ?" : "?";
      sql += ")";
    }
    sql += " ORDER BY e.id LIMIT ?";
    std::string out;
    cli::JsonWriter w(&out);
    w.BeginObject().BeginArray("events");
    int64_t last = after, n = 0;
    {
      std::lock_guard lock(db_mu_);
      Query p(db_, sql.c_str());
      if (!p.ok()) return SetHttpError(res, 503, "cannot read the events: " + p.error());
      relay::Stmt q = p.stmt();
      int i = 1;
      q.Bind(i++, req.account);
      q.Bind(i++, after);
      for (const auto& t : types) q.Bind(i++, t);
      q.Bind(i++, limit + 1);  // one more tells whether there is more
      int rc;
      while ((rc = q.Step()) == SQLITE_ROW) {
        if (n == limit) break;
        WriteEvent(w, q);
        last = q.Int(0);
        ++n;
      }
      const bool more = rc == SQLITE_ROW;
      if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SetHttpError(res, 503, "cannot read the events: " + p.error());
      w.EndArray().Int("next", last).Bool("has_more", more).EndObject();
    }
    res->Json(200, std::move(out));
  }

  // --- suppressions ------------------------------------------------------------

  void ListSuppressions(const Request& req, Response* res) {
    std::vector<relay::Suppression> list;
    Status s = c_.store->ListSuppressions(req.account, &list);
    if (!s.ok()) return SetHttpError(res, 503, "cannot read the suppressions: " + s.message());
    if (req.Header("accept").find("text/csv") != std::string::npos) {
      std::string csv = "address,reason,rule,source,time\r\n";
      auto field = [&csv](std::string_view v) {
        // RFC 4180: quoted when it holds a comma, a quote or a line break;
        // a leading = + - @ is prefixed so that spreadsheets do not run it.
        std::string f(v);
        if (!f.empty() && std::string_view("=+-@").find(f[0]) != std::string_view::npos) f.insert(0, "'");
        if (f.find_first_of(",\"\r\n") != std::string::npos) {
          std::string q = "\"";
          for (char ch : f) {
            if (ch == '"') q.push_back('"');
            q.push_back(ch);
          }
          f = q + "\"";
        }
        csv.append(f);
      };
      for (const auto& e : list) {
        field(e.address);
        csv.push_back(',');
        field(e.reply);
        csv.push_back(',');
        field(e.rule);
        csv.push_back(',');
        field(e.source);
        csv.push_back(',');
        csv.append(std::to_string(e.time)).append("\r\n");
      }
      res->Text(200, "text/csv; charset=utf-8", std::move(csv));
      return;
    }
    std::string out;
    cli::JsonWriter w(&out);
    w.BeginObject().BeginArray("suppressions");
    for (const auto& e : list) {
      w.BeginObject()
          .String("address", e.address)
          .String("reason", e.reply)
          .String("rule", e.rule)
          .String("source", e.source)
          .Int("time", e.time)
          .EndObject();
    }
    w.EndArray().EndObject();
    res->Json(200, std::move(out));
  }

  void AddSuppressions(const Request& req, Response* res) {
    std::vector<std::pair<std::string, std::string>> entries;  // address, reason
    const std::string& type = req.Header("content-type");
    if (text::IStartsWith(type, "text/csv")) {
      // One address per line, an optional reason after a comma; a first line
      // without an '@' is a header.
      size_t pos = 0, line_no = 0;
      const std::string& b = req.body;
      while (pos < b.size()) {
        size_t end = b.find('\n', pos);
        if (end == std::string::npos) end = b.size();
        std::string_view line = text::Trim(std::string_view(b).substr(pos, end - pos));
        pos = end + 1;
        ++line_no;
        if (line.empty()) continue;
        const size_t comma = line.find(',');
        std::string address(text::Trim(line.substr(0, comma)));
        if (address.size() >= 2 && address.front() == '"' && address.back() == '"') address = address.substr(1, address.size() - 2);
        std::string reason(comma == std::string_view::npos ? std::string_view() : text::Trim(line.substr(comma + 1)));
        if (line_no == 1 && address.find('@') == std::string::npos) continue;
        entries.emplace_back(std::move(address), std::move(reason));
      }
    } else {
      const json j = json::parse(req.body, nullptr, false);
      if (j.is_discarded() || !j.is_object())
        return SetHttpError(res, 400, "the body must be {\"address\": ...} or {\"addresses\": [...]}, or CSV (text/csv)");
      const std::string reason = j.contains("reason") && j["reason"].is_string() ? j["reason"].get<std::string>() : "";
      if (j.contains("address") && j["address"].is_string()) entries.emplace_back(j["address"].get<std::string>(), reason);
      if (j.contains("addresses") && j["addresses"].is_array())
        for (const auto& a : j["addresses"])
          if (a.is_string()) entries.emplace_back(a.get<std::string>(), reason);
      if (entries.empty()) return SetHttpError(res, 400, "no 'address' or 'addresses' in the body");
    }
    std::vector<relay::Suppression> rows;
    std::vector<std::string> invalid;
    const int64_t now = relay::SystemNow();
    for (auto& [address, reason] : entries) {
      if (!relay::IsValidMailbox(address, !IsAscii(address))) {
        invalid.push_back(address.substr(0, 320));
        continue;
      }
      relay::Suppression s;
      s.account = req.account;
      s.address = text::Lower(address);
      s.reply = reason.empty() ? "added through the API" : reason.substr(0, 1000);
      s.source = text::IStartsWith(type, "text/csv") ? "import" : "manual";
      s.time = now;
      rows.push_back(std::move(s));
    }
    if (!invalid.empty()) {
      std::string extra = "\"invalid\":[";
      for (size_t i = 0; i < invalid.size() && i < 100; ++i) {
        if (i) extra.push_back(',');
        cli::AppendJsonString(&extra, invalid[i]);
      }
      extra.push_back(']');
      SetError(res, 422, relay::kReplyInvalidRcpt, extra);
      return;
    }
    Status s = c_.store->AddSuppressions(rows);
    if (!s.ok()) return SetHttpError(res, 503, "cannot store the suppressions: " + s.message());
    res->Json(200, "{\"added\":" + std::to_string(rows.size()) + "}");
  }

  void RemoveSuppression(const Request& req, Response* res) {
    const std::string& address = req.path_params.at("address");
    Status s = c_.store->RemoveSuppression(req.account, text::Lower(address));
    if (s.code() == Status::Code::kNotFound) return SetHttpError(res, 404, "not on this account's suppression list");
    if (!s.ok()) return SetHttpError(res, 503, "cannot remove the suppression: " + s.message());
    res->status = 204;
  }

  // --- stats -------------------------------------------------------------------

  void Stats(const Request& req, Response* res) {
    relay::Account account;
    if (!c_.store->GetAccount(req.account, &account).ok()) return SetHttpError(res, 404, "the key's account is gone");
    std::string day, month;
    relay::QuotaPeriods(account.timezone, relay::SystemNow(), &day, &month);
    int64_t used_day = 0, used_month = 0;
    c_.store->QuotaUsage(req.account, day, &used_day);
    c_.store->QuotaUsage(req.account, month, &used_month);
    std::string out;
    cli::JsonWriter w(&out);
    w.BeginObject().String("account", req.account).BeginObject("recipients");
    {
      std::lock_guard lock(db_mu_);
      Query p(db_,
              "SELECT r.state, count(*) FROM recipients r JOIN messages m ON m.id = r.message_id "
              "WHERE m.account = ? GROUP BY r.state ORDER BY r.state");
      if (!p.ok()) return SetHttpError(res, 503, "cannot count: " + p.error());
      relay::Stmt q = p.stmt();
      q.Bind(1, req.account);
      std::map<std::string, int64_t> counts;
      while (q.Step() == SQLITE_ROW) counts[q.Text(0)] = q.Int(1);
      for (auto st : {relay::RecipientState::kQueued, relay::RecipientState::kDeferred, relay::RecipientState::kDelivered,
                      relay::RecipientState::kBounced, relay::RecipientState::kExpired, relay::RecipientState::kSuppressed}) {
        const std::string name(relay::RecipientStateName(st));
        w.Int(name, counts[name]);
      }
    }
    w.EndObject()
        .BeginObject("quota")
        .String("day", day.substr(2))
        .Int("daily_limit", account.daily_quota)
        .Int("daily_used", used_day)
        .String("month", month.substr(2))
        .Int("monthly_limit", account.monthly_quota)
        .Int("monthly_used", used_month)
        .EndObject()
        .EndObject();
    res->Json(200, std::move(out));
  }

  ApiContext c_;
  std::mutex db_mu_;
  sqlite3* db_;
  std::mutex idempotency_mu_;
};

}  // namespace

int HttpStatusForReply(std::string_view reply, int64_t now, int* retry_after) {
  *retry_after = 0;
  const std::string_view code = reply.substr(0, 3);
  if (reply == relay::kReplyDailyQuota || reply == relay::kReplyNotEnoughQuota || reply == relay::kReplyMonthlyQuota) {
    // Until the next UTC day (or month): when the period that is full ends.
    const int64_t next_day = (now / 86400 + 1) * 86400;
    int64_t until = next_day;
    if (reply == relay::kReplyMonthlyQuota) {
      time_t t = static_cast<time_t>(now);
      struct tm tm;
      gmtime_r(&t, &tm);
      tm.tm_mon += 1;
      tm.tm_mday = 1;
      tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
      until = static_cast<int64_t>(timegm(&tm));
    }
    *retry_after = static_cast<int>(std::max<int64_t>(1, until - now));
    return 429;
  }
  if (reply == relay::kReplyTooLarge) return 413;
  if (reply == relay::kReplyAccountUnavailable) return 403;
  if (!code.empty() && code[0] == '4') {
    *retry_after = 30;
    return 503;
  }
  // Recipients refused, the sender refused, the content refused.
  return 422;
}

Status Endpoints::Create(const ApiContext& context, std::unique_ptr<Endpoints>* out) {
  if (sodium_init() < 0) return Status::IoError("libsodium failed to initialise");
  sqlite3* db = nullptr;
  Status s = relay::OpenSqliteConnection(context.db_path, &db);
  if (s.ok()) s = relay::SqliteExec(db, kSchema);
  if (!s.ok()) {
    if (db) sqlite3_close(db);
    return s;
  }
  auto impl = std::make_unique<EndpointsImpl>(context, db);
  impl->AddRoutes();
  *out = std::move(impl);
  return Status::Ok();
}

}  // namespace rebound::api
