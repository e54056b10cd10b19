#!/usr/bin/python3
"""One-click unsubscribe through a running `rebound serve`.

A receiving server (tests/delivery/smtp_server.py, aiosmtpd) gets a bulk
message (X-Rebound-Bulk: yes) and a plain one; the bulk one must carry
List-Unsubscribe (HTTP link and mailto) and List-Unsubscribe-Post and not the
marker, the plain one neither. Then, on the HTTP server: a GET of the link
shows a form and suppresses nothing; a forged token and a POST without the
one-click body are refused and suppress nothing; the POST suppresses the
address for that account (source "unsubscribe"), writes an 'unsubscribed'
event, and the next message to it is refused at RCPT.

Usage: serve_unsubscribe_test.py REBOUND_BINARY. Exit 77 = skip.
"""
import email
import glob
import json
import os
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "tests", "delivery"))
from delivery_harness import SKIP, add_account, free_port, have_receiver, start_receiver, start_serve, stop  # noqa: E402


def http(method, url, body=None, content_type="application/x-www-form-urlencoded"):
    req = urllib.request.Request(url, data=body.encode() if body is not None else None, method=method)
    if body is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def received(outdir):
    """{recipient: parsed message} of what the receiver accepted."""
    out = {}
    for path in glob.glob(os.path.join(outdir, "*.json")):
        with open(path) as f:
            m = json.load(f)
        for r in m["rcpt_tos"]:
            out[r] = email.message_from_string(m["data"])
    return out


