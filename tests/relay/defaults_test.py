"""`rebound serve` with no configuration at all: listens on 127.0.0.1:2525,
keeps its data in ./rebound-data, makes a self-signed certificate on first
start and offers STARTTLS with it; the config commands print and check keys.

usage: defaults_test.py PATH/TO/rebound"""
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import relay_harness as h  # noqa: E402


def read(path):
    with open(path) as f:
        return f.read()


def port_busy(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


class Defaults(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="rebound-defaults-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_serve_without_arguments(self):
        if port_busy(2525):
            self.skipTest("127.0.0.1:2525 is in use")
        err = open(os.path.join(self.dir, "stderr"), "w")
        p = subprocess.Popen([h.REBOUND, "serve"], cwd=self.dir, stdout=subprocess.DEVNULL, stderr=err)
        try:
            deadline = time.time() + 20
            while not port_busy(2525):
                if p.poll() is not None:
                    self.fail("rebound serve exited: " + read(err.name))
                self.assertLess(time.time(), deadline)
                time.sleep(0.05)
            data = os.path.join(self.dir, "rebound-data")
            for f in ["queue.db", "tls-cert.pem", "tls-key.pem"]:
                self.assertTrue(os.path.exists(os.path.join(data, f)), f)
            self.assertEqual(os.stat(os.path.join(data, "tls-key.pem")).st_mode & 0o777, 0o600)
            c = smtplib.SMTP("127.0.0.1", 2525, timeout=10)
            c.ehlo("t.test")
            self.assertIn("starttls", c.esmtp_features)
            self.assertEqual(int(c.esmtp_features["size"]), 15728640)
            c.starttls(context=h.tls_context())
            c.ehlo("t.test")
            self.assertIn("auth", c.esmtp_features)
            c.quit()
        finally:
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(timeout=10), 0)
            err.close()
        self.assertIn("127.0.0.1:2525", read(err.name))

    def test_config_defaults_and_check(self):
        out = subprocess.run([h.REBOUND, "config", "defaults"], capture_output=True, text=True, check=True).stdout
        self.assertIn('listen = "127.0.0.1:2525"', out)
        self.assertIn("max_recipients = 100", out)
        # The printed defaults are themselves a valid configuration file.
        path = os.path.join(self.dir, "defaults.toml")
        with open(path, "w") as f:
            f.write(out)
        subprocess.run([h.REBOUND, "config", "check", path], capture_output=True, check=True)
        with open(path, "w") as f:
            f.write("[server]\nmax_recipients = \"many\"\nlisten_on = 1\n")
        r = subprocess.run([h.REBOUND, "config", "check", path], capture_output=True, text=True)
        self.assertEqual(r.returncode, 3)
        self.assertIn(f"{path}:2: server.max_recipients: expected an integer", r.stderr)
        self.assertIn(f"{path}:3: unknown key 'server.listen_on'", r.stderr)


if __name__ == "__main__":
    h.REBOUND = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
