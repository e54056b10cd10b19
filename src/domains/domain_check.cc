#include "domains/domain_check.h"

#include <arpa/nameser.h>

#include <algorithm>
#include <map>
#include <mutex>

#include "config/config.h"
#include "domains/spf.h"

namespace rebound::domains {

namespace {

using T = relay::ConfigKey::Type;

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n')) --e;
  return std::string(s.substr(b, e - b));
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return s;
}

// "v=DKIM1; k=rsa; p=..." -> tags (names lower case, values trimmed).
// False on a tag without '='.
bool ParseTags(std::string_view text, std::map<std::string, std::string>* tags) {
  tags->clear();
  size_t start = 0;
  while (start <= text.size()) {
    size_t semi = text.find(';', start);
    if (semi == std::string_view::npos) semi = text.size();
    std::string item = Trim(text.substr(start, semi - start));
    start = semi + 1;
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string::npos) return false;
    (*tags)[Lower(Trim(item.substr(0, eq)))] = Trim(item.substr(eq + 1));
  }
  return true;
}

std::string NoSpace(std::string s) {
  s.erase(std::remove_if(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }),
          s.end());
  return s;
}

std::string SpfValue(const DomainSettings& s, const std::string& all) {
  std::string v = "v=spf1";
  for (const auto& ip : s.sending_ips) v += (ip.find(':') != std::string::npos ? " ip6:" : " ip4:") + ip;
  if (s.sending_ips.empty() && !s.return_path_mx.empty()) v += " a:" + s.return_path_mx;
  return v + " " + all;
}

std::string Joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : "; ") + s;
  return out.empty() ? "(nothing)" : out;
}

std::string AnswerText(const DnsAnswer& a) {
  if (a.ok()) return Joined(a.records);
  if (a.kind == DnsAnswer::Kind::kNxDomain) return "no such name (NXDOMAIN)";
  if (a.kind == DnsAnswer::Kind::kNoData) return "no record of this type";
  return "DNS error: " + a.error;
}

// The SPF check of one domain for every sending IP.
RecordCheck CheckSpf(const std::string& record, const std::string& domain, const DomainSettings& s,
                     const DnsClient& dns, const std::string& expected) {
  RecordCheck c{record, "TXT", domain, false, "", "", ""};
  if (s.sending_ips.empty()) {
    c.found = "no sending IPs configured";
    c.fix = "list the relay's outgoing addresses in [domains] sending_ips, then publish: " + expected;
    return c;
  }
  c.ok = true;
  std::vector<std::string> results;
  for (const auto& ip : s.sending_ips) {
    SpfOutcome o = EvaluateSpf(dns, ip, domain);
    results.push_back(ip + ": " + o.result + (o.detail.empty() ? "" : " (" + o.detail + ")"));
    if (o.result != "pass") c.ok = false;
  }
  c.found = Joined(results);
  if (!c.ok)
    c.fix = "publish (or merge into the one SPF record of " + domain + ") a policy that passes the relay's IPs: " + expected;
  return c;
}

}  // namespace

void RegisterDomainConfigKeys() {
  static std::once_flag once;
  std::call_once(once, [] {
    relay::RegisterConfigKeys({
        {"domains.sending_ips", T::kStringList, "", "The relay's outgoing IPv4/IPv6 addresses: SPF records name them, check evaluates them"},
        {"domains.return_path_mx", T::kString, "", "Host the return-path MX records name; empty: server.hostname"},
        {"domains.dmarc_rua", T::kString, "", "DMARC aggregate report address in the suggested record; empty: dmarc-reports@<domain>"},
        {"domains.rotation_overlap", T::kInt, "604800", "Seconds a rotated-out DKIM selector stays published (retiring) before it is retired"},
        {"domains.check_interval", T::kInt, "3600", "Seconds between serve's re-checks of every sending domain's DNS (0: off)"},
        {"domains.require_verified", T::kBool, "false", "Refuse MAIL FROM/From domains that are not verified sending domains of the account, even for accounts with none registered"},
    });
  });
}

