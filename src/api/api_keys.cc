// API keys in queue.db and the per-key rate limit (see api_keys.h).
#include "api/api_keys.h"

#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/text.h"
#include "store/sqlite_util.h"
#include "store/store.h"

namespace rebound::api {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS api_keys(
  id TEXT PRIMARY KEY,
  account TEXT NOT NULL,
  scopes TEXT NOT NULL,
  secret_sha256 BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER NOT NULL DEFAULT 0
);
)sql";

std::string Hex(const unsigned char* p, size_t n) {
  std::string s(n * 2 + 1, '\0');
  sodium_bin2hex(s.data(), s.size(), p, n);
  s.pop_back();
  return s;
}

std::string Sha256(std::string_view s) {
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, reinterpret_cast<const unsigned char*>(s.data()), s.size());
  return std::string(reinterpret_cast<const char*>(h), sizeof h);
}

class Prepared {
 public:
  Prepared(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Prepared() { sqlite3_finalize(s_); }
  bool ok() const { return s_ != nullptr; }
  relay::Stmt stmt() { return relay::Stmt(s_); }

 private:
  sqlite3_stmt* s_ = nullptr;
};

Status SqlError(sqlite3* db, const char* what) { return Status::IoError(std::string(what) + ": " + sqlite3_errmsg(db)); }

}  // namespace

Status NormalizeScopes(const std::string& list, std::string* out) {
  std::set<std::string> found;
  size_t i = 0;
  while (i <= list.size()) {
    size_t j = list.find(',', i);
    if (j == std::string::npos) j = list.size();
    std::string scope(text::Trim(std::string_view(list).substr(i, j - i)));
    i = j + 1;
    if (scope.empty()) continue;
    if (std::find_if(std::begin(kScopes), std::end(kScopes), [&](const char* s) { return scope == s; }) ==
        std::end(kScopes))
      return Status::InvalidArgument("unknown scope '" + scope + "' (send, read, admin)");
    found.insert(scope);
  }
  if (found.empty()) return Status::InvalidArgument("no scope given (send, read, admin)");
  out->clear();
  for (const auto& s : found) out->append(out->empty() ? "" : ",").append(s);
  return Status::Ok();
}

bool HasScope(const std::string& scopes, const std::string& scope) {
  size_t i = 0;
  while (i <= scopes.size()) {
    size_t j = scopes.find(',', i);
    if (j == std::string::npos) j = scopes.size();
    if (std::string_view(scopes).substr(i, j - i) == scope) return true;
    i = j + 1;
  }
  return false;
}

Status ApiKeys::Open(const std::string& path, std::unique_ptr<ApiKeys>* out) {
  if (sodium_init() < 0) return Status::IoError("libsodium failed to initialise");
  sqlite3* db = nullptr;
  Status s = relay::OpenSqliteConnection(path, &db);
  if (s.ok()) s = relay::SqliteExec(db, kSchema);
  if (!s.ok()) {
    if (db) sqlite3_close(db);
    return s;
  }
  out->reset(new ApiKeys(db));
  return Status::Ok();
}

ApiKeys::~ApiKeys() { sqlite3_close(db_); }

Status ApiKeys::Create(const std::string& account, const std::string& scopes, std::string* key, ApiKey* info) {
  unsigned char id_bytes[8], secret_bytes[32];
  randombytes_buf(id_bytes, sizeof id_bytes);
  randombytes_buf(secret_bytes, sizeof secret_bytes);
  const std::string id = Hex(id_bytes, sizeof id_bytes), secret = Hex(secret_bytes, sizeof secret_bytes);
  sodium_memzero(secret_bytes, sizeof secret_bytes);
  const std::string hash = Sha256(secret);
  const int64_t now = relay::SystemNow();
  std::lock_guard lock(mu_);
  Prepared p(db_, "INSERT INTO api_keys(id, account, scopes, secret_sha256, created_at) VALUES (?, ?, ?, ?, ?)");
  if (!p.ok()) return SqlError(db_, "prepare");
  relay::Stmt q = p.stmt();
  q.Bind(1, id).Bind(2, account).Bind(3, scopes).BindBlob(4, hash).Bind(5, now);
  if (q.Step() != SQLITE_DONE) return SqlError(db_, "insert api key");
  *key = "rbk_" + id + "_" + secret;
  *info = ApiKey{id, account, scopes, now, 0};
  return Status::Ok();
}

Status ApiKeys::List(std::vector<ApiKey>* out) {
  std::lock_guard lock(mu_);
  Prepared p(db_, "SELECT id, account, scopes, created_at, revoked_at FROM api_keys ORDER BY account, created_at, id");
  if (!p.ok()) return SqlError(db_, "prepare");
  relay::Stmt q = p.stmt();
  out->clear();
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) out->push_back(ApiKey{q.Text(0), q.Text(1), q.Text(2), q.Int(3), q.Int(4)});
  return rc == SQLITE_DONE ? Status::Ok() : SqlError(db_, "list api keys");
}

Status ApiKeys::Revoke(const std::string& id) {
  std::lock_guard lock(mu_);
  Prepared p(db_, "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at = 0");
  if (!p.ok()) return SqlError(db_, "prepare");
  relay::Stmt q = p.stmt();
  q.Bind(1, relay::SystemNow()).Bind(2, id);
  if (q.Step() != SQLITE_DONE) return SqlError(db_, "revoke api key");
  if (sqlite3_changes(db_) == 0) return Status::NotFound("no live key with id " + id);
  return Status::Ok();
}

Status ApiKeys::Verify(std::string_view key, ApiKey* out) {
  // rbk_ + 16 hex + _ + 64 hex.
  std::string id, secret;
  if (key.size() == 4 + 16 + 1 + 64 && key.substr(0, 4) == "rbk_" && key[20] == '_') {
    id = std::string(key.substr(4, 16));
    secret = std::string(key.substr(21));
  }
  const std::string presented = Sha256(secret);
  std::string stored(crypto_hash_sha256_BYTES, '\0');  // the dummy an unknown id is compared with
  ApiKey row;
  bool found = false;
  {
    std::lock_guard lock(mu_);
    Prepared p(db_, "SELECT account, scopes, created_at, secret_sha256 FROM api_keys WHERE id = ? AND revoked_at = 0");
    if (!p.ok()) return SqlError(db_, "prepare");
    relay::Stmt q = p.stmt();
    q.Bind(1, id);
    if (!id.empty() && q.Step() == SQLITE_ROW) {
      std::string h = q.Blob(3);
      if (h.size() == stored.size()) {
        stored = std::move(h);
        found = true;
        row = ApiKey{id, q.Text(0), q.Text(1), q.Int(2), 0};
      }
    }
  }
  const bool equal = sodium_memcmp(presented.data(), stored.data(), stored.size()) == 0;
  if (!found || !equal) return Status::NotFound("no such key");
  *out = std::move(row);
  return Status::Ok();
}

bool RateLimiter::Allow(const std::string& key_id, int* retry_after_seconds) {
  if (rate_ <= 0) return true;
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  auto [it, inserted] = buckets_.try_emplace(key_id);
  Bucket& b = it->second;
  if (inserted) {
    b.tokens = burst_;
  } else {
    const double elapsed = std::chrono::duration<double>(now - b.at).count();
    b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
  }
  b.at = now;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return true;
  }
  *retry_after_seconds = std::max(1, static_cast<int>(std::ceil((1 - b.tokens) / rate_)));
  return false;
}

}  // namespace rebound::api