def main():
    if len(sys.argv) < 2:
        print("usage: serve_unsubscribe_test.py REBOUND_BINARY", file=sys.stderr)
        return 2
    rebound = sys.argv[1]
    if not have_receiver():
        return SKIP
    work = tempfile.mkdtemp(prefix="rebound-unsub-")
    outdir = os.path.join(work, "out")
    sink_port, smtp_port, http_port = free_port(), free_port(), free_port()
    base = f"http://127.0.0.1:{http_port}"
    cfg = os.path.join(work, "rebound.toml")
    with open(cfg, "w") as f:
        f.write(f"""[server]
listen = "127.0.0.1:{smtp_port}"
data_dir = "{work}/data"
loopback_account = "shop"
log = "{work}/server.log"

[http]
listen = "127.0.0.1:{http_port}"

[unsubscribe]
base_url = "{base}"
mailto = "unsubscribe@example.org"

[delivery]
routes = "rcpt.test=127.0.0.1:{sink_port}"
poll_interval_ms = 100
tls = "off"
""")

    def cli(*args):
        r = subprocess.run([rebound, *args, "--config", cfg], capture_output=True, text=True)
        assert r.returncode == 0, f"rebound {args}: {r.stderr}"
        return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]

    add_account(rebound, cfg, "shop")
    sink = None
    serve = None
    failures = []

    def check(ok, what):
        if not ok:
            failures.append(what)

    try:
        sink = start_receiver(work, sink_port)
        serve = start_serve(rebound, cfg, work, smtp_port, http_port)
        with smtplib.SMTP("127.0.0.1", smtp_port) as c:
            c.sendmail("news@example.org", ["reader@rcpt.test"],
                       "From: news@example.org\r\nTo: reader@rcpt.test\r\nSubject: weekly\r\n"
                       "X-Rebound-Bulk: yes\r\nX-Rebound-Tag: weekly\r\n\r\nnews\r\n")
            c.sendmail("news@example.org", ["buyer@rcpt.test"],
                       "From: news@example.org\r\nTo: buyer@rcpt.test\r\nSubject: your order\r\n\r\nreceipt\r\n")
        end = time.time() + 30
        got = {}
        while time.time() < end and len(got) < 2:
            got = received(outdir)
            time.sleep(0.2)
        assert len(got) == 2, f"the receiver got {sorted(got)}"

        bulk, plain = got["reader@rcpt.test"], got["buyer@rcpt.test"]
        lu = " ".join((bulk.get("List-Unsubscribe") or "").split())
        print("bulk List-Unsubscribe:", lu[:120] + "...")
        link = re.search(r"<(" + re.escape(base) + r"/u/([A-Za-z0-9_.-]+))>", lu)
        check(link is not None, f"no HTTP link in List-Unsubscribe: {lu!r}")
        check(re.search(r"<mailto:unsubscribe@example\.org\?subject=unsubscribe%20[A-Za-z0-9_.-]+>", lu) is not None,
              f"no mailto in List-Unsubscribe: {lu!r}")
        check(bulk.get("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click", "no List-Unsubscribe-Post")
        check(bulk.get("X-Rebound-Bulk") is None and bulk.get("X-Rebound-Tag") is None, "the markers went out")
        check(plain.get("List-Unsubscribe") is None and plain.get("List-Unsubscribe-Post") is None,
              "a message not marked bulk got List-Unsubscribe")
        if not link:
            raise AssertionError("; ".join(failures))
        url, token = link.group(1), link.group(2)

        def suppressed():
            return [s for s in cli("suppression", "list", "--format", "json") if s["address"] == "reader@rcpt.test"]

        status, page = http("GET", url)
        check(status == 200 and 'method="post"' in page and "One-Click" in page, f"GET: {status} {page[:200]}")
        check(not suppressed(), "a GET suppressed the address")

        # A forged token: the same claims, the signature's last characters changed.
        forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        status, _ = http("POST", f"{base}/u/{forged}", "List-Unsubscribe=One-Click")
        check(status in (400, 404), f"forged token: {status}")
        status, _ = http("POST", f"{base}/u/not-a-token", "List-Unsubscribe=One-Click")
        check(status in (400, 404), f"garbage token: {status}")
        # Hostile links: huge, percent-encoded line breaks, a token of another key's shape.
        for bad in ("A" * 5000 + "." + "B" * 43, "MQpzaG9w%0ABcc%3A%20x%40y.test.AAAA", "..", "%00"):
            status, _ = http("POST", f"{base}/u/{bad}", "List-Unsubscribe=One-Click")
            check(status in (400, 404, 414, 431), f"hostile token {bad[:20]!r}: {status}")
        status, _ = http("POST", url, "something=else")
        check(status == 400, f"POST without List-Unsubscribe=One-Click: {status}")
        check(not suppressed(), "a refused request suppressed the address")
        check(not cli("suppression", "list", "--format", "json"), "a refused request suppressed some address")

        status, page = http("POST", url, "List-Unsubscribe=One-Click")
        check(status == 200, f"one-click POST: {status} {page[:200]}")
        rows = suppressed()
        check(len(rows) == 1 and rows[0]["source"] == "unsubscribe" and rows[0]["account"] == "shop",
              f"suppression after POST: {rows}")
        evs = [e for e in cli("events", "--format", "json") if e.get("decision") == "unsubscribed"]
        check(len(evs) == 1 and evs[0].get("recipient") == "reader@rcpt.test", f"unsubscribed events: {evs}")
        # A second click is harmless: still one event.
        http("POST", url, "List-Unsubscribe=One-Click")
        evs = [e for e in cli("events", "--format", "json") if e.get("decision") == "unsubscribed"]
        check(len(evs) == 1, f"a second POST added an event: {evs}")

        with smtplib.SMTP("127.0.0.1", smtp_port) as c:
            try:
                c.sendmail("news@example.org", ["reader@rcpt.test"], "Subject: again\r\n\r\nnews\r\n")
                failures.append("mail to the unsubscribed address was accepted")
            except smtplib.SMTPRecipientsRefused as e:
                print("after unsubscribing, RCPT:", e.recipients)
    finally:
        stop(serve, sink)
    for f in failures:
        print("FAIL:", f)
    if not failures:
        shutil.rmtree(work, ignore_errors=True)
        print("ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
