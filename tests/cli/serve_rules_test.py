#!/usr/bin/python3
"""Local rules reach the relay: `[classifier] rules` in the config and
`rebound serve --rules` both change the verdict a delivery is recorded with,
and a [[disable]] in them switches a shipped rule off.

Usage: serve_rules_test.py REBOUND_BINARY. Starts its own receiver
(tests/delivery/smtp_server.py, aiosmtpd) and `rebound serve` on free
loopback ports. Exit 77 = skip.
"""
import json
import os
import signal
import smtplib
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RECEIVER = os.path.join(HERE, "..", "delivery", "smtp_server.py")
sys.path.insert(0, os.path.join(HERE, "..", "relay"))
from relay_harness import free_port, wait_port  # noqa: E402


def events(rebound, cfg):
    out = subprocess.run([rebound, "events", "--config", cfg, "--format", "json"], capture_output=True, text=True)
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def run_case(rebound, work, name, rules_in_config, rules_on_command_line, sink_port):
    smtp_port = free_port()
    data = os.path.join(work, name)
    cfg = os.path.join(work, name + ".toml")
    classifier = ""
    if rules_in_config:
        classifier = "[classifier]\nrules = [" + ", ".join(json.dumps(p) for p in rules_in_config) + "]\n"
    with open(cfg, "w") as f:
        f.write(f"""{classifier}
[server]
listen = "127.0.0.1:{smtp_port}"
data_dir = "{data}"
loopback_account = "rules"
check_sender_domain = false
log = "{work}/{name}-server.log"

[delivery]
enabled = true
routes = "rcpt.test=127.0.0.1:{sink_port}"
poll_interval_ms = 100
""")
    subprocess.run([rebound, "account", "add", "rules", "--domain", "example.org", "--config", cfg],
                   input=b"pw\n", check=True, stdout=subprocess.DEVNULL)
    argv = [rebound, "serve", "--config", cfg]
    for path in rules_on_command_line:
        argv += ["--rules", path]
    serve = subprocess.Popen(argv, stderr=open(os.path.join(work, name + "-serve.log"), "w"))
    try:
        assert wait_port(smtp_port), "rebound serve did not start"
        with smtplib.SMTP("127.0.0.1", smtp_port) as c:
            c.sendmail("sender@example.org", ["unknown@rcpt.test"],
                       "From: sender@example.org\r\nTo: unknown@rcpt.test\r\nSubject: rules\r\n\r\nbody\r\n")
        end = time.time() + 20
        while time.time() < end:
            attempts = [e for e in events(rebound, cfg) if e.get("decision") not in (None, "queued")]
            if attempts:
                return attempts[0]
            time.sleep(0.2)
        return None
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(10)


def main():
    if len(sys.argv) < 2:
        print("usage: serve_rules_test.py REBOUND_BINARY", file=sys.stderr)
        return 2
    rebound = sys.argv[1]
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        print("SKIP: python3-aiosmtpd not installed")
        return 77
    work = tempfile.mkdtemp(prefix="rebound-serve-rules-")
    # The receiver answers unknown@ with "550 5.1.1 <a>: Recipient address
    # rejected: User unknown in virtual mailbox table".
    local = os.path.join(work, "local.toml")
    with open(local, "w") as f:
        f.write("""[[rule]]
id = "local.virtual-table"
category = "greylisted"
match = 'in virtual mailbox table'
""")
    disable = os.path.join(work, "disable.toml")
    with open(disable, "w") as f:
        f.write("""[[disable]]
ids = ["postfix.unknown-local-recipient", "facet.recipient-unknown"]
""")
    sink_port = free_port()
    sink = subprocess.Popen(["/usr/bin/python3", RECEIVER, "--port", str(sink_port), "--outdir", os.path.join(work, "out")],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "sink.log"), "w"))
    failures = []
    try:
        assert wait_port(sink_port), "receiver did not start"
        shipped = run_case(rebound, work, "shipped", [], [], sink_port)
        by_config = run_case(rebound, work, "config", [local], [], sink_port)
        by_flag = run_case(rebound, work, "flag", [], [local], sink_port)
        disabled = run_case(rebound, work, "disabled", [disable], [], sink_port)
        for name, ev in (("shipped", shipped), ("config", by_config), ("flag", by_flag), ("disabled", disabled)):
            print(f"{name}: " + (f"{ev.get('decision')} {ev.get('category')} by {ev.get('rule')}" if ev else "no attempt"))
        if not shipped or shipped.get("category") != "recipient_not_found":
            failures.append("the shipped rules should read the unknown user")
        for name, ev in (("[classifier] rules", by_config), ("--rules", by_flag)):
            if not ev or ev.get("rule") != "local.virtual-table" or ev.get("category") != "greylisted":
                failures.append(f"{name}: the local rule did not decide")
        if not disabled or disabled.get("rule") in ("postfix.unknown-local-recipient", "facet.recipient-unknown"):
            failures.append("[[disable]] did not switch the shipped rules off")
    finally:
        sink.send_signal(signal.SIGTERM)
        sink.wait(10)
    if failures:
        print("FAIL: " + "; ".join(failures))
        return 1
    print("serve rules: 4 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
