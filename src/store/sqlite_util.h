// store/sqlite_util.h: what code that keeps its own tables in the relay's
// SQLite file (queue.db) shares with the Store: opening a connection with the
// same settings, and a prepared-statement wrapper.
//
// Each part of the service that needs durable state of its own (sending
// domains, API keys, webhooks) owns its tables in the same file, opened on
// its own connection; WAL lets those connections read and write beside the
// Store's. Their schemas are documented in docs/queue-format.md.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "rebound/status.h"

namespace rebound::relay {

// A prepared statement, reset on scope exit.
class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  ~Stmt() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, std::string_view v) {
    // A null data pointer would bind SQL NULL; an empty view means ''.
    sqlite3_bind_text(s_, i, v.data() ? v.data() : "", static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& BindBlob(int i, std::string_view v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  int Step() { return sqlite3_step(s_); }
  int64_t Int(int i) { return sqlite3_column_int64(s_, i); }
  std::string Text(int i) {
    const unsigned char* p = sqlite3_column_text(s_, i);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(s_, i)) : std::string();
  }
  std::string Blob(int i) {
    const void* p = sqlite3_column_blob(s_, i);
    return p ? std::string(static_cast<const char*>(p), sqlite3_column_bytes(s_, i)) : std::string();
  }

 private:
  sqlite3_stmt* s_;
};

// Opens (creating when absent) the SQLite file at `path` with the settings
// the Store uses: WAL, a 10 s busy timeout, foreign keys, synchronous=FULL
// (every commit is on disk when it returns). The caller owns *out and closes
// it with sqlite3_close.
Status OpenSqliteConnection(const std::string& path, sqlite3** out);
// Runs one or more statements with no results; IoError names the SQL.
Status SqliteExec(sqlite3* db, const char* sql);

}  // namespace rebound::relay
