"""The content check with a real rspamd (Debian's 3.4) started by this test.

rspamd runs in the foreground on a free loopback port with a private
configuration (its own db/run dirs in a temp dir, one normal worker, no
redis, no controller). `rebound serve` points content_check.rspamd_url at it.
Over real SMTP (smtplib):
  * a message with the GTUBE string gets exactly `554 Reject by content spam`,
    is not queued, and the log has a refuse event with rspamd's score;
  * a normal message gets `250 send mail ok` and is queued;
  * rspamd's "greylist" action (a private Lua rule scoring a marker string)
    gets a 451 4.7.1 and nothing is queued;
  * with rspamd stopped, on_error = "accept" queues the message and
    on_error = "tempfail" answers 451 4.7.0 and queues nothing.
Exit 77 (skip) when no rspamd is installed (scripts/install-deps.sh
--with-tests unpacks one into /opt/rebound-test/rspamd)."""
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time

import relay_harness as h

GREYLIST_MARK = "REBOUND-TEST-GREYLIST"  # our private Lua rule scores this 5: rspamd's "greylist"
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
RSPAMD_ROOTS = [os.environ.get("REBOUND_RSPAMD_ROOT", ""), "/opt/rebound-test/rspamd", "/"]


def find_rspamd():
    for root in RSPAMD_ROOTS:
        if root and os.access(os.path.join(root, "usr/bin/rspamd"), os.X_OK) and \
                os.path.isdir(os.path.join(root, "usr/share/rspamd/lualib")):
            return root
    return None