DomainSettings SettingsFromConfig(const relay::Config& config) {
  DomainSettings s;
  s.sending_ips = config.StringList("domains.sending_ips");
  s.return_path_mx = config.String("domains.return_path_mx");
  if (s.return_path_mx.empty()) s.return_path_mx = config.String("server.hostname");
  s.dmarc_rua = config.String("domains.dmarc_rua");
  s.rotation_overlap = config.Int("domains.rotation_overlap");
  s.dns_servers = config.String("dns.servers");
  s.dns_timeout_ms = static_cast<int>(config.Int("dns.timeout_ms"));
  s.dns_tries = static_cast<int>(config.Int("dns.tries"));
  return s;
}

std::vector<DnsRecord> RecordsToPublish(const SendingDomain& d, const DomainSettings& s) {
  std::vector<DnsRecord> out;
  out.push_back({"TXT", "_rebound." + d.name, "rebound-verification=" + d.ownership_token, "ownership"});
  out.push_back({"TXT", d.name, SpfValue(s, "~all"), "spf"});
  for (const auto& k : d.keys)
    if (k.state != KeyState::kRetired) out.push_back({"TXT", k.RecordName(), k.RecordValue(), "dkim"});
  const std::string rua = s.dmarc_rua.empty() ? "dmarc-reports@" + d.name : s.dmarc_rua;
  out.push_back({"TXT", "_dmarc." + d.name, "v=DMARC1; p=none; rua=mailto:" + rua, "dmarc"});
  if (d.return_path_domain != d.name) {
    out.push_back({"MX", d.return_path_domain, "10 " + (s.return_path_mx.empty() ? "MAIL-HOST-OF-THIS-RELAY" : s.return_path_mx),
                   "return_path_mx"});
    out.push_back({"TXT", d.return_path_domain, SpfValue(s, "-all"), "return_path_spf"});
  }
  return out;
}

std::string ZoneLine(const DnsRecord& r) {
  std::string line = r.name + ".\t3600\tIN\t" + r.type + "\t";
  if (r.type != "TXT") return line + r.value + (r.type == "MX" ? "." : "");
  // A TXT string holds at most 255 bytes; longer values are several strings
  // that receivers join (RFC 7208 3.3, RFC 6376 3.6.2.2).
  for (size_t i = 0; i < r.value.size() || i == 0; i += 255) {
    std::string chunk = r.value.substr(i, 255);
    std::string quoted;
    for (char c : chunk) {
      if (c == '"' || c == '\\') quoted += '\\';
      quoted += c;
    }
    line += (i ? " \"" : "\"") + quoted + "\"";
    if (r.value.empty()) break;
  }
  return line;
}

bool DomainReport::ownership_ok() const {
  for (const auto& c : checks)
    if (c.record == "ownership") return c.ok;
  return false;
}

bool DomainReport::all_ok() const {
  return std::all_of(checks.begin(), checks.end(), [](const RecordCheck& c) { return c.ok; });
}

