#!/usr/bin/python3
"""The return path end to end, through `rebound serve`.

A real Postfix on loopback stands between the relay and the mailboxes: it
accepts what the relay delivers for example.net, hands it to a scripted
receiver, and when that receiver refuses a recipient Postfix writes its own
asynchronous bounce to the envelope sender, the relay's VERP return path,
sent through its relayhost to the relay's inbound listener. An ARF complaint
is relayed to the return path by the same Postfix. swaks sends an
auto-reply; Python's socket and smtplib play the hostile clients.

Checked: every delivery's MAIL FROM is a return path; the async bounce makes
the delivered recipient bounced, suppressed (source bounce) and an event;
the complaint a complaint suppression and an event; the auto-reply an event
only; junk is kept under data/inbound/unreadable and changes nothing; a
forged MAC, another address and ids never sent are refused at RCPT;
oversized mail gets 552; garbage, a huge line, a silent client, a client gone
mid-DATA and a flood from one address get their replies and leave the server
serving.

Needs root (Postfix's master runs as root), Postfix, swaks and aiosmtpd:
exits 77 (skipped) when one is missing."""
import hashlib
import hmac
import json
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests"))
from loopback import free_port, wait_port  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
REBOUND = sys.argv[1] if len(sys.argv) > 1 else "rebound"
RP_DOMAIN = "bounce.relay.test"


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def wait_for(what, check, limit=60.0):
    end = time.time() + limit
    while time.time() < end:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


