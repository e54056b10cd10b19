"""`rebound serve` as a systemd Type=notify service, without systemd: a unix
datagram socket stands in for NOTIFY_SOCKET and records what serve tells the
service manager. Checks readiness (READY=1 only once the listeners accept),
the watchdog pings, SIGHUP reloads (RELOADING=1 then READY=1; new TLS
certificate and session limits for new sessions; open sessions untouched; a
broken config changes nothing; the log file is reopened after a
logrotate-style rename) and a storm of 20 SIGHUPs while sessions send mail.

Usage: notify_test.py path/to/rebound"""
import os
import re
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "relay"))
import relay_harness  # noqa: E402
from relay_harness import Server, free_port  # noqa: E402


class NotifySocket:
    """The service manager's end of NOTIFY_SOCKET: every datagram, in order."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []  # (monotonic time, {KEY: VALUE})
        self.cond = threading.Condition()
        self.closed = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().split("\n") if "=" in line)
            with self.cond:
                self.messages.append((time.monotonic(), fields))
                self.cond.notify_all()

    def wait_for(self, key, value=None, after=0, timeout=20.0):
        """The index of the first message from index `after` on that sets key (to value)."""
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(after, len(self.messages)):
                    fields = self.messages[i][1]
                    if key in fields and (value is None or fields[key] == value):
                        return i
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {key}={value} from serve after message {after}: {self.messages[after:]}")
                self.cond.wait(left)

    def close(self):
        self.sock.close()


class NotifiedServer(Server):
    """relay_harness's server, started the way systemd starts it: NOTIFY_SOCKET
    in the environment, ready when it says READY=1 (not when the port answers)."""

    def __init__(self, extra_config="", extra_env=None, pid_for_watchdog=False, http_port=None):
        self.http_port = http_port
        super().__init__(extra_config)
        self.notify = NotifySocket(self.dir)
        self.extra_env = extra_env or {}
        self.pid_for_watchdog = pid_for_watchdog
        self.ready_index = None

    def write_config(self, port):
        super().write_config(port)
        if self.http_port:
            with open(self.config, "a") as f:
                f.write(f'\n[http]\nlisten = "127.0.0.1:{self.http_port}"\n')

    def rewrite(self, extra_config):
        """The config file with other [server] keys (the port stays)."""
        self.extra_config = extra_config
        self.write_config(self.port)

    def start_once(self):
        self.stderr = open(os.path.join(self.dir, "serve.stderr"), "w")
        env = dict(os.environ, NOTIFY_SOCKET=self.notify.path, **self.extra_env)
        argv = [relay_harness.REBOUND, "serve", "--config", self.config]
        if self.pid_for_watchdog:
            # systemd names the service's main pid; the shell's pid is serve's after exec.
            argv = ["/bin/sh", "-c", 'WATCHDOG_PID=$$; export WATCHDOG_PID; exec "$@"', "sh", *argv]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=self.stderr, env=env)
        try:
            self.ready_index = self.notify.wait_for("READY", "1")
        except AssertionError:
            self.proc.poll()
            raise AssertionError("rebound serve did not report READY=1: " + open(self.stderr.name).read())
        self.started_once = True

    def reload(self, after=None):
        """SIGHUP; returns the READY message that ends the reload (its fields)."""
        start = len(self.notify.messages) if after is None else after
        self.proc.send_signal(signal.SIGHUP)
        i = self.notify.wait_for("RELOADING", "1", after=start)
        assert re.fullmatch(r"[0-9]+", self.notify.messages[i][1].get("MONOTONIC_USEC", "")), self.notify.messages[i]
        j = self.notify.wait_for("READY", "1", after=i + 1)
        return self.notify.messages[j][1]

    def cleanup(self):
        super().cleanup()
        self.notify.close()


def make_cert(directory, name):
    """A self-signed P-256 certificate and key with CN=name (openssl CLI)."""
    cert, key = os.path.join(directory, name + ".crt"), os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-subj", "/CN=" + name, "-days", "2", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def presented_cert(port):
    """The DER certificate the server presents after STARTTLS, and its CN."""
    c = smtplib.SMTP("127.0.0.1", port, timeout=30)
    c.ehlo("client.test")
    c.starttls(context=relay_harness.tls_context())
    der = c.sock.getpeercert(binary_form=True)
    c.quit()
    cn = None
    decode = getattr(ssl._ssl, "_test_decode_cert", None)  # CPython's own PEM reader, for the subject
    if decode:
        path = os.path.join("/tmp", f"rebound-peer-{os.getpid()}.pem")
        with open(path, "w") as f:
            f.write(ssl.DER_cert_to_PEM_cert(der))
        subject = decode(path)["subject"]
        os.unlink(path)
        cn = dict(x[0] for x in subject).get("commonName")
    return der, cn


def der_of(cert_path):
    with open(cert_path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def send(server, c, to, body="Subject: t\r\n\r\nhello\r\n"):
    c.mail("alice@example.com")
    for rcpt in to:
        code, msg = c.rcpt(rcpt)
        assert code == 250, (rcpt, code, msg)
    code, msg = c.data(body)
    assert code == 250, (code, msg)


def test_ready_after_listeners():
    http_port = free_port()
    s = NotifiedServer(http_port=http_port)
    try:
        s.start()
        # The moment READY=1 arrives, both listeners answer at the first try.
        with socket.create_connection(("127.0.0.1", s.port), timeout=5) as c:
            assert c.recv(512).startswith(b"220"), "no greeting right after READY=1"
        socket.create_connection(("127.0.0.1", http_port), timeout=5).close()
        ready = s.notify.messages[s.ready_index][1]
        assert f"127.0.0.1:{s.port}" in ready.get("STATUS", ""), ready
        assert not any("WATCHDOG" in m for _, m in s.notify.messages), "watchdog pings without WATCHDOG_USEC"
        s.proc.send_signal(signal.SIGTERM)
        s.notify.wait_for("STOPPING", "1", after=s.ready_index)
        assert s.proc.wait(timeout=10) == 0
    finally:
        s.cleanup()
    print("ok: READY=1 once SMTP and HTTP accept, STATUS names the address, STOPPING=1 on SIGTERM")


def test_watchdog():
    s = NotifiedServer(extra_env={"WATCHDOG_USEC": "400000"}, pid_for_watchdog=True)
    try:
        s.start()
        t0 = time.monotonic()
        time.sleep(2.0)
        pings = [t for t, m in s.notify.messages if m.get("WATCHDOG") == "1" and t >= t0]
        # Every half interval (200 ms): about 10 in 2 s; a loaded machine may lose a few.
        assert len(pings) >= 6, f"{len(pings)} WATCHDOG=1 pings in 2 s with WATCHDOG_USEC=400000"
        gaps = sorted(b - a for a, b in zip(pings, pings[1:]))
        median = gaps[len(gaps) // 2]
        # Half the interval; a busy machine may delay one ping, not the rhythm.
        assert 0.15 <= median <= 0.3, f"pings {median * 1000:.0f} ms apart (median) for a 400 ms watchdog"
    finally:
        s.cleanup()
    # WATCHDOG_PID naming another process: the watchdog is not serve's.
    s = NotifiedServer(extra_env={"WATCHDOG_USEC": "400000", "WATCHDOG_PID": "1"})
    try:
        s.start()
        time.sleep(1.0)
        assert not any("WATCHDOG" in m for _, m in s.notify.messages), "pings for another pid's watchdog"
    finally:
        s.cleanup()
    print(f"ok: WATCHDOG=1 every {median * 1000:.0f} ms (median) for WATCHDOG_USEC=400000; none for another pid")


def test_reload():
    old_cert, old_key = make_cert(tempdir, "old.test")
    new_cert, new_key = make_cert(tempdir, "new.test")
    tls = f'tls_cert = "{old_cert}"\ntls_key = "{old_key}"\n'
    s = NotifiedServer(tls)
    try:
        s.add_account("alice", "pw")
        s.start()
        der, cn = presented_cert(s.port)
        assert der == der_of(old_cert) and cn == "old.test", cn

        # A session opened before the reload, mid-transaction, with the limits it started with.
        before = s.smtp(tls=False, user="alice", password="pw")
        before.mail("alice@example.com")
        for i in range(2):
            assert before.rcpt(f"r{i}@example.net")[0] == 250

        s.rewrite(f'tls_cert = "{new_cert}"\ntls_key = "{new_key}"\nmax_recipients = 2\nthreads = 3\n')
        ready = s.reload()
        assert "needs restart: server.threads" in ready.get("STATUS", ""), ready

        # The old session goes on as it started: a third recipient, then its message.
        assert before.rcpt("r2@example.net")[0] == 250, "the reload changed an open session's limits"
        code, msg = before.data("Subject: before the reload\r\n\r\nhello\r\n")
        assert code == 250, (code, msg)
        before.quit()

        # New sessions: the new certificate and the new limit.
        der, cn = presented_cert(s.port)
        assert der == der_of(new_cert), "STARTTLS after the reload still presents the old certificate"
        assert cn == "new.test", cn
        after = s.smtp(tls=False, user="alice", password="pw")
        after.mail("alice@example.com")
        for i in range(2):
            assert after.rcpt(f"r{i}@example.net")[0] == 250
        code, msg = after.rcpt("r2@example.net")
        assert code == 556, ("max_recipients = 2 not applied to a new session", code, msg)
        after.quit()

        reloads = [e for e in s.log_events() if e["event"] == "reload"]
        assert reloads and "server.tls_cert" in reloads[-1]["changed"], reloads
        assert "server.max_recipients" in reloads[-1]["changed"], reloads
        assert reloads[-1]["needs_restart"] == ["server.threads"], reloads

        # A broken config: nothing changes, the new certificate stays, READY says why.
        with open(s.config, "a") as f:
            f.write("this is = = not toml\n")
        ready = s.reload()
        assert "reload failed" in ready.get("STATUS", ""), ready
        s.rewrite(f'tls_cert = "{tempdir}/missing.crt"\ntls_key = "{tempdir}/missing.key"\n')
        ready = s.reload()
        assert "missing.crt" in ready.get("STATUS", ""), ready
        der, _ = presented_cert(s.port)
        assert der == der_of(new_cert), "a broken config on SIGHUP changed the certificate"
        c = s.smtp(tls=True, user="alice", password="pw")
        send(s, c, ["late@example.net"])
        c.quit()
        failed = [e for e in s.log_events() if e["event"] == "reload_failed"]
        assert len(failed) == 2 and "missing.crt" in failed[1]["error"], failed

        # logrotate: rename the file, SIGHUP, and the next lines go to a new file.
        s.rewrite(f'tls_cert = "{new_cert}"\ntls_key = "{new_key}"\n')
        os.rename(s.log, s.log + ".1")
        s.reload()
        rotated_size = os.path.getsize(s.log + ".1")
        c = s.smtp(tls=True, user="alice", password="pw")
        send(s, c, ["rotated@example.net"])
        c.quit()
        assert os.path.exists(s.log), "no new log file after the rename and SIGHUP"
        fresh = s.log_events()
        assert fresh[0]["event"] == "reload", fresh[:2]
        assert any(e["event"] == "auth" for e in fresh), "the session after the reopen is not in the new file"
        assert os.path.getsize(s.log + ".1") == rotated_size, "serve still writes to the renamed file"
        assert len(s.queue()) == 3, s.queue()
    finally:
        s.cleanup()
    print("ok: SIGHUP: RELOADING=1 (MONOTONIC_USEC) then READY=1; new cert and max_recipients for new sessions, "
          "the open session finished its message; threads needs restart; broken configs changed nothing; "
          "renamed log reopened")


def test_sighup_storm():
    s = NotifiedServer()
    try:
        s.add_account("alice", "pw")
        s.start()
        sent, errors = [], []
        stop = threading.Event()

        def client(n):
            try:
                while not stop.is_set():
                    c = s.smtp(tls=(n % 2 == 0), user="alice", password="pw")
                    for k in range(3):
                        send(s, c, [f"c{n}-{len(sent)}-{k}@example.net"])
                        sent.append(n)
                    c.quit()
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(f"client {n}: {e!r}")

        clients = [threading.Thread(target=client, args=(n,)) for n in range(4)]
        for t in clients:
            t.start()
        time.sleep(0.5)
        first = len(s.notify.messages)
        for _ in range(20):  # back to back: they fold into one or two reloads
            s.proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        for _ in range(20):  # spaced: one reload each, new sessions on each new generation
            s.proc.send_signal(signal.SIGHUP)
            time.sleep(0.05)
        # Reloads asked for while one waits fold into it; the last one ends READY.
        last_reload = first
        while True:
            try:
                last_reload = s.notify.wait_for("RELOADING", "1", after=last_reload + 1, timeout=3)
            except AssertionError:
                break
        s.notify.wait_for("READY", "1", after=last_reload)
        time.sleep(0.5)
        stop.set()
        for t in clients:
            t.join(timeout=60)
        assert not errors, errors
        assert s.alive(), "serve died in the SIGHUP storm"
        queued = len(s.queue())  # one recipient per message
        assert len(sent) > 0 and queued == len(sent), f"{len(sent)} messages answered 250, {queued} queued"
        reloads = sum(1 for _, m in s.notify.messages[first:] if m.get("RELOADING") == "1")
    finally:
        s.cleanup()
    assert reloads >= 10, f"only {reloads} reloads for 20 spaced SIGHUPs"
    print(f"ok: 20 SIGHUPs in a row, then 20 50 ms apart ({reloads} reloads), while 4 clients sent "
          f"{len(sent)} messages: none lost")


def main():
    global tempdir
    relay_harness.REBOUND = sys.argv[1]
    import tempfile
    tempdir = tempfile.mkdtemp(prefix="rebound-systemd-")
    try:
        test_ready_after_listeners()
        test_watchdog()
        test_reload()
        test_sighup_storm()
    finally:
        import shutil
        shutil.rmtree(tempdir, ignore_errors=True)


if __name__ == "__main__":
    main()
