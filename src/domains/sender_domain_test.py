#!/usr/bin/python3
"""Submission enforcement of sending domains, through a real `rebound serve`
and smtplib: an account that registered sending domains sends only as the
verified ones (MAIL FROM and the From header); an account with none sends as
before, unless [domains] require_verified is true. Verification is real: a
dnsmasq on loopback serves the ownership record and `rebound domain check`
sees it.

Usage: sender_domain_test.py REBOUND_BINARY
Exits 77 (skipped) when dnsmasq is not installed.
"""
import json
import os
import smtplib
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "relay"))
import relay_harness as h  # noqa: E402

DNSMASQ = "/usr/sbin/dnsmasq"
NOT_VERIFIED = "5.7.1 Sender domain is not a verified sending domain of this account"
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def start_dnsmasq(records, logdir):
    for _ in range(5):
        port = h.free_port()
        p = subprocess.Popen([DNSMASQ, "--keep-in-foreground", "--port=%d" % port, "--listen-address=127.0.0.1",
                              "--bind-interfaces", "--no-resolv", "--no-hosts", "--pid-file=", "--user=root",
                              "--local=/test/", "--log-facility=" + os.path.join(logdir, "dnsmasq.log")] + records,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if p.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return p, port
            except OSError:
                time.sleep(0.05)
        p.kill()
        p.wait()
    raise RuntimeError("dnsmasq did not start")


def send(server, user, mail_from, header_from, raw_from=None):
    """The reply that ended the transaction: (code, text, at) with at in mail/data."""
    msg = ("From: %s\r\nTo: <rcpt@example.net>\r\nSubject: sending domains\r\n\r\nbody\r\n"
           % (raw_from or "<%s>" % header_from))
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as s:
        s.ehlo("client.test")
        s.login(user, "pw-" + user)
        code, text = s.mail(mail_from)
        if code != 250:
            return code, text.decode(), "mail"
        code, text = s.rcpt("rcpt@example.net")
        if code != 250:
            return code, text.decode(), "rcpt"
        code, text = s.data(msg.encode())
        return code, text.decode(), "data"


def main():
    h.REBOUND = sys.argv[1]
    if not os.path.exists(DNSMASQ):
        print("SKIP: dnsmasq not installed (apt-get install dnsmasq-base)")
        return 77
    server = h.Server("\n[domains]\ncheck_interval = 0\n")
    dns = None
    try:
        # alice may use good.test and pending.test by the old account list; she
        # registers both as sending domains, and only good.test gets verified.
        server.cli("account", "add", "alice", "--domain", "good.test", "--domain", "pending.test",
                   "--domain", "sub.good.test", input="pw-alice\n")
        server.add_account("bob", "pw-bob", "legacy.test")
        token = None
        for d in ("good.test", "pending.test"):
            r = server.cli("domain", "add", d, "--account", "alice", "--format", "json")
            if d == "good.test":
                recs = json.loads(r.stdout)["records"]
                token = [x["value"] for x in recs if x["purpose"] == "ownership"][0]
        dns, port = start_dnsmasq(['--txt-record=_rebound.good.test,%s' % token], server.dir)
        with open(server.config, "a") as f:
            f.write('\n[dns]\nservers = "127.0.0.1:%d"\ntimeout_ms = 500\n' % port)
        r = server.cli("domain", "check", "good.test", "--format", "json", check=False)
        rep = json.loads(r.stdout.splitlines()[0])
        check(rep["verified"], "good.test verified by its ownership record: " + r.stdout)
        server.start()

        code, text, at = send(server, "alice", "a@good.test", "a@good.test")
        check(code == 250, "verified domain is accepted: %s %s at %s" % (code, text, at))
        code, text, at = send(server, "alice", "a@sub.good.test", "news@sub.good.test")
        check(code == 250, "a subdomain of a verified domain is accepted: %s %s" % (code, text))
        code, text, at = send(server, "alice", "a@pending.test", "a@good.test")
        check(code == 550 and NOT_VERIFIED in text and at == "mail",
              "MAIL FROM an unverified domain is refused at MAIL: %s %s at %s" % (code, text, at))
        code, text, at = send(server, "alice", "a@good.test", "a@pending.test")
        check(code == 550 and NOT_VERIFIED in text and at == "data",
              "From header of an unverified domain is refused at the end of DATA: %s %s at %s" % (code, text, at))
        # A display name that looks like an address, and a folded header: the address is what counts.
        code, text, at = send(server, "alice", "a@good.test", None,
                              raw_from='"a@good.test" <x@pending.test>')
        check(code == 550 and at == "data", "display name does not hide the From address: %s %s" % (code, text))
        code, text, at = send(server, "alice", "a@good.test", None, raw_from='"Pending <p@pending.test>"\r\n <a@good.test>')
        check(code == 250, "folded From with a verified address is accepted: %s %s at %s" % (code, text, at))
        code, text, at = send(server, "bob", "b@legacy.test", "b@legacy.test")
        check(code == 250, "an account without sending domains sends as before: %s %s" % (code, text))
        queued = server.queue()
        check(len(queued) == 4, "four messages queued, the refused ones not: %d" % len(queued))
        server.stop()

        # require_verified: bob, who registered nothing, is refused too.
        with open(server.config, "a") as f:
            f.write("\n")
        server.proc = subprocess.Popen([h.REBOUND, "serve", "--config", server.config, "--require-verified-domains", "true"],
                                       stdout=subprocess.DEVNULL, stderr=server.stderr)
        check(h.wait_port(server.port, 20), "serve restarts with --require-verified-domains")
        code, text, at = send(server, "bob", "b@legacy.test", "b@legacy.test")
        check(code == 550 and NOT_VERIFIED in text, "require_verified refuses bob: %s %s" % (code, text))
        code, text, at = send(server, "alice", "a@good.test", "a@good.test")
        check(code == 250, "require_verified still accepts a verified domain: %s %s" % (code, text))
        events = [e for e in server.log_events() if e.get("decision") == "sender domain not verified"]
        check(len(events) >= 1, "the refusal is in the server's log")
    finally:
        if dns:
            dns.kill()
            dns.wait()
        try:
            server.cleanup()
        except AssertionError as e:
            failures.append(str(e))
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