class Postfix:
    """A private Postfix instance (as bench/lib_postfix.sh lays it out):
    listens on 127.0.0.1:port, sends example.net to the receiver and
    everything else (the bounces) to the relay's inbound listener."""

    def __init__(self, root, port, receiver_port, inbound_port):
        self.dir = os.path.join(root, "postfix")
        conf, queue, data = (os.path.join(self.dir, d) for d in ("conf", "queue", "data"))
        for d in (conf, queue, data):
            os.makedirs(d)
        with open("/etc/postfix/master.cf") as f:
            master = f.read().splitlines()
        out = []
        for line in master:
            if line.startswith("smtp      inet"):
                line = f"127.0.0.1:{port} inet n - n - - smtpd"
            else:
                parts = line.split()
                # chroot off: the private queue is not a chroot jail
                if len(parts) >= 8 and parts[1] in ("unix", "inet", "fifo", "pass") and parts[4] == "y":
                    parts[4] = "n"
                    line = " ".join(parts)
            out.append(line)
        with open(os.path.join(conf, "master.cf"), "w") as f:
            f.write("\n".join(out) + "\n")
        with open(os.path.join(conf, "main.cf"), "w") as f:
            f.write(f"""compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.postfix.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relay_domains = example.net
transport_maps = inline:{{ example.net=smtp:[127.0.0.1]:{receiver_port} }}
relayhost = [127.0.0.1]:{inbound_port}
smtp_tls_security_level = none
smtpd_tls_security_level = none
# A deferral (a busy loopback) is retried within seconds, not minutes.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
maillog_file_prefixes = {self.dir}
maillog_file = {self.dir}/maillog
""")
        for d in ("incoming", "active", "deferred", "bounce", "defer", "flush", "hold", "private", "saved", "trace",
                  "corrupt"):
            subprocess.run(["install", "-d", "-o", "postfix", "-m", "700", os.path.join(queue, d)], check=True)
        subprocess.run(["install", "-d", "-o", "postfix", "-g", "postdrop", "-m", "730", os.path.join(queue, "maildrop")], check=True)
        subprocess.run(["install", "-d", "-o", "postfix", "-g", "postdrop", "-m", "710", os.path.join(queue, "public")], check=True)
        subprocess.run(["install", "-d", "-o", "root", "-m", "755", os.path.join(queue, "pid")], check=True)
        subprocess.run(["chown", "postfix", data], check=True)
        subprocess.run(["chown", "postfix", self.dir], check=True)
        subprocess.run(["/usr/lib/postfix/sbin/master", "-c", conf, "-w"], check=True)
        assert wait_port(port), "postfix did not start"
        self.port = port

    def maillog(self):
        try:
            with open(os.path.join(self.dir, "maillog"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        pid_file = os.path.join(self.dir, "queue", "pid", "master.pid")
        try:
            with open(pid_file) as f:
                os.kill(int(f.read().strip()), signal.SIGTERM)
            time.sleep(1)
        except (OSError, ValueError):
            pass


class Relay:
    def __init__(self, root, routes_port, inbound_port):
        self.dir = root
        self.data = os.path.join(root, "data")
        self.log = os.path.join(root, "serve.jsonl")
        self.config = os.path.join(root, "rebound.toml")
        self.port = free_port()
        self.inbound_port = inbound_port
        with open(self.config, "w") as f:
            f.write(f"""[server]
listen = "127.0.0.1:{self.port}"
data_dir = "{self.data}"
hostname = "relay.test"
log = "{self.log}"
loopback_account = "alice"
command_timeout = 3

[delivery]
tls = "off"
first_retry = 1

[routes]
"example.net" = "127.0.0.1:{routes_port}"

[inbound]
listen = "127.0.0.1:{inbound_port}"
return_path_domain = "{RP_DOMAIN}"
max_message_size = 200000
rate_per_minute = 10
""")
        self.cli("account", "add", "alice", "--domain", "example.com", input="s3cret-password\n")
        self.stderr = open(os.path.join(root, "serve.stderr"), "w")
        self.proc = subprocess.Popen([REBOUND, "serve", "--config", self.config], stdout=subprocess.DEVNULL,
                                     stderr=self.stderr)
        assert wait_port(self.port) and wait_port(inbound_port), "rebound serve did not start: " + self.stderr_text()

    def stderr_text(self):
        with open(self.stderr.name, errors="replace") as f:
            return f.read()

    def cli(self, *args, input=None):
        r = subprocess.run([REBOUND, *args, "--config", self.config], input=input, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, f"rebound {' '.join(args)}: {r.stderr}"
        return r.stdout

    def jsonl(self, *args):
        return [json.loads(l) for l in self.cli(*args, "--format", "json").splitlines() if l.strip()]

    def states(self):
        out = {}
        for message in self.jsonl("queue", "list"):
            for r in message["recipients"]:
                out[r["address"]] = r["state"]
        return out

    def events(self, recipient):
        return [e for e in self.jsonl("events") if e["recipient"] == recipient]

    def suppressions(self):
        return {s["address"]: s for s in self.jsonl("suppression", "list")}

    def log_lines(self):
        with open(self.log) as f:
            return [json.loads(l) for l in f if l.strip()]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()


def smtp_reply(sock_file):
    """One (possibly multi-line) reply: its last line."""
    while True:
        line = sock_file.readline()
        if not line:
            return ""
        line = line.decode("utf-8", "replace").rstrip("\r\n")
        if len(line) < 4 or line[3] != "-":
            return line


def raw_session(port, source="127.0.0.3"):
    s = socket.create_connection(("127.0.0.1", port), timeout=15, source_address=(source, 0))
    f = s.makefile("rb")
    greeting = smtp_reply(f)
    assert greeting.startswith("220 "), greeting
    return s, f


def say(s, f, line):
    s.sendall(line if isinstance(line, bytes) else (line + "\r\n").encode())
    return smtp_reply(f)


def transaction(port, rcpt, body, source="127.0.0.3", mail_from="MAILER-DAEMON@mx.example.org"):
    """EHLO, MAIL, RCPT, DATA: the last reply (or the first refusal)."""
    c = smtplib.SMTP("127.0.0.1", port, timeout=20, source_address=(source, 0))
    try:
        c.ehlo("mx.example.org")
        code, msg = c.mail(mail_from)
        if code != 250:
            return f"{code} {msg.decode()}"
        code, msg = c.rcpt(rcpt)
        if code != 250:
            return f"{code} {msg.decode()}"
        code, msg = c.data(body)
        return f"{code} {msg.decode()}"
    finally:
        try:
            c.quit()
        except (smtplib.SMTPException, OSError):
            pass


def arf(rcpt, verp):
    return (f"From: fbl@isp.example\r\nTo: {verp}\r\nSubject: complaint about a message\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=feedback-report; boundary=\"fb\"\r\n\r\n"
            "--fb\r\nContent-Type: text/plain\r\n\r\nThis is an email abuse report.\r\n"
            "--fb\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: FBL/1.0\r\n"
            f"Version: 1\r\nOriginal-Rcpt-To: {rcpt}\r\n"
            f"--fb\r\nContent-Type: message/rfc822\r\n\r\nFrom: me@example.com\r\nTo: {rcpt}\r\nSubject: news\r\n\r\n"
            "hello\r\n--fb--\r\n")


def main():
    if os.geteuid() != 0:
        skip("needs root to run a private Postfix")
    for tool in ("/usr/lib/postfix/sbin/master", "/usr/bin/swaks"):
        if not os.path.exists(tool):
            skip(tool + " is not installed")
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        skip("python3-aiosmtpd is not installed")

    root = tempfile.mkdtemp(prefix="rebound-inbound-")
    os.chmod(root, 0o755)
    receiver_port, postfix_port, inbound_port = free_port(), free_port(), free_port()
    receiver = subprocess.Popen(["/usr/bin/python3", os.path.join(SOURCE, "tests", "delivery", "smtp_server.py"),
                                 "--port", str(receiver_port), "--outdir", os.path.join(root, "received")],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    postfix = relay = None
    ok = False
    try:
        assert receiver.stdout.readline().strip() == "ready"
        relay = Relay(root, postfix_port, inbound_port)
        postfix = Postfix(root, postfix_port, receiver_port, inbound_port)

        # 1. Submit one message to four recipients; the relay delivers each to
        # Postfix in its own transaction with its own return path.
        rcpts = ["unknown@example.net", "carol@example.net", "dave@example.net", "erin@example.net"]
        c = smtplib.SMTP("127.0.0.1", relay.port, timeout=20)
        c.ehlo("client.test")
        c.sendmail("me@example.com", rcpts,
                   "From: me@example.com\r\nTo: list@example.net\r\nSubject: news\r\n"
                   "Message-ID: <n1@example.com>\r\n\r\nhello\r\n")
        c.quit()
        wait_for("every recipient delivered to Postfix",
                 lambda: (lambda s: len(s) == 4 and all(v in ("delivered", "bounced") for v in s.values()))(relay.states()))
        received = []
        wait_for("the receiver to get carol, dave and erin",
                 lambda: len(os.listdir(os.path.join(root, "received"))) >= 3 if os.path.isdir(os.path.join(root, "received")) else False)
        for name in os.listdir(os.path.join(root, "received")):
            with open(os.path.join(root, "received", name)) as f:
                received.append(json.load(f))
        verp = {}
        for m in received:
            assert len(m["rcpt_tos"]) == 1, m["rcpt_tos"]
            verp[m["rcpt_tos"][0]] = m["mail_from"]
        for r in ("carol@example.net", "dave@example.net", "erin@example.net"):
            assert verp.get(r, "").startswith("b-") and verp[r].endswith("@" + RP_DOMAIN), (r, verp)
        print("return paths:", verp)

        # 2. Postfix's own asynchronous bounce for unknown@ (refused by the
        # receiver after Postfix had accepted it from the relay).
        wait_for("the async bounce to make unknown@ bounced",
                 lambda: relay.states().get("unknown@example.net") == "bounced", limit=90)
        ev = relay.events("unknown@example.net")
        assert [e["decision"] for e in ev][-2:] == ["delivered", "bounced"], ev
        bounced = ev[-1]
        assert bounced["state"] == "bounced" and bounced["hard_bounce"] and bounced["category"] == "recipient_not_found", bounced
        assert "User unknown" in bounced["reply"], bounced
        assert bounced["message_id"] == ev[0]["message_id"]
        sup = relay.suppressions()
        assert sup["unknown@example.net"]["source"] == "bounce", sup
        print("async bounce:", bounced["reply"])

        # 3. An ARF complaint about carol, relayed to her return path by Postfix.
        c = smtplib.SMTP("127.0.0.1", postfix.port, timeout=20)
        c.sendmail("fbl@isp.example", [verp["carol@example.net"]], arf("carol@example.net", verp["carol@example.net"]))
        c.quit()
        wait_for("the complaint suppression", lambda: "carol@example.net" in relay.suppressions(), limit=90)
        assert relay.suppressions()["carol@example.net"]["source"] == "complaint"
        ev = relay.events("carol@example.net")
        assert ev[-1]["decision"] == "complaint" and ev[-1]["category"] == "complaint", ev
        assert relay.states()["carol@example.net"] == "delivered"

        # 4. An auto-reply for dave, by swaks straight to the listener: an event only.
        r = subprocess.run(["swaks", "--server", f"127.0.0.1:{inbound_port}", "--from", "dave@example.net",
                            "--to", verp["dave@example.net"], "--helo", "mx.example.net",
                            "--header", "Subject: Out of Office", "--header", "Auto-Submitted: auto-replied",
                            "--body", "I am away until Monday."], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        ev = relay.events("dave@example.net")
        assert ev[-1]["decision"] == "auto_reply", ev
        assert "dave@example.net" not in relay.suppressions()
        assert relay.states()["dave@example.net"] == "delivered"

        # 5. Junk to erin's return path: kept, nothing else changes.
        before = relay.events("erin@example.net")
        reply = transaction(inbound_port, verp["erin@example.net"],
                            "From: friend@example.org\r\nSubject: lunch?\r\n\r\nSee you at noon.\r\n")
        assert reply.startswith("250"), reply
        kept = os.listdir(os.path.join(relay.data, "inbound", "unreadable"))
        assert len(kept) == 1, kept
        with open(os.path.join(relay.data, "inbound", "unreadable", kept[0])) as f:
            assert "See you at noon." in f.read()
        assert relay.events("erin@example.net") == before
        assert relay.states()["erin@example.net"] == "delivered" and "erin@example.net" not in relay.suppressions()

        # 6. Refused at RCPT: a forged MAC, another address, ids never sent.
        good = verp["erin@example.net"]
        local, domain = good.split("@")
        forged = local[:-1] + ("0" if local[-1] != "0" else "1") + "@" + domain
        assert transaction(inbound_port, forged, "x").startswith("550 5.7.1"), forged
        assert transaction(inbound_port, "postmaster@" + RP_DOMAIN, "x").startswith("550 5.1.1 No such recipient here")
        with open(os.path.join(relay.data, "return-path.key"), "rb") as f:
            key = f.read()
        assert os.stat(os.path.join(relay.data, "return-path.key")).st_mode & 0o777 == 0o600
        mac = hmac.new(key, f"rebound-verp-1:99999:99999:{RP_DOMAIN}".encode(), hashlib.sha256).hexdigest()[:20]
        never = f"b-99999-99999-{mac}@{RP_DOMAIN}"
        reply = transaction(inbound_port, never, "x")
        assert reply.startswith("550 5.1.1 Bounce address names no message"), reply

        # 7. Oversized: declared (SIZE=) and actual.
        s, f = raw_session(inbound_port)
        assert say(s, f, "EHLO big.example").startswith("250 ")
        assert say(s, f, "MAIL FROM:<> SIZE=50000000").startswith("552 5.3.4")
        s.close()
        big = "From: x@example.org\r\nSubject: big\r\n\r\n" + ("y" * 998 + "\r\n") * 300
        assert transaction(inbound_port, good, big).startswith("552 5.3.4")

        # 8. Hostile clients.
        s, f = raw_session(inbound_port)
        assert say(s, f, b"\x00\xff\xfe garbage\r\n").startswith("500 ")
        assert say(s, f, "HELLO?").startswith("500 5.5.1")
        s.close()
        s, f = raw_session(inbound_port)
        # 8000 bytes: over the 512 allowed, under what the server reads at once
        # (so its close is a FIN, not a reset that could eat the reply).
        s.sendall(b"EHLO " + b"a" * 8000 + b"\r\n")
        assert smtp_reply(f).startswith("500 5.5.2 Line too long")
        assert f.readline() == b"", "the connection stays open after a huge line"
        s.close()
        s, f = raw_session(inbound_port)
        t0 = time.time()
        reply = smtp_reply(f)  # say nothing: the server gives up after command_timeout (3 s)
        assert reply.startswith("421 4.4.2") and time.time() - t0 < 10, reply
        s.close()
        s, f = raw_session(inbound_port)
        say(s, f, "EHLO gone.example")
        assert say(s, f, "MAIL FROM:<>").startswith("250")
        assert say(s, f, f"RCPT TO:<{good}>").startswith("250")
        assert say(s, f, "DATA").startswith("354")
        s.sendall(b"Subject: half\r\n\r\nthis message never ends")
        s.close()  # early disconnect in DATA: nothing is recorded
        time.sleep(0.5)
        assert len(os.listdir(os.path.join(relay.data, "inbound", "unreadable"))) == 1
        assert relay.events("erin@example.net") == before

        # 9. A flood from one address: 10 transactions a minute, then 421.
        replies = []
        for _ in range(14):
            replies.append(transaction(inbound_port, good, "From: a@b.example\r\n\r\nflood\r\n", source="127.0.0.2"))
        assert any(r.startswith("421 4.7.0 Too many messages") for r in replies), replies
        assert sum(1 for r in replies if r.startswith("250")) <= 10, replies

        # Still serving, and every decision is in the log with its message and recipient.
        assert transaction(inbound_port, "postmaster@" + RP_DOMAIN, "x").startswith("550")
        decisions = [l for l in relay.log_lines() if l.get("part") == "inbound" and l.get("event") == "inbound"]
        assert {d["decision"] for d in decisions} >= {"bounced", "complaint", "auto_reply", "unreadable"}, decisions
        assert all(d["message_id"] for d in decisions)
        early = [l for l in relay.log_lines() if l.get("why") == "delivery still in flight"]
        print(f"bounces that came before delivery's record and were retried after a 451: {len(early)}")
        assert relay.proc.poll() is None, "rebound serve died: " + relay.stderr_text()
        ok = True
        print("ok")
    finally:
        if not ok and postfix:
            print("postfix maillog:\n" + postfix.maillog()[-4000:])
        if not ok and relay:
            print("serve stderr:\n" + relay.stderr_text()[-4000:])
            try:
                print("serve log:\n" + open(relay.log).read()[-6000:])
            except OSError:
                pass
        if postfix:
            postfix.stop()
        if relay:
            relay.stop()
        receiver.terminate()
        receiver.wait()
        if ok:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print("kept " + root)
    if relay and relay.proc.returncode not in (0, -signal.SIGTERM):
        print("rebound serve exited with", relay.proc.returncode)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