DomainReport CheckDomain(const SendingDomain& d, const DomainSettings& s, const DnsClient& dns) {
  DomainReport report;
  report.domain = d.name;
  const std::vector<DnsRecord> expected = RecordsToPublish(d, s);
  auto expected_value = [&](const std::string& purpose) {
    for (const auto& r : expected)
      if (r.purpose == purpose) return r.value;
    return std::string();
  };

  // Ownership.
  {
    RecordCheck c{"ownership", "TXT", "_rebound." + d.name, false, "", "", ""};
    DnsAnswer a = dns.Query(c.name, ns_t_txt);
    const std::string want = "rebound-verification=" + d.ownership_token;
    c.ok = a.ok() && std::find(a.records.begin(), a.records.end(), want) != a.records.end();
    c.found = AnswerText(a);
    if (!c.ok) c.fix = "publish " + c.name + " TXT \"" + want + "\" (sending from " + d.name + " needs it)";
    report.checks.push_back(std::move(c));
  }

  report.checks.push_back(CheckSpf("spf", d.name, s, dns, expected_value("spf")));

  // DKIM: every key still published (pending, active, retiring).
  for (const auto& k : d.keys) {
    if (k.state == KeyState::kRetired) continue;
    RecordCheck c{"dkim " + k.selector, "TXT", k.RecordName(), false, "", "", k.selector};
    DnsAnswer a = dns.Query(c.name, ns_t_txt);
    c.found = AnswerText(a);
    const std::string want_k = k.algorithm == "ed25519-sha256" ? "ed25519" : "rsa";
    std::string problem = a.ok() ? "" : "missing";
    if (a.ok()) {
      if (a.records.size() > 1) problem = "several TXT records; verifiers may pick any";
      std::map<std::string, std::string> tags;
      if (problem.empty() && !ParseTags(a.records[0], &tags)) problem = "not a tag=value list";
      if (problem.empty() && tags.count("v") && tags["v"] != "DKIM1") problem = "v= is not DKIM1";
      const std::string k_tag = tags.count("k") ? Lower(tags["k"]) : "rsa";
      if (problem.empty() && k_tag != want_k) problem = "k=" + k_tag + ", the key is " + want_k;
      if (problem.empty() && NoSpace(tags["p"]) != k.public_key_b64)
        problem = tags["p"].empty() ? "p= is empty (the key is revoked)" : "p= is not this selector's public key";
    }
    c.ok = problem.empty();
    if (!c.ok) {
      c.found = problem + ": " + c.found;
      c.fix = "publish " + c.name + " TXT \"" + k.RecordValue() + "\"";
    }
    report.checks.push_back(std::move(c));
  }

  // DMARC: at the domain, else at its organizational domain (RFC 7489 6.6.3).
  std::map<std::string, std::string> dmarc;
  {
    RecordCheck c{"dmarc", "TXT", "_dmarc." + d.name, false, "", "", ""};
    const std::string org = OrganizationalDomain(d.name);
    auto lookup = [&](const std::string& name, std::vector<std::string>* found, std::string* text) {
      DnsAnswer a = dns.Query(name, ns_t_txt);
      *text = AnswerText(a);
      found->clear();
      for (const auto& r : a.records)
        if (r.rfind("v=DMARC1", 0) == 0) found->push_back(r);
    };
    std::vector<std::string> found;
    std::string text;
    lookup(c.name, &found, &text);
    if (found.empty() && org != d.name) {
      lookup("_dmarc." + org, &found, &text);
      if (!found.empty()) c.name = "_dmarc." + org;
    }
    c.found = text;
    std::string problem;
    if (found.empty()) problem = "no v=DMARC1 record";
    else if (found.size() > 1) problem = "several DMARC records (receivers then ignore them all)";
    else if (!ParseTags(found[0], &dmarc)) problem = "not a tag=value list";
    else if (dmarc["p"] != "none" && dmarc["p"] != "quarantine" && dmarc["p"] != "reject")
      problem = "p= must be none, quarantine or reject";
    c.ok = problem.empty();
    if (!c.ok) {
      c.found = problem + ": " + c.found;
      c.fix = "publish _dmarc." + d.name + " TXT \"" + expected_value("dmarc") + "\"";
    }
    report.checks.push_back(std::move(c));
  }

  // Alignment of the identifiers Rebound puts on mail From this domain.
  {
    RecordCheck c{"alignment", "-", d.name, true, "", "", ""};
    const bool strict_dkim = Lower(dmarc["adkim"]) == "s";
    const bool strict_spf = Lower(dmarc["aspf"]) == "s";
    const std::string org = OrganizationalDomain(d.name);
    std::vector<std::string> notes;
    // DKIM d= is the registered domain itself, so it aligns relaxed and strict.
    notes.push_back(std::string("DKIM d=") + d.name + " aligned" + (strict_dkim ? " (strict)" : ""));
    const bool rp_relaxed = OrganizationalDomain(d.return_path_domain) == org;
    const bool rp_ok = strict_spf ? d.return_path_domain == d.name : rp_relaxed;
    notes.push_back("return path " + d.return_path_domain + (rp_ok ? " aligned" : " NOT aligned") +
                    (strict_spf ? " (aspf=s)" : " (relaxed, organizational domain " + org + ")"));
    c.ok = rp_ok;
    c.found = Joined(notes);
    if (!c.ok)
      c.fix = strict_spf ? "drop aspf=s from the DMARC record (the return path is a subdomain), DKIM still aligns strictly"
                         : "use a return-path domain under " + org;
    report.checks.push_back(std::move(c));
  }

  if (d.return_path_domain != d.name) {
    RecordCheck c{"return_path_mx", "MX", d.return_path_domain, false, "", "", ""};
    DnsAnswer a = dns.Query(c.name, ns_t_mx);
    c.found = AnswerText(a);
    for (const auto& r : a.records) {
      std::string host = r.substr(r.find(' ') + 1);
      c.ok = c.ok || Lower(host) == Lower(s.return_path_mx);
    }
    if (s.return_path_mx.empty()) {
      c.ok = false;
      c.fix = "set [domains] return_path_mx (or server.hostname) to the relay's host name, then publish the MX";
    } else if (!c.ok) {
      c.fix = "publish " + c.name + " MX " + expected_value("return_path_mx") + " (bounces come back there)";
    }
    report.checks.push_back(std::move(c));
    report.checks.push_back(CheckSpf("return_path_spf", d.return_path_domain, s, dns, expected_value("return_path_spf")));
  }

  // Forward-confirmed reverse DNS: a PTR name whose A/AAAA include the IP.
  for (const auto& ip : s.sending_ips) {
    RecordCheck c{"ptr " + ip, "PTR", ReverseName(ip), false, "", "", ""};
    DnsAnswer ptr = dns.ReversePtr(ip);
    c.found = AnswerText(ptr);
    for (const auto& host : ptr.records) {
      DnsAnswer fwd = dns.Query(host, ip.find(':') != std::string::npos ? ns_t_aaaa : ns_t_a);
      bool confirmed = fwd.ok() && std::find(fwd.records.begin(), fwd.records.end(), ip) != fwd.records.end();
      if (confirmed) {
        c.ok = true;
        c.found = host + " -> " + ip;
        break;
      }
      c.found = host + " does not resolve back to " + ip + " (" + AnswerText(fwd) + ")";
    }
    if (!c.ok)
      c.fix = "ask the owner of " + ip + " (your hosting provider) for a PTR naming the relay's host, and give that host an address record for " + ip;
    report.checks.push_back(std::move(c));
  }
  return report;
}

