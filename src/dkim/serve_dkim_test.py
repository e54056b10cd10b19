#!/usr/bin/python3
"""End to end: a message submitted to `rebound serve` for a verified sending
domain arrives at a loopback receiver with two DKIM signatures (RSA and
Ed25519) that both independent verifiers accept; mail of a domain without
keys arrives unsigned; `--dkim false` turns signing off; a key file that no longer loads
defers the message (451 4.3.0 ... cannot prepare the message) instead of
sending it unsigned, and the reason names the selector, not the key.

The domain is registered with `rebound domain add` (which makes the keys and
prints the records), its records are served by dnsmasq, and `rebound domain
check` verifies it through that dnsmasq ([dns] servers), as an operator would.

usage: serve_dkim_test.py REBOUND_BINARY     (exit 77: a tool is missing)
"""
import glob
import json
import os
import signal
import smtplib
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.normpath(os.path.join(HERE, "..", ".."))
RECEIVER = os.path.join(SOURCE, "tests", "delivery", "smtp_server.py")
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(SOURCE, "tests", "relay"))
import dkim_verifiers as v  # noqa: E402
from relay_harness import free_port, wait_port  # noqa: E402

REBOUND = sys.argv[1] if len(sys.argv) > 1 else ""


def run(*args, stdin=None):
    r = subprocess.run([REBOUND, *args], input=stdin, capture_output=True)
    if r.returncode != 0:
        raise RuntimeError(f"rebound {' '.join(args)} failed ({r.returncode}): {r.stderr.decode()}")
    return r.stdout.decode()


