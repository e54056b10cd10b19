#!/usr/bin/python3
"""GET /metrics on a running `rebound serve` after real traffic.

Starts a receiving server (tests/delivery/smtp_server.py, aiosmtpd) and
`rebound serve` with its HTTP server on free loopback ports, sends mail that is
delivered, bounced and refused at submission, then scrapes /metrics and
checks: promtool accepts it (skipped when promtool is missing), the counters
match the traffic sent, and every expression of examples/grafana-dashboard.json
names a metric the scrape exports.

Usage: serve_metrics_test.py REBOUND_BINARY. Exit 77 = skip.
"""
import json
import os
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", ".."))
DASHBOARD = os.path.join(SOURCE, "examples", "grafana-dashboard.json")
sys.path.insert(0, os.path.join(SOURCE, "tests", "delivery"))
from delivery_harness import SKIP, add_account, free_port, have_receiver, start_receiver, start_serve, stop  # noqa: E402


def samples(text):
    """{'name{labels}': value} of every sample line, labels as exposed."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        out[key] = float(value)
    return out


def families(text):
    return {m.group(1) for m in re.finditer(r"^# TYPE (\S+) ", text, re.M)}


def dashboard_metric_names(path):
    """Every rebound_* name in the dashboard's query expressions."""
    with open(path) as f:
        board = json.load(f)
    names = set()
    exprs = []

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "expr" and isinstance(v, str):
                    exprs.append(v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(board)
    for e in exprs:
        names.update(re.findall(r"\brebound_[a-z0-9_]+", e))
    return exprs, names


def family_of(name, exported):
    """The exported family a sample name belongs to (histogram suffixes)."""
    if name in exported:
        return name
    for suffix in ("_bucket", "_count", "_sum"):
        if name.endswith(suffix) and name[: -len(suffix)] in exported:
            return name[: -len(suffix)]
    return None


def events(rebound, cfg):
    out = subprocess.run([rebound, "events", "--config", cfg, "--format", "json"], capture_output=True, text=True)
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def main():
    if len(sys.argv) < 2:
        print("usage: serve_metrics_test.py REBOUND_BINARY", file=sys.stderr)
        return 2
    rebound = sys.argv[1]
    if not have_receiver():
        return SKIP
    work = tempfile.mkdtemp(prefix="rebound-metrics-")
    sink_port, smtp_port, http_port = free_port(), free_port(), free_port()
    cfg = os.path.join(work, "rebound.toml")
    with open(cfg, "w") as f:
        f.write(f"""[server]
listen = "127.0.0.1:{smtp_port}"
data_dir = "{work}/data"
loopback_account = "shop"
log = "{work}/server.log"

[http]
listen = "127.0.0.1:{http_port}"

[delivery]
routes = "rcpt.test=127.0.0.1:{sink_port}"
poll_interval_ms = 100
bounce_notices = false
tls = "off"
""")
    add_account(rebound, cfg, "shop", "example.org", "--daily-quota", "1000")
    sink = None
    serve = None
    failures = []
    try:
        sink = start_receiver(work, sink_port)
        serve = start_serve(rebound, cfg, work, smtp_port, http_port)

        delivered, bounced = 3, 1
        refused_code = None
        with smtplib.SMTP("127.0.0.1", smtp_port) as c:
            for i in range(delivered):
                c.sendmail("news@example.org", [f"ok{i}@rcpt.test"],
                           f"From: news@example.org\r\nTo: ok{i}@rcpt.test\r\nSubject: m{i}\r\n\r\nbody\r\n")
            c.sendmail("news@example.org", ["unknown@rcpt.test"],
                       "From: news@example.org\r\nTo: unknown@rcpt.test\r\nSubject: u\r\n\r\nbody\r\n")
            # A sender domain the account may not use: refused at MAIL.
            try:
                c.sendmail("news@elsewhere.test", ["ok@rcpt.test"], "Subject: no\r\n\r\nbody\r\n")
                failures.append("a foreign sender domain was accepted")
            except smtplib.SMTPSenderRefused as e:
                refused_code = str(e.smtp_code)
        end = time.time() + 30
        while time.time() < end:
            done = [e for e in events(rebound, cfg) if e.get("decision") in ("delivered", "bounced")]
            if len(done) >= delivered + bounced:
                break
            time.sleep(0.2)
        else:
            failures.append("the deliveries did not finish: " + json.dumps(events(rebound, cfg)))
        # Last, a receiver that says "frequency limited": the destination is
        # throttled (and the recipient deferred).
        with smtplib.SMTP("127.0.0.1", smtp_port) as c:
            c.sendmail("news@example.org", ["rate@rcpt.test"], "Subject: r\r\n\r\nbody\r\n")
        accepted = delivered + bounced + 1
        end = time.time() + 30
        while time.time() < end and not any(e.get("decision") == "deferred" for e in events(rebound, cfg)):
            time.sleep(0.2)

        text = urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=10).read().decode()
        with open(os.path.join(work, "metrics.txt"), "w") as f:
            f.write(text)
        s = samples(text)

        def expect(series, want):
            got = s.get(series)
            if got != want:
                failures.append(f"{series} = {got}, expected {want}")

        expect('rebound_messages_accepted_total{transport="smtp"}', accepted)
        expect('rebound_submission_duration_seconds_count{transport="smtp"}', accepted)
        if refused_code:
            expect(f'rebound_submission_rejections_total{{code="{refused_code}",transport="smtp"}}', 1)
        expect('rebound_delivery_outcomes_total{category="delivered",domain="rcpt.test",outcome="delivered",'
               'provider="none"}', delivered)
        bounced_series = [k for k in s if k.startswith("rebound_delivery_outcomes_total{") and 'outcome="bounced"' in k]
        if sum(s[k] for k in bounced_series) != bounced:
            failures.append(f"bounced outcomes: {bounced_series}")
        expect('rebound_delivery_duration_seconds_count{outcome="delivered"}', delivered)
        expect('rebound_queue_recipients{state="delivered"}', delivered)
        expect('rebound_queue_recipients{state="bounced"}', bounced)
        expect('rebound_queue_recipients{state="queued"}', 0)
        expect('rebound_queue_recipients{state="deferred"}', 1)
        if not 0 <= s.get("rebound_queue_oldest_age_seconds", -1) < 60:
            failures.append(f"oldest age: {s.get('rebound_queue_oldest_age_seconds')}")
        deferred = [k for k in s if k.startswith("rebound_delivery_outcomes_total{") and 'outcome="deferred"' in k]
        if sum(s[k] for k in deferred) != 1 or not any("rate_limited" in k for k in deferred):
            failures.append(f"deferred outcomes: {deferred}")
        windows = {k: v for k, v in s.items() if k.startswith("rebound_destination_throttle_window_seconds{")}
        if len(windows) != 1 or list(windows.values())[0] <= 0:
            failures.append(f"throttle windows: {windows}")
        expect('rebound_account_quota_used{account="shop",period="day"}', accepted)
        expect('rebound_account_quota_limit{account="shop",period="day"}', 1000)
        expect('rebound_sessions{transport="smtp"}', 0)  # the client has quit
        expect("rebound_scrape_errors_total", 0)

        if shutil.which("promtool"):
            check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
            print("promtool check metrics:", check.returncode, (check.stdout + check.stderr).strip() or "ok")
            if check.returncode != 0:
                failures.append("promtool check metrics failed: " + check.stdout + check.stderr)
        else:
            print("promtool not installed: the exposition was not validated by it (the value checks still ran)")

        exported = families(text)
        exprs, names = dashboard_metric_names(DASHBOARD)
        if not exprs:
            failures.append("the dashboard has no query expressions")
        for name in sorted(names):
            if not family_of(name, exported):
                failures.append(f"the dashboard uses {name}, which /metrics does not export")
        print(f"{len(exprs)} dashboard expressions over {len(names)} metric names; {len(exported)} families exported")
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
