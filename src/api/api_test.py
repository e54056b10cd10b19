"""The HTTP API end to end: a real `rebound serve --http-listen` on loopback
with a real loopback receiver (tests/delivery/smtp_server.py), driven by
python3-requests; every JSON body is checked against the schemas of
docs/api/openapi.yaml (python3-jsonschema, python3-yaml). Sends, batches,
raw messages, message state and verdicts, events paged by cursor (each
exactly once), suppressions (JSON and CSV), the same refusals as SMTP
submission, and hostile clients: malformed JSON, oversized bodies, a slow
client, a header flood, garbage, an early disconnect, missing/wrong/revoked
keys, a key without the scope, and a flood from one key.

usage: api_test.py PATH/TO/rebound        (exit 77: a module is missing)"""
import base64
import csv
import email
import email.policy
import io
import json
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests"))
from loopback import free_port, wait_port  # noqa: E402

try:
    import jsonschema
    import requests
    import yaml
except ImportError as e:  # pragma: no cover
    print(f"SKIP: {e} (install python3-requests, python3-jsonschema, python3-yaml)")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
RECEIVER = os.path.join(SRC, "tests", "delivery", "smtp_server.py")
OPENAPI = yaml.safe_load(open(os.path.join(SRC, "docs", "api", "openapi.yaml")))
REBOUND = None
S = None  # the running world


def schema_for(method, template, status, content="application/json"):
    """The schema of an operation's response in openapi.yaml, refs resolvable."""
    op = OPENAPI["paths"][template][method.lower()]
    resp = op["responses"][str(status)]
    if "$ref" in resp:
        resp = OPENAPI["components"]["responses"][resp["$ref"].split("/")[-1]]
    schema = dict(resp["content"][content]["schema"])
    schema["components"] = OPENAPI["components"]
    return schema


VALIDATED = []  # (method, template, status) checked


def check(r, method, template, status):
    """Asserts the status and that the JSON body fits the documented schema."""
    assert r.status_code == status, f"{method} {template}: {r.status_code} {r.text[:500]}"
    if status == 204:
        assert r.content == b""
        return None
    body = r.json()
    jsonschema.Draft202012Validator(schema_for(method, template, status)).validate(body)
    VALIDATED.append((method, template, status))
    return body


