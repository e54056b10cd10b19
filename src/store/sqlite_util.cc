#include "store/sqlite_util.h"

namespace rebound::relay {

Status SqliteExec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = std::string("sqlite: ") + (err ? err : "error") + " (" + sql + ")";
    sqlite3_free(err);
    return Status::IoError(msg);
  }
  return Status::Ok();
}

Status OpenSqliteConnection(const std::string& path, sqlite3** out) {
  *out = nullptr;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = path + ": cannot open the database: " + (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return Status::IoError(msg);
  }
  sqlite3_busy_timeout(db, 10000);
  Status s = SqliteExec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
  if (!s.ok()) {
    sqlite3_close(db);
    return Status::IoError(path + ": " + s.message());
  }
  *out = db;
  return Status::Ok();
}

}  // namespace rebound::relay
