"""kill -9 during a burst of 1,000 submissions, then restart: every message
that received "250 send mail ok" is in the queue, whole; none whose DATA was
not completed is. A message whose final "." was sent but whose reply never
arrived may be either way (the commit and the reply cannot be atomic); the
test counts those separately.

usage: crash_test.py PATH/TO/rebound"""
import base64
import os
import socket
import sqlite3
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import relay_harness as h  # noqa: E402

CONNECTIONS = 20
PER_CONNECTION = 50
KILL_AFTER = 400


def body_for(token):
    return (f"Subject: burst {token}\r\nX-Token: {token}\r\n\r\n" + f"line of {token}\r\n" * 60).encode()


class Client:
    """Raw SMTP so the test knows exactly which step each message reached."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""
        self.reply()
        auth = base64.b64encode(b"\0burst\0burst-pw").decode()
        for cmd in ["EHLO crash.test", "AUTH PLAIN " + auth]:
            self.cmd(cmd)

    def reply(self):
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.s.recv(65536)
                if not chunk:
                    raise ConnectionError("closed")
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            if line[3:4] != b"-":
                return line.decode()

    def cmd(self, c):
        self.s.sendall(c.encode() + b"\r\n")
        return self.reply()


class Crash(unittest.TestCase):
    def test_kill9_during_burst(self):
        server = h.Server()
        try:
            self.run_burst(server)
        finally:
            server.cleanup()

    def run_burst(self, server):
        server.add_account("burst", "burst-pw")
        server.start()
        acked, ambiguous, not_completed = set(), set(), set()
        lock = threading.Lock()

        def worker(n):
            try:
                c = Client(server.port)
            except OSError:
                return
            try:
                run(c, n)
            finally:
                c.s.close()

        def run(c, n):
            for i in range(PER_CONNECTION):
                token = f"c{n}m{i}"
                stage = "envelope"
                try:
                    assert c.cmd("MAIL FROM:<b@example.com>").startswith("250")
                    assert c.cmd("RCPT TO:<r@example.net>").startswith("250")
                    assert c.cmd("DATA").startswith("354")
                    c.s.sendall(body_for(token))
                    stage = "sent"
                    c.s.sendall(b".\r\n")
                    stage = "dot"
                    r = c.reply()
                    with lock:
                        (acked if r == "250 send mail ok" else not_completed).add(token)
                except (OSError, ConnectionError, AssertionError):
                    with lock:
                        (ambiguous if stage == "dot" else not_completed).add(token)
                    return

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(CONNECTIONS)]
        for t in threads:
            t.start()
        deadline = time.time() + 120
        while time.time() < deadline:
            with lock:
                if len(acked) >= KILL_AFTER:
                    break
            time.sleep(0.005)
        server.kill9()
        for t in threads:
            t.join()
        self.assertGreaterEqual(len(acked), KILL_AFTER)
        self.assertLess(len(acked), CONNECTIONS * PER_CONNECTION, "the kill came after the burst ended")

        # Restart on the same data directory; the queue opens and serves again.
        server.start()
        db = sqlite3.connect(os.path.join(server.data, "queue.db"))
        rows = db.execute("SELECT m.body, count(r.id) FROM messages m JOIN recipients r ON r.message_id = m.id "
                          "GROUP BY m.id").fetchall()
        db.close()
        queued = {}
        for body, nrcpt in rows:
            body = bytes(body)
            token = body.split(b"X-Token: ", 1)[1].split(b"\r\n", 1)[0].decode()
            self.assertEqual(body, body_for(token), f"{token} is not whole")
            self.assertEqual(nrcpt, 1)
            queued[token] = True
        missing = acked - set(queued)
        self.assertEqual(missing, set(), f"{len(missing)} acknowledged messages lost")
        extra = set(queued) - acked - ambiguous
        self.assertEqual(extra, set(), f"{len(extra)} messages queued that never completed DATA")
        print(f"\nacked {len(acked)}, queued {len(queued)}, reply lost in the kill {len(ambiguous)} "
              f"(of which queued {len(set(queued) & ambiguous)}), never completed {len(not_completed)}")
        # And it accepts mail again.
        c = server.smtp(user="burst", password="burst-pw")
        c.mail("b@example.com")
        c.rcpt("r@example.net")
        self.assertEqual(h.reply_text(*c.data(b"Subject: after\r\n\r\nback\r\n")), "250 send mail ok")
        c.quit()


if __name__ == "__main__":
    h.REBOUND = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
