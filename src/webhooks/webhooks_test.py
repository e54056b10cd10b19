#!/usr/bin/python3
"""Webhooks end to end: `rebound serve` delivers to a loopback SMTP receiver
(250 for most, 550 5.1.1 for unknown@) and posts its events to an HTTP
receiver written here, which checks every signature with its own HMAC code
(from the Standard Webhooks specification, nothing from the project).

What it asserts:
  - accepted, delivered, bounced and suppressed events arrive, the last three
    with their verdicts (category, reason, permanent, hard_bounce, action,
    solution, rule, provider);
  - https: a receiver whose certificate (trusted through webhooks.ca_file)
    names localhost gets its events; the same server reached by an address
    the certificate does not name gets nothing and is disabled;
  - every signature is valid; after `rotate-secret` each request carries two
    signatures, one per secret, both valid;
  - kill -9 of serve while it is posting, then a restart: every outbox row
    was received at least once, and a row received twice had the same
    webhook-id and the same body both times;
  - an endpoint answering 500 twice gets retries, further apart each time,
    then its event;
  - batching: a JSON array of at most --batch events, each with its own id;
  - hostile receivers (one too slow, one resetting the connection, one
    sending a huge body with its 200) cost nothing to the others: the huge
    one counts as delivered, the other two are retried and then disabled,
    with a log line.

Usage: webhooks_test.py REBOUND_BINARY. Exit 77 = skip (no aiosmtpd).
"""
import base64
import hashlib
import hmac
import http.server
import json
import os
import shutil
import signal
import smtplib
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "delivery"))
from delivery_harness import (SKIP, add_account, free_port, have_receiver, start_receiver,  # noqa: E402
                              wait_port, write_delivery_config)

HERE = os.path.dirname(os.path.abspath(__file__))
N_OK = 40


def secret_bytes(secret):
    assert secret.startswith("whsec_"), secret
    return base64.b64decode(secret[len("whsec_"):], validate=True)


def verify(secrets, msg_id, timestamp, body, header):
    """Standard Webhooks: base64(HMAC-SHA256(key, id.timestamp.body)), each
    'v1,<sig>' in a space-separated list. Returns (any valid, every entry valid)."""
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = [base64.b64encode(hmac.new(secret_bytes(s), signed, hashlib.sha256).digest()).decode() for s in secrets]
    entries = header.split(" ")
    results = []
    for entry in entries:
        version, _, sig = entry.partition(",")
        results.append(version == "v1" and any(hmac.compare_digest(sig, e) for e in expected))
    return any(results), all(results), len(entries)


class Receiver:
    """Paths: /ok (a short delay, then 200), /flaky (500 twice, then 200),
    /batch (200), /slow (sleeps past the sender's timeout), /reset (closes
    the connection with a TCP reset), /huge (200 with a 4 MB body)."""

    def __init__(self, tls_files=None):
        self.lock = threading.Lock()
        self.records = []      # (path, webhook-id, timestamp header, body bytes, n signatures, arrival)
        self.bad = []          # signature failures
        self.secrets = {}      # path -> list of secrets currently valid
        self.flaky_count = 0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                path = self.path
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                if path == "/reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    self.connection.close()
                    self.close_connection = True
                    return
                if path == "/slow":
                    time.sleep(3)
                msg_id = self.headers.get("webhook-id", "")
                ts = self.headers.get("webhook-timestamp", "")
                sig = self.headers.get("webhook-signature", "")
                with receiver.lock:
                    secrets = list(receiver.secrets.get(path, []))
                any_ok, all_ok, n = verify(secrets, msg_id, ts, body, sig)
                fresh = ts.isdigit() and abs(int(ts) - time.time()) < 300
                with receiver.lock:
                    if not (any_ok and all_ok and fresh):
                        receiver.bad.append((path, msg_id, ts, sig))
                    receiver.records.append((path, msg_id, ts, body, n, time.time()))
                    status = 200
                    if path == "/flaky":
                        receiver.flaky_count += 1
                        if receiver.flaky_count <= 2:
                            status = 500
                if path == "/ok":
                    time.sleep(0.02)
                if not any_ok:
                    status = 401
                reply = b"ok"
                if path == "/huge":
                    reply = b"x" * (4 << 20)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except OSError:
                    pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.scheme = "http"
        if tls_files:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(*tls_files)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path, host="127.0.0.1"):
        return f"{self.scheme}://{host}:{self.port}{path}"

    def events(self, path):
        """The received events of one path: (webhook-id of the element, payload)."""
        out = []
        with self.lock:
            records = [r for r in self.records if r[0] == path]
        for _, msg_id, _, body, _, _ in records:
            doc = json.loads(body)
            if isinstance(doc, list):
                out.extend((e["webhook_id"], e) for e in doc)
            else:
                assert doc["webhook_id"] == msg_id, (doc["webhook_id"], msg_id)
                out.append((msg_id, doc))
        return out


