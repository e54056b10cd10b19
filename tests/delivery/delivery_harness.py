"""Shared set-up for the tests that watch `rebound serve` deliver: a real
receiver (smtp_server.py, aiosmtpd) on a free loopback port, a config that
routes to it, the loopback account made with `rebound account add`, and the
delivery attempts read back with `rebound events`."""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from loopback import free_port, wait_port  # noqa: E402,F401  (re-exported for the tests)

RECEIVER = os.path.join(HERE, "smtp_server.py")
SKIP = 77  # ctest's SKIP_RETURN_CODE for these tests


def have_receiver():
    """The receiver needs python3-aiosmtpd; a test without it skips."""
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        print("SKIP: python3-aiosmtpd not installed")
        return False
    return True


def start_receiver(work, port, *options):
    """Starts smtp_server.py on `port`, keeping what it receives in work/out;
    returns the process once it listens."""
    proc = subprocess.Popen(["/usr/bin/python3", RECEIVER, "--port", str(port),
                             "--outdir", os.path.join(work, "out"), *options],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "sink.log"), "a"))
    if not wait_port(port):
        proc.kill()
        raise AssertionError("the receiver did not start: see " + os.path.join(work, "sink.log"))
    return proc


def write_delivery_config(path, *, smtp_port, data, log, account, routes,
                          enabled=True, rules=(), poll_interval_ms=100, delivery_options=""):
    """A config whose loopback clients submit as `account` without AUTH and
    whose deliveries go to `routes` (e.g. "rcpt.test=127.0.0.1:2525").
    `delivery_options`: more [delivery] keys, then any further tables."""
    classifier = ""
    if rules:
        classifier = "[classifier]\nrules = [" + ", ".join(json.dumps(p) for p in rules) + "]\n\n"
    with open(path, "w") as f:
        f.write(f"""{classifier}[server]
listen = "127.0.0.1:{smtp_port}"
data_dir = "{data}"
loopback_account = "{account}"
check_sender_domain = false
log = "{log}"

[delivery]
enabled = {"true" if enabled else "false"}
routes = "{routes}"
poll_interval_ms = {poll_interval_ms}
{delivery_options}""")


def add_account(rebound, cfg, account, domain="example.org", *flags):
    subprocess.run([rebound, "account", "add", account, "--domain", domain, *flags, "--config", cfg],
                   input=b"pw\n", check=True, stdout=subprocess.DEVNULL)


def delivery_attempts(rebound, cfg, recipient=None):
    """The recorded delivery attempts (events past "queued"), oldest first."""
    out = subprocess.run([rebound, "events", "--config", cfg, "--format", "json"],
                         capture_output=True, text=True, timeout=60)
    found = []
    for e in (json.loads(line) for line in out.stdout.splitlines() if line.strip()):
        if e.get("decision") not in (None, "queued") and recipient in (None, e.get("recipient")):
            found.append(e)
    return found


def wait_for_attempt(rebound, cfg, recipient=None, timeout=30):
    """The first delivery attempt (to `recipient`, if given), or None when
    none is recorded within `timeout` seconds."""
    end = time.time() + timeout
    while time.time() < end:
        found = delivery_attempts(rebound, cfg, recipient)
        if found:
            return found[0]
        time.sleep(0.2)
    return None


def start_serve(rebound, cfg, work, *ports, extra_args=(), env=None):
    """Starts `rebound serve --config cfg` and waits until every one of
    `ports` listens; its stderr goes to work/serve.log."""
    log = os.path.join(work, "serve.log")
    proc = subprocess.Popen([rebound, "serve", "--config", cfg, *extra_args], env=env, stderr=open(log, "a"))
    for port in ports:
        if not wait_port(port):
            proc.kill()
            raise AssertionError("rebound serve did not start: " + open(log).read())
    return proc


def stop(*procs):
    """SIGTERM and wait, for every process that was started (None is skipped)."""
    for proc in procs:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
