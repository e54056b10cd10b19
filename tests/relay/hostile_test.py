"""Hostile clients against a real `rebound serve`: huge lines, DATA that never
ends, disconnects mid-DATA, pipelined garbage, 1,000 connections at once,
slowloris. The server must stay up, serve a well-behaved client (from
another loopback address) meanwhile, and never queue half a message.

usage: hostile_test.py PATH/TO/rebound"""
import base64
import os
import resource
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import relay_harness as h  # noqa: E402

SERVER = None
GOOD = {"sent": 0}
MSG = b"Subject: good\r\n\r\nA well-behaved message.\r\n"


def setUpModule():
    global SERVER
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    SERVER = h.Server(extra_config=(
        "command_timeout = 2\n"
        "data_timeout = 3\n"
        "max_sessions_per_ip = 50\n"
        "max_errors = 5\n"))
    SERVER.add_account("good", "good-pw")
    SERVER.add_account("evil", "evil-pw")
    SERVER.start()


def tearDownModule():
    if SERVER:
        ok = SERVER.alive()
        SERVER.cleanup()
        assert ok, "the server died"


def good_client(test):
    """A normal submission from 127.0.0.2 (not sharing the attackers' per-IP cap)."""
    t0 = time.time()
    c = SERVER.smtp(user="good", password="good-pw", source="127.0.0.2", timeout=20)
    test.assertEqual(c.mail("g@example.com")[0], 250)
    rcpt = c.rcpt("r@example.net")
    test.assertEqual(rcpt[0], 250, rcpt)
    code, msg = c.data(MSG)
    c.quit()
    test.assertEqual(h.reply_text(code, msg), "250 send mail ok")
    GOOD["sent"] += 1
    return time.time() - t0


def raw(timeout=10):
    s = socket.create_connection(("127.0.0.1", SERVER.port), timeout=timeout)
    s.recv(1000)  # greeting
    return s


def read_all(s, limit=1 << 20):
    data = b""
    try:
        while len(data) < limit:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    return data


def start_transaction(s):
    auth = base64.b64encode(b"\0evil\0evil-pw")
    s.sendall(b"EHLO evil.test\r\nAUTH PLAIN " + auth + b"\r\nMAIL FROM:<e@example.com>\r\n"
              b"RCPT TO:<victim@example.net>\r\nDATA\r\n")
    got = b""
    while b"354" not in got:
        chunk = s.recv(65536)
        if not chunk:
            raise AssertionError("closed before 354: %r" % got)
        got += chunk
    return got


def evil_messages():
    return [m for m in SERVER.queue() if m["account"] == "evil"]


class Hostile(unittest.TestCase):
    def test_ten_megabyte_command_line(self):
        s = raw()
        try:
            s.sendall(b"A" * (10 * 1024 * 1024))
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.assertIn(b"500 5.5.2 Line too long", read_all(s))
        s.close()
        good_client(self)

    def test_ten_megabyte_line_inside_data(self):
        s = raw()
        start_transaction(s)
        try:
            s.sendall(b"B" * (10 * 1024 * 1024) + b"\r\n.\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.assertIn(b"500 5.5.2 Line too long", read_all(s))
        s.close()
        good_client(self)
        self.assertEqual(evil_messages(), [])

    def test_data_that_never_ends(self):
        s = raw()
        start_transaction(s)
        stop = time.time() + 6
        closed = False
        while time.time() < stop:
            try:
                s.sendall(b"line of a message that never ends\r\n" * 100)
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            time.sleep(0.05)
        rest = read_all(s)
        self.assertTrue(closed or b"421" in rest, rest[-200:])
        s.close()
        good_client(self)
        self.assertEqual(evil_messages(), [])

    def test_disconnect_mid_data(self):
        for _ in range(5):
            s = raw()
            start_transaction(s)
            s.sendall(b"Subject: half\r\n\r\nthe first half of a message\r\n")
            s.close()
        good_client(self)
        time.sleep(0.3)
        self.assertEqual(evil_messages(), [])

    def test_pipelined_garbage(self):
        s = raw()
        garbage = bytes(range(256)) * 40 + b"\r\n".join([b"\x00\xff MAIL FROM:<<<>>>", b"RCPT TO:", b"DATA DATA",
                                                         b"\r\r\n", b"EHLO"] * 50)
        try:
            s.sendall(garbage)
        except (BrokenPipeError, ConnectionResetError):
            pass
        out = read_all(s)
        self.assertIn(b"421 4.7.0 Too many errors", out)
        s.close()
        good_client(self)

    def test_thousand_connections_at_once(self):
        socks, greetings = [], {"220": 0, "421": 0, "other": 0}
        lock = threading.Lock()

        def connect():
            try:
                s = socket.create_connection(("127.0.0.1", SERVER.port), timeout=15)
            except OSError:
                with lock:
                    greetings["other"] += 1
                return
            with lock:
                socks.append(s)
            try:
                g = s.recv(100)
            except OSError:
                g = b""
            with lock:
                greetings[g[:3].decode("ascii", "replace") if g[:3] in (b"220", b"421") else "other"] += 1

        threads = [threading.Thread(target=connect) for _ in range(1000)]
        for t in threads:
            t.start()
        # While they are all connected, a good client still gets through.
        took = good_client(self)
        for t in threads:
            t.join()
        self.assertLess(took, 10)
        self.assertEqual(greetings["220"], 50, greetings)  # max_sessions_per_ip
        self.assertEqual(greetings["421"] + greetings["other"], 950, greetings)
        self.assertGreater(greetings["421"], 800, greetings)
        for s in socks:
            s.close()
        time.sleep(0.5)
        good_client(self)

    def test_slowloris(self):
        socks = [raw() for _ in range(40)]
        t_end = time.time() + 4
        while time.time() < t_end:
            for s in socks:
                try:
                    s.send(b"M")  # a command that never ends, one byte at a time
                except OSError:
                    pass
            time.sleep(0.3)
        closed = 0
        for s in socks:
            s.settimeout(2)
            out = read_all(s)
            if b"421 4.4.2" in out:
                closed += 1
            s.close()
        self.assertEqual(closed, 40)
        good_client(self)

    def test_zz_only_good_messages_queued(self):
        queued = SERVER.queue()
        self.assertEqual([m for m in queued if m["account"] != "good"], [])
        self.assertEqual(len(queued), GOOD["sent"])
        for m in queued:
            body = SERVER.cli("queue", "show", str(m["id"]), "--body").stdout
            self.assertEqual(body.replace("\r\n", "\n"), MSG.decode().replace("\r\n", "\n"))


if __name__ == "__main__":
    h.REBOUND = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
