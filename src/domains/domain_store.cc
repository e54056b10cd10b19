#include "domains/domain_store.h"

#include <fcntl.h>
#include <libpsl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "store/sqlite_util.h"

namespace rebound::domains {

using relay::Stmt;

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS sending_domains(
  name TEXT PRIMARY KEY,
  account TEXT NOT NULL,
  ownership_token TEXT NOT NULL,
  return_path_domain TEXT NOT NULL,
  verified INTEGER NOT NULL DEFAULT 0,
  verified_at INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS sending_domains_by_account ON sending_domains(account);
CREATE TABLE IF NOT EXISTS dkim_keys(
  domain TEXT NOT NULL REFERENCES sending_domains(name) ON DELETE CASCADE,
  selector TEXT NOT NULL,
  generation TEXT NOT NULL,
  algorithm TEXT NOT NULL,
  key_path TEXT NOT NULL,
  public_key TEXT NOT NULL,
  state TEXT NOT NULL,
  created INTEGER NOT NULL,
  published INTEGER NOT NULL DEFAULT 0,
  retire_after INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(domain, selector));
CREATE TABLE IF NOT EXISTS domain_record_status(
  domain TEXT NOT NULL REFERENCES sending_domains(name) ON DELETE CASCADE,
  record TEXT NOT NULL,
  ok INTEGER NOT NULL,
  detail TEXT NOT NULL,
  checked_at INTEGER NOT NULL,
  PRIMARY KEY(domain, record));
CREATE TABLE IF NOT EXISTS domain_events(
  id INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  domain TEXT NOT NULL,
  event TEXT NOT NULL,
  record TEXT NOT NULL,
  detail TEXT NOT NULL);
)sql";

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Owns one prepared statement for the length of a call; each execution is a
// Stmt over it (reset when that Stmt goes out of scope).
class Query {
 public:
  Query(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &raw_, nullptr) != SQLITE_OK) raw_ = nullptr;
  }
  ~Query() {
    if (raw_) sqlite3_finalize(raw_);
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  bool ok() const { return raw_ != nullptr; }
  sqlite3_stmt* raw() const { return raw_; }
  Status Error(const char* what) const { return Status::IoError(std::string(what) + ": " + sqlite3_errmsg(db_)); }

 private:
  sqlite3* db_;
  sqlite3_stmt* raw_ = nullptr;
};

std::string Base64(const unsigned char* p, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), p, static_cast<int>(n));
  out.resize(len > 0 ? static_cast<size_t>(len) : 0);
  return out;
}

std::string RandomHex(size_t bytes) {
  std::vector<unsigned char> b(bytes);
  RAND_bytes(b.data(), static_cast<int>(b.size()));
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// A fresh key, its private half as PKCS#8 PEM and the p= value of its record:
// RSA publishes the SubjectPublicKeyInfo (RFC 6376 3.6.1), Ed25519 the raw
// 32-byte key (RFC 8463 4).
Status GenerateKey(bool rsa, std::string* pem, std::string* public_b64) {
  Pkey key(rsa ? EVP_RSA_gen(2048) : EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) return Status::IoError("cannot generate a DKIM key");
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio || PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    BIO_free(bio);
    return Status::IoError("cannot encode a DKIM key");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  pem->assign(data, static_cast<size_t>(len));
  BIO_free(bio);
  if (rsa) {
    unsigned char* der = nullptr;
    int n = i2d_PUBKEY(key.get(), &der);
    if (n <= 0) return Status::IoError("cannot encode a DKIM public key");
    *public_b64 = Base64(der, static_cast<size_t>(n));
    OPENSSL_free(der);
  } else {
    unsigned char raw[32];
    size_t n = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(key.get(), raw, &n) != 1) return Status::IoError("cannot encode a DKIM public key");
    *public_b64 = Base64(raw, n);
  }
  return Status::Ok();
}

