"""Two independent DKIM verifiers, aimed at a DNS server the test starts.

- Python's `dkim` package (Debian python3-dkim), asking a dnsmasq on a free
  loopback port through dnspython.
- OpenDKIM's `opendkim-testmsg`. It resolves through the system resolver
  (libresolv reads /etc/resolv.conf, which has no port), so it runs in a
  network and mount namespace of its own (`unshare -n -m`, root only): there
  a second dnsmasq serves the same records on 127.0.0.1:53 and a private
  resolv.conf is bind-mounted over /etc/resolv.conf. The host's port 53 and
  resolv.conf are never touched.

opendkim-testmsg passes a message when ANY of its signatures verifies, so
each signature is checked on a copy of the message that carries only it.
Its library is built with strict header checks: messages need a Date.

Used by verify_test.py and serve_dkim_test.py (imported by path).
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
TESTMSG = shutil.which("opendkim-testmsg") or "/usr/sbin/opendkim-testmsg"


class Skip(Exception):
    """A tool the test needs is missing (the test exits 77)."""


def require_tools():
    for tool in (DNSMASQ, TESTMSG, shutil.which("openssl"), shutil.which("unshare")):
        if not tool or not os.path.exists(tool):
            raise Skip("needs dnsmasq, opendkim-testmsg (opendkim-tools), openssl and unshare")
    if os.geteuid() != 0:
        raise Skip("opendkim-testmsg runs in its own network namespace (unshare -n -m), which needs root")
    try:
        import dkim  # noqa: F401
        import dns.resolver  # noqa: F401
        import nacl  # noqa: F401  (dkim's Ed25519)
    except ImportError as e:
        raise Skip(f"needs python3-dkim, python3-dnspython and python3-nacl: {e}")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_key(directory, name, algorithm):
    """Writes <name>.pem (PKCS#8) and returns (path, p= value of its record)."""
    path = os.path.join(directory, name + ".pem")
    if algorithm == "rsa-sha256":
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                        "-out", path], check=True, capture_output=True)
    else:
        subprocess.run(["openssl", "genpkey", "-algorithm", "ED25519", "-out", path], check=True,
                       capture_output=True)
    der = subprocess.run(["openssl", "pkey", "-in", path, "-pubout", "-outform", "DER"], check=True,
                         capture_output=True).stdout
    # RSA: the SubjectPublicKeyInfo; Ed25519 (RFC 8463): the raw 32-byte key.
    public = der if algorithm == "rsa-sha256" else der[-32:]
    return path, base64.b64encode(public).decode()


def record(selector, domain, algorithm, p):
    k = "rsa" if algorithm == "rsa-sha256" else "ed25519"
    return (f"{selector}._domainkey.{domain}", f"v=DKIM1; k={k}; p={p}")


def dnsmasq_args(records, port):
    args = [DNSMASQ, "--keep-in-foreground", f"--port={port}", "--listen-address=127.0.0.1",
            "--bind-interfaces", "--no-resolv", "--no-hosts", "--log-facility=-"]
    for name, value in records:
        args.append(f"--txt-record={name},{value}")
    return args


class Dns:
    """dnsmasq serving `records` on a loopback port (a free one by default)."""

    def __init__(self, records, port=None):
        self.records = list(records)
        self.port = port or free_port()
        self.proc = subprocess.Popen(dnsmasq_args(self.records, self.port), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        import dns.resolver
        self.resolver = dns.resolver.Resolver(configure=False)
        self.resolver.nameservers = ["127.0.0.1"]
        self.resolver.port = self.port
        for _ in range(50):
            if self.txt(self.records[0][0]) is not None:
                return
            time.sleep(0.1)
        raise RuntimeError("dnsmasq did not answer")

    def txt(self, name, timeout=2):
        try:
            answer = self.resolver.resolve(name.rstrip("."), "TXT", lifetime=timeout)
        except Exception:
            return None
        return b"".join(b"".join(rr.strings) for rr in answer)

    def close(self):
        self.proc.terminate()
        self.proc.wait()


def split_header(message):
    """(list of header fields as bytes, each with its line breaks; the rest)."""
    fields, pos = [], 0
    while pos < len(message):
        nl = message.find(b"\n", pos)
        end = len(message) if nl < 0 else nl + 1
        line = message[pos:end]
        if line in (b"\r\n", b"\n"):
            return fields, message[pos:]
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line
        else:
            fields.append(line)
        pos = end
    return fields, b""


def signatures(message):
    fields, _ = split_header(message)
    return [f for f in fields if f.lower().startswith(b"dkim-signature:")]


def with_only_signature(message, index):
    """The message with every DKIM-Signature field but the index-th removed."""
    fields, rest = split_header(message)
    kept, seen = [], 0
    for f in fields:
        if f.lower().startswith(b"dkim-signature:"):
            if seen == index:
                kept.append(f)
            seen += 1
        else:
            kept.append(f)
    return b"".join(kept) + rest


def verify_python(message, dns):
    """[True/False per signature] from Python's dkim package."""
    import dkim

    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        return dns.txt(name, timeout)

    results = []
    for i in range(len(signatures(message))):
        try:
            results.append(bool(dkim.DKIM(message).verify(idx=i, dnsfunc=dnsfunc)))
        except Exception:
            results.append(False)
    return results


def verify_opendkim(messages, records, workdir):
    """[[True/False per signature] per message] from opendkim-testmsg, run in
    a namespace of its own with dnsmasq on 127.0.0.1:53 there."""
    jobs = []
    for m, message in enumerate(messages):
        for i in range(len(signatures(message))):
            path = os.path.join(workdir, f"testmsg-{m}-{i}.eml")
            with open(path, "wb") as f:
                f.write(with_only_signature(message, i))
            jobs.append((m, i, path))
    spec = os.path.join(workdir, "testmsg-jobs.json")
    with open(spec, "w") as f:
        json.dump({"records": records, "files": [p for _, _, p in jobs], "workdir": workdir}, f)
    run = subprocess.run(["unshare", "-n", "-m", sys.executable, os.path.abspath(__file__), "--in-namespace", spec],
                         capture_output=True, text=True, timeout=120)
    if run.returncode != 0:
        raise RuntimeError(f"opendkim-testmsg run failed: {run.stdout}{run.stderr}")
    outcome = json.loads(run.stdout)
    results = [[False] * len(signatures(message)) for message in messages]
    for (m, i, path) in jobs:
        results[m][i] = outcome[path]["ok"]
        if not outcome[path]["ok"]:
            print(f"  opendkim-testmsg on message {m} signature {i}: {outcome[path]['why'].strip()}")
    return results


def _in_namespace(spec_path):
    with open(spec_path) as f:
        spec = json.load(f)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    resolv = os.path.join(spec["workdir"], "resolv.conf")
    with open(resolv, "w") as f:
        f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    subprocess.run(["mount", "--bind", resolv, "/etc/resolv.conf"], check=True)
    dns = subprocess.Popen(dnsmasq_args(spec["records"], 53), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            try:
                with socket.create_connection(("127.0.0.1", 53), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        out = {}
        for path in spec["files"]:
            with open(path, "rb") as f:
                r = subprocess.run([TESTMSG], stdin=f, capture_output=True, text=True, timeout=30)
            out[path] = {"ok": r.returncode == 0, "why": r.stderr or f"exit {r.returncode}"}
        print(json.dumps(out))
    finally:
        dns.terminate()
        dns.wait()


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--in-namespace":
    _in_namespace(sys.argv[2])