class Rspamd:
    """A private rspamd: foreground, one normal worker on 127.0.0.1:PORT."""

    def __init__(self, root):
        self.root = root
        self.dir = tempfile.mkdtemp(prefix="rebound-rspamd-")
        self.port = h.free_port()
        for d in ("db", "run"):
            os.makedirs(os.path.join(self.dir, d))
        share = os.path.join(root, "usr/share/rspamd")
        self.conf = os.path.join(self.dir, "rspamd.conf")
        rules = os.path.join(self.dir, "rules.lua")
        with open(rules, "w") as f:
            f.write(f"""
rspamd_config:register_symbol({{
  name = 'REBOUND_TEST_GREYLIST',
  score = 5.0,
  callback = function(task)
    return tostring(task:get_content()):find('{GREYLIST_MARK}', 1, true) ~= nil
  end,
}})
""")
        with open(self.conf, "w") as f:
            f.write(f"""
options {{
  pidfile = "{self.dir}/run/rspamd.pid";
  dbdir = "{self.dir}/db";
  hs_cache_dir = "{self.dir}/db";
  tempdir = "{self.dir}/run";
  url_tld = "{share}/effective_tld_names.dat";
  # GTUBE is honoured for authenticated and local senders too.
  gtube_patterns = "all";
}}
logging {{ type = "console"; level = "notice"; }}
actions {{ reject = 15; add_header = 6; greylist = 4; }}
worker "normal" {{ bind_socket = "127.0.0.1:{self.port}"; count = 1; }}
lua = "{rules}";
""")
        self.proc = None

    def start(self):
        env = dict(os.environ)
        libdir = os.path.join(self.root, "usr/lib/rspamd")
        env["LD_LIBRARY_PATH"] = libdir + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
        share = os.path.join(self.root, "usr/share/rspamd")
        self.log = open(os.path.join(self.dir, "rspamd.log"), "w")
        # -f: foreground; -i: allow running as root (CI runs as root); -T: no
        # Jinja templating of our plain config.
        self.proc = subprocess.Popen(
            [os.path.join(self.root, "usr/bin/rspamd"), "-f", "-i", "-T", "-c", self.conf,
             f"--var=SHAREDIR={share}", f"--var=LUALIBDIR={share}/lualib", f"--var=RULESDIR={share}/rules",
             f"--var=PLUGINSDIR={share}/plugins", f"--var=CONFDIR={self.dir}", f"--var=LOCAL_CONFDIR={self.dir}",
             f"--var=DBDIR={self.dir}/db", f"--var=RUNDIR={self.dir}/run"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.time() + 120  # compiling the TLD list takes a few seconds
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("rspamd exited: " + open(self.log.name).read()[-3000:])
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("rspamd did not start listening: " + open(self.log.name).read()[-3000:])

    def stop(self):
        if self.proc and self.proc.poll() is None:
            # The main process and its workers share our new session/group.
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc:
            try:  # workers left behind by a crash
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def cleanup(self):
        self.stop()
        if getattr(self, "log", None):
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def message(subject, text):
    return (f"From: alice@example.com\r\nTo: bob@example.net\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}@example.com>\r\n\r\n{text}\r\n")


def send(server, subject, text):
    """One message over smtplib (STARTTLS + AUTH); returns (code, reply line)."""
    c = server.smtp(user="alice", password="pw-alice")
    try:
        c.mail("alice@example.com")
        c.rcpt("bob@example.net")
        code, msg = c.data(message(subject, text))
        return code, h.reply_text(code, msg)
    finally:
        try:
            c.quit()
        except smtplib.SMTPException:
            pass


def queued_subjects(server):
    out = []
    for row in server.queue():
        r = server.cli("queue", "show", str(row["id"]), "--body")
        out.append(r.stdout)
    return out


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok:", what)


def main():
    h.REBOUND = sys.argv[1]
    root = find_rspamd()
    if not root:
        print("SKIP: no rspamd found (run scripts/install-deps.sh --with-tests; it unpacks rspamd "
              "into /opt/rebound-test/rspamd)")
        return 77
    rspamd = Rspamd(root)
    servers = []
    try:
        rspamd.start()
        url = f"http://127.0.0.1:{rspamd.port}"
        server = h.Server(f'\n[content_check]\nrspamd_url = "{url}"\ntimeout_ms = 10000\non_error = "tempfail"\n')
        servers.append(server)
        server.add_account("alice", "pw-alice")
        server.start()

        code, reply = send(server, "gtube one", "Hello.\r\n" + GTUBE)
        check(reply == "554 Reject by content spam", f"GTUBE message refused word for word (got {reply!r})")
        check(server.queue() == [], "the rejected message is not in the queue")
        refusals = [e for e in server.log_events() if e.get("event") == "refuse" and e.get("decision") == "content spam"]
        check(len(refusals) == 1 and refusals[0].get("action") == "reject" and refusals[0].get("score", 0) >= 15,
              f"refuse event with rspamd's action and score: {refusals}")

        code, reply = send(server, "normal one", "Hello Bob, see you at lunch.")
        check(reply == "250 send mail ok", f"normal message accepted (got {reply!r})")
        queue = server.queue()
        check(len(queue) == 1, f"exactly the normal message is queued: {queue}")
        body = queued_subjects(server)[0]
        check("normal one" in body and GTUBE not in body, "the queued message is the normal one")
        checks = [e for e in server.log_events() if e.get("event") == "content_check"]
        check([e.get("action") for e in checks] == ["reject", "no action"], f"both checks logged: {checks}")

        # The same session goes on after a rejection: RSET-like state, next message accepted.
        c = server.smtp(user="alice", password="pw-alice")
        c.mail("alice@example.com")
        c.rcpt("bob@example.net")
        code, msg = c.data(message("gtube two", GTUBE))
        check(h.reply_text(code, msg) == "554 Reject by content spam", "second GTUBE refused")
        c.mail("alice@example.com")
        c.rcpt("bob@example.net")
        code, msg = c.data(message("normal two", "Another ordinary note."))
        check(h.reply_text(code, msg) == "250 send mail ok", "next message in the same session accepted")
        c.quit()
        check(len(server.queue()) == 2, "two normal messages queued, no GTUBE one")

        # rspamd's "greylist" action: a temporary refusal, nothing queued.
        code, reply = send(server, "grey one", "Please " + GREYLIST_MARK + " this one.")
        check(reply.startswith("451 4.7.1"), f"greylist action -> 451 4.7.1 (got {reply!r})")
        check(len(server.queue()) == 2, "the greylisted message is not queued")
        grey = [e for e in server.log_events() if e.get("event") == "refuse" and e.get("decision") == "content deferred"]
        check(len(grey) == 1 and grey[0].get("action") == "greylist" and grey[0].get("score") == 5,
              f"refuse event for the greylist action: {grey}")

        # rspamd gone: on_error = tempfail.
        rspamd.stop()
        code, reply = send(server, "while down", "rspamd is not running now.")
        check(reply.startswith("451 4.7.0"), f"tempfail when rspamd is down (got {reply!r})")
        check(len(server.queue()) == 2, "nothing queued on tempfail")
        server.cleanup()
        servers.remove(server)

        # on_error = accept (and the default on_error).
        for extra in ('on_error = "accept"\n', ""):
            server = h.Server(f'\n[content_check]\nrspamd_url = "{url}"\ntimeout_ms = 2000\n{extra}')
            servers.append(server)
            server.add_account("alice", "pw-alice")
            server.start()
            code, reply = send(server, "accepted while down", "rspamd is not running now.")
            check(reply == "250 send mail ok", f"accept when rspamd is down ({extra.strip() or 'default'}; got {reply!r})")
            check(len(server.queue()) == 1, "and the message is queued")
            errors = [e for e in server.log_events() if e.get("event") == "content_check" and e.get("error")]
            check(len(errors) == 1 and errors[0].get("on_error") == "accept", f"the error is logged: {errors}")
            server.cleanup()
            servers.remove(server)

        # A content check that never answers: the timeout applies (a socket
        # that accepts and then says nothing).
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        server = h.Server(f'\n[content_check]\nrspamd_url = "http://127.0.0.1:{silent.getsockname()[1]}"\n'
                          'timeout_ms = 700\non_error = "tempfail"\n')
        servers.append(server)
        server.add_account("alice", "pw-alice")
        server.start()
        t0 = time.time()
        code, reply = send(server, "silent", "nobody answers")
        took = time.time() - t0
        check(reply.startswith("451 4.7.0") and took < 5, f"timeout -> tempfail in {took:.2f}s (got {reply!r})")
        silent.close()
        server.cleanup()
        servers.remove(server)
    finally:
        for s in servers:
            try:
                s.cleanup()
            except AssertionError as e:
                print("cleanup:", e)
        rspamd.cleanup()
    print("content check: all ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