Status ApplyCheck(DomainStore* store, const DomainReport& report, const DomainSettings& s, int64_t now,
                  std::vector<std::string>* changes) {
  SendingDomain d;
  Status st = store->Get(report.domain, &d);
  if (!st.ok()) return st;
  if (report.ownership_ok()) {
    if (!d.verified) changes->push_back(d.name + " is verified (ownership record published)");
    st = store->SetVerified(d.name, now);
    if (!st.ok()) return st;
  }
  // A pending generation whose every key is published becomes active.
  std::map<std::string, bool> pending;  // generation -> all published
  for (const auto& k : d.keys) {
    if (k.state != KeyState::kPending) continue;
    bool seen = false;
    for (const auto& c : report.checks) seen = seen || (c.selector == k.selector && c.ok);
    auto it = pending.emplace(k.generation, true).first;
    it->second = it->second && seen;
  }
  for (const auto& [gen, published] : pending) {
    if (!published) continue;
    st = store->ActivateGeneration(d.name, gen, now, s.rotation_overlap);
    if (!st.ok()) return st;
    changes->push_back(d.name + ": DKIM generation " + gen + " is published and now signs; the previous one retires in " +
                       std::to_string(s.rotation_overlap) + " s");
  }
  return store->RetireExpired(now);
}

}  // namespace rebound::domains
