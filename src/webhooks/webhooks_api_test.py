#!/usr/bin/python3
"""/v1/webhooks through the HTTP API of `rebound serve`, with a Python
client (urllib): an account adds an endpoint (201 and its secret, once),
lists it (no secret), rotates its secret, cannot see or delete another
account's, and deletes its own; bad bodies get 400/422, a key without the
admin scope cannot add. The endpoint added through the API then receives a
signed `accepted` event for a message submitted over SMTP.

Usage: webhooks_api_test.py REBOUND_BINARY. Exit 77 = skip (no HTTP API in
this build).
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
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests"))
from loopback import free_port, wait_port  # noqa: E402


def call(port, method, path, key, body=None):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def main():
    rebound = sys.argv[1]
    if subprocess.run([rebound, "apikey", "--help"], capture_output=True).returncode != 0:
        print("SKIP: this rebound has no HTTP API (rebound apikey)")
        return 77
    work = tempfile.mkdtemp(prefix="rebound-webhooks-api-")
    serve = None
    failures = []

    def check(cond, what):
        if not cond:
            failures.append(what)
            print("FAIL:", what)

    received = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

    hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    try:
        smtp_port, http_port = free_port(), free_port()
        cfg = os.path.join(work, "rebound.toml")
        with open(cfg, "w") as f:
            f.write(f"""[server]
listen = "127.0.0.1:{smtp_port}"
data_dir = "{work}/data"
loopback_account = "acme"
check_sender_domain = false
log = "{work}/server.log"
[http]
listen = "127.0.0.1:{http_port}"
[delivery]
enabled = false
[webhooks]
poll_interval_ms = 50
""")
        for account in ("acme", "other"):
            subprocess.run([rebound, "account", "add", account, "--domain", "example.org", "--config", cfg],
                           input=b"pw\n", check=True, stdout=subprocess.DEVNULL)

        def key(account, scope):
            return subprocess.run([rebound, "apikey", "create", "--account", account, "--scope", scope, "--config", cfg],
                                  check=True, capture_output=True, text=True).stdout.strip()

        admin, reader, other = key("acme", "send,read,admin"), key("acme", "read"), key("other", "read,admin")
        serve = subprocess.Popen([rebound, "serve", "--config", cfg], stderr=open(os.path.join(work, "serve.log"), "w"))
        if not (wait_port(smtp_port) and wait_port(http_port)):
            print("FAIL: serve did not start")
            return 1

        url = f"http://127.0.0.1:{hook.server_address[1]}/in"
        st, j = call(http_port, "POST", "/v1/webhooks", admin, {"url": url, "events": ["accepted", "bounced"]})
        check(st == 201 and j["secret"].startswith("whsec_") and j["webhook"]["events"] == ["accepted", "bounced"],
              f"POST /v1/webhooks: {st} {j}")
        hook_id, secret = j["webhook"]["id"], j["secret"]
        st, j = call(http_port, "GET", "/v1/webhooks", reader)
        check(st == 200 and [w["id"] for w in j["webhooks"]] == [hook_id], f"GET /v1/webhooks: {st} {j}")
        check("whsec_" not in json.dumps(j), "GET does not show the secret")
        st, j = call(http_port, "POST", "/v1/webhooks", reader, {"url": url})
        check(st == 403, f"a read key cannot add: {st}")
        st, j = call(http_port, "POST", "/v1/webhooks", admin, b"{not json")
        check(st == 400, f"bad JSON: {st}")
        st, j = call(http_port, "POST", "/v1/webhooks", admin, {"url": "ftp://x/"})
        check(st == 422, f"bad url: {st}")
        st, j = call(http_port, "POST", "/v1/webhooks", admin, {"url": url, "events": ["nope"]})
        check(st == 422, f"bad event type: {st}")
        st, j = call(http_port, "GET", "/v1/webhooks", other)
        check(st == 200 and j["webhooks"] == [], f"another account sees none: {j}")
        st, j = call(http_port, "DELETE", f"/v1/webhooks/{hook_id}", other)
        check(st == 404, f"another account cannot delete: {st}")

        # The endpoint gets a signed event.
        with smtplib.SMTP("127.0.0.1", smtp_port) as c:
            c.sendmail("s@example.org", ["r@example.net"], "Subject: x\r\n\r\nx\r\n")
        end = time.time() + 10
        while not received and time.time() < end:
            time.sleep(0.05)
        check(len(received) == 1, f"one webhook received ({len(received)})")
        if received:
            headers, body = received[0]
            headers = {k.lower(): v for k, v in headers.items()}
            signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
            mac = base64.b64encode(hmac.new(base64.b64decode(secret[6:]), signed, hashlib.sha256).digest()).decode()
            check(headers["webhook-signature"] == "v1," + mac, "signed with the secret the API returned")
            check(json.loads(body)["type"] == "accepted", "an accepted event")

        st, j = call(http_port, "POST", f"/v1/webhooks/{hook_id}/rotate-secret", admin, {"grace_seconds": 60})
        check(st == 200 and j["secret"] != secret and j["webhook"]["rotating_until"], f"rotate: {st} {j}")
        st, j = call(http_port, "DELETE", f"/v1/webhooks/{hook_id}", admin)
        check(st == 200, f"DELETE: {st} {j}")
        st, j = call(http_port, "GET", "/v1/webhooks", admin)
        check(st == 200 and j["webhooks"] == [], f"gone: {j}")
        if failures:
            return 1
        print("OK")
        return 0
    finally:
        if serve and serve.poll() is None:
            serve.send_signal(signal.SIGTERM)
            serve.wait(10)
        hook.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