def received(outdir, count, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        files = sorted(glob.glob(os.path.join(outdir, "*.json")))
        if len(files) >= count:
            return [json.load(open(f)) for f in files]
        time.sleep(0.2)
    return [json.load(open(f)) for f in sorted(glob.glob(os.path.join(outdir, "*.json")))]


def write_config(path, work, smtp_port, dns_port, sink_port, account, name):
    with open(path, "w") as f:
        f.write(f"""[server]
listen = "127.0.0.1:{smtp_port}"
data_dir = "{work}/data"
hostname = "relay.example.test"
loopback_account = "{account}"
log = "{work}/{name}-server.log"

[dns]
servers = "127.0.0.1:{dns_port}"

[delivery]
routes = "example.net=127.0.0.1:{sink_port}"
poll_interval_ms = 100
tls = "off"
""")


def message(sender, subject):
    return (f"From: Alice <{sender}>\r\nTo: Bob <bob@example.net>\r\nSubject: {subject}\r\n"
            f"Date: Sun, 06 Dec 2026 22:00:00 +0000\r\nMessage-ID: <{subject.replace(' ', '-')}@example.test>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            "你好，Bob。这封信经过 DKIM 签名。\r\n" + "long line " * 90 + "\r\n").encode()


def submit(port, sender, msg):
    with smtplib.SMTP("127.0.0.1", port) as c:
        c.ehlo("client.test")
        options = ["BODY=8BITMIME"] if c.has_extn("8bitmime") else []
        c.sendmail(sender, ["bob@example.net"], msg, mail_options=options)


def main():
    if not REBOUND:
        print("usage: serve_dkim_test.py REBOUND_BINARY", file=sys.stderr)
        return 2
    try:
        v.require_tools()
        import aiosmtpd  # noqa: F401
    except ImportError:
        print("SKIP: python3-aiosmtpd not installed")
        return 77
    except v.Skip as e:
        print(f"SKIP: {e}")
        return 77

    failures = []
    work = tempfile.mkdtemp(prefix="rebound-serve-dkim-")
    smtp_port, sink_port = free_port(), free_port()
    outdir = os.path.join(work, "out")
    sink = subprocess.Popen(["/usr/bin/python3", RECEIVER, "--port", str(sink_port), "--outdir", outdir],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "sink.log"), "w"))
    dns = None
    try:
        assert wait_port(sink_port), "receiver did not start"
        # The port dnsmasq will use is in the config before the records exist.
        dns_port = v.free_port()
        cfg = os.path.join(work, "rebound.toml")
        write_config(cfg, work, smtp_port, dns_port, sink_port, "shop", "signed")
        # An account without sending domains: the path of mail that is not signed.
        legacy_cfg = os.path.join(work, "legacy.toml")
        write_config(legacy_cfg, work, smtp_port, dns_port, sink_port, "legacy", "legacy")
        run("account", "add", "shop", "--domain", "example.test", "--config", cfg, stdin=b"pw\n")
        run("account", "add", "legacy", "--domain", "plain.test", "--config", cfg, stdin=b"pw\n")
        added = json.loads(run("domain", "add", "example.test", "--account", "shop", "--config", cfg,
                               "--format", "json").splitlines()[0])
        txt = [(r["name"].rstrip("."), r["value"]) for r in added["records"] if r["type"] == "TXT"]
        dkim_records = [r for r in txt if "._domainkey." in r[0]]
        print(f"domain add published {len(txt)} TXT records, {len(dkim_records)} of them DKIM")
        if len(dkim_records) != 2:
            failures.append(f"expected an RSA and an Ed25519 DKIM record, got {dkim_records}")
        dns = v.Dns(txt, port=dns_port)
        check = subprocess.run([REBOUND, "domain", "check", "example.test", "--config", cfg, "--format", "json"],
                               capture_output=True, text=True)
        print(f"domain check exit {check.returncode}")

        def serve(*extra, config=cfg):
            p = subprocess.Popen([REBOUND, "serve", "--config", config, *extra],
                                 stderr=open(os.path.join(work, "serve.log"), "a"))
            assert wait_port(smtp_port), "rebound serve did not start"
            return p

        server = serve()
        try:
            submit(smtp_port, "alice@example.test", message("alice@example.test", "signed by rebound"))
            got = received(outdir, 1)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(15)
        server = serve(config=legacy_cfg)
        try:
            submit(smtp_port, "news@plain.test", message("news@plain.test", "no keys"))
            got = received(outdir, 2)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(15)
        server = serve("--dkim", "false")
        try:
            submit(smtp_port, "alice@example.test", message("alice@example.test", "signing off"))
            got = received(outdir, 3)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(15)

        # A key file that no longer loads: the message waits, it is not sent unsigned.
        broken = "-----BEGIN PRIVATE KEY-----\nYnJva2VuLWtleS10ZXh0\n-----END PRIVATE KEY-----\n"
        rsa_files = glob.glob(os.path.join(work, "data", "dkim", "example.test", "*rsa*.pem"))
        for path in rsa_files:
            with open(path, "w") as f:
                f.write(broken)
        server = serve()
        deferred = None
        try:
            submit(smtp_port, "alice@example.test", message("alice@example.test", "broken key"))
            end = time.time() + 20
            while time.time() < end and deferred is None:
                out = run("events", "--config", cfg, "--format", "json")
                for line in out.splitlines():
                    e = json.loads(line)
                    if e.get("decision") == "deferred" and "cannot prepare" in json.dumps(e):
                        deferred = e
                time.sleep(0.3)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(15)
        text = json.dumps(deferred) if deferred else ""
        print(f"broken key: {'deferred' if deferred else 'no deferral recorded'}: {text[:300]}")
        if not rsa_files or deferred is None:
            failures.append("a key that does not load should defer the message")
        elif "selector" not in text or "YnJva2Vu" in text:
            failures.append("the deferral should name the selector and never the key text")
        if any("broken key" in g["data"] for g in received(outdir, 4, timeout=2)):
            failures.append("a message whose key does not load must not be sent")

        by_subject = {}
        for g in got:
            data = g["data"].encode("utf-8")
            for line in data.split(b"\r\n"):
                if line.startswith(b"Subject: "):
                    by_subject[line[9:].decode()] = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        signed = by_subject.get("signed by rebound")
        if signed is None:
            failures.append("the signed message did not arrive")
        else:
            sigs = v.signatures(signed)
            algs = sorted(s.split(b"a=")[1].split(b";")[0].decode() for s in sigs)
            print(f"arrived with {len(sigs)} DKIM-Signature fields: {algs}")
            if algs != ["ed25519-sha256", "rsa-sha256"]:
                failures.append(f"expected an RSA and an Ed25519 signature, got {algs}")
            py = v.verify_python(signed, dns)
            od = v.verify_opendkim([signed], dkim_records, work)[0]
            print(f"python dkim {py}, opendkim-testmsg {od}")
            if py != [True, True] or od != [True, True]:
                failures.append("the verifiers did not accept both signatures")
        unsigned = by_subject.get("no keys")
        if unsigned is None or v.signatures(unsigned):
            failures.append("mail of a domain without keys should arrive, unsigned")
        off = by_subject.get("signing off")
        if off is None or v.signatures(off):
            failures.append("with --dkim false the message should arrive unsigned")
    finally:
        if dns:
            dns.close()
        sink.send_signal(signal.SIGTERM)
        sink.wait(10)

    if failures:
        print("FAIL: " + "; ".join(failures))
        print(f"(work directory kept: {work})")
        return 1
    print("serve dkim: signed mail verified by both verifiers; unsigned when no keys or --dkim false")
    return 0


if __name__ == "__main__":
    sys.exit(main())
