"""Every return code of the document reached by a real dialogue with a real
`rebound serve` (Python smtplib and swaks over loopback, STARTTLS + AUTH),
and each reply classified back to its own category by the classifier.

usage: smtp_codes_test.py PATH/TO/rebound"""
import os
import shutil
import smtplib
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import relay_harness as h  # noqa: E402

MSG = b"From: a@example.com\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nHello.\r\n"
SERVER = None
REPLIES = {}  # reply line -> expected category, collected from the dialogues


def setUpModule():
    global SERVER
    SERVER = h.Server(extra_config="auth_plaintext_on_loopback = false\n")
    s = SERVER
    s.add_account("alice", "alice-pw", "example.com")
    s.add_account("bulk", "bulk-pw", "example.com")
    s.add_account("daily", "daily-pw", "example.com", "--daily-quota", "3")
    s.add_account("monthly", "monthly-pw", "example.com", "--monthly-quota", "1", "--timezone", "Asia/Shanghai")
    s.add_account("gone", "gone-pw", "example.com")
    s.cli("account", "disable", "gone")
    s.cli("suppression", "add", "--account", "bulk", "Bounced@Example.net", "--reason", "550 5.1.1 user unknown")
    s.start()


def tearDownModule():
    if SERVER:
        ok = SERVER.alive()
        SERVER.cleanup()
        assert ok, "the server died during the tests"


