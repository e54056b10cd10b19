"""server.log = "journal": each event of `rebound serve` is one journal entry
(MESSAGE, PRIORITY, SYSLOG_IDENTIFIER and REBOUND_* fields), sent the way
journald reads it (the native protocol on /run/systemd/journal/socket).

Without systemd there is no journald: when running as root and the socket is
absent, this test binds a datagram socket there, reads the entries as
journald would, and removes it afterwards. It first checks the fallback
(socket absent: one note on stderr, JSON Lines on stderr). Exits 77 (skip)
when not root or when a journal socket already exists (a real journald: its
entries are not ours to read).

Usage: journal_test.py path/to/rebound"""
import json
import os
import shutil
import signal
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "relay"))
import relay_harness  # noqa: E402
from relay_harness import Server  # noqa: E402

JOURNAL_DIR = "/run/systemd/journal"
JOURNAL_SOCKET = JOURNAL_DIR + "/socket"


def parse_native(data):
    """journald's native protocol: KEY=VALUE lines, or KEY\\n<u64 LE length><bytes>\\n for values with newlines."""
    fields, i = {}, 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            key, value = line.split(b"=", 1)
            i = nl + 1
        else:
            key = line
            (size,) = struct.unpack_from("<Q", data, nl + 1)
            value = data[nl + 9:nl + 9 + size]
            i = nl + 9 + size + 1
        fields[key.decode()] = value.decode()
    return fields


class JournalServer(Server):
    """relay_harness's server with server.log = "journal"."""

    def write_config(self, port):
        super().write_config(port)
        with open(self.config) as f:
            text = f.read()
        with open(self.config, "w") as f:
            f.write(text.replace(f'log = "{self.log}"', 'log = "journal"'))


def test_fallback():
    s = JournalServer()
    try:
        s.add_account("alice", "pw")
        s.start()
        c = s.smtp(tls=False, user="alice", password="pw")
        c.quit()
        time.sleep(0.3)
        s.stop()
        with open(s.stderr.name) as f:
            err = f.read()
        notes = [line for line in err.splitlines() if JOURNAL_SOCKET in line]
        assert len(notes) == 1, err
        events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
        assert any(e["event"] == "auth" for e in events), err
        assert not os.path.exists(os.path.join(os.getcwd(), "journal")), "server.log = journal opened a file"
    finally:
        s.cleanup()
    print("ok: no journal socket: one note on stderr, JSON Lines on stderr")


def test_journal():
    made_dir = not os.path.isdir(JOURNAL_DIR)
    os.makedirs(JOURNAL_DIR, exist_ok=True)
    journal = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    journal.bind(JOURNAL_SOCKET)
    journal.settimeout(0.2)
    s = JournalServer()
    try:
        s.add_account("alice", "pw")
        s.start()
        c = s.smtp(tls=False, user="alice", password="pw")
        c.mail("alice@example.com")
        c.rcpt("bob@example.net")
        c.data("Subject: t\r\n\r\nvia the journal\r\n")
        c.quit()
        time.sleep(0.3)
        s.proc.send_signal(signal.SIGTERM)
        s.proc.wait(timeout=10)
        entries = []
        while True:
            try:
                entries.append(parse_native(journal.recv(1 << 20)))
            except socket.timeout:
                break
        by_event = {}
        for e in entries:
            by_event.setdefault(e.get("REBOUND_EVENT"), []).append(e)
        for e in entries:
            assert e["SYSLOG_IDENTIFIER"] == "rebound", e
            assert e["PRIORITY"] in "01234567" and len(e["PRIORITY"]) == 1, e
            assert e["MESSAGE"].startswith(e["REBOUND_EVENT"]), e
            assert "REBOUND_TS" not in e, "the journal stamps entries itself"
        listening = by_event["listening"][0]
        assert listening["REBOUND_ADDRESS"] == f"127.0.0.1:{s.port}", listening
        assert listening["PRIORITY"] == "5", listening  # notice
        auth = by_event["auth"][0]
        assert auth["REBOUND_USER"] == "alice" and auth["REBOUND_RESULT"] == "success", auth
        assert "user=alice" in auth["MESSAGE"], auth
        assert auth["PRIORITY"] == "6", auth  # info
        assert "stop" in by_event, sorted(by_event)
        with open(s.stderr.name) as f:
            err = f.read()
        assert "{" not in err, "events went to stderr although the journal was there: " + err
    finally:
        s.cleanup()
        journal.close()
        os.unlink(JOURNAL_SOCKET)
        if made_dir:
            shutil.rmtree(JOURNAL_DIR, ignore_errors=True)
    print(f"ok: {len(entries)} journal entries with MESSAGE, PRIORITY and REBOUND_* fields "
          f"({', '.join(sorted(k for k in by_event if k))})")


def main():
    relay_harness.REBOUND = sys.argv[1]
    if os.geteuid() != 0:
        print("SKIP: binding the journal socket needs root")
        sys.exit(77)
    if os.path.exists(JOURNAL_SOCKET):
        print(f"SKIP: {JOURNAL_SOCKET} exists (a real journald): not ours to read")
        sys.exit(77)
    test_fallback()
    test_journal()


if __name__ == "__main__":
    main()