// mkdir -p with mode 0700 on each directory made (and on the last one even if
// it existed: the key directory is ours).
Status MakePrivateDir(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Status::IoError("cannot create " + path + ": " + ec.message());
  if (chmod(path.c_str(), 0700) != 0) return Status::IoError("cannot chmod " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

// Written under a temporary name with mode 0600 from the start (no window
// where the key is readable), then renamed into place.
Status WritePrivateFile(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError("cannot write " + tmp + ": " + std::strerror(errno));
  fchmod(fd, 0600);  // O_CREAT's mode is only used when the file is new
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      unlink(tmp.c_str());
      return Status::IoError("cannot write " + tmp + ": " + std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    unlink(tmp.c_str());
    return Status::IoError("cannot write " + tmp);
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) return Status::IoError("cannot rename " + tmp + ": " + std::strerror(errno));
  return Status::Ok();
}

Status ReadFile(const std::string& path, std::string* out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("cannot read " + path + ": " + std::strerror(errno));
  out->clear();
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      return Status::IoError("cannot read " + path + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return Status::Ok();
}

std::string DateStamp(int64_t now) {
  time_t t = static_cast<time_t>(now);
  tm tm_utc{};
  gmtime_r(&t, &tm_utc);
  char buf[16];
  strftime(buf, sizeof buf, "%Y%m%d", &tm_utc);
  return buf;
}

KeyState ParseState(const std::string& s) {
  if (s == "active") return KeyState::kActive;
  if (s == "retiring") return KeyState::kRetiring;
  if (s == "retired") return KeyState::kRetired;
  return KeyState::kPending;
}

constexpr const char* kDomainColumns =
    "SELECT name, account, ownership_token, return_path_domain, verified, verified_at, created FROM sending_domains ";

void ReadDomainRow(Stmt& q, SendingDomain* d) {
  d->name = q.Text(0);
  d->account = q.Text(1);
  d->ownership_token = q.Text(2);
  d->return_path_domain = q.Text(3);
  d->verified = q.Int(4) != 0;
  d->verified_at = q.Int(5);
  d->created = q.Int(6);
  d->keys.clear();
}

}  // namespace

std::string_view KeyStateName(KeyState s) {
  switch (s) {
    case KeyState::kPending: return "pending";
    case KeyState::kActive: return "active";
    case KeyState::kRetiring: return "retiring";
    case KeyState::kRetired: return "retired";
  }
  return "pending";
}

std::string DkimKey::RecordValue() const {
  return std::string("v=DKIM1; k=") + (algorithm == "ed25519-sha256" ? "ed25519" : "rsa") + "; p=" + public_key_b64;
}

std::string DkimKey::RecordName() const { return selector + "._domainkey." + domain; }

bool NormalizeDomain(std::string_view name, std::string* out) {
  std::string d(name);
  if (!d.empty() && d.back() == '.') d.pop_back();
  if (d.empty() || d.size() > 253) return false;
  for (char& c : d) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  int labels = 0;
  size_t start = 0;
  while (start <= d.size()) {
    size_t dot = d.find('.', start);
    if (dot == std::string::npos) dot = d.size();
    std::string_view label(d.data() + start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    ++labels;
    start = dot + 1;
  }
  if (labels < 2) return false;
  *out = std::move(d);
  return true;
}

std::string OrganizationalDomain(std::string_view domain) {
  // psl_latest reads the system's list (Debian's publicsuffix package) and
  // falls back to the list built into libpsl.
  static const psl_ctx_t* psl = psl_latest(nullptr);
  std::string d(domain);
  if (!psl) return d;
  const char* reg = psl_registrable_domain(psl, d.c_str());
  return reg ? std::string(reg) : d;
}

DomainStore::~DomainStore() {
  if (db_) sqlite3_close(db_);
}

Status DomainStore::Open(const std::string& data_dir, std::unique_ptr<DomainStore>* out) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return Status::IoError("cannot create " + data_dir + ": " + ec.message());
  sqlite3* db = nullptr;
  Status s = relay::OpenSqliteConnection(data_dir + "/queue.db", &db);
  if (!s.ok()) return s;
  std::unique_ptr<DomainStore> store(new DomainStore(data_dir, db));
  s = relay::SqliteExec(db, kSchema);
  if (!s.ok()) return s;
  *out = std::move(store);
  return Status::Ok();
}

Status DomainStore::MakeKeys(const std::string& domain, const std::string& generation, KeyState state, int64_t now) {
  const std::string dir = data_dir_ + "/dkim/" + domain;
  Status s = MakePrivateDir(data_dir_ + "/dkim");
  if (s.ok()) s = MakePrivateDir(dir);
  if (!s.ok()) return s;
  Query q(db_,
          "INSERT INTO dkim_keys(domain, selector, generation, algorithm, key_path, public_key, state, created)"
          " VALUES(?,?,?,?,?,?,?,?)");
  if (!q.ok()) return q.Error("dkim_keys");
  for (bool rsa : {true, false}) {
    std::string pem, pub;
    s = GenerateKey(rsa, &pem, &pub);
    if (!s.ok()) return s;
    const std::string selector = generation + (rsa ? "-rsa" : "-ed25519");
    const std::string path = dir + "/" + selector + (rsa ? ".rsa.pem" : ".ed25519.pem");
    s = WritePrivateFile(path, pem);
    if (!s.ok()) return s;
    Stmt st(q.raw());
    st.Bind(1, domain).Bind(2, selector).Bind(3, generation).Bind(4, rsa ? "rsa-sha256" : "ed25519-sha256");
    st.Bind(5, path).Bind(6, pub).Bind(7, KeyStateName(state)).Bind(8, now);
    if (st.Step() != SQLITE_DONE) return q.Error("insert dkim key");
  }
  return Status::Ok();
}

Status DomainStore::LoadKeys(SendingDomain* d) {
  Query q(db_,
          "SELECT selector, generation, algorithm, key_path, public_key, state, created, published, retire_after"
          " FROM dkim_keys WHERE domain = ? ORDER BY created, generation, selector DESC");
  if (!q.ok()) return q.Error("dkim_keys");
  Stmt st(q.raw());
  st.Bind(1, d->name);
  d->keys.clear();
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    DkimKey k;
    k.domain = d->name;
    k.selector = st.Text(0);
    k.generation = st.Text(1);
    k.algorithm = st.Text(2);
    k.key_path = st.Text(3);
    k.public_key_b64 = st.Text(4);
    k.state = ParseState(st.Text(5));
    k.created = st.Int(6);
    k.published = st.Int(7);
    k.retire_after = st.Int(8);
    d->keys.push_back(std::move(k));
  }
  return rc == SQLITE_DONE ? Status::Ok() : q.Error("read dkim keys");
}

Status DomainStore::Add(std::string_view domain, std::string_view account, std::string_view return_path_domain,
                        SendingDomain* out) {
  std::string name;
  if (!NormalizeDomain(domain, &name)) return Status::InvalidArgument("'" + std::string(domain) + "' is not a domain name");
  if (account.empty()) return Status::InvalidArgument("a sending domain needs an account (--account)");
  std::string rp;
  if (return_path_domain.empty()) {
    rp = "bounce." + name;
  } else if (!NormalizeDomain(return_path_domain, &rp)) {
    return Status::InvalidArgument("'" + std::string(return_path_domain) + "' is not a domain name");
  }
  if (rp != name && !(rp.size() > name.size() && rp.compare(rp.size() - name.size() - 1, std::string::npos, "." + name) == 0))
    return Status::InvalidArgument("the return-path domain " + rp + " must be " + name + " or under it (SPF alignment)");
  SendingDomain existing;
  if (Get(name, &existing).ok())
    return Status::InvalidArgument(name + " is already registered (account " + existing.account + ")");

  const int64_t now = Now();
  Status s = relay::SqliteExec(db_, "BEGIN IMMEDIATE");
  if (!s.ok()) return s;
  {
    Query q(db_,
            "INSERT INTO sending_domains(name, account, ownership_token, return_path_domain, created)"
            " VALUES(?,?,?,?,?)");
    if (!q.ok()) s = q.Error("sending_domains");
    if (s.ok()) {
      Stmt st(q.raw());
      st.Bind(1, name).Bind(2, account).Bind(3, RandomHex(16)).Bind(4, rp).Bind(5, now);
      if (st.Step() != SQLITE_DONE) s = q.Error("insert sending domain");
    }
  }
  // The first generation signs at once: there is no older key to overlap with,
  // and a signature whose key is not yet published fails like no signature.
  if (s.ok()) s = MakeKeys(name, "rb" + DateStamp(now), KeyState::kActive, now);
  if (!s.ok()) {
    relay::SqliteExec(db_, "ROLLBACK");
    std::error_code ec;
    std::filesystem::remove_all(data_dir_ + "/dkim/" + name, ec);
    return s;
  }
  s = relay::SqliteExec(db_, "COMMIT");
  if (!s.ok()) return s;
  return Get(name, out);
}

Status DomainStore::Get(std::string_view domain, SendingDomain* out) {
  std::string name;
  if (!NormalizeDomain(domain, &name)) return Status::NotFound(std::string(domain) + " is not a registered sending domain");
  Query q(db_, (std::string(kDomainColumns) + "WHERE name = ?").c_str());
  if (!q.ok()) return q.Error("sending_domains");
  {
    Stmt st(q.raw());
    st.Bind(1, name);
    int rc = st.Step();
    if (rc == SQLITE_DONE) return Status::NotFound(name + " is not a registered sending domain");
    if (rc != SQLITE_ROW) return q.Error("read sending domain");
    ReadDomainRow(st, out);
  }
  return LoadKeys(out);
}

Status DomainStore::List(std::string_view account, std::vector<SendingDomain>* out) {
  out->clear();
  Query q(db_, (std::string(kDomainColumns) + "WHERE ? = '' OR account = ? ORDER BY name").c_str());
  if (!q.ok()) return q.Error("sending_domains");
  {
    Stmt st(q.raw());
    st.Bind(1, account).Bind(2, account);
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      SendingDomain d;
      ReadDomainRow(st, &d);
      out->push_back(std::move(d));
    }
    if (rc != SQLITE_DONE) return q.Error("list sending domains");
  }
  for (auto& d : *out) {
    Status s = LoadKeys(&d);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status DomainStore::Remove(std::string_view domain) {
  SendingDomain d;
  Status s = Get(domain, &d);
  if (!s.ok()) return s;
  Query q(db_, "DELETE FROM sending_domains WHERE name = ?");
  if (!q.ok()) return q.Error("sending_domains");
  {
    Stmt st(q.raw());
    st.Bind(1, d.name);
    if (st.Step() != SQLITE_DONE) return q.Error("delete sending domain");
  }
  std::error_code ec;
  std::filesystem::remove_all(data_dir_ + "/dkim/" + d.name, ec);
  if (ec) return Status::IoError("removed " + d.name + " but not its keys: " + ec.message());
  return Status::Ok();
}

Status DomainStore::SigningKeysFor(std::string_view domain, std::vector<SigningKey>* out) {
  out->clear();
  std::string name;
  if (!NormalizeDomain(domain, &name)) return Status::NotFound(std::string(domain) + " has no DKIM keys");
  const std::string org = OrganizationalDomain(name);
  // The domain itself, then each parent down to the organizational domain:
  // a signature by a parent still aligns (relaxed DMARC alignment).
  for (std::string cur = name;;) {
    SendingDomain d;
    Status s = Get(cur, &d);
    if (s.ok()) {
      for (const auto& k : d.keys) {
        if (k.state != KeyState::kActive) continue;
        SigningKey sk{d.name, k.selector, k.algorithm, {}};
        s = ReadFile(k.key_path, &sk.private_key_pem);
        if (!s.ok()) return s;
        out->push_back(std::move(sk));
      }
      if (!out->empty()) return Status::Ok();
    } else if (s.code() != Status::Code::kNotFound) {
      return s;
    }
    if (cur == org || cur.size() <= org.size()) break;
    size_t dot = cur.find('.');
    if (dot == std::string::npos) break;
    cur = cur.substr(dot + 1);
  }
  return Status::NotFound(name + " has no active DKIM keys");
}

Status DomainStore::VerifiedDomainFor(std::string_view account, std::string_view domain, SendingDomain* out) {
  std::string name;
  if (!NormalizeDomain(domain, &name)) return Status::NotFound(std::string(domain) + " is not a sending domain");
  const std::string org = OrganizationalDomain(name);
  for (std::string cur = name;;) {
    SendingDomain d;
    Status s = Get(cur, &d);
    if (s.ok() && d.account == account && d.verified) {
      *out = std::move(d);
      return Status::Ok();
    }
    if (!s.ok() && s.code() != Status::Code::kNotFound) return s;
    if (cur == org || cur.size() <= org.size()) break;
    size_t dot = cur.find('.');
    if (dot == std::string::npos) break;
    cur = cur.substr(dot + 1);
  }
  return Status::NotFound(name + " is not a verified sending domain of " + std::string(account));
}

Status DomainStore::CountForAccount(std::string_view account, int64_t* out) {
  Query q(db_, "SELECT COUNT(*) FROM sending_domains WHERE account = ?");
  if (!q.ok()) return q.Error("sending_domains");
  Stmt st(q.raw());
  st.Bind(1, account);
  if (st.Step() != SQLITE_ROW) return q.Error("count sending domains");
  *out = st.Int(0);
  return Status::Ok();
}

Status DomainStore::Rotate(std::string_view domain, std::string* new_generation) {
  SendingDomain d;
  Status s = Get(domain, &d);
  if (!s.ok()) return s;
  for (const auto& k : d.keys)
    if (k.state == KeyState::kPending)
      return Status::InvalidArgument(d.name + " already has a pending generation (" + k.generation +
                                     "): publish its records and run `rebound domain check " + d.name + "`");
  const int64_t now = Now();
  const std::string base = "rb" + DateStamp(now);
  std::string gen = base;
  for (char suffix = 'b';; ++suffix) {
    bool taken = false;
    for (const auto& k : d.keys) taken = taken || k.generation == gen;
    if (!taken) break;
    if (suffix > 'z') return Status::InvalidArgument("too many rotations of " + d.name + " today");
    gen = base + suffix;
  }
  s = relay::SqliteExec(db_, "BEGIN IMMEDIATE");
  if (!s.ok()) return s;
  s = MakeKeys(d.name, gen, KeyState::kPending, now);
  if (!s.ok()) {
    relay::SqliteExec(db_, "ROLLBACK");
    return s;
  }
  s = relay::SqliteExec(db_, "COMMIT");
  if (s.ok()) *new_generation = gen;
  return s;
}

Status DomainStore::SetVerified(std::string_view domain, int64_t now) {
  std::string name;
  if (!NormalizeDomain(domain, &name)) return Status::NotFound(std::string(domain) + " is not a registered sending domain");
  Query q(db_,
          "UPDATE sending_domains SET verified = 1,"
          " verified_at = CASE WHEN verified = 1 THEN verified_at ELSE ? END WHERE name = ?");
  if (!q.ok()) return q.Error("sending_domains");
  Stmt st(q.raw());
  st.Bind(1, now).Bind(2, name);
  if (st.Step() != SQLITE_DONE) return q.Error("mark verified");
  if (sqlite3_changes(db_) == 0) return Status::NotFound(name + " is not a registered sending domain");
  return Status::Ok();
}

Status DomainStore::ActivateGeneration(std::string_view domain, std::string_view generation, int64_t now,
                                       int64_t overlap_seconds) {
  std::string name;
  if (!NormalizeDomain(domain, &name)) return Status::NotFound(std::string(domain) + " is not a registered sending domain");
  Status s = relay::SqliteExec(db_, "BEGIN IMMEDIATE");
  if (!s.ok()) return s;
  auto run = [&](const char* sql, auto bind) -> Status {
    Query q(db_, sql);
    if (!q.ok()) return q.Error("dkim_keys");
    Stmt st(q.raw());
    bind(st);
    return st.Step() == SQLITE_DONE ? Status::Ok() : q.Error("update dkim keys");
  };
  s = run("UPDATE dkim_keys SET state = 'retiring', retire_after = ? WHERE domain = ? AND state = 'active' AND generation <> ?",
          [&](Stmt& st) { st.Bind(1, now + overlap_seconds).Bind(2, name).Bind(3, generation); });
  if (s.ok())
    s = run("UPDATE dkim_keys SET state = 'active', published = CASE WHEN published = 0 THEN ? ELSE published END"
            " WHERE domain = ? AND generation = ?",
            [&](Stmt& st) { st.Bind(1, now).Bind(2, name).Bind(3, generation); });
  if (!s.ok()) {
    relay::SqliteExec(db_, "ROLLBACK");
    return s;
  }
  return relay::SqliteExec(db_, "COMMIT");
}

Status DomainStore::RetireExpired(int64_t now) {
  Query q(db_, "UPDATE dkim_keys SET state = 'retired' WHERE state = 'retiring' AND retire_after <= ?");
  if (!q.ok()) return q.Error("dkim_keys");
  Stmt st(q.raw());
  st.Bind(1, now);
  return st.Step() == SQLITE_DONE ? Status::Ok() : q.Error("retire dkim keys");
}

Status DomainStore::RecordResult(std::string_view domain, std::string_view record, bool ok, std::string_view detail,
                                 int64_t now, bool* broke) {
  *broke = false;
  {
    Query q(db_, "SELECT ok FROM domain_record_status WHERE domain = ? AND record = ?");
    if (!q.ok()) return q.Error("domain_record_status");
    Stmt st(q.raw());
    st.Bind(1, domain).Bind(2, record);
    int rc = st.Step();
    if (rc == SQLITE_ROW) *broke = st.Int(0) != 0 && !ok;
  }
  Query q(db_,
          "INSERT INTO domain_record_status(domain, record, ok, detail, checked_at) VALUES(?,?,?,?,?)"
          " ON CONFLICT(domain, record) DO UPDATE SET ok = excluded.ok, detail = excluded.detail,"
          " checked_at = excluded.checked_at");
  if (!q.ok()) return q.Error("domain_record_status");
  Stmt st(q.raw());
  st.Bind(1, domain).Bind(2, record).Bind(3, ok ? 1 : 0).Bind(4, detail).Bind(5, now);
  return st.Step() == SQLITE_DONE ? Status::Ok() : q.Error("record check result");
}

Status DomainStore::AddEvent(std::string_view domain, std::string_view event, std::string_view record,
                             std::string_view detail, int64_t now) {
  Query q(db_, "INSERT INTO domain_events(time, domain, event, record, detail) VALUES(?,?,?,?,?)");
  if (!q.ok()) return q.Error("domain_events");
  Stmt st(q.raw());
  st.Bind(1, now).Bind(2, domain).Bind(3, event).Bind(4, record).Bind(5, detail);
  return st.Step() == SQLITE_DONE ? Status::Ok() : q.Error("add domain event");
}

Status DomainStore::ListEvents(std::string_view domain, std::vector<Event>* out) {
  out->clear();
  Query q(db_, "SELECT time, domain, event, record, detail FROM domain_events WHERE ? = '' OR domain = ? ORDER BY id");
  if (!q.ok()) return q.Error("domain_events");
  Stmt st(q.raw());
  st.Bind(1, domain).Bind(2, domain);
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) out->push_back(Event{st.Int(0), st.Text(1), st.Text(2), st.Text(3), st.Text(4)});
  return rc == SQLITE_DONE ? Status::Ok() : q.Error("list domain events");
}

}  // namespace rebound::domains
