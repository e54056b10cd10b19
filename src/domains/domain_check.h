// domains/domain_check.h: the DNS records a sending domain publishes, and the
// check of what DNS actually serves for them.
//
// RecordsToPublish() is what `domain add` prints. CheckDomain() resolves each
// record (DnsClient, c-ares) and says pass/fail with the fix:
//   ownership        _rebound.<d> TXT rebound-verification=<token> (this alone decides "verified")
//   spf              <d>'s SPF evaluated by libspf2 for each sending IP: pass needed
//   dkim <selector>  the TXT record's k= and p= match the stored key
//   dmarc            _dmarc.<d> (or the organizational domain's) present and parseable
//   alignment        DKIM d= and the return path align with the From domain at the
//                    organizational domain (libpsl), strictly when DMARC asks (adkim/aspf=s)
//   return_path_mx   <return-path domain> MX names the configured host
//   return_path_spf  <return-path domain>'s SPF passes for each sending IP
//   ptr <ip>         forward-confirmed reverse DNS of each sending IP
// ApplyCheck() stores what the check proves: verified, and a pending
// generation whose records are all published becomes active.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "domains/dns_client.h"
#include "domains/domain_store.h"

namespace rebound::relay {
class Config;
}

namespace rebound::domains {

// The [domains] keys that shape the records; from the config.
struct DomainSettings {
  std::vector<std::string> sending_ips;  // the relay's outgoing addresses
  std::string return_path_mx;            // host named by the return-path MX
  std::string dmarc_rua;                 // report address; empty: dmarc-reports@<domain>
  int64_t rotation_overlap = 7 * 86400;  // seconds a retiring generation still verifies
  std::string dns_servers;               // [dns] servers
  int dns_timeout_ms = 3000;
  int dns_tries = 2;
};

// Registers the [domains] keys (once; idempotent).
void RegisterDomainConfigKeys();
DomainSettings SettingsFromConfig(const relay::Config& config);

struct DnsRecord {
  std::string type;     // TXT, MX
  std::string name;     // owner name, no trailing dot
  std::string value;    // TXT: the text (unsplit); MX: "10 host"
  std::string purpose;  // ownership, spf, dkim, dmarc, return_path_mx, return_path_spf
};

std::vector<DnsRecord> RecordsToPublish(const SendingDomain& d, const DomainSettings& s);
// One zone-file line: `name. 3600 IN TXT "..." "..."` (TXT split into
// 255-byte strings, quotes and backslashes escaped).
std::string ZoneLine(const DnsRecord& r);

struct RecordCheck {
  std::string record;  // "ownership", "spf", "dkim rb20261206-rsa", "ptr 192.0.2.1", ...
  std::string type;    // the DNS type asked for
  std::string name;    // the name asked about
  bool ok = false;
  std::string found;   // what DNS served (or the evaluation's result)
  std::string fix;     // what to do when !ok
  std::string selector;  // dkim only
};

struct DomainReport {
  std::string domain;
  std::vector<RecordCheck> checks;
  bool ownership_ok() const;
  bool all_ok() const;
};

DomainReport CheckDomain(const SendingDomain& d, const DomainSettings& s, const DnsClient& dns);
// Marks the domain verified when its ownership record is published, and
// activates a pending generation whose every key's record was seen; retires
// expired ones. `changes` gets one line per change, for the user.
Status ApplyCheck(DomainStore* store, const DomainReport& report, const DomainSettings& s, int64_t now,
                  std::vector<std::string>* changes);

}  // namespace rebound::domains
