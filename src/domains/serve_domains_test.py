#!/usr/bin/python3
"""`rebound serve` re-checks sending domains on a schedule: with a dnsmasq on
loopback serving a domain's ownership and SPF records, the first re-check
verifies it; when dnsmasq comes back without them, the next re-check writes
`record_broken` events (`rebound domain events`) and says so on stderr, and
the domain stays verified.

Usage: serve_domains_test.py REBOUND_BINARY
Exits 77 (skipped) when dnsmasq is not installed.
"""
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "relay"))
import relay_harness as h  # noqa: E402

DNSMASQ = "/usr/sbin/dnsmasq"
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def start_dnsmasq(port, records, logdir):
    p = subprocess.Popen([DNSMASQ, "--keep-in-foreground", "--port=%d" % port, "--listen-address=127.0.0.1",
                          "--bind-interfaces", "--no-resolv", "--no-hosts", "--pid-file=", "--user=root",
                          "--local=/test/", "--log-facility=" + os.path.join(logdir, "dnsmasq.log")] + records,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        if p.poll() is not None:
            return None
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return p
        except OSError:
            time.sleep(0.05)
    p.kill()
    return None


def wait_for(predicate, limit=30.0):
    end = time.time() + limit
    while time.time() < end:
        if predicate():
            return True
        time.sleep(0.3)
    return False


def main():
    h.REBOUND = sys.argv[1]
    if not os.path.exists(DNSMASQ):
        print("SKIP: dnsmasq not installed (apt-get install dnsmasq-base)")
        return 77
    dns = None
    port = None
    server = None
    try:
        # The port is fixed in the config, so dnsmasq must come back on it.
        for _ in range(5):
            port = h.free_port()
            server = h.Server('\n[domains]\ncheck_interval = 1\nsending_ips = ["192.0.2.10"]\n'
                              '[dns]\nservers = "127.0.0.1:%d"\ntimeout_ms = 300\ntries = 1\n' % port)
            server.add_account("alice", "pw-alice", "good.test")
            r = server.cli("domain", "add", "good.test", "--account", "alice", "--format", "json")
            recs = json.loads(r.stdout)["records"]
            token = [x["value"] for x in recs if x["purpose"] == "ownership"][0]
            published = ["--txt-record=_rebound.good.test,%s" % token, "--txt-record=good.test,v=spf1 ip4:192.0.2.10 -all"]
            dns = start_dnsmasq(port, published, server.dir)
            if dns:
                break
        check(dns is not None, "dnsmasq starts")
        server.start()

        def verified():
            r = server.cli("domain", "list", "--format", "json")
            return any(json.loads(l)["verified"] for l in r.stdout.splitlines() if l.strip())

        check(wait_for(verified), "serve's re-check verifies good.test")
        dns.terminate()
        dns.wait()
        dns = start_dnsmasq(port, ["--host-record=other.good.test,192.0.2.1"], server.dir)
        check(dns is not None, "dnsmasq restarts on its port without the records")

        def broken():
            r = server.cli("domain", "events", "good.test", "--format", "json")
            return {json.loads(l)["record"] for l in r.stdout.splitlines()
                    if l.strip() and json.loads(l)["event"] == "record_broken"}

        check(wait_for(lambda: {"ownership", "spf"} <= broken()), "record_broken events for ownership and spf: %s" % broken())
        check("dkim rb" not in " ".join(broken()), "records that never passed do not 'break'")
        check(verified(), "a failed lookup does not unverify the domain")
        r = server.cli("domain", "events", "--format", "text")
        check("record_broken  ownership" in r.stdout and "fix: publish _rebound.good.test" in r.stdout,
              "events in text name the fix: " + r.stdout)
        server.stop()
        with open(os.path.join(server.dir, "serve.stderr")) as f:
            err = f.read()
        check("good.test: ownership (TXT _rebound.good.test) broke" in err, "serve says so on stderr: " + err[-2000:])
    finally:
        if dns:
            dns.kill()
            dns.wait()
        if server:
            try:
                server.cleanup()
            except AssertionError as e:
                failures.append(str(e))
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
