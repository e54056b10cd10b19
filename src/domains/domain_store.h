// domains/domain_store.h: the relay's sending domains and their DKIM keys.
//
// A sending domain belongs to one account. Registering it makes an ownership
// token (published as `_rebound.<domain>` TXT "rebound-verification=<token>"),
// a return-path domain (`bounce.<domain>` unless given) and a first DKIM
// selector with two keys: RSA-2048 and Ed25519. The domain is *verified* once
// `domain check` has seen its ownership record; only verified domains may be
// used to send.
//
// Tables (`sending_domains`, `dkim_keys`) live in <data_dir>/queue.db on this
// store's own connection (schema: docs/queue-format.md). Private keys are PEM
// (PKCS#8) files at <data_dir>/dkim/<domain>/<selector>.<rsa|ed25519>.pem,
// mode 0600 in 0700 directories; their text never goes to a log.
//
// Key lifecycle per selector: pending (created by add/rotate, not yet seen in
// DNS) -> active (signing; the first selector of a domain starts active) ->
// retiring (a newer selector became active; still published, not signing,
// until retire_after) -> retired (may be removed from DNS).
//
// Thread-compatible: one DomainStore per thread (or guard it); SQLite WAL
// lets several connections to the file work side by side.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rebound/status.h"

namespace rebound::domains {

// What a DKIM signer needs for one signature.
struct SigningKey {
  std::string domain;     // the d= value: the registered sending domain
  std::string selector;   // s=
  std::string algorithm;  // "rsa-sha256" | "ed25519-sha256"
  std::string private_key_pem;
};

enum class KeyState : uint8_t { kPending, kActive, kRetiring, kRetired };
std::string_view KeyStateName(KeyState s);

struct DkimKey {
  std::string domain;
  // A generation ("rb20261206") is what add/rotate make: one RSA and one
  // Ed25519 key, each under its own selector (two TXT records under one name
  // would leave verifiers to pick one): "<generation>-rsa", "<generation>-ed25519".
  std::string generation;
  std::string selector;
  std::string algorithm;       // "rsa-sha256" | "ed25519-sha256"
  std::string key_path;        // the private key's PEM file
  std::string public_key_b64;  // the p= value of the DKIM record
  KeyState state = KeyState::kPending;
  int64_t created = 0;         // Unix seconds
  int64_t published = 0;       // when check first saw its record; 0: not yet
  int64_t retire_after = 0;    // retiring: retired from this time; 0: not set

  // "k=rsa" / "k=ed25519" record text: "v=DKIM1; k=rsa; p=...".
  std::string RecordValue() const;
  // "<selector>._domainkey.<domain>"
  std::string RecordName() const;
};

struct SendingDomain {
  std::string name;               // lower case, no trailing dot
  std::string account;
  std::string ownership_token;
  std::string return_path_domain; // bounce.<name> by default
  bool verified = false;
  int64_t verified_at = 0;
  int64_t created = 0;
  std::vector<DkimKey> keys;      // every selector's keys, oldest first
};

class DomainStore {
 public:
  // Opens <data_dir>/queue.db (creating the tables) and uses <data_dir>/dkim/
  // for key files.
  static Status Open(const std::string& data_dir, std::unique_ptr<DomainStore>* out);
  ~DomainStore();
  DomainStore(const DomainStore&) = delete;
  DomainStore& operator=(const DomainStore&) = delete;

  // Registers `domain` for `account` and makes its first keys (active).
  // InvalidArgument when the name is not a domain or already registered.
  // `return_path_domain` empty: bounce.<domain>.
  Status Add(std::string_view domain, std::string_view account, std::string_view return_path_domain,
             SendingDomain* out);
  Status Get(std::string_view domain, SendingDomain* out);
  // Every domain (account empty) or one account's, by name.
  Status List(std::string_view account, std::vector<SendingDomain>* out);
  // Deletes the rows and the key files. NotFound when not registered.
  Status Remove(std::string_view domain);

  // The keys to sign mail From `domain` with now: for a registered domain, its
  // active selector's RSA and Ed25519 keys (both); NotFound when the domain
  // (or its organizational parent registered as a sending domain) has none.
  Status SigningKeysFor(std::string_view domain, std::vector<SigningKey>* out);

  // The registered, verified sending domain of `account` that `domain` is or
  // falls under (a.example.com falls under example.com); NotFound otherwise.
  Status VerifiedDomainFor(std::string_view account, std::string_view domain, SendingDomain* out);
  // How many sending domains `account` has registered (verified or not).
  Status CountForAccount(std::string_view account, int64_t* out);

  // Starts a new generation (pending) with fresh RSA and Ed25519 keys.
  Status Rotate(std::string_view domain, std::string* new_generation);

  // What `domain check` learned, stored: ownership seen -> verified (and the
  // time, first time only); not seen -> verified stays as it was (a domain
  // is not unverified by one failed lookup; `check` reports the failure).
  Status SetVerified(std::string_view domain, int64_t now);
  // A pending generation's records (both keys) were seen in DNS at `now`: it
  // becomes active and the previously active one starts retiring, retired
  // after now + overlap_seconds.
  Status ActivateGeneration(std::string_view domain, std::string_view generation, int64_t now,
                            int64_t overlap_seconds);
  // Retiring selectors whose retire_after has passed become retired.
  Status RetireExpired(int64_t now);

  // The re-check in `serve` remembers each record's last result; *broke is
  // set when a record that passed before fails now (then an event is due).
  Status RecordResult(std::string_view domain, std::string_view record, bool ok, std::string_view detail,
                      int64_t now, bool* broke);
  // Appends to domain_events (what `domain events` lists).
  Status AddEvent(std::string_view domain, std::string_view event, std::string_view record,
                  std::string_view detail, int64_t now);
  struct Event {
    int64_t time = 0;
    std::string domain, event, record, detail;
  };
  Status ListEvents(std::string_view domain, std::vector<Event>* out);

  const std::string& data_dir() const { return data_dir_; }

 private:
  DomainStore(std::string data_dir, sqlite3* db) : data_dir_(std::move(data_dir)), db_(db) {}
  Status MakeKeys(const std::string& domain, const std::string& generation, KeyState state, int64_t now);
  Status LoadKeys(SendingDomain* d);

  std::string data_dir_;
  sqlite3* db_ = nullptr;
};

// Lower-cases and drops a trailing dot; false when `name` is not a plausible
// DNS domain name (labels of letters, digits and '-', at least two labels).
bool NormalizeDomain(std::string_view name, std::string* out);
// The organizational domain (RFC 7489 3.2) of a normalized name, by the
// public suffix list (libpsl): a.b.example.co.uk -> example.co.uk. A name
// that is itself a public suffix returns itself.
std::string OrganizationalDomain(std::string_view domain);

}  // namespace rebound::domains