def rebound_json(rebound, cfg, *args):
    out = subprocess.run([rebound, *args, "--config", cfg, "--format", "json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main():
    if len(sys.argv) < 2:
        print("usage: webhooks_test.py REBOUND_BINARY", file=sys.stderr)
        return 2
    rebound = sys.argv[1]
    if not have_receiver():
        return SKIP
    work = tempfile.mkdtemp(prefix="rebound-webhooks-")
    procs = []
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)
            print("FAIL:", what)

    try:
        sink_port, smtp_port = free_port(), free_port()
        procs.append(start_receiver(work, sink_port, "--data-delay", "0.02"))
        receiver = Receiver()
        # An https receiver whose certificate names localhost, trusted through webhooks.ca_file.
        cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
        made = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                               "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                              capture_output=True)
        tls_receiver = Receiver((cert, key)) if made.returncode == 0 else None
        if not tls_receiver:
            print("note: no openssl command; the https part is skipped")
        cfg = os.path.join(work, "rebound.toml")
        data = os.path.join(work, "data")
        db = os.path.join(data, "queue.db")

        def write_config(delivery):
            write_delivery_config(cfg, smtp_port=smtp_port, data=data, log=f"{work}/server.log", account="acme",
                                  routes=f"rcpt.test=127.0.0.1:{sink_port}", enabled=delivery, poll_interval_ms=50,
                                  delivery_options=f"""lease_seconds = 3
bounce_notices = false

[webhooks]
poll_interval_ms = 50
max_in_flight = 4
timeout = 1
lease_seconds = 2
first_retry = 2
max_retry_interval = 8
jitter_percent = 0
disable_after = 2
disable_after_failures = 3
ca_file = "{cert if tls_receiver else ''}"
""")

        write_config(False)
        add_account(rebound, cfg, "acme")

        def add(path, *args):
            j = rebound_json(rebound, cfg, "webhook", "add", receiver.url(path), *args)
            receiver.secrets[path] = [j["secret"]]
            return j["id"]

        ep_ok = add("/ok", "--account", "acme")
        ep_flaky = add("/flaky", "--all-accounts", "--events", "bounced")
        add("/batch", "--account", "acme", "--events", "delivered", "--batch", "5")
        for path in ("/slow", "/reset", "/huge"):
            add(path, "--all-accounts", "--events", "bounced")
        if tls_receiver:
            j = rebound_json(rebound, cfg, "webhook", "add", tls_receiver.url("/ok", "localhost"), "--account", "acme",
                             "--events", "delivered")
            tls_receiver.secrets["/ok"] = [j["secret"]]
            # The same server under a name its certificate does not carry: refused, retried, disabled.
            j = rebound_json(rebound, cfg, "webhook", "add", tls_receiver.url("/wrongname", "127.0.0.1"),
                             "--all-accounts", "--events", "bounced")
            tls_receiver.secrets["/wrongname"] = [j["secret"]]
        listed = subprocess.run([rebound, "webhook", "list", "--config", cfg, "--format", "json"],
                                check=True, capture_output=True, text=True).stdout
        check("whsec_" not in listed, "webhook list shows no secret")

        # Phase A: queue with delivery off (accepted events go out).
        serve_log = open(os.path.join(work, "serve.log"), "w")
        serve = subprocess.Popen([rebound, "serve", "--config", cfg], stderr=serve_log)
        procs.append(serve)
        assert wait_port(smtp_port), "rebound serve did not start"
        rcpts = [f"ok{i}@rcpt.test" for i in range(N_OK)] + ["unknown@rcpt.test", "late@rcpt.test"]
        with smtplib.SMTP("127.0.0.1", smtp_port) as c:
            for r in rcpts:
                c.sendmail("sender@example.org", [r], f"From: sender@example.org\r\nTo: {r}\r\nSubject: hi\r\n\r\nbody\r\n")
        time.sleep(0.5)
        serve.send_signal(signal.SIGTERM)
        serve.wait(15)

        # late@ is suppressed after it was queued: delivery suppresses it.
        subprocess.run([rebound, "suppression", "add", "--account", "acme", "late@rcpt.test", "--config", cfg],
                       check=True, stdout=subprocess.DEVNULL)
        # Rotation: the receiver knows both secrets; both must sign.
        j = rebound_json(rebound, cfg, "webhook", "rotate-secret", str(ep_ok), "--grace", "1h")
        receiver.secrets["/ok"].append(j["secret"])
        rotated_after = time.time()

        # Phase B: deliver, and kill -9 while the webhooks are being posted.
        write_config(True)
        serve = subprocess.Popen([rebound, "serve", "--config", cfg], stderr=serve_log)
        procs.append(serve)
        end = time.time() + 30
        while time.time() < end:
            delivered = [e for _, e in receiver.events("/ok") if e["type"] == "delivered"]
            if len(delivered) >= 8:
                break
            time.sleep(0.005)
        serve.send_signal(signal.SIGKILL)
        serve.wait()
        killed_at = time.time()
        delivered_before = len([e for _, e in receiver.events("/ok") if e["type"] == "delivered"])
        check(delivered_before < N_OK, f"killed before every delivered event was posted ({delivered_before})")
        print(f"killed after {delivered_before} delivered events had reached /ok")

        # Phase C: restart and let everything finish.
        restarted_at = time.time()
        serve = subprocess.Popen([rebound, "serve", "--config", cfg], stderr=serve_log)
        procs.append(serve)
        end = time.time() + 90
        while time.time() < end:
            con = sqlite3.connect(db, timeout=10)
            pending = con.execute("SELECT count(*) FROM webhook_outbox o JOIN webhook_endpoints w ON w.id = o.endpoint_id "
                                  "WHERE o.state = 'pending' AND w.enabled = 1").fetchone()[0]
            open_rcpts = con.execute("SELECT count(*) FROM recipients WHERE state IN ('queued', 'deferred')").fetchone()[0]
            disabled = con.execute("SELECT count(*) FROM webhook_endpoints WHERE enabled = 0").fetchone()[0]
            con.close()
            if pending == 0 and open_rcpts == 0 and disabled >= (3 if tls_receiver else 2):
                break
            time.sleep(0.2)
        serve.send_signal(signal.SIGTERM)
        serve.wait(15)
        serve_log.close()

        # --- Signatures.
        check(not receiver.bad, f"every signature valid: {receiver.bad[:3]}")
        with receiver.lock:
            after_rotation = [r for r in receiver.records if r[0] == "/ok" and r[5] > rotated_after + 0.5]
        check(after_rotation and all(r[4] == 2 for r in after_rotation), "two signatures after the rotation")

        # --- Events and verdicts on /ok.
        ok_events = receiver.events("/ok")
        by_type = {}
        for _, e in ok_events:
            by_type.setdefault(e["type"], {})[e["data"]["recipient"]] = e
        check(set(by_type.get("accepted", {})) == set(rcpts), "an accepted event per recipient")
        check(set(by_type.get("delivered", {})) == {r for r in rcpts if r.startswith("ok")}, "a delivered event per ok@")
        bounced = by_type.get("bounced", {}).get("unknown@rcpt.test")
        check(bounced is not None, "bounced event for unknown@")
        if bounced:
            v = bounced["data"]["verdict"]
            check(bounced["data"]["reply"].startswith("550 5.1.1"), f"bounce carries the reply: {bounced['data']['reply']}")
            check(v["category"] == "recipient_not_found" and v["reason"] == "userunknown", f"bounce verdict: {v}")
            check(v["permanent"] is True and v["hard_bounce"] is True, "bounce is permanent and a hard bounce")
            check(v["action"] and v["solution"] and v["rule"], f"bounce has action, solution, rule: {v}")
            check("provider" in v and "solution_zh" in v, "verdict has provider and solution_zh")
        sup = by_type.get("suppressed", {}).get("late@rcpt.test")
        check(sup is not None and sup["data"]["verdict"] is not None, "suppressed event for late@ with a verdict")
        d = by_type.get("delivered", {}).get("ok0@rcpt.test")
        check(d is not None and d["data"]["verdict"]["category"] == "delivered", "delivered verdict")
        acc = by_type.get("accepted", {}).get("ok0@rcpt.test")
        check(acc is not None and acc["data"]["verdict"] is None and acc["data"]["account"] == "acme", "accepted event")

        # --- At least once across kill -9, duplicates identical.
        con = sqlite3.connect(db, timeout=10)
        rows = con.execute("SELECT id, state FROM webhook_outbox WHERE endpoint_id = ?", (ep_ok,)).fetchall()
        flaky = con.execute("SELECT attempts, state FROM webhook_outbox WHERE endpoint_id = ?", (ep_flaky,)).fetchall()
        endpoints = {r[0]: r[1:] for r in con.execute(
            "SELECT url, enabled, disabled_reason FROM webhook_endpoints").fetchall()}
        huge_state = con.execute("SELECT o.state FROM webhook_outbox o JOIN webhook_endpoints w ON w.id = o.endpoint_id "
                                 "WHERE w.url LIKE '%/huge'").fetchall()
        con.close()
        seen = {}
        for wid, e in ok_events:
            seen.setdefault(wid, []).append(json.dumps(e, sort_keys=True))
        check(all(st == "sent" for _, st in rows), "every /ok row sent")
        missing = [i for i, _ in rows if f"msg_{i}" not in seen]
        check(not missing, f"every /ok row received at least once (missing {missing[:5]})")
        dups = {k: v for k, v in seen.items() if len(v) > 1}
        check(all(len(set(v)) == 1 for v in dups.values()), "a duplicate has the same id and body")
        print(f"/ok: {len(rows)} rows, {len(seen)} distinct ids received, {len(dups)} received twice or more")

        # --- Retries with backoff on /flaky.
        with receiver.lock:
            flaky_times = [r[5] for r in receiver.records if r[0] == "/flaky"]
        # A kill between a POST and its record loses that attempt from the
        # outbox's count (at least once: the POST is made again), so the
        # outbox may count one fewer than the receiver saw; the receiver,
        # which answers 500 to its first two POSTs, says they came first.
        check(len(flaky) == 1 and flaky[0][1] == "sent" and flaky[0][0] >= 2, f"/flaky: sent after retries ({flaky})")
        check(len(flaky_times) >= 3, f"/flaky: three POSTs at least, two 500s first ({len(flaky_times)})")
        # The gaps say backoff unless the kill and restart fell between them.
        if len(flaky_times) >= 3 and (flaky_times[0] > restarted_at or flaky_times[2] < killed_at):
            g1, g2 = flaky_times[1] - flaky_times[0], flaky_times[2] - flaky_times[1]
            # Retry times are whole seconds: 2 s then 4 s after a failure is 1-2 s, then 3-4 s.
            check(g1 >= 0.9 and g2 >= 2.9 and g2 > g1, f"/flaky: retries further apart ({g1:.2f}s, {g2:.2f}s)")
            print(f"/flaky: retried after {g1:.2f}s, then {g2:.2f}s")

        # --- Batches.
        with receiver.lock:
            batch_bodies = [json.loads(r[3]) for r in receiver.records if r[0] == "/batch"]
        check(batch_bodies and all(isinstance(b, list) and 1 <= len(b) <= 5 for b in batch_bodies), "batches of 1..5")
        batch_rcpts = {e["data"]["recipient"] for _, e in receiver.events("/batch")}
        check(batch_rcpts == {r for r in rcpts if r.startswith("ok")}, "every delivered event in a batch")

        # --- Hostile receivers.
        check(huge_state == [("sent",)], f"/huge: a 200 with a huge body is delivered ({huge_state})")
        for path in ("/slow", "/reset"):
            ep = endpoints.get(receiver.url(path))
            check(ep is not None and ep[0] == 0 and "failed deliveries in a row" in ep[1], f"{path} disabled: {ep}")
        if tls_receiver:
            tls_rcpts = {e["data"]["recipient"] for _, e in tls_receiver.events("/ok")}
            check(tls_rcpts == {r for r in rcpts if r.startswith("ok")}, f"https: every delivered event ({len(tls_rcpts)})")
            check(not tls_receiver.bad, "https: every signature valid")
            check(not tls_receiver.events("/wrongname"), "https: nothing sent to a host the certificate does not name")
            ep = endpoints.get(tls_receiver.url("/wrongname", "127.0.0.1"))
            check(ep is not None and ep[0] == 0 and "TLS" in ep[1], f"https with the wrong name disabled: {ep}")
        log = open(os.path.join(work, "serve.log")).read()
        disabled_count = sum(1 for ep in endpoints.values() if ep[0] == 0)
        check(log.count('"event":"webhook_endpoint_disabled"') == disabled_count, "a log line per disabled endpoint")
        if failures:
            print(f"FAIL ({len(failures)}); work dir kept: {work}")
            os.environ["KEEP_WEBHOOKS_DIR"] = "1"
            return 1
        print("OK")
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if not os.environ.get("KEEP_WEBHOOKS_DIR"):
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
