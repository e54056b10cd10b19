// api/api_keys.h: the API's keys, kept in queue.db (table api_keys, see
// docs/queue-format.md), and the per-key request rate limit.
//
// A key is "rbk_<id>_<secret>": id is 8 random bytes in hex (it names the
// key in `apikey list` and finds its row), secret is 32 random bytes in hex.
// Only SHA-256(secret) is stored. A slow password hash (argon2) protects
// guessable passwords; a 256-bit random secret cannot be guessed, so one
// SHA-256 is as safe and costs microseconds per request rather than
// milliseconds. Hashes are compared with sodium_memcmp (constant time), and
// an unknown id is compared against a dummy hash, so a wrong key and a
// missing one take the same path and get the same answer.
//
// Threads: an ApiKeys is safe to use from many threads (one connection
// behind a mutex). Errors: Status.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "rebound/status.h"

namespace rebound::api {

struct ApiKey {
  std::string id;
  std::string account;
  std::string scopes;  // "send,read,admin" (sorted, comma separated)
  int64_t created_at = 0;
  int64_t revoked_at = 0;  // 0: live
};

// The scopes a key may hold.
inline constexpr const char* kScopes[] = {"send", "read", "admin"};
// "send, read" -> "read,send"; InvalidArgument names an unknown scope.
Status NormalizeScopes(const std::string& list, std::string* out);
bool HasScope(const std::string& scopes, const std::string& scope);

class ApiKeys {
 public:
  // Opens (creating the table when absent) the keys in the SQLite file `path`.
  static Status Open(const std::string& path, std::unique_ptr<ApiKeys>* out);
  ~ApiKeys();

  // A new key for `account`; *key is the only copy of the secret.
  Status Create(const std::string& account, const std::string& scopes, std::string* key, ApiKey* info);
  Status List(std::vector<ApiKey>* out);
  Status Revoke(const std::string& id);  // NotFound
  // The live key `key` names, or NotFound (whatever was wrong with it).
  Status Verify(std::string_view key, ApiKey* out);

 private:
  explicit ApiKeys(sqlite3* db) : db_(db) {}
  std::mutex mu_;
  sqlite3* db_;
};

// A token bucket per key: `rate` requests per second on average, bursts of
// `burst`. Allow() returns false (and the seconds to wait) when over.
class RateLimiter {
 public:
  RateLimiter(double rate, double burst) : rate_(rate), burst_(burst) {}
  bool Allow(const std::string& key_id, int* retry_after_seconds);

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point at;
  };
  double rate_, burst_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace rebound::api
