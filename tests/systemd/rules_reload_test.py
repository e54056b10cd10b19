"""SIGHUP re-reads the local rule files of `[classifier] rules`: the verdicts
of deliveries after the reload come from the edited file, and a rule file
that no longer loads changes nothing (the reload is refused, the rules in
use stay).

Usage: rules_reload_test.py path/to/rebound. Starts its own receiver
(tests/delivery/smtp_server.py, aiosmtpd; exit 77 = skip when missing) and
`rebound serve` with a datagram socket as NOTIFY_SOCKET to know when a
reload is done."""
import os
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "delivery"))
sys.path.insert(0, HERE)
from delivery_harness import (SKIP, add_account, free_port, have_receiver, start_receiver,  # noqa: E402
                              wait_for_attempt, write_delivery_config)
from notify_test import NotifySocket  # noqa: E402

# The receiver answers unknown@ with "550 5.1.1 <a>: Recipient address
# rejected: User unknown in virtual mailbox table".
LOCAL_RULE = """[[rule]]
id = "local.virtual-table"
category = "greylisted"
match = 'in virtual mailbox table'
"""
UNRELATED_RULE = """[[rule]]
id = "local.unrelated"
category = "greylisted"
match = 'nothing the receiver says'
"""


def deliver_one(rebound, cfg, port, domain):
    """Sends one message to unknown@domain (a bounce suppresses the address,
    so each try has its own); returns its delivery attempt."""
    rcpt = "unknown@" + domain
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
        c.sendmail("sender@example.org", [rcpt],
                   f"From: sender@example.org\r\nTo: {rcpt}\r\nSubject: rules\r\n\r\nbody\r\n")
    found = wait_for_attempt(rebound, cfg, rcpt)
    assert found, "no delivery attempt recorded for " + rcpt
    return found


def main():
    rebound = sys.argv[1]
    if not have_receiver():
        return SKIP
    work = tempfile.mkdtemp(prefix="rebound-rules-reload-")
    local = os.path.join(work, "local.toml")
    with open(local, "w") as f:
        f.write(UNRELATED_RULE)
    sink_port, smtp_port = free_port(), free_port()
    cfg = os.path.join(work, "rebound.toml")
    write_delivery_config(cfg, smtp_port=smtp_port, data=f"{work}/data", log=f"{work}/server.log",
                          account="rules", routes=f"*=127.0.0.1:{sink_port}", rules=[local])
    add_account(rebound, cfg, "rules")
    sink = start_receiver(work, sink_port)
    notify = NotifySocket(work)
    serve = subprocess.Popen([rebound, "serve", "--config", cfg], env=dict(os.environ, NOTIFY_SOCKET=notify.path),
                             stderr=open(os.path.join(work, "serve.log"), "w"))
    try:
        ready = notify.wait_for("READY", "1")

        first = deliver_one(rebound, cfg, smtp_port, "one.test")
        assert first.get("rule") != "local.virtual-table", first

        with open(local, "w") as f:
            f.write(LOCAL_RULE)
        serve.send_signal(signal.SIGHUP)
        ready = notify.wait_for("READY", "1", after=notify.wait_for("RELOADING", "1", after=ready + 1) + 1)
        second = deliver_one(rebound, cfg, smtp_port, "two.test")
        assert second.get("rule") == "local.virtual-table" and second.get("category") == "greylisted", second

        with open(local, "w") as f:
            f.write("[[rule]]\nid = \"local.broken\"\ncategory = \"no_such_category\"\nmatch = 'x'\n")
        serve.send_signal(signal.SIGHUP)
        j = notify.wait_for("READY", "1", after=notify.wait_for("RELOADING", "1", after=ready + 1) + 1)
        assert "reload failed" in notify.messages[j][1].get("STATUS", ""), notify.messages[j]
        third = deliver_one(rebound, cfg, smtp_port, "three.test")
        assert third.get("rule") == "local.virtual-table", ("a refused reload changed the rules", third)
        assert serve.poll() is None, "serve exited"
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(10)
        sink.send_signal(signal.SIGTERM)
        sink.wait(10)
        notify.close()
        shutil.rmtree(work, ignore_errors=True)
    print(f"ok: verdict by {first.get('rule')} before the reload, by {second.get('rule')} after it; "
          "a broken rule file on SIGHUP kept the rules in use")
    return 0


if __name__ == "__main__":
    sys.exit(main())
