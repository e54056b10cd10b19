#!/usr/bin/python3
"""An event whose endpoint keeps failing is dropped once it is
webhooks.max_age old: the outbox row ends 'dropped' with its last error,
serve logs a webhook_dropped line, and the endpoint (whose failure count
stays under disable_after_failures) is still enabled. A second endpoint
on the same event, answering 200, got it once; and a third one that never
answers in time does not hold up the others: a second message's event
reaches the 200 endpoint while the first POST to the silent one is still
waiting for its timeout.

Usage: webhooks_drop_test.py REBOUND_BINARY.
"""
import http.server
import json
import os
import shutil
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests"))
from loopback import free_port, wait_port  # noqa: E402


def main():
    rebound = sys.argv[1]
    work = tempfile.mkdtemp(prefix="rebound-webhooks-drop-")
    hits = {"/down": 0, "/up": 0, "/hang": 0}
    up_times = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            hits[self.path] = hits.get(self.path, 0) + 1
            if self.path == "/up":
                up_times.append(time.time())
            if self.path == "/hang":
                time.sleep(6)
            self.send_response(503 if self.path == "/down" else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    serve = None
    try:
        smtp_port = free_port()
        cfg = os.path.join(work, "rebound.toml")
        with open(cfg, "w") as f:
            f.write(f"""[server]
listen = "127.0.0.1:{smtp_port}"
data_dir = "{work}/data"
loopback_account = "acme"
check_sender_domain = false
log = "{work}/server.log"
[delivery]
enabled = false
[webhooks]
poll_interval_ms = 50
first_retry = 1
max_retry_interval = 1
jitter_percent = 0
max_age = 3
disable_after = 1
disable_after_failures = 100
timeout = 4
""")
        subprocess.run([rebound, "account", "add", "acme", "--domain", "example.org", "--config", cfg],
                       input=b"pw\n", check=True, stdout=subprocess.DEVNULL)
        for path in ("/down", "/up", "/hang"):
            subprocess.run([rebound, "webhook", "add", f"http://127.0.0.1:{hook.server_address[1]}{path}",
                            "--account", "acme", "--config", cfg], check=True, capture_output=True)
        log_path = os.path.join(work, "serve.log")
        serve = subprocess.Popen([rebound, "serve", "--config", cfg], stderr=open(log_path, "w"))
        if not wait_port(smtp_port):
            print("FAIL: serve did not start")
            return 1
        with smtplib.SMTP("127.0.0.1", smtp_port) as c:
            c.sendmail("s@example.org", ["r@example.net"], "Subject: x\r\n\r\nx\r\n")
            time.sleep(1)
            second_sent = time.time()
            c.sendmail("s@example.org", ["r2@example.net"], "Subject: x\r\n\r\nx\r\n")
        db = os.path.join(work, "data", "queue.db")
        end = time.time() + 20
        rows = []
        while len(up_times) < 2 and time.time() < end:
            time.sleep(0.02)
        second_latency = up_times[1] - second_sent if len(up_times) >= 2 else None
        while time.time() < end:
            con = sqlite3.connect(db, timeout=10)
            rows = con.execute("SELECT w.url, o.state, o.attempts, o.last_error, w.enabled FROM webhook_outbox o "
                               "JOIN webhook_endpoints w ON w.id = o.endpoint_id WHERE w.url NOT LIKE '%/hang' "
                               "ORDER BY w.id").fetchall()
            con.close()
            if rows and all(r[1] != "pending" for r in rows):
                break
            time.sleep(0.2)
        serve.send_signal(signal.SIGTERM)
        serve.wait(10)
        failures = []
        down = [r for r in rows if r[0].endswith("/down")]
        up = [r for r in rows if r[0].endswith("/up")]
        if not (len(down) == 2 and all(r[1] == "dropped" and r[3] == "HTTP 503" and r[4] == 1 for r in down)):
            failures.append(f"/down: dropped with its last error, endpoint still enabled: {down}")
        if not (down and all(r[2] >= 2 for r in down) and sum(r[2] for r in down) == hits["/down"]):
            failures.append(f"/down: retried before the drop ({down}, {hits['/down']} POSTs)")
        if not (len(up) == 2 and all(r[1] == "sent" for r in up) and hits["/up"] == 2):
            failures.append(f"/up: each event sent once: {up}, {hits['/up']}")
        # The /hang POST of the first event waits 4 s for its timeout; the second
        # event must not wait behind it.
        if second_latency is None or second_latency > 1.5:
            failures.append(f"/up: the second event waited behind /hang ({second_latency})")
        lines = [json.loads(line) for line in open(log_path) if line.startswith("{")]
        # The /hang endpoint's events reach max_age too, and their drop may or
        # may not be logged before SIGTERM: count the /down endpoint's lines.
        dropped = [l for l in lines if l.get("event") == "webhook_dropped" and l.get("url", "").endswith("/down")]
        if len(dropped) != 2 or any("HTTP 503" not in d["detail"] for d in dropped):
            failures.append(f"one webhook_dropped log line per /down event: {dropped}")
        for f in failures:
            print("FAIL:", f)
        if failures:
            return 1
        print(f"OK: dropped after {down[0][2]} attempts; the second event reached /up {second_latency:.2f} s after "
              "it was sent, while /hang was still waiting")
        return 0
    finally:
        if serve and serve.poll() is None:
            serve.kill()
            serve.wait()
        hook.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
