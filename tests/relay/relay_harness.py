"""Shared test harness for the relay tests: a real `rebound serve` started on a
free loopback port with its own data directory, accounts made with the real
`rebound account` command, and small SMTP helpers on top of smtplib."""
import json
import os
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from loopback import free_port, wait_port  # noqa: E402

REBOUND = None  # set by each test's main from argv[1]


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the server's certificate is self-signed
    return ctx


class Server:
    """A `rebound serve` process with a data dir, config file and log file."""

    def __init__(self, extra_config="", data_dir=None):
        self.dir = tempfile.mkdtemp(prefix="rebound-relay-")
        self.data = data_dir or os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "serve.jsonl")
        self.config = os.path.join(self.dir, "rebound.toml")
        self.extra_config = extra_config
        self.started_once = False
        self.write_config(free_port())
        self.proc = None

    def write_config(self, port):
        self.port = port
        with open(self.config, "w") as f:
            f.write(
                "[server]\n"
                f'listen = "127.0.0.1:{self.port}"\n'
                f'data_dir = "{self.data}"\n'
                'hostname = "relay.test"\n'
                f'log = "{self.log}"\n'
                "auth_failure_delay_ms = 300\n" + self.extra_config +
                # These tests look at the submission side alone: queued mail stays queued.
                "\n[delivery]\nenabled = false\n"
            )

    def cli(self, *args, input=None, check=True):
        r = subprocess.run(
            [REBOUND, *args, "--config", self.config],
            input=input, capture_output=True, text=True, timeout=60,
        )
        if check and r.returncode != 0:
            raise AssertionError(f"rebound {' '.join(args)} failed ({r.returncode}): {r.stderr}")
        return r

    def add_account(self, user, password, domain="example.com", *flags):
        self.cli("account", "add", user, "--domain", domain, *flags, input=password + "\n")

    def start(self):
        # free_port()'s port was only free a moment ago: a test running in
        # parallel may take it before the first start, which then fails to
        # listen; that start is tried again on another port. Restarts keep
        # the port (clients of a crash test reconnect to it).
        for _ in range(4):
            try:
                return self.start_once()
            except AssertionError as e:
                if self.started_once or "in use" not in str(e):
                    raise
                self.write_config(free_port())
        return self.start_once()

    def start_once(self):
        if getattr(self, "stderr", None):
            self.stderr.close()
        self.stderr = open(os.path.join(self.dir, "serve.stderr"), "w")
        self.proc = subprocess.Popen([REBOUND, "serve", "--config", self.config],
                                     stdout=subprocess.DEVNULL, stderr=self.stderr)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("rebound serve exited: " + open(self.stderr.name).read())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                self.started_once = True
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("rebound serve did not start listening")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cleanup(self):
        """Stops the server; fails if it reported a sanitizer error or exited badly."""
        self.stop()
        problems = ""
        if getattr(self, "stderr", None):
            self.stderr.close()
            with open(self.stderr.name, errors="replace") as f:
                text = f.read()
            if "Sanitizer" in text or "runtime error:" in text:
                problems = text[-4000:]
        code = self.proc.returncode if self.proc else 0
        shutil.rmtree(self.dir, ignore_errors=True)
        assert not problems, "the server reported:\n" + problems
        assert code in (0, -signal.SIGKILL), f"rebound serve exited with {code}"

    def queue(self):
        r = self.cli("queue", "list", "--format", "json")
        return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]

    def log_events(self):
        with open(self.log) as f:
            return [json.loads(line) for line in f if line.strip()]

    def smtp(self, tls=True, user=None, password=None, source="127.0.0.1", timeout=30):
        c = smtplib.SMTP("127.0.0.1", self.port, timeout=timeout, source_address=(source, 0))
        c.ehlo("client.test")
        if tls:
            c.starttls(context=tls_context())
            c.ehlo("client.test")
        if user:
            c.login(user, password)
        return c


def classify(replies):
    """Classifies replies with the project's classifier (rebound classify)."""
    r = subprocess.run([REBOUND, "classify", "--format", "json", *replies],
                       capture_output=True, text=True, timeout=60, check=True)
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def reply_text(code, msg):
    """smtplib's (code, bytes) pair back to the reply line the server wrote."""
    if isinstance(msg, bytes):
        msg = msg.decode("utf-8", "replace")
    return f"{code} {msg}"