class World:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="rebound-api-")
        self.data = os.path.join(self.dir, "data")
        self.out = os.path.join(self.dir, "received")
        self.sink_port, self.smtp_port, self.http_port, self.closed_port = free_port(), free_port(), free_port(), free_port()
        self.config = os.path.join(self.dir, "rebound.toml")
        with open(self.config, "w") as f:
            f.write(f"""[server]
listen = "127.0.0.1:{self.smtp_port}"
data_dir = "{self.data}"
hostname = "relay.test"
log = "{self.dir}/serve.jsonl"
max_message_size = 200000
auth_failure_delay_ms = 10

[dns]
servers = "127.0.0.1:{self.closed_port}"   # nothing answers: domain checks fail fast
timeout_ms = 100
tries = 1

[delivery]
enabled = true
routes = "rcpt.test=127.0.0.1:{self.sink_port}"
poll_interval_ms = 100

[http]
listen = "127.0.0.1:{self.http_port}"
max_body = 400000
max_header = 8192
read_timeout = 2
idle_timeout = 5
key_rate = 5
key_burst = 150
""")
        self.procs = []
        self.procs.append(subprocess.Popen(
            ["/usr/bin/python3", RECEIVER, "--port", str(self.sink_port), "--outdir", self.out],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "sink.log"), "w")))
        assert wait_port(self.sink_port), "the receiver did not start"
        self.cli("account", "add", "alice", "--domain", "example.com", input="alice-pw\n")
        self.cli("account", "add", "tiny", "--domain", "example.com", "--daily-quota", "1", input="tiny-pw\n")
        self.cli("account", "add", "bob", "--domain", "example.org", input="bob-pw\n")
        # Registering a sending domain changes what its account may send (only
        # verified domains), so the domain test has an account of its own.
        self.cli("account", "add", "dom", "--domain", "example.net", input="dom-pw\n")
        self.dom_key = self.cli("apikey", "create", "--account", "dom", "--scope", "read,admin").stdout.strip()
        self.key = self.cli("apikey", "create", "--account", "alice", "--scope", "send,read,admin").stdout.strip()
        self.read_key = self.cli("apikey", "create", "--account", "alice", "--scope", "read").stdout.strip()
        self.tiny_key = self.cli("apikey", "create", "--account", "tiny").stdout.strip()
        self.bob_key = self.cli("apikey", "create", "--account", "bob", "--scope", "send,read").stdout.strip()
        self.flood_key = self.cli("apikey", "create", "--account", "bob", "--scope", "read").stdout.strip()
        self.stderr = open(os.path.join(self.dir, "serve.stderr"), "w")
        self.serve = subprocess.Popen([REBOUND, "serve", "--config", self.config], stdout=subprocess.DEVNULL,
                                      stderr=self.stderr)
        self.procs.append(self.serve)
        assert wait_port(self.http_port) and wait_port(self.smtp_port), "rebound serve did not start: " + open(
            self.stderr.name).read()
        self.base = f"http://127.0.0.1:{self.http_port}"
        self.http = requests.Session()

    def cli(self, *args, input=None):
        r = subprocess.run([REBOUND, *args, "--config", self.config], input=input, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, f"rebound {' '.join(args)}: {r.stderr}"
        return r

    def req(self, method, path, key=None, **kw):
        headers = kw.pop("headers", {})
        headers.setdefault("Authorization", f"Bearer {key or self.key}")
        return self.http.request(method, self.base + path, headers=headers, timeout=30, **kw)

    def received(self):
        out = []
        if os.path.isdir(self.out):
            for name in sorted(os.listdir(self.out)):
                if name.endswith(".json"):
                    with open(os.path.join(self.out, name)) as f:
                        out.append(json.load(f))
        return out

    def wait_final(self, message_id, limit=30):
        end = time.time() + limit
        while time.time() < end:
            m = check(self.req("GET", f"/v1/messages/{message_id}"), "GET", "/v1/messages/{id}", 200)
            if all(r["state"] in ("delivered", "bounced", "expired", "suppressed") for r in m["recipients"]):
                return m
            time.sleep(0.1)
        raise AssertionError(f"message {message_id} not final: {m}")

    def stop(self):
        alive = self.serve.poll() is None
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        self.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return alive


def setUpModule():
    global S
    S = World()


def tearDownModule():
    alive = S.stop()
    assert alive, "rebound serve died during the tests"
    print(f"{len(set(VALIDATED))} distinct (operation, status) responses validated against openapi.yaml")


def raw_socket():
    s = socket.create_connection(("127.0.0.1", S.http_port), timeout=10)
    return s


def read_all(s, limit=10.0):
    s.settimeout(limit)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    return data


class Sending(unittest.TestCase):
    def test_send_multipart_with_attachment_cc_bcc_and_tag(self):
        pdf = bytes(range(256)) * 4
        body = {
            "from": "Alice Ö <alice@example.com>",
            "to": ["ok1@rcpt.test"],
            "cc": "Copy <ok2@rcpt.test>",
            "bcc": ["hidden@rcpt.test"],
            "subject": "Grüße from the API",
            "text": "Hello in text.\nSecond line = with an equals sign.\n",
            "html": "<p>Hello in <b>HTML</b></p>",
            "headers": {"X-Campaign": "spring"},
            "attachments": [{"filename": "data.bin", "content_type": "application/octet-stream",
                             "content": base64.b64encode(pdf).decode()}],
            "tag": "news",
        }
        q = check(S.req("POST", "/v1/messages", json=body), "POST", "/v1/messages", 200)
        self.assertEqual(q["recipients"], 3)
        self.assertTrue(q["message_id"].startswith("<") and q["message_id"].endswith("@example.com>"))
        m = S.wait_final(q["id"])
        self.assertEqual(sorted(r["address"] for r in m["recipients"]),
                         ["hidden@rcpt.test", "ok1@rcpt.test", "ok2@rcpt.test"])
        self.assertTrue(all(r["state"] == "delivered" for r in m["recipients"]), m)
        self.assertTrue(all(r["verdict"] is None or r["verdict"]["category"] for r in m["recipients"]))
        got = [x for x in S.received() if q["message_id"] in x["data"]]
        self.assertTrue(got, "the receiver did not get the message")
        msg = email.message_from_string(got[0]["data"], policy=email.policy.default)
        self.assertEqual(str(msg["Subject"]), "Grüße from the API")
        self.assertIsNone(msg["Bcc"])
        self.assertNotIn("hidden@rcpt.test", got[0]["data"].split("\r\n\r\n")[0])
        self.assertEqual(msg["X-Campaign"], "spring")
        self.assertEqual(msg.get_content_type(), "multipart/mixed")
        parts = list(msg.iter_parts())
        self.assertEqual(parts[0].get_content_type(), "multipart/alternative")
        alt = list(parts[0].iter_parts())
        self.assertEqual(alt[0].get_content().replace("\r\n", "\n"), body["text"])
        self.assertIn("<b>HTML</b>", alt[1].get_content())
        self.assertEqual(parts[1].get_filename(), "data.bin")
        self.assertEqual(parts[1].get_content(), pdf)

    def test_bounce_has_its_verdict(self):
        q = check(S.req("POST", "/v1/messages", json={"from": "alice@example.com", "to": "unknown@rcpt.test",
                                                       "subject": "x", "text": "x"}), "POST", "/v1/messages", 200)
        m = S.wait_final(q["id"])
        r = m["recipients"][0]
        self.assertEqual(r["state"], "bounced")
        self.assertIn("5.1.1", r["last_reply"])
        self.assertTrue(r["verdict"]["hard_bounce"], r)
        self.assertTrue(r["verdict"]["permanent"])
        self.assertTrue(r["verdict"]["category"])

    def test_idempotency_key(self):
        body = {"from": "alice@example.com", "to": "idem@rcpt.test", "subject": "once", "text": "once"}
        h = {"Idempotency-Key": "order-42"}
        a = check(S.req("POST", "/v1/messages", json=body, headers=dict(h, Authorization="Bearer " + S.key)),
                  "POST", "/v1/messages", 200)
        r = S.req("POST", "/v1/messages", json=body, headers=dict(h, Authorization="Bearer " + S.key))
        b = check(r, "POST", "/v1/messages", 200)
        self.assertEqual(a, b)
        self.assertEqual(r.headers.get("Idempotent-Replayed"), "true")
        body["text"] = "twice"
        e = check(S.req("POST", "/v1/messages", json=body, headers=dict(h, Authorization="Bearer " + S.key)),
                  "POST", "/v1/messages", 422)
        self.assertIn("different request", e["error"]["message"])
        # Only one message was queued for that recipient.
        time.sleep(0.5)
        self.assertEqual(sum(1 for x in S.received() if "idem@rcpt.test" in x["rcpt_tos"]), 1)

    def test_batch_renders_each_recipient(self):
        body = {
            "from": "alice@example.com",
            "subject": "Hi {{name}}",
            "text": "Dear {{name}}, your code is {{code}}.",
            "html": "<p>Dear {{name}}</p>",
            "recipients": [
                {"to": "b1@rcpt.test", "data": {"name": "Ann", "code": 1}},
                {"to": "b2@rcpt.test", "data": {"name": "<Bob & Co>", "code": "x"}},
                {"to": "not-an-address", "data": {"name": "Nobody"}},
            ],
        }
        res = check(S.req("POST", "/v1/messages/batch", json=body), "POST", "/v1/messages/batch", 200)
        self.assertEqual((res["accepted"], res["refused"]), (2, 1))
        self.assertEqual(res["messages"][2]["error"]["code"], "559")
        self.assertEqual(res["messages"][2]["status"], 422)
        for item in res["messages"][:2]:
            S.wait_final(item["id"])
        by_rcpt = {x["rcpt_tos"][0]: email.message_from_string(x["data"], policy=email.policy.default)
                   for x in S.received() if x["rcpt_tos"][0] in ("b1@rcpt.test", "b2@rcpt.test")}
        self.assertEqual(str(by_rcpt["b1@rcpt.test"]["Subject"]), "Hi Ann")
        bob = by_rcpt["b2@rcpt.test"]
        self.assertEqual(str(bob["Subject"]), "Hi <Bob & Co>")
        text, html = [p.get_content() for p in bob.iter_parts()]
        self.assertIn("Dear <Bob & Co>, your code is x.", text)
        self.assertIn("&lt;Bob &amp; Co&gt;", html)
        bad = check(S.req("POST", "/v1/messages/batch", json=dict(body, text="{{#unclosed}}")), "POST",
                    "/v1/messages/batch", 400)
        self.assertIn("template", bad["error"]["message"])

    def test_raw_message(self):
        raw = ("From: Alice <alice@example.com>\nTo: raw1@rcpt.test\nBcc: raw2@rcpt.test\n"
               "Subject: raw upload\nMessage-ID: <raw-1@example.com>\n\nRaw body.\n")
        q = check(S.req("POST", "/v1/messages/raw", data=raw.encode(),
                        headers={"Authorization": "Bearer " + S.key, "Content-Type": "message/rfc822"}),
                  "POST", "/v1/messages/raw", 200)
        self.assertEqual(q["recipients"], 2)
        m = S.wait_final(q["id"])
        self.assertTrue(all(r["state"] == "delivered" for r in m["recipients"]))
        got = [x for x in S.received() if "<raw-1@example.com>" in x["data"]]
        self.assertTrue(got)
        self.assertNotIn("Bcc:", got[0]["data"])
        self.assertIn("\r\nRaw body.\r\n", got[0]["data"].replace("\n", "\r\n").replace("\r\r", "\r"))
        e = check(S.req("POST", "/v1/messages/raw", data=b"no header here",
                        headers={"Authorization": "Bearer " + S.key, "Content-Type": "message/rfc822"}),
                  "POST", "/v1/messages/raw", 400)
        self.assertTrue(e["error"]["message"])

    def test_message_of_another_account_is_not_found(self):
        q = check(S.req("POST", "/v1/messages", key=S.bob_key, json={"from": "bob@example.org", "to": "x@rcpt.test",
                                                                      "text": "x"}), "POST", "/v1/messages", 200)
        check(S.req("GET", f"/v1/messages/{q['id']}"), "GET", "/v1/messages/{id}", 404)
        check(S.req("GET", "/v1/messages/abc"), "GET", "/v1/messages/{id}", 404)


class SameRepliesAsSmtp(unittest.TestCase):
    """The submission checks answer the API with the SMTP path's replies."""

    def smtp_reply(self, user, password, mail_from, rcpt):
        c = smtplib.SMTP("127.0.0.1", S.smtp_port, timeout=30)
        c.ehlo("client.test")
        c.login(user, password)
        code, msg = c.mail(mail_from)
        if code == 250:
            code, msg = c.rcpt(rcpt)
        c.quit()
        return f"{code} {msg.decode()}"

    def api_reply(self, error):
        e = error["error"]
        return " ".join(x for x in (e["code"], e["enhanced"], e["message"]) if x)

    def test_suppressed_recipient(self):
        check(S.req("POST", "/v1/suppressions", json={"address": "Gone@Rcpt.test", "reason": "550 5.1.1 gone"}),
              "POST", "/v1/suppressions", 200)
        e = check(S.req("POST", "/v1/messages", json={"from": "alice@example.com", "to": "gone@rcpt.test",
                                                       "text": "x"}), "POST", "/v1/messages", 422)
        self.assertEqual(e["error"]["recipient"], "gone@rcpt.test")
        self.assertEqual(self.api_reply(e), self.smtp_reply("alice", "alice-pw", "alice@example.com", "gone@rcpt.test"))
        self.assertEqual(self.api_reply(e), "550 5.1.1 Recipient address is on the suppression list of this account")

    def test_sender_domain(self):
        e = check(S.req("POST", "/v1/messages", json={"from": "alice@elsewhere.test", "to": "a@rcpt.test",
                                                       "text": "x"}), "POST", "/v1/messages", 422)
        self.assertEqual(self.api_reply(e), self.smtp_reply("alice", "alice-pw", "alice@elsewhere.test", "a@rcpt.test"))

    def test_invalid_recipient(self):
        e = check(S.req("POST", "/v1/messages", json={"from": "alice@example.com", "to": "a@@rcpt.test",
                                                       "text": "x"}), "POST", "/v1/messages", 422)
        self.assertEqual(self.api_reply(e), "559 Invalid rcptto")

    def test_daily_quota_is_429_with_retry_after(self):
        body = {"from": "tiny@example.com", "to": "q@rcpt.test", "text": "x"}
        check(S.req("POST", "/v1/messages", key=S.tiny_key, json=body), "POST", "/v1/messages", 200)
        r = S.req("POST", "/v1/messages", key=S.tiny_key, json=body)
        e = check(r, "POST", "/v1/messages", 429)
        self.assertEqual(self.api_reply(e), "552 Daily sending quota exceeded")
        self.assertGreater(int(r.headers["Retry-After"]), 0)
        self.assertEqual(self.api_reply(e), self.smtp_reply("tiny", "tiny-pw", "tiny@example.com", "q2@rcpt.test"))

    def test_message_too_large_is_413_557(self):
        e = check(S.req("POST", "/v1/messages", json={"from": "alice@example.com", "to": "big@rcpt.test",
                                                       "text": "x" * 250000}), "POST", "/v1/messages", 413)
        self.assertEqual(self.api_reply(e), "557 The length of DATA content has reached the maximum threshold")

    def test_too_many_recipients(self):
        e = check(S.req("POST", "/v1/messages", json={"from": "alice@example.com", "text": "x",
                                                       "to": [f"r{i}@rcpt.test" for i in range(101)]}),
                  "POST", "/v1/messages", 400)
        self.assertIn("100", e["error"]["message"])


class Events(unittest.TestCase):
    def test_cursor_pages_each_event_exactly_once(self):
        for i in range(5):
            check(S.req("POST", "/v1/messages", json={"from": "alice@example.com", "to": f"ev{i}@rcpt.test",
                                                       "text": "x"}), "POST", "/v1/messages", 200)
        whole = check(S.req("GET", "/v1/events?limit=1000"), "GET", "/v1/events", 200)
        self.assertFalse(whole["has_more"])
        seen, after, pages = [], 0, 0
        while True:
            page = check(S.req("GET", f"/v1/events?after={after}&limit=2"), "GET", "/v1/events", 200)
            pages += 1
            seen += [e["id"] for e in page["events"]]
            if not page["has_more"]:
                break
            self.assertEqual(len(page["events"]), 2)
            after = page["next"]
        ids = [e["id"] for e in whole["events"]]
        self.assertEqual(seen[:len(ids)], ids)
        self.assertEqual(len(seen), len(set(seen)), "an event came twice")
        self.assertEqual(seen, sorted(seen))
        self.assertGreaterEqual(pages, 3)
        # Nothing after the last page until something happens; then exactly the new ones.
        last = page["next"]
        n_before = len(check(S.req("GET", f"/v1/events?after={last}"), "GET", "/v1/events", 200)["events"])
        check(S.req("POST", "/v1/messages", json={"from": "alice@example.com", "to": "late@rcpt.test", "text": "x"}),
              "POST", "/v1/messages", 200)
        new = check(S.req("GET", f"/v1/events?after={last}"), "GET", "/v1/events", 200)["events"]
        self.assertGreaterEqual(len(new), n_before + 1)
        self.assertTrue(all(e["id"] > last for e in new))
        self.assertIn("late@rcpt.test", [e["recipient"] for e in new])

    def test_type_filter_and_bad_parameters(self):
        # full@ is answered 452 (mailbox full): a deferral with a verdict.
        check(S.req("POST", "/v1/messages", json={"from": "alice@example.com", "to": "full@rcpt.test",
                                                   "text": "x"}), "POST", "/v1/messages", 200)
        end = time.time() + 30
        while time.time() < end:
            page = check(S.req("GET", "/v1/events?type=deferred&limit=1000"), "GET", "/v1/events", 200)
            if any(e["recipient"] == "full@rcpt.test" for e in page["events"]):
                break
            time.sleep(0.1)
        self.assertTrue(page["events"])
        self.assertTrue(all(e["type"] == "deferred" and e["verdict"] for e in page["events"]))
        both = check(S.req("GET", "/v1/events?type=deferred,queued&limit=1000"), "GET", "/v1/events", 200)
        self.assertEqual({e["type"] for e in both["events"]}, {"deferred", "queued"})
        self.assertEqual(check(S.req("GET", "/v1/events?type=exploded"), "GET", "/v1/events", 200)["events"], [])
        check(S.req("GET", "/v1/events?type=Drop%20table"), "GET", "/v1/events", 400)
        check(S.req("GET", "/v1/events?limit=0"), "GET", "/v1/events", 400)
        check(S.req("GET", "/v1/events?after=-1"), "GET", "/v1/events", 400)

    def test_other_accounts_events_are_not_listed(self):
        page = check(S.req("GET", "/v1/events?limit=1000", key=S.bob_key), "GET", "/v1/events", 200)
        mine = {e["message_id"] for e in check(S.req("GET", "/v1/events?limit=1000"), "GET", "/v1/events", 200)["events"]}
        self.assertFalse(mine & {e["message_id"] for e in page["events"]})


class Suppressions(unittest.TestCase):
    def test_json_csv_import_export_and_delete(self):
        check(S.req("POST", "/v1/suppressions", json={"addresses": ["s1@rcpt.test", "S2@rcpt.test"]}),
              "POST", "/v1/suppressions", 200)
        csv_in = "address,reason\ns3@rcpt.test,complained\n\"s4@rcpt.test\",\n=evil@rcpt.test,\"x\"\n"
        e = check(S.req("POST", "/v1/suppressions", data=csv_in,
                        headers={"Authorization": "Bearer " + S.key, "Content-Type": "text/csv"}),
                  "POST", "/v1/suppressions", 200)
        self.assertEqual(e["added"], 3)
        listed = check(S.req("GET", "/v1/suppressions"), "GET", "/v1/suppressions", 200)["suppressions"]
        by = {s["address"]: s for s in listed}
        for a in ("s1@rcpt.test", "s2@rcpt.test", "s3@rcpt.test", "s4@rcpt.test", "=evil@rcpt.test"):
            self.assertIn(a, by)
        self.assertEqual(by["s3@rcpt.test"]["source"], "import")
        self.assertEqual(by["s3@rcpt.test"]["reason"], "complained")
        r = S.req("GET", "/v1/suppressions", headers={"Authorization": "Bearer " + S.key, "Accept": "text/csv"})
        self.assertEqual(r.status_code, 200)
        self.assertTrue(r.headers["Content-Type"].startswith("text/csv"))
        rows = list(csv.DictReader(io.StringIO(r.text)))
        addresses = {row["address"] for row in rows}
        self.assertIn("s1@rcpt.test", addresses)
        # A formula-looking cell is defused for spreadsheets.
        self.assertIn("'=evil@rcpt.test", addresses)
        self.assertEqual(S.req("DELETE", "/v1/suppressions/s1@rcpt.test").status_code, 204)
        check(S.req("DELETE", "/v1/suppressions/s1@rcpt.test"), "DELETE", "/v1/suppressions/{address}", 404)
        bad = check(S.req("POST", "/v1/suppressions", json={"addresses": ["ok@rcpt.test", "not an address"]}),
                    "POST", "/v1/suppressions", 422)
        self.assertEqual(bad["error"]["invalid"], ["not an address"])

    def test_stats(self):
        st = check(S.req("GET", "/v1/stats"), "GET", "/v1/stats", 200)
        self.assertEqual(st["account"], "alice")
        self.assertGreaterEqual(sum(st["recipients"].values()), 1)


class Domains(unittest.TestCase):
    def test_list_and_check(self):
        r = subprocess.run([REBOUND, "domain", "add", "mail.example.net", "--account", "dom", "--config", S.config],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            self.skipTest("rebound domain add: " + r.stderr)
        listed = check(S.req("GET", "/v1/domains", key=S.dom_key), "GET", "/v1/domains", 200)["domains"]
        d = [x for x in listed if x["name"] == "mail.example.net"]
        self.assertEqual(len(d), 1)
        self.assertFalse(d[0]["verified"])
        self.assertIn("ownership", {rec["purpose"] for rec in d[0]["records"]})
        self.assertEqual(check(S.req("GET", "/v1/domains", key=S.bob_key), "GET", "/v1/domains", 200)["domains"], [])
        res = check(S.req("POST", "/v1/domains/mail.example.net/check", key=S.dom_key), "POST",
                    "/v1/domains/{domain}/check", 200)
        self.assertFalse(res["verified"])
        own = [c for c in res["checks"] if c["record"] == "ownership"]
        self.assertTrue(own and not own[0]["ok"] and own[0]["fix"])
        check(S.req("POST", "/v1/domains/other.example/check", key=S.dom_key), "POST", "/v1/domains/{domain}/check", 404)
        # Another account's domain is not found, and read alone cannot check.
        check(S.req("POST", "/v1/domains/mail.example.net/check"), "POST", "/v1/domains/{domain}/check", 404)
        check(S.req("POST", "/v1/domains/mail.example.net/check", key=S.read_key), "POST",
              "/v1/domains/{domain}/check", 403)


class Webhooks(unittest.TestCase):
    """The /v1/webhooks routes (src/cli/serve_webhooks.cc) against the documented schemas;
    delivery of the events themselves is src/webhooks' tests."""

    def test_add_list_rotate_delete(self):
        added = check(S.req("POST", "/v1/webhooks", json={"url": "http://127.0.0.1:9/hooks", "events": ["bounced"]}),
                      "POST", "/v1/webhooks", 201)
        self.assertTrue(added["secret"].startswith("whsec_"))
        wid = added["webhook"]["id"]
        listed = check(S.req("GET", "/v1/webhooks", key=S.read_key), "GET", "/v1/webhooks", 200)["webhooks"]
        self.assertIn(wid, [w["id"] for w in listed])
        self.assertNotIn("secret", json.dumps(listed))
        bob = check(S.req("GET", "/v1/webhooks", key=S.bob_key), "GET", "/v1/webhooks", 200)["webhooks"]
        self.assertNotIn(wid, [w["id"] for w in bob])
        rotated = check(S.req("POST", f"/v1/webhooks/{wid}/rotate-secret", json={"grace_seconds": 60}),
                        "POST", "/v1/webhooks/{id}/rotate-secret", 200)
        self.assertNotEqual(rotated["secret"], added["secret"])
        self.assertIsNotNone(rotated["webhook"]["rotating_until"])
        check(S.req("POST", "/v1/webhooks", json={"url": "ftp://x"}), "POST", "/v1/webhooks", 422)
        check(S.req("POST", "/v1/webhooks", data="{", headers={"Content-Type": "application/json"}),
              "POST", "/v1/webhooks", 400)
        check(S.req("POST", "/v1/webhooks", key=S.read_key, json={"url": "http://127.0.0.1:9/"}),
              "POST", "/v1/webhooks", 403)
        self.assertEqual(check(S.req("DELETE", f"/v1/webhooks/{wid}"), "DELETE", "/v1/webhooks/{id}", 200)["deleted"], wid)
        check(S.req("DELETE", f"/v1/webhooks/{wid}"), "DELETE", "/v1/webhooks/{id}", 404)


class Keys(unittest.TestCase):
    def test_missing_wrong_malformed_and_revoked_keys_get_one_answer(self):
        answers = []
        for auth in (None, "Bearer " + S.key[:-1] + ("0" if S.key[-1] != "0" else "1"), "Bearer nonsense",
                     "Basic " + base64.b64encode(b"alice:alice-pw").decode()):
            headers = {"Authorization": auth} if auth else {}
            r = requests.get(S.base + "/v1/stats", headers=headers, timeout=10)
            check(r, "GET", "/v1/stats", 401)
            answers.append(r.text)
        self.assertEqual(len(set(answers)), 1, answers)
        key = S.cli("apikey", "create", "--account", "alice", "--scope", "read").stdout.strip()
        check(S.req("GET", "/v1/stats", key=key), "GET", "/v1/stats", 200)
        kid = key.split("_")[1]
        S.cli("apikey", "revoke", kid)
        r = S.req("GET", "/v1/stats", key=key)
        check(r, "GET", "/v1/stats", 401)
        self.assertEqual(r.text, answers[0])
        listed = [json.loads(l) for l in S.cli("apikey", "list", "--format", "json").stdout.splitlines()]
        self.assertTrue(any(k["id"] == kid and k["revoked_at"] > 0 for k in listed))
        self.assertFalse(any(key in json.dumps(k) for k in listed))

    def test_wrong_scope_is_403(self):
        e = check(S.req("POST", "/v1/messages", key=S.read_key, json={"from": "alice@example.com", "to": "a@rcpt.test",
                                                                        "text": "x"}), "POST", "/v1/messages", 403)
        self.assertIn("send", e["error"]["message"])
        check(S.req("DELETE", "/v1/suppressions/a@rcpt.test", key=S.bob_key), "DELETE",
              "/v1/suppressions/{address}", 403)

    def test_flood_from_one_key_gets_429(self):
        statuses = []
        for _ in range(200):
            r = S.req("GET", "/v1/stats", key=S.flood_key)
            statuses.append(r.status_code)
            if r.status_code == 429:
                self.assertGreaterEqual(int(r.headers["Retry-After"]), 1)
                check(r, "GET", "/v1/stats", 429)
                break
        self.assertIn(429, statuses)
        self.assertGreaterEqual(statuses.count(200), 100)
        # Other keys are not slowed down.
        check(S.req("GET", "/v1/stats"), "GET", "/v1/stats", 200)


class Hostile(unittest.TestCase):
    def test_malformed_json(self):
        for body in (b"{", b"[1,2]", b"\xff\xfe", b'{"from": 5, "to": "a@rcpt.test"}', b"[" * 100000):
            r = S.req("POST", "/v1/messages", data=body, headers={"Authorization": "Bearer " + S.key,
                                                                  "Content-Type": "application/json"})
            check(r, "POST", "/v1/messages", 400)

    def test_header_injection_refused(self):
        e = check(S.req("POST", "/v1/messages", json={"from": "alice@example.com", "to": "a@rcpt.test", "text": "x",
                                                       "subject": "hi\r\nBcc: victim@rcpt.test"}),
                  "POST", "/v1/messages", 400)
        self.assertIn("line breaks", e["error"]["message"])
        check(S.req("POST", "/v1/messages", json={"from": "alice@example.com", "to": "a@rcpt.test", "text": "x",
                                                   "headers": {"X-A": "1\nBcc: victim@rcpt.test"}}),
              "POST", "/v1/messages", 400)

    def test_oversized_body_is_413_and_closed(self):
        s = raw_socket()
        big = 500000
        s.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + S.key.encode() +
                  b"\r\nContent-Type: application/json\r\nContent-Length: " + str(big).encode() + b"\r\n\r\n")
        try:
            s.sendall(b"x" * big)
        except OSError:
            pass  # the server may close before reading it all
        data = read_all(s)
        s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 413"), data[:200])
        self.assertIn(b'"code":"557"', data)

    def test_slow_client_times_out(self):
        s = raw_socket()
        s.sendall(b"GET /v1/stats HTTP/1.1\r\nHost: x\r\n")
        t0 = time.time()
        data = read_all(s, limit=10)
        s.close()
        self.assertLess(time.time() - t0, 8)
        self.assertTrue(data == b"" or data.startswith(b"HTTP/1.1 408"), data[:200])

    def test_idle_keep_alive_is_closed(self):
        s = raw_socket()
        t0 = time.time()
        data = read_all(s, limit=15)
        s.close()
        self.assertEqual(data, b"")
        self.assertLess(time.time() - t0, 10)

    def test_header_flood_is_431(self):
        s = raw_socket()
        req = b"GET /v1/stats HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-Flood-%d: %s\r\n" % (i, b"y" * 50) for i in range(400))
        try:
            s.sendall(req + b"\r\n")
        except OSError:
            pass
        data = read_all(s)
        s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 431"), data[:200])

    def test_garbage_and_early_disconnect(self):
        s = raw_socket()
        s.sendall(b"\x00\x01\x02 NOT HTTP AT ALL\r\n\r\n")
        data = read_all(s)
        s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 400"), data[:200])
        for _ in range(20):
            s = raw_socket()
            s.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"from\"")
            s.close()
        # Still serving.
        check(S.req("GET", "/v1/stats"), "GET", "/v1/stats", 200)

    def test_unknown_route_and_method(self):
        r = S.req("GET", "/v1/nothing")
        self.assertEqual(r.status_code, 404)
        r = S.req("PUT", "/v1/stats")
        self.assertEqual(r.status_code, 405)

    def test_keep_alive_serves_many_requests_on_one_connection(self):
        s = raw_socket()
        req = (b"GET /v1/stats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + S.key.encode() + b"\r\n\r\n") * 3
        s.sendall(req)
        time.sleep(1)
        s.settimeout(5)
        data = s.recv(1 << 20)
        s.close()
        self.assertEqual(data.count(b"HTTP/1.1 200"), 3)


class Tls(unittest.TestCase):
    def test_https_with_the_configured_certificate(self):
        d = tempfile.mkdtemp(prefix="rebound-api-tls-")
        try:
            cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
            r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                                "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1", "-keyout", key, "-out", cert],
                               capture_output=True, timeout=60)
            if r.returncode != 0:
                self.skipTest("openssl could not make a certificate")
            smtp, http = free_port(), free_port()
            cfg = os.path.join(d, "c.toml")
            with open(cfg, "w") as f:
                f.write(f'[server]\nlisten = "127.0.0.1:{smtp}"\ndata_dir = "{d}/data"\nlog = "{d}/log"\n'
                        f'[delivery]\nenabled = false\n'
                        f'[http]\nlisten = "127.0.0.1:{http}"\ntls_cert = "{cert}"\ntls_key = "{key}"\n')
            subprocess.run([REBOUND, "account", "add", "t", "--domain", "example.com", "--config", cfg],
                           input="pw\n", text=True, check=True, capture_output=True)
            k = subprocess.run([REBOUND, "apikey", "create", "--account", "t", "--scope", "read", "--config", cfg],
                               capture_output=True, text=True, check=True).stdout.strip()
            p = subprocess.Popen([REBOUND, "serve", "--config", cfg], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            try:
                self.assertTrue(wait_port(http))
                r = requests.get(f"https://127.0.0.1:{http}/v1/stats", headers={"Authorization": "Bearer " + k},
                                 verify=cert, timeout=10)
                check(r, "GET", "/v1/stats", 200)
                # Plain HTTP on the TLS port gets nothing useful.
                with self.assertRaises(requests.exceptions.RequestException):
                    requests.get(f"http://127.0.0.1:{http}/v1/stats", timeout=5).json()
            finally:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=10)
        finally:
            shutil.rmtree(d, ignore_errors=True)


class ZZSchemas(unittest.TestCase):
    def test_every_operation_was_checked(self):
        ops = {(m.upper(), p) for p, item in OPENAPI["paths"].items() for m in item}
        seen = {(m, p) for m, p, _ in VALIDATED} | {("DELETE", "/v1/suppressions/{address}")}
        self.assertEqual(ops - seen, set())


if __name__ == "__main__":
    REBOUND = sys.argv.pop(1)
    unittest.main(verbosity=2)
