#!/usr/bin/python3
"""Local rules reach the relay: `[classifier] rules` in the config and
`rebound serve --rules` both change the verdict a delivery is recorded with,
and a [[disable]] in them switches a shipped rule off.

Usage: serve_rules_test.py REBOUND_BINARY. Starts its own receiver
(tests/delivery/smtp_server.py, aiosmtpd) and `rebound serve` on free
loopback ports. Exit 77 = skip.
"""
import os
import signal
import smtplib
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "delivery"))
from delivery_harness import (SKIP, add_account, free_port, have_receiver, start_receiver,  # noqa: E402
                              wait_for_attempt, wait_port, write_delivery_config)


def run_case(rebound, work, name, rules_in_config, rules_on_command_line, sink_port):
    smtp_port = free_port()
    cfg = os.path.join(work, name + ".toml")
    write_delivery_config(cfg, smtp_port=smtp_port, data=os.path.join(work, name), log=f"{work}/{name}-server.log",
                          account="rules", routes=f"rcpt.test=127.0.0.1:{sink_port}", rules=rules_in_config)
    add_account(rebound, cfg, "rules")
    argv = [rebound, "serve", "--config", cfg]
    for path in rules_on_command_line:
        argv += ["--rules", path]
    serve = subprocess.Popen(argv, stderr=open(os.path.join(work, name + "-serve.log"), "w"))
    try:
        assert wait_port(smtp_port), "rebound serve did not start"
        with smtplib.SMTP("127.0.0.1", smtp_port) as c:
            c.sendmail("sender@example.org", ["unknown@rcpt.test"],
                       "From: sender@example.org\r\nTo: unknown@rcpt.test\r\nSubject: rules\r\n\r\nbody\r\n")
        return wait_for_attempt(rebound, cfg, timeout=20)
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(10)


def main():
    if len(sys.argv) < 2:
        print("usage: serve_rules_test.py REBOUND_BINARY", file=sys.stderr)
        return 2
    rebound = sys.argv[1]
    if not have_receiver():
        return SKIP
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
    sink = start_receiver(work, sink_port)
    failures = []
    try:
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