class Codes(unittest.TestCase):
    def test_250_send_mail_ok_only_after_commit(self):
        c = SERVER.smtp(user="alice", password="alice-pw")
        self.assertEqual(c.mail("a@example.com")[0], 250)
        self.assertEqual(c.rcpt("b@example.net")[0], 250)
        self.assertEqual(c.rcpt("c@example.org")[0], 250)
        code, msg = c.data(MSG)
        c.quit()
        self.assertEqual(h.reply_text(code, msg), "250 send mail ok")
        REPLIES["250 send mail ok"] = "delivered"
        # The message is in the queue, with both recipients, byte for byte.
        queued = [m for m in SERVER.queue() if m["account"] == "alice"]
        self.assertTrue(queued)
        m = queued[-1]
        self.assertEqual(sorted(r["address"] for r in m["recipients"]), ["b@example.net", "c@example.org"])
        self.assertTrue(all(r["state"] == "queued" for r in m["recipients"]))
        body = SERVER.cli("queue", "show", str(m["id"]), "--body").stdout
        self.assertEqual(body.replace("\r\n", "\n"), MSG.decode().replace("\r\n", "\n"))
        events = [e for e in SERVER.log_events() if e.get("event") == "queued" and e.get("message_id") == m["id"]]
        self.assertEqual(len(events), 1)

    def test_535_authentication_failure_with_delay(self):
        c = SERVER.smtp()
        t0 = time.time()
        with self.assertRaises(smtplib.SMTPAuthenticationError) as e:
            c.login("alice", "wrong")
        self.assertGreaterEqual(time.time() - t0, 0.25)
        c.close()
        self.assertEqual(h.reply_text(e.exception.smtp_code, e.exception.smtp_error), "535 Authentication failure")
        REPLIES["535 Authentication failure"] = "auth_failed"
        # An unknown user gets the same answer.
        c = SERVER.smtp()
        with self.assertRaises(smtplib.SMTPAuthenticationError):
            c.login("nobody", "x")
        c.close()

    def test_auth_refused_before_starttls(self):
        c = SERVER.smtp(tls=False)
        self.assertNotIn("auth", c.esmtp_features)
        code, msg = c.docmd("AUTH", "PLAIN AGFsaWNlAGFsaWNlLXB3")
        self.assertEqual(code, 538)
        code, _ = c.mail("a@example.com")
        self.assertEqual(code, 530)  # not authenticated
        c.close()

    def test_556_too_many_recipients(self):
        c = SERVER.smtp(user="bulk", password="bulk-pw")
        c.mail("a@example.com")
        for i in range(100):
            self.assertEqual(c.rcpt(f"r{i}@example.net")[0], 250)
        code, msg = c.rcpt("r100@example.net")
        self.assertEqual(h.reply_text(code, msg), "556 The number of RCPTs is over the size limit")
        REPLIES["556 The number of RCPTs is over the size limit"] = "too_many_recipients"
        c.rset()
        c.quit()

    def test_557_size_declared_and_actual(self):
        c = SERVER.smtp(user="bulk", password="bulk-pw")
        self.assertEqual(int(c.esmtp_features["size"]), 15 * 1024 * 1024)
        code, msg = c.mail("a@example.com", ["SIZE=20000000"])
        self.assertEqual(h.reply_text(code, msg), "557 The length of DATA content has reached the maximum threshold")
        REPLIES[h.reply_text(code, msg)] = "message_too_large"
        # Not declared: counted while reading DATA, nothing queued.
        before = len(SERVER.queue())
        self.assertEqual(c.mail("a@example.com")[0], 250)
        self.assertEqual(c.rcpt("big@example.net")[0], 250)
        line = b"x" * 998 + b"\r\n"
        big = b"Subject: big\r\n\r\n" + line * (16 * 1024 * 1024 // len(line))
        code, msg = c.data(big)
        self.assertEqual(h.reply_text(code, msg), "557 The length of DATA content has reached the maximum threshold")
        # The session goes on.
        self.assertEqual(c.noop()[0], 250)
        c.quit()
        self.assertEqual(len(SERVER.queue()), before)

    def test_559_invalid_rcptto(self):
        c = SERVER.smtp(user="bulk", password="bulk-pw")
        c.mail("a@example.com")
        for bad in ["no-at-sign", "two@@example.net", "a..b@example.net", "a@-bad-.example", "user@", "@example.net"]:
            code, msg = c.docmd("RCPT", f"TO:<{bad}>")
            self.assertEqual(h.reply_text(code, msg), "559 Invalid rcptto", bad)
        code, msg = c.docmd("RCPT", "TO:garbage")
        self.assertEqual(h.reply_text(code, msg), "559 Invalid rcptto")
        REPLIES["559 Invalid rcptto"] = "invalid_address"
        # Quoted local parts and address literals are valid.
        self.assertEqual(c.docmd("RCPT", 'TO:<"john doe"@example.net>')[0], 250)
        self.assertEqual(c.docmd("RCPT", "TO:<x@[192.0.2.1]>")[0], 250)
        c.quit()

    def test_smtputf8_addresses_only_when_announced(self):
        c = SERVER.smtp(user="bulk", password="bulk-pw")
        c.command_encoding = "utf-8"
        self.assertIn("smtputf8", c.esmtp_features)
        c.mail("a@example.com")
        code, msg = c.docmd("RCPT", "TO:<用户@例子.测试>")
        self.assertEqual(code, 559)
        c.rset()
        c.command_encoding = "utf-8"  # rset() puts smtplib back to ASCII
        self.assertEqual(c.docmd("MAIL", "FROM:<a@example.com> SMTPUTF8")[0], 250)
        self.assertEqual(c.docmd("RCPT", "TO:<用户@例子.测试>")[0], 250)
        c.quit()

    def test_552_daily_quota_not_enough_then_exceeded(self):
        c = SERVER.smtp(user="daily", password="daily-pw")
        c.mail("a@example.com")
        c.rcpt("1@example.net")
        c.rcpt("2@example.net")
        self.assertEqual(c.data(MSG)[0], 250)  # 2 of 3 used
        c.mail("a@example.com")
        self.assertEqual(c.rcpt("3@example.net")[0], 250)
        code, msg = c.rcpt("4@example.net")
        self.assertEqual(h.reply_text(code, msg), "552 Not enough sending quota")
        REPLIES[h.reply_text(code, msg)] = "sending_quota_exceeded"
        self.assertEqual(c.data(MSG)[0], 250)  # 3 of 3 used
        c.mail("a@example.com")
        code, msg = c.rcpt("5@example.net")
        self.assertEqual(h.reply_text(code, msg), "552 Daily sending quota exceeded")
        REPLIES[h.reply_text(code, msg)] = "sending_quota_exceeded"
        c.quit()
        show = SERVER.cli("account", "show", "daily").stdout
        self.assertIn('"used_today": 3', show)

    def test_552_monthly_quota(self):
        c = SERVER.smtp(user="monthly", password="monthly-pw")
        c.mail("a@example.com")
        c.rcpt("1@example.net")
        self.assertEqual(c.data(MSG)[0], 250)
        c.mail("a@example.com")
        code, msg = c.rcpt("2@example.net")
        self.assertEqual(h.reply_text(code, msg), "552 Monthly sending quota exceeded")
        REPLIES[h.reply_text(code, msg)] = "sending_quota_exceeded"
        c.quit()

    def test_551_disabled_account(self):
        c = SERVER.smtp(user="gone", password="gone-pw")
        code, msg = c.mail("a@example.com")
        self.assertEqual(h.reply_text(code, msg), "551 Main account unavailable")
        REPLIES[h.reply_text(code, msg)] = "sender_account_unavailable"
        c.quit()
        SERVER.cli("account", "enable", "gone")
        c = SERVER.smtp(user="gone", password="gone-pw")
        self.assertEqual(c.mail("a@example.com")[0], 250)
        c.quit()
        SERVER.cli("account", "disable", "gone")

    def test_suppressed_recipient(self):
        c = SERVER.smtp(user="bulk", password="bulk-pw")
        c.mail("a@example.com")
        code, msg = c.rcpt("bounced@EXAMPLE.NET")
        self.assertEqual(code, 550)
        self.assertIn("suppression list", h.reply_text(code, msg))
        REPLIES[h.reply_text(code, msg)] = "recipient_not_found"
        # Another account's list does not apply.
        c.rset()
        c.quit()
        c = SERVER.smtp(user="alice", password="alice-pw")
        c.mail("a@example.com")
        self.assertEqual(c.rcpt("bounced@example.net")[0], 250)
        c.quit()

    def test_sender_domain_outside_the_account(self):
        c = SERVER.smtp(user="alice", password="alice-pw")
        code, msg = c.mail("a@elsewhere.test")
        self.assertEqual(code, 553)
        c.quit()

    def test_sequence_and_disabled_commands(self):
        c = SERVER.smtp(user="alice", password="alice-pw")
        self.assertEqual(c.docmd("VRFY", "alice")[0], 502)
        self.assertEqual(c.docmd("RCPT", "TO:<b@example.net>")[0], 503)
        self.assertEqual(c.docmd("DATA")[0], 503)
        self.assertEqual(c.docmd("FOO")[0], 500)
        c.quit()

    def test_pipelining(self):
        c = SERVER.smtp(user="alice", password="alice-pw")
        self.assertIn("pipelining", c.esmtp_features)
        # One write: the whole envelope; replies come back in order.
        c.send(b"MAIL FROM:<a@example.com>\r\nRCPT TO:<p1@example.net>\r\nRCPT TO:<bad>\r\n"
               b"RCPT TO:<p2@example.net>\r\nDATA\r\n")
        codes = [c.getreply()[0] for _ in range(5)]
        self.assertEqual(codes, [250, 250, 559, 250, 354])
        c.send(MSG + b".\r\n")
        code, msg = c.getreply()
        self.assertEqual(h.reply_text(code, msg), "250 send mail ok")
        c.quit()

    def test_swaks_starttls_auth_login(self):
        if not shutil.which("swaks"):
            self.skipTest("swaks is not installed")
        r = subprocess.run(["swaks", "--server", f"127.0.0.1:{SERVER.port}", "--from", "a@example.com",
                            "--to", "s@example.net", "-tls", "--auth", "LOGIN", "--auth-user", "alice",
                            "--auth-password", "alice-pw", "--helo", "swaks.test"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("<~  250 send mail ok", r.stdout)
        r = subprocess.run(["swaks", "--server", f"127.0.0.1:{SERVER.port}", "--from", "a@example.com",
                            "--to", "s@example.net", "-tls", "--auth", "PLAIN", "--auth-user", "alice",
                            "--auth-password", "nope"], capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("<~* 535 Authentication failure", r.stdout + r.stderr)

    def test_zz_every_reply_classifies_to_its_category(self):
        # Runs last (alphabetical order): the replies the other tests saw.
        expected = {
            "250 send mail ok", "535 Authentication failure", "556 The number of RCPTs is over the size limit",
            "557 The length of DATA content has reached the maximum threshold", "559 Invalid rcptto",
            "552 Not enough sending quota", "552 Daily sending quota exceeded", "552 Monthly sending quota exceeded",
            "551 Main account unavailable",
        }
        self.assertTrue(expected <= set(REPLIES), f"dialogues missing: {expected - set(REPLIES)}")
        replies = sorted(REPLIES)
        for reply, verdict in zip(replies, h.classify(replies)):
            self.assertEqual(verdict["category"], REPLIES[reply], reply)


if __name__ == "__main__":
    h.REBOUND = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
