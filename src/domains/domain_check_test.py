#!/usr/bin/python3
"""`rebound domain add|check|rotate|list|remove` end to end, against a dnsmasq
this test starts on a loopback port with zones of good, missing and wrong
records (built from what `domain add --format json` says to publish).

Usage: domain_check_test.py REBOUND_BINARY
Exits 77 (skipped) when dnsmasq is not installed.
"""
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time

REBOUND = sys.argv[1]
DNSMASQ = "/usr/sbin/dnsmasq"
GOOD_IP, LIAR_IP = "192.0.2.10", "192.0.2.11"
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def free_udp_port():
    # dnsmasq binds UDP and TCP on its port: find one free in both.
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise RuntimeError("no free port")


def rebound(*args, stdin=None, config=None):
    cmd = [REBOUND] + list(args) + ["--config", config or CONFIG]
    p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120)
    return p


class Dnsmasq:
    def __init__(self, records):
        self.port = free_udp_port()
        args = [DNSMASQ, "--keep-in-foreground", "--port=%d" % self.port, "--listen-address=127.0.0.1",
                "--bind-interfaces", "--no-resolv", "--no-hosts", "--pid-file=", "--user=root",
                # Authoritative for the test zones: unknown names are NXDOMAIN, not forwarded.
                "--local=/test/", "--local=/2.0.192.in-addr.arpa/", "--local=/8.b.d.0.1.0.0.2.ip6.arpa/",
                "--log-facility=" + os.path.join(WORK, "dnsmasq.log")] + records
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for _ in range(100):
            if self.proc.poll() is not None:
                raise RuntimeError("dnsmasq exited: " + self.proc.stderr.read())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("dnsmasq did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def txt(name, value):
    # dnsmasq makes each comma-separated part a TXT string (quotes would be
    # kept as text when not read from a config file); a long DKIM key is
    # split as a zone file would split it. None of the values has a comma.
    parts = [value[i:i + 255] for i in range(0, len(value), 255)] or [""]
    return "--txt-record=%s,%s" % (name, ",".join(parts))


def write_config(path, dns_port, ips):
    with open(path, "w") as f:
        f.write('[server]\ndata_dir = "%s"\nhostname = "mx.relay.test"\n' % DATA)
        f.write('[dns]\nservers = "127.0.0.1:%d"\ntimeout_ms = 500\ntries = 2\n' % dns_port)
        f.write('[domains]\nsending_ips = [%s]\nrotation_overlap = 3600\n' % ", ".join('"%s"' % i for i in ips))


def records_of(domain):
    p = rebound("domain", "records", domain, "--format", "json")
    check(p.returncode == 0, "domain records %s: %s" % (domain, p.stderr))
    return json.loads(p.stdout)["records"]


def good_zone(domain, recs):
    out = []
    for r in recs:
        if r["purpose"] == "spf":
            # Through an include, so libspf2 has to follow it.
            out.append(txt(r["name"], "v=spf1 include:_spf.relay.test ~all"))
        elif r["type"] == "TXT":
            out.append(txt(r["name"], r["value"]))
        elif r["type"] == "MX":
            pref, host = r["value"].split()
            out.append("--mx-host=%s,%s,%s" % (r["name"], host, pref))
    return out


def results(report):
    return {c["record"]: c["result"] for c in report["checks"]}


def run_check(domain, config=None):
    p = rebound("domain", "check", domain, "--format", "json", config=config)
    lines = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    check(len(lines) == 1, "check %s printed one JSON line: %r %s" % (domain, p.stdout, p.stderr))
    return p.returncode, (lines[0] if lines else {"checks": []})


def main():
    global WORK, DATA, CONFIG
    if not os.path.exists(DNSMASQ):
        print("SKIP: dnsmasq not installed (apt-get install dnsmasq-base)")
        return 77
    WORK = tempfile.mkdtemp(prefix="rebound-domain-check-")
    DATA = os.path.join(WORK, "data")
    CONFIG = os.path.join(WORK, "rebound.toml")
    dns = None
    try:
        write_config(CONFIG, 1, [GOOD_IP])
        p = rebound("account", "add", "alice", "--domain", "good.test", stdin="pw-alice\n")
        check(p.returncode == 0, "account add: " + p.stderr)

        # add: an unknown account is refused; then the records, text and JSON.
        p = rebound("domain", "add", "good.test", "--account", "nobody")
        check(p.returncode == 1 and "no account" in p.stderr, "add for an unknown account fails: %r" % p.stderr)
        p = rebound("domain", "add", "good.test", "--account", "alice", "--format", "text")
        check(p.returncode == 0, "domain add good.test: " + p.stderr)
        for needle in ['_rebound.good.test.\t3600\tIN\tTXT\t"rebound-verification=',
                       'good.test.\t3600\tIN\tTXT\t"v=spf1 ip4:192.0.2.10 ~all"',
                       '._domainkey.good.test.\t3600\tIN\tTXT\t"v=DKIM1; k=rsa; p=',
                       '._domainkey.good.test.\t3600\tIN\tTXT\t"v=DKIM1; k=ed25519; p=',
                       '_dmarc.good.test.\t3600\tIN\tTXT\t"v=DMARC1; p=none; rua=mailto:dmarc-reports@good.test"',
                       'bounce.good.test.\t3600\tIN\tMX\t10 mx.relay.test.',
                       'bounce.good.test.\t3600\tIN\tTXT\t"v=spf1 ip4:192.0.2.10 -all"']:
            check(needle in p.stdout, "add prints %r" % needle)
        # The RSA key's record is longer than one TXT string: split in two.
        check('" "' in p.stdout, "a long DKIM value is split into 255-byte strings")
        for d in ("missing.test", "wrong.test"):
            p = rebound("domain", "add", d, "--account", "alice", "--format", "json")
            check(p.returncode == 0, "domain add %s: %s" % (d, p.stderr))
            doc = json.loads(p.stdout)
            purposes = sorted(r["purpose"] for r in doc["records"])
            check(purposes == ["dkim", "dkim", "dmarc", "ownership", "return_path_mx", "return_path_spf", "spf"],
                  "JSON records of %s: %s" % (d, purposes))
            check(all(set(r) == {"type", "name", "value", "purpose"} for r in doc["records"]), "JSON record fields")
        p = rebound("domain", "add", "good.test", "--account", "alice")
        check(p.returncode == 1 and "already registered" in p.stderr, "a second add is refused")
        p = rebound("domain", "add", "toomany.test", "--account", "alice")
        check(p.returncode == 0, "domain add toomany.test: " + p.stderr)

        # Key files: 0600 in 0700 directories.
        keydir = os.path.join(DATA, "dkim", "good.test")
        check(stat.S_IMODE(os.stat(os.path.join(DATA, "dkim")).st_mode) == 0o700, "dkim dir 0700")
        pems = sorted(os.listdir(keydir))
        check(len(pems) == 2 and pems[0].endswith(".ed25519.pem") and pems[1].endswith(".rsa.pem"), "two key files: %s" % pems)
        for f in pems:
            check(stat.S_IMODE(os.stat(os.path.join(keydir, f)).st_mode) == 0o600, "%s is 0600" % f)

        good = records_of("good.test")
        wrong = records_of("wrong.test")
        other_key = [r for r in good if r["purpose"] == "dkim"][0]["value"]
        zone = good_zone("good.test", good)
        zone += [txt("_spf.relay.test", "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"),
                 "--host-record=mx.relay.test,192.0.2.10,2001:db8::10",  # A, AAAA and their PTRs
                 "--ptr-record=11.2.0.192.in-addr.arpa,liar.relay.test", "--host-record=liar.relay.test,192.0.2.99"]
        for r in wrong:
            if r["purpose"] == "ownership":
                zone.append(txt(r["name"], "rebound-verification=0000"))
            elif r["purpose"] == "spf":
                zone.append(txt(r["name"], "v=spf1 ip4:198.51.100.1 -all"))
            elif r["purpose"] == "dkim":
                zone.append(txt(r["name"], other_key))  # good.test's key, not this one
            elif r["purpose"] == "dmarc":
                zone.append(txt(r["name"], "v=DMARC1; p=maybe"))
            elif r["purpose"] == "return_path_mx":
                zone.append("--mx-host=%s,elsewhere.test,10" % r["name"])
            elif r["purpose"] == "return_path_spf":
                zone.append(txt(r["name"], "v=spf1 redirect=_spf.nowhere.test"))
        zone.append("--host-record=somewhere.missing.test,192.0.2.50")
        # Eleven DNS-querying terms before the one that would pass: over
        # RFC 7208's limit of 10, a permerror (libspf2 counts, not us).
        zone.append(txt("toomany.test", "v=spf1 " + " ".join("a:h%d.relay.test" % i for i in range(11)) +
                        " ip4:192.0.2.10 -all"))  # the zone exists, the records do not
        dns = Dnsmasq(zone)
        write_config(CONFIG, dns.port, [GOOD_IP])

        rc, rep = run_check("good.test")
        res = results(rep)
        check(rc == 0, "good.test check exits 0: %s" % json.dumps(rep))
        check(all(v == "pass" for v in res.values()) and len(res) == 9,
              "good.test: every record passes: %s" % res)
        check(rep.get("verified") is True, "good.test verified")
        p = rebound("domain", "list", "--format", "json")
        listed = {json.loads(l)["domain"]: json.loads(l) for l in p.stdout.splitlines()}
        check(listed["good.test"]["verified"] and listed["good.test"]["verified_at"], "list shows good.test verified")
        check(not listed["wrong.test"]["verified"], "wrong.test not verified")

        rc, rep = run_check("missing.test")
        res = results(rep)
        check(rc == 1, "missing.test check exits 1")
        for rec in ("ownership", "spf", "dmarc", "return_path_mx", "return_path_spf"):
            check(res.get(rec) == "fail", "missing.test %s fails: %s" % (rec, res.get(rec)))
        check(sum(1 for k, v in res.items() if k.startswith("dkim ") and v == "fail") == 2, "missing.test dkim fails")
        check(res.get("ptr 192.0.2.10") == "pass", "ptr of the good IP passes for any domain")
        fixes = {c["record"]: c["fix"] for c in rep["checks"]}
        check("rebound-verification=" in fixes["ownership"], "ownership fix names the record")
        check("v=spf1 ip4:192.0.2.10" in fixes["spf"], "spf fix names the policy")

        rc, rep = run_check("wrong.test")
        res = results(rep)
        found = {c["record"]: c["found"] for c in rep["checks"]}
        check(rc == 1, "wrong.test exits 1")
        check(res["ownership"] == "fail" and "rebound-verification=0000" in found["ownership"], "wrong token fails")
        check(res["spf"] == "fail" and "192.0.2.10: fail" in found["spf"], "spf -all of another IP: fail: " + found["spf"])
        dk = [k for k in res if k.startswith("dkim ")]
        check(all(res[k] == "fail" for k in dk), "dkim with another key fails")
        check(any("k=rsa, the key is ed25519" in found[k] for k in dk), "ed25519 selector with an rsa record says so")
        check(any("not this selector's public key" in found[k] for k in dk), "rsa selector with another key says so")
        check(res["dmarc"] == "fail" and "p= must be" in found["dmarc"], "dmarc p=maybe fails")
        check(res["return_path_mx"] == "fail" and "elsewhere.test" in found["return_path_mx"], "MX elsewhere fails")
        check(res["return_path_spf"] == "fail" and "permerror" in found["return_path_spf"],
              "redirect to a missing domain is a permerror: " + found["return_path_spf"])

        rc, rep = run_check("toomany.test")
        found = {c["record"]: c["found"] for c in rep["checks"]}
        print("toomany.test spf:", found.get("spf"))
        check(results(rep).get("spf") == "fail" and "too many DNS lookups" in found.get("spf", ""),
              "more than 10 DNS lookups is a permerror: %s" % found.get("spf"))

        # A second IP whose PTR does not resolve back: forward-confirmed rDNS fails.
        cfg2 = os.path.join(WORK, "rebound2.toml")
        write_config(cfg2, dns.port, [LIAR_IP])
        rc, rep = run_check("good.test", config=cfg2)
        res = results(rep)
        found = {c["record"]: c["found"] for c in rep["checks"]}
        check(res.get("ptr 192.0.2.11") == "fail" and "liar.relay.test does not resolve back" in found["ptr 192.0.2.11"],
              "FCrDNS fails for the liar IP: %s" % found.get("ptr 192.0.2.11"))
        check(res.get("spf") == "pass", "the include covers the second IP too")

        # An IPv6 sending address: SPF's ip6 term and the ip6.arpa PTR.
        cfg3 = os.path.join(WORK, "rebound3.toml")
        write_config(cfg3, dns.port, ["2001:db8::10"])
        rc, rep = run_check("good.test", config=cfg3)
        res = results(rep)
        check(res.get("spf") == "pass" and res.get("ptr 2001:db8::10") == "pass",
              "IPv6 sending address passes SPF (through the include) and FCrDNS: %s" % res)
        # The return path's record was published for the IPv4 address only.
        check(res.get("return_path_spf") == "fail", "IPv6 address not in the return path's SPF fails: %s" % res)

        # Text output and all domains at once.
        p = rebound("domain", "check", "--format", "text")
        check(p.returncode == 1 and "good.test: every record passes" in p.stdout and "FAIL  ownership" in p.stdout
              and "fix:" in p.stdout, "text check of every domain")

        # Rotation: pending until its records are seen, then active; the old retires.
        p = rebound("domain", "rotate", "good.test", "--format", "json")
        check(p.returncode == 0, "rotate: " + p.stderr)
        recs = json.loads(p.stdout)["records"]
        check(len([r for r in recs if r["purpose"] == "dkim"]) == 4, "rotate prints old and new DKIM records")
        p = rebound("domain", "list", "--format", "json")
        keys = [json.loads(l) for l in p.stdout.splitlines() if json.loads(l)["domain"] == "good.test"][0]["keys"]
        states = sorted(k["state"] for k in keys)
        check(states == ["active", "active", "pending", "pending"], "after rotate: %s" % states)
        rc, rep = run_check("good.test")
        check(rc == 1, "new selector not yet published: check fails")
        p = rebound("domain", "list", "--format", "json")
        keys = [json.loads(l) for l in p.stdout.splitlines() if json.loads(l)["domain"] == "good.test"][0]["keys"]
        check(sorted(k["state"] for k in keys) == ["active", "active", "pending", "pending"], "still pending")
        dns.stop()
        dns = Dnsmasq(zone + [txt(r["name"], r["value"]) for r in recs if r["purpose"] == "dkim" and
                              not any(z.startswith("--txt-record=%s," % r["name"]) for z in zone)])
        write_config(CONFIG, dns.port, [GOOD_IP])
        rc, rep = run_check("good.test")
        check(rc == 0, "after publishing the new selector every record passes: %s" % results(rep))
        check(any("now signs" in c for c in rep.get("changes", [])), "check says the new generation signs")
        p = rebound("domain", "list", "--format", "json")
        keys = [json.loads(l) for l in p.stdout.splitlines() if json.loads(l)["domain"] == "good.test"][0]["keys"]
        by_gen = {}
        for k in keys:
            by_gen.setdefault(k["generation"], set()).add(k["state"])
        check(sorted(tuple(v) for v in by_gen.values()) == [("active",), ("retiring",)], "rotated: %s" % by_gen)
        check(all(k["retire_after"] for k in keys if k["state"] == "retiring"), "retiring keys have a retire time")

        # remove: rows and key files go.
        p = rebound("domain", "remove", "missing.test")
        check(p.returncode == 0 and not os.path.exists(os.path.join(DATA, "dkim", "missing.test")), "remove")
        p = rebound("domain", "remove", "missing.test")
        check(p.returncode == 1, "removing twice fails")
        p = rebound("domain", "add", "not_a_domain", "--account", "alice")
        check(p.returncode == 1 and "not a domain" in p.stderr, "a bad name is refused")
    finally:
        if dns:
            dns.stop()
        if not failures:
            shutil.rmtree(WORK, ignore_errors=True)
        else:
            print("work dir kept:", WORK)
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
